"""The client sends the stack's API key as API Gateway checks it: an `x-api-key` header with the key's value.

The local front ignores keys, so these calls go to a real HTTP server on 127.0.0.1 that answers as API
Gateway does for a key-protected method: 403 `{"message": "Forbidden"}` without the right key, else 200.
The key's value comes from the stubbed API Gateway `get_api_key` answer ("s3cret").
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from client import calls
from client.__main__ import main as client_main
from tests.local.test_client import STACK, aws_env, outputs, stub_aws  # noqa: F401 - fixtures

KEY = "s3cret"


@pytest.fixture
def keyed_gateway() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A server that wants `x-api-key: s3cret` (header names are case-insensitive, as in HTTP); yields its
    URL and the headers of every request it received."""
    received: list[dict[str, str]] = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append(dict(self.headers.items()))
            allowed = self.headers.get("x-api-key") == KEY
            answer = {"predictions": [], "model": "keyed"} if allowed else {"message": "Forbidden"}
            body = json.dumps(answer).encode()
            self.send_response(200 if allowed else 403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_key_goes_in_the_x_api_key_header(keyed_gateway):
    url, received = keyed_gateway
    assert calls.post_predict(url, {"text": "Solid kettle"}, api_key=KEY) == (
        200,
        {"predictions": [], "model": "keyed"},
    )
    with pytest.raises(calls.ClientError, match=r'answered 403: \{"message": "Forbidden"\}'):
        calls.post_predict(url, {"text": "Solid kettle"}, api_key="wrong")
    with pytest.raises(calls.ClientError, match="answered 403"):
        calls.post_predict(url, {"text": "Solid kettle"})
    assert [headers.get("x-api-key") for headers in received] == [KEY, "wrong", None]


def test_stack_mode_reads_the_key_from_api_gateway_and_sends_it(stub_aws, keyed_gateway, capsys):  # noqa: F811
    url, received = keyed_gateway
    stub_aws(outputs(url.rstrip("/"), ApiKeyId="key-123"), invoke_answer={"predictions": []})
    assert client_main(["--stack", STACK, "Solid kettle"]) == 0
    assert capsys.readouterr().out.startswith(f"# HTTPS POST {url}predict -> 200")
    (headers,) = received
    assert headers["x-api-key"] == KEY
    assert "Authorization" not in headers
