"""(b) The floor: the served tokenizer + one onnxruntime run, in process, nothing else.

No HTTP envelope, emulator, validation, window averaging or logging: whatever (a) adds on top of this
is overhead. It uses the very tokenizer and session the handler's loader builds (same windows, same
thread settings), so only the serving layers differ.
"""

from __future__ import annotations

import numpy as np
from tokenizers import Encoding

from handler.inference import Classifier

# The ONNX input names the export writes, and the Encoding attribute that holds each.
_FEEDS = {"input_ids": "ids", "attention_mask": "attention_mask", "token_type_ids": "type_ids"}


class Floor:
    """Raw tokenize + run on a loaded artifact."""

    def __init__(self, served: Classifier) -> None:
        self.tokenizer = served.tokenizer
        self.session = served.session
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
