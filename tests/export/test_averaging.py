"""Tail weight averaging: which steps are averaged, and when the average replaces the last weights."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    TrainerState,
    TrainingArguments,
)

from export.averaging import TailAverage, keep_better
from export.data import load_examples
from export.train import _FineTuner, windowed_score
from tests.conftest import DEV_FILE


def test_the_mean_covers_every_nth_step_of_the_last_fraction_and_only_trained_weights():
    model = torch.nn.Linear(2, 1)
    model.bias.requires_grad_(False)
    average, state = TailAverage(fraction=0.7, every=10), TrainerState(max_steps=100)
    for step in range(1, 101):
        state.global_step = step
        model.weight.data.fill_(step)
        average.on_step_end(None, state, None, model=model)
    assert average.samples == 8  # steps 30, 40, ..., 100 ((1 - 0.7) * 100 is 30.000000000000004 in floats)
    assert average.mean.keys() == {"weight"}
    previous = average.swap_into(model)
    assert torch.all(model.weight == 65.0)
    assert torch.all(previous["weight"] == 100.0)


@pytest.mark.parametrize(("last", "average_kept"), [(0.0, True), (1.01, False)])
def test_the_average_replaces_the_last_weights_only_when_it_scores_at_least_as_well(
    checkpoint, tmp_path, last, average_kept
):
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    dev = load_examples(str(DEV_FILE))
    trainer = _FineTuner(
        model=model,
        args=TrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True),
        eval_dataset=load_dev(tokenizer, dev),
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=partial(windowed_score, owner=np.arange(len(dev)), dev=dev, threshold=0.5),
    )
    epoch = {name: p.detach().clone() for name, p in model.named_parameters()}
    average = TailAverage(fraction=1.0)
    average.mean, average.samples = {"classifier.bias": epoch["classifier.bias"] + 1.0}, 1
    keep_better(trainer, average, last=last)  # 0: any average is as good; above 1: none can be
    expected = average.mean["classifier.bias"] if average_kept else epoch["classifier.bias"]
    assert torch.equal(trainer.model.classifier.bias, expected)
    assert torch.equal(trainer.model.classifier.weight, epoch["classifier.weight"])


def load_dev(tokenizer, dev):
    from datasets import Dataset

    return Dataset.from_dict({**tokenizer(dev.texts, truncation=True), "label": dev.labels})
