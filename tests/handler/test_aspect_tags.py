"""Aspect tag schemes read from label names: the Hub's common schemes map to (role, sentiment); anything else
is refused in one line naming the labels."""

from __future__ import annotations

import pytest

from handler.aspect_tags import Tag, TagSchemeError, read_scheme

UNIFIED = ("O", "B-NEG", "I-NEG", "B-NEU", "I-NEU", "B-POS", "I-POS")
# gauneg/roberta-base-absa-ate-sentiment's labels, in its id order: lower case, with conflict
LOWER_WITH_CONFLICT = ("O", "B-neu", "I-neu", "B-neg", "B-con", "I-pos", "B-pos", "I-con", "I-neg")
BIOES = ("O", *(f"{role}-{s}" for s in ("POS", "NEG", "NEU") for role in "BIES"))
OT = ("O", "T-POS", "T-NEG", "T-NEU")  # BERT-E2E-ABSA's "OT" scheme
EXTRACTION = ("O", "B-ASP", "I-ASP")
BARE = ("O", "B", "I")
LONG_NAMES = ("O", "B-positive", "I-positive", "B-Negative", "I-Negative", "b_neutral", "i_neutral")


@pytest.mark.parametrize(
    ("labels", "name", "sentiments"),
    [
        (UNIFIED, "unified BIO (negative, neutral, positive)", ("negative", "neutral", "positive")),
        (LOWER_WITH_CONFLICT, "unified BIO (conflict, negative, neutral, positive)", None),
        (BIOES, "unified BIOES (negative, neutral, positive)", ("positive", "negative", "neutral")),
        (OT, "unified OT (negative, neutral, positive)", ("positive", "negative", "neutral")),
        (EXTRACTION, "extraction BIO", ()),
        (BARE, "extraction BIO", ()),
        (LONG_NAMES, "unified BIO (negative, neutral, positive)", ("positive", "negative", "neutral")),
    ],
)
def test_schemes_in_common_use_are_read(labels, name, sentiments):
    scheme = read_scheme(labels)
    assert scheme.name == name
    assert len(scheme.tags) == len(labels)
    if sentiments is not None:
        assert scheme.sentiments == sentiments


def test_each_tag_says_its_role_and_sentiment():
    tags = dict(zip(LOWER_WITH_CONFLICT, read_scheme(LOWER_WITH_CONFLICT).tags, strict=True))
    assert tags["O"] == Tag("outside", None)
    assert tags["B-neu"] == Tag("begin", "neutral")
    assert tags["I-con"] == Tag("inside", "conflict")
    bioes = dict(zip(BIOES, read_scheme(BIOES).tags, strict=True))
    assert bioes["E-POS"] == Tag("end", "positive")
    assert bioes["S-NEG"] == Tag("single", "negative")
    assert read_scheme(OT).tags[1] == Tag("term", "positive")  # T continues a term, or starts one after O
    assert read_scheme(EXTRACTION).tags[1] == Tag("begin", None)


@pytest.mark.parametrize(
    ("labels", "problem"),
    [
        (("LABEL_0", "LABEL_1", "LABEL_2"), "'LABEL_0', 'LABEL_1', 'LABEL_2' are not aspect tags"),
        (("O", "B-PER", "I-PER", "B-LOC"), "'B-PER', 'I-PER', 'B-LOC' are not aspect tags"),
        (("B-POS", "I-POS"), "there is no outside tag O"),
        (("O",), "there is no span tag"),
        (("O", "B-ASP", "I-ASP", "B-POS"), "tags with a sentiment and tags without one are mixed"),
        (("negative", "neutral", "positive"), "are not aspect tags"),
    ],
)
def test_other_label_sets_are_refused_in_one_line_naming_them(labels, problem):
    with pytest.raises(TagSchemeError) as refused:
        read_scheme(labels)
    message = str(refused.value)
    assert "\n" not in message
    assert problem in message
    assert str(list(labels)) in message


def test_the_sentence_models_reader_says_an_aspect_artifact_is_one(tmp_path):
    """MODEL_DIR pointed at build/aspects: the sentence model's reader names what it found, in one line."""
    import json

    from handler.artifact import read_manifest
    from handler.errors import ArtifactError

    for name in ("model.onnx", "tokenizer.json", "config.json"):
        (tmp_path / name).write_bytes(b"")
    manifest = {"task": "token-classification", "labels": list(UNIFIED)}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError) as refused:
        read_manifest(tmp_path)
    assert "aspect tagger's manifest" in str(refused.value)
    assert "\n" not in str(refused.value)
