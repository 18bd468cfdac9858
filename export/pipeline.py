"""The build: data -> checkpoint -> fp32 ONNX (parity) -> int8 (parity, accuracy gate) -> artifact."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from export import artifacts, gate, ngrams, onnx_export, quantize
from export.config import ExportConfig
from export.data import LABELS, Examples, load_examples, resolve_source, shuffled, split
from export.errors import DataError, GateError
from export.evaluate import Scored, evaluate, metrics, score
from export.train import check_base_model, prepare_checkpoint, resolve_base_model
from handler.inference import Classifier, NgramModel, available_cpus, blend, onnx_session

log = logging.getLogger(__name__)
SHIPPED = ("model.onnx", "tokenizer.json", "config.json")
NGRAMS_FILE = "ngrams.onnx"


class Data(NamedTuple):
    """What a build learns from and is judged on."""

    train: Examples  # the train source, its titles and the extra source, shuffled together
    dev: Examples
    provenance: dict[str, Any]
    reviews: Examples  # the train source's own texts: what the n-gram model is fitted on


def load_data(cfg: ExportConfig) -> Data:
    """Train and dev examples (train shuffled with the seed, capped, mixed with the extra source if any), and
    their provenance for the manifest."""
    train_source, train_cap = resolve_source(cfg.train_data, "train")
    options = {"seed": cfg.seed, "limit": cfg.max_train_samples or train_cap}
    train = load_examples(train_source, **options)
    titles = load_titles(cfg, train_source, options) if cfg.title_column else None
    kept = list(range(len(train)))
    if cfg.dev_data == "split":
        kept, held = split(train, cfg.dev_fraction, cfg.seed)
        train, dev = train.take(kept), train.take(held)
    else:
        dev_source, dev_cap = resolve_source(cfg.dev_data, "dev")
        dev = load_examples(dev_source, seed=cfg.seed if dev_cap else None, limit=dev_cap)
    provenance: dict[str, Any] = {"train": train.provenance(), "dev": dev.provenance()}
    extras = []
    if titles is not None:
        extras.append(titles.take([i for i in kept if titles.texts[i].strip()]))
        provenance["train"]["title_column"] = cfg.title_column
    if cfg.extra_train_data:
        extra_source, _ = resolve_source(cfg.extra_train_data, "extra")
        extras.append(load_examples(extra_source, seed=cfg.seed, limit=cfg.extra_train_samples))
        provenance["extra_train"] = extras[-1].provenance()
    reviews = train
    for extra in extras:
        train = Examples(train.texts + extra.texts, train.labels + extra.labels, train.source, train.sha256)
    return Data(train.take(shuffled(len(train), cfg.seed)) if extras else train, dev, provenance, reviews)


def load_titles(cfg: ExportConfig, source: str, options: dict[str, Any]) -> Examples | None:
    """The title column of the train data in the same shuffled order as its texts (so a dev split drops a
    held-out row's title too), or None when the data has no such column: titles are optional."""
    try:
        return load_examples(source, **options, text_column=cfg.title_column)
    except DataError as exc:  # the texts loaded from the same source, so only the column can be missing
        log.info("no title examples: %s", exc)
        return None


def write_artifact_files(cfg: ExportConfig, directory: Path, model: Path) -> None:
    """model.onnx + the serving tokenizer.json + config.json from the checkpoint, into `directory`."""
    if model != directory / "model.onnx":
        shutil.copyfile(model, directory / "model.onnx")
    artifacts.write_serving_tokenizer(
        cfg.checkpoint_dir / "tokenizer.json", directory / "tokenizer.json", cfg.max_length, cfg.window_stride
    )
    shutil.copyfile(cfg.checkpoint_dir / "config.json", directory / "config.json")


def checkpoint_labels(checkpoint: Path) -> list[str]:
    """Label names in output order: an as-is base may order them POSITIVE first, and the handler checks."""
    id2label = json.loads((checkpoint / "config.json").read_text())["id2label"]
    return [id2label[key] for key in sorted(id2label, key=int)]


def add_ngrams(
    cfg: ExportConfig, fit: ngrams.NgramFit, directory: Path, alone: Scored, dev: Examples
) -> tuple[dict[str, Any] | None, Scored]:
    """Write ngrams.onnx into `directory` (checked against scikit-learn), pick its blend weight on dev, and
    return the manifest entry (None when the weight is 0: the file is removed, nothing blends) and the dev
    answers blended as the handler will blend them."""
    path = ngrams.write_onnx(fit, len(LABELS), directory / NGRAMS_FILE)
    served = NgramModel(fit.tokenizer, onnx_session(path, available_cpus()), 0.0, len(LABELS))
    logits = served.logits(served.feeds(dev.texts))
    parity = ngrams.check_parity(fit, dev.texts, logits)
    gold = np.asarray(dev.labels)
    if cfg.ngram_weight == -1:
        weight, loss = ngrams.choose_weight(alone.probabilities, logits, gold)
    else:
        weight, loss = cfg.ngram_weight, None
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
    entry = {
        "file": NGRAMS_FILE,
        "weight": weight,
        "weight_chosen_on_dev": loss is not None,
        **fit.describe(),
        "dev_accuracy_alone": ngram_accuracy,
        "parity_vs_sklearn": parity,
        "fp32_without_ngrams": metrics(alone, dev),
    }
    return entry, replace(alone, probabilities=blend(alone.probabilities, logits, weight))


def build(cfg: ExportConfig) -> dict[str, Any]:
    """Run every stage; return the manifest of the published artifact.

    Raises:
        ConfigError, DataError, ParityError, GateError: the artifact at `cfg.output` is then left as it was.
    """
    base_model = resolve_base_model(cfg.base_model)
    check_base_model(cfg, base_model)
    train, dev, provenance, reviews = load_data(cfg)
    log.info(
        "data: %d train rows from %s, %d dev rows from %s", len(train), train.source, len(dev), dev.source
    )
    trained = prepare_checkpoint(cfg, base_model, train, dev)
    log.info("checkpoint written to %s (fine-tuned: %s)", cfg.checkpoint_dir, trained)

    manifest: dict[str, Any] = {
        "name": cfg.name,
        "base_model": cfg.base_model
        if cfg.base_model != "default"
        else "sentence-transformers/all-MiniLM-L6-v2",
        "fine_tuned": trained,
        "checkpoint": artifacts.checkpoint_entries(cfg.checkpoint_dir),
        "task": "text-classification",
        "labels": checkpoint_labels(cfg.checkpoint_dir),
        "max_length": cfg.max_length,
        "window_stride": cfg.window_stride,
        "max_windows": cfg.max_windows,
        "quantization": quantize.describe(cfg.quantization),
        "data": provenance if trained else {"dev": provenance["dev"]},
        "seed": cfg.seed,
        "config": cfg.to_json(),
        "versions": artifacts.versions(),
    }
    probe = dev.texts[: cfg.parity_samples]
    reference = onnx_export.torch_logits(cfg.checkpoint_dir, probe, cfg.max_length)
    with artifacts.staged(cfg.fp32_dir) as fp32_dir:
        model = onnx_export.export_onnx(cfg.checkpoint_dir, fp32_dir)
        fp32_parity = onnx_export.check_parity(
            reference,
            onnx_export.onnx_logits(model, cfg.checkpoint_dir, probe, cfg.max_length),
            cfg.parity_atol,
        )
        log.info("fp32 ONNX parity with PyTorch: %s", fp32_parity)
        write_artifact_files(cfg, fp32_dir, model)
        artifacts.write_manifest(fp32_dir, {**manifest, "quantization": None}, SHIPPED)
        alone = score(Classifier.from_dir(fp32_dir), dev, desc="dev accuracy fp32")
        wanted = trained and cfg.ngram_weight != 0
        fit = ngrams.fit(fp32_dir / "tokenizer.json", reviews, len(LABELS), cfg.seed) if wanted else None
        manifest["ngrams"], served = add_ngrams(cfg, fit, fp32_dir, alone, dev) if fit else (None, alone)
        fp32 = metrics(served, dev)
        shipped = SHIPPED + ((NGRAMS_FILE,) if manifest["ngrams"] else ())
        artifacts.write_manifest(fp32_dir, {**manifest, "quantization": None}, shipped)

    with artifacts.staged(cfg.output) as staging:
        int8_model = quantize.quantize(cfg.fp32_dir / "model.onnx", staging / "model.onnx", cfg.quantization)
        int8_parity = onnx_export.check_parity(
            reference, onnx_export.onnx_logits(int8_model, cfg.checkpoint_dir, probe, cfg.max_length), None
        )
        write_artifact_files(cfg, staging, int8_model)
        if manifest["ngrams"]:
            shutil.copyfile(cfg.fp32_dir / NGRAMS_FILE, staging / NGRAMS_FILE)
        artifacts.write_manifest(staging, manifest, shipped)  # provisional, so the serving code can load it
        int8 = evaluate(staging, dev, desc="dev accuracy int8")
        log.info("dev accuracy fp32 %.4f, int8 %.4f", fp32["accuracy"], int8["accuracy"])
        try:
            drop = gate.check_quantization(fp32, int8, cfg.max_accuracy_drop)
        except GateError as refused:
            raise GateError(
                f"{refused}; {cfg.output} left unchanged, the refused model kept in {cfg.checkpoint_dir} and "
                f"{cfg.fp32_dir} (to re-export with another --quantization)"
            ) from None
        parity = {"fp32_vs_torch": fp32_parity.as_dict(), "int8_vs_torch": int8_parity.as_dict()}
        manifest["metrics"] = {"fp32": fp32, "int8": int8, "parity": parity, "quantization_drop_points": drop}
        manifest = artifacts.write_manifest(staging, manifest, shipped)
    log.info("artifact written to %s: %s", cfg.output, json.dumps(manifest["metrics"]["int8"]["accuracy"]))
    return manifest
