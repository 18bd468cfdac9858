"""The handler under the real Lambda Runtime Interface Emulator: cold and warm invokes, boto3, the front."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

import pytest
import urllib3

from client.__main__ import main as client_main
from client.calls import LOCAL_FUNCTION, ClientError, invoke_function, lambda_client
from local import emulator
from local.emulator import HANDLER, EmulatorError, ensure_rie, handler_env, rie_arch, running_function

http = urllib3.PoolManager(retries=False, timeout=60)


def log_records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"level"')]


def test_ensure_rie_gives_an_executable_for_this_machine():
    rie = ensure_rie()
    assert rie.name.startswith("aws-lambda-rie-")
    assert os.access(rie, os.X_OK)
    with rie.open("rb") as binary:
        assert binary.read(4) == b"\x7fELF"


def test_ensure_rie_extracts_each_architecture_from_the_wheel(tmp_path):
    wheel = next(ensure_rie().parent.glob("aws_sam_cli-*.whl"))
    shutil.copy(wheel, tmp_path / wheel.name)
    for arch in ("x86_64", "arm64"):
        rie = ensure_rie(tmp_path, arch)
        assert rie == tmp_path / f"aws-lambda-rie-{arch}"
        assert os.access(rie, os.X_OK)
    assert rie_arch("aarch64") == "arm64"
    with pytest.raises(EmulatorError, match="no Lambda RIE build"):
        rie_arch("sparc")


def test_cold_start_then_warm_invokes(tiny_artifact, tmp_path):
    log_path = tmp_path / "emulator.log"
    env = handler_env(tiny_artifact, POWERTOOLS_LOG_LEVEL="DEBUG")
    with log_path.open("w") as log, running_function(HANDLER, env=env, stdout=log) as fn:
        answers = [fn.invoke({"texts": ["works great", "broke at once"]}) for _ in range(3)]
    assert all(len(answer["predictions"]) == 2 for answer in answers)
    assert answers[0] == answers[1] == answers[2]
    text = log_path.read_text()
    assert text.count("INIT START") == 1  # one init, then warm invokes in the same process
    predicted = [r for r in log_records(text) if r["message"] == "predicted"]
    assert [r["cold_start"] for r in predicted] == [True, False, False]
    assert "works great" not in text
    # capture_cold_start_metric: one ColdStart metric, emitted by the first invoke only (before its request
    # metrics), in its own EMF blob whose dimensions are the function name and the service.
    blobs = [json.loads(line) for line in text.splitlines() if line.startswith('{"_aws"')]
    assert ["ColdStart" in blob for blob in blobs] == [True, False, False, False]
    cold = blobs[0]
    assert cold["ColdStart"] == [1.0]
    assert cold["_aws"]["CloudWatchMetrics"] == [
        {
            "Namespace": "SentimentApi",
            "Dimensions": [["function_name", "service"]],
            "Metrics": [{"Name": "ColdStart", "Unit": "Count"}],
        }
    ]
    assert (cold["function_name"], cold["service"]) == (predicted[0]["function_name"], "sentiment-api")
    assert all(blob["TextsPerRequest"] == [2.0] for blob in blobs[1:])  # each invoke's own metrics


def test_busy_port_is_a_clear_error(tiny_artifact, function):
    with (
        pytest.raises(EmulatorError, match=f"127.0.0.1:{function.port} is already in use"),
        running_function(HANDLER, env=handler_env(tiny_artifact), port=function.port),
    ):
        pass


def test_a_port_taken_between_pick_and_bind_is_picked_again(tiny_artifact, monkeypatch):
    """The free_port race, scheduled: the first port picked is bound by another socket before RIE binds it,
    so RIE really fails to bind and exits; the emulator is started again on other ports. (Only the order is
    forced, by handing out that port first; the bind failure is RIE's own.)"""
    real_free_port = emulator.free_port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))  # bound, not listening: the readiness probe cannot mistake it for RIE
        taken = blocker.getsockname()[1]
        picks = iter([taken])
        monkeypatch.setattr(emulator, "free_port", lambda port=0: next(picks, None) or real_free_port(port))
        with running_function(HANDLER, env=handler_env(tiny_artifact), stdout=subprocess.DEVNULL) as fn:
            assert fn.port != taken
            assert fn.invoke({"texts": ["fine"]})["predictions"]


def test_boto3_invoke(function):
    client = lambda_client(function.endpoint)
    answer = invoke_function(client, LOCAL_FUNCTION, {"text": "Lovely kettle", "all_scores": True})
    (prediction,) = answer["predictions"]
    assert set(prediction["scores"]) == {"NEGATIVE", "POSITIVE"}
    with pytest.raises(ClientError, match="answered 422"):
        invoke_function(client, LOCAL_FUNCTION, {"texts": []})


def test_client_cli_against_the_emulator(function, capsys):
    assert client_main(["--endpoint-url", function.endpoint, "Lovely kettle"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# boto3 invoke (emulator")
    assert json.loads(out.split("\n", 1)[1])["predictions"][0]["windows"] == 1


def test_front_predict_over_http(front):
    body = json.dumps({"texts": ["Lovely kettle", "x " * 2000]})
    headers = {"Content-Type": "application/json"}
    response = http.request("POST", f"{front}/predict", body=body, headers=headers)
    assert response.status == 200
    short, long = json.loads(response.data)["predictions"]
    assert short["windows"] == 1
    assert long["windows"] > 1


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/health", None, 200),
        ("GET", "/model", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("GET", "/predict", None, 405),
        ("GET", "/missing", None, 404),
        ("POST", "/predict", b"not json", 422),
        ("POST", "/predict", b"\xff\xfe binary", 422),
        ("POST", "/predict", json.dumps({"text": "y" * 4_000_000}).encode(), 413),
        # 17 texts of the tiny artifact's 4 windows: 68, over the 64 windows a request runs.
        (
            "POST",
            "/predict",
            json.dumps({"texts": ["the jar is sturdy and the motor is strong " * 200] * 17}),
            413,
        ),
    ],
)
def test_front_status_codes(front, method, path, body, status):
    response = http.request(method, f"{front}{path}", body=body)
    assert response.status == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert "Traceback" not in response.data.decode()


def test_front_reads_chunked_bodies(front):
    # API Gateway accepts Transfer-Encoding: chunked; the body arrives whole, with no Content-Length.
    pieces = iter([b'{"texts": ["Lovely', b' kettle", "broke at once"]}'])
    headers = {"Content-Type": "application/json"}
    response = http.request("POST", f"{front}/predict", body=pieces, headers=headers, chunked=True)
    assert response.status == 200, response.data
    assert len(json.loads(response.data)["predictions"]) == 2


def test_front_serves_swagger_ui(front):
    response = http.request("GET", f"{front}/swagger")
    assert response.status == 200
    assert b"SwaggerUIBundle" in response.data


def test_tracing_wraps_the_handler_tokenize_and_inference(tiny_artifact, tmp_path):
    # Subsegments are opt-in; with no X-Ray daemon the SDK discards each one by name: proof they were opened.
    # Without the opt-in the handler is not wrapped at all (handler/observability.capture_lambda_handler).
    env = handler_env(tiny_artifact, POWERTOOLS_TRACE_DISABLED="false", SENTIMENT_TRACE_SUBSEGMENTS="true")
    log_path = tmp_path / "emulator.log"
    with log_path.open("w") as log, running_function(HANDLER, env=env, stdout=log) as fn:
        assert fn.invoke({"texts": ["fine"]})["predictions"]
    text = log_path.read_text()
    assert "Subsegment ## lambda_handler discarded" in text
    assert "Subsegment ## tokenize discarded" in text
    assert "Subsegment ## inference discarded" in text
