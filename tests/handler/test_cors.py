"""CORS: with SENTIMENT_CORS_ORIGINS (set by the CDK stack's `corsOrigins`) answers carry the origin headers;
without it they carry none. API Gateway answers the preflights; the function must answer the real calls."""

from __future__ import annotations

import importlib
import json

import pytest

from tests.handler.conftest import answer

ORIGINS = "https://app.example.com, https://admin.example.com"


@pytest.fixture
def cors_app(app, monkeypatch):
    """handler.app re-imported with CORS origins configured, then restored for the other tests."""
    from handler.settings import get_settings

    monkeypatch.setenv("SENTIMENT_CORS_ORIGINS", ORIGINS)
    get_settings.cache_clear()
    yield importlib.reload(app)
    monkeypatch.delenv("SENTIMENT_CORS_ORIGINS")
    get_settings.cache_clear()
    importlib.reload(app)


def _with_origin(event, origin):
    event.setdefault("headers", {})["origin"] = origin
    event.pop("multiValueHeaders", None)
    return event


@pytest.mark.parametrize("origin", ["https://app.example.com", "https://admin.example.com"])
def test_allowed_origins_are_echoed(cors_app, make_event, context, origin):
    event = _with_origin(make_event("POST", "/predict", json.dumps({"text": "Works great."})), origin)
    status, headers, _ = answer(cors_app, event, context)
    assert status == 200
    assert headers["access-control-allow-origin"] == origin


def test_other_origins_get_no_cors_header(cors_app, make_event, context):
    event = _with_origin(make_event("GET", "/health"), "https://evil.example.net")
    status, headers, _ = answer(cors_app, event, context)
    assert status == 200
    assert "access-control-allow-origin" not in headers


def test_no_cors_headers_by_default(app, make_event, context):
    event = _with_origin(make_event("GET", "/health"), "https://app.example.com")
    _, headers, _ = answer(app, event, context)
    assert "access-control-allow-origin" not in headers
