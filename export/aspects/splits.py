"""Which sentences train the aspect model, which choose its epoch and which judge it.

- dev: a stratified share of each `--dev-split-from` file (SemEval-2014 laptops has no dev split; carved
  first, with the seed, so every build and `make eval` carve the same one), and every `--dev-data` file
  (ACOS laptops dev). The gate and the reported figures read dev only.
- validation: a stratified share of each train file (what dev left of it): it picks the epoch kept, and the
  settings were chosen on it (docs/aspects.md), so dev stays unseen until it is reported.
- train: the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from export.aspects.config import AspectConfig
from export.aspects.data import Part, Sentence, carve, read_part
from export.errors import DataError

DEV_PURPOSE = "judges the model: the int8 gate and the reported scores"
VALIDATION_PURPOSE = "chose the settings and the epoch kept"
TRAIN_PURPOSE = "fine-tuning"


@dataclass(frozen=True)
class Splits:
    train: list[Part]
    validation: list[Part]
    dev: list[Part]

    @staticmethod
    def sentences(parts: list[Part]) -> list[Sentence]:
        return [sentence for part in parts for sentence in part.sentences]

    def provenance(self) -> dict[str, Any]:
        """The manifest's `data` (handler/aspect_manifest.AspectData)."""

        def group(parts: list[Part], purpose: str) -> dict[str, Any]:
            splits = [
                {"path": p.path, "sha256": p.sha256, "sentences": len(p.sentences), "aspects": p.aspects}
                | ({"carved": p.carved} if p.carved else {})
                for p in parts
            ]
            return {"purpose": purpose, "splits": splits}

        found = {"dev": group(self.dev, DEV_PURPOSE)}
        if self.train:
            found |= {
                "train": group(self.train, TRAIN_PURPOSE),
                "validation": group(self.validation, VALIDATION_PURPOSE),
            }
        return found


def dev_parts(cfg: AspectConfig) -> tuple[list[Part], dict[Path, Part]]:
    """The dev parts, and what carving them left of each `--dev-split-from` file (by path).

    Raises:
        DataError: a file is missing or unreadable, or no dev data at all (the gate needs some).
    """
    dev, rest = [], {}
    for path in cfg.files("dev_split_from"):
        kept, held = carve(read_part(path), cfg.dev_fraction, cfg.seed, "dev")
        dev.append(held)
        rest[path] = kept
    dev += [read_part(path) for path in cfg.files("dev_data")]
    if not dev:
        raise DataError(
            "no aspect dev data: name a file with --dev-data or --dev-split-from (the int8 gate needs one)"
        )
    return dev, rest


def load_splits(cfg: AspectConfig, fine_tune: bool) -> Splits:
    """Read and split the data; an as-is export reads its dev data only.

    Raises:
        DataError: a file is missing or unreadable, no dev data, or no train data for a model to fine-tune.
    """
    dev, rest = dev_parts(cfg)
    if not fine_tune:
        return Splits([], [], dev)
    train, validation = [], []
    for path in cfg.files("train_data"):
        kept, held = carve(rest.get(path) or read_part(path), cfg.validation_fraction, cfg.seed, "validation")
        train.append(kept)
        validation.append(held)
    if not train:
        raise DataError(
            "no aspect train data: name files with --train-data (make model-aspects ASPECT_ARGS=...)"
        )
    return Splits(train, validation, dev)
