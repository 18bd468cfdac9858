"""(a) and (c) as Lambda functions: awslambdaric under the real Runtime Interface Emulator.

Both get the same API Gateway REST events through the same emulator runner (local/emulator.py), so
the transport costs the same and only the function differs.
"""

from __future__ import annotations

import json
import time
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from bench.cpus import pinned
from bench.errors import BenchError
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


def warm_series(
    function: Function,
    shapes: dict[str, list[str]],
    warmup: int,
    repeat: dict[str, int],
    log: IO[str],
    cpus: set[int] | None = None,
) -> tuple[dict[str, Series], float]:
    """Latency of each request shape on one warm instance, then its peak RSS in MB.

    Args:
        shapes: texts per request shape (`{"short": [...], ...}`).
        repeat: timed calls per shape.
        cpus: launch the emulator pinned to these cores; the runtime it starts inherits them, and
            both handlers size their thread pools from the CPUs they may use.

    Raises:
        BenchError: the emulator did not start or the function did not answer 200.
    """
    series: dict[str, Series] = {}
    try:
        with ExitStack() as stack:
            with pinned(cpus) if cpus else nullcontext():  # the emulator and its runtime start pinned
                running = stack.enter_context(
                    running_function(function.handler, env=function.env, stdout=log)
                )
            for shape, texts in shapes.items():
                call = partial(_answer, function, running, predict_event(texts))
                series[shape] = measure(call, len(texts), warmup, repeat[shape])
            return series, peak_rss_mb(running.process.pid)
    except EmulatorError as err:
        raise BenchError(f"{function.name}: {err}") from err
