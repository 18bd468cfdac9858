"""What the worst invocation of the shipped model costs at a Lambda memory size: the stack's memory and
timeout check (infra/settings.py) and the bench's cost model (bench/speed.py) price it here.

An invocation of `windows` windows over `texts` texts costs windows x ms per window + texts x ms per text at
one vCPU, stretched by 1,769 / memory_mb below one vCPU, where Lambda time-slices it (bench/README.md,
"Speed"). An API request runs at most SENTIMENT_MAX_REQUEST_WINDOWS windows over SENTIMENT_MAX_TEXTS texts,
and must answer within API Gateway's integration timeout as well as the function's; a bulk batch (a direct
invoke: no API Gateway) is scored whole, without that budget: each of its rows up to the model's
`max_windows` windows, within the function's timeout alone.

The ms per window is the shipped model's own: what `make model` measured one full window at on the build
machine (the manifest's `window_cost`), times a margin for Lambda's CPU being slower than the build
machine's (`lambda_margin`). Without a model in build/model (a synth before any build), the default model's
WORST_MS_PER_WINDOW stands in.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from handler.artifact import read_manifest
from handler.manifest import MANIFEST_FILE, WindowCost
from handler.settings import BUILT_MODEL_DIR, DEFAULT_MAX_WINDOWS, MB_PER_VCPU
from handler.settings import Settings as FunctionSettings

log = logging.getLogger(__name__)
# The default model's worst request at one vCPU, by bench/speed.py's cost model (bench/README.md, "Speed":
# 256-token windows, measured on a shared host): the price of a window when no model says its own.
WORST_MS_PER_WINDOW = 60.0
WORST_MS_PER_TEXT = 20.0  # the work around the windows (tokenizing, n-grams, the answer), for every model
API_WORST_WINDOWS = FunctionSettings.model_fields["max_request_windows"].default
API_MAX_TEXTS = FunctionSettings.model_fields["max_texts"].default
# API Gateway's integration timeout for a REST API, which the stack leaves at its default: past it the
# caller gets a 504 whatever the function's timeout (a Regional API may raise it by a quota request).
API_GATEWAY_TIMEOUT_S = 29
# The artifact the image ships: the Dockerfile copies build/model from the repository root.
SHIPPED_MODEL_DIR = Path(__file__).resolve().parents[1] / BUILT_MODEL_DIR
# A Lambda vCPU against the build machine's core, when that core ran the AVX2 int8 kernels Lambda's x86 CPUs
# run. The window is timed in CPU time (export/window_cost.py), so a busy build machine inflates it little;
# what is left is the clock: a desktop or laptop core runs at its turbo clock (4 to 5 GHz) where a Lambda
# vCPU, one hyperthread of a server core, runs at a server's sustained clock (about 2.5 to 3.5 GHz).
LAMBDA_MARGIN = 1.5
# ... when the build CPU had faster int8 instructions than AVX2 (AVX-512, VNNI, AMX on x86; Arm's dot
# products) or they could not be read (macOS): VNNI does in one instruction the multiply-add that AVX2 does
# in three, on registers twice as wide, and AMX more; a window is mostly such products, so about twice the
# clock's margin. An estimate: ONNX Runtime cannot be told to leave those instructions unused, so the build
# cannot time the AVX2 path on such a CPU.
FASTER_CPU_MARGIN = 3.0
LAMBDA_INSTRUCTIONS = frozenset({"avx2"})


@dataclass(frozen=True)
class ModelCost:
    """What the stack prices the shipped model at: ms per window at one Lambda vCPU, windows a bulk row may
    need, and where the price came from (for the refusal's message)."""

    ms_per_window: float
    max_windows: int
    basis: str


def lambda_margin(cost: WindowCost) -> float:
    """How much slower than the build machine a Lambda vCPU runs a window (see LAMBDA_MARGIN)."""
    if cost.instructions is not None and set(cost.instructions) == LAMBDA_INSTRUCTIONS:
        return LAMBDA_MARGIN
    return FASTER_CPU_MARGIN


def model_cost(model_dir: Path = SHIPPED_MODEL_DIR) -> ModelCost:
    """The price of the model in `model_dir` (default: the one the image ships), from its manifest's measured
    window cost; the default model's WORST_MS_PER_WINDOW when there is no model, or (with a warning) when it
    was built before the build measured windows.

    Raises:
        ArtifactError: `model_dir` has a manifest, but the artifact is broken (the message says how).
    """
    if not (model_dir / MANIFEST_FILE).is_file():
        return ModelCost(
            WORST_MS_PER_WINDOW, DEFAULT_MAX_WINDOWS, f"the default model's: no model in {model_dir}"
        )
    manifest = read_manifest(model_dir)
    cost = manifest.window_cost
    if cost is None:
        log.warning(
            "%s was built before builds measured what a window costs: sized as the default model (%g ms a "
            "window), which a larger model exceeds; record its own with `.venv/bin/python -m export "
            "window-cost --model %s` (seconds) or rebuild it with make model",
            model_dir,
            WORST_MS_PER_WINDOW,
            model_dir,
        )
        unmeasured = f"the default model's: {model_dir} has no measured window cost"
        return ModelCost(WORST_MS_PER_WINDOW, manifest.max_windows, unmeasured)
    margin = lambda_margin(cost)
    instructions = ", ".join(cost.instructions) if cost.instructions is not None else "instructions unknown"
    basis = f"{cost.ms:.0f} ms measured on {cost.cpu} ({instructions}) x{margin:g} for Lambda's CPU"
    return ModelCost(cost.ms * margin, manifest.max_windows, basis)


def worst_request_ms(
    memory_mb: int,
    windows: int = API_WORST_WINDOWS,
    texts: int = API_MAX_TEXTS,
    *,
    ms_per_window: float = WORST_MS_PER_WINDOW,
    ms_per_text: float = WORST_MS_PER_TEXT,
) -> float:
    """Estimated duration of an invocation of `windows` windows over `texts` texts at `memory_mb` (see above);
    by default the worst API request within the handler's limits at the default model's price (the stack
    passes the shipped model's, bench/speed.py the ones it measured)."""
    one_vcpu = windows * ms_per_window + texts * ms_per_text
    return one_vcpu * MB_PER_VCPU / min(memory_mb, MB_PER_VCPU)


def smallest_memory_mb(
    timeout_s: int,
    windows: int = API_WORST_WINDOWS,
    texts: int = API_MAX_TEXTS,
    *,
    ms_per_window: float = WORST_MS_PER_WINDOW,
    ms_per_text: float = WORST_MS_PER_TEXT,
) -> int | None:
    """The least memory (MB) at which that invocation (`worst_request_ms`) finishes within `timeout_s`; None
    when even one vCPU is too slow (the cost model claims nothing of more: ORT gets a second thread only at
    3,538 MB)."""
    costs = {"ms_per_window": ms_per_window, "ms_per_text": ms_per_text}
    return next(
        (
            m
            for m in range(128, MB_PER_VCPU + 1)
            if worst_request_ms(m, windows, texts, **costs) <= timeout_s * 1000
        ),
        None,
    )


def largest_that_fits(finishes: Callable[[int], bool], most: int, least: int = 1) -> int | None:
    """The largest n from `least` to `most` for which `finishes(n)` holds, None when none does: what a limit
    (windows a request, rows a batch) may be lowered to. `finishes` is monotone, as fewer windows and texts
    never take longer."""
    return next((n for n in range(most, least - 1, -1) if finishes(n)), None)
