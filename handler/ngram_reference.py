"""The n-gram model run by onnxruntime, and the token ids it counts.

export/ checks ngrams.onnx against scikit-learn through this reference, and tests/handler holds the sparse
scorer that serves (handler/ngrams.py) to its answers. `ngram_ids` is what the model counts, in export/ and
in the handler alike: the serving tokenizer's own ids, so the image needs no other tokenizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def ngram_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """A copy of the serving tokenizer that reads a whole text: no windows, no padding."""
    whole = Tokenizer.from_str(tokenizer.to_str())
    whole.no_truncation()
    whole.no_padding()
    return whole


def ngram_ids(tokenizer: Tokenizer, texts: Sequence[str]) -> list[list[int]]:
    """Each text's token ids without special tokens: what the n-gram model counts, in export/ and here."""
    return [encoding.ids for encoding in tokenizer.encode_batch(list(texts), add_special_tokens=False)]


class NgramModel:
    """ngrams.onnx run by onnxruntime (token ids [1, n] -> logits [1, labels]), its tokenizer, and its blend
    weight: the reference export/ checks against scikit-learn; the handler serves SparseNgrams."""

    def __init__(
        self, tokenizer: Tokenizer, session: ort.InferenceSession, weight: float, labels: int
    ) -> None:
        """Raises ValueError when the session is not such a model: a graph with other inputs or outputs
        would load and then fail every request."""
        inputs = [i.name for i in session.get_inputs()]
        outputs = {o.name: o.shape for o in session.get_outputs()}
        if inputs != ["input_ids"] or outputs.get("logits") != [1, labels]:
            raise ValueError(
                f"not an n-gram model for {labels} labels: inputs {inputs}, outputs {outputs} (want "
                f"input_ids -> logits [1, {labels}])"
            )
        self.tokenizer = ngram_tokenizer(tokenizer)
        self.session = session
        self.weight = weight

    def feeds(self, texts: Sequence[str]) -> list[dict[str, np.ndarray]]:
        """One feed per text: all its token ids (none for a text of spaces only: the prior answers)."""
        return [
            {"input_ids": np.asarray(ids, dtype=np.int64).reshape(1, -1)}
            for ids in ngram_ids(self.tokenizer, texts)
        ]

    def logits(self, feeds: list[dict[str, np.ndarray]]) -> np.ndarray:
        """[texts, labels] logits, one ONNX run per text."""
        return np.concatenate([self.session.run(["logits"], feed)[0] for feed in feeds])
