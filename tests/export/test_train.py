"""Fine-tuning: frozen bottom layers, dropout, layer-wise learning rates, and picking the epoch (or the
weight average) on dev as the API scores it."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from export.data import Examples, load_examples
from export.errors import ConfigError
from export.train import (
    _FineTuner,
    freeze_bottom,
    native_bf16,
    plan_base,
    prepare_checkpoint,
    serving_windows,
    training_config,
    windowed_score,
)
from handler.inference import Classifier
from tests.conftest import DEV_FILE, TRAIN_FILE


def _train() -> Examples:
    return load_examples(str(TRAIN_FILE))


def _trainable(model) -> set[str]:
    return {name for name, parameter in model.named_parameters() if parameter.requires_grad}


def test_freeze_bottom_freezes_embeddings_and_the_first_layers(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base, freeze_layers=1)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, config=training_config(cfg, tiny_base, _train())
    )
    freeze_bottom(model, cfg.freeze_layers)
    trainable = _trainable(model)
    assert not any(".embeddings." in name or ".layer.0." in name for name in trainable)
    assert any(".layer.1." in name for name in trainable)
    assert {"classifier.weight", "classifier.bias"} <= trainable


def test_freezing_more_layers_than_the_model_has_is_a_config_error(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, config=training_config(cfg, tiny_base, _train())
    )
    with pytest.raises(ConfigError, match="2 transformer layers"):
        freeze_bottom(model, 3)


@pytest.mark.parametrize("option", ["max_length", "train_max_length"])
def test_lengths_beyond_the_base_models_position_embeddings_are_a_config_error(
    tiny_base, make_tiny_config, tmp_path, option
):
    cfg = make_tiny_config(tmp_path, tiny_base, **{option: 600})
    with pytest.raises(ConfigError, match=f"{option} is 600 but base model .* reads at most 512 tokens"):
        plan_base(cfg, str(tiny_base))
    plan_base(make_tiny_config(tmp_path, tiny_base, **{option: 512}), str(tiny_base))


def test_a_directory_that_holds_no_model_is_a_config_error(make_tiny_config, tmp_path):
    with pytest.raises(ConfigError, match="cannot be loaded from that directory") as caught:
        plan_base(make_tiny_config(tmp_path, tmp_path), str(tmp_path))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("setting", "expected"), [(-1.0, 0.1), (0.0, 0.0), (0.2, 0.2)])
@pytest.mark.parametrize(
    ("option", "key"),
    [("attention_dropout", "attention_probs_dropout_prob"), ("hidden_dropout", "hidden_dropout_prob")],
)
def test_dropouts_are_the_base_models_unless_set(
    tiny_base, make_tiny_config, tmp_path, option, key, setting, expected
):
    cfg = make_tiny_config(tmp_path, tiny_base, **{option: setting})
    assert getattr(training_config(cfg, tiny_base, _train()), key) == expected


def test_frozen_weights_leave_fine_tuning_unchanged(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base, freeze_layers=1, epochs=1.0)
    prepare_checkpoint(cfg, plan_base(cfg, str(tiny_base)), _train(), load_examples(str(DEV_FILE)))
    before = load_file(tiny_base / "model.safetensors")  # the bare encoder: no "bert." prefix
    after = load_file(cfg.checkpoint_dir / "model.safetensors")
    frozen = "encoder.layer.0.attention.self.query.weight"
    trained = "encoder.layer.1.attention.self.query.weight"
    assert torch.equal(before[frozen], after[f"bert.{frozen}"])
    assert torch.equal(
        before["embeddings.word_embeddings.weight"], after["bert.embeddings.word_embeddings.weight"]
    )
    assert not torch.equal(before[trained], after[f"bert.{trained}"])


def test_dev_is_split_into_the_windows_the_api_scores(tiny_build):
    cfg = tiny_build.config
    texts = [" ".join(["the blender is loud but it crushes ice in seconds"] * 12), "short", "fine " * 30]
    windows, owner = serving_windows(
        cfg, AutoTokenizer.from_pretrained(cfg.checkpoint_dir), Examples(texts, [1, 0, 1], "test")
    )
    served = Classifier.from_dir(cfg.output, threads=1).encode(texts)
    assert served.counts.tolist()[0] == cfg.max_windows  # the long text is cut at max_windows, like the API
    unpadded = [
        (text, feed["input_ids"][0].tolist()) for text, feed in zip(served.owner, served.feeds, strict=True)
    ]
    ours = list(zip(owner.tolist(), windows["input_ids"], strict=True))
    assert sorted(ours) == sorted(unpadded)
    assert [len(ids) for _, ids in ours] == sorted(len(ids) for _, ids in ours)  # little padding


def test_windowed_score_averages_each_texts_window_probabilities():
    # Text 0: a mildly negative first window, a strongly positive second one -> POSITIVE on average.
    logits = np.array([[0.5, 0.0], [0.0, 4.0], [2.0, 0.0]])
    owner = np.array([0, 0, 1])
    right, wrong = Examples(["a", "b"], [1, 0], "dev"), Examples(["a", "b"], [0, 0], "dev")
    assert windowed_score((logits, None), owner=owner, dev=right, threshold=0.5) == {"accuracy": 1.0}
    assert windowed_score((logits, None), owner=owner, dev=wrong, threshold=0.5) == {"accuracy": 0.5}


def test_windowed_score_of_multi_label_data_is_micro_f1_of_averaged_sigmoids():
    # Text 0's windows: label 0 at sigmoid(3) and sigmoid(-1) -> mean 0.61, over 0.5; label 1 never.
    logits = np.array([[3.0, -4.0], [-1.0, -4.0], [-3.0, 3.0]])
    owner = np.array([0, 0, 1])
    dev = Examples(["a", "b"], [(0,), (1,)], "dev", names=("joy", "anger"), multi_label=True)
    assert windowed_score((logits, None), owner=owner, dev=dev, threshold=0.5) == {"micro_f1": 1.0}
    assert windowed_score((logits, None), owner=owner, dev=dev, threshold=0.65) == {"micro_f1": 2 / 3}


@pytest.mark.parametrize(
    "trainer_class",
    [
        _FineTuner,
        pytest.param(Trainer, marks=pytest.mark.xfail(strict=True, reason="the stock Trainer shuffles eval")),
    ],
)
def test_evaluation_keeps_dev_windows_in_dataset_order(checkpoint, tmp_path, trainer_class):
    # group_by_length (used for training) would hand the Trainer's evaluation a length-shuffled order, and
    # windowed_score would then credit each prediction to the wrong text.
    from datasets import Dataset

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    texts = [f"{'great ' * n}kettle" for n in (3, 29, 11, 24, 7, 17, 1, 20)]  # lengths not in order
    args = TrainingArguments(
        output_dir=str(tmp_path), group_by_length=True, per_device_eval_batch_size=2, report_to=[]
    )
    trainer = trainer_class(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer))
    predicted = trainer.predict(Dataset.from_dict({**tokenizer(texts), "label": [0] * len(texts)}))
    with torch.no_grad():
        expected = torch.cat([model(**tokenizer([text], return_tensors="pt")).logits for text in texts])
    np.testing.assert_allclose(predicted.predictions, expected.numpy(), atol=1e-4)


def test_layer_lr_decay_slows_each_lower_layer_and_keeps_the_weight_decay_groups(checkpoint, tmp_path):
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)  # 2 transformer layers
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, weight_decay=0.01, report_to=[])
    trainer = _FineTuner(model=model, args=args, layer_lr_decay=0.5)
    groups = {
        id(parameter): (group["lr"], group["weight_decay"])
        for group in trainer.create_optimizer().param_groups
        for parameter in group["params"]
    }
    named = dict(model.named_parameters())
    assert len(groups) == len(named)
    query = "bert.encoder.layer.{}.attention.self.query.{}"
    assert groups[id(named["classifier.weight"])] == (1e-3, 0.01)
    assert groups[id(named[query.format(1, "weight")])] == (5e-4, 0.01)
    assert groups[id(named[query.format(1, "bias")])] == (5e-4, 0.0)
    assert groups[id(named[query.format(0, "weight")])] == (2.5e-4, 0.01)
    assert groups[id(named["bert.embeddings.word_embeddings.weight"])] == (1.25e-4, 0.01)


def test_without_layer_lr_decay_the_trainer_builds_its_own_optimizer(checkpoint, tmp_path):
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-3, report_to=[])
    assert {group["lr"] for group in _FineTuner(model=model, args=args).create_optimizer().param_groups} == {
        1e-3
    }


def test_training_options_reach_the_trainer(tiny_base, make_tiny_config, tmp_path, caplog):
    data = load_examples(str(TRAIN_FILE)), load_examples(str(DEV_FILE))
    layer = "encoder.layer.0.attention.self.query.weight"  # 2 layers below the head
    start = load_file(tiny_base / "model.safetensors")[layer]
    moved = {}
    for decay in (1.0, 0.01):
        cfg = make_tiny_config(
            tmp_path / str(decay),
            tiny_base,
            epochs=5.0,
            layer_lr_decay=decay,
            average_weights=1.0,
            label_smoothing=0.1,  # only has to run: it is the Trainer's own label_smoothing_factor
        )
        with caplog.at_level(logging.INFO, logger="export.averaging"):
            prepare_checkpoint(cfg, plan_base(cfg, str(tiny_base)), *data)
        moved[decay] = (
            (load_file(cfg.checkpoint_dir / "model.safetensors")[f"bert.{layer}"] - start).abs().max()
        )
    assert moved[0.01] < 0.01 * moved[1.0]  # its learning rate is 1e-4 times the head's
    assert caplog.text.count("2 averaged checkpoints") == 2  # 20 steps: steps 10 and 20 averaged


@pytest.mark.parametrize("dtype", ["bf16", "fp32"])
def test_training_runs_in_the_arithmetic_asked_for_on_any_device(
    dtype, tiny_base, make_tiny_config, tmp_path, caplog
):
    """bf16 autocast must run on a CPU too (transformers refuses bf16 without a GPU unless told use_cpu)."""
    cfg = make_tiny_config(tmp_path, tiny_base, epochs=1.0, train_dtype=dtype)
    with caplog.at_level(logging.INFO, logger="export.train"):
        prepare_checkpoint(cfg, plan_base(cfg, str(tiny_base)), _train(), _train())
    assert (cfg.checkpoint_dir / "model.safetensors").is_file()
    assert ("bfloat16 autocast" if dtype == "bf16" else "training arithmetic: fp32") in caplog.text


def test_the_manifest_records_the_arithmetic_the_build_trained_in(tiny_build):
    """'auto' is resolved, so the recorded settings rebuild the same arithmetic on another machine."""
    assert tiny_build.config.train_dtype == "auto"
    assert tiny_build.manifest["config"]["train_dtype"] == ("bf16" if native_bf16() else "fp32")


def test_class_balance_weighs_a_rarer_class_up():
    from types import SimpleNamespace

    from export.train import balanced_loss

    train = Examples(["a"] * 5, [0, 0, 1, 2, 2], "train", names=("neg", "neu", "pos"))
    assert balanced_loss(train, 0.0, 0.0) is None  # the model's own loss
    loss = balanced_loss(train, 1.0, 0.0)
    outputs = SimpleNamespace(logits=torch.zeros(1, 3))  # the same uniform guess for any gold class
    rare, common = loss(outputs, torch.tensor([1])), loss(outputs, torch.tensor([0]))
    assert float(rare / common) == pytest.approx(2.0)  # neutral has half the rows of negative
    half = balanced_loss(train, 0.5, 0.0)
    assert float(half(outputs, torch.tensor([1])) / half(outputs, torch.tensor([0]))) == pytest.approx(2**0.5)
    multi = Examples(["a"], [(0,)], "train", names=("x",), multi_label=True)
    assert balanced_loss(multi, 1.0, 0.0) is None


def test_class_balance_is_a_fraction():
    from export.config import ExportConfig

    with pytest.raises(ConfigError, match="'class_balance': Input should be less than or equal to 1"):
        ExportConfig(class_balance=1.5)
