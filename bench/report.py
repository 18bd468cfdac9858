"""bench.json (every number and raw sample) and bench.md (the tables a reader wants), written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from bench.config import DEV_SETS

SYSTEMS = {
    "ours": "(a) ours: handler via emulator",
    "floor": "(b) floor: raw ORT + tokenizers",
    "peer": "(c) peer: transformers pipeline via emulator",
}
SHAPES = {"short": "short review", "long": "long review", "batch": "batch"}


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _headline(results: dict) -> str:
    rows = [
        [
            r["metric"],
            _fmt(r["peer"]),
            _fmt(r["ours"]),
            r["unit"],
            f"{r['ratio']:+.2f} pts" if r["unit"] == "%" else f"{r['ratio']:.1f}x",
            r["target"],
            "yes" if r["met"] else "**no**",
        ]
        for r in results["headline"]
    ]
    return _table(["metric", "peer", "ours", "unit", "peer/ours", "target", "met"], rows)


def _latency(results: dict) -> str:
    runs = [(results["latency"], "2"), (results["latency_one_cpu"], "1")]
    rows = [
        [
            SYSTEMS[system],
            cpus,
            f"{SHAPES[shape]} ({s['items']})",
            _fmt(s["p50_ms"], 2),
            _fmt(s["p95_ms"], 2),
            _fmt(s["throughput"]),
            len(s["samples_ms"]),
        ]
        for latency, cpus in runs
        for system, shapes in latency.items()
        for shape, s in shapes.items()
    ]
    return _table(["system", "cores", "request (reviews)", "p50 ms", "p95 ms", "reviews/s", "runs"], rows)


def _process(results: dict) -> str:
    rows = [
        [
            SYSTEMS[system],
            _fmt(c["p50_ms"], 0),
            _fmt(min(c["samples_ms"]), 0),
            _fmt(max(c["samples_ms"]), 0),
            len(c["samples_ms"]),
            _fmt(results["memory"][system]["peak_rss_mb"], 0),
        ]
        for system, c in results["cold_start"].items()
    ]
    return _table(["system", "cold start median ms", "min", "max", "runs", "peak RSS MB"], rows)


def _size(results: dict) -> str:
    rows = [
        [
            SYSTEMS[system],
            _fmt(s["deps_mb"], 0),
            _fmt(s["model_mb"], 0),
            _fmt(s["total_mb"], 0),
            ", ".join(f"{name} {mb:.0f}" for name, mb in s["largest"]),
            ("~" if system == "peer" and s["image_mb"] else "") + _fmt(s["image_mb"], 0),
        ]
        for system, s in results["size"].items()
    ]
    return _table(
        ["system", "dependencies MB", "model MB", "total MB", "largest packages MB", "image MB"], rows
    )


def _accuracy(results: dict) -> str:
    sets = list(next(iter(results["accuracy"].values())))
    rows = [
        [system] + [f"{100 * per_set[name]['accuracy']:.2f}" for name in sets]
        for system, per_set in results["accuracy"].items()
    ]
    first = results["accuracy"]["int8"]
    table = _table(["system"] + [f"{name} (n={first[name]['n']})" for name in sets], rows)
    missing = [name for name in DEV_SETS if name not in sets]
    return table + (
        f"\n\nNot scored (no dev.jsonl in the data folder): {', '.join(missing)}." if missing else ""
    )


def _cost(results: dict) -> str:
    sizes = sorted({r["memory_mb"] for r in results["cost"]})
    cells: dict[tuple, dict[int, str]] = {}
    for r in results["cost"]:
        cell = (
            "does not fit"
            if r["billed_ms"] is None
            else f"${r['usd_per_million']:,.2f} ({r['billed_ms']} ms)"
        )
        cells.setdefault((r["system"], r["shape"], r["arch"]), {})[r["memory_mb"]] = cell
    rows = [
        [SYSTEMS[system].split(":")[0], SHAPES[shape], arch] + [by_size[m] for m in sizes]
        for (system, shape, arch), by_size in cells.items()
    ]
    return _table(["system", "request", "arch"] + [f"{m} MB" for m in sizes], rows)


# The report's prose lives beside this file so the text reads as markdown, not as string pieces.
_TEMPLATE = (Path(__file__).parent / "template.md").read_text(encoding="utf-8")


def markdown(results: dict) -> str:
    """The human report: headline first, then each measurement with how it was taken."""
    meta, prices = results["meta"], results["prices"]
    return _TEMPLATE.format(
        command=meta["command"],
        load_start=meta["load_average"]["start"],
        load_end=meta["load_average"]["end"],
        machine=meta["machine"],
        model=meta["model"],
        date=meta["date"],
        inputs=meta["inputs"],
        warmup=meta["config"]["warmup"],
        size_note=meta["size_note"],
        cpus=meta["cpus"],
        region=prices["region"],
        price_date=prices["date"],
        x86=prices["per_gb_second"]["x86_64"],
        arm=prices["per_gb_second"]["arm64"],
        requests=prices["per_million_requests"],
        headline=_headline(results),
        latency=_latency(results),
        process=_process(results),
        size=_size(results),
        accuracy=_accuracy(results),
        cost=_cost(results),
    )


def write_reports(results: dict, out_dir: Path) -> list[Path]:
    """Write bench.json and bench.md via temp files + rename, so a failed run leaves no half report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("bench.json", json.dumps(results, indent=2)), ("bench.md", markdown(results))):
        with tempfile.NamedTemporaryFile(
            "w", dir=out_dir, suffix=".tmp", delete=False, encoding="utf-8"
        ) as tmp:
            tmp.write(text)
        os.replace(tmp.name, out_dir / name)
        written.append(out_dir / name)
    return written
