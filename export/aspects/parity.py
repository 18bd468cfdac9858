"""Tag logits of the ONNX exports against PyTorch's, sentence by sentence (the sentence model's check,
export/onnx_export.py, compares one row of logits per text; a tagger has one per token)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from export.errors import ParityError
from export.onnx_export import Parity


def torch_tag_logits(checkpoint: Path, texts: list[str], max_length: int) -> list[np.ndarray]:
    """PyTorch's [tokens, labels] logits per text, each truncated to one window."""
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForTokenClassification.from_pretrained(checkpoint).eval()
    batch = tokenizer(texts, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits.numpy()
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    return [logits[i, :n] for i, n in enumerate(lengths)]


def onnx_tag_logits(
    model_path: Path, checkpoint: Path, texts: list[str], max_length: int
) -> list[np.ndarray]:
    """An ONNX tagger's [tokens, labels] logits per text, each in its own unpadded run, as served."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    found = []
    for text in texts:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="np")
        found.append(session.run(["logits"], {n: encoded[n].astype(np.int64) for n in names})[0][0])
    return found


def compare(reference: list[np.ndarray], candidate: list[np.ndarray], atol: float | None) -> Parity:
    """Per sentence, the largest |logit difference| over its tokens; tags agree where the argmax does.

    Raises:
        ParityError: with `atol` set, when any sentence differs by more; lists them all.
    """
    diff = np.asarray([np.abs(r - c).max() for r, c in zip(reference, candidate, strict=True)])
    if atol is not None and (bad := [f"#{i}: {d:.2e}" for i, d in enumerate(diff) if d > atol]):
        raise ParityError(f"{len(bad)}/{len(diff)} sentences beyond atol {atol}: {', '.join(bad)}")
    agree = np.concatenate([r.argmax(-1) == c.argmax(-1) for r, c in zip(reference, candidate, strict=True)])
    return Parity(len(diff), float(diff.max()), float(diff.mean()), float(agree.mean()), atol)


@dataclass(frozen=True)
class TagProbe:
    """The dev sentences each export is compared with PyTorch on, and PyTorch's logits for them."""

    checkpoint: Path
    texts: list[str]
    max_length: int
    reference: list[np.ndarray]

    @classmethod
    def of(cls, checkpoint: Path, texts: list[str], max_length: int) -> TagProbe:
        return cls(checkpoint, texts, max_length, torch_tag_logits(checkpoint, texts, max_length))

    def parity(self, model: Path, atol: float | None) -> Parity:
        """Raises: ParityError: beyond `atol` (None: compared, not gated)."""
        return compare(
            self.reference, onnx_tag_logits(model, self.checkpoint, self.texts, self.max_length), atol
        )
