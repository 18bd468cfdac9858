"""(b) The floor: the served tokenizer + one onnxruntime run per window, in process, nothing else.

No HTTP envelope, emulator, validation, window averaging or logging: whatever (a) adds on top of this
is overhead. It uses the very tokenizer, windows and session the handler's loader builds (same thread
settings, each window run alone and unpadded as the handler runs it), so only the serving layers differ.
"""

from __future__ import annotations

import numpy as np

from handler.inference import Classifier


class Floor:
    """Raw tokenize + run on a loaded artifact."""

    def __init__(self, served: Classifier) -> None:
        self.served = served

    def logits(self, texts: list[str]) -> np.ndarray:
        """Logits of every window the handler scores (at most `max_windows` per text), one run each."""
        return self.served.logits(self.served.encode(texts))
