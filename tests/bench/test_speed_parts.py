"""bench/speed.py's cost model and targets, bench/cost.py's Comprehend price, the worst request's texts, and
bench/probe.py's fresh-process measurements on the tiny artifact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cost import comprehend_per_million
from bench.emulated import predict_event
from bench.headline import speed_targets
from bench.inputs import worst_texts
from bench.speed import cost_model
from handler.inference import Classifier
from handler.settings import Settings
from infra.settings import smallest_memory_mb
from local.emulator import handler_env

REPO = Path(__file__).parents[2]


def test_comprehend_counts_units_of_100_characters_from_3_up_to_the_first_500():
    assert comprehend_per_million(["x" * 110]) == pytest.approx(300.0)  # 3 units minimum
    assert comprehend_per_million(["x" * 301]) == pytest.approx(400.0)
    assert comprehend_per_million(["x" * 5000]) == pytest.approx(500.0)  # only the first 500 characters
    assert comprehend_per_million(["x" * 10, "x" * 5000]) == pytest.approx(400.0)  # the mean per text


def test_cost_model_prices_the_window_budget_over_the_most_texts():
    # The worst request the budget lets through: 8 texts of 8 windows, measured end to end.
    worst = {"texts": 8, "windows": 64, "transformer": {"p50_ms": 3_200.0}, "handler": {"p50_ms": 3_360.0}}
    model = cost_model(worst, Settings(max_texts=32, max_request_windows=64), max_windows=8, timeout_s=30)
    assert model["ms_per_window"] == pytest.approx(50.0)
    assert model["ms_per_text"] == pytest.approx(20.0)
    # The worst case of the limits spreads the 64 windows over all 32 texts: 64 x 50 + 32 x 20.
    assert (model["worst_windows"], model["worst_predicted_ms"]) == (64, pytest.approx(3_840.0))
    assert model["worst_measured_ms"] == 3_360.0
    assert model["windows_in_budget"] == 87  # (5,000 - 32 x 20) / 50 = 87.2
    assert model["min_memory_mb_for_timeout"] == 227  # 1,769 x 3.84 / 30 = 226.4
    # The stack's own check (infra/settings.py) at these coefficients: one computation, two readers.
    assert model["min_memory_mb_for_timeout"] == smallest_memory_mb(
        30, 64, 32, ms_per_window=50, ms_per_text=20
    )
    assert model["stack_covers_this_run"]  # infra/settings.py's 60 ms and 20 ms are no lower
    wide = cost_model(worst, Settings(max_texts=32, max_request_windows=256), max_windows=8, timeout_s=10)
    assert wide["worst_windows"] == 256
    assert wide["min_memory_mb_for_timeout"] is None
    narrow = cost_model(worst, Settings(max_texts=4, max_request_windows=64), max_windows=8, timeout_s=30)
    assert narrow["worst_windows"] == 32  # 4 texts read at most 32 windows whatever the budget
    slow = {**worst, "transformer": {"p50_ms": 4_480.0}, "handler": {"p50_ms": 4_640.0}}
    assert not cost_model(slow, Settings(), max_windows=8, timeout_s=30)["stack_covers_this_run"]  # 70 ms
    # A model the stack prices at its own measured cost is covered at that cost, not the default model's.
    assert cost_model(slow, Settings(), max_windows=8, timeout_s=30, priced_ms=105)["stack_covers_this_run"]


def test_speed_targets_compare_in_both_directions():
    results = {
        "speed": {
            "cold": {
                n: {"ready_ms": {"p50_ms": v}} for n, v in (("ours", 400), ("peer", 8000), ("bare", 200))
            },
            "warm": {
                "short": {"handler": {"p50_ms": 5.5}, "floor": {"p50_ms": 5.0}},
                "worst": {"handler": {"p50_ms": 4000.0}},
            },
            "cost_model": {"worst_predicted_ms": 5001.0},  # the larger of the two counts
        },
        "cold_start": {"ours": {"p50_ms": 500}, "peer": {"p50_ms": 7000}},
        "latency_one_cpu": {
            "ours": {"short": {"p50_ms": 5.0}, "batch": {"p50_ms": 100.0}},
            "peer": {"short": {"p50_ms": 15.0}, "batch": {"p50_ms": 500.0}},
        },
        "size": {"ours": {"total_mb": 150.0}},
    }
    met = {row["metric"].split(",")[0] + row["target"]: row["met"] for row in speed_targets(results)}
    assert met == {
        "cold init in process>= 15": True,  # 20x
        "cold init in process<= 2.5": True,  # 2.0x the bare imports
        "cold start via emulator>= 15": False,  # 14x
        "warm short review>= 3": True,  # exactly 3x
        "warm short review<= 1.2": True,  # 1.1x the floor
        "batch of 32>= 6": False,  # 5x
        "worst request within the limits<= 5000": False,
        "image add-on (dependencies + model)<= 150": True,
    }


def test_worst_texts_are_as_many_tokens_as_the_limits_allow(tiny_artifact):
    texts = worst_texts(3, 2_000)
    assert [len(t) for t in texts] == [2_000] * 3
    assert len(set(texts)) == 3
    assert texts == worst_texts(3, 2_000)  # the same every run
    windows = Classifier.from_dir(tiny_artifact, threads=1).encode(texts)
    assert windows.truncated.all()
    # Made-up words split into word pieces: over 0.5 tokens a character, where English has about 0.22.
    tokens = [feed["input_ids"].shape[1] for feed in windows.ngram_feeds]
    assert min(tokens) > 0.5 * 2_000


def probe(mode: str, artifact: Path, tmp_path: Path, events: dict) -> dict:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    command = [sys.executable, "-m", "bench.probe", mode, str(artifact), str(path)]
    env = {**handler_env(artifact), "PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1769"}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_probe_times_each_init_stage_of_a_fresh_process(tiny_artifact, tmp_path):
    stages = probe("init", tiny_artifact, tmp_path, {"short": predict_event(["fine kettle"])})
    parts = ("libraries_ms", "powertools_models_ms", "model_load_ms", "resolvers_ms")
    assert all(stages[name] > 0 for name in (*parts, "first_request_ms"))
    assert stages["ready_ms"] == pytest.approx(sum(stages[name] for name in parts), abs=1.0)
    assert stages["ready_cpu_ms"] > 0  # what a before/after comparison on a loaded host reads


def test_probe_times_the_warm_stages_of_each_request(tiny_artifact, tmp_path):
    events = {
        "short": predict_event(["fine kettle"]),
        "worst": predict_event(worst_texts(2, 500)),
        "repeat": 3,
    }
    warm = probe("warm", tiny_artifact, tmp_path, events)
    assert set(warm["short"]) == {"texts", "windows", "tokenize", "transformer", "ngrams", "floor", "handler"}
    assert "floor" not in warm["worst"]
    assert (warm["worst"]["texts"], len(warm["short"]["handler"]["samples_ms"])) == (2, 3)
    assert len(warm["worst"]["handler"]["samples_ms"]) == 1  # seconds each at the real limits
    assert warm["worst"]["windows"] == 2 * Classifier.from_dir(tiny_artifact, threads=1).max_windows


def test_the_required_floor_runs_none_of_our_modules(tiny_artifact, tmp_path):
    """The floor the rules set: the libraries and the model's load, with none of our code but the session
    options (else `ours - required` would hide what our modules cost)."""
    code = (
        "import json, runpy, sys; "
        f"sys.argv = ['probe', 'required', {str(tiny_artifact)!r}]; "
        "runpy.run_module('bench.probe', run_name='__main__'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('handler', 'export')))); "
        f"print(json.dumps([m in sys.modules for m in {list(RULES_LIBRARIES)!r}]))"
    )
    env = {**handler_env(tiny_artifact), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    floor, ours, libraries = (json.loads(line) for line in run.stdout.splitlines()[-3:])
    assert floor["ready_ms"] > 0
    assert floor["ready_cpu_ms"] > 0
    assert ours == ["handler", "handler.sessions"]
    assert all(libraries)


# What the handler must import under the rules, whatever its own code: the floor imports each of them.
RULES_LIBRARIES = (
    "numpy",
    "onnxruntime",
    "tokenizers",
    "pydantic",
    "pydantic_settings",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
)
