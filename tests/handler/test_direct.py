"""Direct invokes (boto3, no HTTP envelope): plain JSON in and out, errors as bodies, never a stack trace."""

from __future__ import annotations

import pytest


def test_direct_invoke_returns_predictions(app, context):
    result = app.lambda_handler({"texts": ["love it", "hate it"]}, context)
    assert [p["windows"] for p in result["predictions"]] == [1, 1]
    assert result["model"] == app.get_classifier().model_id


def test_direct_invoke_single_text_with_all_scores(app, context):
    (prediction,) = app.lambda_handler({"text": "love it", "all_scores": True}, context)["predictions"]
    assert max(prediction["scores"].values()) == pytest.approx(prediction["score"])


@pytest.mark.parametrize(
    "event",
    [{"texts": []}, {"texts": [""]}, {}, "just a string", None, [1, 2], {"text": "a", "all_scores": "yes"}],
)
def test_direct_invoke_bad_payload_is_422_body(app, context, event):
    result = app.lambda_handler(event, context)
    assert result["statusCode"] == 422
    assert result["message"].startswith("invalid request")


def test_direct_invoke_internal_error_is_500_body(app, context, monkeypatch):
    def explode(_windows):
        raise RuntimeError("boom")

    monkeypatch.setattr(app.get_classifier(), "predict", explode)
    result = app.lambda_handler({"texts": ["fine"]}, context)
    assert result == {"statusCode": 500, "message": "internal error", "requestId": context.aws_request_id}
