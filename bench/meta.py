"""What a reader needs to reproduce or trust the numbers: command, machine, versions, inputs, settings."""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import platform
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import psutil

from bench.config import BenchConfig
from bench.inputs import Inputs
from handler.inference import Classifier

VERSIONS = ("onnxruntime", "tokenizers", "aws-lambda-powertools", "awslambdaric", "torch", "transformers")


def _machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    memory = psutil.virtual_memory().total / 2**30
    cpus = len(os.sched_getaffinity(0))
    return f"{cpus} CPUs ({model}), {memory:.0f} GiB RAM, Python {platform.python_version()}"


def _peer_max_length(checkpoint_dir: Path) -> object:
    path = checkpoint_dir / "tokenizer_config.json"
    return json.loads(path.read_text()).get("model_max_length", "?") if path.is_file() else "?"


def describe(config: BenchConfig, served: Classifier, inputs: Inputs, image_mb: float | None) -> dict:
    """The `meta` block of bench.json, also quoted in bench.md."""
    max_length = served.manifest.max_length
    windows = int(served.encode([inputs.long]).counts[0])
    mean_words = sum(len(t.split()) for t in inputs.batch) / len(inputs.batch)
    text = (
        f"Short review: {len(inputs.short.split())} words. Long review: {len(inputs.long.split())} words, "
        f"{windows} windows of {max_length} tokens for ours; the peer truncates at "
        f"{_peer_max_length(config.checkpoint_dir)} tokens. Batch: {len(inputs.batch)} reviews "
        f"(amazon-reviews dev in file order, {mean_words:.0f} words on average)"
    )
    if image_mb is None:
        size_note = (
            f"No `{config.image_name}` image was found (docker or buildah), so (a) is sized like (c): "
            "installed packages (requirements/runtime.txt and its dependencies) plus model files."
        )
    else:
        size_note = (
            f"(a) image `{config.image_name}`: {image_mb:,.0f} MB uncompressed, base included; the "
            "peer's (~) is that image with the peer's packages and model in place of ours."
        )
    size_note += (
        " Both would sit on the same Lambda Python base, which is left out of the totals. The peer "
        "is sized with this venv's CPU-only torch; a default `pip install torch` adds CUDA libraries."
    )
    return {
        "command": shlex.join(["python", "-m", "bench", *sys.argv[1:]]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "model": served.model_id,
        "inputs": text,
        "size_note": size_note,
        "config": config.model_dump(mode="json"),
        "versions": {name: metadata.version(name) for name in VERSIONS},
    }
