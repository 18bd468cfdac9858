"""The n-gram model of ngrams.onnx, scored sparsely: cost in proportion to the text, not to the vocabulary.

ngrams.onnx (export/ngrams.py) is TfIdfVectorizer over the token ids, sublinear term frequency, idf, L2
normalisation and a linear layer. Run by onnxruntime, TfIdfVectorizer writes a dense row of every n-gram
kept (120,870 on the default data) and the rest of the graph works on that row: about 1 ms a text, however
short. A text has at most a few thousand n-grams, so this module holds the graph's n-gram keys, idf, weights
and bias as tables (`NgramTables`) and computes the same function over the n-grams the text has.

The tables come from ngrams.npz, which the build writes from ngrams.onnx with `NgramTables.from_onnx` (the
protobuf parse of handler/ngram_onnx.py) and `save`: np.load reads them in about a millisecond, where
importing protobuf and parsing the graph cost about 40 ms of init CPU. An artifact built before ngrams.npz
keeps working: its tables are parsed from ngrams.onnx at init (`read_tables`). tests/handler/
test_ngram_sparse.py holds both to onnxruntime's answer on real texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from handler.artifact import loading
from handler.manifest import Ngrams

_ARRAYS = ("keys", "columns", "idf", "weights", "bias")


@dataclass(frozen=True)
class NgramTables:
    """ngrams.onnx's parameters as the sparse scorer reads them: every n-gram's int64 key (unigram: its id;
    bigram (a, b): (a + 1) * vocabulary + b), sorted, with a last key above all of them, and its output
    column; idf per column, weights [columns, labels] and bias [labels] (float32, as the graph holds them)."""

    vocabulary: int
    keys: np.ndarray
    columns: np.ndarray
    idf: np.ndarray
    weights: np.ndarray
    bias: np.ndarray

    @classmethod
    def from_onnx(cls, path: Path, vocabulary: int, labels: int) -> NgramTables:
        """Parse ngrams.onnx (protobuf, imported only here).

        Raises:
            ValueError: the file is not export/ngrams.py's graph for `labels` labels.
            OSError: the file cannot be read (protobuf's DecodeError for a corrupt one).
        """
        from handler.ngram_onnx import read_arrays

        return cls(vocabulary, **read_arrays(path, vocabulary, labels))

    @classmethod
    def load(cls, path: Path, vocabulary: int, labels: int) -> NgramTables:
        """Read ngrams.npz as `save` wrote it, for this tokenizer's vocabulary and `labels` labels.

        Raises:
            ValueError: the file holds other arrays, or tables of another vocabulary or label count.
            OSError: the file cannot be read (zipfile's BadZipFile for a corrupt one).
        """
        with np.load(path, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted(("vocabulary", *_ARRAYS)):
                raise ValueError(f"not n-gram tables: arrays {sorted(stored.files)}")
            tables = cls(int(stored["vocabulary"]), *(stored[name] for name in _ARRAYS))
        shapes = (tables.keys.shape, tables.columns.shape, tables.weights.shape, tables.bias.shape)
        want = ((len(tables.keys),), (len(tables.keys),), (len(tables.idf), labels), (labels,))
        if tables.vocabulary != vocabulary or shapes != want:
            raise ValueError(
                f"tables for a vocabulary of {tables.vocabulary} and shapes {list(shapes)}; the artifact "
                f"has a vocabulary of {vocabulary} and {labels} labels"
            )
        return tables

    def save(self, path: Path) -> Path:
        """Write the tables to `path` (uncompressed .npz: np.load then only reads them)."""
        arrays = {name: getattr(self, name) for name in _ARRAYS}
        np.savez(path, vocabulary=np.int64(self.vocabulary), **arrays)
        return path


def read_tables(root: Path, entry: Ngrams, vocabulary: int, labels: int) -> NgramTables:
    """The tables of the artifact in `root`: its ngrams.npz, or for an artifact built before the build
    wrote one, parsed from its ngrams.onnx.

    Raises:
        ArtifactError: the file does not load, or holds another model than the artifact's, naming it.
    """
    path = root / (entry.tables or entry.file)
    with loading(path):
        if entry.tables is not None:
            return NgramTables.load(path, vocabulary, labels)
        return NgramTables.from_onnx(path, vocabulary, labels)


class SparseNgrams:
    """ngrams.onnx's function over a text's own n-grams: token ids -> logits [labels]."""

    def __init__(self, tables: NgramTables, weight: float) -> None:
        """Args:
        tables: the model's parameters (`read_tables`).
        weight: the blend weight of the manifest.
        """
        self.vocabulary = tables.vocabulary
        self.keys, self.columns = tables.keys, tables.columns
        self.idf = tables.idf.astype(np.float64)  # scored in float64, as before the tables were stored
        self.weights = tables.weights.astype(np.float64)
        self.bias = tables.bias.astype(np.float64)
        self.weight = weight

    def text_logits(self, ids: np.ndarray) -> np.ndarray:
        """One text's logits [labels] from its token ids (no special tokens)."""
        keys = np.sort(np.concatenate([ids, (ids[:-1] + 1) * self.vocabulary + ids[1:]]))
        # Each distinct n-gram and its count, from where runs of equal keys start (np.unique costs 3x more).
        starts = np.ones(len(keys) + 1, dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=starts[1:-1])
        bounds = np.flatnonzero(starts)
        counts, keys = bounds[1:] - bounds[:-1], keys[bounds[:-1]]
        found = np.searchsorted(self.keys, keys)
        known = self.keys[found] == keys
        columns = self.columns[found[known]]
        tfidf = (1 + np.log(counts[known])) * self.idf[columns]
        norm = max(float(np.sqrt(tfidf @ tfidf)), 1e-12)  # a text without known n-grams: all zero
        return (tfidf / norm) @ self.weights[columns] + self.bias

    def logits(self, feeds: Sequence[dict[str, np.ndarray]]) -> np.ndarray:
        """[texts, labels] logits, from one `{"input_ids": [1, n]}` feed per text (NgramModel's form)."""
        rows = [self.text_logits(feed["input_ids"].reshape(-1)) for feed in feeds]
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(self.bias))
