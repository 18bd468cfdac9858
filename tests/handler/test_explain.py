"""Explanations (handler/explain.py) on the tiny artifact and on a model built here where one word decides:
weights are what removing a word does to the served score, a word the model does not read gets no credit,
the same text gets the same explanation every time, and the cost is known before the model runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from handler.explain import LOO_WORDS, Explainer, groups_of
from handler.inference import Classifier
from handler.ngrams import NgramTables, SparseNgrams
from handler.words import split_words, without

# The decisive model's word, and its opposite.
GOOD, BAD = "wonderful", "awful"
SHORT = "the kettle is wonderful and the lid fits"  # 8 words: each removed alone
LONGER = "I bought this kettle last month and it is wonderful, the lid fits well and it boils fast"
# Stacked rows share one int8 activation scale a run, so a copy's probability is not bit for bit its own
# run's: within this on the tiny model (bench/README.md: 0.009 on average on a real model, 0.085 at most).
STACKED_ATOL = 2e-3


@pytest.fixture(scope="module")
def tiny(tiny_artifact: Path) -> Classifier:
    return Classifier.from_dir(tiny_artifact, threads=1)


def decisive_ngrams(classifier: Classifier) -> SparseNgrams:
    """n-gram tables that know two words: GOOD pushes POSITIVE hard, BAD NEGATIVE."""
    vocabulary = classifier.tokenizer.get_vocab_size()
    good, bad = (classifier.tokenizer.token_to_id(word) for word in (GOOD, BAD))
    order = np.argsort([good, bad])
    keys = np.asarray([good, bad])[order]
    tables = NgramTables(
        vocabulary=vocabulary,
        keys=np.append(keys, vocabulary * (vocabulary + 1)),  # the last key, above every n-gram's
        columns=np.append(order, 2).astype(np.int64),
        idf=np.ones(3, dtype=np.float32),
        weights=np.asarray([[-4, 4], [4, -4], [0, 0]], dtype=np.float32),
        bias=np.zeros(2, dtype=np.float32),
    )
    return SparseNgrams(tables, weight=0.9)


@pytest.fixture(scope="module")
def decisive(tiny: Classifier) -> Classifier:
    """The tiny transformer blended with n-grams in which GOOD and BAD decide the answer."""
    return Classifier(tiny.tokenizer, tiny.session, tiny.manifest, tiny.labels, decisive_ngrams(tiny))


def explain(classifier: Classifier, texts: list[str], **settings):
    explainer = Explainer(classifier, **settings)
    windows = classifier.encode(texts)
    plans = explainer.plans(texts, windows)
    predictions = classifier.predict(windows)
    return [
        explainer.explain(t, p, pr) for t, p, pr in zip(texts, plans, predictions, strict=True)
    ], predictions


def score(classifier: Classifier, text: str, label: str) -> float:
    """The served score of `label` for `text`: one run a window, as the API answers."""
    return classifier.classify([text])[0].scores[label]


@pytest.mark.parametrize("text", [SHORT, LONGER], ids=["leave-one-out", "two-rounds"])
def test_removing_the_top_word_moves_the_score_as_its_weight_says(decisive, text):
    (credits,), (prediction,) = explain(decisive, [text])
    top = max(credits, key=lambda credit: credit.weight)
    assert (prediction.label, top.text) == ("POSITIVE", GOOD)
    assert top.weight > 0.3
    removed = score(decisive, without(text, [top]), "POSITIVE")
    assert prediction.score - removed == pytest.approx(top.weight, abs=STACKED_ATOL)


def test_a_word_against_the_label_has_a_negative_weight(decisive):
    text = f"{GOOD} {GOOD} {GOOD} kettle, a bit {BAD} lid"
    (credits,), (prediction,) = explain(decisive, [text])
    assert prediction.label == "POSITIVE"
    against = next(credit for credit in credits if credit.text == BAD)
    assert against.weight < 0
    assert score(decisive, without(text, [against]), "POSITIVE") > prediction.score


def test_each_credit_is_a_word_of_the_text_at_its_offsets(tiny):
    text = "Cafe\u0301 au lait 😍 then café again, café! 👩‍💻 stopped working 👎🏽"
    (credits,), _ = explain(tiny, [text])
    assert [(c.text, c.start, c.end) for c in credits] == [
        (w.text, w.start, w.end) for w in split_words(text)
    ]
    assert all(text[c.start : c.end] == c.text for c in credits)
    assert [c.start for c in credits if c.text == "café"] == [text.index("café"), text.rindex("café")]


def test_a_word_past_the_windows_read_gets_no_credit(decisive):
    """The transformer reads max_windows windows; GOOD comes after them. The n-gram model reads it (the
    score says so), but no word past the windows is listed: an explanation covers what the windows read."""
    filler = " ".join(["the jar is sturdy and the motor is strong"] * 30)
    text = f"{filler} {GOOD}"
    (credits,), (prediction,) = explain(decisive, [text])
    assert prediction.truncated
    assert prediction.score > score(decisive, filler, "POSITIVE")  # the n-grams read GOOD
    read = Explainer(decisive).read_chars(text)
    assert read < text.index(GOOD)
    assert credits
    assert all(credit.start < read for credit in credits)
    assert GOOD not in [credit.text for credit in credits]
    assert len(credits) < len(split_words(text))


def test_the_same_text_gets_the_same_explanation_every_time(decisive):
    others = ["Terrible, it broke.", "Fine for the price, I guess, nothing special about it at all"]
    (alone,), _ = explain(decisive, [LONGER])
    first, _ = explain(decisive, [LONGER, *others])
    last, _ = explain(decisive, [*others, LONGER])
    assert first[0] == last[-1] == alone  # bit for bit: each text's copies run on their own
    assert explain(decisive, [LONGER])[0][0] == alone


def test_stacked_runs_agree_with_one_run_a_window(tiny):
    """Copies of one text run stacked by length; their probabilities stay those of one run each."""
    text = "Stopped working after two days and support never answered my emails, do not buy"
    words = split_words(text)
    copies = [without(text, [word]) for word in words] + [text]
    windows = tiny.encode(copies)
    stacked = tiny.probabilities(windows, stacked=True)
    np.testing.assert_allclose(stacked, tiny.probabilities(windows), atol=STACKED_ATOL)


def test_groups_cut_the_words_in_contiguous_runs_of_nearly_equal_size():
    assert groups_of(LOO_WORDS) == tuple((i,) for i in range(LOO_WORDS))
    for count in (LOO_WORDS + 1, 25, 60, 333):
        groups = groups_of(count)
        assert [i for group in groups for i in group] == list(range(count))
        assert max(map(len, groups)) - min(map(len, groups)) <= 1
        assert len(groups) == np.ceil(np.sqrt(2 * count))


@pytest.mark.parametrize(("words", "copies"), [(8, 8), (25, 15), (60, 23)])
def test_the_plan_counts_the_copies_before_any_run(tiny, words, copies):
    text = " ".join(["kettle"] * words)  # one token a word: 60 fit the tiny model's 4 windows
    (plan,) = Explainer(tiny).plans([text], tiny.encode([text]))
    assert (len(plan.words), plan.copies) == (words, copies)
    runs = []

    class Counting(Explainer):
        def scores(self, text, removed):
            runs.append(len(removed))
            return super().scores(text, removed)

    prediction = tiny.classify([text])[0]
    Counting(tiny).explain(text, plan, prediction)
    assert sum(runs) <= plan.copies
    tokens = sum(feed["input_ids"].shape[1] for feed in tiny.encode([text]).feeds)
    assert plan.tokens == tokens
    assert plan.windows(tiny.manifest.max_length) == -(-copies * tokens // tiny.manifest.max_length)


def test_leave_one_out_for_every_text_when_asked(tiny):
    (plan,) = Explainer(tiny, loo_words=10**6).plans([LONGER], tiny.encode([LONGER]))
    assert plan.copies == len(plan.words) == len(split_words(LONGER))


def test_a_text_without_words_has_an_empty_explanation(tiny):
    (credits,), _ = explain(tiny, ["!!! ... ?"])
    assert credits == ()


def test_a_multi_label_explanation_weighs_each_answered_label(tiny):
    manifest = tiny.manifest.model_copy(
        update={"problem_type": "multi_label_classification", "threshold": 0.01}
    )
    multi = Classifier(tiny.tokenizer, tiny.session, manifest, tiny.labels)
    (credits,), (prediction,) = explain(multi, [SHORT])
    assert prediction.labels == ("POSITIVE", "NEGATIVE") or prediction.labels == ("NEGATIVE", "POSITIVE")
    for credit in credits:
        assert list(credit.weights) == list(prediction.labels)
        assert credit.weights[prediction.label] == credit.weight
    single = dataclasses.replace(prediction, labels=())
    (plan,) = Explainer(multi).plans([SHORT], multi.encode([SHORT]))
    assert all(credit.weights == {} for credit in Explainer(multi).explain(SHORT, plan, single))
