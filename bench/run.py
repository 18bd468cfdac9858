"""Sequence one benchmark run: inputs, latency, cold start, memory, size, accuracy, cost, then reports."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import IO

import numpy as np

from bench import accuracy, emulated, sizes
from bench.config import BenchConfig
from bench.cost import PRICES, cost_table
from bench.errors import BenchError
from bench.floor import Floor
from bench.headline import headline
from bench.inputs import Inputs, pick_inputs
from bench.meta import describe
from bench.timing import measure
from handler.errors import ArtifactError
from handler.inference import Classifier

log_info = logging.getLogger("bench").info
RUNTIME_REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements" / "runtime.txt"
PEER_REQUIREMENTS = ["torch", "transformers"]


def _served(config: BenchConfig) -> Classifier:
    for path in (config.model_dir, config.checkpoint_dir, config.fp32_dir):
        if not path.is_dir():
            raise BenchError(f"{path} not found: build the model first (`make model`)")
    try:
        return Classifier.from_dir(config.model_dir)
    except ArtifactError as err:
        raise BenchError(str(err)) from err


def _latency(config: BenchConfig, inputs: Inputs, log: IO[str]) -> tuple[dict, dict]:
    floor = Floor(config.model_dir)
    shapes = {"short": [inputs.short], "long": [inputs.long], "batch": inputs.batch}
    repeat = (config.repeat_single, config.repeat_batch)
    log_info("warm latency of floor in process")
    latency = {"floor": {}}
    for shape, texts in shapes.items():
        times = repeat[1] if shape == "batch" else repeat[0]
        latency["floor"][shape] = measure(lambda t=texts: floor.logits(t), len(texts), config.warmup, times)
    memory = {}
    for function in (emulated.ours(config.model_dir), emulated.peer(config.checkpoint_dir)):
        log_info("warm latency of %s through the emulator", function.name)
        latency[function.name], peak = emulated.warm_series(function, inputs, config.warmup, repeat, log)
        memory[function.name] = {"peak_rss_mb": peak}
    return {s: {k: v.summary() for k, v in shapes.items()} for s, shapes in latency.items()}, memory


def _cold_starts(config: BenchConfig, inputs: Inputs, log: IO[str]) -> dict:
    event = emulated.predict_event([inputs.short])
    cold = {}
    for function in (emulated.ours(config.model_dir), emulated.peer(config.checkpoint_dir)):
        log_info("%d cold starts of %s", config.cold_starts, function.name)
        samples = emulated.cold_starts(function, event, config.cold_starts, log)
        cold[function.name] = {"samples_ms": samples, "p50_ms": float(np.median(samples))}
    return cold


def _size(requirements: list[str], model_dir: Path, image: int | None = None) -> dict:
    names = sizes.dependency_closure(requirements)
    per_package = {name: sizes.installed_bytes({name}) / 1e6 for name in names}
    deps, model = sum(per_package.values()), sizes.directory_bytes(model_dir) / 1e6
    largest = sorted(per_package.items(), key=lambda item: -item[1])[:3]
    return {
        "deps_mb": deps,
        "model_mb": model,
        "total_mb": deps + model,
        "largest": largest,
        "image_mb": None if image is None else image / 1e6,
    }


def run(config: BenchConfig) -> dict:
    """Measure everything and return the results, JSON-ready (what bench.json holds)."""
    served = _served(config)
    reviews = accuracy.dev_sets(config.data_dir, 0)["amazon-reviews"].texts
    inputs = pick_inputs(reviews, int(served.manifest["max_length"]), config.batch_size)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    with (config.out_dir / "bench-emulator.log").open("w") as log:  # function logs, for when one fails
        latency, memory = _latency(config, inputs, log)
        results = {"latency": latency, "memory": memory, "cold_start": _cold_starts(config, inputs, log)}
    image = sizes.image_bytes(config.image_name)
    results["size"] = {
        "ours": _size(sizes.read_requirements(RUNTIME_REQUIREMENTS), config.model_dir, image),
        "peer": _size(PEER_REQUIREMENTS, config.checkpoint_dir),
    }
    log_info("accuracy on the dev sets")
    sets = accuracy.dev_sets(config.data_dir, config.accuracy_limit)
    results["accuracy"] = accuracy.accuracy_table(
        config.model_dir, config.fp32_dir, config.checkpoint_dir, sets
    )
    durations = {
        s: {shape: (latency[s][shape]["p50_ms"], latency[s][shape]["items"]) for shape in ("short", "batch")}
        for s in ("ours", "peer")
    }
    peak = {s: m["peak_rss_mb"] for s, m in memory.items()}
    results["cost"] = cost_table(durations, peak, config.memory_sizes_mb)
    results["prices"] = PRICES
    results["headline"] = headline(results)
    results["meta"] = describe(config, served, inputs, results["size"]["ours"]["image_mb"])
    return results
