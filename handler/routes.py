"""The API's routes on one Router, shared by the REST (v1) and HTTP API (v2) resolvers.

Routes only route: each takes its validated input, calls the service (handler/service.py) and returns its
answer, and documents the errors it may send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import Router

from handler.models import ErrorResponse, HealthResponse, PredictRequest, PredictResponse
from handler.service import get_classifier, model_card, predict
from handler.settings import get_settings

# Shared by two resolvers: routes read only their validated arguments, never router.current_event (which
# follows whichever resolver included the router last).
router = Router()


def _error(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


# Powertools documents a 422 with its own HTTPValidationError body on every route, whatever the route takes:
# each route lists its answers instead, so every documented error has the body this API sends.
_INTERNAL_ERROR = _error("Internal error; quote the requestId")
_NO_INPUT = _error("Never sent: this route takes no input")


@router.post(
    "/predict",
    summary="Sentiment of one review or a batch",
    responses={
        200: {"description": "One prediction per text, in order"},
        413: _error(
            f"Body over {get_settings().max_body_bytes} bytes, or texts that need over "
            f"{get_settings().max_request_windows} token windows in all (each prediction's `windows`)"
        ),
        415: _error("Content-Type is not JSON"),
        422: _error("Invalid request: the message says what and the limit"),
        500: _INTERNAL_ERROR,
    },
)
def post_predict(request: PredictRequest) -> PredictResponse:
    return predict(request)


@router.get(
    "/health",
    summary="Liveness: the model is loaded",
    responses={200: {"description": "The model answers"}, 422: _NO_INPUT, 500: _INTERNAL_ERROR},
)
def get_health() -> HealthResponse:
    return HealthResponse(status="ok", model=get_classifier().model_id)


@router.get(
    "/model",
    summary="The served artifact's manifest: provenance, metrics, limits",
    responses={200: {"description": "manifest.json of the model"}, 422: _NO_INPUT, 500: _INTERNAL_ERROR},
)
def get_model() -> dict[str, Any]:
    return get_classifier().manifest.model_dump(mode="json")  # manifest.json as written


@router.get(
    "/model/card",
    summary="The served model's card (Markdown, Hugging Face format): use, labels, scores, limits",
    responses={
        200: {"description": "README.md of the model", "content": {"text/markdown": {}}},
        404: _error("This artifact has no model card (built before cards were written)"),
        422: _NO_INPUT,
        500: _INTERNAL_ERROR,
    },
)
def get_model_card():  # no return annotation: validation would try to model Response
    card = model_card(Path(get_settings().model_dir))
    if card is None:
        raise NotFoundError("this model has no card: rebuild it with make model")
    return Response(200, "text/markdown; charset=utf-8", card)
