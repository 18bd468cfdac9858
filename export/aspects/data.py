"""Aspect data: JSON Lines sentences with their aspects, read, checked and split.

Each line holds `text` and `aspects`, a list of `{"term", "start", "end", "polarity"}` with
`text[start:end] == term` (../shared/data/aspects/README.md). Two kinds of gold aspect have no span the
model can answer, and are counted, not learnt or scored: implicit aspects (`start` null: ACOS's "too heavy"
faults the weight without naming it) and `conflict` ones (praised and faulted at once, dropped as the
published references drop them). A term ACOS lists twice with two sentiments keeps both as gold pairs.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from export.artifacts import sha256
from export.data import Examples, split
from export.errors import DataError

SENTIMENTS = ("negative", "neutral", "positive")
CONFLICT = "conflict"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    sentiment: str


@dataclass(frozen=True)
class Sentence:
    """A sentence and its gold aspects with a span; `conflict` spans are kept apart (not taught, not
    scored) and implicit aspects only counted."""

    text: str
    spans: tuple[Span, ...]
    conflict: tuple[Span, ...] = ()
    implicit: int = 0

    @property
    def stratum(self) -> str:
        """What a split keeps the shares of: no aspect, or the sentence's most frequent sentiment."""
        counts = Counter(span.sentiment for span in self.spans)
        return counts.most_common(1)[0][0] if counts else "none"


@dataclass(frozen=True)
class Part:
    """Sentences of one file used for one purpose, and how they were carved from it."""

    path: str
    sha256: str
    sentences: list[Sentence]
    carved: str | None = None

    @property
    def aspects(self) -> int:
        return sum(len(sentence.spans) for sentence in self.sentences)

    def take(self, rows: list[int], carved: str) -> Part:
        return Part(self.path, self.sha256, [self.sentences[i] for i in rows], carved)


def read_sentence(row: object, where: str) -> Sentence:
    """One JSONL row as a Sentence.

    Raises:
        DataError: no text, aspects not a list, offsets that do not give the term, an unknown polarity.
    """
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise DataError(f"{where}: each line must be an object with a `text` string")
    text, aspects = row["text"], row.get("aspects")
    if not isinstance(aspects, list):
        raise DataError(f"{where}: `aspects` must be a list (empty for a sentence without one)")
    spans: list[Span] = []
    conflict: list[Span] = []
    implicit = 0
    for aspect in aspects:
        start, end, polarity = aspect.get("start"), aspect.get("end"), aspect.get("polarity")
        if polarity not in (*SENTIMENTS, CONFLICT):
            raise DataError(f"{where}: polarity {polarity!r} is not one of {[*SENTIMENTS, CONFLICT]}")
        if start is None or end is None:
            implicit += 1
            continue
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise DataError(f"{where}: offsets {start}-{end} are not a span of the text")
        if aspect.get("term") not in (None, text[start:end]):
            raise DataError(f"{where}: text[{start}:{end}] is {text[start:end]!r}, not {aspect['term']!r}")
        (conflict if polarity == CONFLICT else spans).append(Span(start, end, polarity))
    unique = tuple(dict.fromkeys(spans))  # ACOS repeats a term once per opinion
    return Sentence(text, unique, tuple(dict.fromkeys(conflict)), implicit)


def read_part(path: Path) -> Part:
    """Every sentence of a JSONL aspect file.

    Raises:
        DataError: a missing or empty file, a line that is not JSON or not an aspect row.
    """
    if not path.is_file():
        raise DataError(f"aspect data file not found: {path}")
    sentences = []
    with path.open(encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: not JSON ({exc.msg})") from None
            sentences.append(read_sentence(row, f"{path}:{number}"))
    if not sentences:
        raise DataError(f"{path} has no sentences")
    return Part(str(path), sha256(path), sentences)


def carve(part: Part, fraction: float, seed: int, name: str) -> tuple[Part, Part]:
    """(kept, carved): `fraction` of the sentences held out, stratified by `Sentence.stratum` (no aspect,
    or the most frequent sentiment), with `seed`; both say how they were made."""
    strata = [sentence.stratum for sentence in part.sentences]
    kept, held = split(
        Examples(texts=[s.text for s in part.sentences], labels=strata, source=part.path), fraction, seed
    )
    how = f"{fraction:.0%} of {Path(part.path).name} stratified by sentiment, seed {seed}"
    before = f"{part.carved}; " if part.carved else ""
    return part.take(kept, f"{before}{name} ({how}) removed"), part.take(held, f"{before}{how}")
