"""A text's words, as a person reads them, with their offsets into the text exactly as sent.

Explanations credit words, not the model's tokens: a word-piece (`##ing`) or a byte-level piece (`Ġgre`)
means nothing to a reader, and the same text must split the same way whatever model serves it. A word is a
run of letters, combining marks, digits and connectors (`_`), with apostrophes and hyphens inside it
(`don't`, `well-made`); a run of symbols (emoji with their modifiers, variation selectors and zero-width
joiners: `👍🏽`, `👩‍💻`, `😍😍`) is a word too, since reviewers use them as words. Punctuation and spaces are
not words. Scripts written without spaces (Chinese, Japanese, Thai) come as the runs between punctuation.

The split is Unicode's (general categories L, M, N, Pc and S), matched by the tokenizers library's regex
engine (Oniguruma), which the handler already loads: no new dependency, and offsets in characters of the
Python string, so `text[start:end]` is the word.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from tokenizers import Regex
from tokenizers.pre_tokenizers import Split

_WORD_CHARS = r"[\p{L}\p{M}\p{N}\p{Pc}]"
WORD_PATTERN = (
    rf"{_WORD_CHARS}+(?:['\u2019\-]{_WORD_CHARS}+)*"  # a word, apostrophes and hyphens inside it
    r"|\p{S}[\p{M}\p{S}\x{200D}\x{FE0F}]*"  # symbols and emoji, with modifiers and joiners
)


@dataclass(frozen=True)
class Word:
    """One word of a text: `text[start:end] == word` (offsets in characters, as Python indexes a str)."""

    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Credit(Word):
    """A word of an explanation and what it does to the answer: `weight` is the answered label's
    probability with the word minus without it (positive: the word pushes towards the label); a
    multi-label model's explanation also has `weights`, the same for each label it answered."""

    weight: float
    weights: dict[str, float] | None = None

    def fields(self) -> dict[str, object]:
        """JSON-ready, `weights` left out where there are none (a single-label model's)."""
        fields = {"text": self.text, "start": self.start, "end": self.end, "weight": self.weight}
        return fields if self.weights is None else {**fields, "weights": self.weights}


@cache
def _splitter() -> Split:
    # Built on the first explanation, not at init: a request without one never pays for it.
    return Split(Regex(WORD_PATTERN), behavior="isolated")


def split_words(text: str) -> list[Word]:
    """The words of `text`, in order (Split keeps the gaps between matches too: they are dropped here)."""
    pieces = _splitter().pre_tokenize_str(text)
    return [Word(piece, start, end) for piece, (start, end) in pieces if _is_word(piece)]


def _is_word(piece: str) -> bool:
    """True for a piece that starts with a word or symbol character: every match does, and no gap does
    (the regex would have matched there)."""
    category = unicodedata.category(piece[:1] or " ")
    return category[0] in "LMNS" or category == "Pc"


def without(text: str, words: Sequence[Word]) -> str:
    """`text` with `words` removed, and with them the spaces that would be left doubled, leading or trailing
    (`"I love it"` without `love` is `"I it"`, `"is great."` without `great` is `"is."`): a byte-level
    tokenizer reads a stray space as a token of its own, and the copy must differ from the text by the
    words alone."""
    cuts = sorted(words, key=lambda word: word.start)
    if not cuts:
        return text
    copy = text[: cuts[0].start]
    for word, after in zip(cuts, [*cuts[1:], None], strict=True):
        copy = _join(copy, text[word.end : after.start if after else len(text)])
    return copy


def _join(left: str, right: str) -> str:
    """`left + right` where a word was cut between them: where spaces on both sides meet, one side's go;
    before punctuation or at either end of the text, both; where two words would meet (`ab😍cd`), a space
    keeps them apart."""
    if left and not left[-1].isspace():
        return f"{left} {right}" if _is_word(left[-1]) and _is_word(right) else left + right
    if not left or right[:1].isspace():
        return left + right.lstrip()
    if not _is_word(right):  # the end of the text, or punctuation
        return left.rstrip() + right
    return left + right
