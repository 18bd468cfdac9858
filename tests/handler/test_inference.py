"""handler.inference on the tiny artifact: windows from the tokenizer's own overflow, averaging, the cap, and
refusal of broken artifacts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from handler.errors import ArtifactError
from handler.inference import Classifier

LONG = " ".join(["the lid cracked and the motor smells burnt, but the jar is sturdy"] * 60)


@pytest.fixture(scope="module")
def classifier(tiny_artifact: Path) -> Classifier:
    return Classifier.from_dir(tiny_artifact, threads=1)


def test_window_settings_come_from_the_artifact(classifier, tiny_artifact):
    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    truncation = classifier.tokenizer.truncation
    assert truncation["max_length"] == manifest["max_length"]
    assert truncation["stride"] == manifest["window_stride"]
    assert classifier.max_windows == manifest["max_windows"]
    assert classifier.labels == tuple(manifest["labels"])


def test_long_text_is_split_into_overlapping_windows(classifier):
    windows = classifier.encode([LONG, "short"])
    assert windows.counts.tolist() == [classifier.max_windows, 1]
    assert windows.truncated.tolist() == [True, False]
    ids = windows.feeds["input_ids"]
    assert ids.shape[0] == classifier.max_windows + 1
    stride = classifier.tokenizer.truncation["stride"]
    # Consecutive windows share `stride` tokens (the overlap), after [CLS] and before [SEP].
    assert ids[0][-1 - stride : -1].tolist() == ids[1][1 : 1 + stride].tolist()


def test_probabilities_are_the_mean_of_window_softmaxes(classifier):
    windows = classifier.encode([LONG])
    (logits,) = classifier.session.run(["logits"], windows.feeds)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(classifier.probabilities(windows)[0], softmax.mean(axis=0), rtol=1e-5)


def test_classify_and_predict_proba_agree(classifier):
    texts = ["great", "awful", LONG, "meh"]
    predictions = classifier.classify(texts)
    probabilities = classifier.predict_proba(texts, batch_size=3)
    assert probabilities.shape == (4, 2)
    # Other batches pad differently, and dynamic int8 quantizes activations per tensor: tiny differences.
    for prediction, row in zip(predictions, probabilities, strict=True):
        assert prediction.score == pytest.approx(row.max(), abs=1e-3)
    assert classifier.classify([]) == []
    assert classifier.predict_proba([]).shape == (0, 2)


def copy_artifact(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_missing_manifest_is_refused(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    (broken / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match=r"missing manifest\.json"):
        Classifier.from_dir(broken)


def test_file_that_does_not_match_the_manifest_is_refused(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    with (broken / "model.onnx").open("ab") as model:
        model.write(b"\0")
    with pytest.raises(ArtifactError, match=r"model\.onnx is \d+ bytes; manifest\.json says"):
        Classifier.from_dir(broken)


def test_labels_must_match_the_manifest(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["labels"] = ["POSITIVE", "NEGATIVE"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not match manifest labels"):
        Classifier.from_dir(broken)


def test_tokenizer_without_stride_is_refused(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    tokenizer = Tokenizer.from_file(str(broken / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.save(str(broken / "tokenizer.json"))
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["files"]["tokenizer.json"]["bytes"] = (broken / "tokenizer.json").stat().st_size
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="truncation with a stride"):
        Classifier.from_dir(broken)


def test_windows_scored_in_bounded_runs_give_the_same_probabilities(classifier, monkeypatch):
    texts = [LONG, "short", LONG[:700]]
    windows = classifier.encode(texts)
    assert len(windows.owner) > 2  # several runs below
    whole = classifier.probabilities(windows)
    runs = []
    session_run = classifier.session.run
    monkeypatch.setattr(classifier, "rows_per_run", 2)
    monkeypatch.setattr(
        classifier.session, "run", lambda *a: runs.append(a) or session_run(*a), raising=False
    )
    chunked = classifier.probabilities(windows)
    assert len(runs) == -(-len(windows.owner) // 2)
    assert all(len(feeds["input_ids"]) <= 2 for _, feeds in runs)
    # Not bit-equal: dynamic int8 picks each run's activation scale from the whole batch (padding included),
    # so batch composition moves a probability by ~1e-4..1e-3; a lost or misassigned window moves it far more.
    np.testing.assert_allclose(chunked, whole, atol=2e-3)
