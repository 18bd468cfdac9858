"""Lambda cost per million predictions, from measured warm durations, at several memory sizes.

Lambda gives CPU in proportion to memory (one vCPU at 1,769 MB). The durations are measured here on
`os.sched_getaffinity` cores, so at a size with fewer vCPUs a compute-bound request is assumed to take
proportionally longer (pessimistic for short requests, which barely use a second core). A size below
the system's peak RSS cannot run it at all. The arm64 rows price the x86_64 durations measured here:
they show the price difference, not Graviton's speed.
"""

from __future__ import annotations

import math
import os

# AWS Lambda on-demand prices, us-east-1, first pricing tier, as listed on aws.amazon.com/lambda/pricing
# (checked 2026-11-24). Duration is billed per 1 ms; INIT of a cold start is not counted here.
PRICES = {
    "date": "2026-11-24",
    "region": "us-east-1",
    "per_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
    "per_million_requests": 0.20,
}
MB_PER_VCPU = 1769


def billed_ms(measured_ms: float, memory_mb: int, measured_cpus: int) -> int:
    """Billed duration at `memory_mb`: the measurement scaled to its vCPU share, rounded up to 1 ms."""
    slowdown = max(1.0, measured_cpus / (memory_mb / MB_PER_VCPU))
    return math.ceil(measured_ms * slowdown)


def cost_per_million(duration_ms: float, memory_mb: int, items: int, arch: str, measured_cpus: int) -> float:
    """Dollars per million predictions when each invocation carries `items` reviews."""
    gb_seconds = memory_mb / 1024 * billed_ms(duration_ms, memory_mb, measured_cpus) / 1000
    per_invocation = gb_seconds * PRICES["per_gb_second"][arch] + PRICES["per_million_requests"] / 1e6
    return per_invocation / items * 1e6


def cost_table(
    durations: dict[str, dict[str, tuple[float, int]]],
    peak_mb: dict[str, float],
    memory_sizes: tuple[int, ...],
) -> list[dict]:
    """One row per system x request shape x memory size x architecture.

    Args:
        durations: `{system: {shape: (p50 ms, reviews per request)}}`.
        peak_mb: `{system: peak RSS}`; sizes below it are reported as not fitting (cost None).
        memory_sizes: Lambda memory sizes in MB.
    """
    cpus = len(os.sched_getaffinity(0))
    rows = []
    for system, shapes in durations.items():
        for shape, (p50_ms, items) in shapes.items():
            for memory in memory_sizes:
                fits = memory >= peak_mb.get(system, 0)
                for arch in PRICES["per_gb_second"]:
                    rows.append(
                        {
                            "system": system,
                            "shape": shape,
                            "memory_mb": memory,
                            "arch": arch,
                            "billed_ms": billed_ms(p50_ms, memory, cpus) if fits else None,
                            "usd_per_million": cost_per_million(p50_ms, memory, items, arch, cpus)
                            if fits
                            else None,
                        }
                    )
    return rows
