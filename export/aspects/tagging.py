"""Gold spans to training labels: one unified BIO tag per word, on its first sub-token.

As transformers' run_ner.py aligns labels: the tokenizer's `word_ids()` say which tokens make a word, the
first carries the word's tag and the rest (and the special tokens) are ignored by the loss (-100). A word
is tagged by the gold span holding its first character: `B-` where it opens the span, `I-` after. A word in
a `conflict` span, or where two gold spans disagree on the sentiment (ACOS lists some terms twice), is
ignored rather than taught either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from export.aspects.data import Sentence, Span

IGNORED = -100
SHORT = {"negative": "NEG", "neutral": "NEU", "positive": "POS"}
# The model's labels: unified BIO tags (handler/aspect_tags.py reads them), O first.
TAGS = ("O", *(f"{role}-{name}" for name in SHORT.values() for role in "BI"))
TAG_IDS = {tag: i for i, tag in enumerate(TAGS)}


def covering(spans: Sequence[Span], position: int) -> list[Span]:
    return [span for span in spans if span.start <= position < span.end]


def token_labels(
    sentence: Sentence, offsets: Sequence[tuple[int, int]], word_ids: Sequence[int | None]
) -> list[int]:
    """Tag ids per token of one encoded sentence (IGNORED where the loss should not look)."""
    labels: list[int] = []
    previous_word: int | None = None
    open_span: tuple[int, int] | None = None
    for (start, _), word in zip(offsets, word_ids, strict=True):
        if word is None or word == previous_word:
            labels.append(IGNORED)
            continue
        previous_word = word
        spans = covering(sentence.spans, start)
        sentiments = {span.sentiment for span in spans}
        if covering(sentence.conflict, start) or len(sentiments) > 1:
            labels.append(IGNORED)
            open_span = None
            continue
        if not spans:
            labels.append(TAG_IDS["O"])
            open_span = None
            continue
        where = (spans[0].start, spans[0].end)
        role = "I" if where == open_span else "B"
        labels.append(TAG_IDS[f"{role}-{SHORT[spans[0].sentiment]}"])
        open_span = where
    return labels
