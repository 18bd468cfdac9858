"""manifest.json as one typed model: the contract between export/ (which writes it once per artifact
directory) and every reader (the handler, `make eval`, `make image-test`, the bench).

The fields the handler acts on are strict (a bool is no window count, "8" no integer), so a bad artifact
fails the cold start instead of a request. Every model refuses unknown keys, so a writer that adds one has
to add it here first. A key the writer left out stays out when the model is written or served again
(`Record`): a single-label model has no `threshold`, a manifest older than `problem_type` none either.
"""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

MODEL_FILE = "model.onnx"
# The files every artifact ships beside manifest.json; an n-gram model adds its own (`Ngrams.file`).
SHIPPED_FILES = (MODEL_FILE, "tokenizer.json", "config.json")
MANIFEST_FILE = "manifest.json"
ARTIFACT_FILES = (*SHIPPED_FILES, MANIFEST_FILE)
NGRAMS_FILE = "ngrams.onnx"
# ngrams.onnx's tables in numpy's format, what the handler loads (handler/ngrams.py); older builds lack it.
NGRAM_TABLES_FILE = "ngrams.npz"
# The task of an aspect tagger's manifest (handler/aspect_manifest.py, `make model-aspects`): this model
# refuses one by name, so that the sentence model's readers pointed at one say what it is.
TOKEN_CLASSIFICATION = "token-classification"
ProblemType = Literal["single_label_classification", "multi_label_classification"]
SINGLE_LABEL: ProblemType = "single_label_classification"
MULTI_LABEL: ProblemType = "multi_label_classification"

Fraction = Annotated[float, Field(ge=0, le=1)]


class Record(BaseModel):
    """A part of the manifest: unknown keys refused; dumped with only the keys it was given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _as_given(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return {key: value for key, value in dump(self).items() if key in self.model_fields_set}


class FileEntry(Record):
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    bytes: Annotated[int, Field(strict=True, ge=0)]


class Parity(Record):
    """How close one model's outputs are to its reference's on the same texts."""

    samples: int
    max_abs_diff: float
    mean_abs_diff: float | None = None
    label_agreement: Fraction | None = None
    atol: float | None  # None: compared, not gated (int8 against PyTorch)


class ClassScores(Record):
    precision: Fraction
    recall: Fraction
    f1: Fraction
    support: int


class Confusion(Record):
    labels: list[str]
    rows_gold_cols_predicted: list[list[int]]


class Scores(Record):
    """Dev scores of one model (export/evaluate.py `metrics`): single-label ones have accuracy and a
    confusion matrix, multi-label ones micro-F1, exact match and their threshold."""

    n: int
    accuracy: Fraction | None = None
    macro_f1: Fraction
    micro_f1: Fraction | None = None
    exact_match: Fraction | None = None
    threshold: float | None = None
    per_class: dict[str, ClassScores]
    confusion_matrix: Confusion | None = None
    f1: Fraction | None = None  # of POSITIVE, for a model that has that label
    within_one: Fraction | None = None  # star ratings
    windows_mean: float
    truncated: int


class ParityPair(Record):
    fp32_vs_torch: Parity
    int8_vs_torch: Parity


class ParityGate(Record):
    """How an int8 model with no dev set of its labels at hand was judged: by how often its answers are
    fp32's on the build's texts. On any labelling of those texts, its accuracy differs from fp32's by at most
    the share they disagree on, so `min_agreement` is 1 - the allowed drop."""

    reason: str  # "no dev set with labels [...]"
    texts: int
    agreement: Fraction
    min_agreement: Fraction
    max_abs_diff: float  # of the probabilities served


class Metrics(Record):
    """The int8 artifact's gate: fp32 and int8 scores on a dev set with the model's labels and the points
    lost between them; or, with no such dev set, the agreement of their answers alone (`parity_gate`)."""

    fp32: Scores | None = None
    int8: Scores | None = None
    parity: ParityPair
    quantization_drop_points: float | None = None
    int8_by_dev_source: dict[str, Scores] | None = None
    parity_gate: ParityGate | None = None

    @model_validator(mode="after")
    def _one_gate(self) -> Metrics:
        scored = (self.fp32, self.int8, self.quantization_drop_points)
        if self.parity_gate is None and None in scored:
            raise ValueError("metrics need fp32, int8 and quantization_drop_points, or a parity_gate")
        if self.parity_gate is not None and scored != (None, None, None):
            raise ValueError("a parity_gate means no dev scores: fp32, int8, quantization_drop_points absent")
        return self


class Ngrams(Record):
    """The n-gram model blended into the windows' answers (export/ngrams.py), and how it was chosen."""

    file: str
    tables: str | None = None  # the same model as NGRAM_TABLES_FILE; None: built before it, `file` is parsed
    weight: Annotated[float, Field(strict=True, gt=0, le=1)]  # 0 blends nothing: the build drops the file
    weight_chosen_on_dev: bool
    features: int
    min_documents: int
    inverse_regularisation: float
    dev_accuracy_alone: Fraction
    parity_vs_sklearn: Parity
    fp32_without_ngrams: Scores

    @property
    def files(self) -> tuple[str, ...]:
        """The files of the n-gram model: `file`, and `tables` when the build wrote them."""
        return (self.file,) if self.tables is None else (self.file, self.tables)


class Quantization(Record):
    scheme: str
    mode: str
    activations: str
    weights: str
    per_channel: bool
    reduce_range: bool
    weights_symmetric: bool
    operators: list[str]
    # ORT's optimisation level saved into model.onnx at build time (export/fusion.py); None: built before.
    graph_optimization: Literal["extended"] | None = None


class Source(Record):
    path: str
    sha256: str | None  # None: a Hub data set, named by its id
    rows: int
    label_column: str | None = None
    label_map: str | None = None
    title_column: str | None = None


class Sources(Record):
    sources: list[Source]
    rows: int
    title_column: str | None = None


class Data(Record):
    """Where the train and dev rows came from (no train data: an as-is classifier)."""

    train: Source | Sources | None = None
    dev: Source | Sources
    extra_train: Source | Sources | None = None


class WindowCost(Record):
    """What one full window (`tokens` long, batch 1) cost the int8 model on the build machine, through the
    handler's own session options at one ORT thread (what Lambda gives up to 1,769 MB): the median CPU time
    of `runs` warm runs. The stack sizes memory and timeout by it (infra/settings.py), with a margin for
    Lambda's CPU; `cpu` and `instructions` say what it was measured on."""

    ms: Annotated[float, Field(gt=0)]
    tokens: Annotated[int, Field(strict=True, ge=1)]
    runs: Annotated[int, Field(strict=True, ge=1)]
    threads: Annotated[int, Field(strict=True, ge=1)]
    cpu: str
    machine: str  # platform.machine(): x86_64, arm64, aarch64
    # The build CPU's vector instructions that set int8 speed (avx2, avx512f, avx512_vnni, amx_int8...);
    # None: not readable on that system.
    instructions: list[str] | None


class Manifest(Record):
    """manifest.json. `files` lists each served file's sha256 and size: readers check sizes (hashing would
    cost cold start), `model_id` names the hashes."""

    name: str
    base_model: str
    fine_tuned: bool
    checkpoint: dict[str, FileEntry] | None = None  # older artifacts lack it
    task: str
    labels: Annotated[list[str], Field(min_length=1)]
    problem_type: ProblemType = SINGLE_LABEL
    threshold: Annotated[float, Field(strict=True, gt=0, lt=1)] | None = None
    max_length: Annotated[int, Field(strict=True, ge=2)]
    window_stride: Annotated[int, Field(strict=True, ge=0)]
    max_windows: Annotated[int, Field(strict=True, ge=1)]  # 0 would fail every request, not the cold start
    quantization: Quantization | None  # None: the fp32 export
    data: Data
    seed: int
    config: dict[str, Any]  # export's settings, as export/config.py writes them
    versions: dict[str, str]
    ngrams: Ngrams | None = None
    ngrams_skipped: str | None = None
    metrics: Metrics | None = None  # the int8 artifact's; the fp32 export is not gated
    window_cost: WindowCost | None = None  # the int8 artifact's; None: the fp32 export, or built before it
    files: dict[str, FileEntry]
    created: str

    @model_validator(mode="before")
    @classmethod
    def _not_an_aspect_tagger(cls, values: Any) -> Any:
        if isinstance(values, dict) and values.get("task") == TOKEN_CLASSIFICATION:
            raise ValueError(
                f"an aspect tagger's manifest (task {TOKEN_CLASSIFICATION}, made by make model-aspects), "
                "not a sentence classifier's: point MODEL_DIR at a sentence model (make model)"
            )
        return values

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        if unlisted := [name for name in SHIPPED_FILES if name not in self.files]:
            raise ValueError(f"files must list {', '.join(unlisted)}")
        if self.multi_label and self.threshold is None:
            raise ValueError("a multi-label model needs a threshold in (0, 1)")
        if self.ngrams is not None:
            if self.multi_label:
                raise ValueError("an n-gram model blends single-label answers; this model is multi-label")
            for key, name in (("file", self.ngrams.file), ("tables", self.ngrams.tables)):
                if name is not None and name not in self.files:  # else its size would go unchecked
                    raise ValueError(f"ngrams.{key} must name a file listed under files, got {name!r}")
        return self

    @property
    def multi_label(self) -> bool:
        """Each label's sigmoid against `threshold`, rather than a softmax over the labels."""
        return self.problem_type == MULTI_LABEL

    @property
    def decision_threshold(self) -> float:
        """The probability a label needs to be answered: the threshold, or 0.5 (single-label)."""
        return self.threshold if self.threshold is not None else 0.5

    @cached_property
    def model_id(self) -> str:
        """`name@sha12`: tells a caller exactly which weights answered (hashed once: every answer names it).

        The sha256 of model.onnx; with an n-gram model, the sha256 of both files' sha256s and the blend
        weight, so that a change to any of the three changes the id.
        """
        digest = self.files[MODEL_FILE].sha256
        if self.ngrams is not None:
            ngram_sha = self.files[self.ngrams.file].sha256
            digest = hashlib.sha256(f"{digest} {ngram_sha} {self.ngrams.weight!r}".encode()).hexdigest()
        return f"{self.name}@{digest[:12]}"
