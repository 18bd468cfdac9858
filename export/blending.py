"""The build's n-gram stage: a linear model over the train reviews' n-grams, written as ngrams.onnx beside
the fp32 export, checked against scikit-learn, weighed on dev and blended as the handler blends it."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np

from export import ngrams
from export.corpus import Data
from export.data import Examples
from export.evaluate import Scored, metrics
from handler.manifest import NGRAMS_FILE, Ngrams
from handler.ngram_reference import NgramModel
from handler.probabilities import blend
from handler.sessions import available_cpus, onnx_session

log = logging.getLogger(__name__)


def ngrams_skipped(weight: float, reviews: Examples | None, multi_label: bool) -> str:
    """Why the build fits no n-gram model ('' when it tries one): the manifest says it."""
    if reviews is None:
        return "an as-is classifier: nothing is fitted"
    if multi_label:
        return "multi-label: the n-gram blend mixes single-label probabilities (one softmax over the labels)"
    return "--ngram-weight 0" if weight == 0 else ""


def add_ngrams(
    weight: float, fit: ngrams.NgramFit, directory: Path, alone: Scored, dev: Examples
) -> tuple[Ngrams | None, Scored]:
    """Write ngrams.onnx into `directory` (checked against scikit-learn), pick its blend weight on dev (-1)
    or take `weight`, and return the manifest entry (None when the weight is 0: the file is removed,
    nothing blends) and the dev answers blended as the handler will blend them."""
    path = ngrams.write_onnx(fit, len(dev.names), directory / NGRAMS_FILE)
    served = NgramModel(fit.tokenizer, onnx_session(path, available_cpus()), 0.0, len(dev.names))
    logits = served.logits(served.feeds(dev.texts))
    parity = ngrams.check_parity(fit, dev.texts, logits)
    gold = np.asarray(dev.labels)
    loss = None
    if weight == -1:
        weight, loss = ngrams.choose_weight(alone.probabilities, logits, gold)
    ngram_accuracy = float((logits.argmax(axis=1) == gold).mean())
    log.info(
        "n-gram model: %d features, dev accuracy alone %.4f, blend weight %.2f%s (parity with scikit-learn: "
        "max |p diff| %.1e)",
        len(fit.vectorizer.vocabulary_),
        ngram_accuracy,
        weight,
        " (chosen on dev log loss)" if loss is not None else "",
        parity["max_abs_diff"],
    )
    if weight == 0:
        path.unlink()
        return None, alone
    entry = Ngrams(
        file=NGRAMS_FILE,
        weight=weight,
        weight_chosen_on_dev=loss is not None,
        **fit.describe(),
        dev_accuracy_alone=ngram_accuracy,
        parity_vs_sklearn=parity,
        fp32_without_ngrams=metrics(alone, dev),
    )
    return entry, replace(alone, probabilities=blend(alone.probabilities, logits, weight))


def fit_ngrams(weight: float, seed: int, directory: Path, alone: Scored, data: Data) -> tuple[dict, Scored]:
    """An n-gram model fitted on the train reviews and blended into the fp32 export's dev answers `alone`,
    if the build has one; returns the manifest's n-gram fields and the dev answers as served."""
    skipped = ngrams_skipped(weight, data.reviews, data.dev.multi_label)
    if skipped or data.reviews is None:
        return {"ngrams": None, "ngrams_skipped": skipped}, alone
    fit = ngrams.fit(directory / "tokenizer.json", data.reviews, len(data.dev.names), seed)
    entry, served = add_ngrams(weight, fit, directory, alone, data.dev) if fit else (None, alone)
    if entry is None:
        return {
            "ngrams": None,
            "ngrams_skipped": "the data cannot fit it, or dev gave it weight 0 (log)",
        }, alone
    return {"ngrams": entry}, served
