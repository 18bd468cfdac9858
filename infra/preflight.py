"""Checks before `make deploy`: everything a deploy needs, reported together in one line, and what the
deploy must add on its own (API Gateway's logging role where an account has none)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from handler.artifact import require_model
from handler.errors import ArtifactError
from infra.aws_session import NoRegionError, aws_session
from infra.lambda_quotas import Findings, quota_findings, read_concurrency
from infra.settings import Settings, context_key, env_var
from infra.snapstart import snap_start_region_error

T = TypeVar("T")
TOOLKIT_STACK = "CDKToolkit"
_HEALTHY = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE")
# The preflight's reads: a few quick tries, so an unreachable AWS fails the check in seconds.
AWS_READS = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})
DOCKER_INFO_TIMEOUT_S = 20  # `docker info` waits on the daemon; a stopped one must not hang the deploy
# What `make deploy` says when it sets the logging role up itself: the role and the account setting outlive
# the stack (CDK retains both), which is what every other API in the region then logs with.
LOGGING_ROLE_SETUP = (
    "API Gateway has no CloudWatch Logs role in {where}: deploying with {variable}=true, which creates "
    "one (AWS-managed policy AmazonAPIGatewayPushToCloudWatchLogs) and sets it in API Gateway's account "
    "settings for every API in {region}; both stay after make destroy"
)


class PreflightError(Exception):
    """Something a deploy needs is missing; the message lists every missing piece."""


@dataclass(frozen=True)
class Target:
    """The AWS account and region a deploy goes to."""

    account: str
    region: str


@dataclass(frozen=True)
class Plan:
    """What the preflight decided: where the deploy goes, the session that reaches it, the settings it adds
    (`-c key=value` pairs, e.g. the logging role) and what to tell the user before deploying."""

    target: Target
    session: boto3.Session
    context: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def check_deploy(
    model_dir: Path, settings: Settings, session: boto3.Session | None = None, *, region: str | None = None
) -> Plan:
    """Check the model, Docker, AWS credentials, the CDK bootstrap stack, API Gateway's logging role,
    SnapStart's regions and Lambda's quotas.

    Args:
        model_dir: the artifact directory the image ships (must hold manifest.json).
        settings: the stack's settings, as the deploy will synthesize them.
        session: boto3 session to use (tests pass one with stubbed clients); None: `open_session(region)`.
        region: an explicit --region (infra/aws_session.py says what else names one).

    Raises:
        PreflightError: one line naming everything that is missing and how to fix it.
    """
    problems = [p for p in (_check_model(model_dir), _check_docker()) if p]
    try:
        session = session or open_session(region, "make deploy")
        target = check_aws(session)
    except PreflightError as exc:  # without credentials nothing else on AWS can be read
        raise PreflightError("; ".join([*problems, str(exc)])) from None
    context, notes = [], []
    _attempt(problems, check_bootstrap, session, target)
    if not settings.cloud_watch_role and _attempt(problems, has_logging_role, session, target) is False:
        context.append(f"{context_key('cloud_watch_role')}=true")
        where, variable = f"{target.account}/{target.region}", env_var("cloud_watch_role")
        notes.append(LOGGING_ROLE_SETUP.format(where=where, region=target.region, variable=variable))
    if settings.snap_start and (refusal := snap_start_region_error(target.region)):
        problems.append(refusal)
    quotas = check_quotas(session, target, settings)
    if problems or quotas.problems:  # the quota warnings too: fixing one thing at a time costs a run each
        raise PreflightError("; ".join([*problems, *quotas.problems, *quotas.notes]))
    notes += quotas.notes
    return Plan(target, session, tuple(context), tuple(notes))


def _attempt(problems: list[str], check: Callable[..., T], *args: Any) -> T | None:
    """Run one check; its PreflightError joins `problems` (and None is returned) so the others still run."""
    try:
        return check(*args)
    except PreflightError as exc:
        problems.append(str(exc))
        return None


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
        identity = session.client("sts", region_name=region, config=AWS_READS).get_caller_identity()
    except NoCredentialsError:
        raise PreflightError(
            "no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE"
        ) from None
    except ClientError as exc:
        raise PreflightError(f"AWS rejected the credentials: {describe_error(exc)}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot use the AWS credentials: {exc}") from None
    return Target(account=identity["Account"], region=region)


def check_bootstrap(session: boto3.Session, target: Target) -> None:
    """Check that the CDK bootstrap stack (asset bucket, ECR repository, roles) exists and is healthy.

    Raises:
        PreflightError: it is missing, broken, or cannot be read.
    """
    fix = f"run `npx cdk bootstrap aws://{target.account}/{target.region}`"
    cloudformation = session.client("cloudformation", region_name=target.region, config=AWS_READS)
    try:
        stacks = cloudformation.describe_stacks(StackName=TOOLKIT_STACK)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):
            raise PreflightError(
                f"{target.account}/{target.region} is not bootstrapped for CDK: {fix}"
            ) from None
        raise PreflightError(f"cannot read the {TOOLKIT_STACK} stack: {describe_error(exc)}") from None
    except BotoCoreError as exc:
        raise PreflightError(f"cannot read the {TOOLKIT_STACK} stack: {exc}") from None
    status = stacks[0]["StackStatus"]
    if status not in _HEALTHY:
        raise PreflightError(f"the {TOOLKIT_STACK} stack is in state {status}: fix it, then {fix}")


def check_quotas(session: boto3.Session, target: Target, settings: Settings) -> Findings:
    """Lambda's concurrency (and, as far as it shows, memory) quotas against the settings (lambda_quotas).

    Quotas the credentials cannot read are a note, not a refusal: the CDK deploys through its bootstrap
    roles, which may be allowed what the user is not.
    """
    lambda_client = session.client("lambda", region_name=target.region, config=AWS_READS)
    cloudformation = session.client("cloudformation", region_name=target.region, config=AWS_READS)
    try:
        concurrency = read_concurrency(lambda_client, cloudformation, settings)
    except (ClientError, BotoCoreError) as exc:
        said = describe_error(exc)
        return Findings(
            notes=[f"warning: Lambda's quotas in {target.region} not checked: cannot read them ({said})"]
        )
    return quota_findings(settings, concurrency, target.region)


def has_logging_role(session: boto3.Session, target: Target) -> bool:
    """Whether API Gateway's account settings name a CloudWatch Logs role (one per account and region).

    The stage's access and error logs need one; without it the deploy fails halfway with "CloudWatch Logs
    role ARN must be set in account settings to enable logging".

    Raises:
        PreflightError: the settings cannot be read (the line says how to set the role up regardless).
    """
    apigateway = session.client("apigateway", region_name=target.region, config=AWS_READS)
    try:
        return bool(apigateway.get_account().get("cloudwatchRoleArn"))
    except (ClientError, BotoCoreError) as exc:
        said = describe_error(exc)
        raise PreflightError(
            f"cannot read API Gateway's account settings ({said}), so whether {target.account}/"
            f"{target.region} has the CloudWatch Logs role the stage's logs need is unknown: allow "
            f"apigateway:GET on arn:aws:apigateway:{target.region}::/account, or set the role up with "
            f"`make deploy {env_var('cloud_watch_role')}=true` (it replaces any role set there)"
        ) from None


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


def describe_error(exc: ClientError | BotoCoreError) -> str:
    """An AWS error as `Code: message` (a service's answer) or botocore's own sentence (no answer)."""
    if not isinstance(exc, ClientError):
        return str(exc)
    error = exc.response.get("Error", {})
    return f"{error.get('Code', 'error')}: {error.get('Message', exc)}"
