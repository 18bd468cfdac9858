"""Lambda entry point: REST (v1) and HTTP API (v2) resolvers sharing one Router, plus direct invokes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import (
    APIGatewayHttpResolver,
    APIGatewayRestResolver,
    CORSConfig,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.types import EventHandlerInstance
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import batch, direct, error_mapping
from handler.envelopes import Entry, HttpEvent, RestEvent, checked
from handler.inference import Classifier
from handler.models import parse_json_body
from handler.observability import logger, metrics, tracer
from handler.routes import get_classifier, router
from handler.settings import get_settings


def _describe(classifier: Classifier) -> str:
    """The API's description, naming the served model's labels and how it answers (from the manifest)."""
    labels = " / ".join(classifier.labels)
    if classifier.multi_label:
        how = f"Multi-label: each label scored alone; `labels` lists those at or over {classifier.threshold}"
    else:
        how = "One label per review: `label` is the most probable, `score` its probability"
    return (
        f"Sentiment of product reviews by {classifier.model_id}, an int8 ONNX model. Labels: {labels}. {how}."
    )


# At init: the first request pays no load time, and a broken artifact fails the init.
OPENAPI = {"title": "Sentiment API", "version": "1.0.0", "description": _describe(get_classifier())}


def _cors() -> CORSConfig | None:
    """CORS headers on every answer when origins are configured: API Gateway only answers the preflights."""
    origins = get_settings().cors_origin_list
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:]) if origins else None


class JsonOnlyRequestValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with the body read as JSON or refused with a 415.

    Powertools picks the body parser by a case-sensitive prefix of Content-Type, so `APPLICATION/JSON` was
    refused, and it parses form and multipart bodies into lists of strings that then fail validation with a
    misleading message. The API takes JSON only, as its OpenAPI says: the media type is compared without
    case and parameters (`; charset=utf-8`), and a missing Content-Type still means JSON, as in Powertools.
    """

    def _get_body(self, app: EventHandlerInstance) -> Any:
        media_type = app.current_event.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type not in ("", "application/json"):
            raise RequestUnsupportedContentType("Unsupported content type", errors=[])
        return self._parse_json_data(app)


def _build(resolver: ApiGatewayResolver) -> ApiGatewayResolver:
    resolver._request_validation_middleware = JsonOnlyRequestValidation()  # Powertools' slot for it
    resolver.include_router(router)
    error_mapping.register(resolver)
    # Swagger UI with its JS and CSS inlined from the Powertools package (no swagger_base_url): works offline.
    resolver.enable_swagger(path="/swagger", **OPENAPI)

    @resolver.get("/openapi.json", include_in_schema=False)
    def openapi():  # no return annotation: validation would try to model Response
        # The stage prefix (/v1) as the server, as Powertools' own Swagger page computes it, so generated
        # clients call the stage URL.
        servers = [Server(url=resolver._get_base_path() or "/")]
        return Response(200, "application/json", resolver.get_openapi_json_schema(servers=servers, **OPENAPI))

    return resolver


rest = _build(
    APIGatewayRestResolver(cors=_cors(), enable_validation=True, json_body_deserializer=parse_json_body)
)
http = _build(
    APIGatewayHttpResolver(cors=_cors(), enable_validation=True, json_body_deserializer=parse_json_body)
)


_REST = checked(RestEvent, rest.resolve, "API Gateway REST event")
_HTTP = checked(HttpEvent, http.resolve, "API Gateway HTTP API event")


def _entry_for(event: Any) -> Entry:
    """Pick by event shape: API Gateway REST, HTTP API (v2, also function URLs), or a bare direct invoke.

    An API Gateway shape with a field missing or mistyped gets a JSON 400 from `checked`, never a KeyError.
    """
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        return batch.invoke if batch.is_batch(event) else direct.invoke
    if "httpMethod" in event:
        return _REST
    if event.get("version") == "2.0" and "http" in event["requestContext"]:
        return _HTTP
    return direct.invoke


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    return _entry_for(event)(event, context)
