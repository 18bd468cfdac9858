"""Slow: schemathesis with every check against the local front, and a soak of 10,000 mixed requests through
the emulator with the function's memory (RSS) measured at the start and at the end."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from local.emulator import HANDLER, handler_env, running_function
from tests.handler.conftest import load_event

SOAK_REQUESTS = 10_000
REVIEWS = [
    "Lovely kettle, boils fast and looks great.",
    "Broke after a week and support never answered.",
    "Not bad for the price, a little noisy.",
]
LONG = " ".join(["The motor is strong, the jar is sturdy and it cleans easily."] * 60)


@pytest.mark.slow
def test_schemathesis_every_check_passes(front, tmp_path):
    """What the issue ran by hand: `schemathesis run <front>/openapi.json -c all`, seeded."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{front}/openapi.json",
        "--checks",
        "all",
        "--seed",
        "21",
        "--max-examples",
        "40",
        "--workers",
        "1",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "No issues found" in result.stdout


def _mixed_event(rng: random.Random, n: int) -> tuple[dict | list | str, int]:
    """One of the request shapes a deployed function sees, and the status it must get."""
    kind = n % 10
    if kind < 4:
        return {"text": rng.choice(REVIEWS)}, 200
    if kind < 6:
        return {"texts": rng.choices(REVIEWS, k=rng.randint(2, 32)), "all_scores": True}, 200
    if kind == 6:
        return {"text": LONG[: rng.randint(100, len(LONG))]}, 200
    if kind == 7:
        return rng.choice([{"texts": []}, {"text": "\u200b"}, {"txt": "typo"}, "a string", [1]]), 422
    event = load_event(rng.choice(["rest_v1_post_predict", "http_v2_post_predict"]))
    event.update(body=json.dumps({"texts": rng.choices(REVIEWS, k=3)}), isBase64Encoded=False)
    return event, 200


def _rss_mb(process: psutil.Process) -> float:
    """The emulator and the function runtime it started, together."""
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / 2**20


@pytest.mark.slow
def test_soak_10000_mixed_requests_with_flat_memory_and_no_errors(tiny_artifact, tmp_path, capsys):
    rng = random.Random(21)
    log = tmp_path / "emulator.log"
    with log.open("w") as out, running_function(HANDLER, env=handler_env(tiny_artifact), stdout=out) as fn:
        for n in range(200):  # warm-up: cold start, caches, the allocator's first arenas
            fn.invoke(_mixed_event(rng, n)[0])
        process = psutil.Process(fn.process.pid)
        start = _rss_mb(process)
        errors = []
        for n in range(SOAK_REQUESTS):
            event, expected = _mixed_event(rng, n)
            answer = fn.invoke(event)
            status = answer.get("statusCode", 200) if isinstance(answer, dict) else 200
            if status != expected or (isinstance(answer, dict) and "errorMessage" in answer):
                errors.append((n, status, str(answer)[:200]))
        end = _rss_mb(process)
    with capsys.disabled():
        print(f"\nsoak: {SOAK_REQUESTS} requests, {len(errors)} errors, RSS {start:.1f} MB -> {end:.1f} MB")
    assert errors == []
    assert end - start < 0.1 * start + 20, (start, end)  # flat: no growth per request
