"""`python -m client --stack`: CloudFormation and API Gateway answers are stubbed (they cross the network);
the HTTPS call goes to the local front and the invoke to the real emulator, or to a Stubber where the
test checks what is sent to Lambda."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import urllib3
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from client import calls
from client.__main__ import main as client_main
from infra.aws_session import aws_session
from local.emulator import free_port

STACK = "SentimentApi"
REGION = "eu-west-1"
EXECUTE_API_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1/*/*"


def outputs(front: str, **extra: str) -> list[dict[str, str]]:
    """The stack's outputs with the API at the local front; `extra` adds ApiKeyId or ExecuteApiArn."""
    values = {"ApiUrl": f"{front}/", "FunctionName": "function", "FunctionAlias": "live", **extra}
    return [{"OutputKey": key, "OutputValue": value} for key, value in values.items()]


@pytest.fixture
def aws_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user with credentials and only AWS_REGION set (no AWS_DEFAULT_REGION, no profile region), as
    infra/README.md tells them to: boto3 alone would say "You must specify a region"."""
    for name in ("AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")


@pytest.fixture
def stub_aws(monkeypatch: pytest.MonkeyPatch, aws_env: None) -> Callable[..., None]:
    """Make the sessions client.calls uses build CloudFormation/API Gateway clients whose answers are
    stubbed; with `invoke_answer`, the Lambda client is stubbed too and expects an invoke of the live alias.
    Every stubbed client must be in AWS_REGION."""
    real_client = boto3.session.Session.client
    stubbers: list[Stubber] = []

    def install(outputs: list[dict[str, str]], invoke_answer: dict[str, Any] | bytes | None = None) -> None:
        def fake_client(session: boto3.session.Session, service: str, **kwargs: Any) -> Any:
            client = real_client(session, service, **kwargs)
            if service == "lambda" and invoke_answer is None:  # the real emulator answers
                return client
            assert client.meta.region_name == REGION
            stubber = Stubber(client)
            if service == "lambda":
                raw = isinstance(invoke_answer, bytes)
                data = invoke_answer if raw else json.dumps(invoke_answer).encode()
                response = {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
                expected = {"FunctionName": "function", "Qualifier": "live", "Payload": ANY}
                stubber.add_response("invoke", response, expected)
            elif service == "cloudformation":
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

        monkeypatch.setattr(boto3.session.Session, "client", fake_client)

    yield install
    for stubber in stubbers:
        stubber.assert_no_pending_responses()


def test_stack_mode_calls_https_then_invoke(stub_aws, front, function, capsys):
    stub_aws(outputs(front, ApiKeyId="key-123"))
    assert client_main(["--stack", "--endpoint-url", function.endpoint, "Solid kettle"]) == 0
    out = capsys.readouterr().out
    https_part, invoke_part = out.split("# boto3 invoke function:live\n")
    assert https_part.startswith(f"# HTTPS POST {front}/predict -> 200")
    https_answer = json.loads(https_part.split("\n", 1)[1])
    assert https_answer == json.loads(invoke_part)


def test_stack_mode_invokes_the_live_alias_not_latest(stub_aws, front, capsys):
    """The stubbed Lambda client fails the call unless it has Qualifier=live (the FunctionAlias output)."""
    stub_aws(outputs(front, ApiKeyId="key-123"), invoke_answer={"predictions": []})
    assert client_main(["--stack", STACK, "Solid kettle"]) == 0
    assert capsys.readouterr().out.endswith('# boto3 invoke function:live\n{\n  "predictions": []\n}\n')


def test_stack_mode_with_iam_auth_signs_the_https_call(stub_aws, front, function, capsys, monkeypatch):
    """auth=iam (ExecuteApiArn output): no API key is read, the request carries a SigV4 signature."""
    sent: list[dict[str, str]] = []
    request = urllib3.PoolManager.request

    def spy(self: urllib3.PoolManager, method: str, url: str, **kwargs: Any) -> Any:
        sent.append(kwargs["headers"])
        return request(self, method, url, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "request", spy)
    stub_aws(outputs(front, ExecuteApiArn=EXECUTE_API_ARN))
    assert client_main(["--stack", "--endpoint-url", function.endpoint, "Solid kettle"]) == 0
    (headers,) = sent
    assert "x-api-key" not in headers
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in headers["Authorization"]


def test_no_region_is_one_line_naming_make_invoke(aws_env, monkeypatch, capsys):
    monkeypatch.delenv("AWS_REGION")
    for argv in (["--stack"], ["--function-name", "fn"]):
        assert client_main(argv) == 2
        assert capsys.readouterr().err == (
            "error: no AWS region: run `AWS_REGION=<region> make invoke` (e.g. AWS_REGION=eu-west-1), "
            "or set your profile's with `aws configure set region <region>`\n"
        )


def test_region_flag_wins_over_aws_region(aws_env):
    session = aws_session("ap-south-1", command="make invoke")
    assert calls.lambda_client(None, session).meta.region_name == "ap-south-1"
    assert calls.lambda_client(None).meta.region_name == REGION


def test_https_error_answer_exits_non_zero_with_the_body(stub_aws, front, capsys):
    stub_aws(outputs(front, ApiKeyId="key-123"))
    assert client_main(["--stack", STACK, ""]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: POST {front}/predict answered 422: {{")
    assert "invalid request" in captured.err
    assert captured.out == ""


def test_invoke_error_answer_exits_non_zero_with_the_body(function, capsys):
    assert client_main(["--endpoint-url", function.endpoint, ""]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith('error: function function answered 422: {"statusCode": 422')
    assert captured.out == ""


def test_stack_without_outputs_is_a_one_line_error(stub_aws, capsys):
    stub_aws([])
    assert client_main(["--stack"]) == 2
    assert (
        capsys.readouterr().err
        == "error: stack SentimentApi has no output ApiUrl, FunctionAlias, FunctionName; was it deployed?\n"
    )


def test_no_emulator_running_is_a_one_line_error_with_a_hint(capsys):
    port = free_port()
    assert client_main(["--endpoint-url", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Could not connect to the endpoint URL")
    assert err.endswith("is the emulator running (make serve)?\n")


def test_a_non_json_lambda_payload_is_a_one_line_error(stub_aws, front, capsys):
    stub_aws(outputs(front, ApiKeyId="key-123"), invoke_answer=b"<html>not json</html>")
    assert client_main(["--stack", STACK, "Solid kettle"]) == 2
    assert capsys.readouterr().err == "error: function function answered 21 bytes that are not JSON\n"


@pytest.fixture
def gateway() -> Iterator[Callable[[int], tuple[str, list[str]]]]:
    """`gateway(status, retry_after)`: a real HTTP server on 127.0.0.1 answering every request with
    `status` (as API Gateway's throttle or its 504 would); yields its URL and the requests it received."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, retry_after: bool = False) -> tuple[str, list[str]]:
        received: list[str] = []

        class Answer(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                body = json.dumps({"message": "refused"}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if retry_after:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/", received

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "retry_after", "attempts"),
    [(429, True, 4), (503, True, 4), (502, False, 1), (503, False, 1), (504, False, 1), (500, False, 1)],
)
def test_https_retries_only_what_never_reached_the_function(gateway, status, retry_after, attempts):
    # Retry-After: 0 keeps the retries of 429 and of a 503 that asks for one free of backoff waits here.
    url, received = gateway(status, retry_after)
    with pytest.raises(calls.ClientError, match=f"answered {status}"):
        calls.post_predict(url, {"text": "Solid kettle"})
    assert len(received) == attempts


@pytest.mark.parametrize("endpoint", [None, "http://127.0.0.1:9000"])
def test_lambda_reads_outlast_any_function_so_botocore_never_reruns_an_invoke(endpoint):
    # botocore's standard retries include read timeouts: a read timeout shorter than Lambda's longest
    # function timeout (900 s) would send a slow invoke again while the first still runs.
    config = calls.lambda_client(endpoint, boto3.Session(region_name=REGION)).meta.config
    assert config.read_timeout > 900
    assert config.retries["total_max_attempts"] == 3
