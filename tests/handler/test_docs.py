"""The documentation routes join a resolver on their first request (handler/docs.py), so init does not import
Powertools' OpenAPI models. Each probe runs in a fresh interpreter, as Lambda's init does: this test process
has long imported them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.handler.conftest import POWERTOOLS_ENV

REPO = Path(__file__).parents[2]
# After init, then after each request: is the OpenAPI models module imported, and what was answered.
PROBE = """
import json, sys
import handler.app as app
from tests.handler.conftest import FakeContext, api_event
MODELS = "aws_lambda_powertools.event_handler.openapi.models"
steps = [{"request": "init", "models": MODELS in sys.modules}]
for flavour, method, path, *body in json.loads(sys.argv[1]):
    answer = app.lambda_handler(api_event(flavour, method, path, *body), FakeContext())
    allow = (answer.get("headers") or {}).get("Allow") or (answer.get("multiValueHeaders") or {}).get("Allow")
    steps.append({"request": f"{flavour} {method} {path}", "status": answer["statusCode"],
                  "allow": allow, "models": MODELS in sys.modules})
print(json.dumps(steps))
"""


def probe(artifact: Path, *requests: tuple[str, ...]) -> list[dict]:
    """Each request is (flavour, method, path) or (flavour, method, path, body)."""
    env = {**os.environ, **POWERTOOLS_ENV, "MODEL_DIR": str(artifact)}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(requests)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_init_and_api_requests_import_no_openapi_models(tiny_artifact):
    steps = probe(
        tiny_artifact, ("rest_v1", "POST", "/predict", '{"text": "fine"}'), ("http_v2", "GET", "/health")
    )
    assert [(s.get("status"), s["models"]) for s in steps] == [(None, False), (200, False), (200, False)]


def test_the_first_docs_request_registers_them(tiny_artifact):
    steps = probe(
        tiny_artifact,
        ("rest_v1", "GET", "/swagger/"),  # the REST resolver ignores a trailing slash: so does the check
        ("rest_v1", "GET", "/openapi.json"),
        ("http_v2", "GET", "/swagger"),
        ("http_v2", "GET", "/openapi.json"),
    )
    assert [(s.get("status"), s["models"]) for s in steps] == [
        (None, False),
        (200, True),
        (200, True),
        (200, True),
        (200, True),
    ]


def test_a_docs_path_with_another_method_is_still_a_405(tiny_artifact):
    for flavour in ("rest_v1", "http_v2"):
        first = probe(tiny_artifact, (flavour, "POST", "/swagger"))[1]
        assert (first["status"], first["allow"]) in [(405, "GET"), (405, ["GET"])], first
