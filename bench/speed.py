"""Where the time goes, at one core: cold start stage by stage, warm stages, the worst request, a cost model.

Every figure comes from fresh interpreters (bench/probe.py) pinned to one core, with the environment the
stack sets and the memory of one vCPU (1,769 MB: one ORT thread), so they compare side by side with each
other in one run. The worst request the limits let through runs as many texts of SENTIMENT_MAX_TEXT_CHARS
characters of long rare words (max_windows windows each) as SENTIMENT_MAX_REQUEST_WINDOWS holds. From it the
cost model takes ms per window and ms per text, and prices the worst case of the limits, the whole window
budget spread over SENTIMENT_MAX_TEXTS texts of that length, as windows x ms per window + texts x ms per
text: the budget that fits 5 s, the smallest Lambda memory size that finishes within the function's timeout,
and whether the coefficients the stack checks memory sizes with (infra/settings.py) cover this run's.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.cpus import ONE_CPU, pinned
from bench.emulated import predict_event
from bench.errors import BenchError
from bench.inputs import Inputs, worst_texts
from handler.artifact import read_manifest
from handler.settings import MB_PER_VCPU, Settings
from infra.settings import (
    WORST_MS_PER_TEXT,
    WORST_MS_PER_WINDOW,
    smallest_memory_mb,
    worst_request_ms,
)
from infra.settings import Settings as StackSettings
from infra.sizing import model_cost
from local.emulator import handler_env

REPO = Path(__file__).resolve().parents[1]
WORST_BUDGET_MS = 5000  # the worst request within the limits, at one core (issue 17's target)


def run_probe(mode: str, target: Path, events: Path, env: dict[str, str]) -> dict:
    """One fresh `python -m bench.probe` run; its JSON answer.

    Raises:
        BenchError: the probe failed (its last line of stderr says why).
    """
    command = [sys.executable, "-m", "bench.probe", mode, str(target), str(events)]
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise BenchError(f"bench.probe {mode}: {(run.stderr.strip().splitlines() or ['failed'])[-1]}")
    return json.loads(run.stdout.splitlines()[-1])


def probe_env(model_dir: Path) -> dict[str, str]:
    """The probes' environment: the stack's, and the memory of one vCPU (one ORT thread)."""
    return {**os.environ, **handler_env(model_dir), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MB_PER_VCPU)}


def worst_event(settings: Settings, max_windows: int) -> dict:
    """The worst request within the limits: as many texts of the most characters as the budget holds."""
    count = min(settings.max_texts, max(1, settings.max_request_windows // max_windows))
    return predict_event(worst_texts(count, settings.max_text_chars))


def _spread(samples: list[dict]) -> dict[str, dict[str, float]]:
    """Per stage: the median, min and max over fresh processes."""
    return {
        stage: {
            "p50_ms": float(np.median([s[stage] for s in samples])),
            "min_ms": min(s[stage] for s in samples),
            "max_ms": max(s[stage] for s in samples),
        }
        for stage in samples[0]
    }


def cost_model(
    worst: dict, settings: Settings, max_windows: int, timeout_s: int, priced_ms: float = WORST_MS_PER_WINDOW
) -> dict:
    """ms per window and per text from the worst request's warm times, and what they imply.

    Args:
        worst: probe "warm"'s entry for the worst request (texts, windows, transformer, handler).
        settings: the handler's limits (max_texts, max_request_windows).
        max_windows: the artifact's windows per text.
        timeout_s: the function's timeout, for the smallest memory size that finishes in time.
        priced_ms: what the stack prices one of this model's windows at (infra/sizing.py model_cost).
    """
    per_window = worst["transformer"]["p50_ms"] / worst["windows"]
    per_text = max(0.0, worst["handler"]["p50_ms"] - worst["transformer"]["p50_ms"]) / worst["texts"]
    windows = min(settings.max_request_windows, settings.max_texts * max_windows)
    costs = {"ms_per_window": per_window, "ms_per_text": per_text}
    predicted = worst_request_ms(MB_PER_VCPU, windows, settings.max_texts, **costs)
    return {
        "ms_per_window": per_window,
        "ms_per_text": per_text,
        "worst_windows": windows,
        "worst_predicted_ms": predicted,
        "worst_measured_ms": worst["handler"]["p50_ms"],
        "budget_ms": WORST_BUDGET_MS,
        # The largest SENTIMENT_MAX_REQUEST_WINDOWS whose worst case (max_texts texts) fits the budget.
        "windows_in_budget": max(
            0, math.floor((WORST_BUDGET_MS - settings.max_texts * per_text) / per_window)
        ),
        # The stack's memory check (infra/settings.py) at this run's coefficients; None: no size will do.
        "min_memory_mb_for_timeout": smallest_memory_mb(timeout_s, windows, settings.max_texts, **costs),
        "timeout_s": timeout_s,
        "stack_covers_this_run": per_window <= priced_ms and per_text <= WORST_MS_PER_TEXT,
    }


def speed(model_dir: Path, checkpoint_dir: Path, inputs: Inputs, times: int, repeat: int) -> dict:
    """Cold-start breakdown (ours, the bare libraries, the floor the project's rules set, the peer), warm
    stages and the worst request.

    Args:
        times: fresh processes per cold-start measurement.
        repeat: timed calls of each warm stage of a single review (batches: 3).
    """
    settings = Settings()
    max_windows = read_manifest(model_dir).max_windows
    events = {"short": predict_event([inputs.short]), "batch": predict_event(inputs.batch)}
    events["worst"] = worst_event(settings, max_windows)
    env = probe_env(model_dir)
    with tempfile.TemporaryDirectory() as scratch, pinned(ONE_CPU):
        path = Path(scratch, "events.json")
        path.write_text(json.dumps({**events, "repeat": repeat}), encoding="utf-8")
        probes = {  # system: (probe mode, its target)
            "bare": ("bare", model_dir),
            "required": ("required", model_dir),
            "ours": ("init", model_dir),
            "peer": ("peer", checkpoint_dir.resolve()),
        }
        cold: dict[str, list[dict]] = {system: [] for system in probes}
        for _ in range(times):  # interleaved: load that changes during the run moves every system alike
            for system, (mode, target) in probes.items():
                cold[system].append(run_probe(mode, target, path, env))
        warm = run_probe("warm", model_dir, path, env)
    return {
        "cold": {system: _spread(samples) for system, samples in cold.items()} | {"processes": times},
        "warm": warm,
        # The stack's defaults unvalidated: validating them would refuse a model too slow to deploy,
        # which is exactly what this report is there to show.
        "cost_model": cost_model(
            warm["worst"],
            settings,
            max_windows,
            StackSettings.model_construct().timeout_s,
            model_cost(model_dir).ms_per_window,
        ),
        "limits": {
            "max_texts": settings.max_texts,
            "max_text_chars": settings.max_text_chars,
            "max_request_windows": settings.max_request_windows,
        },
    }
