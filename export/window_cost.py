"""What one full window costs the served int8 model on this machine: the figure the stack sizes Lambda's
memory and timeout by (infra/sizing.py), recorded in the manifest (`WindowCost`).

A window of `max_length` tokens, batch 1, through the handler's own Classifier (its session options, its
windowing) at one ORT thread, as Lambda runs it up to 1,769 MB: the median CPU time of a few warm runs
(wall time on a shared build machine measures its other processes too; on Lambda's vCPU the function runs
alone, and CPU time is its duration). The CPU it ran on is recorded beside it, since a build machine's CPU
is faster than Lambda's, by how much depending on the int8 instructions it has (infra/sizing.py chooses
the margin from them).
"""

from __future__ import annotations

import logging
import platform
import shutil
import statistics
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from export import artifacts
from export.errors import ExportError
from handler.artifact import read_manifest
from handler.inference import Classifier
from handler.manifest import MANIFEST_FILE, Manifest, WindowCost

log = logging.getLogger(__name__)
THREADS = 1  # Lambda's share below 1,769 MB is one vCPU at most (handler/settings.py, lambda_threads)
WARMUP = 2
RUNS = 7
# The flags (Linux /proc/cpuinfo) of the instructions ONNX Runtime's int8 kernels use: AVX2 is what Lambda's
# x86 CPUs are documented to have; the others make a build machine's int8 windows faster than Lambda's.
INT8_INSTRUCTIONS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")


def measure(directory: Path, manifest: Manifest, runs: int = RUNS) -> WindowCost:
    """The median time of one full window of the artifact in `directory` (its manifest given, as the build
    has it before writing it), after WARMUP untimed runs.

    Raises:
        ExportError: the tokenizer cannot fill a window (it never should: the text is longer than one).
    """
    classifier = Classifier.from_dir(directory, threads=THREADS, manifest=manifest)
    words = " ".join(f"review{number}" for number in range(2 * manifest.max_length))
    encoded = classifier.encode([words])
    one = replace(encoded, feeds=encoded.feeds[:1])
    tokens = one.feeds[0]["input_ids"].shape[1]
    if tokens != manifest.max_length:
        raise ExportError(
            f"a window of {tokens} tokens, not max_length {manifest.max_length}: cannot time one"
        )
    for _ in range(WARMUP):
        classifier.logits(one)
    times = []
    for _ in range(runs):
        start = time.process_time()  # CPU time: other processes on a busy build machine add little to it
        classifier.logits(one)
        times.append(1000 * (time.process_time() - start))
    cost = WindowCost(
        ms=statistics.median(times),
        tokens=tokens,
        runs=runs,
        threads=THREADS,
        cpu=cpu_description(),
        machine=platform.machine(),
        instructions=cpu_instructions(),
    )
    log.info(
        "a full window (%d tokens, %d ORT thread) costs %.1f ms of CPU on %s (median of %d)",
        tokens,
        THREADS,
        cost.ms,
        cost.cpu,
        runs,
    )
    return cost


def cpu_description() -> str:
    """The CPU's name: /proc/cpuinfo's model name (Linux x86), sysctl's brand string (macOS), else what
    Python's platform module knows."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    if platform.system() == "Darwin":
        found = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, check=False
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_instructions() -> list[str] | None:
    """Which of INT8_INSTRUCTIONS the CPU has, from /proc/cpuinfo's flags (x86) or features (Arm); None
    where that file is not (macOS, Windows): unknown."""
    text = _cpuinfo()
    flags = {
        flag
        for line in text.splitlines()
        if line.startswith(("flags", "Features"))
        for flag in line.partition(":")[2].split()
    }
    return [name for name in INT8_INSTRUCTIONS if name in flags] if text else None


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def add_window_cost(destination: Path) -> Manifest:
    """Measure and record the window cost of an artifact built before the build did (model, files and model
    id unchanged; only the manifest gains `window_cost`), swapped in whole as a build's directory is.

    Raises:
        ArtifactError: `destination` is not a valid artifact.
    """
    manifest = read_manifest(destination)
    with artifacts.staged(destination) as directory:
        shutil.copytree(
            destination, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST_FILE)
        )
        fields = manifest.model_dump(exclude={"window_cost"})
        manifest = Manifest(**fields, window_cost=measure(directory, manifest))
        artifacts.write_manifest(directory, manifest)
    log.info("%s: window cost recorded (model %s unchanged)", destination, manifest.model_id)
    return manifest
