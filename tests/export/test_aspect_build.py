"""The aspect build end to end on a tiny random BERT: artifact and manifest, parity, int8 ops, the splits and
what chose what, the serving tagger's answers, `make eval`'s scores equal to the build's, the model card,
and the one-line refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from standins import write_jsonl
from tokenizers import Tokenizer

from export.artifacts import sha256
from export.aspects.config import AspectConfig
from export.aspects.evaluate import evaluate_aspects, table
from export.aspects.parity import onnx_tag_logits, torch_tag_logits
from export.aspects.pipeline import build
from export.aspects.tagging import TAGS
from export.errors import ConfigError, DataError
from export.quantize import integer_ops
from handler.aspect_spans import words_of
from handler.aspects import AspectTagger, is_aspect_artifact, read_aspect_manifest
from handler.errors import ArtifactError
from handler.probabilities import softmax

ROOT = Path(__file__).resolve().parents[2]
TERMS = ("battery", "screen", "keyboard", "battery life", "touch pad", "customer service", "price")
WORDS = {
    "positive": ("great", "excellent"),
    "negative": ("terrible", "awful"),
    "neutral": ("average", "okay"),
}


def aspect_rows() -> list[dict]:
    """Sentences with one or two aspects of each sentiment, sentences with none, an implicit aspect, a
    conflict one, and a review long enough for several windows."""
    rows = []
    for i, term in enumerate(TERMS):
        for sentiment, words in WORDS.items():
            text = f"The {term} is {words[i % 2]}."
            rows.append({"text": text, "aspects": [aspect(text, term, sentiment)]})
        other = TERMS[(i + 1) % len(TERMS)]
        text = f"Great {term}, but the {other} died."
        rows.append(
            {"text": text, "aspects": [aspect(text, term, "positive"), aspect(text, other, "negative")]}
        )
        rows.append({"text": f"I bought it in week {i}.", "aspects": []})
    rows.append(
        {
            "text": "too heavy to carry .",
            "aspects": [{"term": None, "start": None, "end": None, "polarity": "negative"}],
        }
    )
    text = "The screen is both brilliant and awful."
    rows.append({"text": text, "aspects": [aspect(text, "screen", "conflict")]})
    long = " ".join(row["text"] for row in rows[:12])
    rows.append({"text": long, "aspects": [aspect(long, "battery", "positive")]})
    return rows


def aspect(text: str, term: str, polarity: str) -> dict:
    start = text.index(term)
    return {"term": term, "start": start, "end": start + len(term), "polarity": polarity}


def tiny_aspect_config(root: Path, base: Path, **overrides) -> AspectConfig:
    rows = aspect_rows()
    train = write_jsonl(root / "train.jsonl", rows)
    dev = write_jsonl(root / "dev.jsonl", rows[::3])
    settings = {
        "base_model": str(base),
        "train_data": str(train),
        "dev_split_from": str(train),
        "dev_data": str(dev),
        "dev_fraction": 0.2,
        "validation_fraction": 0.2,
        "output": root / "aspects",
        "checkpoint_dir": root / "aspects-checkpoint",
        "fp32_dir": root / "aspects-onnx-fp32",
        "name": "tiny-aspects",
        "freeze_layers": 0,
        "max_length": 24,
        "window_stride": 6,
        "max_windows": 4,
        "train_max_length": 32,
        "epochs": 2.0,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "parity_samples": 8,
        "max_f1_drop": 100.0,  # a random tiny model: the gate's arithmetic is tests/export/test_gate.py's
    }
    return AspectConfig(**(settings | overrides))


@pytest.fixture(scope="module")
def tiny_aspects(tmp_path_factory, tiny_base):
    config = tiny_aspect_config(tmp_path_factory.mktemp("tiny-aspects"), tiny_base)
    return config, build(config)


def test_artifact_holds_the_contract_files_each_hashed_in_the_manifest(tiny_aspects):
    config, manifest = tiny_aspects
    names = sorted(p.name for p in config.output.iterdir())
    assert names == ["README.md", "config.json", "manifest.json", "model.onnx", "tokenizer.json"]
    written = json.loads((config.output / "manifest.json").read_text())
    assert sorted(written["files"]) == ["config.json", "model.onnx", "tokenizer.json"]
    for name, entry in written["files"].items():
        assert entry["sha256"] == sha256(config.output / name)
    assert written["task"] == "token-classification"
    assert written["labels"] == list(TAGS)
    assert written["tag_scheme"] == "unified BIO (negative, neutral, positive)"
    assert read_aspect_manifest(config.output) == manifest
    assert is_aspect_artifact(config.output)
    assert not is_aspect_artifact(config.fp32_dir.parent)


def test_the_manifest_says_which_split_chose_what(tiny_aspects):
    config, manifest = tiny_aspects
    data = manifest.data
    assert data.train is not None
    assert data.validation is not None
    assert "chose" in data.validation.purpose
    assert "gate" in data.dev.purpose
    carved, whole = data.dev.splits
    assert carved.carved == f"20% of train.jsonl stratified by sentiment, seed {config.seed}"
    assert whole.carved is None
    assert whole.path.endswith("dev.jsonl")
    (train,) = data.train.splits
    assert train.carved.startswith("dev (20% of train.jsonl")
    assert "validation (" in train.carved
    sentences = len(aspect_rows())
    assert train.sentences + data.validation.splits[0].sentences + carved.sentences == sentences


def test_fp32_matches_pytorch_and_int8_is_integer(tiny_aspects):
    config, manifest = tiny_aspects
    assert manifest.metrics is not None
    fp32 = manifest.metrics.parity.fp32_vs_torch
    assert fp32.max_abs_diff <= config.parity_atol
    assert fp32.samples == config.parity_samples
    assert integer_ops(config.output / "model.onnx")
    assert manifest.quantization is not None
    assert manifest.quantization.graph_optimization == "extended"


def test_served_tag_probabilities_are_pytorchs(tiny_aspects):
    """The tagger's windows, run by the handler's code on the fp32 export, give PyTorch's probabilities."""
    config, _ = tiny_aspects
    texts = [row["text"] for row in aspect_rows()[:10]]
    tagger = AspectTagger.from_dir(config.fp32_dir)
    reference = torch_tag_logits(config.checkpoint_dir, texts, config.max_length)
    for text, logits in zip(texts, reference, strict=True):
        windows, _ = tagger.windows(text)
        assert len(windows) == 1
        np.testing.assert_allclose(tagger.probabilities(windows[0]), softmax(logits), atol=1e-5)
    onnx = onnx_tag_logits(config.fp32_dir / "model.onnx", config.checkpoint_dir, texts, config.max_length)
    assert max(np.abs(a - b).max() for a, b in zip(onnx, reference, strict=True)) < 1e-4


def test_answers_index_the_text_and_long_reviews_are_read_in_windows(tiny_aspects):
    config, _ = tiny_aspects
    tagger = AspectTagger.from_dir(config.output)
    long = aspect_rows()[-1]["text"]
    texts = ["Great 😀 screen, but the bátterý died.", long, ""]
    tagged = tagger.tag(texts)
    assert tagged[1].windows > 1
    assert tagged[2].aspects == []
    for text, found in zip(texts, tagged, strict=True):
        starts = [a.start for a in found.aspects]
        assert starts == sorted(starts)
        assert len(set(starts)) == len(starts)
        for a in found.aspects:
            assert text[a.start : a.end] == a.text
            assert a.sentiment in ("negative", "neutral", "positive")
            assert 0 <= a.score <= 1
    # The windows' words are the text's words, each once, whatever the overlap.
    windows, _ = tagger.windows(long)
    words = words_of(windows, [tagger.probabilities(w) for w in windows])
    whole = Tokenizer.from_str(tagger.tokenizer.to_str())
    whole.no_truncation()
    encoding = whole.encode(long)
    firsts: dict[int, int] = {}
    for (start, _), word in zip(encoding.offsets, encoding.word_ids, strict=True):
        if word is not None:
            firsts.setdefault(word, start)
    assert [w.start for w in words] == sorted(firsts.values())


def test_make_eval_scores_what_the_build_recorded(tiny_aspects):
    """`make eval MODEL_DIR=...` re-carves the same dev split and scores it with the same serving code."""
    config, manifest = tiny_aspects
    scores = evaluate_aspects(config.output)
    assert manifest.metrics is not None
    assert scores == {name: s.model_dump() for name, s in manifest.metrics.int8.items()}
    assert set(scores) == {"train (dev split)", "dev", "all"}
    assert scores["all"]["implicit_dropped"] + scores["all"]["conflict_dropped"] <= 2
    printed = table(scores)
    assert printed.splitlines()[0].startswith("| data | sentences | pair F1")
    assert "| all |" in printed


def test_the_model_card_is_a_token_classification_card_with_dev_scores(tiny_aspects):
    config, manifest = tiny_aspects
    card = (config.output / "README.md").read_text()
    assert "pipeline_tag: token-classification" in card
    assert "model-index" in card
    assert "Aspect-sentiment pair F1" in card
    assert "Implicit aspects" in card
    assert manifest.tag_scheme in card


def test_a_directory_without_an_aspect_model_names_the_build_command(tmp_path):
    with pytest.raises(ArtifactError, match=r"run `make model-aspects` first"):
        read_aspect_manifest(tmp_path)


def test_bad_settings_and_missing_data_fail_in_one_line(tmp_path, tiny_base):
    with pytest.raises(ConfigError, match="epochs"):
        AspectConfig(epochs=-1)
    config = tiny_aspect_config(tmp_path, tiny_base, dev_split_from="", dev_data="")
    with pytest.raises(DataError, match="no aspect dev data"):
        build(config)
    missing = tiny_aspect_config(tmp_path, tiny_base, train_data=str(tmp_path / "nope.jsonl"))
    with pytest.raises(DataError, match="aspect data file not found"):
        build(missing)


def test_the_cli_refuses_a_bad_option_in_one_line():
    done = subprocess.run(
        [sys.executable, "-m", "export.aspects", "build", "--max-f1-drop", "-1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": ""},
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "max_f1_drop" in done.stderr


def test_export_evaluate_scores_an_aspect_model_given_as_the_model(tiny_aspects, capsys):
    """`make eval MODEL_DIR=build/aspects` runs `python -m export evaluate --model build/aspects`."""
    from export.__main__ import main

    config, manifest = tiny_aspects
    assert main(["evaluate", "--model", str(config.output)]) == 0
    printed = capsys.readouterr().out
    assert manifest.metrics is not None
    pooled = manifest.metrics.int8["all"]
    assert f"| all | {pooled.sentences} | {100 * pooled.pair.f1:.2f} |" in printed
