"""handler.inference on the tiny artifact: windows from the tokenizer's own overflow, averaging, the cap, and
refusal of broken artifacts."""

from __future__ import annotations

import json
import re
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
    ids = [feed["input_ids"][0] for feed in windows.feeds]
    assert len(ids) == classifier.max_windows + 1
    stride = classifier.tokenizer.truncation["stride"]
    # Consecutive windows share `stride` tokens (the overlap), after [CLS] and before [SEP].
    assert ids[0][-1 - stride : -1].tolist() == ids[1][1 : 1 + stride].tolist()


def test_probabilities_are_the_mean_of_window_softmaxes(classifier):
    windows = classifier.encode([LONG])
    logits = classifier.logits(windows)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(classifier.probabilities(windows)[0], softmax.mean(axis=0), rtol=1e-5)


def test_a_texts_answer_does_not_depend_on_the_rest_of_the_request(classifier):
    # Dynamic int8 scales activations per tensor: scored in a padded batch, "great" would share its scale
    # with LONG's windows and the padding, and come out with other probabilities than alone.
    texts = ["great", LONG, "awful, it broke in a week", LONG[:700]]
    together = classifier.classify(texts)
    alone = [classifier.classify([text])[0] for text in texts]
    reordered = classifier.classify(texts[::-1])[::-1]
    assert together == alone == reordered  # bit-equal: every field, every probability
    assert classifier.classify([]) == []


def test_each_window_runs_alone_and_unpadded(classifier, monkeypatch):
    windows = classifier.encode([LONG, "short", LONG[:700]])
    runs = []
    session_run = classifier.session.run
    monkeypatch.setattr(
        classifier.session, "run", lambda *a: runs.append(a[1]) or session_run(*a), raising=False
    )
    classifier.probabilities(windows)
    assert len(runs) == len(windows.owner) == windows.counts.sum() > 3
    assert all(feed["input_ids"].shape[0] == 1 and feed["attention_mask"].all() for feed in runs)
    assert len({feed["input_ids"].shape[1] for feed in runs}) > 1  # the short ones are not padded to 256


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


@pytest.mark.parametrize("windows", [0, -1, 2.5, "8"])
def test_max_windows_must_be_a_positive_integer(tiny_artifact, tmp_path, windows):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["max_windows"] = windows
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="max_windows must be a positive integer"):
        Classifier.from_dir(broken)


@pytest.mark.parametrize("name", ["tokenizer.json", "model.onnx"])
def test_corrupt_file_of_the_right_size_is_refused(tiny_artifact, tmp_path, name):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    size = (broken / name).stat().st_size
    (broken / name).write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    with pytest.raises(ArtifactError, match=rf"cannot load .*{re.escape(name)}: ") as refused:
        Classifier.from_dir(broken)
    assert "\n" not in str(refused.value)


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
