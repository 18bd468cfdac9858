"""The stack refuses a memory size (or timeout, or request limits) at which the worst invocation within the
function's limits cannot finish: bench/speed.py's cost model, as infra/sizing.py records it, at the price of
a window of the model the image ships (its manifest's measured `window_cost`, with a margin for Lambda's CPU),
or the default model's without one. An API request runs at most the window budget (maxRequestWindows) over
maxTexts texts and must answer within API Gateway's 29 s as well as the timeout; a bulk batch is scored whole
and is invoked directly, so with bulk on, its long rows must finish within the timeout. Every refusal names
each setting that would fix it alone, with the value that just fits."""

from __future__ import annotations

import json
import logging
import math
import re
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
from infra.sizing import API_GATEWAY_TIMEOUT_S, FASTER_CPU_MARGIN, LAMBDA_MARGIN, lambda_margin, model_cost

REPO = Path(__file__).parents[2]
LIMITS = FunctionSettings()
ONE_VCPU_MS = LIMITS.max_request_windows * WORST_MS_PER_WINDOW + LIMITS.max_texts * WORST_MS_PER_TEXT
BULK_WINDOWS = LIMITS.max_texts * DEFAULT_MAX_WINDOWS
NO_MODEL = REPO / "tests" / "infra" / "no-model-here"  # a synth before any build: the default's price
# What a RoBERTa-base window (12 layers, hidden 768, 256 tokens) measures on an AVX2 build machine like the
# project's (tests/export/test_window_cost.py builds the stand-in and measures its own).
ROBERTA_BASE_MS = 400.0
# One change of the refusal: each `name (SENTIMENT_X) at least|most N` it sets.
FIX = re.compile(r"\((SENTIMENT_\w+)\)(?: and \w+ \((SENTIMENT_\w+)\))? at (least|most) (\d+)")


def settings(model_dir: Path = NO_MODEL, environ: dict[str, str] | None = None, **context: str) -> Settings:
    return Settings.from_sources(context.get, environ or {}, model_dir=model_dir)


def fixes(refusal: str) -> list[dict[str, int]]:
    """The settings changes a refusal proposes, each as {environment variable: value}; the last proposal
    (a cheaper model) sets none."""
    proposals = refusal.split("each of these fits it alone: ", 1)[1].split("; ")
    assert proposals[-1].startswith("a model whose window costs less (make model BASE_MODEL=")
    found = []
    for proposal in proposals[:-1]:
        change = {}
        for first, second, _, value in FIX.findall(proposal):
            change |= {name: int(value) for name in (first, second) if name}
        assert change, proposal
        found.append(change)
    return found


def refusal(model_dir: Path = NO_MODEL, **environ: str) -> str:
    with pytest.raises(SettingsError) as refused:
        settings(model_dir, environ)
    message = str(refused.value)
    assert "\n" not in message
    return message


def assert_each_fix_fits(message: str, model_dir: Path, **environ: str) -> list[dict[str, int]]:
    """Every change the refusal proposes is accepted alone; one that sets a single value is the bound: one
    step past it is refused again."""
    changes = fixes(message)
    for change in changes:
        fixed = environ | {name: str(value) for name, value in change.items()}
        assert settings(model_dir, fixed)
        if len(change) == 1:
            ((name, value),) = change.items()
            past = value - 1 if re.search(rf"\({name}\) at least", message) else value + 1
            with pytest.raises(SettingsError):
                settings(model_dir, fixed | {name: str(past)})
    return changes


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


def test_a_memory_size_too_small_for_api_gateways_29_s_is_refused_naming_every_fix():
    """The worst API request must answer within API Gateway's 29 s, whatever the function's timeout."""
    least = smallest_memory_mb(API_GATEWAY_TIMEOUT_S)
    for timeout in ("30", "300"):
        message = refusal(SENTIMENT_MEMORY_MB=str(least - 1), SENTIMENT_TIMEOUT_S=timeout)
        assert message.startswith("the largest request accepted (64 windows over 32 texts) takes about ")
        assert "past API Gateway's 29 s, at 60 ms a window" in message
        changes = assert_each_fix_fits(message, NO_MODEL, SENTIMENT_MEMORY_MB=str(least - 1))
        assert {"SENTIMENT_MEMORY_MB": least} in changes
        assert any("SENTIMENT_MAX_REQUEST_WINDOWS" in change for change in changes)
    assert settings(memoryMb=str(least)).memory_mb == least


def test_with_bulk_a_whole_batch_of_long_rows_must_finish_within_the_timeout():
    least = smallest_memory_mb(30, BULK_WINDOWS, LIMITS.max_texts)
    assert least > smallest_memory_mb(API_GATEWAY_TIMEOUT_S)
    message = refusal(SENTIMENT_BULK="true", SENTIMENT_MEMORY_MB=str(least - 1))
    assert message.startswith("a bulk batch of 32 rows of 8 windows takes about ")
    assert "past the 30 s of timeoutS (SENTIMENT_TIMEOUT_S)" in message
    changes = assert_each_fix_fits(
        message, NO_MODEL, SENTIMENT_BULK="true", SENTIMENT_MEMORY_MB=str(least - 1)
    )
    assert [set(change) for change in changes] == [
        {"SENTIMENT_MEMORY_MB"},
        {"SENTIMENT_TIMEOUT_S"},
        {"SENTIMENT_BULK_BATCH_SIZE"},
    ]
    assert {"SENTIMENT_MEMORY_MB": least} in changes
    assert settings(bulk="true", memoryMb=str(least)).memory_mb == least
    # Smaller batches need less: the batch size is what the state machine sends.
    assert settings(bulk="true", bulkBatchSize="8", memoryMb=str(least - 1)).bulk_batch_size == 8


def test_a_bulk_batch_may_take_longer_than_api_gateway_waits():
    """Bulk invokes the function directly: a timeout past 29 s lets a batch finish, not an API request."""
    batch_s = worst_request_ms(512, BULK_WINDOWS, LIMITS.max_texts) / 1000
    assert batch_s > API_GATEWAY_TIMEOUT_S
    assert settings(bulk="true", memoryMb="512", timeoutS=str(math.ceil(batch_s))).timeout_s > 29


def test_a_timeout_no_memory_size_can_meet_is_refused_naming_the_timeout_and_the_window_budget():
    short = int(ONE_VCPU_MS // 1000) - 1
    message = refusal(SENTIMENT_TIMEOUT_S=str(short), SENTIMENT_MEMORY_MB="10240")
    assert f"past the {short} s of timeoutS (SENTIMENT_TIMEOUT_S)" in message
    changes = assert_each_fix_fits(
        message, NO_MODEL, SENTIMENT_TIMEOUT_S=str(short), SENTIMENT_MEMORY_MB="10240"
    )
    assert [set(change) for change in changes] == [{"SENTIMENT_MAX_REQUEST_WINDOWS"}, {"SENTIMENT_TIMEOUT_S"}]


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
    api = smallest_memory_mb(min(stack.timeout_s, API_GATEWAY_TIMEOUT_S))
    bulk = smallest_memory_mb(
        stack.timeout_s, stack.bulk_batch_size * DEFAULT_MAX_WINDOWS, stack.bulk_batch_size
    )
    text = " ".join((REPO / "infra/README.md").read_text().split())  # as rendered: line breaks are spaces
    assert f"{api} MB for the largest request" in text
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
    least = smallest_memory_mb(API_GATEWAY_TIMEOUT_S, ms_per_window=price.ms_per_window)
    assert least > smallest_memory_mb(API_GATEWAY_TIMEOUT_S)  # the default model's least
    message = refusal(model, SENTIMENT_MEMORY_MB=str(smallest_memory_mb(API_GATEWAY_TIMEOUT_S)))
    assert re.search(
        r"^the largest request accepted \(64 windows over 32 texts\) .* at 300 ms a window \(200 ms measured "
        rf"on AMD EPYC \(avx2\) x1.5 for Lambda's CPU\); each of these fits it alone: memoryMb "
        rf"\(SENTIMENT_MEMORY_MB\) at least {least};",
        message,
    )
    assert settings(model, memoryMb=str(least)).memory_mb == least
    rows = price.max_windows * 32
    message = refusal(model, SENTIMENT_BULK="true", SENTIMENT_MEMORY_MB=str(least))
    assert message.startswith(f"a bulk batch of 32 rows of {price.max_windows} windows takes about ")
    bulk = smallest_memory_mb(30, rows, 32, ms_per_window=price.ms_per_window)
    changes = assert_each_fix_fits(message, model, SENTIMENT_BULK="true", SENTIMENT_MEMORY_MB=str(least))
    assert ({"SENTIMENT_MEMORY_MB": bulk} in changes) == (bulk is not None)  # None: more memory cannot help


def test_a_model_too_slow_for_64_windows_in_29_s_is_served_with_a_smaller_window_budget(
    tiny_artifact, tmp_path
):
    """A RoBERTa-base's window: 64 of them take longer than API Gateway waits even at a whole vCPU, so the
    defaults are refused and no memory size is proposed (none is fast enough); the window budget the
    refusal names is the largest that fits, is accepted, and is what the function's environment carries."""
    from infra.stack import _environment

    model = measured(tiny_artifact, tmp_path / "model", cost(ROBERTA_BASE_MS))
    price = model_cost(model).ms_per_window
    assert worst_request_ms(1769, ms_per_window=price) > API_GATEWAY_TIMEOUT_S * 1000
    message = refusal(model)
    assert "64 windows over 32 texts" in message
    assert "past API Gateway's 29 s, at 600 ms a window (400 ms measured on AMD EPYC (avx2)" in message
    (change,) = assert_each_fix_fits(message, model)
    budget = change["SENTIMENT_MAX_REQUEST_WINDOWS"]
    assert LIMITS.max_texts <= budget < 64
    served = settings(model, {"SENTIMENT_MAX_REQUEST_WINDOWS": str(budget)})
    assert _environment(served)["SENTIMENT_MAX_REQUEST_WINDOWS"] == str(budget)
    assert _environment(served)["SENTIMENT_MAX_TEXTS"] == str(LIMITS.max_texts)
    # A timeout past 29 s is no fix for an API request; it is for a bulk batch, invoked directly.
    assert refusal(model, SENTIMENT_TIMEOUT_S="900").startswith("the largest request accepted")
    bulk = refusal(model, SENTIMENT_BULK="true", SENTIMENT_MAX_REQUEST_WINDOWS=str(budget))
    assert bulk.startswith("a bulk batch of 32 rows")
    changes = assert_each_fix_fits(
        bulk, model, SENTIMENT_BULK="true", SENTIMENT_MAX_REQUEST_WINDOWS=str(budget)
    )
    assert [set(change) for change in changes] == [{"SENTIMENT_TIMEOUT_S"}, {"SENTIMENT_BULK_BATCH_SIZE"}]


def test_a_model_too_slow_for_a_window_a_text_is_served_with_fewer_texts(tiny_artifact, tmp_path):
    """Three times a RoBERTa-base's window (a RoBERTa-large): not even maxTexts windows fit in 29 s, so the
    refusal lowers maxTexts with the window budget (the function wants a window for each text); at a memory
    size too small for any budget, it proposes the memory and the budget together."""
    model = measured(tiny_artifact, tmp_path / "model", cost(3 * ROBERTA_BASE_MS))
    (change,) = assert_each_fix_fits(refusal(model), model)
    assert set(change) == {"SENTIMENT_MAX_REQUEST_WINDOWS", "SENTIMENT_MAX_TEXTS"}
    assert len(set(change.values())) == 1
    assert model_cost(model).max_windows <= change["SENTIMENT_MAX_TEXTS"] < LIMITS.max_texts
    (together,) = assert_each_fix_fits(
        refusal(model, SENTIMENT_MEMORY_MB="256"), model, SENTIMENT_MEMORY_MB="256"
    )
    assert set(together) == {"SENTIMENT_MEMORY_MB", "SENTIMENT_MAX_REQUEST_WINDOWS", "SENTIMENT_MAX_TEXTS"}


def test_the_request_limits_must_be_ones_the_function_starts_with(tiny_artifact):
    """The handler refuses to start with a window budget below maxTexts or below the model's max_windows,
    and a bulk batch above maxTexts: the stack refuses them first, naming the setting."""
    max_windows = model_cost(tiny_artifact).max_windows
    below = {"SENTIMENT_MAX_TEXTS": "1", "SENTIMENT_MAX_REQUEST_WINDOWS": str(max_windows - 1)}
    assert refusal(tiny_artifact, **below).startswith(
        f"setting maxRequestWindows (SENTIMENT_MAX_REQUEST_WINDOWS) must be at least {max_windows}, the "
        "max_windows of the model"
    )
    assert settings(tiny_artifact, below | {"SENTIMENT_MAX_REQUEST_WINDOWS": str(max_windows)})
    assert refusal(SENTIMENT_MAX_REQUEST_WINDOWS="31").startswith(
        "setting maxRequestWindows (SENTIMENT_MAX_REQUEST_WINDOWS) must be at least maxTexts (32)"
    )
    assert refusal(SENTIMENT_BULK="true", SENTIMENT_MAX_TEXTS="8", SENTIMENT_BULK_BATCH_SIZE="16").startswith(
        "setting bulkBatchSize (SENTIMENT_BULK_BATCH_SIZE) must be at most maxTexts (8)"
    )
    # Unset, the batch follows maxTexts.
    assert settings(bulk="true", maxTexts="8").bulk_batch_size == 8


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


def test_a_model_too_slow_to_deploy_still_runs_locally(tiny_artifact, tmp_path, monkeypatch):
    """make serve / make demo take the stack's timeout and Powertools names, not its pricing of build/model:
    a model no Lambda size fits is refused by the stack and still served by the emulator's environment."""
    from local.emulator import handler_env

    model = measured(tiny_artifact, tmp_path / "model", cost(5000))
    # As if this model were build/model, the one the stack prices by default.
    monkeypatch.setitem(Settings.__init__.__kwdefaults__, "model_dir", model)
    with pytest.raises(ValueError, match="5000 ms measured"):
        Settings()
    env = handler_env(model)
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == str(Settings.model_fields["timeout_s"].default)
    assert env["MODEL_DIR"] == str(model.resolve())
