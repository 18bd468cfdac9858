"""The handler's sparse n-gram scoring (handler/ngrams.py) against onnxruntime running ngrams.onnx itself, and
the whole text's token ids read back from the windows (one tokenization serves both models). The tables it
serves come from ngrams.npz; an artifact built before it is read from ngrams.onnx."""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from tokenizers import Tokenizer

from handler.errors import ArtifactError
from handler.inference import Classifier
from handler.ngram_reference import NgramModel, ngram_ids, ngram_tokenizer
from handler.ngrams import NgramTables, SparseNgrams
from handler.sessions import onnx_session

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHARED = Path(__file__).parents[2].parent / "shared" / "data" / "amazon-reviews"
# Texts tokenizers and windows could get wrong: empty, special-token spellings typed by a user, unknown
# characters, one word repeated (counts above 1), and lengths around every window boundary (below).
EDGE_TEXTS = ["", "   ", "\u200b", "[CLS]", "[SEP] fine [PAD] [UNK]", "great great great great", "😀 naïve"]
ATOL = 1e-5  # ngrams.onnx computes in float32, SparseNgrams in float64


def reviews() -> list[str]:
    """Real reviews: the fixtures, and the amazon-reviews dev set when ../shared has it."""
    texts = [row.split(",", 1)[-1] for row in (FIXTURES / "reviews-dev.csv").read_text().splitlines()[1:]]
    if (SHARED / "dev.jsonl").is_file():
        texts += [json.loads(line)["text"] for line in (SHARED / "dev.jsonl").read_text().splitlines()]
    return texts


def boundary_texts(tokenizer: Tokenizer) -> list[str]:
    """Texts of 0 to 4 windows' worth of tokens, one token apart, of mixed words."""
    rng = random.Random(0)
    words = ["the", "lid", "cracked", "[SEP]", "😀", "naïve", "quuxplorp", "five", "stars"]
    longest = 4 * tokenizer.truncation["max_length"]
    return [" ".join(rng.choice(words) for _ in range(n)) for n in range(longest)]


@pytest.fixture(scope="module")
def classifier(tiny_artifact: Path) -> Classifier:
    return Classifier.from_dir(tiny_artifact, threads=1)


def onnx_logits(artifact: Path, tokenizer: Tokenizer, texts: list[str]) -> np.ndarray:
    """What onnxruntime answers for ngrams.onnx on each whole text (the export's reference)."""
    reference = NgramModel(tokenizer, onnx_session(artifact / "ngrams.onnx", 1), 0.3, 2)
    return reference.logits(reference.feeds(texts))


def test_sparse_scoring_equals_the_onnx_graph_on_real_texts(classifier, tiny_artifact):
    texts = reviews() + EDGE_TEXTS + boundary_texts(classifier.tokenizer)
    assert isinstance(classifier.ngrams, SparseNgrams)
    served = classifier.ngrams.logits(classifier.encode(texts).ngram_feeds)
    expected = onnx_logits(tiny_artifact, classifier.tokenizer, texts)
    assert served.shape == expected.shape == (len(texts), 2)
    assert np.abs(served - expected).max() < ATOL


def test_windows_give_back_each_whole_texts_token_ids(classifier):
    texts = reviews() + EDGE_TEXTS + boundary_texts(classifier.tokenizer)
    windows = classifier.encode(texts)
    assert windows.counts.max() == classifier.max_windows
    assert windows.truncated.any()
    expected = ngram_ids(ngram_tokenizer(classifier.tokenizer), texts)
    assert [feed["input_ids"][0].tolist() for feed in windows.ngram_feeds] == expected


@pytest.mark.slow
def test_sparse_scoring_equals_the_onnx_graph_on_a_model_fitted_on_amazon_reviews(tiny_base, tmp_path):
    """The tiny artifact's n-gram model knows a few hundred n-grams; this one tens of thousands."""
    if not (SHARED / "train.jsonl").is_file():
        pytest.skip(f"{SHARED} is absent (the shared data sets)")
    from export import ngrams
    from export.data import load_examples

    train = load_examples(str(SHARED / "train.jsonl"))
    train = replace(train, texts=train.texts[:3000], labels=train.labels[:3000])
    fit = ngrams.fit(tiny_base / "tokenizer.json", train, 2, seed=0)
    assert fit is not None
    assert len(fit.vectorizer.vocabulary_) > 10_000
    ngrams.write_onnx(fit, 2, tmp_path / "ngrams.onnx")
    texts = reviews() + EDGE_TEXTS
    tokenizer = Tokenizer.from_file(str(tiny_base / "tokenizer.json"))
    sparse = SparseNgrams(NgramTables.from_onnx(tmp_path / "ngrams.onnx", tokenizer.get_vocab_size(), 2), 0.3)
    feeds = [{"input_ids": np.asarray(ids).reshape(1, -1)} for ids in ngram_ids(fit.tokenizer, texts)]
    assert np.abs(sparse.logits(feeds) - onnx_logits(tmp_path, tokenizer, texts)).max() < ATOL


def without_tables(artifact: Path, target: Path) -> Path:
    """A copy of `artifact` as the build wrote it before ngrams.npz: no file, no `tables` in the manifest."""
    shutil.copytree(artifact, target)
    (target / "ngrams.npz").unlink()
    manifest = json.loads((target / "manifest.json").read_text())
    del manifest["files"]["ngrams.npz"], manifest["ngrams"]["tables"]
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_a_graph_that_computes_something_else_is_refused_at_init(tiny_artifact, tmp_path):
    """When the handler parses ngrams.onnx: an artifact built before ngrams.npz (the build parses it the same
    way to write ngrams.npz, so it refuses such a graph too)."""
    broken = without_tables(tiny_artifact, tmp_path / "model")
    graph = onnx.load(str(broken / "ngrams.onnx"))
    log = next(node for node in graph.graph.node if node.op_type == "Log")
    log.op_type = "Sqrt"  # still a valid graph of the same shape: only the term frequency differs
    onnx.save(graph, str(broken / "ngrams.onnx"))
    manifest = json.loads((broken / "manifest.json").read_text())
    manifest["files"]["ngrams.onnx"]["bytes"] = (broken / "ngrams.onnx").stat().st_size
    (broken / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"ngrams\.onnx: not an n-gram model for 2 labels: .*'Sqrt'"):
        Classifier.from_dir(broken)


def test_the_served_tables_are_the_onnx_graphs_own(classifier, tiny_artifact):
    vocabulary = classifier.tokenizer.get_vocab_size()
    served = NgramTables.load(tiny_artifact / "ngrams.npz", vocabulary, 2)
    parsed = NgramTables.from_onnx(tiny_artifact / "ngrams.onnx", vocabulary, 2)
    assert served.vocabulary == parsed.vocabulary == vocabulary
    for name in ("keys", "columns", "idf", "weights", "bias"):
        stored, graph = getattr(served, name), getattr(parsed, name)
        assert stored.dtype == graph.dtype, name
        np.testing.assert_array_equal(stored, graph, err_msg=name)


def test_an_artifact_built_before_the_tables_answers_the_same(classifier, tiny_artifact, tmp_path):
    older = Classifier.from_dir(without_tables(tiny_artifact, tmp_path / "older"), threads=1)
    texts = reviews() + EDGE_TEXTS
    assert older.model_id == classifier.model_id
    np.testing.assert_array_equal(
        older.probabilities(older.encode(texts)), classifier.probabilities(classifier.encode(texts))
    )


def tables_replaced(artifact: Path, target: Path, content: bytes) -> Path:
    """A copy of `artifact` whose ngrams.npz is `content`, its size in the manifest: only loading fails."""
    shutil.copytree(artifact, target)
    (target / "ngrams.npz").write_bytes(content)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["ngrams.npz"]["bytes"] = len(content)
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_tables_of_another_model_are_refused_at_init_in_one_line(tiny_artifact, tmp_path):
    tokenizer = Tokenizer.from_file(str(tiny_artifact / "tokenizer.json"))
    other = NgramTables.load(tiny_artifact / "ngrams.npz", tokenizer.get_vocab_size(), 2)
    other = replace(other, weights=np.hstack([other.weights, other.weights]), bias=np.zeros(4, np.float32))
    four = other.save(tmp_path / "four-labels.npz").read_bytes()
    broken = tables_replaced(tiny_artifact, tmp_path / "model", four)
    refusal = r"ngrams\.npz: tables for a vocabulary of \d+ and shapes .*, 4\).* and 2 labels$"
    with pytest.raises(ArtifactError, match=refusal):
        Classifier.from_dir(broken)


def test_a_corrupt_onnx_graph_of_an_artifact_without_tables_is_refused_in_one_line(tiny_artifact, tmp_path):
    """The served tables' corrupt file: tests/handler/test_inference.py."""
    broken = without_tables(tiny_artifact, tmp_path / "model")
    size = (broken / "ngrams.onnx").stat().st_size
    (broken / "ngrams.onnx").write_bytes(bytes(range(256)) * (size // 256) + bytes(size % 256))
    with pytest.raises(ArtifactError, match=r"^cannot load .*ngrams\.onnx: [^\n]+$"):
        Classifier.from_dir(broken)
