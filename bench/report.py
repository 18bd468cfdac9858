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


STAGES = (
    "libraries_ms",
    "powertools_models_ms",
    "model_load_ms",
    "resolvers_ms",
    "ready_ms",
    "first_request_ms",
)
WARM_STAGES = ("tokenize", "transformer", "ngrams", "floor", "handler")


def _span(stage: dict) -> str:
    return f"{_fmt(stage['p50_ms'], 0)} ({_fmt(stage['min_ms'], 0)}-{_fmt(stage['max_ms'], 0)})"


def _cold_stages(cold: dict) -> str:
    rows = [[name.removesuffix("_ms").replace("_", " "), _span(cold["ours"][name])] for name in STAGES]
    rows += [
        ["bare import of numpy + onnxruntime + tokenizers", _span(cold["bare"]["ready_ms"])],
        [
            "required: bare + pydantic, pydantic-settings, Powertools + the model's load (init's floor)",
            _span(cold["required"]["ready_ms"]),
        ],
        ["peer: ready (torch + transformers + pipeline)", _span(cold["peer"]["ready_ms"])],
        ["peer: first request", _span(cold["peer"]["first_request_ms"])],
    ]
    return _table(["stage", "ms"], rows)


def _floor_note(cold: dict) -> str:
    """How far the rules alone keep init from the bare imports, and what is left to our own modules."""
    ready = {system: cold[system]["ready_ms"]["p50_ms"] for system in ("bare", "required", "ours")}
    return (
        f"Under the project's rules (Powertools routing, validation and logging; pydantic-settings) no init "
        f"of this artifact is below the required row: {ready['required'] / ready['bare']:.2f}x the bare "
        f"imports before any code of ours runs. Our modules add {ready['ours'] - ready['required']:,.0f} ms "
        f"to it (ours / required {ready['ours'] / ready['required']:.2f}x)."
    )


def _warm_stages(warm: dict) -> str:
    rows = [
        [f"{shape} ({w['texts']} texts, {w['windows']} windows)"]
        + [_fmt(w[stage]["p50_ms"], 2) if stage in w else "-" for stage in WARM_STAGES]
        for shape, w in warm.items()
    ]
    return _table(["request", *WARM_STAGES], rows)


def _cost_model(model: dict, limits: dict) -> str:
    memory = model["min_memory_mb_for_timeout"]
    covers = "cover" if model["stack_covers_this_run"] else "do **not** cover"
    return (
        f"Cost model of the worst request (from its warm run): {model['ms_per_window']:.1f} ms per window + "
        f"{model['ms_per_text']:.1f} ms per text of {limits['max_text_chars']:,} characters; measured "
        f"{model['worst_measured_ms']:,.0f} ms. The worst case of the limits, {model['worst_windows']} "
        f"windows (SENTIMENT_MAX_REQUEST_WINDOWS {limits['max_request_windows']}) over {limits['max_texts']} "
        f"such texts, predicts {model['worst_predicted_ms']:,.0f} ms; within {model['budget_ms']:,} ms at "
        f"one core fit {model['windows_in_budget']} windows a request. Smallest memory size that finishes it "
        f"within the {model['timeout_s']} s timeout: "
        + (f"{memory:,} MB." if memory else "none up to one vCPU (1,769 MB).")
        + f" The stack's coefficients (infra/settings.py) {covers} this run's."
    )


def _speed(results: dict) -> str:
    """Issue 17's targets, the cold-start stages, the warm stages, the worst request's cost model."""
    speed = results["speed"]
    targets = _table(
        ["target", "measured", "wanted", "met"],
        [
            [r["metric"], _fmt(r["value"], 2), r["target"], "yes" if r["met"] else "**no**"]
            for r in results["speed_targets"]
        ],
    )
    return "\n\n".join(
        [
            targets,
            f"Cold start in process, ms, median (min-max) of {speed['cold']['processes']} fresh processes:",
            _cold_stages(speed["cold"]),
            _floor_note(speed["cold"]),
            "Warm, in process, p50 ms (the floor: tokenize + transformer + n-grams + blend; the handler: "
            "`lambda_handler` on the API Gateway event, validation, logging and metrics included):",
            _warm_stages(speed["warm"]),
            _cost_model(speed["cost_model"], speed["limits"]),
        ]
    )


EXPLAINED = {
    "plain_25": "a 25-word review",
    "explained_25": "the same, explained",
    "explained_60": "a 60-word review, explained",
    "worst_plain": "the worst request (bench/speed.py's)",
    "worst_explained_one_text": "the worst explained request: one text",
    "worst_explained_max_texts": "the worst explained request: max_texts texts",
}
METHODS = {"served": "served (two rounds over 9 words)", "leave_one_out": "leave-one-out (a copy a word)"}


def _faithfulness(faithful: dict) -> str:
    if "skipped" in faithful:
        return faithful["skipped"] + "."
    random_drop = faithful["random3_drop"]
    rows = [
        [
            METHODS[name],
            _fmt(m["copies_mean"]),
            _fmt(m["top3_drop"], 3),
            _fmt(random_drop, 3),
            f"{m['ratio_to_random']:.1f}x",
            _fmt(m["cpu_ms_mean"]),
            "yes" if m["top3_drop"] >= 0.30 and m["ratio_to_random"] >= 5 else "**no**",
        ]
        for name, m in faithful["methods"].items()
    ]
    stacked = faithful["stacked"]
    return (
        f"{faithful['reviews']:,} amazon-stars dev reviews of 8 to 60 words ({faithful['words_mean']:.1f} "
        "words on average):\n\n"
        + _table(
            [
                "method",
                "copies a review",
                "top-3 drop",
                "random-3 drop",
                "top / random",
                "CPU ms a review",
                "met (>= 0.30 and >= 5x)",
            ],
            rows,
        )
        + f"\n\nStacked runs against one run a window, on every one-word-removed copy of the first "
        f"{min(faithful['reviews'], 50)} reviews ({stacked['copies']:,} copies): largest difference of a "
        f"probability {stacked['max_abs']:.2g}, mean {stacked['mean_abs']:.2g}."
    )


def _times(ms: float, plain: float, worst: float) -> list[str]:
    return [_fmt(ms), f"{ms / plain:.1f}x", f"{ms / worst:.2f}x"]


def _explain_cost(cost: dict) -> str:
    timed, sizes = cost["timed"], cost["requests"]
    plain, worst = timed["plain_25"]["p50_ms"], timed["worst_plain"]["p50_ms"]
    rows = [
        [
            EXPLAINED[name],
            sizes[name]["texts"],
            f"{sizes[name]['words']:,}",
            sizes[name]["windows"],
            sizes[name]["explanation_windows"] or "-",
            *(
                _times(timed[name]["p50_ms"], plain, worst)
                if name in timed
                else ["over the budget: a 413", "-", "-"]
            ),
        ]
        for name in EXPLAINED
    ]
    ratio = timed["explained_25"]["p50_ms"] / plain
    return (
        _table(
            [
                "request",
                "texts",
                "words",
                "windows",
                "explanation windows",
                "p50 ms",
                "/ the 25-word review",
                "/ the worst request",
            ],
            rows,
        )
        + f"\n\nA 25-word review explained costs {ratio:.1f}x the plain request (target <= 10x: "
        + ("met" if ratio <= 10 else "**not met**")
        + ")."
    )


def _explanations(results: dict) -> str:
    explained = results["explanations"]
    return "\n\n".join([_faithfulness(explained["faithfulness"]), _explain_cost(explained["cost"])])


def _comprehend(results: dict) -> str:
    c, usd = results["prices"]["comprehend"], results["speed"]["comprehend_usd_per_million"]
    return (
        f"Amazon Comprehend (managed, no function to run): ${c['per_unit']} per {c['unit_chars']}-character "
        f"unit, {c['min_units']} units minimum per request, first {c['max_chars']} characters only: "
        f"${usd['short']:,.0f} per 1M of the short review, ${usd['batch']:,.0f} per 1M reviews like the "
        "batch's (one request per review)."
    )


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
        speed=_speed(results),
        comprehend=_comprehend(results),
        explanations=_explanations(results),
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
