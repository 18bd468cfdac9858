"""Aspect tag schemes: what each label of a token classifier says about a word, read from the label names.

An aspect model tags every word; the answer's spans are runs of tagged words. The Hub's ABSA token
classifiers name their labels in a few schemes, in any case, with `-` or `_`:

- unified BIO (or BIOES, BILOU) whose type is the sentiment: `B-POS`, `I-NEG`, `E-NEU`, `S-positive`,
  `B-neg`, `O` (this project's own model, Li et al.'s BERT-E2E-ABSA "BIEOS", gauneg's `B-pos`/`B-con`);
- BERT-E2E-ABSA's "OT" scheme: `T-POS`, `T-NEG`, `T-NEU` and `O` (consecutive T words are one term);
- extraction only: `B-ASP`/`I-ASP`, `B-ASPECT`, `B-TERM`, `B-AT`, or bare `B`/`I`, and `O`: spans
  without a sentiment.

A scheme outside these (GLUE-style `LABEL_0` names, NER types such as `B-PER`) is refused in one line
naming the labels found: guessing would answer spans that mean something else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from handler.errors import ArtifactError

# What a tag does to the span being read: begin one, continue the open one (none open: no span, see
# handler/aspect_spans.py), end it after this word, a one-word span, a term word (OT: continues the open
# term or starts one), or no span.
Role = Literal["begin", "inside", "end", "single", "term", "outside"]
ROLES: dict[str, Role] = {
    "B": "begin",
    "I": "inside",
    "T": "term",
    "E": "end",
    "L": "end",
    "S": "single",
    "U": "single",
}
SENTIMENTS = {
    "pos": "positive",
    "positive": "positive",
    "neg": "negative",
    "negative": "negative",
    "neu": "neutral",
    "neutral": "neutral",
    "con": "conflict",
    "conflict": "conflict",
}
# Types of extraction-only schemes: the tag finds a term and says nothing of its sentiment.
TERM_TYPES = frozenset({"asp", "aspect", "term", "target", "at", "ate", "a"})
OUTSIDE = frozenset({"o", "outside"})
_TAG = re.compile(r"^(?P<role>[BIELSTU])(?:[-_](?P<type>[A-Za-z]+))?$", re.IGNORECASE)


class TagSchemeError(ArtifactError):
    """The model's labels are not aspect tags the decoder can read."""


@dataclass(frozen=True)
class Tag:
    """One label read: its role in a span and the sentiment it carries (None: extraction only, or O)."""

    role: Role
    sentiment: str | None


@dataclass(frozen=True)
class TagScheme:
    """Every label of a model, read, in label-id order."""

    labels: tuple[str, ...]
    tags: tuple[Tag, ...]

    @property
    def sentiments(self) -> tuple[str, ...]:
        """The sentiments the model answers, in label order (empty: extraction only)."""
        return tuple(dict.fromkeys(tag.sentiment for tag in self.tags if tag.sentiment is not None))

    @property
    def name(self) -> str:
        """A short description for manifests and logs: `unified BIO (negative, neutral, positive)`."""
        letters = "".join(sorted({label.strip()[0].upper() for label in self.labels}, key="BIOESLUT".index))
        if not self.sentiments:
            return f"extraction {letters}"
        return f"unified {letters} ({', '.join(sorted(self.sentiments))})"


def read_tag(label: str) -> Tag | None:
    """One label as a Tag, or None where it is no aspect tag."""
    name = label.strip()
    if name.casefold() in OUTSIDE:
        return Tag("outside", None)
    match = _TAG.match(name)
    if match is None:
        return None
    kind = (match["type"] or "").casefold()
    if kind and kind not in TERM_TYPES and kind not in SENTIMENTS:
        return None
    return Tag(ROLES[match["role"].upper()], SENTIMENTS.get(kind))


def read_scheme(labels: Sequence[str]) -> TagScheme:
    """The tag scheme of a model's labels (config.json's id2label, in id order).

    Raises:
        TagSchemeError: a label is no aspect tag, there is no outside tag or no span tag, or tags with and
            without sentiment are mixed; one line naming the labels found.
    """
    read = [read_tag(label) for label in labels]
    problem = None
    if unread := [label for label, tag in zip(labels, read, strict=True) if tag is None]:
        problem = f"{', '.join(map(repr, unread))} are not aspect tags"
    tags = [tag for tag in read if tag is not None]
    if problem is None and not any(tag.role == "outside" for tag in tags):
        problem = "there is no outside tag O"
    if problem is None and all(tag.role == "outside" for tag in tags):
        problem = "there is no span tag"
    spans = {tag.sentiment is None for tag in tags if tag.role != "outside"}
    if problem is None and len(spans) > 1:
        problem = "tags with a sentiment and tags without one are mixed"
    if problem is not None:
        raise TagSchemeError(
            f"cannot read aspect tags from the labels {list(labels)}: {problem}; expected unified tags "
            "(B-POS / I-NEG / O, BIOES, B-positive ...), BERT-E2E-ABSA's T-POS / T-NEG / T-NEU / O, or "
            "extraction-only B-ASP / I-ASP / O"
        )
    return TagScheme(tuple(labels), tuple(tag for tag in read if tag is not None))
