"""The one place that turns errors into HTTP answers: readable 4xx, and 500s that carry only a request id."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from handler.errors import PayloadTooLargeError
from handler.models import ErrorResponse
from handler.observability import logger


def error_body(
    status: int, message: str, errors: list[dict[str, Any]] | None = None, request_id: str | None = None
) -> dict[str, Any]:
    """The JSON body of every error, for HTTP and direct invokes alike."""
    body = ErrorResponse(statusCode=status, message=message, errors=errors, requestId=request_id)
    return body.model_dump(exclude_none=True)


def describe_validation(errors: Iterable[Mapping[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """A one-line message and per-field problems, without echoing the input (it may be a whole review)."""
    problems = []
    for error in errors:
        loc = tuple(error.get("loc", ()))
        location = [str(part) for part in (loc[1:] if loc[:1] == ("body",) else loc)]
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "not valid JSON")  # the decoder's, no input quoted
            return f"the request body is not valid JSON: {reason}", [{"field": "body", "problem": reason}]
        if error.get("type") == "missing" and not location:
            hint = 'send {"text": "..."} or {"texts": ["...", ...]}'
            return f"the request body is missing: {hint}", [{"field": "body", "problem": "missing"}]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        problems.append({"field": ".".join(location) or "body", "problem": message})
    first = problems[0] if problems else {"field": "body", "problem": "invalid"}
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"invalid request: {first['field']}: {first['problem']}{more}", problems


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
        method, path = resolver.current_event.http_method.upper(), resolver.current_event.path
        allowed = allowed_methods(resolver, path)
        if allowed:
            message = f"method {method} is not allowed on {path}; use {', '.join(allowed)}"
            return _json(405, error_body(405, message), headers={"Allow": ", ".join(allowed)})
        return _json(404, error_body(404, f"no route {method} {path}; the API is described at /openapi.json"))

    @resolver.exception_handler(RequestValidationError)
    def invalid(error: RequestValidationError) -> Response:
        message, problems = describe_validation(error.errors())
        logger.info("invalid request", extra={"problems": [p["field"] for p in problems]})
        return _json(422, error_body(422, message, problems))

    @resolver.exception_handler(RequestUnsupportedContentType)
    def unsupported_type(_: RequestUnsupportedContentType) -> Response:
        content_type = resolver.current_event.headers.get("content-type", "")
        message = f"unsupported Content-Type {content_type!r}; send application/json"
        return _json(415, error_body(415, message))

    @resolver.exception_handler(UnicodeDecodeError)
    def not_text(_: UnicodeDecodeError) -> Response:
        # Raised by Powertools while decoding a base64 body that is not UTF-8 (binary uploads).
        message = "the request body is not UTF-8 text; send JSON"
        return _json(422, error_body(422, message, [{"field": "body", "problem": "not UTF-8"}]))

    @resolver.exception_handler(PayloadTooLargeError)
    def too_large(error: PayloadTooLargeError) -> Response:
        logger.info("body too large", extra={"bytes": error.size, "limit": error.limit})
        return _json(413, error_body(413, str(error)))

    @resolver.exception_handler(Exception)
    def internal(_: Exception) -> Response:
        logger.exception("unhandled error")
        status = HTTPStatus.INTERNAL_SERVER_ERROR
        return _json(status, error_body(status, "internal error", request_id=request_id()))
