"""manifest.json of an aspect tagger: the contract `python -m export.aspects` writes and the handler reads.

Shares handler/manifest.py's parts (files, quantization, parity, the Record rules: unknown keys refused,
keys left out stay out) and differs where a token classifier does: its task, its tag scheme (read from the
labels, so a manifest whose labels the decoder cannot read fails the cold start) and span scores in place
of accuracy.
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from handler.aspect_tags import read_scheme
from handler.manifest import (
    MODEL_FILE,
    SHIPPED_FILES,
    FileEntry,
    ParityPair,
    Quantization,
    Record,
)

Fraction = Annotated[float, Field(ge=0, le=1)]


class SpanScores(Record):
    """Exact-match micro scores of spans: a predicted span counts only with the gold start and end (and,
    for pairs, sentiment)."""

    precision: Fraction
    recall: Fraction
    f1: Fraction
    gold: int
    predicted: int
    correct: int


class AspectScores(Record):
    """An aspect model's scores on one data set, as served: aspect-sentiment pairs and terms alone."""

    sentences: int
    pair: SpanScores
    extraction: SpanScores
    implicit_dropped: int  # gold aspects without a span (ACOS's implicit ones): no answer can match them
    conflict_dropped: int  # gold aspects with sentiment `conflict`, dropped as the references drop them
    windows_mean: float
    truncated: int


class Split(Record):
    """Sentences of one file used for one purpose, and how they were chosen."""

    path: str
    sha256: str
    sentences: int
    aspects: int  # explicit aspect spans
    carved: str | None = None  # how they were carved from the file; None: the whole file


class SplitGroup(Record):
    purpose: str
    splits: list[Split]


class AspectData(Record):
    """Which rows trained the model, which chose among its epochs, which gated and scored it."""

    train: SplitGroup | None = None  # None: an as-is export
    validation: SplitGroup | None = None
    dev: SplitGroup


class AspectMetrics(Record):
    """Scores by dev set (and `all`, the dev sets pooled, which the gate reads), fp32 and int8 as served."""

    fp32: dict[str, AspectScores]
    int8: dict[str, AspectScores]
    validation: AspectScores | None = None  # fp32, on the rows that chose the epoch
    parity: ParityPair
    gated: str  # "<dev set> <metric>", what the gate compared
    quantization_drop_points: float


class AspectManifest(Record):
    """manifest.json of an aspect tagger (`task` token-classification)."""

    name: str
    base_model: str
    fine_tuned: bool
    checkpoint: dict[str, FileEntry] | None = None
    task: Literal["token-classification"]  # TOKEN_CLASSIFICATION
    labels: Annotated[list[str], Field(min_length=2)]
    tag_scheme: str
    max_length: Annotated[int, Field(strict=True, ge=2)]
    window_stride: Annotated[int, Field(strict=True, ge=0)]
    max_windows: Annotated[int, Field(strict=True, ge=1)]
    quantization: Quantization | None  # None: the fp32 export
    data: AspectData
    seed: int
    config: dict[str, Any]
    versions: dict[str, str]
    metrics: AspectMetrics | None = None  # the int8 artifact's
    files: dict[str, FileEntry]
    created: str

    @model_validator(mode="after")
    def _consistent(self) -> AspectManifest:
        if unlisted := [name for name in SHIPPED_FILES if name not in self.files]:
            raise ValueError(f"files must list {', '.join(unlisted)}")
        if (read := read_scheme(self.labels).name) != self.tag_scheme:
            raise ValueError(f"tag_scheme {self.tag_scheme!r} is not what the labels say ({read!r})")
        return self

    @cached_property
    def model_id(self) -> str:
        """`name@sha12` of model.onnx, as the sentence model's answers name theirs."""
        return f"{self.name}@{self.files[MODEL_FILE].sha256[:12]}"
