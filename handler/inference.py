"""Score texts with the int8 ONNX model of an artifact directory (the export/ contract).

No Powertools here: export/ imports this module to measure accuracy with exactly the code that serves,
windowing included. Long texts are split by the tokenizer's own truncation-with-stride overflow, so window
length and overlap come from tokenizer.json, never from this file.

Each window is scored in its own ONNX run, unpadded: dynamic int8 quantization picks one activation scale
per tensor, so in a padded batch a text's answer would depend on the rest of the request (measured, and
what it costs: handler/README.md, "Same text, same answer").
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

from handler.artifact import ARTIFACT_FILES, loading, read_labels, read_manifest, read_tokenizer

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

    feeds: list[dict[str, np.ndarray]]  # one ONNX feed per window: a single unpadded row
    owner: np.ndarray  # index of the text each window belongs to
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


# The ONNX input names the export writes, and the Encoding attribute that holds each.
_ENCODING_FIELDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


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
        self.tokenizer.no_padding()  # windows run one by one (see the module docstring): nothing to pad
        self.session = session
        self.manifest = manifest
        self.labels: tuple[str, ...] = tuple(labels)
        self.max_windows = int(manifest["max_windows"])
        self._input_fields = {i.name: _ENCODING_FIELDS[i.name] for i in session.get_inputs()}

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
        with loading(root / "model.onnx"):
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
        feeds = [
            {
                name: np.asarray([getattr(row, field)], dtype=np.int64)
                for name, field in self._input_fields.items()
            }
            for row in rows
        ]
        return Windows(feeds, np.asarray(owner), np.asarray(counts), np.asarray(truncated, dtype=bool))

    def probabilities(self, windows: Windows) -> np.ndarray:
        """Run the model on every window and average each text's window probabilities -> [texts, labels]."""
        if not len(windows.counts):
            return np.zeros((0, len(self.labels)))
        return average_by_text(self.logits(windows), windows.owner, windows.counts)

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
            )
            for row, count, cut in zip(probs, windows.counts, windows.truncated, strict=True)
        ]

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """Tokenize and score texts in one call: what export/ evaluation and simple callers use."""
        return self.predict(self.encode(texts))
