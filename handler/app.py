"""Lambda entry point: REST (v1) and HTTP API (v2) resolvers sharing one Router, plus direct invokes."""

from __future__ import annotations

# ruff: noqa: E402 - the cyclic garbage collector is paused before the imports, for the whole init
import gc

# Init makes about 90,000 objects the collector tracks, and leaves about 700 in cycles: the collector's
# passes over them were about 40 ms of init CPU (bench/README.md). Re-enabled, init's objects frozen, below.
gc.disable()

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver, CORSConfig
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent, APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import batch, direct, docs, error_mapping
from handler.body import json_resolver
from handler.envelopes import HttpEvent, RestEvent, checked
from handler.observability import capture_lambda_handler, logger, metrics
from handler.routes import router
from handler.service import get_classifier
from handler.settings import get_settings

# At init: the first request pays no load time, and a broken artifact fails the init.
get_classifier()


def _cors() -> CORSConfig | None:
    """CORS headers on every answer when origins are configured: API Gateway only answers the preflights."""
    origins = get_settings().cors_origin_list
    return CORSConfig(allow_origin=origins[0], extra_origins=origins[1:]) if origins else None


def _build(resolver: ApiGatewayResolver) -> ApiGatewayResolver:
    resolver.include_router(router)
    error_mapping.register(resolver)
    return resolver


rest = _build(json_resolver(APIGatewayRestResolver, cors=_cors()))
http = _build(json_resolver(APIGatewayHttpResolver, cors=_cors()))


# /openapi.json and /swagger join each resolver on their first request (handler/docs.py).
_REST = checked(RestEvent, docs.on_demand(rest, APIGatewayProxyEvent), "API Gateway REST event")
_HTTP = checked(HttpEvent, docs.on_demand(http, APIGatewayProxyEventV2), "API Gateway HTTP API event")


# A Distributed Map batch is answered with a list, one row per item (handler/batch.py); the rest with a dict.
Answer = dict[str, Any] | list[dict[str, Any]]


def _entry_for(event: Any) -> Callable[[Any, LambdaContext], Answer]:
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
@capture_lambda_handler
def lambda_handler(event: Any, context: LambdaContext) -> Answer:
    return _entry_for(event)(event, context)


# Init's objects live as long as the container: frozen, no collection scans them again.
gc.freeze()
gc.enable()
