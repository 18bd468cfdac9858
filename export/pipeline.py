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
from export.data import Examples, combine, fit_problem, load_examples, resolve_sources, shuffled, split
from export.errors import DataError, GateError
from export.evaluate import Scored, by_source, headline, metrics, primary_metric, score
from export.model_card import write_model_card
from export.train import BasePlan, plan_base, prepare_checkpoint, resolve_base_model
from handler.inference import Classifier, NgramModel, available_cpus, blend, onnx_session

log = logging.getLogger(__name__)
SHIPPED = ("model.onnx", "tokenizer.json", "config.json")
NGRAMS_FILE = "ngrams.onnx"


class Data(NamedTuple):
    """What a build learns from and is judged on."""

    train: Examples | None  # the train sources, their titles and the extra source, shuffled; None: as-is
    dev: Examples
    provenance: dict[str, Any]
    reviews: Examples | None  # the train sources' own texts: what the n-gram model is fitted on


def load_data(cfg: ExportConfig, plan: BasePlan) -> Data:
    """Train and dev examples and their provenance for the manifest: for an as-is classifier, the dev data
    alone, read against its labels; else the train sources (each shuffled with the seed and capped, with
    their titles, then the extra source) and the dev data, read against the train data's classes.

    Raises:
        DataError: unreadable data, labels that do not fit, a class without train or dev rows.
    """
    names = plan.labels if not plan.fine_tune else ()
    if not plan.fine_tune and cfg.dev_data != "split":
        parts = load_dev(cfg, names)
        return Data(None, fit_problem(combine(parts), plan.multi_label), {"dev": provenance_of(parts)}, None)
    sources = resolve_sources(cfg.train_data, "train")
    loaded = [load_train_source(cfg, source, cap, names) for source, cap in sources]
    train = combine([examples for examples, _ in loaded])
    titles = combine([found if found is not None else blank(rows) for rows, found in loaded])
    kept = list(range(len(train)))
    if cfg.dev_data == "split":
        kept, held = split(train, cfg.dev_fraction, cfg.seed)
        train, dev = train.take(kept), train.take(held)
        dev_provenance = dev.provenance()
    else:
        parts = load_dev(cfg, train.names)
        dev, dev_provenance = combine(parts), provenance_of(parts)
    if not plan.fine_tune:
        return Data(None, fit_problem(dev, plan.multi_label), {"dev": dev_provenance}, None)
    dev = fit_problem(dev, train.multi_label)
    check_classes(train, dev)
    provenance: dict[str, Any] = {"train": provenance_of([rows for rows, _ in loaded]), "dev": dev_provenance}
    extras = []
    if any(found is not None for _, found in loaded):
        extras.append(titles.take([i for i in kept if titles.texts[i].strip()]))
        provenance["train"]["title_column"] = cfg.title_column
    if extra := [
        load_examples(source, seed=cfg.seed, limit=cfg.extra_train_samples, names=train.names)
        for source in extra_sources(cfg, train)
    ]:
        extras += extra
        provenance["extra_train"] = provenance_of(extra)
    reviews = train
    for more in extras:
        train = train.plus(more)
    return Data(train.take(shuffled(len(train), cfg.seed)) if extras else train, dev, provenance, reviews)


def load_dev(cfg: ExportConfig, names: tuple[str, ...]) -> list[Examples]:
    """The dev sources, each read against `names` (a Hub set's random rows when `default` falls back to
    one); the build judges on them together."""
    options = {"labels": cfg.label_options, "names": names}
    return [
        load_examples(source, seed=cfg.seed if cap else None, limit=cap, **options)
        for source, cap in resolve_sources(cfg.dev_data, "dev")
    ]


def load_train_source(
    cfg: ExportConfig, resolved: str, cap: int, names: tuple[str, ...]
) -> tuple[Examples, Examples | None]:
    """One train source, shuffled with the seed and capped, and its titles in the same order (None when
    titles are off or the data has no such column: titles are optional)."""
    options = {"seed": cfg.seed, "limit": cfg.max_train_samples or cap, "labels": cfg.label_options}
    examples = load_examples(resolved, **options, names=names)
    if not cfg.title_column:
        return examples, None
    try:
        titles = load_examples(resolved, **options, names=examples.names, text_column=cfg.title_column)
    except DataError as exc:  # the texts loaded from the same source, so only the column can be missing
        log.info("no title examples in %s: %s", resolved, exc)
        return examples, None
    return examples, titles


def blank(examples: Examples) -> Examples:
    """`examples` with every text emptied: the titles of a source that has none, so rows stay aligned."""
    return replace(examples, texts=[""] * len(examples))


def provenance_of(parts: list[Examples]) -> dict[str, Any]:
    """The manifest's record of one source, or of several (each listed, and their rows in all)."""
    if len(parts) == 1:
        return parts[0].provenance()
    return {"sources": [part.provenance() for part in parts], "rows": sum(map(len, parts))}


def extra_sources(cfg: ExportConfig, train: Examples) -> list[str]:
    """The extra train sources, none for ''. `default` (SST-2 phrases, positive or negative) is mixed
    only into a NEGATIVE/POSITIVE model: its labels say nothing of other classes."""
    if not cfg.extra_train_data:
        return []
    if cfg.extra_train_data == "default" and (
        train.multi_label or [name.casefold() for name in train.names] != ["negative", "positive"]
    ):
        log.info("no default extra train data (SST-2 phrases are binary): classes %s", list(train.names))
        return []
    return [source for source, _ in resolve_sources(cfg.extra_train_data, "extra")]


def check_classes(train: Examples, dev: Examples) -> None:
    """Every class must have train rows (or it cannot be learnt) and dev rows (or it cannot be judged).

    Raises:
        DataError: naming the first class without rows and where.
    """
    if len(train.names) < 2 and not train.multi_label:
        raise DataError(
            f"{train.source} has one class only ({list(train.names)}): a classifier needs two or more"
        )
    for examples in (train, dev):
        for name, count in zip(examples.names, examples.counts(), strict=True):
            if not count:
                raise DataError(
                    f"class {name!r} has no rows in {examples.source} (classes: {list(examples.names)}): a "
                    "fine-tuned model needs every class in its train and dev data"
                )


def write_artifact_files(cfg: ExportConfig, directory: Path, model: Path) -> None:
    """model.onnx + the serving tokenizer.json + config.json from the checkpoint, into `directory`."""
    if model != directory / "model.onnx":
        shutil.copyfile(model, directory / "model.onnx")
    artifacts.write_serving_tokenizer(
        cfg.checkpoint_dir / "tokenizer.json", directory / "tokenizer.json", cfg.max_length, cfg.window_stride
    )
    served = json.loads((cfg.checkpoint_dir / "config.json").read_text())
    labels = checkpoint_labels(cfg.checkpoint_dir)  # transformers leaves default LABEL_n names unsaved
    served |= {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    (directory / "config.json").write_text(json.dumps(served, indent=2) + "\n")


def checkpoint_labels(checkpoint: Path) -> list[str]:
    """Label names in output order, as transformers reads the checkpoint's config (a classifier saved with
    the default names LABEL_0, LABEL_1 has none in its config.json)."""
    from transformers import AutoConfig

    id2label = AutoConfig.from_pretrained(checkpoint).id2label
    return [str(id2label[key]) for key in sorted(id2label, key=int)]


def ngrams_skipped(cfg: ExportConfig, reviews: Examples | None, multi_label: bool) -> str:
    """Why the build fits no n-gram model ('' when it tries one): the manifest says it."""
    if reviews is None:
        return "an as-is classifier: nothing is fitted"
    if multi_label:
        return "multi-label: the n-gram blend mixes single-label probabilities (one softmax over the labels)"
    return "--ngram-weight 0" if cfg.ngram_weight == 0 else ""


def add_ngrams(
    cfg: ExportConfig, fit: ngrams.NgramFit, directory: Path, alone: Scored, dev: Examples
) -> tuple[dict[str, Any] | None, Scored]:
    """Write ngrams.onnx into `directory` (checked against scikit-learn), pick its blend weight on dev, and
    return the manifest entry (None when the weight is 0: the file is removed, nothing blends) and the dev
    answers blended as the handler will blend them."""
    path = ngrams.write_onnx(fit, len(dev.names), directory / NGRAMS_FILE)
    served = NgramModel(fit.tokenizer, onnx_session(path, available_cpus()), 0.0, len(dev.names))
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
    plan = plan_base(cfg, resolve_base_model(cfg.base_model))
    train, dev, provenance, reviews = load_data(cfg, plan)
    log.info(
        "data: %s train rows, %d dev rows from %s; classes %s%s",
        len(train) if train is not None else "no",
        len(dev),
        dev.source,
        list(dev.names),
        " (multi-label)" if dev.multi_label else "",
    )
    prepare_checkpoint(cfg, plan, train, dev)
    trained = plan.fine_tune
    log.info("checkpoint written to %s (fine-tuned: %s)", cfg.checkpoint_dir, trained)
    multi_label = dev.multi_label
    threshold = cfg.threshold if multi_label else 0.5
    metric = primary_metric(multi_label)

    manifest: dict[str, Any] = {
        "name": cfg.name,
        "base_model": cfg.base_model
        if cfg.base_model != "default"
        else "sentence-transformers/all-MiniLM-L6-v2",
        "fine_tuned": trained,
        "checkpoint": artifacts.checkpoint_entries(cfg.checkpoint_dir),
        "task": "text-classification",
        "labels": checkpoint_labels(cfg.checkpoint_dir),
        "problem_type": "multi_label_classification" if multi_label else "single_label_classification",
        **({"threshold": threshold} if multi_label else {}),
        "max_length": cfg.max_length,
        "window_stride": cfg.window_stride,
        "max_windows": cfg.max_windows,
        "quantization": quantize.describe(cfg.quantization),
        "data": provenance,
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
        skipped = ngrams_skipped(cfg, reviews, multi_label)
        fit = None if skipped else ngrams.fit(fp32_dir / "tokenizer.json", reviews, len(dev.names), cfg.seed)
        manifest["ngrams"], served = add_ngrams(cfg, fit, fp32_dir, alone, dev) if fit else (None, alone)
        if manifest["ngrams"] is None:
            manifest["ngrams_skipped"] = skipped or "the data cannot fit it, or dev gave it weight 0 (log)"
        fp32 = metrics(served, dev, threshold)
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
        served_int8 = Classifier.from_dir(staging)
        int8_scores = score(served_int8, dev, desc="dev accuracy int8")
        int8 = metrics(int8_scores, dev, threshold)
        log.info("dev %s fp32 %.4f, int8 %.4f", metric, fp32[metric], int8[metric])
        try:
            drop = gate.check_quantization(fp32, int8, cfg.max_accuracy_drop, metric)
        except GateError as refused:
            raise GateError(
                f"{refused}; {cfg.output} left unchanged, the refused model kept in {cfg.checkpoint_dir} and "
                f"{cfg.fp32_dir} (to re-export with another --quantization)"
            ) from None
        parity = {"fp32_vs_torch": fp32_parity.as_dict(), "int8_vs_torch": int8_parity.as_dict()}
        manifest["metrics"] = {"fp32": fp32, "int8": int8, "parity": parity, "quantization_drop_points": drop}
        if per_source := by_source(int8_scores, dev, provenance["dev"], threshold):
            manifest["metrics"]["int8_by_dev_source"] = per_source
        manifest = artifacts.write_manifest(staging, manifest, shipped)
        write_model_card(staging, manifest, cfg.license)
    log.info("artifact written to %s: int8 %s", cfg.output, headline(manifest["metrics"]["int8"]))
    return manifest
