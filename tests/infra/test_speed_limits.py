"""The stack refuses a memory size (or timeout) at which the worst invocation within the handler's limits
cannot finish: bench/speed.py's cost model, as infra/sizing.py records it, at the price of a window of the
model the image ships (its manifest's measured `window_cost`, with a margin for Lambda's CPU), or the default
model's without one. An API request runs at most the handler's window budget; a bulk batch is scored whole,
so with bulk on, its long rows set the worst case."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from export.config import ExportConfig
from handler.manifest import WindowCost
from handler.settings import DEFAULT_MAX_WINDOWS
from handler.settings import Settings as FunctionSettings
from infra.settings import (
    WORST_MS_PER_TEXT,
    WORST_MS_PER_WINDOW,
    Settings,
    SettingsError,
    smallest_memory_mb,
    worst_request_ms,
)
from infra.sizing import FASTER_CPU_MARGIN, LAMBDA_MARGIN, lambda_margin, model_cost

REPO = Path(__file__).parents[2]
LIMITS = FunctionSettings()
ONE_VCPU_MS = LIMITS.max_request_windows * WORST_MS_PER_WINDOW + LIMITS.max_texts * WORST_MS_PER_TEXT
BULK_WINDOWS = LIMITS.max_texts * DEFAULT_MAX_WINDOWS
NO_MODEL = REPO / "tests" / "infra" / "no-model-here"  # a synth before any build: the default's price


def settings(model_dir: Path = NO_MODEL, **context: str) -> Settings:
    return Settings.from_sources(context.get, {}, model_dir=model_dir)


def measured(artifact: Path, into: Path, cost: dict | None) -> Path:
    """A copy of `artifact` whose manifest records `cost` as its window cost (None: built before it)."""
    shutil.copytree(artifact, into)
    manifest = json.loads((into / "manifest.json").read_text())
    manifest.pop("window_cost", None)
    (into / "manifest.json").write_text(json.dumps(manifest | ({"window_cost": cost} if cost else {})))
    return into


def cost(ms: float, instructions: list[str] | None = None) -> dict:
    return {
        "ms": ms,
        "tokens": 256,
        "runs": 7,
        "threads": 1,
        "cpu": "AMD EPYC",
        "machine": "x86_64",
        "instructions": ["avx2"] if instructions is None else instructions,
    }


def test_the_worst_api_request_is_the_window_budget_within_5_s_at_one_vcpu():
    # The handler's budget is what keeps issue 17's 5 s: 32 texts x 8 windows would take about 14 s.
    assert worst_request_ms(1769) == pytest.approx(ONE_VCPU_MS)
    assert ONE_VCPU_MS <= 5000 < worst_request_ms(1769, BULK_WINDOWS, LIMITS.max_texts)


def test_the_worst_request_stretches_below_one_vcpu_and_no_faster_above():
    assert worst_request_ms(3008) == pytest.approx(ONE_VCPU_MS)
    assert worst_request_ms(512) == pytest.approx(ONE_VCPU_MS * 1769 / 512)


def test_the_smallest_memory_size_is_the_first_that_finishes_in_time():
    smallest = smallest_memory_mb(30)
    assert worst_request_ms(smallest) <= 30_000 < worst_request_ms(smallest - 1)
    assert smallest_memory_mb(int(ONE_VCPU_MS // 1000) - 1) is None


def test_the_default_stack_fits_the_worst_request_with_and_without_bulk():
    assert worst_request_ms(settings().memory_mb) <= settings().timeout_s * 1000
    assert settings(bulk="true").memory_mb == settings().memory_mb


def test_a_memory_size_too_small_for_the_timeout_is_refused_naming_the_least():
    least = smallest_memory_mb(30)
    with pytest.raises(SettingsError, match=rf"memoryMb \(SENTIMENT_MEMORY_MB\) must be at least {least} "):
        settings(memoryMb=str(least - 1))
    assert settings(memoryMb=str(least)).memory_mb == least


def test_with_bulk_a_whole_batch_of_long_rows_sets_the_least_memory():
    least = smallest_memory_mb(30, BULK_WINDOWS, LIMITS.max_texts)
    assert least > smallest_memory_mb(30)
    with pytest.raises(
        SettingsError,
        match=rf"at least {least} with timeoutS 30: a bulk batch of 32 rows of 8 windows \(setting "
        r"bulkBatchSize \(SENTIMENT_BULK_BATCH_SIZE\)\)",
    ):
        settings(bulk="true", memoryMb=str(least - 1))
    assert settings(bulk="true", memoryMb=str(least)).memory_mb == least
    # Smaller batches need less: the batch size is what the state machine sends.
    assert settings(bulk="true", bulkBatchSize="8", memoryMb=str(least - 1)).bulk_batch_size == 8


def test_a_timeout_no_memory_size_can_meet_is_refused():
    with pytest.raises(SettingsError, match=r"timeoutS \(SENTIMENT_TIMEOUT_S\) must be at least \d+: the "):
        settings(timeoutS=str(int(ONE_VCPU_MS // 1000) - 1), memoryMb="10240")


def test_a_bulk_row_is_priced_at_the_default_builds_windows_per_text():
    """The stack refuses, with bulk on, exactly the memory sizes too small for a batch of rows each as long
    as a default build reads (ExportConfig's max_windows: the two sides must not drift)."""
    batch = settings(bulk="true").bulk_batch_size
    rows = ExportConfig().max_windows
    least = smallest_memory_mb(settings().timeout_s, batch * rows, batch)
    assert least is not None
    with pytest.raises(SettingsError):
        settings(bulk="true", memoryMb=str(least - 1))
    assert settings(bulk="true", memoryMb=str(least)).memory_mb == least


def test_the_docs_state_the_sizes_the_stack_computes():
    """infra/README.md quotes the least memory sizes at the default model's price (no model built yet):
    computed here."""
    stack = settings()
    api = smallest_memory_mb(stack.timeout_s)
    bulk = smallest_memory_mb(
        stack.timeout_s, stack.bulk_batch_size * DEFAULT_MAX_WINDOWS, stack.bulk_batch_size
    )
    text = " ".join((REPO / "infra/README.md").read_text().split())  # as rendered: line breaks are spaces
    assert f"at least {api} MB with {stack.timeout_s} s" in text
    assert f"{bulk} MB with {stack.bulk_batch_size}-row batches" in text


def test_without_a_model_the_refusal_names_the_default_models_price():
    with pytest.raises(SettingsError, match=r"at 60 ms a window \(the default model's: no model in "):
        settings(memoryMb="128")


def test_the_margin_for_lambdas_cpu_depends_on_the_build_cpus_int8_instructions():
    assert lambda_margin(WindowCost(**cost(10))) == LAMBDA_MARGIN
    for faster in (["avx2", "avx512f", "avx512_vnni"], ["avx2", "avx_vnni"], ["asimddp", "i8mm"], None):
        assert lambda_margin(WindowCost(**cost(10) | {"instructions": faster})) == FASTER_CPU_MARGIN
    assert 1 < LAMBDA_MARGIN < FASTER_CPU_MARGIN


def test_a_measured_window_cost_sizes_the_stack(tiny_artifact, tmp_path):
    """A model whose window costs 200 ms on an AVX2 build machine: priced at 200 x the margin, refused at a
    memory size the default model fits in, accepted at its own least; bulk rows at its own max_windows."""
    model = measured(tiny_artifact, tmp_path / "model", cost(200))
    price = model_cost(model)
    assert price.ms_per_window == 200 * LAMBDA_MARGIN
    assert price.max_windows == json.loads((model / "manifest.json").read_text())["max_windows"]
    least = smallest_memory_mb(30, ms_per_window=price.ms_per_window)
    assert least > smallest_memory_mb(30)  # the default model's least
    with pytest.raises(
        SettingsError,
        match=rf"memoryMb \(SENTIMENT_MEMORY_MB\) must be at least {least} with timeoutS 30: the largest "
        rf"request accepted \(64 windows over 32 texts\) .* at 300 ms a window \(200 ms measured on AMD EPYC "
        r"\(avx2\) x1.5 for Lambda's CPU\)",
    ):
        settings(model, memoryMb=str(smallest_memory_mb(30)))
    assert settings(model, memoryMb=str(least)).memory_mb == least
    rows = price.max_windows * 32
    bulk = smallest_memory_mb(30, rows, 32, ms_per_window=price.ms_per_window)
    if bulk is None:  # no memory size fits a batch: the timeout is what must grow
        with pytest.raises(SettingsError, match=r"timeoutS \(SENTIMENT_TIMEOUT_S\) must be at least"):
            settings(model, bulk="true", memoryMb=str(least))
    else:
        with pytest.raises(SettingsError, match=rf"at least {bulk} with timeoutS 30: a bulk batch"):
            settings(model, bulk="true", memoryMb=str(bulk - 1))


def test_an_artifact_built_before_window_costs_is_sized_as_the_default_with_a_warning(
    tiny_artifact, tmp_path, caplog
):
    model = measured(tiny_artifact, tmp_path / "model", None)
    with caplog.at_level(logging.WARNING, logger="infra.sizing"):
        price = model_cost(model)
    assert price.ms_per_window == WORST_MS_PER_WINDOW
    assert "python -m export window-cost --model" in caplog.text
    assert "make model" in caplog.text
    assert len(caplog.records) == 1


def test_a_broken_shipped_model_fails_the_synth_in_one_line(tiny_artifact, tmp_path):
    model = measured(tiny_artifact, tmp_path / "model", cost(10))
    (model / "manifest.json").write_text("{not json")
    with pytest.raises(SettingsError, match=r"manifest.json.*rebuild it with make model$") as refused:
        settings(model)
    assert "\n" not in str(refused.value)
