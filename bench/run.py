"""Sequence one benchmark run: inputs, latency, cold start, memory, size, accuracy, cost, then reports."""

from __future__ import annotations

import logging
import os
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np

from bench import accuracy, emulated, explanations, sizes
from bench.config import BenchConfig
from bench.cost import COMPREHEND, PRICES, comprehend_per_million, cost_table
from bench.cpus import ONE_CPU, TWO_CPUS, pinned
from bench.errors import BenchError
from bench.floor import Floor
from bench.headline import headline, speed_targets
from bench.inputs import Inputs, pick_inputs
from bench.meta import describe
from bench.speed import speed
from bench.timing import measure
from export.artifacts import checkpoint_entries
from export.data import load_examples
from export.errors import DataError
from handler.artifact import read_manifest
from handler.errors import ArtifactError
from handler.inference import Classifier

log_info = logging.getLogger("bench").info
# What the image installs, exactly (the Dockerfile's `pip install --no-deps`).
RUNTIME_LOCK = Path(__file__).resolve().parents[1] / "requirements" / "runtime.lock"
PEER_REQUIREMENTS = ["torch", "transformers"]
PRICED_SHAPES = ("short", "batch")  # single and batched predictions, for the cost table
INPUT_SET = "amazon-reviews"  # the only dev set with reviews longer than the model's window


def _served(config: BenchConfig) -> Classifier:
    """The artifact, after checking the PyTorch checkpoint and the fp32 export beside it are its own.

    A build the accuracy gate refused leaves its checkpoint and fp32 export in place and the previous
    artifact untouched: comparing them would pit two different models against each other.
    """
    try:
        manifest = read_manifest(config.model_dir)
        if not config.checkpoint_dir.is_dir():
            raise BenchError(f"{config.checkpoint_dir} not found: the PyTorch peer runs it (`make model`)")
        origin = manifest.checkpoint
        descendants = {
            config.checkpoint_dir: checkpoint_entries(config.checkpoint_dir),
            config.fp32_dir: read_manifest(config.fp32_dir).checkpoint,
        }
        for path, checkpoint in descendants.items():
            if checkpoint != origin:
                raise BenchError(
                    f"{path} does not come from the checkpoint {config.model_dir} was exported from (a later "
                    "build refused by the gate, or an artifact older than that check): run `make model`"
                )
        return Classifier.from_dir(config.model_dir, manifest=manifest)
    except ArtifactError as err:
        raise BenchError(str(err)) from err


def _input_reviews(data_dir: Path) -> list[str]:
    """The reviews the latency inputs come from; checked before any model loads.

    Raises:
        BenchError: no amazon-reviews dev set (the other sets only feed the accuracy table), or unreadable.
    """
    path = data_dir / INPUT_SET / "dev.jsonl"
    if not path.is_file():
        raise BenchError(f"{path} not found: the latency inputs are picked from it")
    try:
        return load_examples(str(path)).texts
    except DataError as err:
        raise BenchError(str(err)) from err


def _check_unchanged(model_dir: Path, served: Classifier) -> None:
    """Refuse results that mix two models: `make model` may swap the artifact in during a long run."""
    try:
        rebuilt = read_manifest(model_dir).model_id != served.model_id  # covers ngrams.onnx and its weight
    except ArtifactError:  # caught in the middle of a swap, or a build refused half-way: not what was served
        rebuilt = True
    if rebuilt:
        raise BenchError(f"{model_dir} was rebuilt during the benchmark; run it again")


def _latency(config: BenchConfig, served: Classifier, inputs: Inputs, log: IO[str]) -> dict:
    """Warm series of the floor, ours and the peer on two cores; ours and the peer again on one."""
    shapes = {"short": [inputs.short], "long": [inputs.long], "batch": inputs.batch}
    repeat = {"short": config.repeat_single, "long": config.repeat_single, "batch": config.repeat_batch}
    log_info("warm latency of the floor, in process")
    floor = Floor(served)
    measured = {"latency": {"floor": {}}, "latency_one_cpu": {}, "memory": {}}
    for shape, texts in shapes.items():
        measured["latency"]["floor"][shape] = measure(
            partial(floor.probabilities, texts), len(texts), config.warmup, repeat[shape]
        )
    priced = {shape: shapes[shape] for shape in PRICED_SHAPES}
    for function in (emulated.ours(config.model_dir), emulated.peer(config.checkpoint_dir)):
        log_info("warm latency of %s through the emulator, on 2 cores then on 1", function.name)
        two, peak_two = emulated.warm_series(function, shapes, config.warmup, repeat, log)
        one, peak_one = emulated.warm_series(function, priced, config.warmup, repeat, log, cpus=ONE_CPU)
        measured["latency"][function.name], measured["latency_one_cpu"][function.name] = two, one
        measured["memory"][function.name] = {"peak_rss_mb": max(peak_two, peak_one)}
    for key in ("latency", "latency_one_cpu"):
        measured[key] = {
            s: {k: v.summary() for k, v in by_shape.items()} for s, by_shape in measured[key].items()
        }
    return measured


def _cold_starts(config: BenchConfig, inputs: Inputs, log: IO[str]) -> dict:
    event = emulated.predict_event([inputs.short])
    cold = {}
    for function in (emulated.ours(config.model_dir), emulated.peer(config.checkpoint_dir)):
        log_info("%d cold starts of %s", config.cold_starts, function.name)
        samples = emulated.cold_starts(function, event, config.cold_starts, log)
        cold[function.name] = {"samples_ms": samples, "p50_ms": float(np.median(samples))}
    return cold


def _size(per_package: dict[str, float], model_dir: Path, image_mb: float | None = None) -> dict:
    deps, model = sum(per_package.values()), sizes.directory_bytes(model_dir) / 1e6
    largest = sorted(per_package.items(), key=lambda item: -item[1])[:3]
    return {
        "deps_mb": deps,
        "model_mb": model,
        "total_mb": deps + model,
        "largest": largest,
        "image_mb": image_mb,
    }


def _cost(results: dict, memory_sizes: tuple[int, ...]) -> list[dict]:
    two, one = results["latency"], results["latency_one_cpu"]
    durations = {
        system: {
            shape: {
                "one_cpu_ms": one[system][shape]["p50_ms"],
                "two_cpu_ms": two[system][shape]["p50_ms"],
                "items": two[system][shape]["items"],
            }
            for shape in PRICED_SHAPES
        }
        for system in one
    }
    peak = {system: m["peak_rss_mb"] for system, m in results["memory"].items()}
    return cost_table(durations, peak, memory_sizes)


def run(config: BenchConfig) -> dict:
    """Measure everything and return the results, JSON-ready (what bench.json holds).

    Two cores stand for Lambda's two vCPUs (3,538 MB): the run is pinned to two, so a bigger machine
    measures the same thing.
    """
    with pinned(TWO_CPUS):
        return _run(config)


def _run(config: BenchConfig) -> dict:
    load_start = os.getloadavg()[0]
    if load_start > len(os.sched_getaffinity(0)) / 2:
        logging.getLogger("bench").warning("load average %.1f: other work will slow every timing", load_start)
    reviews = _input_reviews(config.data_dir)
    served = _served(config)
    inputs = pick_inputs(reviews, served.manifest.max_length, config.batch_size)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    with (config.out_dir / "bench-emulator.log").open("w") as log:  # function logs, for when one fails
        results = _latency(config, served, inputs, log)
        results["cold_start"] = _cold_starts(config, inputs, log)
    log_info("cold-start stages, warm stages and the worst request, in fresh processes on 1 core")
    results["speed"] = speed(
        config.model_dir, config.checkpoint_dir, inputs, config.cold_starts, config.repeat_single
    )
    results["explanations"] = explanations.measure(
        config.model_dir, served, reviews, config.data_dir, config.explain_limit, config.repeat_single
    )
    results["speed"]["comprehend_usd_per_million"] = {
        "short": comprehend_per_million([inputs.short]),
        "batch": comprehend_per_million(inputs.batch),
    }
    results["size"] = {
        "ours": _size(
            sizes.image_packages_mb(RUNTIME_LOCK), config.model_dir, sizes.image_mb(config.image_name)
        ),
        "peer": _size(sizes.packages_mb(sizes.dependency_closure(PEER_REQUIREMENTS)), config.checkpoint_dir),
    }
    ours, peer = results["size"]["ours"], results["size"]["peer"]
    if ours["image_mb"] is not None:  # the same base with the peer's packages and model instead of ours
        peer["image_mb"] = ours["image_mb"] - ours["total_mb"] + peer["total_mb"]
    log_info("accuracy on the dev sets")
    sets = accuracy.dev_sets(config.data_dir, config.accuracy_limit)
    results["accuracy"] = accuracy.accuracy_table(
        config.model_dir, config.fp32_dir, config.checkpoint_dir, sets
    )
    _check_unchanged(config.model_dir, served)
    results["cost"] = _cost(results, config.memory_sizes_mb)
    results["prices"] = {**PRICES, "comprehend": COMPREHEND}
    results["headline"] = headline(results)
    results["speed_targets"] = speed_targets(results)
    results["meta"] = describe(config, served, inputs, results["size"]["ours"]["image_mb"])
    results["meta"]["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    return results
