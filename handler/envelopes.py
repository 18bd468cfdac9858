"""The API Gateway event fields the resolvers read, checked before resolving.

A direct invoke can be shaped like an API Gateway event and still miss a field (a `requestContext` and an
`httpMethod` but no `path`; a v2 event without `http.method`): Powertools would raise a KeyError deep inside
the resolver, a Lambda function error with a stack trace. Checked here, such an event gets a JSON 400 that
names the field. API Gateway itself always sends these fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from handler.error_mapping import validation_error

Entry = Callable[[Any, LambdaContext], dict[str, Any]]


class _Fields(BaseModel):
    # Every other field passes through unchecked; strict, so a number is not taken for a header value.
    model_config = ConfigDict(extra="allow", strict=True)


class _Envelope(_Fields):
    headers: dict[str, str] | None = None
    queryStringParameters: dict[str, str] | None = None  # noqa: N815 - API Gateway's key
    body: str | None = None
    isBase64Encoded: bool | None = None  # noqa: N815


class _RestContext(_Fields):
    stage: str
    path: str


class RestEvent(_Envelope):
    """API Gateway REST (v1) proxy event."""

    httpMethod: str  # noqa: N815
    path: str
    requestContext: _RestContext  # noqa: N815
    multiValueHeaders: dict[str, list[str]] | None = None  # noqa: N815
    multiValueQueryStringParameters: dict[str, list[str]] | None = None  # noqa: N815


class _Http(_Fields):
    method: str
    path: str


class _HttpContext(_Fields):
    stage: str
    http: _Http


class HttpEvent(_Envelope):
    """API Gateway HTTP API (v2) event, also what function URLs send."""

    version: Literal["2.0"]
    rawPath: str  # noqa: N815
    requestContext: _HttpContext  # noqa: N815
    cookies: list[str] | None = None


def checked(envelope: type[_Envelope], entry: Entry, name: str) -> Entry:
    """`entry` for events whose envelope is complete; a bounded 400 body naming the problem otherwise."""

    def resolve(event: Any, context: LambdaContext) -> dict[str, Any]:
        try:
            envelope.model_validate(event)
        except ValidationError as error:
            return validation_error(error.errors(include_input=False), status=400, subject=name)
        return entry(event, context)

    return resolve
