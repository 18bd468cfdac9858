"""Checks before `make deploy`: everything a deploy needs, reported together in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from handler.artifact import require_model
from handler.errors import ArtifactError
from infra.aws_session import NoRegionError, aws_session

TOOLKIT_STACK = "CDKToolkit"
_HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
DOCKER_INFO_TIMEOUT_S = 20  # `docker info` waits on the daemon; a stopped one must not hang the deploy


class PreflightError(Exception):
    """Something a deploy needs is missing; the message lists every missing piece."""


@dataclass(frozen=True)
class Target:
    """The AWS account and region a deploy goes to."""

    account: str
    region: str


def check_deploy(
    model_dir: Path,
    session: boto3.Session | None = None,
    *,
    region: str | None = None,
    needs_logging_role: bool = False,
) -> Target:
    """Check the model, Docker, AWS credentials and the CDK bootstrap stack.

    Args:
        model_dir: the artifact directory the image ships (must hold manifest.json).
        session: boto3 session to use (tests pass one with stubbed clients); None: `open_session(region)`.
        region: an explicit --region (infra/aws_session.py says what else names one).
        needs_logging_role: the stack does not create API Gateway's account logging role
            (cloudWatchRole off): check that the account already has one.

    Raises:
        PreflightError: one line naming everything that is missing and how to fix it.
    """
    problems = [p for p in (_check_model(model_dir), _check_docker()) if p]
    target = None
    try:
        session = session or open_session(region, "make deploy")
        target = check_aws(session)
        check_bootstrap(session, target)
        if needs_logging_role:
            check_logging_role(session, target)
    except PreflightError as exc:
        problems.append(str(exc))
    if problems or target is None:
        raise PreflightError("; ".join(problems))
    return target


def open_session(region: str | None, command: str) -> boto3.Session:
    """The session of `command` in the region the AWS CLI and the CDK CLI would pick (aws_session).

    Raises:
        PreflightError: no region anywhere, or the AWS configuration cannot be read.
    """
    try:
        return aws_session(region, command=command)
    except NoRegionError as exc:
        raise PreflightError(str(exc)) from None
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        raise PreflightError(f"cannot load the AWS configuration: {exc}") from None


def check_aws(session: boto3.Session) -> Target:
    """Resolve the account of the current credentials (STS GetCallerIdentity) in the session's region.

    Args:
        session: a session from `open_session` (its region already resolved), or a stubbed one.

    Raises:
        PreflightError: no credentials, rejected credentials or no network.
    """
    region = session.region_name
    try:
        identity = session.client("sts", region_name=region, config=_CLIENT_CONFIG).get_caller_identity()
    except NoCredentialsError:
        raise PreflightError(
            "no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE"
        ) from None
    except ClientError as exc:
        raise PreflightError(f"AWS rejected the credentials: {_describe(exc)}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot use the AWS credentials: {exc}") from None
    return Target(account=identity["Account"], region=region)


def check_bootstrap(session: boto3.Session, target: Target) -> None:
    """Check that the CDK bootstrap stack (asset bucket, ECR repository, roles) exists and is healthy.

    Raises:
        PreflightError: it is missing, broken, or cannot be read.
    """
    fix = f"run `npx cdk bootstrap aws://{target.account}/{target.region}`"
    cloudformation = session.client("cloudformation", region_name=target.region, config=_CLIENT_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise PreflightError(
                f"{target.account}/{target.region} is not bootstrapped for CDK: {fix}"
            ) from None
        raise PreflightError(f"cannot read the {TOOLKIT_STACK} stack: {_describe(exc)}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot read the {TOOLKIT_STACK} stack: {exc}") from None
    status = stacks[0]["StackStatus"]
    if status not in _HEALTHY:
        raise PreflightError(f"the {TOOLKIT_STACK} stack is in state {status}: fix it, then {fix}")


def check_logging_role(session: boto3.Session, target: Target) -> None:
    """API Gateway writes the stage's access and error logs with the role set in its account settings
    (one per account and region); without one, the deploy fails halfway with "CloudWatch Logs role ARN
    must be set in account settings to enable logging".

    Raises:
        PreflightError: no role is set, or the settings cannot be read.
    """
    apigateway = session.client("apigateway", region_name=target.region, config=_CLIENT_CONFIG)
    try:
        role = apigateway.get_account().get("cloudwatchRoleArn")
    except (ClientError, BotoCoreError) as exc:
        said = _describe(exc) if isinstance(exc, ClientError) else str(exc)
        raise PreflightError(f"cannot read API Gateway's account settings: {said}") from None
    if not role:
        raise PreflightError(
            f"API Gateway in {target.account}/{target.region} has no CloudWatch Logs role, which the stage's "
            "logs need: deploy once with `-c cloudWatchRole=true` (the stack creates one and sets it for the "
            "whole account and region, replacing none since none is set), or set your own with `aws "
            "apigateway update-account --patch-operations op=replace,path=/cloudwatchRoleArn,value=<arn>`"
        )


def _check_model(model_dir: Path) -> str | None:
    try:
        require_model(model_dir)
    except ArtifactError as exc:
        return str(exc)
    return None


def _check_docker() -> str | None:
    """The CLI must exist and reach its daemon (`docker info`): a stopped daemon would otherwise fail the
    deploy only after the synth, in the middle of the image build."""
    docker = os.environ.get("CDK_DOCKER", "docker")
    path = shutil.which(docker)
    if path is None:
        fix = "the image is built and pushed with Docker (or set CDK_DOCKER=podman|finch)"
        return f"`{docker}` not found: {fix}"
    try:
        done = subprocess.run([path, "info"], capture_output=True, timeout=DOCKER_INFO_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return f"`{docker} info` did not answer in {DOCKER_INFO_TIMEOUT_S} s: is the Docker daemon running?"
    if done.returncode != 0:
        said = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        return f"`{docker} info` failed (exit {done.returncode}: {said}): is the Docker daemon running?"
    return None


def _describe(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', exc)}"
