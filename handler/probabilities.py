"""Logits to probabilities: the arithmetic of scoring, shared by the handler and export/.

Float64 throughout and written so that no finite logit overflows. A single-label model's windows are scored
with softmax, a multi-label model's with sigmoid (each label on its own); a long text's windows are
averaged; an artifact with an n-gram model blends the two models' answers.
"""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64: finite for any finite logits, however far apart."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    return np.exp(log_softmax(logits))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Element-wise logistic function in float64, without overflow for large |logits|."""
    logits = logits.astype(np.float64)
    return np.exp(-np.logaddexp(0, -logits))


def average_by_text(
    logits: np.ndarray, owner: np.ndarray, counts: np.ndarray, *, multi_label: bool = False
) -> np.ndarray:
    """[windows, labels] logits -> [texts, labels] probabilities: each text's windows' softmax (sigmoid for
    a multi-label model), averaged.

    The one rule that scores a long text; fine-tuning picks the weights it keeps with it too, so that they
    are the ones that serve best.
    """
    sums = np.zeros((len(counts), logits.shape[1]), dtype=np.float64)
    np.add.at(sums, owner, sigmoid(logits) if multi_label else softmax(logits))
    return sums / counts[:, None]


def blend(probabilities: np.ndarray, ngram_logits: np.ndarray, weight: float) -> np.ndarray:
    """The weighted geometric mean of the transformer's and the n-gram model's probabilities, renormalised.

    With two labels this mixes the two models' log-odds linearly: (1 - weight) * transformer + weight *
    n-grams. A confident model still counts for more than an unsure one, which averaging probabilities
    would flatten.
    """
    mixed = (1 - weight) * np.log(np.clip(probabilities, 1e-12, 1)) + weight * log_softmax(ngram_logits)
    return softmax(mixed)
