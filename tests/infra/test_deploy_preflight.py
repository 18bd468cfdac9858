"""Deploy preflight: what is missing (model, Docker, credentials, bootstrap) is said in one line.

AWS is not reachable from tests: STS and CloudFormation answers come from botocore's Stubber on real
clients, so request and response shapes are still checked against the service models.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from handler.manifest import ARTIFACT_FILES
from infra.__main__ import _settings, _with_context
from infra.preflight import PreflightError, check_deploy, open_session
from infra.settings import Settings
from infra.snapstart import UNSUPPORTED_REGIONS

ACCOUNT, REGION = "123456789012", "eu-west-1"
LOGGING_ROLE = f"arn:aws:iam::{ACCOUNT}:role/apigateway-logs"
DEFAULTS = Settings()


class StubbedSession:
    """A boto3 session whose STS, CloudFormation and API Gateway clients answer from a Stubber; built on
    `session` (default: one in REGION), so the clients are in the region it resolved."""

    def __init__(self, session: boto3.Session | None = None) -> None:
        session = session or boto3.Session(region_name=REGION)
        self.region_name = session.region_name
        keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "x"}
        names = ("sts", "cloudformation", "apigateway", "lambda")
        self.clients = {name: session.client(name, **keys) for name in names}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str, **_: Any) -> Any:
        return self.clients[name]

    def identity(self) -> StubbedSession:
        arn = f"arn:aws:iam::{ACCOUNT}:user/dev"
        self.stubs["sts"].add_response(
            "get_caller_identity", {"UserId": "AIDA", "Account": ACCOUNT, "Arn": arn}
        )
        return self

    def toolkit(self, status: str) -> StubbedSession:
        stack = {"StackName": "CDKToolkit", "CreationTime": dt.datetime(2026, 1, 1), "StackStatus": status}
        self.stubs["cloudformation"].add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": "CDKToolkit"}
        )
        return self

    def logging_role(self, arn: str | None) -> StubbedSession:
        account = {"cloudwatchRoleArn": arn} if arn else {}
        self.stubs["apigateway"].add_response("get_account", account, {})
        return self

    def concurrency(self, limit: int, unreserved: int | None = None) -> StubbedSession:
        """Lambda GetAccountSettings: the account's concurrency limit and what is left unreserved."""
        unreserved = limit if unreserved is None else unreserved
        account = {"ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": unreserved}
        self.stubs["lambda"].add_response("get_account_settings", {"AccountLimit": account}, {})
        return self

    def ready(self, limit: int = 1000) -> StubbedSession:
        """An account every check passes: credentials, bootstrap, a logging role, Lambda's concurrency."""
        return self.identity().toolkit("UPDATE_COMPLETE").logging_role(LOGGING_ROLE).concurrency(limit)

    def assert_all_asked(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    for name in ARTIFACT_FILES:  # what "is there a model?" asks of a deploy; the image build reads them
        (tmp_path / name).write_text("{}")
    return tmp_path


def fake_docker(directory: Path, monkeypatch: pytest.MonkeyPatch, exit_code: int) -> None:
    """Put a `docker` on PATH whose `docker info` exits with `exit_code` (0: the daemon answers)."""
    directory.mkdir()
    script = directory / "docker"
    said = "echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock' >&2" * bool(exit_code)
    script.write_text(f"#!/bin/sh\n{said}\nexit {exit_code}\n")
    script.chmod(0o755)
    monkeypatch.delenv("CDK_DOCKER", raising=False)
    monkeypatch.setenv("PATH", f"{directory}:{os.environ['PATH']}")


@pytest.fixture
def docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_docker(tmp_path / "bin", monkeypatch, exit_code=0)


@pytest.mark.usefixtures("docker")
def test_ready_account_passes(model_dir: Path) -> None:
    session = StubbedSession().ready()
    plan = check_deploy(model_dir, DEFAULTS, session)
    assert (plan.target.account, plan.target.region) == (ACCOUNT, REGION)
    assert (plan.context, plan.notes) == ((), ())
    session.assert_all_asked()


@pytest.mark.usefixtures("docker")
def test_missing_bootstrap_says_how_to_bootstrap(model_dir: Path) -> None:
    session = StubbedSession().identity().logging_role(LOGGING_ROLE).concurrency(1000)
    session.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
    )
    with pytest.raises(
        PreflightError, match=rf"not bootstrapped.*npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    ):
        check_deploy(model_dir, DEFAULTS, session)


@pytest.mark.usefixtures("docker")
def test_broken_bootstrap_stack_is_named(model_dir: Path) -> None:
    session = (
        StubbedSession().identity().toolkit("ROLLBACK_COMPLETE").logging_role(LOGGING_ROLE).concurrency(10)
    )
    with pytest.raises(PreflightError, match="CDKToolkit stack is in state ROLLBACK_COMPLETE"):
        check_deploy(model_dir, DEFAULTS, session)


@pytest.mark.usefixtures("docker")
def test_rejected_credentials(model_dir: Path) -> None:
    session = StubbedSession()
    session.stubs["sts"].add_client_error("get_caller_identity", "ExpiredToken", "The security token expired")
    with pytest.raises(PreflightError, match="AWS rejected the credentials: ExpiredToken"):
        check_deploy(model_dir, DEFAULTS, session)


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS config file whose default profile has no region yet, and no region variable set."""
    config = tmp_path / "aws-config"
    config.write_text("[default]\n")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
    return config


@pytest.mark.usefixtures("docker", "aws_config")
def test_missing_region_names_the_variable_and_the_make_command(model_dir: Path) -> None:
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, DEFAULTS)
    assert str(caught.value) == (
        "no AWS region: run `AWS_REGION=<region> make deploy` (e.g. AWS_REGION=eu-west-1), "
        "or set your profile's with `aws configure set region <region>`"
    )


@pytest.mark.usefixtures("docker")
@pytest.mark.parametrize(
    ("flag", "variables", "expected"),
    [
        (None, {"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "us-east-1"}, "ap-south-1"),
        (None, {"AWS_DEFAULT_REGION": "us-east-1"}, "us-east-1"),
        (None, {}, "eu-central-1"),
        ("sa-east-1", {"AWS_REGION": "ap-south-1"}, "sa-east-1"),
    ],
)
def test_the_preflight_checks_the_region_the_cdk_cli_deploys_to(
    model_dir: Path, aws_config: Path, monkeypatch: pytest.MonkeyPatch, flag, variables, expected
) -> None:
    """AWS_REGION over AWS_DEFAULT_REGION over the profile's region (eu-central-1), as the CDK CLI reads them;
    the preflight used to prefer the profile's region to AWS_REGION."""
    aws_config.write_text("[default]\nregion = eu-central-1\n")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    session = StubbedSession(open_session(flag, "make deploy")).ready()
    assert check_deploy(model_dir, DEFAULTS, session).target.region == expected
    assert session.clients["sts"].meta.region_name == expected


def test_everything_missing_is_reported_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DOCKER", "no-such-docker-cli")
    session = StubbedSession().identity().logging_role(LOGGING_ROLE).concurrency(10)
    session.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
    )
    with pytest.raises(PreflightError) as caught:
        check_deploy(tmp_path / "model", Settings(bulk=True), session)
    message = str(caught.value)
    assert "\n" not in message
    assert "run `make model` first" in message
    assert "`no-such-docker-cli` not found" in message
    assert "not bootstrapped" in message
    assert "SENTIMENT_BULK_CONCURRENCY=50 runs more bulk batches at once than the function may" in message


def test_docker_daemon_not_running_is_reported(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_docker(tmp_path / "bin", monkeypatch, exit_code=1)
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, DEFAULTS, StubbedSession().ready())
    assert str(caught.value) == (
        "`docker info` failed (exit 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock): "
        "is the Docker daemon running?"
    )


@pytest.mark.usefixtures("docker")
def test_an_account_without_api_gateways_logging_role_gets_one_set_up(model_dir: Path) -> None:
    """No role in the account and cloudWatchRole off: the deploy turns it on and says what that does."""
    session = StubbedSession().identity().toolkit("CREATE_COMPLETE").logging_role(None).concurrency(1000)
    plan = check_deploy(model_dir, DEFAULTS, session)
    assert plan.context == ("cloudWatchRole=true",)
    (note,) = plan.notes
    assert note == (
        f"API Gateway has no CloudWatch Logs role in {ACCOUNT}/{REGION}: deploying with "
        "SENTIMENT_CLOUD_WATCH_ROLE=true, which creates one (AWS-managed policy "
        "AmazonAPIGatewayPushToCloudWatchLogs) and sets it in API Gateway's account settings for every API "
        f"in {REGION}; both stay after make destroy"
    )


@pytest.mark.usefixtures("docker")
def test_an_account_with_a_logging_role_keeps_it(model_dir: Path) -> None:
    session = StubbedSession().ready()
    plan = check_deploy(model_dir, DEFAULTS, session)
    assert (plan.context, plan.notes) == ((), ())
    session.assert_all_asked()


@pytest.mark.usefixtures("docker")
def test_with_cloud_watch_role_on_the_account_setting_is_not_read(model_dir: Path) -> None:
    """The stack sets the role itself: no get_account answer is stubbed, so a call would fail the test."""
    session = StubbedSession().identity().toolkit("CREATE_COMPLETE").concurrency(1000)
    assert check_deploy(model_dir, Settings(cloud_watch_role=True), session).context == ()


@pytest.mark.usefixtures("docker")
def test_unreadable_logging_role_names_the_make_variable_never_a_context_flag(model_dir: Path) -> None:
    session = StubbedSession().identity().toolkit("CREATE_COMPLETE").concurrency(1000)
    session.stubs["apigateway"].add_client_error("get_account", "AccessDeniedException", "not allowed")
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, DEFAULTS, session)
    message = str(caught.value)
    assert "cannot read API Gateway's account settings (AccessDeniedException: not allowed)" in message
    assert "`make deploy SENTIMENT_CLOUD_WATCH_ROLE=true`" in message
    assert "-c " not in message


def test_the_role_the_preflight_adds_wins_over_the_users_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings the synth reads from the deploy's context: the added pair replaces a given one, and
    context wins over SENTIMENT_CLOUD_WATCH_ROLE=false in the environment."""
    monkeypatch.setenv("SENTIMENT_CLOUD_WATCH_ROLE", "false")
    context = _with_context(["memoryMb=3008", "cloudWatchRole=false"], ("cloudWatchRole=true",))
    assert context == ["memoryMb=3008", "cloudWatchRole=true"]
    settings = _settings(context)
    assert (settings.cloud_watch_role, settings.memory_mb) == (True, 3008)


def stack_with_function(session: StubbedSession, reserved: int | None) -> None:
    """The deployed stack's FunctionName output, and that function's reserved concurrency."""
    outputs = [{"OutputKey": "FunctionName", "OutputValue": "SentimentApi-Fn"}]
    stack = {
        "StackName": "SentimentApi",
        "CreationTime": dt.datetime(2026, 1, 1),
        "StackStatus": "UPDATE_COMPLETE",
    }
    session.stubs["cloudformation"].add_response(
        "describe_stacks", {"Stacks": [stack | {"Outputs": outputs}]}, {"StackName": "SentimentApi"}
    )
    answer = {} if reserved is None else {"ReservedConcurrentExecutions": reserved}
    session.stubs["lambda"].add_response(
        "get_function_concurrency", answer, {"FunctionName": "SentimentApi-Fn"}
    )


@pytest.mark.usefixtures("docker")
def test_a_new_account_refuses_reserved_concurrency_before_anything_is_built(model_dir: Path) -> None:
    session = StubbedSession().ready(limit=10)
    session.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id SentimentApi does not exist"
    )
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, Settings(reserved_concurrency=5, memory_mb=4096), session)
    assert str(caught.value).startswith(
        "SENTIMENT_RESERVED_CONCURRENCY=5 is more than this account can reserve (its Lambda concurrency in "
        f"{REGION} is 10, 10 of it unreserved, and Lambda keeps 100 unreserved): make deploy "
    )
    assert "; warning: SENTIMENT_MEMORY_MB=4096" in str(caught.value)  # said together, in one line
    session.assert_all_asked()


@pytest.mark.parametrize(("reserved", "refused"), [(800, False), (850, False), (900, True)])
@pytest.mark.usefixtures("docker")
def test_a_redeploy_counts_the_functions_own_reservation_back(model_dir: Path, reserved, refused) -> None:
    """The deployed function holds 800 of 1000, leaving 150 unreserved: it may keep up to 850."""
    session = StubbedSession().identity().toolkit("UPDATE_COMPLETE").logging_role(LOGGING_ROLE)
    session.concurrency(1000, unreserved=150)
    stack_with_function(session, reserved=800)
    settings = Settings(reserved_concurrency=reserved)
    if refused:
        with pytest.raises(PreflightError, match="make deploy SENTIMENT_RESERVED_CONCURRENCY=850, or "):
            check_deploy(model_dir, settings, session)
    else:
        assert check_deploy(model_dir, settings, session).notes == ()
    session.assert_all_asked()


@pytest.mark.usefixtures("docker")
def test_memory_above_3008_on_a_new_account_is_said_before_the_deploy(model_dir: Path) -> None:
    plan = check_deploy(model_dir, Settings(memory_mb=4096), StubbedSession().ready(limit=10))
    (note,) = plan.notes
    assert note.startswith("warning: SENTIMENT_MEMORY_MB=4096")


@pytest.mark.usefixtures("docker")
def test_unreadable_quotas_are_a_warning_not_a_refusal(model_dir: Path) -> None:
    session = StubbedSession().identity().toolkit("UPDATE_COMPLETE").logging_role(LOGGING_ROLE)
    session.stubs["lambda"].add_client_error("get_account_settings", "AccessDeniedException", "no")
    plan = check_deploy(model_dir, DEFAULTS, session)
    assert plan.notes == (
        f"warning: Lambda's quotas in {REGION} not checked: cannot read them (AccessDeniedException: no)",
    )


@pytest.mark.usefixtures("docker")
@pytest.mark.parametrize("region", sorted(UNSUPPORTED_REGIONS))
def test_snapstart_is_refused_in_a_region_without_it(model_dir: Path, region: str) -> None:
    session = StubbedSession(boto3.Session(region_name=region)).ready(limit=10)
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, Settings(snap_start=True, bulk=True), session)
    (snap_start, bulk) = str(caught.value).split("; deploy without it, or to another region (AWS_REGION); ")
    assert snap_start.startswith(f"setting snapStart (SENTIMENT_SNAP_START) must be false in {region}: ")
    assert bulk.startswith("SENTIMENT_BULK_CONCURRENCY=50 runs more bulk batches")  # reported together


@pytest.mark.usefixtures("docker")
def test_snapstart_passes_where_lambda_offers_it(model_dir: Path) -> None:
    assert (
        check_deploy(model_dir, Settings(snap_start=True), StubbedSession().ready()).target.region == REGION
    )
