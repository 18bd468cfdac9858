"""Handler fixtures: Powertools environment, a fake LambdaContext, SAM-generated events, the app on the tiny
artifact (built by the real export pipeline in tests/conftest.py)."""

from __future__ import annotations

import base64
import functools
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

EVENTS = Path(__file__).parents[1] / "events"
POWERTOOLS_ENV = {
    "POWERTOOLS_SERVICE_NAME": "sentiment-test",
    "POWERTOOLS_METRICS_NAMESPACE": "SentimentTest",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@dataclass
class FakeContext:
    """The LambdaContext attributes Powertools reads."""

    function_name: str = "sentiment-test"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:sentiment-test"
    aws_request_id: str = "5f1c7b0e-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def context() -> FakeContext:
    return FakeContext()


@pytest.fixture(scope="session")
def app(tiny_artifact: Path) -> ModuleType:
    """handler.app imported with MODEL_DIR at the tiny artifact (the model loads at import, like at init).

    The environment is set for the import only: settings and model are read then and cached, as at a Lambda
    init, and tests that run later, in any order, see the environment they started with.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {**POWERTOOLS_ENV, "MODEL_DIR": str(tiny_artifact)}.items():
            patch.setenv(name, value)
        from handler.service import get_classifier
        from handler.settings import get_settings

        get_settings.cache_clear()
        get_classifier.cache_clear()
        import handler.app

        get_classifier()  # loaded now, even where handler.app was imported before this fixture ran
    return handler.app


@pytest.fixture(autouse=True)
def powertools_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Powertools settings for every test, and no metrics carried over from the previous one."""
    for name, value in POWERTOOLS_ENV.items():
        monkeypatch.setenv(name, value)
    yield
    from handler.observability import metrics

    metrics.clear_metrics()


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """What the Powertools logger writes during the test (its handler keeps the stdout it started with)."""
    from handler.observability import logger

    stream = io.StringIO()
    previous = logger.registered_handler.setStream(stream)
    yield stream
    logger.registered_handler.setStream(previous)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def api_event(
    flavour: str, method: str, path: str, body: str | bytes | None = None, b64: bool = True
) -> dict[str, Any]:
    """The SAM-generated event of an API flavour ("rest_v1" or "http_v2") with the method, path and body
    changed; bodies are base64-encoded as in SAM's samples unless b64=False."""
    event = load_event(f"{flavour}_post_predict")
    raw = body.encode() if isinstance(body, str) else body
    if flavour == "rest_v1":
        event.update(httpMethod=method, path=path, resource=path)
        event["requestContext"].update(httpMethod=method, path=f"/prod{path}", resourcePath=path)
    else:
        event.update(rawPath=path)
        event["requestContext"]["http"].update(method=method, path=path)
    event["isBase64Encoded"] = b64 and raw is not None
    if raw is None:
        event["body"] = None
    else:
        event["body"] = base64.b64encode(raw).decode() if b64 else raw.decode()
    return event


@pytest.fixture(params=["rest_v1", "http_v2"])
def make_event(request: pytest.FixtureRequest) -> Callable[..., dict[str, Any]]:
    """`make_event(method, path, body=None, b64=True)`: `api_event` of each API flavour."""
    make = functools.partial(api_event, request.param)
    make.flavour = request.param  # type: ignore[attr-defined]
    return make


def answer(app: ModuleType, event: dict[str, Any], context: FakeContext) -> tuple[int, dict[str, Any], Any]:
    """Invoke lambda_handler; return status, headers (single and multi-value merged) and the decoded body."""
    result = app.lambda_handler(event, context)
    headers = {k.lower(): ", ".join(v) for k, v in (result.get("multiValueHeaders") or {}).items()}
    headers |= {k.lower(): v for k, v in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    if result.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    is_json = headers.get("content-type", "").startswith("application/json")
    return result["statusCode"], headers, json.loads(body) if is_json else body
