"""Warm latency series: run a call after a warm-up, keep every duration, summarise with percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Series:
    """Durations of one request shape against one system, in milliseconds."""

    items: int
    samples_ms: list[float]

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.samples_ms, 50))

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.samples_ms, 95))

    @property
    def throughput(self) -> float:
        """Reviews per second, one request at a time (one Lambda instance serves one at a time)."""
        return self.items * len(self.samples_ms) / (sum(self.samples_ms) / 1000)

    def summary(self) -> dict:
        """JSON-ready: the percentiles, throughput and raw samples (for the plots)."""
        return {**asdict(self), "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "throughput": self.throughput}


def measure(call: Callable[[], object], items: int, warmup: int, repeat: int) -> Series:
    """Time `repeat` calls of `call` after `warmup` untimed ones.

    Args:
        call: sends one request and returns once the answer is complete.
        items: reviews per request, for throughput.
        warmup: untimed calls first (lazy allocations, caches, branch predictors).
        repeat: timed calls.
    """
    return measure_together({"call": call}, items, warmup, repeat)["call"]


def measure_together(
    calls: Mapping[str, Callable[[], object]], items: int, warmup: int, repeat: int
) -> dict[str, Series]:
    """`measure` for several calls in the same rounds: each round runs every call once, in turn.

    Series run one after the other meet different load on a shared machine, which moves their ratio (the
    floor and the handler read 1.01x to 1.26x on one tree); in the same rounds, a change of load falls on
    every call alike.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            samples[name].append((time.perf_counter() - start) * 1000)
    return {name: Series(items=items, samples_ms=times) for name, times in samples.items()}
