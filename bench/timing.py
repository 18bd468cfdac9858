"""Warm latency series: run a call after a warm-up, keep every duration, summarise with percentiles."""

from __future__ import annotations

import time
from collections.abc import Callable
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
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return Series(items=items, samples_ms=samples)
