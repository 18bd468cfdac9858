"""The request body policy of both resolvers: JSON only, size-checked before it is parsed.

- The media type is compared without case and parameters (`APPLICATION/JSON; charset=utf-8` is JSON); a
  missing Content-Type still means JSON, as in Powertools. Anything else is a 415: Powertools would parse
  form and multipart bodies into lists of strings that then fail validation with a misleading message.
- A body over SENTIMENT_MAX_BODY_BYTES is a 413 before any parsing work.
- JSON that Python cannot read (nesting too deep, a number past Python's digit limit) is the client's
  malformed body (422), not a server fault.

This is the one module of the handler that touches Powertools' private API for the body: the resolver's
`_request_validation_middleware` slot, and the middleware's `_get_body` and `_parse_json_data`. Powertools
offers no public hook for the body parser by content type. POWERTOOLS_CHECKED names the release these were
read against; tests/handler/test_body.py fails on any other, so an upgrade re-reads them first.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.event_handler.types import EventHandlerInstance

from handler.errors import PayloadTooLargeError
from handler.settings import get_settings

POWERTOOLS_CHECKED = "3.37.0"

Resolver = TypeVar("Resolver", bound=ApiGatewayResolver)


def parse_json_body(body: str) -> Any:
    """Powertools' JSON body parser (its `json_body_deserializer`), with the size limit checked first.

    Raises:
        PayloadTooLargeError: the body is over the size limit (413).
        json.JSONDecodeError: the body is not JSON this API can read (422).
    """
    size = len(body.encode())
    limit = get_settings().max_body_bytes
    if size > limit:
        raise PayloadTooLargeError(size, limit)
    try:
        return json.loads(body)
    except RecursionError as error:  # deeply nested arrays: malformed for this API, not a server fault
        raise json.JSONDecodeError("nesting too deep", body, 0) from error
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # int() refuses a number past Python's digit limit: the client's fault too
        raise json.JSONDecodeError(
            f"a number has over {sys.get_int_max_str_digits()} digits", body, 0
        ) from error


class JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with the body read as JSON or refused with a 415.

    Powertools picks the body parser by a case-sensitive prefix of Content-Type; here the media type is
    compared without case and parameters.
    """

    def _get_body(self, app: EventHandlerInstance) -> Any:
        media_type = app.current_event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in ("", "application/json"):
            raise RequestUnsupportedContentType("Unsupported content type", errors=[])
        return self._parse_json_data(app)


def json_resolver(resolver_class: type[Resolver], **options: Any) -> Resolver:
    """A validating resolver of `resolver_class` (REST or HTTP API) that reads bodies by this policy.

    Args:
        resolver_class: the Powertools resolver to build.
        options: its other constructor arguments (CORS).
    """
    resolver = resolver_class(enable_validation=True, json_body_deserializer=parse_json_body, **options)
    # Powertools creates its own middleware in this slot on the first request unless one is there.
    resolver._request_validation_middleware = JsonOnlyRequestValidation()
    return resolver
