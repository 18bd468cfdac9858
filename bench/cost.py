"""Lambda cost per million predictions, from measured warm durations, at several memory sizes.

Lambda gives CPU in proportion to memory: one vCPU at 1,769 MB, two at 3,538 MB, a time-sliced share of
one below 1,769 MB. Durations are measured on one core (pinned) and on two, so 1,769 MB and 3,538 MB
use a measurement directly; below 1,769 MB the one-core duration is stretched by the missing share;
between the two, the one-core duration is used (pessimistic). A size below the system's peak RSS cannot
run it at all. The arm64 rows price the x86_64 durations measured here: they show the price
difference, not Graviton's speed.
"""

from __future__ import annotations

import math

from handler.settings import MB_PER_VCPU

# AWS Lambda on-demand prices, us-east-1, first pricing tier, as listed on aws.amazon.com/lambda/pricing
# (checked 2026-11-24). Duration is billed per 1 ms; INIT of a cold start is not counted here.
PRICES = {
    "date": "2026-11-24",
    "region": "us-east-1",
    "per_gb_second": {"x86_64": 0.0000166667, "arm64": 0.0000133334},
    "per_million_requests": 0.20,
}
# Amazon Comprehend, the managed alternative (DetectSentiment, us-east-1, as issue 17 states it): $0.0001
# per unit of 100 characters, at least 3 units a request, only the first 500 characters counted.
COMPREHEND = {"per_unit": 0.0001, "unit_chars": 100, "min_units": 3, "max_chars": 500}


def billed_ms(one_cpu_ms: float, two_cpu_ms: float, memory_mb: int) -> int:
    """Billed duration at `memory_mb` from the one- and two-core measurements, rounded up to 1 ms."""
    if memory_mb >= 2 * MB_PER_VCPU:
        return math.ceil(two_cpu_ms)
    return math.ceil(one_cpu_ms * max(1.0, MB_PER_VCPU / memory_mb))


def cost_per_million(billed: int, memory_mb: int, items: int, arch: str) -> float:
    """Dollars per million predictions when each invocation of `billed` ms carries `items` reviews."""
    gb_seconds = memory_mb / 1024 * billed / 1000
    per_invocation = gb_seconds * PRICES["per_gb_second"][arch] + PRICES["per_million_requests"] / 1e6
    return per_invocation / items * 1e6


def cost_table(
    durations: dict[str, dict[str, dict]], peak_mb: dict[str, float], sizes: tuple[int, ...]
) -> list:
    """One row per system x request shape x memory size x architecture.

    Args:
        durations: `{system: {shape: {"one_cpu_ms": p50, "two_cpu_ms": p50, "items": reviews}}}`.
        peak_mb: `{system: peak RSS}`; sizes below it are reported as not fitting (cost None).
        sizes: Lambda memory sizes in MB.
    """
    rows = []
    for system, shapes in durations.items():
        for shape, measured in shapes.items():
            for memory in sizes:
                billed = billed_ms(measured["one_cpu_ms"], measured["two_cpu_ms"], memory)
                fits = memory >= peak_mb[system]
                for arch in PRICES["per_gb_second"]:
                    cost = cost_per_million(billed, memory, measured["items"], arch) if fits else None
                    rows.append(
                        {
                            "system": system,
                            "shape": shape,
                            "memory_mb": memory,
                            "arch": arch,
                            "billed_ms": billed if fits else None,
                            "usd_per_million": cost,
                        }
                    )
    return rows


def comprehend_per_million(texts: list[str]) -> float:
    """Amazon Comprehend's price for 1M predictions of texts like these (one request per text)."""
    c = COMPREHEND
    units = [max(c["min_units"], math.ceil(min(len(t), c["max_chars"]) / c["unit_chars"])) for t in texts]
    return c["per_unit"] * sum(units) / len(units) * 1e6
