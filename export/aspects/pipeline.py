"""The aspect build: data -> checkpoint -> fp32 ONNX (parity) -> int8 (parity, pair-F1 gate) -> artifact.

It reuses the sentence model's stages (Optimum's export, the int8 schemes, the saved fusions, the gate's
arithmetic, the serving tokenizer, the atomic swap) and differs in what is scored: spans, by
handler/aspects.py, on the dev data of export/aspects/splits.py. Both directories are staged beside their
destination and swapped in whole; each manifest is written once, last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from export import artifacts, fusion, gate, onnx_export, quantize
from export.aspects.card import write_model_card
from export.aspects.config import AspectConfig
from export.aspects.evaluate import POOLED, pooled, score_parts
from export.aspects.parity import TagProbe
from export.aspects.splits import Splits, load_splits
from export.aspects.train import AspectPlan, plan_base, prepare_checkpoint
from export.errors import GateError
from export.pipeline import DEFAULT_BASE, Serving, write_artifact_files
from handler.aspect_manifest import AspectManifest
from handler.aspect_tags import read_scheme
from handler.aspects import AspectTagger
from handler.manifest import MODEL_FILE, SHIPPED_FILES, TOKEN_CLASSIFICATION

log = logging.getLogger(__name__)
GATED = "pair_f1"


@dataclass(frozen=True)
class Fp32:
    """The published fp32 export: its manifest, parity with PyTorch and dev (and validation) scores."""

    directory: Path
    manifest: AspectManifest
    parity: onnx_export.Parity
    dev: dict[str, dict[str, Any]]
    validation: dict[str, Any] | None


def describe(cfg: AspectConfig, plan: AspectPlan, splits: Splits) -> dict[str, Any]:
    """The manifest fields the fp32 export and the int8 artifact share."""
    return {
        "name": cfg.name,
        "base_model": cfg.base_model if cfg.base_model != "default" else DEFAULT_BASE,
        "fine_tuned": plan.fine_tune,
        "checkpoint": artifacts.checkpoint_entries(cfg.checkpoint_dir),
        "task": TOKEN_CLASSIFICATION,
        "labels": list(plan.labels),
        "tag_scheme": read_scheme(plan.labels).name,
        "max_length": cfg.max_length,
        "window_stride": cfg.window_stride,
        "max_windows": cfg.max_windows,
        "data": splits.provenance(),
        "seed": cfg.seed,
        "config": cfg.to_json(),
        "versions": artifacts.versions(),
    }


def staged_manifest(directory: Path, about: dict[str, Any], quantization: Any) -> AspectManifest:
    """The manifest of a staged directory before its scores: what the tagger loads it with."""
    files = artifacts.file_entries(directory, SHIPPED_FILES)
    return AspectManifest(**about, quantization=quantization, files=files, created=artifacts.created())


def publish_fp32(cfg: AspectConfig, about: dict[str, Any], splits: Splits, probe: TagProbe) -> Fp32:
    """The fp32 export at `cfg.fp32_dir`: exported, checked against PyTorch, scored on dev and validation.

    Raises:
        ParityError: its logits differ from PyTorch's beyond `cfg.parity_atol`.
    """
    serving = Serving(cfg.checkpoint_dir, cfg.max_length, cfg.window_stride)
    with artifacts.staged(cfg.fp32_dir) as directory:
        model = onnx_export.export_onnx(cfg.checkpoint_dir, directory, task=TOKEN_CLASSIFICATION)
        parity = probe.parity(model, cfg.parity_atol)
        log.info("fp32 ONNX parity with PyTorch: %s", parity)
        write_artifact_files(serving, directory, model)
        manifest = staged_manifest(directory, about, None)
        tagger = AspectTagger.from_dir(directory, manifest=manifest)
        dev = score_parts(tagger, splits.dev, "dev fp32")
        validation = score_parts(tagger, splits.validation, "validation fp32") if splits.validation else None
        artifacts.write_manifest(directory, manifest)
    return Fp32(cfg.fp32_dir, manifest, parity, dev, pooled(validation) if validation else None)


def publish_int8(
    cfg: AspectConfig, about: dict[str, Any], splits: Splits, probe: TagProbe, fp32: Fp32
) -> AspectManifest:
    """The int8 artifact at `cfg.output`, quantized from the fp32 export and gated against it on dev.

    Raises:
        GateError: int8 lost more pair-F1 points than `cfg.max_f1_drop`; `cfg.output` is left as it was.
    """
    serving = Serving(cfg.checkpoint_dir, cfg.max_length, cfg.window_stride)
    with artifacts.staged(cfg.output) as directory:
        model = fusion.fuse(
            quantize.quantize(fp32.directory / MODEL_FILE, directory / MODEL_FILE, cfg.quantization)
        )
        parity = probe.parity(model, None)
        write_artifact_files(serving, directory, model)
        scheme = quantize.describe(cfg.quantization) | {"graph_optimization": fusion.LEVEL}
        ungated = staged_manifest(directory, about, scheme)
        dev = score_parts(AspectTagger.from_dir(directory, manifest=ungated), splits.dev, "dev int8")
        flat = {GATED: pooled(fp32.dev)["pair"]["f1"]}, {GATED: pooled(dev)["pair"]["f1"]}
        try:
            drop = gate.check_quantization(*flat, cfg.max_f1_drop, GATED)
        except GateError as refused:
            raise GateError(
                f"{refused}; {cfg.output} left unchanged, the refused model kept in {cfg.checkpoint_dir} and "
                f"{cfg.fp32_dir} (to re-export with another --quantization)"
            ) from None
        metrics = {
            "fp32": fp32.dev,
            "int8": dev,
            "parity": {"fp32_vs_torch": fp32.parity.as_dict(), "int8_vs_torch": parity.as_dict()},
            "gated": f"{POOLED if POOLED in dev else next(iter(dev))} {GATED}",
            "quantization_drop_points": drop,
        } | ({"validation": fp32.validation} if fp32.validation else {})
        manifest = AspectManifest(
            **ungated.model_dump(exclude={"created"}), metrics=metrics, created=artifacts.created()
        )
        artifacts.write_manifest(directory, manifest)
        write_model_card(directory, manifest, cfg.license)
    return manifest


def build(cfg: AspectConfig) -> AspectManifest:
    """Run every stage; return the published artifact's manifest.

    Raises:
        ConfigError, DataError, TagSchemeError, ParityError, GateError: `cfg.output` is then left as it was.
    """
    plan = plan_base(cfg)
    splits = load_splits(cfg, plan.fine_tune)
    log.info(
        "aspect data: %d train, %d validation, %d dev sentences",
        *(len(Splits.sentences(p)) for p in (splits.train, splits.validation, splits.dev)),
    )
    chosen = prepare_checkpoint(
        cfg, plan, Splits.sentences(splits.train), Splits.sentences(splits.validation)
    )
    if chosen is not None:
        log.info("checkpoint written to %s: validation pair F1 %.4f", cfg.checkpoint_dir, chosen)
    dev_texts = [s.text for s in Splits.sentences(splits.dev)]
    probe = TagProbe.of(cfg.checkpoint_dir, dev_texts[: cfg.parity_samples], cfg.max_length)
    about = describe(cfg, plan, splits)
    fp32 = publish_fp32(cfg, about, splits, probe)
    manifest = publish_int8(cfg, about, splits, probe, fp32)
    found = pooled(manifest.metrics.model_dump()["int8"]) if manifest.metrics else None
    if found:
        log.info(
            "aspect artifact written to %s: int8 dev pair F1 %.4f, extraction F1 %.4f",
            cfg.output,
            found["pair"]["f1"],
            found["extraction"]["f1"],
        )
    return manifest
