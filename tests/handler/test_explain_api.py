"""`"explain": true` through every door of the function: both API flavours, direct invokes, Distributed Map
batches; the explanation's runs count against the window budget (413 naming the numbers), a bad value is a
422, and a request without it answers as before."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handler.explain import Explainer
from handler.settings import get_settings
from handler.words import split_words
from tests.handler.conftest import FakeContext, answer

TEXTS = ["Lovely kettle 😍, boils fast and the lid fits.", "Stopped working after two days. Do not buy!"]


def check_explained(texts: list[str], predictions: list[dict]) -> None:
    for text, prediction in zip(texts, predictions, strict=True):
        credits = prediction["explanation"]
        assert credits, prediction
        for credit in credits:
            assert set(credit) == {"text", "start", "end", "weight"}
            assert text[credit["start"] : credit["end"]] == credit["text"]
            assert -1 <= credit["weight"] <= 1


def test_explained_texts_over_http(app, make_event, context):
    body = json.dumps({"texts": TEXTS, "explain": True})
    status, _, answered = answer(app, make_event("POST", "/predict", body), context)
    assert status == 200
    check_explained(TEXTS, answered["predictions"])


def test_one_explained_text_and_a_direct_invoke_answer_alike(app, make_event, context):
    _, _, over_http = answer(
        app, make_event("POST", "/predict", json.dumps({"text": TEXTS[0], "explain": True})), context
    )
    direct = app.lambda_handler({"text": TEXTS[0], "explain": True}, context)
    assert over_http == direct
    check_explained(TEXTS[:1], direct["predictions"])


def test_without_explain_there_is_no_explanation(app, context):
    for body in ({"texts": TEXTS}, {"texts": TEXTS, "explain": False}):
        predictions = app.lambda_handler(body, context)["predictions"]
        assert all("explanation" not in prediction for prediction in predictions)


@pytest.mark.parametrize("value", ["yes", 1, None, "true", [True]])
def test_a_bad_explain_value_is_a_422_naming_it(app, make_event, context, value):
    status, _, error = answer(
        app, make_event("POST", "/predict", json.dumps({"text": TEXTS[0], "explain": value})), context
    )
    assert status == 422
    assert error["message"].startswith("invalid request: explain:")


def _over_budget(app) -> tuple[list[str], int, int]:
    """Texts whose windows fit the budget alone but not with their explanations; their numbers."""
    classifier = app.get_classifier()
    text = " ".join(["the jar is sturdy and the motor is strong"] * 4)  # within the tiny model's windows
    texts = [text] * 8
    windows = classifier.encode(texts)
    plans = Explainer(classifier).plans(texts, windows)
    explanations = sum(plan.windows(classifier.manifest.max_length) for plan in plans)
    total = int(windows.counts.sum()) + explanations
    assert int(windows.counts.sum()) <= get_settings().max_request_windows < total
    return texts, total, explanations


def test_explanations_past_the_window_budget_are_a_413_naming_the_numbers(app, make_event, context):
    texts, total, explanations = _over_budget(app)
    budget = get_settings().max_request_windows
    assert app.lambda_handler({"texts": texts}, context)["predictions"]  # plain, they fit
    status, _, error = answer(
        app, make_event("POST", "/predict", json.dumps({"texts": texts, "explain": True})), context
    )
    assert status == 413
    assert (
        f"needs {total} token windows in all ({explanations} of them for the explanations" in error["message"]
    )
    assert f"at most {budget}" in error["message"]
    direct = app.lambda_handler({"texts": texts, "explain": True}, context)
    assert (direct["statusCode"], direct["message"]) == (413, error["message"])


def test_openapi_documents_explain(app, make_event, context):
    _, _, spec = answer(app, make_event("GET", "/openapi.json"), context)
    schemas = spec["components"]["schemas"]
    assert schemas["PredictRequest"]["properties"]["explain"]["type"] == "boolean"
    assert "explanation" in schemas["PredictionOut"]["properties"]
    assert set(schemas["CreditOut"]["required"]) == {"text", "start", "end", "weight"}


@given(text=st.text(st.characters(codec=None), min_size=1, max_size=300))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_text_is_explained_or_refused_cleanly(app, text):
    answered = app.lambda_handler({"text": text, "explain": True}, FakeContext())
    if "statusCode" in answered:  # refused: blank (422) or too costly to explain (413), in one line
        assert answered["statusCode"] in (413, 422), answered
        return
    (prediction,) = answered["predictions"]
    credits = prediction["explanation"]
    assert all(text[c["start"] : c["end"]] == c["text"] for c in credits)
    assert [c["text"] for c in credits] == [w.text for w in split_words(text)][: len(credits)]
