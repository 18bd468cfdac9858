"""The dev figures an artifact's manifest recorded when it was built: what `make eval` prints where no dev set
is at hand (a user's machine without ../shared/data), instead of failing, saying where and when they were
measured and how to score one's own data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from export.data import SHARED_DATA_VARIABLE, shared_data
from export.evaluate import table
from export.model_card import describe
from handler.artifact import read_manifest
from handler.manifest import Manifest

OWN_DATA = "score your own labelled data with make eval DATA=my_dev.jsonl (.jsonl/.csv/.parquet)"


def recorded_rows(manifest: Manifest) -> list[tuple[str, dict[str, Any] | str]]:
    """The int8 scores the build recorded, a row per dev set (one row for the dev data as a whole when it
    was one set); none for an artifact without them (the fp32 export, a model gated on parity alone)."""
    metrics = manifest.metrics
    if metrics is None or metrics.int8 is None:
        return []
    if metrics.int8_by_dev_source:
        return [(name, scores.model_dump()) for name, scores in metrics.int8_by_dev_source.items()]
    return [(describe(manifest.data.dev), metrics.int8.model_dump())]


def recorded_figures(model_dir: Path) -> str:
    """What `make eval` prints without a dev set: the figures `model_dir`'s manifest recorded at build time,
    on which data, and how to score one's own.

    Raises:
        ArtifactError: `model_dir` holds no valid artifact.
    """
    manifest = read_manifest(model_dir)
    rows = recorded_rows(manifest)
    where = f"no dev set under {shared_data()} ({SHARED_DATA_VARIABLE} or ../shared/data)"
    if not rows:
        gate = manifest.metrics.parity_gate if manifest.metrics else None
        why = f" (gated on parity alone: {gate.reason})" if gate else ""
        return f"{where}, and {model_dir} recorded no dev figures{why}; {OWN_DATA}"
    built = manifest.created[:10]
    return "\n".join(
        [
            f"{where}: the int8 figures below were measured when {model_dir} was built ({built}), on its dev "
            f"data {describe(manifest.data.dev)}, and recorded in its manifest; {OWN_DATA}",
            "",
            table(rows),
        ]
    )
