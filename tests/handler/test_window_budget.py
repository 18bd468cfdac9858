"""A request's windows are capped (SENTIMENT_MAX_REQUEST_WINDOWS): its time is its windows' time, so the
worst request within the limits is bounded whatever its texts. At the cap it answers; one window over it
gets a 413 that names both numbers, over HTTP (both API flavours) and as a direct invoke."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from handler.settings import Settings, get_settings
from tests.handler.conftest import answer

SHORT = "Lovely kettle, boils fast."


def _windows(app, text: str) -> int:
    return int(app.get_classifier().encode([text]).counts[0])


def _texts_needing(app, windows: int) -> list[str]:
    """Texts that need `windows` windows in all: texts of the most windows a text reads, then short ones."""
    full = " ".join(["the jar is sturdy and the motor is strong"] * 200)
    per_text = app.get_classifier().max_windows
    assert _windows(app, full) == per_text
    assert _windows(app, SHORT) == 1
    texts = [full] * (windows // per_text) + [SHORT] * (windows % per_text)
    assert len(texts) <= get_settings().max_texts  # the budget, not the text count, is what is tested
    return texts


def test_a_request_at_the_window_budget_answers(app, make_event, context):
    budget = get_settings().max_request_windows
    body = json.dumps({"texts": _texts_needing(app, budget)})
    status, _, answered = answer(app, make_event("POST", "/predict", body), context)
    assert status == 200
    assert sum(p["windows"] for p in answered["predictions"]) == budget


def test_one_window_over_the_budget_is_413_naming_both(app, make_event, context):
    budget = get_settings().max_request_windows
    body = json.dumps({"texts": _texts_needing(app, budget + 1)})
    status, _, error = answer(app, make_event("POST", "/predict", body), context)
    assert status == 413
    assert error["statusCode"] == 413
    assert f"need {budget + 1} token windows" in error["message"]
    assert f"at most {budget}" in error["message"]


def test_direct_invoke_over_the_budget_is_a_413_body(app, context):
    budget = get_settings().max_request_windows
    assert app.lambda_handler({"texts": _texts_needing(app, budget)}, context)["predictions"]
    error = app.lambda_handler({"texts": _texts_needing(app, budget + 1)}, context)
    assert error["statusCode"] == 413
    assert f"at most {budget}" in error["message"]


def test_the_longest_single_text_always_fits(app, context):
    # One text reads at most max_windows windows; the budget must never refuse it.
    text = ("wonderful " * get_settings().max_text_chars)[: get_settings().max_text_chars]
    (prediction,) = app.lambda_handler({"text": text}, context)["predictions"]
    assert prediction["windows"] == app.get_classifier().max_windows <= get_settings().max_request_windows


def test_openapi_documents_the_budget(app, make_event, context):
    _, _, spec = answer(app, make_event("GET", "/openapi.json"), context)
    budget = str(get_settings().max_request_windows)
    assert budget in spec["paths"]["/predict"]["post"]["responses"]["413"]["description"]
    assert budget in spec["components"]["schemas"]["PredictRequest"]["properties"]["texts"]["description"]


def test_a_budget_below_the_text_count_fails_at_init():
    with pytest.raises(ValidationError, match="max_request_windows \\(31\\) is below max_texts \\(32\\)"):
        Settings(max_request_windows=31)
    assert Settings(max_request_windows=32).max_request_windows == 32


def test_a_budget_below_the_models_max_windows_fails_at_init(tiny_artifact, monkeypatch):
    """One text is always read up to max_windows, so a budget below it (with few texts) fails the init."""
    from handler import service
    from handler.errors import ArtifactError

    monkeypatch.setenv("MODEL_DIR", str(tiny_artifact))
    monkeypatch.setenv("SENTIMENT_MAX_TEXTS", "1")
    monkeypatch.setenv("SENTIMENT_MAX_REQUEST_WINDOWS", "1")  # the tiny artifact reads 4 windows a text
    get_settings.cache_clear()
    service.get_classifier.cache_clear()
    try:
        with pytest.raises(ArtifactError, match=r"WINDOWS \(1\) is below the model's max_windows"):
            service.get_classifier()
    finally:  # leave the caches as the app fixture made them (the tiny artifact, default limits), so a
        # test run after this one, in any order, finds the model it expects rather than an empty cache
        monkeypatch.delenv("SENTIMENT_MAX_TEXTS")
        monkeypatch.delenv("SENTIMENT_MAX_REQUEST_WINDOWS")
        get_settings.cache_clear()
        service.get_classifier.cache_clear()
        service.get_classifier()
