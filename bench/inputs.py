"""The inputs every system sees: one short review, one long review and a batch, all from a dev set.

They are picked deterministically (first match in file order) so two runs compare the same texts.
"""

from __future__ import annotations

import itertools
import random
import string
from dataclasses import dataclass

from bench.errors import BenchError


@dataclass(frozen=True)
class Inputs:
    """The three request shapes of the latency series."""

    short: str
    long: str
    batch: list[str]


def pick_inputs(reviews: list[str], max_length: int, batch_size: int) -> Inputs:
    """Choose the short review, the long one (well over `max_length` tokens) and the batch.

    Words undercount word-piece tokens, so a review of more than 1.5 x max_length words is safely
    longer than the model's window and needs at least two of them.

    Raises:
        BenchError: no review is short enough or long enough.
    """
    words = [len(text.split()) for text in reviews]
    short = next(
        (t for t, n in zip(reviews, words, strict=True) if 10 <= n <= min(40, max_length // 2)), None
    )
    long = next(
        (t for t, n in zip(reviews, words, strict=True) if 1.5 * max_length < n <= 3 * max_length), None
    )
    if short is None or long is None:
        raise BenchError(
            f"the reviews need one of 10..40 words and one of {1.5 * max_length:.0f}..{3 * max_length} words "
            f"(max_length {max_length}); found short={short is not None}, long={long is not None}"
        )
    return Inputs(short=short, long=long, batch=list(itertools.islice(itertools.cycle(reviews), batch_size)))


def worst_texts(count: int, chars: int, seed: int = 0) -> list[str]:
    """`count` texts of `chars` characters of long made-up words: the costliest request within the limits.

    Rare words split into many word pieces (about 1.7 characters a token), so each text needs the most
    windows the artifact scores (and the n-gram model reads every token of it).
    """
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        words: list[str] = []
        length = -1  # of the words joined by spaces
        while length < chars:
            words.append("".join(rng.choices(string.ascii_lowercase, k=rng.randint(8, 14))))
            length += len(words[-1]) + 1
        texts.append(" ".join(words)[:chars])
    return texts
