"""The fp32 parity gate refuses for real: a perturbed ONNX model, and a build whose export differs from
PyTorch by more than it allows. Nothing is mocked: the logits are PyTorch's and onnxruntime's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from export import pipeline
from export.data import load_examples
from export.errors import ParityError
from export.onnx_export import check_parity, onnx_logits, torch_logits

DEV_FILE = Path(__file__).parents[1] / "fixtures" / "reviews-dev.csv"
SHIFT = 0.01  # ten times the default --parity-atol (1e-3)


def shift_positive_logit(model: Path, destination: Path) -> Path:
    """The fp32 export with `SHIFT` added to the POSITIVE logit's bias: what a faulty exporter could ship."""
    graph = onnx.load(str(model))
    (bias,) = (init for init in graph.graph.initializer if init.name == "classifier.bias")
    values = numpy_helper.to_array(bias).copy()
    values[1] += SHIFT
    bias.CopyFrom(numpy_helper.from_array(values, bias.name))
    onnx.save(graph, str(destination))
    return destination


def test_parity_refuses_a_perturbed_onnx_model_and_lists_every_sample(tiny_build, tmp_path):
    cfg = tiny_build.config
    texts = load_examples(str(DEV_FILE)).texts
    reference = torch_logits(cfg.checkpoint_dir, texts, cfg.max_length)
    faithful = onnx_logits(cfg.fp32_dir / "model.onnx", cfg.checkpoint_dir, texts, cfg.max_length)
    assert check_parity(reference, faithful, cfg.parity_atol).max_abs_diff <= cfg.parity_atol
    perturbed = shift_positive_logit(cfg.fp32_dir / "model.onnx", tmp_path / "model.onnx")
    candidate = onnx_logits(perturbed, cfg.checkpoint_dir, texts, cfg.max_length)
    assert np.abs(candidate - reference).max() == pytest.approx(SHIFT, rel=1e-3)
    with pytest.raises(ParityError) as refused:
        check_parity(reference, candidate, cfg.parity_atol)
    message = str(refused.value)
    n = len(texts)
    assert message.startswith(f"{n}/{n} samples beyond atol {cfg.parity_atol}: #0: 1.00e-02")
    assert message.count("#") == len(texts)


def test_build_refused_by_parity_leaves_both_previous_directories(tiny_build, tmp_path, make_tiny_config):
    """The build exports the very checkpoint it compares with, and a faithful exporter differs from PyTorch
    only by float rounding (about 1e-8 on the tiny model), so a real refusal needs a tolerance below that:
    1e-12. The previous artifact and fp32 export, copies of the tiny build's, must stay as they were."""
    base = Path(shutil.copytree(tiny_build.config.checkpoint_dir, tmp_path / "base"))
    cfg = make_tiny_config(tmp_path / "build", base, parity_atol=1e-12)
    shutil.copytree(tiny_build.artifact, cfg.output)
    shutil.copytree(tiny_build.config.fp32_dir, cfg.fp32_dir)
    before = {path: path.read_bytes() for path in (*cfg.output.iterdir(), *cfg.fp32_dir.iterdir())}
    with pytest.raises(ParityError, match=r"^\d+/16 samples beyond atol 1e-12: #"):
        pipeline.build(cfg)
    assert {path: path.read_bytes() for path in (*cfg.output.iterdir(), *cfg.fp32_dir.iterdir())} == before
    assert not [p.name for p in (tmp_path / "build").iterdir() if p.name.startswith(".")]
