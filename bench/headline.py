"""The headline: peer / ours ratios against the product's targets."""

from __future__ import annotations

TARGETS = {"warm": 8.0, "cold": 15.0, "size": 10.0, "accuracy_points": -0.5}


def _ratio(metric: str, peer: float, ours: float, target: float, unit: str) -> dict:
    ratio = peer / ours
    return {
        "metric": metric,
        "peer": peer,
        "ours": ours,
        "unit": unit,
        "ratio": ratio,
        "target": f">= {target:g}x",
        "met": ratio >= target,
    }


def headline(results: dict) -> list[dict]:
    """Rows of (metric, peer, ours, ratio or difference, target, met) from the collected results."""
    latency, cold, size = results["latency"], results["cold_start"], results["size"]
    rows = [
        _ratio(
            "warm latency, one short review (p50)",
            latency["peer"]["short"]["p50_ms"],
            latency["ours"]["short"]["p50_ms"],
            TARGETS["warm"],
            "ms",
        ),
        _ratio(
            "cold start, process start to first answer (median)",
            cold["peer"]["p50_ms"],
            cold["ours"]["p50_ms"],
            TARGETS["cold"],
            "ms",
        ),
        _ratio(
            "deployed size, dependencies + model",
            size["peer"]["total_mb"],
            size["ours"]["total_mb"],
            TARGETS["size"],
            "MB",
        ),
    ]
    accuracy = results["accuracy"]
    for name in accuracy["int8"]:
        ours, peer = accuracy["int8"][name]["accuracy"] * 100, accuracy["peer"][name]["accuracy"] * 100
        rows.append(
            {
                "metric": f"accuracy {name}",
                "peer": peer,
                "ours": ours,
                "unit": "%",
                "ratio": ours - peer,
                "target": f">= {TARGETS['accuracy_points']:g} points",
                "met": ours - peer >= TARGETS["accuracy_points"],
            }
        )
    return rows
