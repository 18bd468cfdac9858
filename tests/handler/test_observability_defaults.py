"""A handler started without the Powertools names still answers: Powertools refuses to flush metrics without
a namespace, so without the stack's defaults in code every request would fail (in a fresh interpreter, as
Lambda's init: this test process imported handler.observability long ago, with other settings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from handler.settings import METRICS_NAMESPACE, SERVICE_NAME

REPO = Path(__file__).parents[2]
PROBE = """
import json
import handler.app as app
from tests.handler.conftest import EVENTS, FakeContext
event = json.loads((EVENTS / "rest_v1_post_predict.json").read_text())
print(json.dumps({"status": app.lambda_handler(event, FakeContext())["statusCode"]}))
"""


def test_a_handler_without_the_powertools_names_answers_with_the_stacks(tiny_artifact):
    env = {name: value for name, value in os.environ.items() if not name.startswith("POWERTOOLS_")}
    env |= {"MODEL_DIR": str(tiny_artifact), "POWERTOOLS_TRACE_DISABLED": "true"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines[-1] == {"status": 200}
    emf = [line["_aws"]["CloudWatchMetrics"][0] for line in lines if "_aws" in line]  # cold start, request
    assert emf
    assert {metrics["Namespace"] for metrics in emf} == {METRICS_NAMESPACE}
    assert {line.get("service") for line in lines if "_aws" in line} == {SERVICE_NAME}  # the dimension
