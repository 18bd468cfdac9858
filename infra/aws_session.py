"""The AWS region and boto3 session of every command that calls AWS: make deploy, destroy, invoke, bulk.

One order, the AWS CLI's and the CDK CLI's: an explicit `--region`, then `AWS_REGION`, then
`AWS_DEFAULT_REGION`, then the profile's `region`. boto3 alone skips `AWS_REGION` (botocore reads only
`AWS_DEFAULT_REGION` and the profile), so a user who set `AWS_REGION` as infra/README.md says would deploy
to one region and have `make invoke` fail with "You must specify a region", or call another one.

This module imports boto3 only: client/ and bulk/ use it without the CDK libraries.
"""

from __future__ import annotations

import os

import boto3
import botocore.session
from botocore.exceptions import BotoCoreError

# Read in this order after an explicit --region; the profile's `region` comes last.
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


class NoRegionError(BotoCoreError):
    """No region anywhere. A BotoCoreError, so every command's one-line handler of AWS errors shows it."""

    fmt = (
        "no AWS region: run `AWS_REGION=<region> {command}` (e.g. AWS_REGION=eu-west-1), "
        "or set your profile's with `aws configure set region <region>`"
    )


def resolve_region(flag: str | None, profile_region: str | None) -> str | None:
    """The region a command acts in: `flag`, AWS_REGION, AWS_DEFAULT_REGION, then `profile_region`.

    A blank value (`AWS_REGION= make deploy`) counts as unset, as it does for the AWS CLI.
    """
    for value in (flag, *(os.environ.get(name) for name in REGION_VARIABLES), profile_region):
        if value and value.strip():
            return value.strip()
    return None


def aws_session(region: str | None = None, *, command: str) -> boto3.Session:
    """A boto3 session (credentials from the usual chain, AWS_PROFILE included) in the resolved region.

    Args:
        region: an explicit --region; None to read the environment and the profile.
        command: what the user ran, e.g. `make invoke`: the message for a missing region names it.

    Raises:
        NoRegionError: no region is set anywhere.
        BotoCoreError: the configuration cannot be read, e.g. AWS_PROFILE names no profile.
    """
    core = botocore.session.Session()
    resolved = resolve_region(region, core.get_scoped_config().get("region"))
    if resolved is None:
        raise NoRegionError(command=command)
    return boto3.Session(botocore_session=core, region_name=resolved)
