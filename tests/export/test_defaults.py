"""The defaults users rely on without naming them: 256-token windows overlapping by 64, at most 8 per text,
and int8 refused past half an accuracy point. A changed default must change this test, on purpose."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from export.config import ExportConfig
from export.errors import GateError
from export.gate import check_quantization

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = {"max_length": 256, "window_stride": 64, "max_windows": 8, "max_accuracy_drop": 0.5}


def test_build_defaults():
    cfg = ExportConfig()
    assert {name: getattr(cfg, name) for name in DEFAULTS} == DEFAULTS


def test_default_gate_refuses_just_over_half_a_point():
    allowed = ExportConfig().max_accuracy_drop
    assert check_quantization({"accuracy": 0.9049}, {"accuracy": 0.9}, allowed) == pytest.approx(0.49)
    with pytest.raises(GateError, match=r"0\.51 points below fp32 0\.9051 \(allowed: 0\.5\)"):
        check_quantization({"accuracy": 0.9051}, {"accuracy": 0.9}, allowed)


def test_cli_help_states_the_defaults():
    """`make model` passes none of these: what --help says is what a user gets."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "export", "build", "--help"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    options = " ".join(done.stdout.split()).split(" --")  # one entry per option, however argparse wraps
    for name, value in DEFAULTS.items():
        (entry,) = (o for o in options if o.startswith(f"{name.replace('_', '-')} "))
        assert entry.endswith(f"(default: {value})"), entry


@pytest.mark.parametrize(
    ("target", "classes", "recipe"),
    [
        ("model-stars-3", "stars-3", {"class_balance": 1.0, "epochs": 3.0, "quantization": "avx2"}),
        ("model-stars-5", "stars-5", {}),
    ],
)
def test_star_model_targets_build_the_documented_recipe(make_dry_run, target, classes, recipe):
    """`make model-stars-N` fine-tunes the default model's checkpoint on STARS_DATA with the recipe
    docs/models.md reports; the command it runs is parsed by the build's own CLI, so a flag the build no
    longer takes fails here, not in a user's 15-minute build."""
    from export.__main__ import config_from, parser

    done = make_dry_run(target, "STARS_DATA=/data/stars", "MODEL_ARGS=--seed 7")
    assert done.returncode == 0, done.stderr
    # (a fresh clone first builds the default model, whose checkpoint this one starts from)
    command = [line for line in done.stdout.splitlines() if " -m export build " in line][-1]
    cfg = config_from(parser().parse_args(shlex.split(command.split(" -m export ", 1)[1])))
    assert (cfg.base_model, cfg.fine_tune, cfg.label_map) == ("build/checkpoint", "yes", classes)
    assert (cfg.train_data, cfg.dev_data) == ("/data/stars/train.jsonl", "/data/stars/dev.jsonl")
    assert cfg.output == Path(f"build/{classes}")
    assert {name: getattr(cfg, name) for name in recipe} == recipe
    assert cfg.seed == 42, "the target's recipe replaces MODEL_ARGS given on the command line"


def test_model_args_reach_the_build(make_dry_run):
    done = make_dry_run("model", "MODEL_ARGS=--epochs 3 --seed 7")
    assert done.stdout.rstrip().endswith("--epochs 3 --seed 7"), done.stdout
