"""The tiny end-to-end build: artifact layout, manifest integrity, parity, integer ops, serving tokenizer."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from unittest.mock import ANY

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer

from export import artifacts, pipeline, quantize
from export.artifacts import sha256
from export.data import load_examples
from export.onnx_export import onnx_logits, torch_logits
from export.quantize import integer_ops
from handler.inference import Classifier
from handler.manifest import Manifest

DEV_FILE = Path(__file__).parents[1] / "fixtures" / "reviews-dev.csv"

# Stated tolerances. fp32 ONNX must match PyTorch to float rounding; int8 is looser by design, and the tiny
# model's logits are small (|logit| < ~2), so 0.1 still catches a broken quantization (wrong scale, wrong op).
FP32_ATOL = 1e-4
INT8_ATOL = 0.1


def test_artifact_holds_exactly_the_contract_files(tiny_artifact):
    names = sorted(p.name for p in tiny_artifact.iterdir())
    assert names == [
        "README.md",
        "config.json",
        "manifest.json",
        "model.onnx",
        "ngrams.npz",
        "ngrams.onnx",
        "tokenizer.json",
    ]


def test_artifact_is_readable_by_other_users(tiny_artifact):
    assert tiny_artifact.stat().st_mode & 0o755 == 0o755  # Lambda runs as a non-root user


def test_manifest_lists_every_shipped_file_with_its_sha256_and_size(tiny_artifact):
    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    assert sorted(manifest["files"]) == [
        "config.json",
        "model.onnx",
        "ngrams.npz",
        "ngrams.onnx",
        "tokenizer.json",
    ]
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sha256(tiny_artifact / name)
        assert entry["bytes"] == (tiny_artifact / name).stat().st_size


def test_the_manifest_written_is_the_one_the_build_returned(tiny_build):
    """Written with the typed model: the keys the build set and no others (a single-label model has no
    threshold key; the fp32 export, not gated and not served, no metrics and no window cost)."""
    written = json.loads((tiny_build.artifact / "manifest.json").read_text())
    assert written == tiny_build.manifest
    assert (
        Manifest.model_validate_json((tiny_build.artifact / "manifest.json").read_text()).metrics is not None
    )
    assert "threshold" not in written
    fp32 = json.loads((tiny_build.config.fp32_dir / "manifest.json").read_text())
    assert fp32["quantization"] is None
    assert "metrics" not in fp32
    assert "window_cost" not in fp32
    assert {key: value for key, value in fp32.items() if key not in ("quantization", "files", "created")} == {
        key: value
        for key, value in written.items()
        if key not in ("quantization", "files", "created", "metrics", "window_cost")
    }


def test_each_directory_gets_its_manifest_once_and_last(tiny_build, make_tiny_config, tmp_path, monkeypatch):
    """The build scores staged files with their manifest in memory, so each directory's manifest.json is
    written once, after the files it lists (an as-is build of the tiny checkpoint: nothing to train)."""
    base = Path(shutil.copytree(tiny_build.config.checkpoint_dir, tmp_path / "base"))
    cfg = make_tiny_config(tmp_path / "build", base)
    written = []
    write = artifacts.write_manifest

    def spy(directory: Path, manifest: Manifest) -> None:
        written.append((set(manifest.files), {path.name for path in directory.iterdir()}))
        write(directory, manifest)

    monkeypatch.setattr(artifacts, "write_manifest", spy)
    pipeline.build(cfg)
    assert len(written) == 2  # the fp32 export, the artifact
    for listed, present in written:
        assert listed == {"config.json", "model.onnx", "tokenizer.json"} <= present
        assert "manifest.json" not in present


def test_manifest_ties_the_artifact_to_its_checkpoint(tiny_build):
    checkpoint = tiny_build.config.checkpoint_dir
    fp32_manifest = json.loads((tiny_build.config.fp32_dir / "manifest.json").read_text())
    weights = {"model.safetensors": {"sha256": sha256(checkpoint / "model.safetensors"), "bytes": ANY}}
    assert tiny_build.manifest["checkpoint"] == fp32_manifest["checkpoint"] == weights


def test_manifest_records_provenance(tiny_build):
    manifest = tiny_build.manifest
    assert manifest["labels"] == ["NEGATIVE", "POSITIVE"]
    assert manifest["task"] == "text-classification"
    assert (manifest["max_length"], manifest["window_stride"], manifest["max_windows"]) == (32, 8, 4)
    assert manifest["data"]["train"]["sha256"] == sha256(Path(tiny_build.config.train_data))
    assert manifest["data"]["dev"]["rows"] == len(load_examples(str(DEV_FILE)))
    assert manifest["quantization"]["mode"] == "dynamic"
    assert {"fp32", "int8", "parity"} <= set(manifest["metrics"])
    assert manifest["seed"] == tiny_build.config.seed
    assert manifest["versions"]["onnxruntime"]


def test_config_names_the_labels(tiny_artifact):
    config = json.loads((tiny_artifact / "config.json").read_text())
    assert config["id2label"] == {"0": "NEGATIVE", "1": "POSITIVE"}


def test_fp32_onnx_matches_pytorch(tiny_build):
    texts = load_examples(str(DEV_FILE)).texts
    checkpoint, length = tiny_build.config.checkpoint_dir, tiny_build.config.max_length
    reference = torch_logits(checkpoint, texts, length)
    fp32 = onnx_logits(tiny_build.config.fp32_dir / "model.onnx", checkpoint, texts, length)
    assert np.abs(reference - fp32).max() <= FP32_ATOL
    assert (reference.argmax(-1) == fp32.argmax(-1)).all()


def test_the_served_int8_graph_is_fused_at_build_time_and_answers_as_the_quantized_one(tiny_build, tmp_path):
    """export/fusion.py: ORT's extended fusions saved into model.onnx, so the handler's session has none left
    to run at cold start; the answers stay those of the quantized graph (the parity and the gate judge it)."""
    served = tiny_build.artifact / "model.onnx"
    ops = Counter(node.op_type for node in onnx.load(str(served)).graph.node)
    assert ops["MatMulInteger"] == 0
    assert ops["DynamicQuantizeMatMul"] + ops["MatMulIntegerToFloat"] > 0
    assert tiny_build.manifest["quantization"]["graph_optimization"] == "extended"
    scheme = tiny_build.manifest["quantization"]["scheme"]
    unfused = quantize.quantize(tiny_build.config.fp32_dir / "model.onnx", tmp_path / "model.onnx", scheme)
    texts = load_examples(str(DEV_FILE)).texts
    checkpoint, length = tiny_build.config.checkpoint_dir, tiny_build.config.max_length
    as_served = onnx_logits(served, checkpoint, texts, length)
    np.testing.assert_allclose(as_served, onnx_logits(unfused, checkpoint, texts, length), atol=1e-6)


def test_int8_stays_close_to_pytorch(tiny_build):
    texts = load_examples(str(DEV_FILE)).texts
    checkpoint, length = tiny_build.config.checkpoint_dir, tiny_build.config.max_length
    reference = torch_logits(checkpoint, texts, length)
    int8 = onnx_logits(tiny_build.artifact / "model.onnx", checkpoint, texts, length)
    assert np.abs(reference - int8).max() <= INT8_ATOL


def test_quantized_graph_uses_integer_ops_and_fp32_does_not(tiny_build):
    served = integer_ops(tiny_build.artifact / "model.onnx")
    assert "DynamicQuantizeLinear" in served
    assert served & {"DynamicQuantizeMatMul", "MatMulIntegerToFloat"}  # MatMulInteger, fused as served
    assert integer_ops(tiny_build.config.fp32_dir / "model.onnx") == set()
    int8_bytes = (tiny_build.artifact / "model.onnx").stat().st_size
    assert int8_bytes < 0.5 * (tiny_build.config.fp32_dir / "model.onnx").stat().st_size


def test_model_outputs_logits_per_label(tiny_artifact):
    graph = onnx.load(str(tiny_artifact / "model.onnx")).graph
    assert [o.name for o in graph.output] == ["logits"]
    assert {"input_ids", "attention_mask"} <= {i.name for i in graph.input}


def test_serving_tokenizer_windows_long_texts_and_pads_to_batch_longest(tiny_artifact):
    tokenizer = Tokenizer.from_file(str(tiny_artifact / "tokenizer.json"))
    assert tokenizer.truncation["max_length"] == 32
    assert tokenizer.truncation["stride"] == 8
    assert tokenizer.padding["length"] is None  # batch-longest, not the base's fixed 128
    assert tokenizer.padding["pad_id"] == tokenizer.token_to_id("[PAD]")
    long_text = max(load_examples(str(DEV_FILE)).texts, key=len)
    short, long = tokenizer.encode_batch(["Great.", long_text])
    assert len(long.overflowing) >= 1
    assert len(short.ids) == len(long.ids) == 32
    assert long.overflowing[0].ids[1:9] == long.ids[-9:-1]  # 8 shared tokens between windows (after [CLS])


@pytest.mark.parametrize("kind", ["fp32", "int8"])
def test_dev_metrics_are_what_the_served_model_answers(tiny_build, kind):
    """Recounted from the handler's own answers (`classify`, the API's path, n-grams blended in: both the
    artifact and the fp32 export name ngrams.onnx), not from the evaluation code that wrote them."""
    directory = tiny_build.config.fp32_dir if kind == "fp32" else tiny_build.artifact
    assert json.loads((directory / "manifest.json").read_text())["ngrams"]["weight"] == 0.3
    dev = load_examples(str(DEV_FILE))
    answers = Classifier.from_dir(directory).classify(dev.texts)
    gold = [tiny_build.manifest["labels"][label] for label in dev.labels]
    metrics = tiny_build.manifest["metrics"][kind]
    right = sum(answer.label == label for answer, label in zip(answers, gold, strict=True))
    assert (metrics["n"], metrics["accuracy"]) == (len(dev), right / len(dev))
    names = metrics["confusion_matrix"]["labels"]
    counts = Counter(zip(gold, (answer.label for answer in answers), strict=True))
    expected = [[counts[(row, column)] for column in names] for row in names]
    assert metrics["confusion_matrix"]["rows_gold_cols_predicted"] == expected
    assert metrics["windows_mean"] == pytest.approx(np.mean([answer.windows for answer in answers]))
    assert metrics["windows_mean"] > 1  # the long dev reviews are scored as several windows
