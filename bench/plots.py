"""PNG plots of the results: latency, cold start, accuracy and cost, one figure each."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure  # no pyplot: no GUI backend or global state on build machines

from bench.report import SHAPES, SYSTEMS


def _latency(results: dict, ax: Axes) -> None:
    systems = list(results["latency"])
    width = 0.8 / len(systems)
    for i, system in enumerate(systems):
        series = results["latency"][system]
        p50 = [series[s]["p50_ms"] for s in SHAPES]
        p95 = [series[s]["p95_ms"] for s in SHAPES]
        x = np.arange(len(SHAPES)) + i * width
        ax.bar(x, p50, width, label=SYSTEMS[system], yerr=[[0] * len(p50), np.subtract(p95, p50)], capsize=3)
    ax.set_xticks(np.arange(len(SHAPES)) + width * (len(systems) - 1) / 2, list(SHAPES.values()))
    ax.set_yscale("log")
    ax.set_ylabel("warm latency, ms (bar p50, whisker p95; log scale)")


def _cold_start(results: dict, ax: Axes) -> None:
    cold = results["cold_start"]
    ax.boxplot(
        [np.divide(c["samples_ms"], 1000) for c in cold.values()], tick_labels=[SYSTEMS[s] for s in cold]
    )
    ax.set_ylabel("process start to first answer, s")


def _accuracy(results: dict, ax: Axes) -> None:
    accuracy = results["accuracy"]
    sets = list(next(iter(accuracy.values())))
    width = 0.8 / len(accuracy)
    for i, (system, per_set) in enumerate(accuracy.items()):
        ax.bar(
            np.arange(len(sets)) + i * width,
            [100 * per_set[s]["accuracy"] for s in sets],
            width,
            label=system,
        )
    ax.set_xticks(np.arange(len(sets)) + width * (len(accuracy) - 1) / 2, sets)
    ax.set_ylabel("accuracy, %")
    ax.set_ylim(40, 100)


def _cost(results: dict, ax: Axes) -> None:
    rows = [r for r in results["cost"] if r["arch"] == "x86_64" and r["usd_per_million"] is not None]
    for system, shape in sorted({(r["system"], r["shape"]) for r in rows}):
        line = [
            (r["memory_mb"], r["usd_per_million"])
            for r in rows
            if (r["system"], r["shape"]) == (system, shape)
        ]
        ax.plot(
            *zip(*line, strict=True), marker="o", label=f"{SYSTEMS[system].split(':')[0]} {SHAPES[shape]}"
        )
    ax.set_xlabel("Lambda memory, MB")
    ax.set_ylabel("USD per 1M predictions (x86_64)")
    ax.set_yscale("log")


PLOTS = {"latency": _latency, "cold_start": _cold_start, "accuracy": _accuracy, "cost": _cost}


def write_plots(results: dict, out_dir: Path) -> list[Path]:
    """One PNG per plot in `out_dir` (bench-<name>.png)."""
    written = []
    for name, draw in PLOTS.items():
        fig = Figure(figsize=(9, 5))
        ax = fig.subplots()
        draw(results, ax)
        ax.set_title(f"{name.replace('_', ' ')} - {results['meta']['model']}")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(
                fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2
            )  # off the data
        fig.tight_layout()
        path = out_dir / f"bench-{name}.png"
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
