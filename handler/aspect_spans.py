"""Token tags to aspects: character spans of the text exactly as given, each with a sentiment and a score.

Tokens come from the fast tokenizer, whose offsets are character offsets into the text it was given, so a
span's `start`/`end` index the caller's own string (emoji, combining marks and whitespace included) and
nothing is searched for again. A word's tag is its first sub-token's, as the model was trained (labels
aligned with the tokenizer's word ids, the rest ignored). A long text is read in overlapping windows; a word
seen in two windows is read from the one where it sits farthest from an edge (the most context on both
sides), so each word has one tag and an aspect in the overlap is one aspect.

A span ends after any combining marks that follow its last token (accent-stripping tokenizers leave them
out of every token).

Decoding needs no CRF: a span is a run of tagged words. `B`/`S` start one, `I`/`E` continue the open one,
`E`/`S` close it, and BERT-E2E-ABSA's `T` continues the open term or starts one. An `I`/`E` with no span
open (after `O`) opens none: read strictly, as seqeval's strict mode does, which scored above reading it as
a start on the validation data (docs/aspects.md). The span's sentiment is the one that holds the most
probability over its words (summed over the tags carrying it); its score is that sentiment's mean
probability per word, which is what the answer's `score` means: how sure the model is that these words are
an aspect with this sentiment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding

from handler.aspect_tags import TagScheme


@dataclass(frozen=True)
class Aspect:
    """One aspect of a text: `text[start:end]`, the sentiment it is given (None from an extraction-only
    model) and the model's probability for that."""

    text: str
    start: int
    end: int
    sentiment: str | None
    score: float


@dataclass(frozen=True)
class Word:
    """A word of the text (the tokenizer's pre-tokenized word): its characters and its tag probabilities."""

    start: int
    end: int
    probabilities: np.ndarray  # [labels], of the word's first sub-token


@dataclass(frozen=True)
class _Seen:
    start: int
    end: int
    margin: int  # tokens to the nearer edge of its window
    probabilities: np.ndarray


def words_of(windows: Sequence[Encoding], probabilities: Sequence[np.ndarray]) -> list[Word]:
    """The words of one text, in text order, from its windows and their per-token tag probabilities.

    Args:
        windows: the text's encodings (the first and its overflowing ones), as the tokenizer made them.
        probabilities: one [tokens, labels] array per window, rows aligned with its tokens.
    """
    seen: dict[int | tuple[int, int], list[_Seen]] = {}
    for encoding, rows in zip(windows, probabilities, strict=True):
        content = [i for i, sequence in enumerate(encoding.sequence_ids) if sequence == 0]
        for position, i in enumerate(content):
            start, end = encoding.offsets[i]
            word = encoding.word_ids[i]
            key = (start, end) if word is None else word  # a token outside any word is a word of its own
            margin = min(position, len(content) - 1 - position)
            seen.setdefault(key, []).append(_Seen(start, end, margin, rows[i]))
    words = []
    for tokens in seen.values():
        start = min(token.start for token in tokens)
        first = max((token for token in tokens if token.start == start), key=lambda token: token.margin)
        words.append(Word(start, max(token.end for token in tokens), first.probabilities))
    return sorted(words, key=lambda word: word.start)


def runs(tags: Sequence[str]) -> list[list[int]]:
    """Runs of word indices that form spans, from each word's tag role (`handler.aspect_tags.Role`)."""
    found: list[list[int]] = []
    current: list[int] | None = None
    for index, role in enumerate(tags):
        if role == "outside" or (current is None and role in ("inside", "end")):
            current = None
            continue
        if role in ("begin", "single") or current is None:
            current = []
            found.append(current)
        current.append(index)
        if role in ("end", "single"):
            current = None
    return found


def decode(text: str, words: Sequence[Word], scheme: TagScheme) -> list[Aspect]:
    """The aspects of `text`, in text order, from its words' tag probabilities."""
    if not words:
        return []
    probabilities = np.stack([word.probabilities for word in words])
    roles = [scheme.tags[k].role for k in probabilities.argmax(axis=1)]
    # [words, sentiments]: each word's probability of being in a span with that sentiment (one column,
    # "in a span", for an extraction-only scheme).
    mass = probabilities @ membership(scheme)
    sentiments = scheme.sentiments or (None,)
    aspects = []
    for run in runs(roles):
        best = int(mass[run].sum(axis=0).argmax())
        start, end = words[run[0]].start, whole(text, words[run[-1]].end)
        aspects.append(Aspect(text[start:end], start, end, sentiments[best], float(mass[run, best].mean())))
    return aspects


def whole(text: str, end: int) -> int:
    """`end` moved past the combining marks that follow it: a tokenizer that strips accents gives "cafe" of
    "cafe\u0301" (e and a combining acute), and a span must not cut a character from its accent."""
    while end < len(text) and unicodedata.category(text[end]).startswith("M"):
        end += 1
    return end


def membership(scheme: TagScheme) -> np.ndarray:
    """[labels, sentiments] 0/1: which span tags carry which sentiment (one column for extraction-only)."""
    sentiments = scheme.sentiments
    matrix = np.zeros((len(scheme.tags), max(1, len(sentiments))))
    for k, tag in enumerate(scheme.tags):
        if tag.role != "outside":
            matrix[k, sentiments.index(tag.sentiment) if tag.sentiment is not None else 0] = 1
    return matrix
