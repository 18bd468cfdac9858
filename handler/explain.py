"""Why a prediction: each word's contribution to the answered label, by occluding words of the text and
scoring the copies with the served pipeline (windows, transformer, n-gram blend: `Classifier.probabilities`).

A word's weight is the label's probability for the text minus its probability for the text without the word
(handler/words.py says what a word is and how it is removed): positive, the word pushed the answer towards
the label; negative, away from it. No gradients and no torch: the int8 ONNX model that answers is the one
explained, and the weight of a word measured alone is exactly what removing it does to the served score.

Removing each word in turn (leave-one-out) costs a run of the text per word. So a text of more than
`LOO_WORDS` words is explained in two rounds (hierarchical occlusion): its words are cut into contiguous
groups, about sqrt(2 x words) of them, and each group is removed; then each word of the `REFINED` groups that
moved the answer most towards the label is removed alone. A word of a refined group gets its own weight,
any other word its group's weight shared evenly. About 2 x sqrt(2 x words) runs instead of `words`: 14
instead of 25, 22 instead of 60; `make bench` measures what it costs and how faithful it is against
leave-one-out (bench/README.md, "Explanations").

Each text's copies are scored on their own, never with another text's (`Classifier.probabilities(...,
stacked=True)`), so a text's explanation does not depend on the rest of the request. A long text is
explained where the model read it: a word past the windows read (`truncated`) is not listed.

An explanation's cost is known before the model runs (`Plan.windows`): its copies, each counted at the
text's own tokens (a copy is shorter), in windows of `max_length` tokens. The API counts it against the
request's window budget, a bulk row against its own `max_windows`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from handler.windows import Windows
from handler.words import Credit, Word, split_words, without

if TYPE_CHECKING:
    from handler.inference import Classifier, Prediction

# Up to this many words, each word is removed alone: two rounds would run as many copies.
LOO_WORDS = 9
# Groups explained word by word in the second round (most positive first).
REFINED = 2


@dataclass(frozen=True)
class Plan:
    """What explaining one text runs: its words (those the model read), their groups, and the most copies
    it may score, each at most `tokens` tokens (the text's own windows)."""

    words: tuple[Word, ...]
    groups: tuple[tuple[int, ...], ...]  # indices into words, contiguous; singletons: leave-one-out
    copies: int
    tokens: int

    def windows(self, max_length: int) -> int:
        """The plan's cost in windows of `max_length` tokens (rounded up), as the budgets count it."""
        return math.ceil(self.copies * self.tokens / max_length)


def groups_of(count: int, loo_words: int = LOO_WORDS) -> tuple[tuple[int, ...], ...]:
    """`count` word indices cut into contiguous groups: one a word up to `loo_words` words, else about
    sqrt(2 x count) groups of sizes differing by one at most (the number that runs fewest copies)."""
    if count <= loo_words:
        return tuple((i,) for i in range(count))
    number = math.ceil(math.sqrt(2 * count))
    bounds = [round(k * count / number) for k in range(number + 1)]
    return tuple(tuple(range(a, b)) for a, b in itertools.pairwise(bounds) if b > a)


class Explainer:
    """Plans and runs the explanations of a Classifier's answers."""

    def __init__(self, classifier: Classifier, *, loo_words: int = LOO_WORDS, refined: int = REFINED) -> None:
        """Args:
        classifier: the served model.
        loo_words: texts of up to this many words are explained word by word (leave-one-out); bench/
            compares the served settings against leave-one-out of every text this way.
        refined: groups explained word by word in the second round.
        """
        self.classifier = classifier
        self.max_length = classifier.manifest.max_length
        self.loo_words, self.refined = loo_words, refined

    def plans(self, texts: Sequence[str], windows: Windows) -> list[Plan]:
        """One Plan per text, from the windows the answer reads (`Classifier.encode` of `texts`)."""
        tokens = np.zeros(len(texts), dtype=np.int64)
        for owner, feed in zip(windows.owner.tolist(), windows.feeds, strict=True):
            tokens[owner] += feed["input_ids"].shape[1]
        plans = []
        for text, count, cut in zip(texts, tokens.tolist(), windows.truncated.tolist(), strict=True):
            words = split_words(text)
            if cut:
                read = self.read_chars(text)
                words = [word for word in words if word.start < read]
            groups = groups_of(len(words), self.loo_words)
            largest = sorted((len(group) for group in groups if len(group) > 1), reverse=True)
            plans.append(Plan(tuple(words), groups, len(groups) + sum(largest[: self.refined]), count))
        return plans

    def read_chars(self, text: str) -> int:
        """Where the windows the model reads end in `text` (characters): a truncated text's words after it
        are not read by the transformer, so they are not explained."""
        encoding = self.classifier.tokenizer.encode(text)
        last = [encoding, *encoding.overflowing][: self.classifier.max_windows][-1]
        ends = [
            end for (_, end), sequence in zip(last.offsets, last.sequence_ids, strict=True) if sequence == 0
        ]
        return max(ends, default=len(text))

    def explain(self, text: str, plan: Plan, prediction: Prediction) -> tuple[Credit, ...]:
        """The words of `plan` with their weights towards `prediction`'s label (and, for a multi-label
        model, towards each label it answered)."""
        if not plan.words:
            return ()
        labels = self.classifier.labels
        top = labels.index(prediction.label)
        answered = [labels.index(label) for label in prediction.labels or ()]
        base = np.asarray([prediction.scores[label] for label in labels])
        group_drops = base - self.scores(text, [[plan.words[i] for i in group] for group in plan.groups])
        weights = np.zeros((len(plan.words), len(labels)))
        for group, drop in zip(plan.groups, group_drops, strict=True):
            weights[list(group)] = drop / len(group)
        ranked = sorted(
            (k for k, group in enumerate(plan.groups) if len(group) > 1), key=lambda k: -group_drops[k, top]
        )
        refined = [i for k in ranked[: self.refined] for i in plan.groups[k]]
        if refined:
            weights[refined] = base - self.scores(text, [[plan.words[i]] for i in refined])
        return tuple(
            Credit(
                word.text,
                word.start,
                word.end,
                float(row[top]),
                {labels[k]: float(row[k]) for k in answered} if prediction.labels is not None else None,
            )
            for word, row in zip(plan.words, weights, strict=True)
        )

    def classify(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify `texts` and explain each answer, in one call, for callers that hold no budget (make
        explain, the bench); the API plans first, to refuse a request past its budget before any run."""
        windows = self.classifier.encode(texts)
        plans = self.plans(texts, windows)
        return [
            dataclasses.replace(prediction, explanation=self.explain(text, plan, prediction))
            for text, plan, prediction in zip(texts, plans, self.classifier.predict(windows), strict=True)
        ]

    def scores(self, text: str, removed: Sequence[Sequence[Word]]) -> np.ndarray:
        """The served probabilities [copies, labels] of `text` without each set of words in `removed`."""
        copies = [without(text, words) for words in removed]
        return self.classifier.probabilities(self.classifier.encode(copies), stacked=True)
