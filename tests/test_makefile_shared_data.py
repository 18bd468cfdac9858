"""The Makefile's data defaults follow SENTIMENT_SHARED_DATA as export/data.py does: a copy of the shared data
kept elsewhere serves the star models' targets too, not only `make model` and `make eval`."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from export.data import SHARED_DATA_VARIABLE, shared_data
from tests.makefile_rules import REPO


def star_data(target: str, environ: dict[str, str], *args: str) -> tuple[Path, Path]:
    """The train and dev files `make -n TARGET` passes to the build, resolved from the repository root."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MODEL_DIR")}
    env.pop(SHARED_DATA_VARIABLE, None)
    done = subprocess.run(
        ["make", "-n", target, *args], cwd=REPO, env=env | environ, capture_output=True, text=True, check=True
    )
    command = shlex.split([line for line in done.stdout.splitlines() if " -m export build " in line][-1])
    train, dev = (command[command.index(flag) + 1] for flag in ("--train-data", "--dev-data"))
    return (REPO / train).resolve(), (REPO / dev).resolve()


@pytest.mark.parametrize("target", ["model-stars-3", "model-stars-5"])
@pytest.mark.parametrize("copy", [None, "/data/copy", "data-copy"])
def test_star_models_read_the_shared_data_where_the_build_finds_it(
    target: str, copy: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {SHARED_DATA_VARIABLE: copy} if copy else {}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    if not copy:
        monkeypatch.delenv(SHARED_DATA_VARIABLE, raising=False)
    monkeypatch.chdir(REPO)  # a relative copy is relative to where make (and every CLI) runs
    stars = (shared_data() / "amazon-stars").resolve()
    assert star_data(target, environ) == (stars / "train.jsonl", stars / "dev.jsonl")


def test_stars_data_given_wins_over_the_shared_data() -> None:
    train, dev = star_data("model-stars-3", {SHARED_DATA_VARIABLE: "/data/copy"}, "STARS_DATA=/mine")
    assert (train, dev) == (Path("/mine/train.jsonl"), Path("/mine/dev.jsonl"))
