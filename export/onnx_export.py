"""ONNX export with Optimum, and the logit parity check against the PyTorch checkpoint."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.errors import ParityError

# The file Optimum's main_export writes (its name, not the artifact's: the build copies it to MODEL_FILE).
OPTIMUM_FILE = "model.onnx"


@dataclass(frozen=True)
class Parity:
    """How close a model's logits are to the reference's on the same single-window inputs."""

    samples: int
    max_abs_diff: float
    mean_abs_diff: float
    label_agreement: float
    atol: float | None

    def as_dict(self) -> dict[str, float | int | None]:
        return dict(self.__dict__)


def export_onnx(checkpoint: Path, out_dir: Path, task: str = "text-classification") -> Path:
    """Export the checkpoint for `task` (text-classification, or token-classification for the aspect
    tagger; output `logits` either way); returns the ONNX file's path.

    Optimum's own validation is skipped: `check_parity` does it on real dev texts instead of random tokens.
    """
    from optimum.exporters.onnx import main_export

    main_export(
        str(checkpoint),
        output=out_dir,
        task=task,
        do_validation=False,
        library_name="transformers",
    )
    return out_dir / OPTIMUM_FILE


def torch_logits(checkpoint: Path, texts: list[str], max_length: int) -> np.ndarray:
    """Reference logits of the PyTorch checkpoint, texts truncated to one window."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    batch = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    with torch.inference_mode():
        return model(**batch).logits.numpy()


def onnx_logits(model_path: Path, checkpoint: Path, texts: list[str], max_length: int) -> np.ndarray:
    """Logits of an ONNX model for the texts `torch_logits` sees, each in its own unpadded run.

    One run per text, as the handler runs each window (handler/README.md, "Same text, same answer").
    """
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    encoded = (tokenizer(text, truncation=True, max_length=max_length, return_tensors="np") for text in texts)
    return np.concatenate(
        [session.run(["logits"], {n: e[n].astype(np.int64) for n in names})[0] for e in encoded]
    )


def check_parity(reference: np.ndarray, candidate: np.ndarray, atol: float | None) -> Parity:
    """Compare logits sample by sample.

    Raises:
        ParityError: with `atol` set, when any sample differs by more than `atol`; lists them all.
    """
    diff = np.abs(reference - candidate).max(axis=-1)
    if atol is not None:
        bad = [f"#{i}: {d:.2e}" for i, d in enumerate(diff) if d > atol]
        if bad:
            raise ParityError(f"{len(bad)}/{len(diff)} samples beyond atol {atol}: {', '.join(bad)}")
    agreement = float((reference.argmax(-1) == candidate.argmax(-1)).mean())
    return Parity(len(diff), float(diff.max()), float(diff.mean()), agreement, atol)
