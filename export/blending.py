"""The build's n-gram stage: a linear model over the train reviews' n-grams, written as ngrams.onnx beside
the fp32 export, checked against scikit-learn, weighed on dev and blended as the handler blends it; its
tables also as ngrams.npz, which the handler loads (`write_tables`)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from export import artifacts, ngrams
from export.corpus import Data
from export.data import Examples
from export.evaluate import Scored, metrics
from handler.artifact import loading, read_manifest
from handler.manifest import MANIFEST_FILE, NGRAM_TABLES_FILE, NGRAMS_FILE, Manifest, Ngrams
from handler.ngram_reference import NgramModel
from handler.ngrams import NgramTables
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


def write_tables(directory: Path, labels: int) -> Path:
    """ngrams.npz from `directory`'s ngrams.onnx, parsed as the handler parses it, so both files hold one
    model: the handler loads the tables without protobuf (handler/ngrams.py)."""
    vocabulary = Tokenizer.from_file(str(directory / "tokenizer.json")).get_vocab_size()
    tables = NgramTables.from_onnx(directory / NGRAMS_FILE, vocabulary, labels)
    return tables.save(directory / NGRAM_TABLES_FILE)


def add_tables(destination: Path) -> Manifest:
    """Give an artifact built before ngrams.npz its tables, written by the build's own `write_tables`: the
    model (and its id) stay as they were, the manifest lists the new file; the directory is swapped in
    whole, as a build's is. An artifact without an n-gram model, or with its tables, is left as it is.

    Raises:
        ArtifactError: `destination` is not a valid artifact, or its ngrams.onnx does not load.
    """
    manifest = read_manifest(destination)
    if manifest.ngrams is None or manifest.ngrams.tables is not None:
        return manifest
    with artifacts.staged(destination) as directory:
        shutil.copytree(
            destination, directory, dirs_exist_ok=True, ignore=shutil.ignore_patterns(MANIFEST_FILE)
        )
        with loading(directory / NGRAMS_FILE):
            tables = write_tables(directory, len(manifest.labels)).name
        fields = manifest.model_dump(exclude={"ngrams", "files"})
        manifest = Manifest(
            **fields,
            ngrams=Ngrams(**manifest.ngrams.model_dump(), tables=tables),
            files=manifest.files | artifacts.file_entries(directory, [tables]),
        )
        artifacts.write_manifest(directory, manifest)
    log.info("%s: n-gram tables written to %s (model %s unchanged)", destination, tables, manifest.model_id)
    return manifest


def add_ngrams(
    weight: float, fit: ngrams.NgramFit, directory: Path, alone: Scored, dev: Examples
) -> tuple[Ngrams | None, Scored]:
    """Write ngrams.onnx into `directory` (checked against scikit-learn), pick its blend weight on dev (-1)
    or take `weight`, write ngrams.npz, and return the manifest entry (None when the weight is 0: the file
    is removed, nothing blends) and the dev answers blended as the handler will blend them."""
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
        tables=write_tables(directory, len(dev.names)).name,
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
