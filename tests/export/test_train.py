"""Fine-tuning options that trade compute for accuracy: frozen bottom layers and attention dropout."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from export.data import load_examples
from export.errors import ConfigError
from export.train import freeze_bottom, prepare_checkpoint, training_config
from tests.conftest import DEV_FILE, TRAIN_FILE


def _trainable(model) -> set[str]:
    return {name for name, parameter in model.named_parameters() if parameter.requires_grad}


def test_freeze_bottom_freezes_embeddings_and_the_first_layers(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base, freeze_layers=1)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, config=training_config(cfg, tiny_base)
    )
    freeze_bottom(model, cfg.freeze_layers)
    trainable = _trainable(model)
    assert not any(".embeddings." in name or ".layer.0." in name for name in trainable)
    assert any(".layer.1." in name for name in trainable)
    assert {"classifier.weight", "classifier.bias"} <= trainable


def test_freezing_more_layers_than_the_model_has_is_a_config_error(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, config=training_config(cfg, tiny_base)
    )
    with pytest.raises(ConfigError, match="2 transformer layers"):
        freeze_bottom(model, 3)


@pytest.mark.parametrize(("setting", "expected"), [(-1.0, 0.1), (0.0, 0.0), (0.2, 0.2)])
def test_attention_dropout_is_the_base_models_unless_set(
    tiny_base, make_tiny_config, tmp_path, setting, expected
):
    cfg = make_tiny_config(tmp_path, tiny_base, attention_dropout=setting)
    assert training_config(cfg, tiny_base).attention_probs_dropout_prob == expected


def test_frozen_weights_leave_fine_tuning_unchanged(tiny_base, make_tiny_config, tmp_path):
    cfg = make_tiny_config(tmp_path, tiny_base, freeze_layers=1, epochs=1.0)
    assert prepare_checkpoint(
        cfg, str(tiny_base), load_examples(str(TRAIN_FILE)), load_examples(str(DEV_FILE))
    )
    before = load_file(tiny_base / "model.safetensors")
    after = load_file(cfg.checkpoint_dir / "model.safetensors")
    frozen = "bert.encoder.layer.0.attention.self.query.weight"
    trained = "bert.encoder.layer.1.attention.self.query.weight"
    assert torch.equal(before[frozen], after[frozen])
    assert torch.equal(
        before["bert.embeddings.word_embeddings.weight"], after["bert.embeddings.word_embeddings.weight"]
    )
    assert not torch.equal(before[trained], after[trained])
