"""The build: data -> checkpoint -> fp32 ONNX (parity, n-grams) -> int8 (parity, accuracy gate) -> artifact.

`build` only sequences the stages, and each stage gets what it needs. Both directories a build writes (the
fp32 export and the int8 artifact) are staged beside their destination and swapped in whole, and each gets
its manifest once, last: before that, the serving code scores the staged files with the manifest in memory
(`export.evaluate.scoring_classifier(directory, manifest)`).
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from export import artifacts, fusion, identity, judge, onnx_export, quantize, window_cost
from export.blending import fit_ngrams
from export.config import ExportConfig
from export.corpus import Data, load_data
from export.data import stand_in_notice
from export.evaluate import Scored, headline, metrics, primary_metric, score, scoring_classifier
from export.model_card import write_model_card
from export.train import (
    BasePlan,
    applied_train_dtype,
    plan_base,
    prepare_checkpoint,
    resolve_base_model,
)
from handler.manifest import MODEL_FILE, MULTI_LABEL, SHIPPED_FILES, SINGLE_LABEL, Manifest, Metrics

log = logging.getLogger(__name__)
DEFAULT_BASE = "sentence-transformers/all-MiniLM-L6-v2"


@dataclass(frozen=True)
class Serving:
    """How an artifact's tokenizer windows texts, and the checkpoint its tokenizer and labels come from."""

    checkpoint: Path
    max_length: int
    stride: int


@dataclass(frozen=True)
class Probe:
    """The dev texts each export is compared with PyTorch on, and PyTorch's logits for them."""

    checkpoint: Path
    texts: list[str]
    max_length: int
    reference: np.ndarray

    @classmethod
    def of(cls, checkpoint: Path, texts: list[str], max_length: int) -> Probe:
        return cls(checkpoint, texts, max_length, onnx_export.torch_logits(checkpoint, texts, max_length))

    def parity(self, model: Path, atol: float | None) -> onnx_export.Parity:
        """How close `model`'s logits are to PyTorch's.

        Raises:
            ParityError: beyond `atol` (None: compared, not gated).
        """
        logits = onnx_export.onnx_logits(model, self.checkpoint, self.texts, self.max_length)
        return onnx_export.check_parity(self.reference, logits, atol)


@dataclass(frozen=True)
class Exported:
    """The published fp32 export: its manifest, its parity with PyTorch, its answers on the dev texts as
    served and their scores (None: the dev texts' labels are not the model's, `Data.parity_only`)."""

    directory: Path
    manifest: Manifest
    parity: onnx_export.Parity
    served: Scored
    scores: dict[str, Any] | None


def write_artifact_files(serving: Serving, directory: Path, model: Path) -> None:
    """model.onnx + the serving tokenizer.json + config.json from the checkpoint, into `directory`."""
    if model != directory / MODEL_FILE:
        shutil.copyfile(model, directory / MODEL_FILE)
    artifacts.write_serving_tokenizer(
        serving.checkpoint / "tokenizer.json",
        directory / "tokenizer.json",
        serving.max_length,
        serving.stride,
    )
    served = json.loads((serving.checkpoint / "config.json").read_text())
    labels = checkpoint_labels(serving.checkpoint)  # transformers leaves default LABEL_n names unsaved
    served |= {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    (directory / "config.json").write_text(json.dumps(served, indent=2) + "\n")


def checkpoint_labels(checkpoint: Path) -> list[str]:
    """Label names in output order, as transformers reads the checkpoint's config (a classifier saved with
    the default names LABEL_0, LABEL_1 has none in its config.json)."""
    from transformers import AutoConfig

    id2label = AutoConfig.from_pretrained(checkpoint).id2label
    return [str(id2label[key]) for key in sorted(id2label, key=int)]


def multi_label(plan: BasePlan, data: Data) -> bool:
    """The model's problem type: an as-is classifier's own, a fine-tuned model's data's."""
    return data.dev.multi_label if plan.fine_tune else plan.multi_label


def describe(cfg: ExportConfig, plan: BasePlan, data: Data) -> dict[str, Any]:
    """The manifest fields the fp32 export and the int8 artifact share: what was built, from what, how."""
    multi = multi_label(plan, data)
    base_model = cfg.base_model if cfg.base_model != "default" else DEFAULT_BASE
    return {
        "name": identity.artifact_name(cfg, base_model, plan.fine_tune),
        "base_model": base_model,
        "fine_tuned": plan.fine_tune,
        "checkpoint": artifacts.checkpoint_entries(cfg.checkpoint_dir),
        "task": "text-classification",
        "labels": checkpoint_labels(cfg.checkpoint_dir),
        "problem_type": MULTI_LABEL if multi else SINGLE_LABEL,
        **({"threshold": cfg.threshold} if multi else {}),
        "max_length": cfg.max_length,
        "window_stride": cfg.window_stride,
        "max_windows": cfg.max_windows,
        "data": data.provenance,
        "seed": cfg.seed,
        "config": {**cfg.to_json(), "train_dtype": applied_train_dtype(cfg, plan)},
        "versions": artifacts.versions(),
    }


def export_fp32(serving: Serving, directory: Path, probe: Probe, atol: float) -> onnx_export.Parity:
    """model.onnx exported from the checkpoint and checked against PyTorch, and its serving files.

    Raises:
        ParityError: the ONNX logits differ from PyTorch's beyond `atol`.
    """
    model = onnx_export.export_onnx(serving.checkpoint, directory)
    parity = probe.parity(model, atol)
    log.info("fp32 ONNX parity with PyTorch: %s", parity)
    write_artifact_files(serving, directory, model)
    return parity


def quantize_int8(
    fp32_dir: Path, directory: Path, scheme: str, serving: Serving, probe: Probe
) -> onnx_export.Parity:
    """The int8 model quantized from the fp32 export, fused as served (export/fusion.py) and compared with
    PyTorch, and its serving files: the parity check and the gate judge the file the handler loads."""
    model = fusion.fuse(quantize.quantize(fp32_dir / MODEL_FILE, directory / MODEL_FILE, scheme))
    parity = probe.parity(model, None)
    write_artifact_files(serving, directory, model)
    return parity


def publish_fp32(
    destination: Path,
    about: dict[str, Any],
    data: Data,
    serving: Serving,
    probe: Probe,
    *,
    atol: float,
    ngram_weight: float,
    seed: int,
    threshold: float,
) -> Exported:
    """The fp32 export at `destination`: exported, checked against PyTorch, scored on dev (its answers alone
    when dev's labels are not the model's), n-grams fitted and blended, its manifest written once, last."""
    with artifacts.staged(destination) as directory:
        parity = export_fp32(serving, directory, probe, atol)
        files = artifacts.file_entries(directory, SHIPPED_FILES)
        unblended = Manifest(**about, quantization=None, files=files, created=artifacts.created())
        alone = score(scoring_classifier(directory, unblended), data.dev, desc="dev accuracy fp32")
        blended, served = fit_ngrams(ngram_weight, seed, directory, alone, data)
        if blended["ngrams"] is not None:
            files |= artifacts.file_entries(directory, blended["ngrams"].files)
        manifest = Manifest(**about, quantization=None, **blended, files=files, created=artifacts.created())
        artifacts.write_manifest(directory, manifest)
    scores = metrics(served, data.dev, threshold) if data.parity_only is None else None
    return Exported(destination, manifest, parity, served, scores)


def publish_int8(
    destination: Path,
    fp32: Exported,
    data: Data,
    serving: Serving,
    probe: Probe,
    *,
    scheme: str,
    rules: judge.Gate,
    licence: identity.Licence,
) -> Manifest:
    """The int8 artifact at `destination`, quantized from the fp32 export and gated against it on dev (on
    its answers' agreement alone when dev's labels are not the model's: export/judge.py); its manifest (the
    fp32 export's, with the quantization, files, scores and the cost of one window on this machine) and
    model card written last.

    Raises:
        GateError: the int8 model lost too much; `destination` is then left as it was.
    """
    with artifacts.staged(destination) as directory:
        parity = quantize_int8(fp32.directory, directory, scheme, serving, probe)
        if fp32.manifest.ngrams is not None:  # the fp32 export's n-gram model blends into both
            for name in fp32.manifest.ngrams.files:
                shutil.copyfile(fp32.directory / name, directory / name)
        fields = fp32.manifest.model_dump(exclude={"quantization", "files", "created"})
        fields |= {
            "quantization": quantize.describe(scheme) | {"graph_optimization": fusion.LEVEL},
            "files": artifacts.file_entries(directory, fp32.manifest.files),
        }
        ungated = Manifest(**fields, created=artifacts.created())
        scored = score(scoring_classifier(directory, ungated), data.dev, desc="dev accuracy int8")
        verdict = (
            judge.on_dev(fp32.scores, scored, data, rules)
            if fp32.scores is not None and data.parity_only is None
            else judge.on_parity(fp32.served, scored, data.parity_only or "no labelled dev set", rules)
        )
        parities = {"fp32_vs_torch": fp32.parity.as_dict(), "int8_vs_torch": parity.as_dict()}
        cost = window_cost.measure(directory, ungated)
        manifest = Manifest(
            **fields,
            metrics=Metrics(parity=parities, **verdict),
            window_cost=cost,
            created=artifacts.created(),
        )
        artifacts.write_manifest(directory, manifest)
        write_model_card(directory, manifest, licence)
    outcome = f"int8 {headline(verdict['int8'])}" if "int8" in verdict else "gated on parity alone"
    log.info(
        "artifact written to %s as %s (licence %s): %s", destination, manifest.model_id, licence.id, outcome
    )
    return manifest


def build(cfg: ExportConfig) -> Manifest:
    """Run every stage; return the manifest of the published artifact.

    Raises:
        ConfigError, DataError, ParityError, GateError: the artifact at `cfg.output` is then left as it was.
    """
    plan = plan_base(cfg, resolve_base_model(cfg.base_model))
    roles = {"train": cfg.train_data, "dev": cfg.dev_data, "extra": cfg.extra_train_data}
    if not plan.fine_tune:  # an as-is classifier reads dev data alone
        roles = {"dev": cfg.dev_data}
    if notice := stand_in_notice(roles):
        log.warning(notice)
    data = load_data(cfg, plan)
    dev, multi = data.dev, multi_label(plan, data)
    log.info(
        "data: %s train rows, %d dev rows from %s; classes %s%s",
        len(data.train) if data.train is not None else "no",
        len(dev),
        dev.source,
        list(dev.names) if data.parity_only is None else f"{list(plan.labels)}, unlike dev's",
        " (multi-label)" if multi else "",
    )
    prepare_checkpoint(cfg, plan, data.train, dev)
    log.info("checkpoint written to %s (fine-tuned: %s)", cfg.checkpoint_dir, plan.fine_tune)
    serving = Serving(cfg.checkpoint_dir, cfg.max_length, cfg.window_stride)
    probe = Probe.of(cfg.checkpoint_dir, dev.texts[: cfg.parity_samples], cfg.max_length)
    rules = judge.Gate(
        primary_metric(multi),
        cfg.threshold if multi else None,
        cfg.max_accuracy_drop,
        f"{cfg.output} left unchanged, the refused model kept in {cfg.checkpoint_dir} and {cfg.fp32_dir} (to "
        "re-export with another --quantization)",
    )
    about = describe(cfg, plan, data)
    fp32 = publish_fp32(
        cfg.fp32_dir,
        about,
        data,
        serving,
        probe,
        atol=cfg.parity_atol,
        ngram_weight=cfg.ngram_weight,
        seed=cfg.seed,
        threshold=cfg.threshold if multi else 0.5,
    )
    licence = identity.artifact_licence(cfg, about["base_model"], cfg.checkpoint_dir, plan.fine_tune)
    return publish_int8(
        cfg.output, fp32, data, serving, probe, scheme=cfg.quantization, rules=rules, licence=licence
    )
