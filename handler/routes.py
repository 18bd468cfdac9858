"""The API's routes on one Router, shared by the REST (v1) and HTTP API (v2) resolvers, and the predict
service that direct invokes call too."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.router import Router
from aws_lambda_powertools.metrics import MetricUnit

from handler.inference import Classifier
from handler.models import ErrorResponse, HealthResponse, PredictionOut, PredictRequest, PredictResponse
from handler.observability import logger, metrics, tracer
from handler.settings import get_settings

# Shared by two resolvers: routes read only their validated arguments, never router.current_event (which
# follows whichever resolver included the router last).
router = Router()


@cache
def get_classifier() -> Classifier:
    """The model of MODEL_DIR, loaded once per container (app.py calls this at init)."""
    settings = get_settings()
    return Classifier.from_dir(settings.model_dir, threads=settings.ort_threads)


def predict(request: PredictRequest) -> PredictResponse:
    """Classify the request's texts; the one code path behind POST /predict and direct invokes."""
    classifier = get_classifier()
    started = time.perf_counter()
    with tracer.provider.in_subsegment("## tokenize"):
        windows = classifier.encode(request.items)
    with tracer.provider.in_subsegment("## inference"):
        predictions = classifier.predict(windows)
    latency_ms = (time.perf_counter() - started) * 1000
    window_count = int(windows.counts.sum())
    truncated = int(windows.truncated.sum())
    metrics.add_metric(name="ModelLatency", unit=MetricUnit.Milliseconds, value=latency_ms)
    metrics.add_metric(name="TextsPerRequest", unit=MetricUnit.Count, value=len(predictions))
    metrics.add_metric(name="Windows", unit=MetricUnit.Count, value=window_count)
    metrics.add_metric(name="TruncatedTexts", unit=MetricUnit.Count, value=truncated)
    # Counts and timings only: review text is never logged. DEBUG, because a JSON log line costs about as
    # much as the rest of the handler; POWERTOOLS_LOGGER_SAMPLE_RATE turns it on for a share of requests.
    logger.debug(
        "predicted",
        extra={"texts": len(predictions), "windows": window_count, "truncated": truncated, "ms": latency_ms},
    )
    return PredictResponse(
        predictions=[
            PredictionOut(
                label=p.label,
                score=p.score,
                windows=p.windows,
                truncated=p.truncated,
                scores=p.scores if request.all_scores else None,
                labels=list(p.labels) if p.labels is not None else None,
            )
            for p in predictions
        ],
        model=classifier.model_id,
    )


def _error(description: str) -> dict[str, Any]:
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
        413: _error(f"Body over {get_settings().max_body_bytes} bytes"),
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
    return get_classifier().manifest


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


@cache
def model_card(model_dir: Path) -> str | None:
    """README.md of the artifact, read once; None for an artifact written before the build wrote cards."""
    path = model_dir / "README.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
