"""The one place that turns errors into HTTP answers: readable 4xx, and 500s that carry only a request id."""

from __future__ import annotations

import binascii
from collections import Counter
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from handler.errors import TooLargeError
from handler.models import ErrorResponse
from handler.observability import logger

# Every error answer stays small, whatever the request: Lambda refuses an answer over 6 MB (a 502 on AWS), and
# a body with 300,000 unknown keys would otherwise list them all. Caller text (keys, paths, methods, headers)
# is cut to a length and never logged.
MAX_PROBLEMS = 10
MAX_ECHO_CHARS = 80
MAX_PROBLEM_CHARS = 300  # pydantic's messages and ours are shorter; a bound all the same


def echo(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """Caller text quoted in an answer, cut to `limit` characters."""
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def error_body(
    status: int,
    message: str,
    errors: list[dict[str, Any]] | None = None,
    request_id: str | None = None,
    error_count: int | None = None,
) -> dict[str, Any]:
    """The JSON body of every error, for HTTP and direct invokes alike."""
    body = ErrorResponse(
        statusCode=status, message=message, errors=errors, requestId=request_id, errorCount=error_count
    )
    return body.model_dump(exclude_none=True)


def _problem(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    location = ".".join(str(part) for part in (loc[1:] if loc[:1] == ("body",) else loc))
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return {"field": echo(location or "body"), "problem": echo(message, MAX_PROBLEM_CHARS)}


def validation_error(
    errors: Sequence[Mapping[str, Any]], status: int = 422, subject: str = "request"
) -> dict[str, Any]:
    """The bounded error body for pydantic's errors: a one-line message, the first MAX_PROBLEMS problems
    and their count, without echoing the input (it may be a whole review). Logs only the error types and
    their counts: field names are caller text too."""
    logger.info(
        f"invalid {subject}",
        extra={"problems": len(errors), "error_types": dict(Counter(str(e.get("type")) for e in errors))},
    )
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "not valid JSON")  # the decoder's, no input quoted
        message = f"the request body is not valid JSON: {reason}"
        return error_body(status, message, [{"field": "body", "problem": reason}])
    if first.get("type") == "missing" and tuple(first.get("loc", ())) in ((), ("body",)):
        hint = 'send {"text": "..."} or {"texts": ["...", ...]}'
        message = f"the request body is missing: {hint}"
        return error_body(status, message, [{"field": "body", "problem": "missing"}])
    problems = [_problem(error) for error in errors[:MAX_PROBLEMS]] or [_problem({"msg": "invalid"})]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = f"invalid {subject}: {problems[0]['field']}: {problems[0]['problem']}{more}"
    count = len(errors) if len(errors) > MAX_PROBLEMS else None
    return error_body(status, message, problems, error_count=count)


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON, body=body, headers=headers)


def allowed_methods(resolver: ApiGatewayResolver, path: str) -> list[str]:
    """Methods registered for a path. Powertools answers 404 for a known path with another method; its own
    route table is the single source of truth for the 405's Allow header."""
    routes = resolver._static_routes + resolver._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


def register(resolver: ApiGatewayResolver) -> None:
    """Attach the error handlers to a resolver (REST and HTTP API get the same ones)."""

    def request_id() -> str | None:
        context = resolver.lambda_context
        return getattr(context, "aws_request_id", None)

    @resolver.not_found
    def not_found(_: NotFoundError) -> Response:
        event = resolver.current_event
        allowed = allowed_methods(resolver, event.path)
        method, path = echo(event.http_method.upper()), echo(event.path)
        if allowed:
            message = f"method {method} is not allowed on {path}; use {', '.join(allowed)}"
            return _json(405, error_body(405, message), headers={"Allow": ", ".join(allowed)})
        return _json(404, error_body(404, f"no route {method} {path}; the API is described at /openapi.json"))

    @resolver.exception_handler(RequestValidationError)
    def invalid(error: RequestValidationError) -> Response:
        return _json(422, validation_error(error.errors()))

    @resolver.exception_handler(RequestUnsupportedContentType)
    def unsupported_type(_: RequestUnsupportedContentType) -> Response:
        content_type = echo(resolver.current_event.headers.get("content-type", ""))
        message = f"unsupported Content-Type {content_type!r}; send application/json"
        return _json(415, error_body(415, message))

    @resolver.exception_handler(UnicodeDecodeError)
    def not_text(_: UnicodeDecodeError) -> Response:
        # Raised by Powertools while decoding a base64 body that is not UTF-8 (binary uploads).
        message = "the request body is not UTF-8 text; send JSON"
        return _json(422, error_body(422, message, [{"field": "body", "problem": "not UTF-8"}]))

    @resolver.exception_handler(binascii.Error)
    def not_base64(_: binascii.Error) -> Response:
        # Raised by Powertools while decoding an isBase64Encoded body with bad padding: a crafted event.
        message = "the request body is marked base64 but is not valid base64"
        return _json(422, error_body(422, message, [{"field": "body", "problem": "not base64"}]))

    @resolver.exception_handler(TooLargeError)
    def too_large(error: TooLargeError) -> Response:
        # A body over the size limit, or texts needing more windows than a request runs.
        logger.info("request too large", extra={"unit": error.unit, "size": error.size, "limit": error.limit})
        return _json(413, error_body(413, str(error)))

    @resolver.exception_handler(Exception)
    def internal(_: Exception) -> Response:
        logger.exception("unhandled error")
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        return _json(status, error_body(status, "internal error", request_id=request_id()))
