"""(b) The floor: tokenizers + one onnxruntime run on build/model, in process, nothing else.

No HTTP envelope, validation, window averaging or logging: whatever the served handler adds on top of
this is its overhead. It feeds the same windows the handler does (the artifact's tokenizer settings).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Encoding, Tokenizer

# The ONNX input names the export writes, and the Encoding attribute that holds each.
_FEEDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


class Floor:
    """Raw tokenizer + session, loaded once like the handler loads them."""

    def __init__(self, model_dir: Path) -> None:
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.session = ort.InferenceSession(str(model_dir / "model.onnx"), providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def logits(self, texts: list[str]) -> np.ndarray:
        """Logits of every window of every text (overflow windows included), one session run."""
        windows: list[Encoding] = []
        for encoding in self.tokenizer.encode_batch(texts):
            windows += [encoding, *encoding.overflowing]
        feed = {
            name: np.array([getattr(w, _FEEDS[name]) for w in windows], dtype=np.int64)
            for name in self.input_names
        }
        return self.session.run(["logits"], feed)[0]
