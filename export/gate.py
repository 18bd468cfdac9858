"""The quantization gate: how many points of a dev metric the int8 model may lose against fp32, or, with no
dev set of the model's labels, how often its answers may differ from fp32's.

Pure functions, apart from the build, so their decisions can be tested at the boundary without training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from export.errors import GateError

# Metrics are fractions of a dev set (k/n), and 100 * (a - b) is not exact in binary floating point: a drop of
# exactly the allowed 0.5 points computes as 0.5000000000000004. A drop within this of the limit is the limit.
_ROUNDING = 1e-9


def check_quantization(
    fp32: dict[str, Any], int8: dict[str, Any], max_drop_points: float, metric: str = "accuracy"
) -> float:
    """Return how many points of `metric` int8 lost against fp32 (negative: it gained).

    Args:
        fp32, int8: dev metrics of each model, as fractions (0.91 for 91 %).
        max_drop_points: the most percentage points int8 may lose (0.5: half a point, not half the score).
        metric: the entry compared ("accuracy"; a multi-class or multi-label build may gate on "macro_f1").

    Raises:
        GateError: int8 lost more than `max_drop_points`; the message names the metric, both scores, the drop
            and the allowed drop.
    """
    drop = 100 * (fp32[metric] - int8[metric])
    if drop > max_drop_points + _ROUNDING:
        raise GateError(
            f"int8 {metric} {int8[metric]:.4f} is {drop:.2f} points below fp32 {fp32[metric]:.4f} "
            f"(allowed: {max_drop_points})"
        )
    return drop


def answer_agreement(reference: np.ndarray, candidate: np.ndarray, threshold: float | None) -> float:
    """The share of texts answered alike by two models' [texts, labels] probabilities: the same top label
    (single-label, `threshold` None), or the same set of labels at or over `threshold` (multi-label)."""
    if threshold is None:
        return float((reference.argmax(axis=1) == candidate.argmax(axis=1)).mean())
    return float(((reference >= threshold) == (candidate >= threshold)).all(axis=1).mean())


def check_agreement(agreement: float, texts: int, max_drop_points: float) -> float:
    """The gate without a dev set of the model's labels: return the least agreement allowed.

    On any labelling of the texts, int8's accuracy differs from fp32's by at most the share of texts they
    answer differently, so answering alike on at least 1 - max_drop_points / 100 of them keeps the drop
    within the allowed points, whatever the labels.

    Raises:
        GateError: int8 answers differently on more of the texts than that; the message says both shares.
    """
    least = max(0.0, 1 - max_drop_points / 100)
    if agreement < least - _ROUNDING:
        raise GateError(
            f"int8 answers differently from fp32 on {100 * (1 - agreement):.2f} % of {texts} texts (allowed: "
            f"{max_drop_points} %, the most accuracy points that can cost on any labelling of them)"
        )
    return least
