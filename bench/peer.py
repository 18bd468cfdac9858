"""(c) The peer design's model code: a transformers `pipeline("text-classification")` on PyTorch.

This is what public Lambda sample repos ship. It truncates every text at the tokenizer's max length
(the served handler windows the whole review instead). Shared by the peer Lambda handler and the
in-process accuracy run so both use the same code.
"""

from __future__ import annotations

from pathlib import Path

from transformers import Pipeline, pipeline


def load_classifier(checkpoint_dir: Path | str) -> Pipeline:
    """The pipeline on CPU, from a local checkpoint (safetensors + tokenizer + config)."""
    return pipeline("text-classification", model=str(checkpoint_dir), device="cpu")


def classify(classifier: Pipeline, texts: list[str]) -> list[dict]:
    """`[{"label": ..., "score": ...}]` per text; the whole request is one padded batch (fp32 PyTorch
    answers the same in any batch)."""
    return classifier(texts, batch_size=len(texts), truncation=True)
