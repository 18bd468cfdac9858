"""What init imports and how many threads ORT gets: the cold-start and CPU choices of issue 17.

Each import check runs in a fresh interpreter, as Lambda's init does: this test process has long imported
everything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from handler.settings import Settings, lambda_threads

REPO = Path(__file__).parents[2]
# Import the app (model loaded), answer one request, report what was imported and the tracer's provider.
PROBE = """
import gc, json, sys
import handler.app as app
from handler.observability import tracer
from tests.handler.conftest import FakeContext
NOT_AT_INIT = ("aws_xray_sdk", "onnx", "sklearn", "google")  # google: protobuf
event = {"texts": ["fine kettle"]}
answer = app.lambda_handler(event, FakeContext())
print(json.dumps({
    "answered": bool(answer["predictions"]),
    "provider": type(tracer.provider).__module__,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] in NOT_AT_INIT),
    "gc": [gc.isenabled(), gc.get_freeze_count() > 0],
}))
"""


def probe(artifact: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **{name: value for name, value in os.environ.items() if name != "SENTIMENT_TRACE_SUBSEGMENTS"},
        "MODEL_DIR": str(artifact),
        "POWERTOOLS_SERVICE_NAME": "sentiment-test",
        "POWERTOOLS_METRICS_NAMESPACE": "SentimentTest",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=environment, capture_output=True, text=True, timeout=120
    )


def test_init_imports_no_xray_sdk_nor_protobuf_and_still_answers(tiny_artifact):
    """protobuf (google.*) reads only ngrams.onnx of an artifact without ngrams.npz: the tiny build has it."""
    run = probe(tiny_artifact)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report == {
        "answered": True,
        "provider": "handler.observability",
        "modules": [],
        "gc": [True, True],  # the collector back on after init, init's objects frozen
    }


def test_init_runs_without_the_cyclic_collector_and_leaves_it_on_with_inits_objects_frozen(tiny_artifact):
    """handler/app.py pauses the collector for the init (its passes cost CPU; init leaves a few hundred
    objects in cycles) and resumes it with everything init made frozen, so no later collection scans it."""
    # Collections while handler/app.py's code runs (not while Python compiles it, before its first line).
    code = (
        "import gc, sys\n"
        "def seen(phase, info):\n"
        "    frame = sys._getframe()\n"
        "    while frame and not frame.f_code.co_filename.endswith('handler/app.py'):\n"
        "        frame = frame.f_back\n"
        "    if frame:\n"
        "        print(phase, flush=True)\n"
        "gc.callbacks.append(seen)\nimport handler.app\nprint('ready', flush=True)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "MODEL_DIR": str(tiny_artifact), "POWERTOOLS_SERVICE_NAME": "sentiment-test"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    init, ready, _ = run.stdout.partition("ready")
    assert ready
    assert init.split() == []  # no collection started during init


def test_subsegments_are_opt_in_through_the_xray_sdk(tiny_artifact):
    pytest.importorskip("aws_xray_sdk", reason="the dev venv installs aws-xray-sdk for this opt-in")
    run = probe(tiny_artifact, SENTIMENT_TRACE_SUBSEGMENTS="true")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.splitlines()[-1])
    assert report["provider"].startswith("aws_xray_sdk")
    assert report["answered"]


def test_a_trace_setting_that_is_not_a_boolean_fails_init(tiny_artifact):
    run = probe(tiny_artifact, SENTIMENT_TRACE_SUBSEGMENTS="maybe")
    assert run.returncode != 0
    assert "maybe" in run.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("memory_mb", "threads"),
    [("128", 1), ("1769", 1), ("2048", 1), ("3008", 1), ("3538", 2), ("5307", 3), ("10240", 5)],
)
def test_ort_threads_follow_the_vcpus_lambda_memory_pays_for(monkeypatch, memory_mb, threads):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb)
    monkeypatch.delenv("SENTIMENT_ORT_THREADS", raising=False)
    assert lambda_threads() == threads
    assert Settings().ort_threads == threads


def test_ort_threads_setting_wins_and_outside_lambda_the_loader_chooses(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "2048")
    monkeypatch.setenv("SENTIMENT_ORT_THREADS", "3")
    assert Settings().ort_threads == 3
    monkeypatch.delenv("SENTIMENT_ORT_THREADS")
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
    assert Settings().ort_threads is None  # Classifier.from_dir: every CPU this process may use
