"""The n-gram model: its ONNX graph against scikit-learn, the parity check, the blend weight chosen on dev,
and the pipeline stage that ships it (or not)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from export import ngrams
from export.blending import add_ngrams
from export.data import Examples, load_examples
from export.errors import ParityError
from export.evaluate import Scored
from handler.ngram_reference import NgramModel

FIXTURES = Path(__file__).parents[1] / "fixtures"
EDGE_TEXTS = ["", "   ", "great great great great", "zyzzyva quuxplorp", "Not good. Not good at all!"]


@pytest.fixture(scope="module")
def train() -> Examples:
    return load_examples(str(FIXTURES / "reviews.csv"))


@pytest.fixture(scope="module")
def dev() -> Examples:
    return load_examples(str(FIXTURES / "reviews-dev.csv"))


@pytest.fixture(scope="module")
def fit(tiny_base: Path, train: Examples) -> ngrams.NgramFit:
    fitted = ngrams.fit(tiny_base / "tokenizer.json", train, 2, seed=0)
    assert fitted is not None
    return fitted


def serve(path: Path, fit: ngrams.NgramFit) -> NgramModel:
    return NgramModel(fit.tokenizer, ort.InferenceSession(str(path)), 0.5, 2)


def parity(fit: ngrams.NgramFit, served: NgramModel, texts: list[str]) -> dict:
    return ngrams.check_parity(fit, texts, served.logits(served.feeds(texts)))


def test_onnx_graph_computes_what_scikit_learn_fitted(fit, dev, tmp_path):
    served = serve(ngrams.write_onnx(fit, 2, tmp_path / "ngrams.onnx"), fit)
    texts = dev.texts + EDGE_TEXTS
    checked = parity(fit, served, texts)
    assert checked["samples"] == len(texts)
    assert checked["max_abs_diff"] < 1e-5
    # Not a constant answer: the n-grams move the probabilities.
    assert np.ptp(fit.probabilities(dev.texts)[:, 1]) > 0.05
    # A text with no token answers the prior (the bias alone), as scikit-learn's all-zero row does.
    empty = served.logits(served.feeds([""]))
    np.testing.assert_allclose(empty[0, 1] - empty[0, 0], fit.classifier.intercept_[0], rtol=1e-5)


def test_the_most_frequent_ngrams_are_kept_up_to_the_cap(tiny_base, train, dev, tmp_path):
    capped = ngrams.fit(tiny_base / "tokenizer.json", train, 2, seed=0, max_features=50)
    assert len(capped.vectorizer.vocabulary_) == 50
    served = serve(ngrams.write_onnx(capped, 2, tmp_path / "ngrams.onnx"), capped)
    assert parity(capped, served, dev.texts + EDGE_TEXTS)["max_abs_diff"] < 1e-5


def test_features_are_unigrams_and_bigrams_of_token_ids():
    assert ngrams.features([7, 8, 9]) == ["7", "8", "9", "7 8", "8 9"]
    assert ngrams.features([]) == []


def test_parity_check_refuses_a_graph_that_differs(fit, dev, tmp_path):
    path = ngrams.write_onnx(fit, 2, tmp_path / "ngrams.onnx")
    model = onnx.load(str(path))
    bias = next(t for t in model.graph.initializer if t.name == "bias")
    bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) + np.float32([0, 0.5]), "bias"))
    onnx.save(model, str(path))
    with pytest.raises(ParityError, match=r"ngrams\.onnx: \d+/\d+ texts beyond atol"):
        parity(fit, serve(path, fit), dev.texts)


def test_data_too_small_to_cross_validate_gets_no_ngram_model(tiny_base, train):
    lonely = Examples(train.texts[:5], [0, 0, 0, 0, 1], train.source, train.sha256)
    assert ngrams.fit(tiny_base / "tokenizer.json", lonely, 2, seed=0) is None


def test_weight_is_zero_when_the_ngrams_add_nothing():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 400)
    transformer = np.where(gold[:, None] == [0, 1], 0.8, 0.2)  # right on every text, 80 % sure
    noise = rng.normal(0, 2, (400, 2))
    assert ngrams.choose_weight(transformer, noise, gold)[0] == 0.0


def test_weight_grows_when_the_ngrams_know_what_the_transformer_does_not():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 2, 400)
    unsure = np.full((400, 2), 0.5)
    informed = np.where(gold[:, None] == [0, 1], 1.0, -1.0) + rng.normal(0, 0.5, (400, 2))
    weight, loss = ngrams.choose_weight(unsure, informed, gold)
    assert weight > 0.5
    assert loss < np.log(2)


def fp32_copy(tiny_build, tmp_path: Path) -> Path:
    directory = tmp_path / "fp32"
    shutil.copytree(tiny_build.config.fp32_dir, directory)
    (directory / "ngrams.onnx").unlink()
    (directory / "ngrams.npz").unlink()
    return directory


def scored(probabilities: np.ndarray) -> Scored:
    rows = len(probabilities)
    return Scored(probabilities, ("NEGATIVE", "POSITIVE"), np.ones(rows, int), np.zeros(rows, bool))


def test_the_build_ships_no_ngram_model_that_dev_gives_weight_zero(tiny_build, fit, train, tmp_path):
    directory = fp32_copy(tiny_build, tmp_path)
    perfect = np.where(np.asarray(train.labels)[:, None] == [0, 1], 0.999, 0.001)
    entry, blended = add_ngrams(-1.0, fit, directory, scored(perfect), train)
    assert entry is None
    assert not (directory / "ngrams.onnx").exists()
    assert not (directory / "ngrams.npz").exists()
    np.testing.assert_array_equal(blended.probabilities, perfect)


def test_the_build_weighs_in_ngrams_that_know_what_the_transformer_does_not(tiny_build, fit, train, tmp_path):
    directory = fp32_copy(tiny_build, tmp_path)
    unsure = np.full((len(train), 2), 0.5)
    # Scored on the texts the n-grams were fitted on: they know these, the "transformer" knows nothing.
    entry, blended = add_ngrams(-1.0, fit, directory, scored(unsure), train)
    assert entry.weight > 0
    assert entry.weight_chosen_on_dev
    assert (directory / "ngrams.onnx").is_file()
    assert entry.tables == "ngrams.npz"
    assert (directory / "ngrams.npz").is_file()
    assert entry.features == len(fit.vectorizer.vocabulary_)
    assert entry.parity_vs_sklearn.max_abs_diff < 1e-5
    gold = np.asarray(train.labels)
    assert (blended.probabilities.argmax(axis=1) == gold).mean() == entry.dev_accuracy_alone > 0.5


def test_manifest_records_the_ngram_model_and_what_it_adds(tiny_build):
    entry = tiny_build.manifest["ngrams"]
    assert entry["file"] == "ngrams.onnx"
    assert entry["tables"] == "ngrams.npz"
    assert entry["weight"] == 0.3
    assert not entry["weight_chosen_on_dev"]
    assert {"accuracy", "f1"} <= set(entry["fp32_without_ngrams"])
    fp32_dir = tiny_build.config.fp32_dir
    fp32_manifest = json.loads((fp32_dir / "manifest.json").read_text())
    assert fp32_manifest["ngrams"] == entry  # the fp32 export blends with the same model
    for name in ("ngrams.onnx", "ngrams.npz"):
        assert (fp32_dir / name).read_bytes() == (tiny_build.artifact / name).read_bytes()


def test_an_ngram_weight_of_zero_builds_no_ngram_model(make_tiny_config, tiny_base, tmp_path):
    from export.pipeline import build

    manifest = build(make_tiny_config(tmp_path, tiny_base, ngram_weight=0.0, epochs=1.0))
    assert manifest.ngrams is None
    assert not {"ngrams.onnx", "ngrams.npz"} & set(manifest.files)
    assert not {"ngrams.onnx", "ngrams.npz"} & {p.name for p in (tmp_path / "model").iterdir()}


def test_the_ngram_tables_step_gives_an_older_artifact_the_builds_tables(tiny_artifact, tmp_path, capsys):
    from export.__main__ import main
    from handler.artifact import read_manifest
    from tests.handler.test_ngram_sparse import without_tables

    older = without_tables(tiny_artifact, tmp_path / "older")
    assert main(["ngram-tables", "--model", str(older)]) == 0
    built, added = read_manifest(tiny_artifact), read_manifest(older)
    assert added.model_id == built.model_id  # the model is the same; only its tables were added
    npz_sha = {"files": {"ngrams.npz": {"sha256"}}}  # np.savez stamps the time into the zip
    assert added.model_dump(exclude=npz_sha) == built.model_dump(exclude=npz_sha)
    with np.load(older / "ngrams.npz") as written, np.load(tiny_artifact / "ngrams.npz") as by_the_build:
        for name in ("keys", "columns", "idf", "weights", "bias"):
            np.testing.assert_array_equal(written[name], by_the_build[name], err_msg=name)
    again = (older / "manifest.json").read_bytes()
    assert main(["ngram-tables", "--model", str(older)]) == 0
    assert (older / "manifest.json").read_bytes() == again  # tables already there: left as it is
    assert main(["ngram-tables", "--model", str(tmp_path / "none")]) == 2
    refusal = capsys.readouterr().err.strip().splitlines()[-1]
    assert refusal.startswith(f"error: no model in {tmp_path / 'none'}")
