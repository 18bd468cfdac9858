"""Score texts with the int8 ONNX model of an artifact directory (the export/ contract).

No Powertools here: export/ imports this module to measure accuracy with exactly the code that serves,
windowing included. Long texts are split by the tokenizer's own truncation-with-stride overflow, so window
length and overlap come from tokenizer.json, never from this file.

Each window is scored in its own ONNX run, unpadded: dynamic int8 quantization picks one activation scale
per tensor, so in a padded batch a text's answer would depend on the rest of the request (measured, and
what it costs: handler/README.md, "Same text, same answer").

A single-label model's windows are scored with softmax, a multi-label model's with sigmoid (each label on
its own, answered when it reaches the manifest's threshold); the manifest's `problem_type` says which.

An artifact may add an n-gram model (`ngrams.onnx`, written by export/ngrams.py): a linear model over the
unigrams and bigrams of the whole text's token ids, blended with the windows' probabilities by a weight the
manifest records (`blend`). The handler scores it sparsely (handler/ngrams.py: the same function, at a cost
in proportion to the text), from the token ids of the windows: each text is tokenized once.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Set before tokenizers is imported: its thread pool otherwise warns after a fork and competes with ORT.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

from handler.artifact import (
    ARTIFACT_FILES,
    loading,
    model_id,
    read_labels,
    read_manifest,
    read_ngrams,
    read_problem,
    read_tokenizer,
)
from handler.ngrams import SparseNgrams

__all__ = ["ARTIFACT_FILES", "Classifier", "NgramModel", "Prediction", "Windows", "available_cpus", "blend"]


@dataclass(frozen=True)
class Prediction:
    """One text's answer: the winning label, every label's probability and how many windows made it;
    for a multi-label model also every label at or over the threshold, most probable first."""

    label: str
    score: float
    scores: dict[str, float]
    windows: int
    truncated: bool
    labels: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Windows:
    """Token windows of a batch of texts, ready for the ONNX session (the tokenize step's output)."""

    feeds: list[dict[str, np.ndarray]]  # one ONNX feed per window: a single unpadded row
    owner: np.ndarray  # index of the text each window belongs to
    counts: np.ndarray  # windows used per text
    truncated: np.ndarray  # True where windows beyond max_windows were dropped
    ngram_feeds: list[dict[str, np.ndarray]]  # one per text (the whole text) when the artifact has n-grams


def available_cpus() -> int:
    """CPUs this process may run on: Lambda sizes them by memory, and os.cpu_count() reports the host."""
    return len(os.sched_getaffinity(0))


def onnx_session(path: Path, threads: int) -> ort.InferenceSession:
    """A CPU session as the handler runs every model: `threads` intra-op threads, sequential, all graph
    optimisations (export/ builds the n-gram model's parity check on the same settings)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


# The ONNX input names the export writes, and the Encoding attribute that holds each.
_ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64: finite for any finite logits, however far apart."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    return np.exp(log_softmax(logits))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function in float64, without overflow for large |logits|."""
    logits = logits.astype(np.float64)
    return np.exp(-np.logaddexp(0, -logits))


def average_by_text(
    logits: np.ndarray, owner: np.ndarray, counts: np.ndarray, *, multi_label: bool = False
) -> np.ndarray:
    """[windows, labels] logits -> [texts, labels] probabilities: each text's windows' softmax (sigmoid for
    a multi-label model), averaged.

    The one rule that scores a long text; fine-tuning picks its epoch with it too, so that the epoch kept is
    the one that serves best.
    """
    sums = np.zeros((len(counts), logits.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, sigmoid(logits) if multi_label else softmax(logits))
    return sums / counts[:, None]


def blend(probabilities: np.ndarray, ngram_logits: np.ndarray, weight: float) -> np.ndarray:
    """The weighted geometric mean of the transformer's and the n-gram model's probabilities, renormalised.

    With two labels this mixes the two models' log-odds linearly: (1 - weight) * transformer + weight *
    n-grams. A confident model still counts for more than an unsure one, which averaging probabilities
    would flatten.
    """
    mixed = (1 - weight) * np.log(np.clip(probabilities, 1e-12, 1)) + weight * log_softmax(ngram_logits)
    return softmax(mixed)


def ngram_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """A copy of the serving tokenizer that reads a whole text: no windows, no padding."""
    whole = Tokenizer.from_str(tokenizer.to_str())
    whole.no_truncation()
    whole.no_padding()
    return whole


def ngram_ids(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each text's token ids without special tokens: what the n-gram model counts, in export/ and here."""
    return [encoding.ids for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


class NgramModel:
    """ngrams.onnx run by onnxruntime (token ids [1, n] -> logits [1, labels]), its tokenizer, and its blend
    weight: the reference export/ checks against scikit-learn; the handler serves SparseNgrams."""

    def __init__(
        self, tokenizer: Tokenizer, session: ort.InferenceSession, weight: float, labels: int
    ) -> None:
        """Raises ValueError when the session is not such a model: a graph with other inputs or outputs
        would load and then fail every request."""
        inputs = [i.name for i in session.get_inputs()]
        outputs = {o.name: o.shape for o in session.get_outputs()}
        if inputs != ["input_ids"] or outputs.get("logits") != [1, labels]:
            raise ValueError(
                f"not an n-gram model for {labels} labels: inputs {inputs}, outputs {outputs} (want "
                f"input_ids -> logits [1, {labels}])"
            )
        self.tokenizer = ngram_tokenizer(tokenizer)
        self.session = session
        self.weight = weight

    def feeds(self, texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
        """One feed per text: all its token ids (none for a text of spaces only: the prior answers)."""
        return [
            {"input_ids": np.asarray(ids, dtype=np.int64).reshape(1, -1)}
            for ids in ngram_ids(self.tokenizer, texts)
        ]

    def logits(self, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
        """[texts, labels] logits, one ONNX run per text."""
        return np.concatenate([self.session.run(["logits"], feed)[0] for feed in feeds])


class Classifier:
    """The tokenizer, ONNX session and labels of one artifact directory, loaded once and reused."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        session: ort.InferenceSession,
        manifest: dict[str, Any],
        labels,
        ngrams: SparseNgrams | NgramModel | None = None,
    ):
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()  # windows run one by one (see the module docstring): nothing to pad
        self.session = session
        self.ngrams = ngrams
        self.manifest = manifest
        self.labels: tuple[str, ...] = tuple(labels)
        self.max_windows = int(manifest["max_windows"])
        self.multi_label, self.threshold = read_problem(manifest)
        self._input_fields = {i.name: _ENCODING_FIELDS[i.name] for i in session.get_inputs()}
        self._stride = int((tokenizer.truncation or {}).get("stride", 0))

    @classmethod
    def from_dir(cls, path: str | os.PathLike[str], *, threads: int | None = None) -> Classifier:
        """Load an artifact directory written by export/.

        Args:
            path: directory holding model.onnx, tokenizer.json, config.json and manifest.json.
            threads: ORT intra-op threads; default: the CPUs this process may use.

        Raises:
            ArtifactError: a file is missing, unreadable or corrupt, or the files break the contract.
        """
        root = Path(path)
        manifest = read_manifest(root)
        labels = read_labels(root, manifest)
        tokenizer = read_tokenizer(root)
        threads = threads or available_cpus()
        with loading(root / "model.onnx"):
            session = onnx_session(root / "model.onnx", threads)
        ngrams = None
        if (entry := read_ngrams(root, manifest)) is not None:
            path, weight = entry
            with loading(path):
                ngrams = SparseNgrams(path, tokenizer.get_vocab_size(), len(labels), weight)
        return cls(tokenizer, session, manifest, labels, ngrams)

    @property
    def model_id(self) -> str:
        """`name@sha12` of the weights that answer (`handler.artifact.model_id`)."""
        return model_id(self.manifest)

    def encode(self, texts: Sequence[str]) -> Windows:
        """Tokenize texts into windows, keeping at most max_windows per text (the first ones); with an n-gram
        model, also each whole text's token ids, from all its windows (one tokenization serves both)."""
        rows: list[Encoding] = []
        owner: list[int] = []
        counts: list[int] = []
        truncated: list[bool] = []
        ngram_feeds: list[dict[str, np.ndarray]] = []
        for index, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            windows = [encoding, *encoding.overflowing]
            kept = windows[: self.max_windows]
            rows.extend(kept)
            owner.extend([index] * len(kept))
            counts.append(len(kept))
            truncated.append(len(windows) > len(kept))
            if self.ngrams is not None:
                ngram_feeds.append({"input_ids": self.text_ids(windows).reshape(1, -1)})
        feeds = [
            {
                name: np.asarray([getattr(row, field)], dtype=np.int64)
                for name, field in self._input_fields.items()
            }
            for row in rows
        ]
        return Windows(
            feeds,
            np.asarray(owner),
            np.asarray(counts),
            np.asarray(truncated, dtype=bool),
            ngram_feeds,
        )

    def text_ids(self, windows: Sequence[Encoding]) -> np.ndarray:
        """A whole text's token ids without special tokens (`ngram_ids`), from all its windows: each
        window's own tokens (sequence 0, wherever the post-processor put the special ones), and every window
        after the first repeats `stride` tokens of the one before."""
        parts = []
        for number, window in enumerate(windows):
            sequence = window.sequence_ids
            if 0 not in sequence:  # a text without tokens: special tokens only
                continue
            start, stop = sequence.index(0), len(sequence) - sequence[::-1].index(0)
            parts.append(window.ids[start + (self._stride if number else 0) : stop])
        return np.fromiter(itertools.chain.from_iterable(parts), dtype=np.int64)

    def probabilities(self, windows: Windows) -> np.ndarray:
        """Run the model on every window and average each text's window probabilities -> [texts, labels],
        blended with the n-gram model's when the artifact has one."""
        if not len(windows.counts):
            return np.zeros((0, len(self.labels)))
        probabilities = self.window_probabilities(windows)
        if self.ngrams is None:
            return probabilities
        return blend(probabilities, self.ngrams.logits(windows.ngram_feeds), self.ngrams.weight)

    def window_probabilities(self, windows: Windows) -> np.ndarray:
        """The transformer's answer alone: each text's window probabilities averaged -> [texts, labels]."""
        return average_by_text(
            self.logits(windows), windows.owner, windows.counts, multi_label=self.multi_label
        )

    def logits(self, windows: Windows) -> np.ndarray:
        """Model logits [windows, labels], one ONNX run per window: no window's answer depends on another's,
        and peak memory is that of one window whatever the request."""
        return np.concatenate([self.session.run(["logits"], feed)[0] for feed in windows.feeds])

    def predict(self, windows: Windows) -> list[Prediction]:
        """Turn encoded windows into one Prediction per text (the inference step)."""
        probs = self.probabilities(windows)
        return [
            Prediction(
                label=self.labels[int(row.argmax())],
                score=float(row.max()),
                scores={label: float(p) for label, p in zip(self.labels, row, strict=True)},
                windows=int(count),
                truncated=bool(cut),
                labels=self.over_threshold(row) if self.multi_label else None,
            )
            for row, count, cut in zip(probs, windows.counts, windows.truncated, strict=True)
        ]

    def over_threshold(self, row: np.ndarray) -> tuple[str, ...]:
        """A multi-label answer: every label whose probability reaches the threshold, most probable first."""
        return tuple(self.labels[k] for k in np.argsort(-row, kind="stable") if row[k] >= self.threshold)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """Tokenize and score texts in one call, for callers that need neither step alone."""
        return self.predict(self.encode(texts))
