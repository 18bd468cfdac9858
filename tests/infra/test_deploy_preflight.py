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
from infra.preflight import PreflightError, check_deploy

ACCOUNT, REGION = "123456789012", "eu-west-1"


class StubbedSession:
    """A boto3 session whose STS, CloudFormation and API Gateway clients answer from a Stubber."""

    def __init__(self, region: str | None = REGION) -> None:
        self.region_name = region
        session = boto3.Session(
            aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name=REGION
        )
        self.clients = {name: session.client(name) for name in ("sts", "cloudformation", "apigateway")}
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
    target = check_deploy(model_dir, StubbedSession().identity().toolkit("UPDATE_COMPLETE"))
    assert (target.account, target.region) == (ACCOUNT, REGION)


@pytest.mark.usefixtures("docker")
def test_missing_bootstrap_says_how_to_bootstrap(model_dir: Path) -> None:
    session = StubbedSession().identity()
    session.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
    )
    with pytest.raises(
        PreflightError, match=rf"not bootstrapped.*npx cdk bootstrap aws://{ACCOUNT}/{REGION}"
    ):
        check_deploy(model_dir, session)


@pytest.mark.usefixtures("docker")
def test_broken_bootstrap_stack_is_named(model_dir: Path) -> None:
    with pytest.raises(PreflightError, match="CDKToolkit stack is in state ROLLBACK_COMPLETE"):
        check_deploy(model_dir, StubbedSession().identity().toolkit("ROLLBACK_COMPLETE"))


@pytest.mark.usefixtures("docker")
def test_rejected_credentials(model_dir: Path) -> None:
    session = StubbedSession()
    session.stubs["sts"].add_client_error("get_caller_identity", "ExpiredToken", "The security token expired")
    with pytest.raises(PreflightError, match="AWS rejected the credentials: ExpiredToken"):
        check_deploy(model_dir, session)


@pytest.mark.usefixtures("docker")
def test_missing_region(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(PreflightError, match="no AWS region: set AWS_REGION"):
        check_deploy(model_dir, StubbedSession(region=None))


@pytest.mark.usefixtures("docker")
def test_aws_region_variable_is_honoured_like_the_cdk_cli_does(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    target = check_deploy(model_dir, StubbedSession(region=None).identity().toolkit("CREATE_COMPLETE"))
    assert target.region == "ap-south-1"


def test_everything_missing_is_reported_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDK_DOCKER", "no-such-docker-cli")
    session = StubbedSession().identity()
    session.stubs["cloudformation"].add_client_error(
        "describe_stacks", "ValidationError", "Stack with id CDKToolkit does not exist"
    )
    with pytest.raises(PreflightError) as caught:
        check_deploy(tmp_path / "model", session)
    message = str(caught.value)
    assert "\n" not in message
    assert "run `make model` first" in message
    assert "`no-such-docker-cli` not found" in message
    assert "not bootstrapped" in message


def test_docker_daemon_not_running_is_reported(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_docker(tmp_path / "bin", monkeypatch, exit_code=1)
    with pytest.raises(PreflightError) as caught:
        check_deploy(model_dir, StubbedSession().identity().toolkit("UPDATE_COMPLETE"))
    assert str(caught.value) == (
        "`docker info` failed (exit 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock): "
        "is the Docker daemon running?"
    )


@pytest.mark.usefixtures("docker")
def test_an_account_without_api_gateways_logging_role_is_told_before_the_deploy(model_dir: Path) -> None:
    session = StubbedSession().identity().toolkit("CREATE_COMPLETE").logging_role(None)
    with pytest.raises(PreflightError, match="has no CloudWatch Logs role") as error:
        check_deploy(model_dir, session, needs_logging_role=True)
    assert "-c cloudWatchRole=true" in str(error.value)
    assert "update-account" in str(error.value)


@pytest.mark.usefixtures("docker")
def test_an_account_with_a_logging_role_passes(model_dir: Path) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/apigateway-logs"
    session = StubbedSession().identity().toolkit("CREATE_COMPLETE").logging_role(role)
    assert check_deploy(model_dir, session, needs_logging_role=True).account == ACCOUNT
    session.stubs["apigateway"].assert_no_pending_responses()
