"""Smoke test: `python -m bench --quick` end to end on the tiny artifact, so the benchmark cannot rot.

Everything real runs (emulator, both handlers, floor, accuracy, sizes, cost, reports, plots), with tiny
repetition counts; the numbers are checked for shape and consistency, never for speed.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from bench.__main__ import main
from export.data import load_examples

SYSTEMS = {"ours", "floor", "peer"}
SHAPES = {"short", "long", "batch"}
DEV_FILE = Path(__file__).parents[1] / "fixtures" / "reviews-dev.csv"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dev_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder laid out like ../shared/data, holding the hand-written fixture reviews (amazon-stars
    too, with star ratings, for the explanations' faithfulness)."""
    root = tmp_path_factory.mktemp("data")
    (root / "amazon-reviews").mkdir()
    examples = load_examples(str(DEV_FILE))  # CSV with label names; the bench reads <set>/dev.jsonl
    rows = (json.dumps({"text": t, "label": y}) for t, y in zip(examples.texts, examples.labels, strict=True))
    (root / "amazon-reviews" / "dev.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "amazon-stars").mkdir()
    stars = (
        json.dumps({"text": t, "stars": 1 + 4 * y})
        for t, y in zip(examples.texts, examples.labels, strict=True)
    )
    (root / "amazon-stars" / "dev.jsonl").write_text("\n".join(stars) + "\n", encoding="utf-8")
    return root


def options(build, data: Path, out: Path) -> list[str]:
    return [
        "--model-dir",
        str(build.artifact),
        "--checkpoint-dir",
        str(build.config.checkpoint_dir),
        "--fp32-dir",
        str(build.config.fp32_dir),
        "--data-dir",
        str(data),
        "--out-dir",
        str(out),
    ]


@pytest.fixture(scope="module")
def report(tiny_build, dev_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One quick run over every dev row (16), with an image name that cannot exist."""
    out = tmp_path_factory.mktemp("reports")
    assert (
        main(
            [
                *options(tiny_build, dev_data, out),
                "--quick",
                "--accuracy-limit",
                "0",
                "--image-name",
                "no-such-image-for-bench-tests",
            ]
        )
        == 0
    )
    return out


@pytest.fixture(scope="module")
def results(report: Path) -> dict:
    return json.loads((report / "bench.json").read_text())


def test_reports_and_plots_are_written(report: Path) -> None:
    markdown = (report / "bench.md").read_text()
    assert "## Headline (peer / ours)" in markdown
    assert "Not scored (no dev.jsonl in the data folder): amazon-sentences, sst2." in markdown
    for name in ("latency", "cold_start", "accuracy", "cost"):
        assert (report / f"bench-{name}.png").read_bytes().startswith(b"\x89PNG")


def test_explanations_are_measured(report: Path, results: dict) -> None:
    """--quick: 4 amazon-stars reviews for faithfulness, both methods; every timed request answered."""
    faithful = results["explanations"]["faithfulness"]
    assert faithful["reviews"] == 4
    assert set(faithful["methods"]) == {"served", "leave_one_out"}
    assert faithful["stacked"]["max_abs"] < 0.01
    timed = results["explanations"]["cost"]["timed"]
    requests = results["explanations"]["cost"]["requests"]
    assert (requests["plain_25"]["words"], requests["explained_60"]["words"]) == (25, 60)
    # the tiny model's 32-token windows: the 60-word review's explanation is past the budget, not timed
    assert requests["explained_60"]["windows"] + requests["explained_60"]["explanation_windows"] > 64
    assert set(timed) == set(requests) - {"explained_60"}
    budget = 64  # the default SENTIMENT_MAX_REQUEST_WINDOWS
    for name in ("worst_explained_one_text", "worst_explained_max_texts"):
        used = requests[name]["windows"] + requests[name]["explanation_windows"]
        assert budget / 2 < used <= budget  # the most words that fit: most of the budget
    markdown = (report / "bench.md").read_text()
    assert "## Explanations: faithful and cheap?" in markdown
    assert "| a 60-word review, explained | 1 | 60 |" in markdown
    assert "over the budget: a 413" in markdown


def test_every_system_is_timed_on_every_shape(results: dict) -> None:
    assert set(results["latency"]) == SYSTEMS
    for shapes in results["latency"].values():
        assert set(shapes) == SHAPES
        assert shapes["batch"]["items"] == 4  # --quick batch size
        for shape, series in shapes.items():  # --quick: 3 timed runs of one text, 2 of the batch
            assert len(series["samples_ms"]) == (2 if shape == "batch" else 3)
            assert min(series["samples_ms"]) > 0
    for system in ("ours", "peer"):
        assert set(results["latency_one_cpu"][system]) == {
            "short",
            "batch",
        }  # the shapes the cost table prices
        assert len(results["cold_start"][system]["samples_ms"]) == 1
        assert results["memory"][system]["peak_rss_mb"] > 20  # a Python runtime with a model loaded


def test_served_accuracy_is_the_export_evaluation(results: dict, tiny_build) -> None:
    """The int8 row goes through the serving code on the same rows as the build's own dev evaluation."""
    int8 = results["accuracy"]["int8"]["amazon-reviews"]
    assert int8["n"] == 16
    assert int8["accuracy"] == pytest.approx(tiny_build.manifest["metrics"]["int8"]["accuracy"])
    assert set(results["accuracy"]) == {"int8", "fp32", "peer", "vader"}


@pytest.mark.parametrize(("memory_mb", "cpu_share"), [(1769, 1.0), (512, 512 / 1769)])
def test_cost_is_the_published_price_of_the_measured_duration(results: dict, memory_mb, cpu_share) -> None:
    """Worked by hand from AWS's price list (x86_64: $0.0000166667 per GB-second, $0.20 per million
    requests): at 1,769 MB Lambda gives one vCPU, so the one-core duration is billed as measured; at 512 MB
    a 512/1769 share of one, so the same work takes 1769/512 times as long."""
    assert results["memory"]["ours"]["peak_rss_mb"] < 512  # the tiny model fits both sizes
    one_core_ms = results["latency_one_cpu"]["ours"]["short"]["p50_ms"]
    billed = math.ceil(one_core_ms / cpu_share)
    (row,) = (
        r
        for r in results["cost"]
        if (r["system"], r["shape"], r["memory_mb"], r["arch"]) == ("ours", "short", memory_mb, "x86_64")
    )
    assert row["billed_ms"] == billed
    dollars = memory_mb / 1024 * billed / 1000 * 0.0000166667 + 0.20 / 1e6  # one review per invocation
    assert row["usd_per_million"] == pytest.approx(dollars * 1e6)


def test_sizes_are_measured(results: dict) -> None:
    assert results["size"]["ours"]["image_mb"] is None  # --image-name names no image
    assert results["size"]["peer"]["total_mb"] > results["size"]["ours"]["total_mb"]  # torch is in it


def test_bad_option_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--cold-starts", "0"])
    assert exit_.value.code == 2
    message = "error: setting 'cold_starts': Input should be greater than or equal to 1, got '0'\n"
    assert capsys.readouterr().err == message


def test_missing_model_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reviews = tmp_path / "data" / "amazon-reviews" / "dev.jsonl"  # inputs present: only the model is absent
    reviews.parent.mkdir(parents=True)
    reviews.write_text('{"text": "fine", "label": 1}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                *("--data-dir", str(tmp_path / "data")),
                *("--model-dir", str(tmp_path / "absent"), "--out-dir", str(tmp_path)),
            ]
        )
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: no model in {tmp_path / 'absent'} (missing")
    assert not (tmp_path / "bench.json").exists()


def test_missing_input_set_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Only sst2 present: refused before any model loads, naming the set the latency inputs need."""
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "dev.jsonl").write_text('{"text": "fine", "label": 1}\n', encoding="utf-8")
    with pytest.raises(SystemExit) as exit_:
        main(
            ["--data-dir", str(tmp_path), "--model-dir", str(tmp_path / "absent"), "--out-dir", str(tmp_path)]
        )
    assert exit_.value.code == 2
    expected = f"error: {tmp_path / 'amazon-reviews' / 'dev.jsonl'} not found: the latency inputs are picked"
    assert capsys.readouterr().err.startswith(expected)


def test_make_bench_passes_model_dir(tmp_path: Path, make_dry_run) -> None:
    done = make_dry_run("bench", f"MODEL_DIR={tmp_path}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith(f"-m bench --model-dir {tmp_path}")


@pytest.mark.parametrize("changed", ["checkpoint", "fp32"])
def test_a_checkpoint_or_fp32_export_of_another_build_is_refused(
    tiny_build, dev_data: Path, tmp_path: Path, capsys, changed: str
) -> None:
    """What a build refused by the gate leaves: its checkpoint and fp32 export beside the older artifact."""
    model, checkpoint, fp32 = (
        shutil.copytree(source, tmp_path / name)
        for name, source in (
            ("model", tiny_build.artifact),
            ("checkpoint", tiny_build.config.checkpoint_dir),
            ("fp32", tiny_build.config.fp32_dir),
        )
    )
    if changed == "checkpoint":
        (checkpoint / "model.safetensors").write_bytes(b"the weights of another build")
    else:
        manifest = json.loads((fp32 / "manifest.json").read_text())
        manifest["checkpoint"]["model.safetensors"]["sha256"] = "0" * 64
        (fp32 / "manifest.json").write_text(json.dumps(manifest))
    args = ["--model-dir", str(model), "--checkpoint-dir", str(checkpoint), "--fp32-dir", str(fp32)]
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--data-dir", str(dev_data), "--out-dir", str(tmp_path / "out"), "--quick"])
    assert exit_.value.code == 2
    expected = f"error: {tmp_path / changed} does not come from the checkpoint {model} was exported from"
    assert capsys.readouterr().err.startswith(expected)
