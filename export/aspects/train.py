"""Fine-tuning a token classifier on aspect tags, or taking a Hub token classifier whose labels are aspect
tags as it is. The Trainer, the base loading and the layer-wise learning rates are the sentence model's
(export/train.py); what differs is the head, the per-token labels (export/aspects/tagging.py) and the
score that picks the epoch: validation pair F1, decoded by the serving code."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    EvalPrediction,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    set_seed,
)

from export.artifacts import staged
from export.aspects.config import AspectConfig
from export.aspects.data import Sentence
from export.aspects.score import aspect_scores
from export.aspects.tagging import IGNORED, TAGS, token_labels
from export.errors import ConfigError
from export.train import (
    DROPOUT_KEYS,
    _FineTuner,
    freeze_bottom,
    load_base,
    resolve_base_model,
    training_arguments,
    usable_positions,
    uses_bf16,
)
from handler.aspect_spans import decode, words_of
from handler.aspect_tags import TagScheme, TagSchemeError, read_scheme
from handler.probabilities import softmax

log = logging.getLogger(__name__)
METRIC = "pair_f1"


@dataclass(frozen=True)
class AspectPlan:
    """The base, whether it is fine-tuned, and the labels the artifact will have."""

    path: str
    fine_tune: bool
    labels: tuple[str, ...]


def plan_base(cfg: AspectConfig) -> AspectPlan:
    """Decide, before any data is read, whether the base is trained or exported as it is.

    Raises:
        ConfigError: the base cannot be loaded, or a length past what it reads.
        TagSchemeError: an as-is export (or a token classifier under `auto`) whose labels are no aspect tags.
    """
    path = resolve_base_model(cfg.base_model)
    config = load_base(AutoConfig, path)
    limit = usable_positions(config, load_base(AutoTokenizer, path))
    if limit is not None and max(cfg.max_length, cfg.train_max_length) > limit:
        raise ConfigError(f"max_length {cfg.max_length} is past the {limit} tokens {cfg.base_model!r} reads")
    tagger = any(
        name.endswith("ForTokenClassification") for name in getattr(config, "architectures", []) or []
    )
    if cfg.fine_tune == "yes" or (cfg.fine_tune == "auto" and not tagger):
        return AspectPlan(path, True, TAGS)
    labels = tuple(str(config.id2label[key]) for key in sorted(config.id2label, key=int))
    try:
        read_scheme(labels)
    except TagSchemeError as exc:
        hint = " (FINE_TUNE=yes trains a new aspect head on it)" if cfg.fine_tune == "auto" else ""
        raise TagSchemeError(f"{cfg.base_model}: {exc}{hint}") from None
    return AspectPlan(path, False, labels)


def encode(tokenizer: PreTrainedTokenizerBase, sentences: Sequence[Sentence], max_length: int) -> Any:
    """The sentences tokenized (truncated to `max_length`) with their per-token tag labels."""
    encoded = tokenizer([s.text for s in sentences], truncation=True, max_length=max_length)
    encoded["labels"] = [
        token_labels(sentence, encoding.offsets, encoding.word_ids)
        for sentence, encoding in zip(sentences, encoded.encodings, strict=True)
    ]
    return encoded


def validation_scores(
    prediction: EvalPrediction, encodings: Sequence[Any], sentences: Sequence[Sentence], scheme: TagScheme
) -> dict[str, float]:
    """Pair and extraction F1 of the Trainer's logits, decoded into spans by the serving code."""
    logits = np.asarray(prediction.predictions)
    answers = [
        decode(sentence.text, words_of([encoding], [softmax(logits[i, : len(encoding.ids)])]), scheme)
        for i, (encoding, sentence) in enumerate(zip(encodings, sentences, strict=True))
    ]
    found = aspect_scores(sentences, answers)
    return {METRIC: found["pair"]["f1"], "extraction_f1": found["extraction"]["f1"]}


def tag_loss(labels: Sequence[Sequence[int]], power: float, smoothing: float) -> Callable[..., torch.Tensor]:
    """Cross-entropy over the tagged tokens, each tag weighted by (mean tag count / its count) ** power:
    with power > 0 the rare B- and I- tags weigh more against the O of most words."""
    counts = torch.bincount(
        torch.tensor([k for row in labels for k in row if k != IGNORED]), minlength=len(TAGS)
    ).float()
    weights = (counts.clamp(min=1).mean() / counts.clamp(min=1)) ** power
    log.info("tag counts %s, loss weights %s", counts.int().tolist(), weights.round(decimals=2).tolist())

    def loss(outputs: Any, target: torch.Tensor, num_items_in_batch: Any = None) -> torch.Tensor:
        logits = outputs.logits
        return torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            target.reshape(-1),
            weight=weights.to(logits.device),
            ignore_index=IGNORED,
            label_smoothing=smoothing,
        )

    return loss


def fine_tune(
    cfg: AspectConfig,
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train: Sequence[Sentence],
    validation: Sequence[Sentence],
) -> tuple[PreTrainedModel, float]:
    """Train; keep the epoch whose validation pair F1 is best. Returns the model and that F1."""
    from datasets import Dataset

    rows = encode(tokenizer, train, cfg.train_max_length)
    held = encode(tokenizer, validation, cfg.train_max_length)
    columns = [name for name in rows if name in ("input_ids", "attention_mask", "token_type_ids", "labels")]
    bf16 = uses_bf16("auto")
    cfg.checkpoint_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".trainer-", dir=cfg.checkpoint_dir.parent) as work:
        args = training_arguments(cfg, work, candidates="epoch", metric=METRIC, bf16=bf16, logging_steps=50)
        trainer = _FineTuner(
            model=model,
            args=args,
            train_dataset=Dataset.from_dict({name: rows[name] for name in columns}),
            eval_dataset=Dataset.from_dict({name: held[name] for name in columns}),
            data_collator=DataCollatorForTokenClassification(tokenizer),
            compute_metrics=partial(
                validation_scores, encodings=held.encodings, sentences=validation, scheme=read_scheme(TAGS)
            ),
            compute_loss_func=tag_loss(rows["labels"], cfg.class_balance, cfg.label_smoothing),
            layer_lr_decay=cfg.layer_lr_decay,
        )
        trainer.train()
        best = trainer.state.best_metric
        return trainer.classifier, float(best) if best is not None else float("nan")


def prepare_checkpoint(
    cfg: AspectConfig, plan: AspectPlan, train: Sequence[Sentence], validation: Sequence[Sentence]
) -> float | None:
    """Write the PyTorch checkpoint to `cfg.checkpoint_dir`; return the validation pair F1 that chose its
    epoch (None: an as-is export, nothing chosen)."""
    set_seed(cfg.seed)
    tokenizer = load_base(AutoTokenizer, plan.path)
    chosen = None
    if not plan.fine_tune:
        log.info("%s already is an aspect tagger %s: exported as it is", plan.path, list(plan.labels))
        model = load_base(AutoModelForTokenClassification, plan.path)
    else:
        config = load_base(AutoConfig, plan.path)
        model = load_base(
            AutoModelForTokenClassification,
            plan.path,
            num_labels=len(TAGS),
            id2label=dict(enumerate(TAGS)),
            label2id={tag: i for i, tag in enumerate(TAGS)},
            ignore_mismatched_sizes=True,
            **{
                key: cfg.attention_dropout
                for key in DROPOUT_KEYS["attention_dropout"]
                if hasattr(config, key)
            },
        )
        freeze_bottom(model, cfg.freeze_layers)
        model, chosen = fine_tune(cfg, model, tokenizer, train, validation)
    with staged(cfg.checkpoint_dir) as staging:
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
    return chosen
