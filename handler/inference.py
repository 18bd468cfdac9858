"""Score texts with the int8 ONNX model of an artifact directory (the export/ contract).

No Powertools here: export/ imports this module to measure accuracy with exactly the code that serves,
windowing included. Long texts are split by the tokenizer's own truncation-with-stride overflow, so window
length and overlap come from tokenizer.json, never from this file.
"""

from __future__ import annotations

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

from handler.artifact import ARTIFACT_FILES, read_labels, read_manifest, read_tokenizer

__all__ = ["ARTIFACT_FILES", "Classifier", "Prediction", "Windows", "available_cpus"]


@dataclass(frozen=True)
class Prediction:
    """One text's answer: the winning label, every label's probability and how many windows made it."""

    label: str
    score: float
    scores: dict[str, float]
    windows: int
    truncated: bool


@dataclass(frozen=True)
class Windows:
    """Token windows of a batch of texts, ready for the ONNX session (the tokenize step's output)."""

    feeds: dict[str, np.ndarray]
    owner: np.ndarray  # index of the text each window row belongs to
    counts: np.ndarray  # windows used per text
    truncated: np.ndarray  # True where windows beyond max_windows were dropped


def available_cpus() -> int:
    """CPUs this process may run on: Lambda sizes them by memory, and os.cpu_count() reports the host."""
    return len(os.sched_getaffinity(0))


def _session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])


ROWS_PER_RUN = 32


def average_by_text(logits: np.ndarray, owner: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[windows, labels] logits -> [texts, labels] probabilities: each text's windows' softmax, averaged.

    The one rule that scores a long text; fine-tuning picks its epoch with it too, so that the epoch kept is
    the one that serves best.
    """
    logits = logits.astype(np.float64)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    sums = np.zeros((len(counts), logits.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, shifted / shifted.sum(axis=1, keepdims=True))
    return sums / counts[:, None]


class Classifier:
    """The tokenizer, ONNX session and labels of one artifact directory, loaded once and reused."""

    def __init__(self, tokenizer: Tokenizer, session: ort.InferenceSession, manifest: dict[str, Any], labels):
        self.tokenizer = tokenizer
        self.session = session
        self.manifest = manifest
        self.labels: tuple[str, ...] = tuple(labels)
        self.max_windows = int(manifest["max_windows"])
        # Windows per ONNX run: attention memory grows with rows x length^2, so a request of 32 long reviews
        # (256 windows of 256 tokens) in one run peaked at 2.6 GB; chunks of 32 bound it whatever the request.
        self.rows_per_run = ROWS_PER_RUN
        self._input_names = [i.name for i in session.get_inputs()]

    @classmethod
    def from_dir(cls, path: str | os.PathLike[str], *, threads: int | None = None) -> Classifier:
        """Load an artifact directory written by export/.

        Args:
            path: directory holding model.onnx, tokenizer.json, config.json and manifest.json.
            threads: ORT intra-op threads; default: the CPUs this process may use.

        Raises:
            ArtifactError: a file is missing or unreadable, or the files break the contract.
        """
        root = Path(path)
        manifest = read_manifest(root)
        labels = read_labels(root, manifest)
        tokenizer = read_tokenizer(root)
        session = _session(root / "model.onnx", threads or available_cpus())
        return cls(tokenizer, session, manifest, labels)

    @property
    def model_id(self) -> str:
        """`name@sha12` of model.onnx: tells a caller exactly which weights answered."""
        return f"{self.manifest['name']}@{self.manifest['files']['model.onnx']['sha256'][:12]}"

    def encode(self, texts: Sequence[str]) -> Windows:
        """Tokenize texts into windows, keeping at most max_windows per text (the first ones)."""
        rows: list[Encoding] = []
        owner: list[int] = []
        counts: list[int] = []
        truncated: list[bool] = []
        for index, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            windows = [encoding, *encoding.overflowing]
            kept = windows[: self.max_windows]
            rows.extend(kept)
            owner.extend([index] * len(kept))
            counts.append(len(kept))
            truncated.append(len(windows) > len(kept))
        columns = {
            "input_ids": [row.ids for row in rows],
            "attention_mask": [row.attention_mask for row in rows],
            "token_type_ids": [row.type_ids for row in rows],
        }
        feeds = {name: np.asarray(columns[name], dtype=np.int64) for name in self._input_names}
        return Windows(feeds, np.asarray(owner), np.asarray(counts), np.asarray(truncated, dtype=bool))

    def probabilities(self, windows: Windows) -> np.ndarray:
        """Run the model on every window and average each text's window probabilities -> [texts, labels]."""
        if not len(windows.counts):
            return np.zeros((0, len(self.labels)))
        return average_by_text(self._logits(windows.feeds), windows.owner, windows.counts)

    def _logits(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Model logits for every window row, `rows_per_run` rows per ONNX run to bound peak memory."""
        rows = len(next(iter(feeds.values())))
        runs = (
            self.session.run(
                ["logits"],
                {name: column[start : start + self.rows_per_run] for name, column in feeds.items()},
            )
            for start in range(0, rows, self.rows_per_run)
        )
        return np.concatenate([logits for (logits,) in runs])

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
            )
            for row, count, cut in zip(probs, windows.counts, windows.truncated, strict=True)
        ]

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """Tokenize and score texts in one call: what export/ evaluation and simple callers use."""
        return self.predict(self.encode(texts))

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Probabilities [texts, labels] for many texts, in batches so memory stays bounded."""
        parts = [
            self.probabilities(self.encode(texts[start : start + batch_size]))
            for start in range(0, len(texts), batch_size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)))
