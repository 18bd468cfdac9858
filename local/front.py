"""A small stand-in for API Gateway: each HTTP request becomes a REST (v1) proxy event for the emulator,
and the function's proxy answer becomes the HTTP response, so `curl 127.0.0.1:3000/predict` behaves like
the deployed stage URL.

It answers what API Gateway answers itself, always in JSON: a body over 10 MB (413), an event over
Lambda's 6 MB invoke limit (500, the function never runs), no answer within 29 s (504), a function that
fails (502), and malformed HTTP (400: two Content-Length headers, a length that is not a number, a
header name with a space, a request line it cannot read). Every method is passed to the function, which
answers 405 for a method a route does not take. A client that stalls is cut off after SOCKET_TIMEOUT_S
(408) instead of holding a thread.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.emulator import invoke

API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway refuses larger payloads before the function runs
LAMBDA_MAX_EVENT = 6 * 1024 * 1024  # Lambda refuses a synchronous invoke this large (RequestEntityTooLarge)
API_GATEWAY_TIMEOUT_S = 29  # API Gateway's integration timeout: it answers 504 and stops waiting
_LAMBDA_MAX_TIMEOUT_S = 900  # the emulator ends a function at its own timeout, at most Lambda's 15 min
SOCKET_TIMEOUT_S = 10  # a client silent this long mid-request is cut off (408), an idle one closed
JSON = {"Content-Type": "application/json"}
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP method is a token (RFC 9110)
_DIGITS = re.compile(r"[0-9]+")  # int() would also take "+5", " 5" and "1_0"
_HEX = re.compile(rb"[0-9A-Fa-f]+")


class FramingError(ValueError):
    """The request's framing cannot be trusted (RFC 9112): refused with a 400, the connection closed."""


_PHRASES = {413: "Request Too Long", 500: "Internal server error", 502: "Internal server error"}
# http.server refuses an HTTP version it does not speak with a 505 and an unknown method with a 501; API
# Gateway's front door answers a request it cannot read with a 400.
_REFUSALS = {501: 400, 505: 400}


def _message(status: int, text: str | None = None) -> bytes:
    """API Gateway's own answer: `{"message": ...}` (never the request's text)."""
    return json.dumps({"message": text or _PHRASES.get(status) or HTTPStatus(status).phrase}).encode()


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

    @property
    def timeout(self) -> float:  # type: ignore[override]
        """StreamRequestHandler sets it on the socket: no read waits forever for a stalled client."""
        return self.server.socket_timeout

    def __getattr__(self, name: str) -> Any:
        # http.server dispatches on do_<METHOD> and answers an unknown one with an HTML 501; every method
        # goes to the function instead, as API Gateway's proxy does, and the function answers 405 or 404.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def _handle(self) -> None:
        names = (self.command, *self.headers.keys())
        if self.headers.defects or not all(_TOKEN.fullmatch(name) for name in names):
            # A method or header name that is not a token, or a header line the parser dropped (a space
            # before the colon: RFC 9112 5.1 says refuse it).
            return self.send_error(400)
        try:
            body = self._read_body()
        except FramingError:
            return self.send_error(400)
        except TimeoutError:
            return self.send_error(408)
        if body is None:
            return self.send_error(413)
        headers = list(self.headers.items())
        event = to_rest_event(self.command, self.path, headers, body, self.client_address[0])
        if len(json.dumps(event)) >= LAMBDA_MAX_EVENT:
            # Lambda refuses the invoke before the function runs; API Gateway answers its own 5xx.
            return self._send(500, JSON, _message(500))
        try:
            answer = self._invoke(event)
        except TimeoutError:
            return self._send(504, JSON, _message(504, "Endpoint request timed out"))
        if not isinstance(answer, dict) or not isinstance(answer.get("statusCode"), int):
            # What API Gateway answers when the function fails or returns a non-proxy result.
            return self._send(502, JSON, _message(502))
        reply = {k: ", ".join(v) for k, v in (answer.get("multiValueHeaders") or {}).items()}
        reply |= answer.get("headers") or {}
        payload = answer.get("body") or ""
        data = base64.b64decode(payload) if answer.get("isBase64Encoded") else payload.encode()
        self._send(answer["statusCode"], reply, data)

    def _invoke(self, event: dict[str, Any]) -> Any:
        """The function's answer (None when the invoke failed), one invoke at a time, like one Lambda
        execution environment (RIE serves one invoke at a time).

        Raises:
            TimeoutError: no answer within the integration timeout. The invoke goes on in its thread and
                holds the emulator until the function ends (at the latest at its own timeout), as on AWS
                the function runs on after API Gateway's 504.
        """
        answered: list[Any] = []

        def run() -> None:
            try:
                answered.append(invoke(self.server.invoke_url, event, timeout=_LAMBDA_MAX_TIMEOUT_S))
            except (OSError, ValueError):
                answered.append(None)
            finally:
                self.server.lock.release()

        # Waiting for the previous invoke to end does not count against this request's timeout: on AWS
        # another execution environment would take it.
        self.server.lock.acquire()
        thread = threading.Thread(target=run, name="local-front-invoke", daemon=True)
        thread.start()
        thread.join(self.server.integration_timeout)
        if not answered:
            raise TimeoutError(f"no answer within {self.server.integration_timeout} s")
        return answered[0]

    def _read_body(self) -> bytes | None:
        """The body, sized by Content-Length or sent chunked (API Gateway takes both); None when it is over
        API Gateway's limit.

        Raises:
            FramingError: two Content-Length headers, both a length and chunked, a length or chunk size
                that is not a number, or a transfer coding other than chunked.
            TimeoutError: the client stopped sending for SOCKET_TIMEOUT_S.
        """
        lengths = self.headers.get_all("Content-Length") or []
        codings = [
            c.strip().lower() for v in self.headers.get_all("Transfer-Encoding") or [] for c in v.split(",")
        ]
        if len(lengths) > 1 or (lengths and codings) or codings not in ([], ["chunked"]):
            raise FramingError("ambiguous or unsupported body framing")
        if not codings:
            return self._read(_number(lengths[0] if lengths else "0", _DIGITS, 10), API_GATEWAY_MAX_BODY)
        body = bytearray()
        while size := _number(self.rfile.readline(1024).split(b";")[0].strip(), _HEX, 16):  # 0 ends the body
            chunk = self._read(size, limit=API_GATEWAY_MAX_BODY - len(body))
            if chunk is None:
                return None
            body += chunk
            self.rfile.readline(1024)  # the CRLF closing the chunk
        while self.rfile.readline(1024).strip():  # trailer fields, up to the empty line
            pass
        return bytes(body)

    def _read(self, size: int, limit: int) -> bytes | None:
        """`size` bytes of the body, or None past `limit`."""
        if size > limit:
            return None
        data = self.rfile.read(size)
        if len(data) < size:  # the client closed the connection mid-body
            raise FramingError(f"body ended after {len(data)} of {size} bytes")
        return data

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals too (a request line or header it cannot read, HTTP/2.0), as API
        Gateway answers them: a JSON message without the request's text, and the connection closed."""
        code = _REFUSALS.get(code, code)
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unreadable request line: still answer with a status line
            self.request_version = "HTTP/1.1"
        self._send(code, JSON, _message(code))

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet access log: the emulator already logs every invocation."""


def _number(text: str | bytes, pattern: re.Pattern, base: int) -> int:
    if not pattern.fullmatch(text):
        raise FramingError(f"{text!r} is not a length")
    return int(text, base)


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, invoke_url: str, integration_timeout: float, socket_timeout: float) -> None:
        super().__init__(("127.0.0.1", port), _FrontHandler)
        self.invoke_url = invoke_url
        self.integration_timeout = integration_timeout
        self.socket_timeout = socket_timeout
        self.lock = threading.Lock()


@contextmanager
def serving_front(
    invoke_url: str,
    port: int = 0,
    *,
    integration_timeout: float = API_GATEWAY_TIMEOUT_S,
    socket_timeout: float = SOCKET_TIMEOUT_S,
) -> Iterator[str]:
    """Serve the front on 127.0.0.1:port (0: a free port) in a thread; yields its base URL, stops on exit.

    The timeouts default to API Gateway's; tests shorten them rather than wait 29 s.
    """
    server = _FrontServer(port, invoke_url, integration_timeout, socket_timeout)
    thread = threading.Thread(target=server.serve_forever, name="local-front", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
