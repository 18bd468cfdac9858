"""The defaults users rely on without naming them: 256-token windows overlapping by 64, at most 8 per text,
and int8 refused past half an accuracy point. A changed default must change this test, on purpose."""

from __future__ import annotations

import os
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
