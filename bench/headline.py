"""The headline: peer / ours ratios against the product's targets, and accuracy against the peer's."""

from __future__ import annotations

from collections.abc import Callable

# (metric, unit, least peer/ours ratio, where each system's value is in the results)
RATIOS: tuple[tuple[str, str, float, Callable[[dict, str], float]], ...] = (
    (
        "warm latency, short review, 1 core (p50)",
        "ms",
        8.0,
        lambda r, s: r["latency_one_cpu"][s]["short"]["p50_ms"],
    ),
    ("warm latency, short review, 2 cores (p50)", "ms", 8.0, lambda r, s: r["latency"][s]["short"]["p50_ms"]),
    (
        "cold start, process start to first answer (median)",
        "ms",
        15.0,
        lambda r, s: r["cold_start"][s]["p50_ms"],
    ),
    ("deployed size, dependencies + model", "MB", 10.0, lambda r, s: r["size"][s]["total_mb"]),
)
MAX_ACCURACY_LOSS = 0.5  # points below the peer, per dev set


def _row(metric: str, unit: str, values: tuple[float, float], ratio: float, target: str, met: bool) -> dict:
    return {
        "metric": metric,
        "unit": unit,
        "peer": values[0],
        "ours": values[1],
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def headline(results: dict) -> list[dict]:
    """Rows of metric, peer, ours, ratio (accuracy: ours - peer in points), target and whether it is met."""
    rows = []
    for metric, unit, least, value in RATIOS:
        peer, ours = value(results, "peer"), value(results, "ours")
        rows.append(_row(metric, unit, (peer, ours), peer / ours, f">= {least:g}x", peer / ours >= least))
    for name, ours_scores in results["accuracy"]["int8"].items():
        ours, peer = 100 * ours_scores["accuracy"], 100 * results["accuracy"]["peer"][name]["accuracy"]
        target = f">= -{MAX_ACCURACY_LOSS:g} points"
        rows.append(
            _row(
                f"accuracy {name}", "%", (peer, ours), ours - peer, target, ours - peer >= -MAX_ACCURACY_LOSS
            )
        )
    return rows
