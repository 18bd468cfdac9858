"""The build measures what one full window of its int8 model costs (the handler's own scoring code, one ORT
thread), records it in the manifest, and the stack sizes Lambda's memory by it: a Hub-like RoBERTa stand-in
costs more than the tiny model, and the stack refuses a memory size too small for it."""

from __future__ import annotations

import json
import math
import re
import shutil
import sys

import pytest
import standins
from standins import ROBERTA_BASE, ROBERTA_SMALL

from export.__main__ import main
from export.window_cost import RUNS, THREADS
from handler.artifact import read_manifest
from handler.settings import MB_PER_VCPU
from infra.settings import Settings, SettingsError
from infra.sizing import (
    API_GATEWAY_TIMEOUT_S,
    API_MAX_TEXTS,
    API_WORST_WINDOWS,
    model_cost,
    smallest_memory_mb,
    worst_request_ms,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_the_build_records_what_a_full_window_costs(tiny_build):
    cost = tiny_build.manifest["window_cost"]
    assert cost["ms"] > 0
    assert cost["tokens"] == tiny_build.config.max_length  # a full window, what a long text's windows cost
    assert cost["threads"] == THREADS == 1  # Lambda's share up to 1,769 MB
    assert cost["runs"] == RUNS
    assert cost["cpu"]
    assert cost["machine"]
    if sys.platform == "linux":  # read from /proc/cpuinfo
        assert isinstance(cost["instructions"], list)


def sizes_the_stack(model_dir, timeout_s: int) -> int:
    """The least memory the stack accepts for `model_dir` at `timeout_s`, after checking it refuses one MB
    less, naming the model's measured cost and the setting to change (an API request: within API Gateway's
    29 s too)."""
    price = model_cost(model_dir)
    least = smallest_memory_mb(min(timeout_s, API_GATEWAY_TIMEOUT_S), ms_per_window=price.ms_per_window)
    assert least is not None
    assert least > 128
    context = {"timeoutS": str(timeout_s)}
    with pytest.raises(SettingsError, match=rf"memoryMb \(SENTIMENT_MEMORY_MB\) at least {least};"):
        Settings.from_sources((context | {"memoryMb": str(least - 1)}).get, {}, model_dir=model_dir)
    accepted = Settings.from_sources((context | {"memoryMb": str(least)}).get, {}, model_dir=model_dir)
    assert accepted.memory_mb == least
    return least


def test_a_heavier_roberta_costs_more_a_window_and_sizes_the_stack(tmp_path, make_tiny_config, tiny_build):
    """A 4-layer RoBERTa of hidden 256 (the 3-class Twitter model's layout) exported as it is, at 128-token
    windows: its window costs far more than the tiny model's 32-token one, and the stack sizes by it."""
    config, manifest = standins.export_as_is(
        ROBERTA_SMALL, tmp_path, make_tiny_config, max_length=128, window_stride=32
    )
    cost, tiny = manifest["window_cost"], tiny_build.manifest["window_cost"]
    print(f"window cost: tiny {tiny['ms']:.2f} ms, {ROBERTA_SMALL.name} {cost['ms']:.2f} ms")
    assert cost["tokens"] == 128
    assert cost["ms"] > 10 * tiny["ms"]
    # A timeout its worst request fits at about 600 MB: a size the stack can refuse and accept around.
    one_vcpu_s = worst_request_ms(MB_PER_VCPU, ms_per_window=model_cost(config.output).ms_per_window) / 1000
    sizes_the_stack(config.output, math.ceil(one_vcpu_s * MB_PER_VCPU / 600))


@pytest.mark.slow  # exporting a real-size RoBERTa-base takes about 110 s on 2 busy cores
def test_a_roberta_base_stand_in_is_refused_the_memory_the_default_model_fits_in(tmp_path, make_tiny_config):
    """RoBERTa-base's own size (12 layers, hidden 768) at 256-token windows, exported as it is: the memory
    size the stack accepts for the default model (priced without a manifest) is refused for it, naming its
    measured cost; at the default memory size, 64 windows take longer than API Gateway's 29 s (no memory size
    is enough), and the smaller window budget the refusal names is accepted."""
    config, manifest = standins.export_as_is(
        ROBERTA_BASE, tmp_path, make_tiny_config, max_length=256, window_stride=64
    )
    print(f"window cost: {ROBERTA_BASE.name} {manifest['window_cost']['ms']:.1f} ms")
    default_fits = smallest_memory_mb(API_GATEWAY_TIMEOUT_S)
    assert Settings.from_sources({"memoryMb": str(default_fits)}.get, {}, model_dir=tmp_path / "none")
    with pytest.raises(SettingsError, match=r"ms a window \(\d+ ms measured on .* for Lambda's CPU\)"):
        Settings.from_sources({"memoryMb": str(default_fits)}.get, {}, model_dir=config.output)
    price = model_cost(config.output).ms_per_window
    one_vcpu_s = worst_request_ms(MB_PER_VCPU, API_WORST_WINDOWS, API_MAX_TEXTS, ms_per_window=price) / 1000
    assert one_vcpu_s > API_GATEWAY_TIMEOUT_S
    with pytest.raises(SettingsError) as refused:
        Settings.from_sources({}.get, {}, model_dir=config.output)
    fixes = str(refused.value).split("each of these fits it alone: ", 1)[1]
    assert "memoryMb" not in fixes
    budget = re.match(r"maxRequestWindows \(SENTIMENT_MAX_REQUEST_WINDOWS\)(.*) at most (\d+);", fixes)
    assert budget is not None, fixes
    limits = {"maxRequestWindows": budget.group(2), "maxTexts": str(min(int(budget.group(2)), API_MAX_TEXTS))}
    assert (
        Settings.from_sources(limits.get, {}, model_dir=config.output).max_request_windows < API_WORST_WINDOWS
    )


def test_window_cost_records_it_for_an_artifact_built_before(tiny_artifact, tmp_path):
    """`python -m export window-cost` measures an older artifact in place: the manifest gains window_cost,
    the served files and the model id stay as they were."""
    model = tmp_path / "model"
    shutil.copytree(tiny_artifact, model)
    written = json.loads((model / "manifest.json").read_text())
    written.pop("window_cost")
    (model / "manifest.json").write_text(json.dumps(written))
    before = read_manifest(model)
    assert main(["window-cost", "--model", str(model)]) == 0
    after = read_manifest(model)
    assert after.window_cost is not None
    assert after.window_cost.tokens == after.max_length
    assert (after.model_id, after.files) == (before.model_id, before.files)
    assert after.model_dump(exclude={"window_cost"}) == before.model_dump()
