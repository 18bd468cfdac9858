"""A small stand-in for API Gateway: each HTTP request becomes a REST (v1) proxy event for the emulator,
and the function's proxy answer becomes the HTTP response, so `curl 127.0.0.1:3000/predict` behaves like
the deployed stage URL.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.emulator import invoke

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway refuses larger payloads before the function runs
JSON = {"Content-Type": "application/json"}


def to_rest_event(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
) -> dict[str, Any]:
    """The API Gateway REST proxy event for one HTTP request (the fields Powertools and our handler read)."""
    url = urlsplit(target)
    query = parse_qs(url.query, keep_blank_values=True)
    multi_headers: dict[str, list[str]] = {}
    for name, value in headers:
        multi_headers.setdefault(name, []).append(value)
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    return {
        "resource": url.path,
        "path": url.path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "stage": "local",
            "httpMethod": method,
            "path": url.path,
            "resourcePath": url.path,
            "protocol": "HTTP/1.1",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": multi_headers.get("User-Agent", [""])[-1]},
        },
        "body": text if body else None,
        "isBase64Encoded": encoded,
    }


class _FrontHandler(BaseHTTPRequestHandler):
    server: _FrontServer
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True
            return self._send(400, JSON, b'{"message":"Bad Request"}')
        if body is None:
            self.close_connection = True
            return self._send(413, JSON, b'{"message":"Request Too Long"}')
        headers = list(self.headers.items())
        event = to_rest_event(self.command, self.path, headers, body, self.client_address[0])
        # One request at a time, like one Lambda execution environment (RIE serves one invoke at a time).
        with self.server.lock:
            try:
                answer = invoke(self.server.invoke_url, event)
            except (OSError, ValueError):
                answer = None
        if not isinstance(answer, dict) or "statusCode" not in answer:
            # What API Gateway answers when the function fails or returns a non-proxy result.
            return self._send(502, JSON, b'{"message":"Internal server error"}')
        reply = {k: ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()}
        reply |= answer.get("headers") or {}
        payload = answer.get("body") or ""
        data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        self._send(int(answer["statusCode"]), reply, data)

    def _read_body(self) -> bytes | None:
        """The body, sized by Content-Length or sent chunked (API Gateway takes both); None when it is over
        API Gateway's limit.

        Raises:
            ValueError: a length or chunk size that is not a non-negative number.
        """
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            return self._read(int(self.headers.get("Content-Length") or 0), limit=API_GATEWAY_MAX_BODY)
        body = bytearray()
        while size := int(self.rfile.readline(1024).split(b";")[0], 16):  # hex size line; 0 ends the body
            chunk = self._read(size, limit=API_GATEWAY_MAX_BODY - len(body))
            if chunk is None:
                return None
            body += chunk
            self.rfile.readline(1024)  # the CRLF closing the chunk
        while self.rfile.readline(1024).strip():  # trailer fields, up to the empty line
            pass
        return bytes(body)

    def _read(self, size: int, limit: int) -> bytes | None:
        """`size` bytes of the body, or None past `limit` (a negative size would read to end of stream)."""
        if size < 0:
            raise ValueError(f"negative size {size}")
        return None if size > limit else self.rfile.read(size)

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    # http.server dispatches on these names; every method goes to the function, as API Gateway's proxy does.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet access log: the emulator already logs every invocation."""


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, invoke_url: str) -> None:
        super().__init__(("127.0.0.1", port), _FrontHandler)
        self.invoke_url = invoke_url
        self.lock = threading.Lock()


@contextmanager
def serving_front(invoke_url: str, port: int = 0) -> Iterator[str]:
    """Serve the front on 127.0.0.1:port (0: a free port) in a thread; yields its base URL, stops on exit."""
    server = _FrontServer(port, invoke_url)
    thread = threading.Thread(target=server.serve_forever, name="local-front", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
