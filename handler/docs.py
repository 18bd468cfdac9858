"""The API's documentation: GET /openapi.json and Swagger UI at GET /swagger, registered on first request.

Powertools' `enable_swagger` imports its OpenAPI models (`event_handler.openapi.models`: pydantic models of
the whole OpenAPI specification, rebuilt at import; Powertools issue #4372): about 40 ms of CPU in every
Lambda init (bench/README.md, lazy docs routes) for pages that few requests ask for. So a resolver gets
these routes on the first request for one of them, just before Powertools routes it; the schema itself
was always generated per request. A request for either path, whatever its method, registers them, so a
POST /swagger still gets the 405 with `Allow: GET`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.inference import Classifier
from handler.service import get_classifier

PATHS = frozenset({"/swagger", "/openapi.json"})
TITLE, VERSION = "Sentiment API", "1.0.0"


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


def register(resolver: ApiGatewayResolver) -> None:
    """Add GET /swagger and GET /openapi.json to a resolver (both out of the schema they serve)."""
    description = _describe(get_classifier())
    # Swagger UI with its JS and CSS inlined from the Powertools package (no swagger_base_url): works offline.
    resolver.enable_swagger(path="/swagger", title=TITLE, version=VERSION, description=description)
    from aws_lambda_powertools.event_handler.openapi.models import Server  # imported by enable_swagger

    @resolver.get("/openapi.json", include_in_schema=False)
    def openapi():  # no return annotation: validation would try to model Response
        # The stage prefix (/v1) as the server, as Powertools' own Swagger page computes it, so generated
        # clients call the stage URL.
        servers = [Server(url=resolver._get_base_path() or "/")]
        schema = resolver.get_openapi_json_schema(
            servers=servers, title=TITLE, version=VERSION, description=description
        )
        return Response(200, "application/json", schema)


def on_demand(
    resolver: ApiGatewayResolver, event_class: type[BaseProxyEvent]
) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    """`resolver.resolve`, registering the documentation routes on the first request for one of PATHS.

    Args:
        resolver: the resolver to answer with.
        event_class: Powertools' data class of its events, whose `path` is the one Powertools routes by.
    """
    lock = threading.Lock()
    registered = False

    def resolve(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        nonlocal registered
        if not registered and event_class(event).path.rstrip("/") in PATHS:
            with lock:
                if not registered:
                    register(resolver)
                    registered = True
        return resolver.resolve(event, context)

    return resolve
