"""CORS: with SENTIMENT_CORS_ORIGINS (set by the CDK stack's `corsOrigins`) answers carry the origin headers;
without it they carry none. API Gateway answers the preflights; the function must answer the real calls."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.handler.conftest import answer

ORIGINS = "https://app.example.com, https://admin.example.com"


@pytest.fixture
def cors_app(app, monkeypatch):
    """A second copy of handler.app, initialised with CORS origins configured (read at init, as on Lambda).

    A separate module rather than handler.app reloaded in place: a reload would swap the resolvers under
    every other test (and leave them swapped if it failed halfway), and clearing the cached settings would
    make later tests read them again from whatever the environment holds by then.
    """
    from handler import settings

    monkeypatch.setenv("SENTIMENT_CORS_ORIGINS", ORIGINS)
    configured = settings.Settings()
    monkeypatch.setattr(settings, "get_settings", lambda: configured)  # what the copy's init reads
    spec = importlib.util.spec_from_file_location("handler_app_with_cors", app.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_the_cors_copy_leaves_the_shared_app_alone(app, cors_app, make_event, context):
    event = _with_origin(make_event("GET", "/health"), "https://app.example.com")
    assert cors_app is not app
    assert "access-control-allow-origin" in answer(cors_app, event, context)[1]
    assert "access-control-allow-origin" not in answer(app, event, context)[1]
