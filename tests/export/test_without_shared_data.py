"""A user's machine has no ../shared/data (SENTIMENT_SHARED_DATA points at an empty folder here): `make model`
says at its start which Hub data stands in and that the published figures need the shared data, and with
the Hub unreachable fails in one line naming the make variables; `make eval` prints the figures the manifest
recorded at build time instead of failing. With the data sets in SENTIMENT_SHARED_DATA, both use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import standins

from export.__main__ import main
from export.data import SHARED_DATA, SHARED_DATA_VARIABLE, resolve_sources, shared_data, stand_in_notice

REPO = Path(__file__).parents[2]
FIXTURES = REPO / "tests" / "fixtures"


def build_without_shared_data(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    """`python -m export build` (what make model runs) on a machine without the shared data, the Hub
    unreachable."""
    env = os.environ | {SHARED_DATA_VARIABLE: str(tmp_path / "none"), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "export", "build", "--output", str(tmp_path / "model"), *options]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def error_lines(run: subprocess.CompletedProcess) -> list[str]:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    return [line for line in run.stderr.splitlines() if line.startswith("error:")]


def test_make_model_says_which_data_stands_in_and_fails_in_one_line_offline(tmp_path):
    run = build_without_shared_data(tmp_path)
    notice = [line for line in run.stderr.splitlines() if "the figures the README publishes" in line]
    assert len(notice) == 1
    assert "trains on the Hub's amazon_polarity:train (20,000 rows)" in notice[0]
    assert "is judged on the Hub's amazon_polarity:test (2,000 rows)" in notice[0]
    assert "point TRAIN_DATA= and DEV_DATA= at" in notice[0]
    assert run.stderr.index(notice[0]) < run.stderr.index("error:")  # said first
    [error] = error_lines(run)
    assert "amazon_polarity:train" in error
    assert "point TRAIN_DATA and DEV_DATA at your own" in error
    assert not (tmp_path / "model-checkpoint").exists()  # refused before any training


def test_with_own_data_the_default_extra_phrases_name_how_to_do_without(tmp_path):
    """Own train and dev files, the default SST-2 phrases not here and the Hub unreachable."""
    run = build_without_shared_data(
        tmp_path,
        "--train-data",
        str(FIXTURES / "reviews.csv"),
        "--dev-data",
        str(FIXTURES / "reviews-dev.csv"),
    )
    [error] = error_lines(run)
    assert "stanfordnlp/sst2:train" in error
    assert "MODEL_ARGS=\"--extra-train-data ''\"" in error
    assert "mixes in the Hub's stanfordnlp/sst2:train" in run.stderr


def shared_layout(root: Path) -> Path:
    """A copy of ../shared/data's layout holding the fixture reviews as amazon-reviews' train and dev."""
    for split, fixture in (("train", "reviews.csv"), ("dev", "reviews-dev.csv")):
        rows = standins.csv_rows(FIXTURES / fixture)
        standins.write_jsonl(_mkdir(root / "amazon-reviews") / f"{split}.jsonl", rows)
    return root


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_the_shared_data_can_be_anywhere(tmp_path, monkeypatch):
    monkeypatch.delenv(SHARED_DATA_VARIABLE, raising=False)
    assert shared_data() == SHARED_DATA  # ../shared/data beside the checkout, as before
    monkeypatch.setenv(SHARED_DATA_VARIABLE, str(shared_layout(tmp_path / "shared")))
    assert resolve_sources("default", "dev") == [(str(tmp_path / "shared/amazon-reviews/dev.jsonl"), 0)]
    assert stand_in_notice({"dev": "default"}) is None  # here: nothing to say
    assert stand_in_notice({"train": "default", "dev": "default"}) is None  # one of a role's files will do
    assert "mixes in the Hub's stanfordnlp/sst2:train" in stand_in_notice({"extra": "default"})
    assert stand_in_notice({"train": "my.jsonl", "dev": "split"}) is None  # own data: no default used


def test_make_eval_without_a_dev_set_prints_the_recorded_figures(tiny_build, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SHARED_DATA_VARIABLE, str(tmp_path / "none"))
    assert main(["evaluate", "--model", str(tiny_build.artifact), "--reports-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    recorded = tiny_build.manifest["metrics"]["int8"]
    assert f"measured when {tiny_build.artifact} was built ({tiny_build.manifest['created'][:10]})" in out
    assert f"`{tiny_build.config.dev_data}` ({recorded['n']} rows)" in out  # on which data
    assert f"| {recorded['n']} | {100 * recorded['accuracy']:.2f} % |" in out
    assert "make eval DATA=my_dev.jsonl" in out
    assert not list(tmp_path.glob("eval-*"))  # nothing scored, no report written


def test_make_eval_scores_the_dev_sets_it_finds(tiny_artifact, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(SHARED_DATA_VARIABLE, str(shared_layout(tmp_path / "shared")))
    assert main(["evaluate", "--model", str(tiny_artifact), "--reports-dir", str(tmp_path / "reports")]) == 0
    out = capsys.readouterr().out
    assert "amazon-reviews/dev.jsonl |" in out
    assert "recorded" not in out
    [report] = (tmp_path / "reports").glob("eval-*.json")
    assert json.loads(report.read_text())["metrics"]["n"] == len(
        standins.csv_rows(FIXTURES / "reviews-dev.csv")
    )


@pytest.mark.parametrize("role", ["train", "dev", "extra"])
def test_every_default_names_its_stand_in(role, tmp_path, monkeypatch):
    monkeypatch.setenv(SHARED_DATA_VARIABLE, str(tmp_path / "none"))
    [(hub, _)] = resolve_sources("default", role)
    assert ":" in hub
    assert hub in stand_in_notice({role: "default"})
