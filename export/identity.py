"""The name and licence an artifact is published under.

A fine-tuned build is this project's model: `amazon-sentiment`, Apache-2.0, as it always was. A classifier
exported as it is stays someone else's model: it keeps its own name (the last part of its Hub id, or its
directory's name), so every answer's model id says whose weights answered, and its own licence, read from
its model card's YAML (`license:`, and `license_name` / `license_link` for `other`) or its config; where
neither says, `unknown`, with a note, never a licence it was not given.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from export.config import DEFAULT, ExportConfig

log = logging.getLogger(__name__)
FINE_TUNED_NAME = "amazon-sentiment"
FINE_TUNED_LICENSE = "apache-2.0"
UNKNOWN = "unknown"
CARD_FILE = "README.md"


@dataclass(frozen=True)
class Licence:
    """A model card's licence: its Hub id (`apache-2.0`, `mit`, `other`, `unknown`...), the name and link an
    `other` licence comes with, and where it was read (for the card and the build log)."""

    id: str
    source: str
    name: str | None = None
    link: str | None = None


def artifact_name(cfg: ExportConfig, base_model: str, fine_tuned: bool) -> str:
    """--name as given; by default `amazon-sentiment` for a fine-tuned build, else the base model's own name:
    `cardiffnlp/twitter-roberta-base-sentiment-latest` -> `twitter-roberta-base-sentiment-latest`."""
    if cfg.name != DEFAULT:
        return cfg.name
    return FINE_TUNED_NAME if fine_tuned else Path(base_model.rstrip("/")).name


def artifact_licence(cfg: ExportConfig, base_model: str, checkpoint: Path, fine_tuned: bool) -> Licence:
    """--license as given; by default Apache-2.0 for a fine-tuned build, else the base model's own: its
    card's (the Hub's README.md, or the local directory's), else its config's `license` (in `checkpoint`),
    else `unknown`."""
    if cfg.license != DEFAULT:
        return Licence(cfg.license, "as the build was told (--license)")
    if fine_tuned:
        return Licence(
            FINE_TUNED_LICENSE,
            "this project's fine-tuned model; the base model's and the data's terms apply too",
        )
    if found := card_licence(base_model):
        return found
    config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    if isinstance(config.get("license"), str) and config["license"].strip():
        return Licence(config["license"].strip(), f"from {base_model}'s config.json")
    log.warning(
        "%s states no licence (no license: in its model card or config): the card says unknown", base_model
    )
    return Licence(
        UNKNOWN, f"{base_model} states no licence in its model card or config: check its terms first"
    )


def card_licence(base_model: str) -> Licence | None:
    """The `license:` of the base model's card (a local directory's README.md, else the Hub's, from the
    cache when offline); None when there is no card, or it names no licence."""
    from huggingface_hub import ModelCard

    local = Path(base_model)
    if local.is_dir() and not (local / CARD_FILE).is_file():
        return None
    try:
        card = ModelCard.load(local / CARD_FILE if local.is_dir() else base_model)
    except Exception:  # no card, no such repo, or the Hub unreachable: huggingface_hub raises many types
        return None
    licence = card.data.to_dict()
    if not isinstance(licence.get("license"), str):
        return None
    return Licence(
        licence["license"],
        f"from {base_model}'s model card",
        licence.get("license_name"),
        licence.get("license_link"),
    )
