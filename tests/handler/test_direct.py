"""Direct invokes (boto3, no HTTP envelope): plain JSON in and out, errors as bodies, never a stack trace."""

from __future__ import annotations

import json

import pytest

from tests.handler.conftest import answer


def test_direct_invoke_answers_as_the_http_api_does(app, make_event, context):
    """The same request over API Gateway and as a direct invoke: the same answer, bit for bit."""
    body = {"texts": ["love it", "hate it", " ".join(["the jar is sturdy and the motor is strong"] * 40)]}
    status, _, over_http = answer(app, make_event("POST", "/predict", json.dumps(body), b64=False), context)
    assert status == 200
    direct = app.lambda_handler(body, context)
    assert direct == over_http
    assert [p["windows"] for p in direct["predictions"]][:2] == [1, 1]
    assert direct["predictions"][2]["windows"] > 1


def test_direct_invoke_single_text_with_all_scores(app, context):
    (prediction,) = app.lambda_handler({"text": "love it", "all_scores": True}, context)["predictions"]
    scores = prediction["scores"]
    assert sum(scores.values()) == pytest.approx(1.0)
    assert prediction["label"] == max(scores, key=scores.get)
    alone = app.lambda_handler({"texts": ["love it"]}, context)["predictions"][0]
    assert (alone["label"], alone["score"]) == (prediction["label"], prediction["score"])


@pytest.mark.parametrize(
    "event",
    [{"texts": []}, {"texts": [""]}, {}, "just a string", None, [1, 2], {"text": "a", "all_scores": "yes"}],
)
def test_direct_invoke_bad_payload_is_422_body(app, context, event):
    result = app.lambda_handler(event, context)
    assert result["statusCode"] == 422
    assert result["message"].startswith("invalid request")


def test_direct_invoke_internal_error_is_500_body(app, context, monkeypatch):
    """The model call fails: injected, because no request reaches a real failure here. Every input the API
    accepts is answered (test_properties.py), and an artifact that is missing, corrupt or breaks the contract
    is refused when the function starts (test_imports.py), before any request."""

    def explode(_windows):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.get_classifier(), "predict", explode)
    result = app.lambda_handler({"texts": ["fine"]}, context)
    assert result == {"statusCode": 500, "message": "internal error", "requestId": context.aws_request_id}
