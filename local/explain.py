"""`make explain TEXT="..."`: the served model's answer for a text and the words behind it, in the terminal.

The text is printed with each word's background coloured by its weight (handler/explain.py): blue towards
the answered label, orange against it, deeper for a larger share of the largest weight (blue and orange
stay apart for the common colour-vision deficiencies); then the words that weigh most, with their weights.
Without a terminal (a pipe, a file) or with NO_COLOR set (no-color.org), the same lines without colour.
Torch-free: the artifact in MODEL_DIR, scored in this process as the function scores it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from handler.explain import Explainer
from handler.inference import Classifier, Prediction
from handler.words import Credit

# xterm-256 backgrounds, faint to deep: towards the label (blue), against it (orange).
TOWARDS = (153, 75, 27)
AGAINST = (223, 215, 202)
LISTED = 8  # words listed under the text, largest weights first


def colour_wanted(stream: TextIO) -> bool:
    """Colour only on a terminal, and not when NO_COLOR is set to anything but an empty string."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


def _shade(weight: float, largest: float) -> int | None:
    """The background of a word, or None for a weight under a tenth of the largest (left plain)."""
    share = abs(weight) / largest if largest else 0.0
    if share < 0.1:
        return None
    step = 0 if share < 0.4 else 1 if share < 0.7 else 2
    return (TOWARDS if weight > 0 else AGAINST)[step]


def painted(text: str, credits: Sequence[Credit], colour: bool) -> str:
    """`text` as it was sent, each word on its background (dark letters: readable on any theme)."""
    if not colour:
        return text
    largest = max((abs(credit.weight) for credit in credits), default=0.0)
    pieces, at = [], 0
    for credit in credits:
        pieces += [
            text[at : credit.start],
            _on(text[credit.start : credit.end], _shade(credit.weight, largest)),
        ]
        at = credit.end
    return "".join(pieces) + text[at:]


def _on(word: str, shade: int | None) -> str:
    return word if shade is None else f"\x1b[30;48;5;{shade}m{word}\x1b[0m"


def report(text: str, prediction: Prediction, model: str, colour: bool) -> str:
    """The lines `make explain` prints: the answer, the painted text, the words that weigh most."""
    credits = prediction.explanation or ()
    largest = max((abs(credit.weight) for credit in credits), default=0.0)
    label = prediction.label
    lines = [f"{label} {prediction.score:.3f}  ({model})", "", painted(text, credits, colour), ""]
    if prediction.truncated:
        lines += [
            "The text is longer than the windows the model reads: the words after them are not weighed.",
            "",
        ]
    lines.append(
        f"weight: {label}'s probability with the word minus without it (+ towards {label}, - against)"
    )
    for credit in sorted(credits, key=lambda credit: -abs(credit.weight))[:LISTED]:
        word = _on(credit.text, _shade(credit.weight, largest)) if colour else credit.text
        lines.append(f"{credit.weight:+.3f}  {word}")
    return "\n".join(lines)


def explain(model: Path, text: str) -> tuple[Prediction, str]:
    """The model's explained answer for `text`, and the model's id."""
    classifier = Classifier.from_dir(model)
    (prediction,) = Explainer(classifier).classify([text])
    return prediction, classifier.model_id
