"""Tail weight averaging (SWA-style): the mean of the weights the last part of fine-tuning passed through.

Late in training, with the learning rate decaying, the weights wander around one minimum; their mean sits
nearer its centre than any single checkpoint, which tends to generalise better (Izmailov et al., 2018,
"Averaging Weights Leads to Wider Optima"). Whether it does here is decided on dev, against the last
weights, as SWA compares them.
"""

from __future__ import annotations

import logging

import torch
from transformers import (
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
)

log = logging.getLogger(__name__)


class TailAverage(TrainerCallback):
    """A running mean of the trainable weights, sampled every `every` steps once a `fraction` of the
    training steps is left."""

    def __init__(self, fraction: float, every: int = 10) -> None:
        self.fraction, self.every = fraction, every
        self.mean: dict[str, torch.Tensor] = {}
        self.samples = 0

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        first = state.max_steps - round(self.fraction * state.max_steps)
        if state.global_step < first or state.global_step % self.every:
            return
        self.samples += 1
        with torch.no_grad():
            for name, parameter in kwargs["model"].named_parameters():
                if parameter.requires_grad:
                    mean = self.mean.setdefault(name, torch.zeros_like(parameter))
                    mean += (parameter.detach() - mean) / self.samples

    def swap_into(self, model: torch.nn.Module) -> dict[str, torch.Tensor]:
        """Put the averaged weights into `model`; return the weights they replaced."""
        parameters = dict(model.named_parameters())
        previous = {name: parameters[name].detach().clone() for name in self.mean}
        model.load_state_dict(self.mean, strict=False)
        return previous


def keep_better(
    trainer: Trainer, average: TailAverage, metric: str = "accuracy", last: float | None = None
) -> None:
    """Score the averaged weights on dev as the epochs are scored (on `metric`), and keep them if they do
    at least as well as the weights in `trainer.model`, the last ones, whose score is `last` (scored here
    when not given)."""
    if not average.samples:
        log.warning("no weights averaged (training too short): keeping the last weights")
        return
    model = trainer.model
    if model is None:  # a Trainer that evaluated holds a model: the Trainer's type allows None
        raise ValueError("the Trainer holds no model to average into")
    if last is None:
        last = trainer.evaluate()[f"eval_{metric}"]
    previous = average.swap_into(model)
    averaged = trainer.evaluate(metric_key_prefix="averaged")[f"averaged_{metric}"]
    keep = averaged >= last
    log.info(
        "dev %s: %d averaged checkpoints %.4f, last weights %.4f: keeping the %s",
        metric,
        average.samples,
        averaged,
        last,
        "average" if keep else "last weights",
    )
    if not keep:
        model.load_state_dict(previous, strict=False)
