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
from handler.probabilities import blend

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


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)


def test_window_probabilities_are_the_mean_of_window_softmaxes(classifier):
    windows = classifier.encode([LONG])
    expected = softmax(classifier.logits(windows)).mean(axis=0)
    np.testing.assert_allclose(classifier.window_probabilities(windows)[0], expected, rtol=1e-5)


def test_probabilities_blend_the_windows_with_the_ngram_model_of_the_whole_text(classifier, tiny_artifact):
    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    assert classifier.ngrams is not None
    assert classifier.ngrams.weight == manifest["ngrams"]["weight"] == 0.3
    windows = classifier.encode([LONG, "great"])
    # The n-gram model reads every token of LONG, not only the windows kept.
    assert windows.ngram_feeds[0]["input_ids"].shape[1] > classifier.max_windows * 32
    ngram_logits = classifier.ngrams.logits(windows.ngram_feeds)
    window_logodds = np.log(classifier.window_probabilities(windows)) @ [-1, 1]
    ngram_logodds = ngram_logits @ [-1, 1]
    expected = 0.7 * window_logodds + 0.3 * ngram_logodds  # two labels: log-odds mix linearly
    np.testing.assert_allclose(np.log(classifier.probabilities(windows)) @ [-1, 1], expected, rtol=1e-5)


def test_a_graph_that_is_not_an_ngram_model_is_refused_at_init(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = json.loads((broken / "manifest.json").read_text())
    # Parsed as ngrams.onnx is for an artifact without tables: it loads, but wants three inputs.
    manifest["ngrams"] = {**manifest["ngrams"], "file": "model.onnx", "tables": None}
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"model\.onnx: not an n-gram model for 2 labels: inputs \["):
        Classifier.from_dir(broken)


def test_blend_stays_finite_however_sure_the_ngram_model_is():
    blended = blend(np.array([[0.5, 0.5]]), np.array([[0.0, 2000.0]]), 0.5)
    assert np.isfinite(blended).all()
    np.testing.assert_allclose(blended, [[0.0, 1.0]])


def test_blend_weights_the_two_models_log_probabilities():
    transformer = np.array([[0.9, 0.1], [0.5, 0.5]])
    ngram_logits = np.array([[0.0, 3.0], [1.0, 1.0]])
    np.testing.assert_allclose(blend(transformer, ngram_logits, 0.0), transformer)
    np.testing.assert_allclose(blend(transformer, ngram_logits, 1.0), softmax(ngram_logits))
    halfway = blend(transformer, ngram_logits, 0.5)
    np.testing.assert_allclose(halfway.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(halfway[0, 1] / halfway[0, 0]), 0.5 * np.log(0.1 / 0.9) + 0.5 * 3.0)
    np.testing.assert_allclose(blend(np.array([[1.0, 0.0]]), np.array([[0.0, 0.0]]), 0.5).sum(), 1.0)


def test_artifact_without_an_ngram_model_serves_the_windows_alone(tiny_artifact, tmp_path):
    plain = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = json.loads((plain / "manifest.json").read_text())
    manifest["ngrams"] = None
    del manifest["files"]["ngrams.onnx"]
    (plain / "ngrams.onnx").unlink()
    (plain / "manifest.json").write_text(json.dumps(manifest))
    classifier = Classifier.from_dir(plain, threads=1)
    windows = classifier.encode([LONG, "great"])
    assert classifier.ngrams is None
    assert windows.ngram_feeds == []
    np.testing.assert_array_equal(classifier.probabilities(windows), classifier.window_probabilities(windows))


def test_each_prediction_reads_its_texts_probabilities(classifier):
    """label: the most probable; score: its probability; scores: every label's, as probabilities() gives
    them (to the bit); windows and truncated: the text's own. Texts that get each label, so a prediction
    that took another row's or another label's number would show."""
    texts = ["Lovely kettle, boils fast and quiet.", "Broke at once, a waste of money.", LONG, "ok"] * 4
    windows = classifier.encode(texts)
    rows = classifier.probabilities(windows)
    predictions = classifier.predict(windows)
    assert {p.label for p in predictions} == set(classifier.labels)
    for prediction, row, count, cut in zip(predictions, rows, windows.counts, windows.truncated, strict=True):
        assert prediction.label == classifier.labels[int(row.argmax())]
        assert prediction.score == row.max()
        assert prediction.scores == dict(zip(classifier.labels, row.tolist(), strict=True))
        assert (prediction.windows, prediction.truncated) == (count, cut)


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


def test_a_listed_file_that_is_missing_is_refused(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    (broken / "ngrams.onnx").unlink()
    with pytest.raises(ArtifactError, match=r"ngrams\.onnx is missing; manifest\.json lists it"):
        Classifier.from_dir(broken)


def test_labels_must_match_the_manifest(tiny_artifact, tmp_path):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["labels"] = ["POSITIVE", "NEGATIVE"]
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not match manifest labels"):
        Classifier.from_dir(broken)


@pytest.mark.parametrize("name", ["tokenizer.json", "model.onnx", "ngrams.npz"])
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
