"""Score texts with the int8 ONNX model of an artifact directory (the export/ contract).

No Powertools here: export/ imports this module to measure accuracy with exactly the code that serves,
windowing included. The Classifier owns what an artifact loads (tokenizer, ONNX session, n-gram model,
labels) and runs the steps, each in its own module: windows (handler/windows.py), one ONNX run per window
(handler/sessions.py), probabilities, averaging and the blend (handler/probabilities.py).

A single-label model's windows are scored with softmax, a multi-label model's with sigmoid (each label on
its own, answered when it reaches the manifest's threshold); the manifest's `problem_type` says which.

An artifact may add an n-gram model (`ngrams.onnx`, written by export/ngrams.py): a linear model over the
unigrams and bigrams of the whole text's token ids, blended with the windows' probabilities by a weight the
manifest records (`blend`). The handler scores it sparsely (handler/ngrams.py: the same function, at a cost
in proportion to the text), from the token ids of the windows: each text is tokenized once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Set before tokenizers is imported: its thread pool otherwise warns after a fork and competes with ORT.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from handler.artifact import check_files, loading, read_labels, read_manifest, read_tokenizer
from handler.batches import stacked_logits
from handler.manifest import Manifest
from handler.ngrams import SparseNgrams, read_tables
from handler.probabilities import average_by_text, blend
from handler.sessions import available_cpus, onnx_session
from handler.windows import Windowing, Windows
from handler.words import Credit


@dataclass(frozen=True)
class Prediction:
    """One text's answer: the winning label, every label's probability and how many windows made it;
    for a multi-label model also every label at or over the threshold, most probable first; when asked
    for, the words that made it (handler/explain.py)."""

    label: str
    score: float
    scores: dict[str, float]
    windows: int
    truncated: bool
    labels: tuple[str, ...] | None = None
    explanation: tuple[Credit, ...] | None = None


class Classifier:
    """The tokenizer, ONNX session and labels of one artifact directory, loaded once and reused."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        session: ort.InferenceSession,
        manifest: Manifest,
        labels,
        ngrams: SparseNgrams | None = None,
    ):
        self.tokenizer = tokenizer
        self.session = session
        self.ngrams = ngrams
        self.manifest = manifest
        self.labels: tuple[str, ...] = tuple(labels)
        self.max_windows = manifest.max_windows
        self.multi_label, self.threshold = manifest.multi_label, manifest.decision_threshold
        inputs = [i.name for i in session.get_inputs()]
        self.windowing = Windowing(tokenizer, inputs, self.max_windows, ngram_ids=ngrams is not None)

    @property
    def model_id(self) -> str:
        """`name@sha12` of the weights that answer, as every answer names them (the manifest's)."""
        return self.manifest.model_id

    @classmethod
    def from_dir(
        cls, path: str | os.PathLike[str], *, threads: int | None = None, manifest: Manifest | None = None
    ) -> Classifier:
        """Load an artifact directory written by export/.

        Args:
            path: directory holding model.onnx, tokenizer.json, config.json and manifest.json.
            threads: ORT intra-op threads; default: the CPUs this process may use.
            manifest: the directory's manifest when it is not written yet (the build scores a directory
                before it writes its manifest, once); default: read from `path`.

        Raises:
            ArtifactError: a file is missing, unreadable or corrupt, or the files break the contract.
        """
        root = Path(path)
        manifest = read_manifest(root) if manifest is None else check_files(root, manifest)
        labels = read_labels(root, manifest)
        tokenizer = read_tokenizer(root)
        threads = threads or available_cpus()
        with loading(root / "model.onnx"):
            session = onnx_session(root / "model.onnx", threads)
        ngrams = None
        if manifest.ngrams is not None:
            tables = read_tables(root, manifest.ngrams, tokenizer.get_vocab_size(), len(labels))
            ngrams = SparseNgrams(tables, manifest.ngrams.weight)
        return cls(tokenizer, session, manifest, labels, ngrams)

    def encode(self, texts: Sequence[str]) -> Windows:
        """Tokenize texts into windows (the tokenize step): `Windowing.encode`."""
        return self.windowing.encode(texts)

    def probabilities(self, windows: Windows, *, stacked: bool = False) -> np.ndarray:
        """Run the model on every window and average each text's window probabilities -> [texts, labels],
        blended with the n-gram model's when the artifact has one.

        Args:
            stacked: run windows of equal length together (handler/batches.py), as an explanation runs the
                copies of one text; default: each window alone, as every answer is scored.
        """
        if not len(windows.counts):
            return np.zeros((0, len(self.labels)))
        probabilities = self.window_probabilities(windows, stacked=stacked)
        if self.ngrams is None:
            return probabilities
        return blend(probabilities, self.ngrams.logits(windows.ngram_feeds), self.ngrams.weight)

    def window_probabilities(self, windows: Windows, *, stacked: bool = False) -> np.ndarray:
        """The transformer's answer alone: each text's window probabilities averaged -> [texts, labels]."""
        logits = stacked_logits(self.session, windows.feeds) if stacked else self.logits(windows)
        return average_by_text(logits, windows.owner, windows.counts, multi_label=self.multi_label)

    def logits(self, windows: Windows) -> np.ndarray:
        """Model logits [windows, labels], one ONNX run per window: no window's answer depends on another's,
        and peak memory is that of one window whatever the request."""
        return np.concatenate([self.session.run(["logits"], feed)[0] for feed in windows.feeds])

    def predict(self, windows: Windows) -> list[Prediction]:
        """Turn encoded windows into one Prediction per text (the inference step)."""
        probs = self.probabilities(windows)
        # Whole-array calls, then Python values: numpy calls per row cost more than the rows' arithmetic
        # (the same floats: argmax's index picks the row's maximum, NaN first as numpy's max does).
        best = probs.argmax(axis=1).tolist()
        rows = zip(probs.tolist(), best, windows.counts.tolist(), windows.truncated.tolist(), strict=True)
        return [
            Prediction(
                label=self.labels[k],
                score=values[k],
                scores=dict(zip(self.labels, values, strict=True)),
                windows=count,
                truncated=cut,
                labels=self.over_threshold(probs[i]) if self.multi_label else None,
            )
            for i, (values, k, count, cut) in enumerate(rows)
        ]

    def over_threshold(self, row: np.ndarray) -> tuple[str, ...]:
        """A multi-label answer: every label whose probability reaches the threshold, most probable first."""
        return tuple(self.labels[k] for k in np.argsort(-row, kind="stable") if row[k] >= self.threshold)

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """Tokenize and score texts in one call, for callers that need neither step alone."""
        return self.predict(self.encode(texts))
