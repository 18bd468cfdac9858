"""The words an explanation credits (handler/words.py): offsets into the text exactly as sent, whatever
it holds (emoji, combining marks, repeated words, scripts without spaces), and copies of the text without
some of them that differ from it by those words alone."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handler.words import Word, split_words, without


def words(text: str) -> list[str]:
    return [word.text for word in split_words(text)]


def test_each_word_is_the_text_between_its_offsets():
    text = "Cafe\u0301 don\u2019t 👩‍💻 great!! 😍😍 1️⃣ 👍🏽 well-made, great. 日本語です"
    found = split_words(text)
    assert [w.text for w in found] == [
        "Cafe\u0301",  # e + combining acute: one word of 5 code points
        "don\u2019t",
        "👩\u200d💻",  # a ZWJ sequence: one word
        "great",
        "😍😍",
        "1\ufe0f\u20e3",  # a keycap: digit, variation selector, enclosing mark
        "👍🏽",  # with its skin-tone modifier
        "well-made",
        "great",
        "日本語です",
    ]
    assert all(text[w.start : w.end] == w.text for w in found)


def test_repeated_words_keep_their_own_offsets():
    text = "good, good, good!"
    assert split_words(text) == [Word("good", 0, 4), Word("good", 6, 10), Word("good", 12, 16)]


def test_punctuation_and_spaces_are_not_words():
    assert words(" ... !!! -- ,, ") == []
    assert words("'quoted' (aside)") == ["quoted", "aside"]


@given(st.text(max_size=80))
def test_offsets_hold_for_any_text(text):
    found = split_words(text)
    assert all(text[w.start : w.end] == w.text for w in found)
    assert all(a.end <= b.start for a, b in itertools.pairwise(found))  # in order, disjoint
    first = [unicodedata.category(w.text[0]) for w in found]
    assert all(c[0] in "LMNS" or c == "Pc" for c in first)


@pytest.mark.parametrize(
    ("text", "removed", "copy"),
    [
        ("I love it", ["love"], "I it"),
        ("is great.", ["great"], "is."),
        ("great stuff", ["great"], "stuff"),
        ("it is great", ["great"], "it is"),
        ("a b c", ["b", "c"], "a"),
        ("a b c", ["a", "c"], "b"),
        ("(great) stuff", ["great"], "() stuff"),
        ("nice 👍🏽 thanks", ["👍🏽"], "nice thanks"),
        ("line one\n\nline two", ["one"], "line line two"),
    ],
)
def test_a_copy_loses_the_words_and_no_more(text, removed, copy):
    assert without(text, [w for w in split_words(text) if w.text in removed]) == copy


def test_a_copy_without_nothing_is_the_text():
    assert without("  as sent  ", []) == "  as sent  "


@given(st.text(max_size=60), st.data())
def test_a_copy_keeps_every_other_word(text, data):
    found = split_words(text)
    removed = data.draw(st.lists(st.sampled_from(found), unique=True) if found else st.just([]))
    kept = [w.text for w in found if w not in removed]
    assert words(without(text, removed)) == kept
