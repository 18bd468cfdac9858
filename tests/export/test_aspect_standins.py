"""Hub ABSA token classifiers exported as they are, one stand-in per tag scheme in common use (tiny random
BERT / DistilBERT / RoBERTa token classifiers built here, tests/export/standins.py's recipe with a token
head): labels read from their config, exported, gated, served as spans, and the served answer equal to
PyTorch's decoded by the same code. A scheme the decoder cannot read is refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import standins
from standins import StandIn
from test_aspect_build import aspect_rows, tiny_aspect_config

from export.aspects.parity import torch_tag_logits
from export.aspects.pipeline import build
from export.aspects.train import plan_base
from handler.aspect_spans import Aspect, decode, words_of
from handler.aspect_tags import TagSchemeError, read_scheme
from handler.aspects import AspectTagger
from handler.probabilities import softmax

BIOES = ("O", *(f"{role}-{s}" for s in ("POS", "NEG", "NEU") for role in "BIES"))
STAND_INS = (
    StandIn(
        "bert-unified",
        "a unified BIO tagger, as this project's own",
        "bert",
        ("O", "B-POS", "I-POS", "B-NEG", "I-NEG", "B-NEU", "I-NEU"),
    ),
    StandIn(
        "roberta-lower-conflict",
        "gauneg/roberta-base-absa-ate-sentiment",
        "roberta",
        ("O", "B-neu", "I-neu", "B-neg", "B-con", "I-pos", "B-pos", "I-con", "I-neg"),
    ),
    StandIn("bert-ot", "BERT-E2E-ABSA's OT scheme", "bert", ("O", "T-POS", "T-NEG", "T-NEU")),
    StandIn("distilbert-bioes", "BERT-E2E-ABSA's BIEOS scheme", "distilbert", BIOES),
    StandIn("bert-extraction", "an aspect-term extractor", "bert", ("O", "B-ASP", "I-ASP")),
)
NER = StandIn("bert-ner", "dslim/bert-base-NER", "bert", ("O", "B-PER", "I-PER", "B-LOC", "I-LOC"))
TEXTS = [row["text"] for row in aspect_rows()[:12]] + ["Great 😀 screen, but the bátterý (e\u0301) died."]


def token_classifier(spec: StandIn, directory: Path) -> Path:
    """The stand-in's encoder and tokenizer (standins.build) under a random token-classification head of
    its labels, with wide weights: its tags vary from word to word, so that spans are answered."""
    import torch
    from transformers import AutoModelForTokenClassification

    standins.build(spec, directory, head=False)
    model = AutoModelForTokenClassification.from_pretrained(directory)
    torch.manual_seed(1)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 1.0)
    model.save_pretrained(directory, safe_serialization=True)
    return directory


def spans(aspect: Aspect) -> tuple:
    return aspect.text, aspect.start, aspect.end, aspect.sentiment


@pytest.mark.parametrize("spec", STAND_INS, ids=lambda spec: spec.name)
def test_a_hub_aspect_tagger_is_exported_as_it_is_and_served_as_pytorch_reads_it(spec, tmp_path, tiny_base):
    base = token_classifier(spec, tmp_path / "base")
    config = tiny_aspect_config(tmp_path, tiny_base, base_model=str(base), fine_tune="auto")
    manifest = build(config)
    scheme = read_scheme(spec.labels)
    assert not manifest.fine_tuned
    assert manifest.labels == list(spec.labels)
    assert manifest.tag_scheme == scheme.name
    assert manifest.data.train is None  # nothing trained: dev data only
    assert manifest.metrics is not None
    assert manifest.metrics.parity.fp32_vs_torch.max_abs_diff <= config.parity_atol

    fp32 = AspectTagger.from_dir(config.fp32_dir)
    int8 = AspectTagger.from_dir(config.output)
    reference = torch_tag_logits(config.checkpoint_dir, TEXTS, config.max_length)
    answered = 0
    for text, logits in zip(TEXTS, reference, strict=True):
        windows, _ = fp32.windows(text)
        expected = decode(text, words_of(windows[:1], [softmax(logits)]), scheme)
        if len(windows) == 1:  # one window: PyTorch read what the tagger reads
            served_fp32 = fp32.tag([text])[0].aspects
            assert [spans(a) for a in served_fp32] == [spans(a) for a in expected]
            assert [a.score for a in served_fp32] == pytest.approx([a.score for a in expected], abs=1e-5)
        served = int8.tag([text])[0].aspects
        answered += len(served)
        for found in served:
            assert text[found.start : found.end] == found.text
            assert found.sentiment in (scheme.sentiments or (None,))
        gap = np.abs(int8.probabilities(windows[0]) - softmax(logits)).max()
        assert gap < 0.2  # int8 against PyTorch, probabilities of one window
    assert answered > 0  # the stand-in answers spans: the checks above were not vacuous


def test_a_token_classifier_of_other_tags_is_refused_in_one_line_naming_them(tmp_path, tiny_base):
    base = token_classifier(NER, tmp_path / "ner")
    config = tiny_aspect_config(tmp_path, tiny_base, base_model=str(base))
    with pytest.raises(TagSchemeError) as refused:
        plan_base(config)
    message = str(refused.value)
    assert "\n" not in message
    assert str(list(NER.labels)) in message
    assert "FINE_TUNE=yes" in message  # what to do instead: train an aspect head on it
