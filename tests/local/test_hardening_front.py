"""The local front answers like API Gateway: JSON for every method and every framing it refuses, timeouts
instead of hangs, Lambda's 6 MB event limit; the emulator answers any crafted event shape in JSON; a port
left in TIME-WAIT by the previous `make serve` binds again, a port in use is still refused."""

from __future__ import annotations

import json
import socket
import time

import pytest
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local.emulator import HANDLER, EmulatorError, free_port, handler_env, running_function
from local.front import LAMBDA_MAX_EVENT, serving_front
from tests.handler.test_hardening import assert_json_answer, crafted_events

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
http = urllib3.PoolManager(retries=False, timeout=60)
REVIEW = b'{"text": "Sturdy and quiet."}'


def exchange(base_url: str, data: bytes, wait: float = 20.0) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read until the front closes the connection or stops sending; parse one answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def _expected_length(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(head) + 4 + int(line.split(b":")[1])
    return len(received) + 1


def request(method: str, path: str, headers: dict | list[tuple[str, str]], body: bytes = b"") -> bytes:
    fields = headers.items() if isinstance(headers, dict) else headers
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# --- raw-socket framing: what API Gateway refuses, refused in JSON, never a 5xx ---

FRAMING = [
    (request("POST", "/predict", [("Content-Length", "29"), ("Content-Length", "29")], REVIEW), 400),
    (request("POST", "/predict", {"Content-Length ": "29"}, REVIEW), 400),  # space before the colon
    (request("POST", "/predict", {"Content-Length": "29", "Transfer-Encoding": "chunked"}, REVIEW), 400),
    (request("POST", "/predict", {"Transfer-Encoding": "gzip, chunked"}, b"0\r\n\r\n"), 400),
    (request("POST", "/predict", {"Transfer-Encoding": "chunked"}, b"0x1d\r\n" + REVIEW + b"\r\n0\r\n"), 400),
    (request("POST", "/predict", {"Content-Length": "+29"}, REVIEW), 400),
    (request("POST", "/predict", {"Content-Length": "2_9"}, REVIEW), 400),
    (request("POST", "/predict", {"Content-Length": "-1"}), 400),
    (request("POST", "/predict", {"Content-Length": "99999999999999999999"}), 413),
    (request("POST", "/predict", {"Content-Length": "29", "Connection": "close"}, REVIEW), 200),
    (
        request(
            "POST",
            "/predict",
            {"Transfer-Encoding": "chunked", "Connection": "close"},
            b"1d\r\n" + REVIEW + b"\r\n0\r\n\r\n",
        ),
        200,
    ),
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /health HTTP/2.0\r\n\r\n", 400),
    (b"GET /health HTTP/1.1\r\n" + b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n", 414),
    (request("GE\x01T", "/health", {}), 400),
]


@pytest.mark.parametrize(("data", "status"), FRAMING, ids=range(len(FRAMING)))
def test_framing_is_answered_in_json(front, data, status):
    got, headers, body = exchange(front, data)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert isinstance(json.loads(body), dict)


@pytest.mark.parametrize("method", ["TRACE", "PURGE", "post", "CONNECT", "PROPFIND", "M-SEARCH"])
def test_any_method_gets_json_never_a_501(front, method):
    status, headers, body = exchange(front, request(method, "/health", {"Connection": "close"}))
    assert status == 405, body
    assert headers["allow"] == "GET"
    assert json.loads(body)["message"].startswith(f"method {method.upper()} is not allowed on /health")


header_names = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz-ABCXYZ0189"), min_size=1, max_size=20)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"))


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"]),
    path=st.sampled_from(["/predict", "/health", "/model", "/openapi.json", "/x"]),
    headers=st.dictionaries(header_names, header_values, max_size=6),
    body=st.binary(max_size=300) | st.builds(lambda t: json.dumps({"text": t}).encode(), st.text()),
)
@SETTINGS
def test_any_headers_and_body_get_a_json_answer_below_500(front, method, path, headers, body):
    framing = {"content-length", "transfer-encoding", "connection", "host", "expect"}
    headers = {k: v.strip() for k, v in headers.items() if k.lower() not in framing}
    data = request(method, path, {**headers, "Content-Length": str(len(body)), "Connection": "close"}, body)
    status, answer_headers, answer = exchange(front, data)
    assert status < 500, answer
    if method != "HEAD":
        assert answer_headers["content-type"].startswith(("application/json", "text/html")), answer_headers
        assert answer_headers["content-type"] == "application/json" or path == "/x" or status == 200


# --- limits and timeouts ---


def test_event_over_lambdas_limit_is_api_gateways_500_without_an_invoke(front, emulator_log):
    invokes = emulator_log.read_text().count("START RequestId")
    body = REVIEW[:-1] + b" " * LAMBDA_MAX_EVENT + b"}"  # valid JSON, under API Gateway's 10 MB
    response = http.request("POST", f"{front}/predict", body=body)
    assert response.status == 500
    assert json.loads(response.data) == {"message": "Internal server error"}
    assert emulator_log.read_text().count("START RequestId") == invokes  # the function never ran


def test_stalled_client_gets_a_408_and_others_are_served_meanwhile(function):
    with serving_front(function.url, socket_timeout=1) as base_url:
        started = time.monotonic()
        stalled = request("POST", "/predict", {"Content-Length": "100"}, b'{"text"')
        status, _, body = exchange(base_url, stalled)
        assert status == 408
        assert json.loads(body) == {"message": "Request Timeout"}
        assert time.monotonic() - started < 5
        assert http.request("GET", f"{base_url}/health").status == 200


@pytest.fixture(scope="module")
def sleepy(tmp_path_factory):
    """The emulator running tests/local/sleepy.py with a 2 s function timeout."""
    log = tmp_path_factory.mktemp("sleepy") / "emulator.log"
    env = {"AWS_LAMBDA_FUNCTION_TIMEOUT": "2"}
    with log.open("w") as out, running_function("tests.local.sleepy.handler", env=env, stdout=out) as fn:
        yield fn


def test_no_answer_within_the_integration_timeout_is_a_504(sleepy):
    with serving_front(sleepy.url, integration_timeout=0.5) as base_url:
        response = http.request("GET", f"{base_url}/slow?sleep=1")
        assert response.status == 504
        assert json.loads(response.data) == {"message": "Endpoint request timed out"}
        # The next request waits for the slow invoke to end (one execution environment), then is served.
        assert http.request("GET", f"{base_url}/fast?sleep=0").status == 200


def test_function_timeout_is_the_emulators_and_a_502(sleepy):
    with serving_front(sleepy.url, integration_timeout=10) as base_url:
        response = http.request("GET", f"{base_url}/slow?sleep=4")
        assert response.status == 502
        assert json.loads(response.data) == {"message": "Internal server error"}


def test_emulator_gets_the_stacks_function_timeout(tiny_artifact):
    from infra.settings import Settings

    assert handler_env(tiny_artifact)["AWS_LAMBDA_FUNCTION_TIMEOUT"] == str(Settings().timeout_s)


# --- crafted events through the real emulator ---


@given(event=crafted_events())
@SETTINGS
def test_crafted_event_shapes_through_the_emulator(function, event):
    assert_json_answer(function.invoke(event))


# --- restart: TIME-WAIT is not a conflict ---


def time_wait_port() -> int:
    """A port whose last connection this side closed first: it stays in TIME-WAIT for a minute."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the emulator's Go listener does
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the listening side closes first, as the emulator does when stopped
            assert client.recv(1) == b""
    return port


def test_a_port_in_time_wait_is_free_for_the_next_serve(tiny_artifact):
    port = time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError, match="Address already in use"):
        plain.bind(("127.0.0.1", port))  # the state the old check took for "in use"
    assert free_port(port) == port
    with running_function(HANDLER, env=handler_env(tiny_artifact), port=port) as fn:
        assert fn.invoke({"text": "fine"})["predictions"]


def test_a_port_something_listens_on_is_still_refused():
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(EmulatorError, match=f"127.0.0.1:{port} is already in use"):
            free_port(port)
