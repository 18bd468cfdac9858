"""(b) The floor: the served tokenizer and ONNX sessions, in process, nothing else.

No HTTP envelope, emulator, validation or logging: whatever (a) adds on top of this is overhead. It uses
the very tokenizer, windows and sessions the handler's loader builds (same thread settings, each window run
alone and unpadded as the handler runs it, the n-gram model too when the artifact has one), so only the
serving layers differ.
"""

from __future__ import annotations

import numpy as np

from handler.inference import Classifier


class Floor:
    """Raw tokenize + run on a loaded artifact."""

    def __init__(self, served: Classifier) -> None:
        self.served = served

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Every text's probabilities: its windows (at most `max_windows`) run one by one, averaged, and
        blended with the n-gram model's when there is one."""
        return self.served.probabilities(self.served.encode(texts))
