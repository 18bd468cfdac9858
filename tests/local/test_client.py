"""`python -m client --stack`: CloudFormation and API Gateway answers are stubbed (they cross the network);
the HTTPS call goes to the local front and the invoke to the real emulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from client import calls
from client.__main__ import main as client_main
from local.emulator import free_port

STACK = "SentimentApi"


@pytest.fixture
def stub_aws(monkeypatch: pytest.MonkeyPatch) -> Callable[[list[dict[str, str]]], None]:
    """Make client.calls build CloudFormation/API Gateway clients whose answers are stubbed."""
    real_client = boto3.client
    stubbers: list[Stubber] = []

    def install(outputs: list[dict[str, str]]) -> None:
        def fake_client(service: str, **kwargs: Any) -> Any:
            if service == "lambda":  # the real emulator answers
                return real_client(service, **kwargs)
            kwargs |= {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
            client = real_client(service, **kwargs)
            stubber = Stubber(client)
            if service == "cloudformation":
                stack = {
                    "StackName": STACK,
                    "CreationTime": "2026-01-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                }
                stubber.add_response(
                    "describe_stacks", {"Stacks": [stack | {"Outputs": outputs}]}, {"StackName": STACK}
                )
            else:
                expected = {"apiKey": "key-123", "includeValue": True}
                stubber.add_response("get_api_key", {"id": "key-123", "value": "s3cret"}, expected)
            stubber.activate()
            stubbers.append(stubber)
            return client

        monkeypatch.setattr(calls.boto3, "client", fake_client)

    yield install
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_stack_mode_calls_https_then_invoke(stub_aws, front, function, capsys):
    stub_aws(
        [
            {"OutputKey": "ApiUrl", "OutputValue": f"{front}/"},
            {"OutputKey": "FunctionName", "OutputValue": "function"},
            {"OutputKey": "ApiKeyId", "OutputValue": "key-123"},
        ]
    )
    assert client_main(["--stack", "--endpoint-url", function.endpoint, "Solid kettle"]) == 0
    out = capsys.readouterr().out
    https_part, invoke_part = out.split("# boto3 invoke function\n")
    assert https_part.startswith(f"# HTTPS POST {front}/predict -> 200")
    https_answer = json.loads(https_part.split("\n", 1)[1])
    assert https_answer == json.loads(invoke_part)


def test_stack_without_outputs_is_a_one_line_error(stub_aws, capsys):
    stub_aws([])
    assert client_main(["--stack"]) == 2
    assert (
        capsys.readouterr().err
        == "error: stack SentimentApi has no output ApiUrl, FunctionName; was it deployed?\n"
    )


def test_no_emulator_running_is_a_one_line_error_with_a_hint(capsys):
    port = free_port()
    assert client_main(["--endpoint-url", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Could not connect to the endpoint URL")
    assert err.endswith("is the emulator running (make serve)?\n")
