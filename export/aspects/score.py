"""Span scores of an aspect model as served: exact-match micro precision, recall and F1.

A predicted aspect counts only where its start and end are a gold aspect's (and, for pairs, its sentiment
too), over every sentence at once (micro). The answers scored are the handler's own spans
(handler/aspects.py), so these figures are what an API caller gets. The metric is counted on character
spans, not on tag sequences (seqeval scores tags, and its default mode reads an I- after O otherwise than
the decoder does): what is scored is exactly what is answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from export.aspects.data import Sentence
from handler.aspect_spans import Aspect


def span_scores(gold: Sequence[set], predicted: Sequence[set]) -> dict[str, Any]:
    """Micro precision/recall/F1 of predicted against gold items, sentence by sentence."""
    correct = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    n_gold, n_predicted = sum(map(len, gold)), sum(map(len, predicted))
    precision = correct / n_predicted if n_predicted else 0.0
    recall = correct / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "gold": n_gold,
        "predicted": n_predicted,
        "correct": correct,
    }


def aspect_scores(
    sentences: Sequence[Sentence],
    answers: Sequence[Sequence[Aspect]],
    windows: Sequence[int] | None = None,
    truncated: Sequence[bool] | None = None,
) -> dict[str, Any]:
    """Pair and extraction scores of the answers to `sentences` (as handler/aspect_manifest.AspectScores)."""
    gold_pairs = [{(s.start, s.end, s.sentiment) for s in sentence.spans} for sentence in sentences]
    found_pairs = [{(a.start, a.end, a.sentiment) for a in answer} for answer in answers]
    windows = windows or [1] * len(sentences)
    return {
        "sentences": len(sentences),
        "pair": span_scores(gold_pairs, found_pairs),
        "extraction": span_scores(
            [{pair[:2] for pair in pairs} for pairs in gold_pairs],
            [{pair[:2] for pair in pairs} for pairs in found_pairs],
        ),
        "implicit_dropped": sum(sentence.implicit for sentence in sentences),
        "conflict_dropped": sum(len(sentence.conflict) for sentence in sentences),
        "windows_mean": sum(windows) / max(1, len(windows)),
        "truncated": sum(truncated or []),
    }
