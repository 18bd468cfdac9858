"""(a) and (c) as Lambda functions: awslambdaric under the real Runtime Interface Emulator.

Both get the same API Gateway REST events through the same emulator runner (local/emulator.py), so
the transport costs the same and only the function differs.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from bench.errors import BenchError
from bench.inputs import Inputs
from bench.memory import peak_rss_mb
from bench.timing import Series, measure
from local.emulator import HANDLER, EmulatorError, RunningFunction, handler_env, running_function
from local.front import to_rest_event


@dataclass(frozen=True)
class Function:
    """A handler the emulator runs, and the environment Lambda would give it."""

    name: str
    handler: str
    env: dict[str, str] = field(default_factory=dict)


def ours(model_dir: Path) -> Function:
    """(a) the served handler on the int8 artifact, with the environment the CDK stack sets."""
    return Function("ours", HANDLER, handler_env(model_dir))


def peer(checkpoint_dir: Path) -> Function:
    """(c) the transformers pipeline handler on the PyTorch checkpoint."""
    env = {"PEER_CHECKPOINT_DIR": str(checkpoint_dir.resolve()), "TOKENIZERS_PARALLELISM": "false"}
    return Function("peer", "bench.peer_handler.lambda_handler", env)


def predict_event(texts: list[str]) -> dict:
    """API Gateway REST (v1) proxy event for `POST /predict`, built like the local front builds it."""
    body = {"text": texts[0]} if len(texts) == 1 else {"texts": texts}
    headers = [("Content-Type", "application/json"), ("Host", "localhost")]
    return to_rest_event("POST", "/predict", headers, json.dumps(body).encode(), "127.0.0.1")


def _answer(function: Function, running: RunningFunction, event: dict) -> None:
    """Invoke once; anything but a 200 proxy answer stops the benchmark (never time an error page)."""
    answer = running.invoke(event, timeout=300)
    if not isinstance(answer, dict) or answer.get("statusCode") != 200:
        raise BenchError(f"{function.name} ({function.handler}) answered {str(answer)[:300]}")


def cold_starts(function: Function, event: dict, times: int, log: IO[str]) -> list[float]:
    """Milliseconds from launching emulator + runtime to the first complete answer, `times` fresh starts.

    Raises:
        BenchError: the emulator did not start or the function did not answer 200.
    """
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        try:
            with running_function(function.handler, env=function.env, stdout=log) as running:
                _answer(function, running, event)
                samples.append((time.perf_counter() - start) * 1000)
        except EmulatorError as err:
            raise BenchError(f"{function.name}: {err}") from err
    return samples


def warm_series(function: Function, inputs: Inputs, warmup: int, repeat: tuple[int, int], log: IO[str]):
    """Latency of each request shape on one warm instance, then its peak RSS in MB.

    Args:
        repeat: timed calls for the single-review shapes and for the batch.

    Raises:
        BenchError: the emulator did not start or the function did not answer 200.
    """
    shapes = {"short": [inputs.short], "long": [inputs.long], "batch": inputs.batch}
    series: dict[str, Series] = {}
    try:
        with running_function(function.handler, env=function.env, stdout=log) as running:
            for shape, texts in shapes.items():
                event = predict_event(texts)
                times = repeat[1] if shape == "batch" else repeat[0]
                series[shape] = measure(
                    lambda e=event: _answer(function, running, e), len(texts), warmup, times
                )
            return series, peak_rss_mb(running.process.pid)
    except EmulatorError as err:
        raise BenchError(f"{function.name}: {err}") from err
