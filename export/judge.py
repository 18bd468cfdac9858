"""Judging the int8 model against its fp32 twin, both scored by the serving code on the build's dev texts:
on a dev set labelled as the model answers, by the points of the gated metric it lost; with none (an as-is
classifier whose labels no dev set at hand has), by how often its answers are fp32's, and the manifest, the
model card and the build log say so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from export import gate
from export.corpus import Data
from export.errors import GateError
from export.evaluate import Scored, by_source, metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Gate:
    """What the int8 model is judged by: the gated metric, the multi-label threshold (None: single-label),
    the most points it may lose against fp32, and what a refusal leaves where (for its message)."""

    metric: str
    threshold: float | None
    max_drop: float
    refused: str


def refusing(rules: Gate, check: Any, *args: Any) -> Any:
    """`check(*args)`, a refusal's message completed with what it left where.

    Raises:
        GateError: the check refused the model.
    """
    try:
        return check(*args)
    except GateError as refused:
        raise GateError(f"{refused}; {rules.refused}") from None


def on_dev(fp32: dict[str, Any], scored: Scored, data: Data, rules: Gate) -> dict[str, Any]:
    """The manifest's metrics of a model gated on dev: fp32's and int8's scores, the points lost, and each
    dev source's int8 scores when the dev data joined several.

    Raises:
        GateError: more than the allowed drop.
    """
    threshold = rules.threshold if rules.threshold is not None else 0.5
    int8 = metrics(scored, data.dev, threshold)
    log.info("dev %s fp32 %.4f, int8 %.4f", rules.metric, fp32[rules.metric], int8[rules.metric])
    found = {
        "fp32": fp32,
        "int8": int8,
        "quantization_drop_points": refusing(
            rules, gate.check_quantization, fp32, int8, rules.max_drop, rules.metric
        ),
    }
    if per_source := by_source(scored, data.dev, data.provenance["dev"], threshold):
        found["int8_by_dev_source"] = per_source
    return found


def on_parity(fp32: Scored, int8: Scored, reason: str, rules: Gate) -> dict[str, Any]:
    """The manifest's metrics of a model gated on parity alone: how often int8 answers as fp32 does on the
    dev texts, at least 1 - the allowed drop (export/gate.py, `check_agreement`).

    Raises:
        GateError: int8 answers differently on more of the texts than that.
    """
    texts = len(fp32.probabilities)
    agreement = gate.answer_agreement(fp32.probabilities, int8.probabilities, rules.threshold)
    least = refusing(rules, gate.check_agreement, agreement, texts, rules.max_drop)
    log.warning(
        "gated on parity alone: %s; int8 answers as fp32 on %.2f %% of %d texts (at least %.2f %%): give "
        "DEV_DATA with those labels to gate on accuracy",
        reason,
        100 * agreement,
        texts,
        100 * least,
    )
    return {
        "parity_gate": {
            "reason": reason,
            "texts": texts,
            "agreement": agreement,
            "min_agreement": least,
            "max_abs_diff": float(np.abs(fp32.probabilities - int8.probabilities).max()),
        }
    }
