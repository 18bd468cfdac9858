"""The prediction service: the served model, loaded once per container, and `predict`.

Every entry point calls it: the HTTP routes (handler/routes.py), direct invokes (handler/direct.py) and
Distributed Map batches (handler/batch.py). The metrics, the trace subsegments and the "predicted" log line
belong to a prediction, not to the way it was asked for, so they are written here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from aws_lambda_powertools.metrics import MetricUnit

from handler.errors import ArtifactError, ExplanationBudgetError, WindowBudgetError
from handler.explain import Explainer, Plan
from handler.inference import Classifier, Prediction
from handler.models import CreditOut, PredictionOut, PredictRequest, PredictResponse
from handler.observability import logger, metrics, tracer
from handler.settings import get_settings
from handler.windows import Windows


@cache
def get_classifier() -> Classifier:
    """The model of MODEL_DIR, loaded once per container (handler/app.py calls this at init).

    Raises:
        ArtifactError: MODEL_DIR is not a complete, valid artifact, or SENTIMENT_MAX_REQUEST_WINDOWS is
            below its max_windows (the budget would refuse a single long text, which is always read).
    """
    settings = get_settings()
    classifier = Classifier.from_dir(settings.model_dir, threads=settings.ort_threads)
    if settings.max_request_windows < classifier.max_windows:
        raise ArtifactError(
            f"SENTIMENT_MAX_REQUEST_WINDOWS ({settings.max_request_windows}) is below the model's "
            f"max_windows ({classifier.max_windows}): a single long text would be refused"
        )
    return classifier


def predict(request: PredictRequest) -> PredictResponse:
    """Classify the request's texts: the one code path behind POST /predict and direct invokes.

    Raises:
        WindowBudgetError: the texts need more windows than SENTIMENT_MAX_REQUEST_WINDOWS (413).
        ExplanationBudgetError: with `explain`, the texts and their explanations do (413).
    """
    classifier = get_classifier()
    started = time.perf_counter()
    with tracer.provider.in_subsegment("## tokenize"):
        windows = classifier.encode(request.items)
    # Python ints, not numpy reductions: three of those cost 60 us of a warm request (bench/README.md).
    counts = windows.counts.tolist()
    window_count, budget = sum(counts), get_settings().max_request_windows
    plans = explanation_plans(classifier, request.items, windows, counts, budget) if request.explain else None
    if window_count > budget:  # a request's time is its windows' time (bench/speed.py's cost model)
        raise WindowBudgetError(window_count, budget, max(counts))
    with tracer.provider.in_subsegment("## inference"):
        predictions = classifier.predict(windows)
    if plans is not None:
        with tracer.provider.in_subsegment("## explain"):
            predictions = explained(Explainer(classifier), request.items, plans, predictions)
    latency_ms = (time.perf_counter() - started) * 1000
    truncated = sum(p.truncated for p in predictions)
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
    return respond(predictions, classifier.model_id, all_scores=request.all_scores)


def explanation_plans(
    classifier: Classifier, texts: Sequence[str], windows: Windows, counts: list[int], budget: int
) -> list[Plan]:
    """The explanations' plans, checked against the window budget before the model runs.

    Raises:
        ExplanationBudgetError: the texts' windows and their explanations' pass `budget`.
    """
    plans = Explainer(classifier).plans(texts, windows)
    costs = [plan.windows(classifier.manifest.max_length) for plan in plans]
    if sum(counts) + sum(costs) > budget:
        costliest = max(count + cost for count, cost in zip(counts, costs, strict=True))
        raise ExplanationBudgetError(sum(counts) + sum(costs), sum(costs), budget, costliest)
    metrics.add_metric(name="ExplanationWindows", unit=MetricUnit.Count, value=sum(costs))
    return plans


def within_budget(classifier: Classifier, windows: Windows, plans: Sequence[Plan]) -> bool:
    """True when texts of these windows and their explanations fit SENTIMENT_MAX_REQUEST_WINDOWS (what
    `explanation_plans` checks, for the OpenAPI examples, which are scored without a request)."""
    costs = sum(plan.windows(classifier.manifest.max_length) for plan in plans)
    return int(windows.counts.sum()) + costs <= get_settings().max_request_windows


def explained(
    explainer: Explainer, texts: Sequence[str], plans: Sequence[Plan], predictions: Sequence[Prediction]
) -> list[Prediction]:
    """The predictions with their explanations (each text's own runs: handler/explain.py)."""
    return [
        dataclasses.replace(prediction, explanation=explainer.explain(text, plan, prediction))
        for text, plan, prediction in zip(texts, plans, predictions, strict=True)
    ]


def respond(predictions: Sequence[Prediction], model_id: str, *, all_scores: bool) -> PredictResponse:
    """The API's answer to a request's predictions; also how the OpenAPI examples show the served model's
    answers (handler/docs.py), so they have the shape `predict` sends."""
    return PredictResponse(
        predictions=[
            PredictionOut(
                label=p.label,
                score=p.score,
                windows=p.windows,
                truncated=p.truncated,
                scores=p.scores if all_scores else None,
                labels=list(p.labels) if p.labels is not None else None,
                explanation=[CreditOut(**credit.fields()) for credit in p.explanation]
                if p.explanation is not None
                else None,
            )
            for p in predictions
        ],
        model=model_id,
    )


@cache
def model_card(model_dir: Path) -> str | None:
    """README.md of the artifact, read once; None for an artifact written before the build wrote cards."""
    path = model_dir / "README.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
