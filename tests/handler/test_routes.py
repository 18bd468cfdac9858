"""lambda_handler in process with SAM-generated REST v1 and HTTP API v2 events (base64 bodies, as SAM
generates them)."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from handler.settings import Settings, get_settings
from tests.handler.conftest import answer

REVIEW = "Great blender, crushes ice in seconds."


def test_predict_one_text(app, make_event, context):
    status, headers, body = answer(app, make_event("POST", "/predict", json.dumps({"text": REVIEW})), context)
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    (prediction,) = body["predictions"]
    assert prediction["label"] in {"NEGATIVE", "POSITIVE"}
    assert 0.5 <= prediction["score"] <= 1.0
    assert prediction["windows"] == 1
    assert prediction["truncated"] is False
    assert "scores" not in prediction
    assert body["model"] == app.get_classifier().model_id


def test_predict_batch_keeps_order_and_matches_inference(app, make_event, context):
    texts = ["Terrible, broke in a day.", REVIEW, "ok I guess"]
    event = make_event("POST", "/predict", json.dumps({"texts": texts, "all_scores": True}), b64=False)
    status, _, body = answer(app, event, context)
    assert status == 200
    expected = app.get_classifier().classify(texts)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert got["label"] == want.label
        assert got["score"] == want.score  # bit-equal: a text's answer does not depend on its batch
        assert set(got["scores"]) == {"NEGATIVE", "POSITIVE"}
        assert sum(got["scores"].values()) == pytest.approx(1.0)


def test_long_text_reports_windows_and_truncation(app, make_event, context):
    classifier = app.get_classifier()
    long_text = " ".join(["the motor is strong and the jar is sturdy"] * 200)
    event = make_event("POST", "/predict", json.dumps({"texts": [long_text, REVIEW]}))
    status, _, body = answer(app, event, context)
    assert status == 200
    first, second = body["predictions"]
    assert first["windows"] == classifier.max_windows
    assert first["truncated"] is True
    assert second["windows"] == 1


def test_health_and_model(app, make_event, context, tiny_artifact):
    status, _, health = answer(app, make_event("GET", "/health"), context)
    assert status == 200
    assert health == {"status": "ok", "model": app.get_classifier().model_id}
    status, _, manifest = answer(app, make_event("GET", "/model"), context)
    assert status == 200
    assert manifest == json.loads((tiny_artifact / "manifest.json").read_text())  # as written


def test_openapi_documents_routes_and_limits(app, make_event, context):
    status, _, spec = answer(app, make_event("GET", "/openapi.json"), context)
    assert status == 200
    assert {"/predict", "/health", "/model"} <= set(spec["paths"])
    request_schema = spec["components"]["schemas"]["PredictRequest"]["properties"]
    assert request_schema["texts"]["maxItems"] == 32
    assert "422" in spec["paths"]["/predict"]["post"]["responses"]
    assert (
        str(get_settings().max_body_bytes)
        in spec["paths"]["/predict"]["post"]["responses"]["413"]["description"]
    )
    # SAM's REST event comes through stage "prod" with the stage in the path: clients must call /prod.
    assert spec["servers"] == [{"url": "/prod" if make_event.flavour == "rest_v1" else "/"}]


def test_openapi_errors_have_the_body_the_api_sends(app, make_event, context):
    _, _, spec = answer(app, make_event("GET", "/openapi.json"), context)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if not code.startswith("2")}
            assert "500" in errors, (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, code)


def test_swagger_page_needs_no_network(app, make_event, context):
    status, headers, page = answer(app, make_event("GET", "/swagger"), context)
    assert status == 200
    assert headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page
    # Assets are inlined: no <script src> or stylesheet link to a CDN.
    assert not re.search(r"<(script|link)[^>]+(src|href)=['\"]https?://", page)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"text": ""}, "at least 1 character"),
        ({"text": " \n\t "}, "text: text has nothing to read: only whitespace or invisible characters"),
        ({"texts": ["fine", "\u200b\ufeff\x00"]}, "texts.1: text has nothing to read"),
        ({"text": None}, "text: null is not allowed"),
        ({"texts": None, "text": "fine"}, "texts: null is not allowed"),
        ({"text": 5}, "valid string"),
        ({"texts": "not a list"}, "valid list"),
        ({"texts": []}, "at least 1 item"),
        ({"texts": ["a"] * 33}, "at most 32 items"),
        ({"text": "a" * 10_001}, "at most 10000 characters"),
        ({"text": "a", "texts": ["b"]}, "exactly one of"),
        ({}, "exactly one of"),
        ({"txt": "typo"}, "txt: Extra inputs are not permitted"),
        ({"text": "a", "body": "b"}, "body: Extra inputs are not permitted"),
        ({"text": "a", "all_scores": "maybe"}, "all_scores"),
        ({"text": "a", "all_scores": "yes"}, "all_scores: Input should be a valid boolean"),  # strict: no
        ({"text": "a", "all_scores": 1}, "all_scores: Input should be a valid boolean"),  # coercion to bool
        ({"texts": ["a", 1]}, "texts.1: Input should be a valid string"),
        ([REVIEW], "valid dictionary"),
    ],
)
def test_bad_input_is_a_readable_422(app, make_event, context, body, fragment):
    status, _, error = answer(app, make_event("POST", "/predict", json.dumps(body)), context)
    assert status == 422
    assert error["statusCode"] == 422
    assert fragment in error["message"]
    assert error["errors"]
    assert "Traceback" not in json.dumps(error)


def test_largest_request_within_the_text_limits_fits(app, make_event, context):
    settings = get_settings()
    # ASCII-only JSON (json.dumps' default) spells a non-BMP character as two \uXXXX escapes: 12 bytes.
    body = json.dumps({"texts": ["\U0001f600" * settings.max_text_chars] * settings.max_texts})
    assert len(body) > 12 * settings.max_texts * settings.max_text_chars
    status, _, answered = answer(app, make_event("POST", "/predict", body), context)
    assert status == 200
    assert len(answered["predictions"]) == settings.max_texts


def test_text_limits_past_lambdas_payload_limit_fail_at_init():
    # 64 texts of 10,000 characters need 7.7 MB bodies: Lambda would refuse the event before the handler.
    with pytest.raises(ValidationError, match="lower SENTIMENT_MAX_TEXTS or SENTIMENT_MAX_TEXT_CHARS"):
        Settings(max_texts=64)


def test_unknown_route_is_404(app, make_event, context):
    status, _, error = answer(app, make_event("GET", "/nope"), context)
    assert status == 404
    assert "GET /nope" in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"), [("GET", "/predict", "POST"), ("DELETE", "/health", "GET")]
)
def test_wrong_method_is_405_with_allow(app, make_event, context, method, path, allowed):
    status, headers, error = answer(app, make_event(method, path), context)
    assert status == 405
    assert headers["allow"] == allowed
    assert f"use {allowed}" in error["message"]


def test_internal_error_is_500_with_request_id_only(app, make_event, context, monkeypatch, log_stream):
    def explode(_windows):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(app.get_classifier(), "predict", explode)
    status, _, error = answer(app, make_event("POST", "/predict", json.dumps({"text": REVIEW})), context)
    assert status == 500
    assert error == {"statusCode": 500, "message": "internal error", "requestId": context.aws_request_id}
    logged = log_stream.getvalue()
    assert "secret internal detail" in logged  # the stack goes to the logs, not to the caller
    assert REVIEW not in logged


def test_logs_and_metrics_never_carry_review_text(app, make_event, context, capsys, log_stream):
    from handler.observability import logger

    secret = "my unique review phrase zebra-omelette"
    level = logger.log_level
    logger.setLevel("DEBUG")  # the per-request summary is a DEBUG line
    try:
        answer(app, make_event("POST", "/predict", json.dumps({"texts": [secret, REVIEW]})), context)
    finally:
        logger.setLevel(level)
    out = capsys.readouterr().out + log_stream.getvalue()
    assert secret not in out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    predicted = next(r for r in records if r.get("message") == "predicted")
    assert predicted["function_request_id"] == context.aws_request_id
    assert "cold_start" in predicted
    emf = next(r for r in records if "_aws" in r and "TextsPerRequest" in r)
    assert emf["TextsPerRequest"] == [2.0]
    assert {"ModelLatency", "Windows"} <= set(emf)
