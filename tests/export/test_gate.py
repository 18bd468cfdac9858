"""The accuracy gate and the as-is path, with the tiny build's checkpoint as an already-trained base."""

from __future__ import annotations

import shutil
from pathlib import Path

import onnx
import pytest
from onnx import helper

from export import pipeline, quantize
from export.errors import GateError

TRAIN_FILE = Path(__file__).parents[1] / "fixtures" / "reviews.csv"


def negate_logits(model_path: Path) -> Path:
    """Degrade a model on purpose: every prediction flips, so accuracy becomes 1 - accuracy."""
    model = onnx.load(str(model_path))
    graph = model.graph
    for node in graph.node:
        node.output[:] = ["logits_raw" if name == "logits" else name for name in node.output]
    graph.node.append(helper.make_node("Neg", ["logits_raw"], ["logits"]))
    onnx.save(model, str(model_path))
    return model_path


@pytest.fixture(scope="module")
def trained_base(tiny_build, tmp_path_factory) -> Path:
    """A copy of the tiny fine-tuned checkpoint: its config already names NEGATIVE/POSITIVE."""
    return Path(shutil.copytree(tiny_build.config.checkpoint_dir, tmp_path_factory.mktemp("base") / "ckpt"))


def settings(make_tiny_config, root: Path, base: Path, **overrides):
    # dev = the reviews the base was trained on, so fp32 accuracy is high and a flipped model is clearly worse
    return make_tiny_config(root, base, dev_data=str(TRAIN_FILE), max_accuracy_drop=0.5, **overrides)


def test_sentiment_classifier_base_is_exported_as_it_is(trained_base, tmp_path, make_tiny_config):
    manifest = pipeline.build(settings(make_tiny_config, tmp_path, trained_base))
    assert manifest["fine_tuned"] is False
    assert set(manifest["data"]) == {"dev"}
    assert manifest["metrics"]["fp32"]["accuracy"] > 0.5
    assert manifest["metrics"]["quantization_drop_points"] <= 0.5


def test_gate_refuses_a_degraded_int8_model_and_keeps_the_old_artifact(
    trained_base, tiny_artifact, tmp_path, make_tiny_config, monkeypatch
):
    cfg = settings(make_tiny_config, tmp_path, trained_base)
    shutil.copytree(tiny_artifact, cfg.output)
    before = {p.name: p.read_bytes() for p in cfg.output.iterdir()}
    real_quantize = quantize.quantize

    def degraded_quantize(fp32_model: Path, destination: Path, scheme: str) -> Path:
        return negate_logits(real_quantize(fp32_model, destination, scheme))

    monkeypatch.setattr(quantize, "quantize", degraded_quantize)
    with pytest.raises(GateError, match=r"points below fp32 .* left unchanged"):
        pipeline.build(cfg)
    assert {p.name: p.read_bytes() for p in cfg.output.iterdir()} == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_gate_without_an_existing_artifact_writes_nothing(
    trained_base, tmp_path, make_tiny_config, monkeypatch
):
    cfg = settings(make_tiny_config, tmp_path, trained_base)
    monkeypatch.setattr(
        quantize, "quantize", lambda fp32, dest, scheme: negate_logits(Path(shutil.copy(fp32, dest)))
    )
    with pytest.raises(GateError):
        pipeline.build(cfg)
    assert not cfg.output.exists()
