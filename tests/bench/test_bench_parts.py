"""The benchmark's arithmetic and selection rules, checked on hand-computed cases (fast, no processes)."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from bench.cost import PRICES, billed_ms, cost_table
from bench.errors import BenchError
from bench.inputs import pick_inputs
from bench.sizes import dependency_closure


def test_billed_duration_follows_lambda_cpu_share() -> None:
    assert billed_ms(10.2, 6.1, 3538) == 7  # two vCPUs: the two-core run, rounded up to 1 ms
    assert billed_ms(10.2, 6.1, 1769) == 11  # one vCPU: the one-core run
    assert billed_ms(10.2, 6.1, 3008) == 11  # between one and two: the one-core run (pessimistic)
    assert billed_ms(10.0, 6.0, 512) == math.ceil(10.0 * 1769 / 512)  # a share of one vCPU


def test_cost_per_million_from_prices() -> None:
    durations = {"ours": {"batch": {"one_cpu_ms": 100.0, "two_cpu_ms": 60.0, "items": 32}}}
    rows = cost_table(durations, {"ours": 700.0}, (512, 1024))
    too_small = [r for r in rows if r["memory_mb"] == 512]
    assert all(r["usd_per_million"] is None and r["billed_ms"] is None for r in too_small)
    x86 = next(r for r in rows if r["memory_mb"] == 1024 and r["arch"] == "x86_64")
    billed = math.ceil(100.0 * 1769 / 1024)
    per_invocation = billed / 1000 * PRICES["per_gb_second"]["x86_64"] + 0.20 / 1e6
    assert x86["usd_per_million"] == pytest.approx(per_invocation / 32 * 1e6)


def test_dependency_closure_follows_requirements() -> None:
    assert {"requests", "urllib3", "idna", "certifi", "charset-normalizer"} <= dependency_closure(
        ["requests"]
    )
    with pytest.raises(BenchError, match="not installed"):
        dependency_closure(["surely-not-an-installed-distribution"])


def test_inputs_need_a_short_and_a_long_review() -> None:
    short, long = " ".join(["fine"] * 12), " ".join(["word"] * 60)
    inputs = pick_inputs([long, short], max_length=32, batch_size=5)
    assert (inputs.short, inputs.long) == (short, long)
    assert inputs.batch == [long, short, long, short, long]  # the reviews in file order, repeated to fill
    with pytest.raises(BenchError, match="long=False"):
        pick_inputs([short], max_length=32, batch_size=4)


@pytest.mark.parametrize("change", ["none", "ngram weight", "model.onnx"])
def test_a_model_swapped_in_during_the_run_is_refused(tiny_artifact, tmp_path, change) -> None:
    from bench.run import _check_unchanged
    from handler.inference import Classifier

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_artifact, model_dir)
    served = Classifier.from_dir(model_dir, threads=1)
    manifest = json.loads((model_dir / "manifest.json").read_text())
    if change == "ngram weight":  # the same model.onnx, another blend: other answers
        manifest["ngrams"]["weight"] = 0.5
    elif change == "model.onnx":
        manifest["files"]["model.onnx"]["sha256"] = "0" * 64
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    if change == "none":
        _check_unchanged(model_dir, served)
    else:
        with pytest.raises(BenchError, match="was rebuilt during the benchmark"):
            _check_unchanged(model_dir, served)


def test_calls_measured_together_take_turns_in_every_round():
    """The floor and the handler are timed in the same rounds, so load that changes during a run falls on
    both alike (series one after the other moved their ratio from 1.01x to 1.26x on one tree)."""
    from bench.timing import measure_together

    order: list[str] = []
    series = measure_together({name: lambda name=name: order.append(name) for name in "ab"}, 3, 1, 2)
    assert order == ["a", "b"] * 3  # one warm-up round, then two timed ones
    shapes = {name: (one.items, len(one.samples_ms)) for name, one in series.items()}
    assert shapes == {"a": (3, 2), "b": (3, 2)}


def test_faithfulness_is_skipped_in_one_line_without_the_stars_set(tmp_path):
    from bench.explanations import stars_reviews

    expected = f"faithfulness skipped: {tmp_path / 'amazon-stars' / 'dev.jsonl'} not found"
    assert stars_reviews(tmp_path, 0).startswith(expected)
