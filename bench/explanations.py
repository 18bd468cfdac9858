"""Explanations, measured: how faithful they are, and what they cost at one core.

Faithfulness is ERASER's comprehensiveness (DeYoung et al., 2020) on the amazon-stars dev reviews of 8 to 60
words: the drop of the answered label's probability when the explanation's top 3 words are deleted from the
review, against deleting 3 words picked at random from the same review (seeded per review); both deletions
scored by the served pipeline, one run a window, as the API answers. The served explainer is measured beside
leave-one-out of every word (each word removed alone: a run per word), on the same reviews. Stacked runs
(handler/batches.py) are compared with one run a window on the same copies.

The cost: the handler in a fresh process pinned to one core (bench/probe.py `explain`): a 25-word review
explained and not, a 60-word review explained, and the worst explained request the window budget lets
through beside the worst plain one (bench/speed.py's).
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.cpus import ONE_CPU, pinned
from bench.emulated import predict_event
from bench.probe import texts_of
from bench.speed import probe_env, run_probe, worst_event
from handler.explain import Explainer
from handler.inference import Classifier
from handler.settings import Settings
from handler.words import split_words, without

log_info = logging.getLogger("bench").info
STARS = Path("amazon-stars") / "dev.jsonl"
WORDS = (8, 60)  # the reviews measured, by words (handler/words.py)
TOP = 3
LEAVE_ONE_OUT = 10**9  # Explainer's loo_words: every text word by word
COST_WORDS = (25, 60)  # the reviews whose explanation is timed


def stars_reviews(data_dir: Path, limit: int) -> list[str] | str:
    """The first `limit` amazon-stars dev reviews of 8 to 60 words (0: all), or why there are none."""
    path = data_dir / STARS
    if not path.is_file():
        return f"faithfulness skipped: {path} not found (the amazon-stars dev set: README.md, Data)"
    texts = [
        json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    chosen = [text for text in texts if WORDS[0] <= len(split_words(text)) <= WORDS[1]]
    return chosen[:limit] if limit else chosen


def comprehensiveness(classifier: Classifier, texts: Sequence[str], seed: int) -> dict:
    """Top-3 against random-3 deletion for the served explainer and for leave-one-out, and how close
    stacked runs stay to one run a window."""
    predictions = classifier.classify(texts)
    words = [split_words(text) for text in texts]
    randoms = [random.Random(seed + i).sample(found, TOP) for i, found in enumerate(words)]
    random_drop = _drops(classifier, texts, predictions, randoms)
    methods = {}
    for name, loo_words in (("served", None), ("leave_one_out", LEAVE_ONE_OUT)):
        explainer = Explainer(classifier) if loo_words is None else Explainer(classifier, loo_words=loo_words)
        tops, copies, cpu_ms = [], [], []
        for text, prediction in zip(texts, predictions, strict=True):
            started = time.process_time()
            (plan,) = explainer.plans([text], classifier.encode([text]))
            credits = explainer.explain(text, plan, prediction)
            cpu_ms.append((time.process_time() - started) * 1000)
            tops.append(sorted(credits, key=lambda credit: -credit.weight)[:TOP])
            copies.append(plan.copies)
        top_drop = _drops(classifier, texts, predictions, tops)
        methods[name] = {
            "top3_drop": float(np.mean(top_drop)),
            "ratio_to_random": float(np.mean(top_drop) / max(np.mean(random_drop), 1e-9)),
            "copies_mean": statistics.fmean(copies),
            "cpu_ms_mean": statistics.fmean(cpu_ms),
        }
        log_info("explanations (%s): top-3 drop %.3f", name, methods[name]["top3_drop"])
    return {
        "reviews": len(texts),
        "words_mean": statistics.fmean(len(found) for found in words),
        "random3_drop": float(np.mean(random_drop)),
        "methods": methods,
        "stacked": stacked_agreement(classifier, texts[:50]),
    }


def _drops(classifier: Classifier, texts, predictions, removed) -> np.ndarray:
    """The answered label's probability minus its probability with `removed` words deleted, per text."""
    copies = [without(text, words) for text, words in zip(texts, removed, strict=True)]
    after = classifier.classify(copies)
    return np.asarray(
        [p.score - a.scores[p.label] for p, a in zip(predictions, after, strict=True)], dtype=np.float64
    )


def stacked_agreement(classifier: Classifier, texts: Sequence[str]) -> dict:
    """Every one-word-removed copy of `texts`, scored stacked (each text's copies together) and one run a
    window: the largest and the mean difference of any label's probability."""
    differences = []
    for text in texts:
        copies = [without(text, [word]) for word in split_words(text)]
        windows = classifier.encode(copies)
        stacked = classifier.probabilities(windows, stacked=True)
        differences.append(np.abs(stacked - classifier.probabilities(windows)).max(axis=1))
    every = np.concatenate(differences) if differences else np.zeros(1)
    return {"copies": int(every.size), "max_abs": float(every.max()), "mean_abs": float(every.mean())}


def review_of(reviews: Sequence[str], words: int) -> str:
    """The first review of exactly `words` words (handler/words.py), else the reviews run together and cut
    after that many (a data set without such a review, like the tests' few)."""
    exact = next((text for text in reviews if len(split_words(text)) == words), None)
    if exact is not None:
        return exact
    together = " ".join(reviews)
    return together[: split_words(together)[words - 1].end]


def needed_windows(classifier: Classifier, texts: Sequence[str]) -> int:
    """The windows an explained request of `texts` counts against the budget (its own and its
    explanations')."""
    windows = classifier.encode(texts)
    plans = Explainer(classifier).plans(texts, windows)
    return int(windows.counts.sum()) + sum(plan.windows(classifier.manifest.max_length) for plan in plans)


def worst_explained(
    classifier: Classifier, reviews: Sequence[str], settings: Settings
) -> dict[str, list[str]]:
    """The costliest explained requests the window budget lets through, of real review words: one text as
    long as the budget allows, and max_texts texts as long as it allows each."""
    words = " ".join(reviews).split()
    budget = settings.max_request_windows

    def fits(count: int, texts: int) -> bool:
        return needed_windows(classifier, [" ".join(words[:count])] * texts) <= budget

    shapes = {}
    for name, texts in (("one_text", 1), ("max_texts", settings.max_texts)):
        low, high = 1, 4096
        while low < high:  # the most words that fit (the cost grows with the words)
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(middle, texts) else (low, middle - 1)
        shapes[name] = [" ".join(words[:low])] * texts
    return shapes


def explain_event(texts: list[str]) -> dict:
    """`predict_event` of `texts` with `"explain": true`."""
    event = predict_event(texts)
    body = json.loads(event["body"])
    event["body"] = json.dumps({**body, "explain": True})
    return event


def cost_events(classifier: Classifier, reviews: Sequence[str], worst_plain: dict) -> dict:
    """The events the `explain` probe times: the 25-word review plain and explained, the 60-word one
    explained, the worst explained requests and the worst plain one (bench/speed.py's). A model of short
    windows may need more than the budget to explain the 60-word review: that one is then left out (the
    report says what it needs)."""
    short, long = (review_of(reviews, words) for words in COST_WORDS)
    events = {
        "plain_25": predict_event([short]),
        "explained_25": explain_event([short]),
        "explained_60": explain_event([long]),
        "worst_plain": worst_plain,
    }
    for name, texts in worst_explained(classifier, reviews, Settings()).items():
        events[f"worst_explained_{name}"] = explain_event(texts)
    return events


def within_budget(classifier: Classifier, events: dict) -> dict:
    """The explained events the handler answers (the rest would be 413s: nothing to time)."""
    budget = Settings().max_request_windows
    return {
        name: event
        for name, event in events.items()
        if not json.loads(event["body"]).get("explain")
        or needed_windows(classifier, texts_of(event)) <= budget
    }


def measure(
    model_dir: Path, classifier: Classifier, reviews: Sequence[str], data_dir: Path, limit: int, repeat: int
) -> dict:
    """Faithfulness on amazon-stars (or why it was skipped) and the cost at one core.

    Args:
        reviews: the bench's input reviews, where the timed ones come from.
        limit: amazon-stars reviews measured (0: every one of 8 to 60 words).
        repeat: timed calls of each warm request.
    """
    stars = stars_reviews(data_dir, limit)
    if isinstance(stars, str):
        logging.getLogger("bench").warning(stars)
        faithfulness: dict = {"skipped": stars}
    else:
        log_info("faithfulness of explanations on %d amazon-stars reviews", len(stars))
        faithfulness = comprehensiveness(classifier, stars, seed=0)
    worst = worst_event(Settings(), classifier.max_windows)
    events = cost_events(classifier, reviews, worst)
    log_info("explanations' cost, in a fresh process on 1 core")
    with tempfile.TemporaryDirectory() as scratch, pinned(ONE_CPU):
        path = Path(scratch, "events.json")
        path.write_text(json.dumps({**within_budget(classifier, events), "repeat": repeat}), encoding="utf-8")
        timed = run_probe("explain", model_dir, path, probe_env(model_dir))
    sizes = {name: _size(classifier, event) for name, event in events.items()}
    return {"faithfulness": faithfulness, "cost": {"timed": timed, "requests": sizes}}


def _size(classifier: Classifier, event: dict) -> dict:
    """What a timed request holds: texts, words, windows and (explained) the explanations' windows."""
    body = json.loads(event["body"])
    texts = texts_of(event)
    windows = classifier.encode(texts)
    plans = Explainer(classifier).plans(texts, windows) if body.get("explain") else []
    return {
        "texts": len(texts),
        "words": sum(len(split_words(text)) for text in texts),
        "windows": int(windows.counts.sum()),
        "explanation_windows": sum(plan.windows(classifier.manifest.max_length) for plan in plans),
        "copies": sum(plan.copies for plan in plans),
    }
