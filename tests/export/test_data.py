"""Loaders: every file format, label forms, deterministic shuffles and splits, and each one-line error."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from export.data import load_examples, resolve_sources, split
from export.errors import DataError

FIXTURES = Path(__file__).parents[1] / "fixtures"


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_jsonl_with_integer_labels(tmp_path):
    with (FIXTURES / "reviews.csv").open(newline="") as rows:
        path = write_jsonl(
            tmp_path / "reviews.jsonl", [{**row, "label": int(row["label"])} for row in csv.DictReader(rows)]
        )
    examples = load_examples(str(path))
    assert len(examples) == 32
    assert set(examples.labels) == {0, 1}
    assert len(examples.sha256 or "") == 64


def test_csv_with_label_names():
    examples = load_examples(str(FIXTURES / "reviews-dev.csv"))
    assert len(examples) == 16
    assert examples.labels[:2] == [1, 0]  # POSITIVE, NEGATIVE


def test_parquet_and_mixed_label_forms(tmp_path):
    table = pa.table(
        {"text": ["good", "bad", "fine", "awful"], "label": ["positive", "NEGATIVE", "1", "neg"]}
    )
    pq.write_table(table, tmp_path / "rows.parquet")
    assert load_examples(str(tmp_path / "rows.parquet")).labels == [1, 0, 1, 0]


def test_sentence_column_is_accepted(tmp_path):
    path = write_jsonl(tmp_path / "sst.jsonl", [{"sentence": "a joy", "label": 1}])
    assert load_examples(str(path)).texts == ["a joy"]


def test_shuffle_is_deterministic_and_limit_caps():
    source = str(FIXTURES / "reviews.csv")
    first, again = load_examples(source, seed=7, limit=10), load_examples(source, seed=7, limit=10)
    other = load_examples(source, seed=8, limit=10)
    assert first.texts == again.texts
    assert first.texts != other.texts
    assert len(first) == 10


def test_split_is_stratified_disjoint_and_deterministic():
    examples = load_examples(str(FIXTURES / "reviews.csv"))
    kept, held = split(examples, 0.25, seed=1)
    assert sorted(kept + held) == list(range(len(examples)))
    assert [examples.labels[i] for i in held].count(0) == [examples.labels[i] for i in held].count(1) == 4
    assert split(examples, 0.25, seed=1) == (kept, held)
    assert split(examples, 0.25, seed=2) != (kept, held)


def test_default_source_is_the_shared_reviews_when_present():
    (source, cap), *more = resolve_sources("default", "train")
    if Path(source).exists():
        assert (source.endswith("amazon-reviews/train.jsonl"), cap) == (True, 0)
        assert [other.endswith("amazon-stars/train.jsonl") for other, _ in more] in ([], [True])
    else:  # a checkout without ../shared falls back to the Hub, capped to keep make model in budget
        assert (source, cap > 0) == ("amazon_polarity:train", True)


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (None, ".jsonl", "data file not found"),
        ("", ".jsonl", "data file is empty"),
        ('{"review_body": "x", "label": 1}\n', ".jsonl", "no 'text"),
        ('{"text": "x"}\n', ".jsonl", "no 'label' column"),
        ('{"text": "x", "label": 2}\n', ".jsonl", "integer labels other than 0/1"),
        ("text,label\nx,1\n", ".parquet", "cannot read"),
        ('{"text": "x", "label": 1', ".jsonl", "line 1 is not JSON"),
        ("[1, 2]\n", ".jsonl", "line 1 is not a JSON object"),
        (
            "text\tlabel\nx\t1\n",
            ".tsv",
            "unsupported data file .*: the name must end in one of .jsonl, .json",
        ),
        ("x 1\n", ".txt", "unsupported data file"),
        (None, ".tsv", "data file not found"),  # a file name, not a Hub data set
    ],
)
def test_file_errors_are_one_clear_line(tmp_path, content, suffix, message):
    path = tmp_path / f"data{suffix}"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message) as caught:
        load_examples(str(path))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "suffix"),
    [('{"text": "caf\xe9", "label": 1}\n', ".jsonl"), ("text,label\ncaf\xe9,1\n", ".csv")],
)
def test_text_that_is_not_utf8_is_one_clear_line(tmp_path, content, suffix):
    # pyarrow alone would read the Latin-1 CSV, with the text as bytes: b'caf\xe9' would be trained on
    path = tmp_path / f"latin1{suffix}"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(DataError, match="it is not UTF-8 text") as caught:
        load_examples(str(path))
    assert "\n" not in str(caught.value)


def test_utf8_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("text,label\ncafé,1\n".encode("utf-8-sig"))
    assert load_examples(str(path)).texts == ["café"]


def test_unknown_label_names_the_row(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [{"text": "a", "label": 1}, {"text": "b", "label": "maybe"}])
    with pytest.raises(DataError, match="row 2"):
        load_examples(str(path))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("stanfordnlp/sst2", "Hub data set 'stanfordnlp/sst2' unavailable"),
        ("stanfordnlp/sst2:validation", "Hub data set 'stanfordnlp/sst2:validation' unavailable"),
        # What stands in for a default's missing shared files: what to do without both.
        ("amazon_polarity:test", "the Hub's amazon_polarity:test, which stands in .*: point DEV_DATA at"),
        ("stanfordnlp/sst2:train", "stanfordnlp/sst2:train, which stands in .*: mix in none with MODEL_ARGS"),
    ],
)
def test_hub_unreachable_is_a_data_error(monkeypatch, name, message):
    import datasets

    # The Hub is the network: tests run offline, so it is unreachable by construction (even with internet).
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    with pytest.raises(DataError, match=message) as caught:
        load_examples(name)
    assert "\n" not in str(caught.value)


def test_titles_become_extra_examples_and_follow_the_dev_split(tmp_path, make_tiny_config):
    from export.corpus import load_data

    rows = [
        {"text": f"review {i}", "title": f"title {i}" if i % 3 else "", "label": i % 2} for i in range(40)
    ]
    path = write_jsonl(tmp_path / "reviews.jsonl", rows)
    cfg = make_tiny_config(tmp_path, tmp_path, train_data=str(path), dev_data="split", title_column="title")
    data = load_data(cfg, fine_tuning(cfg))
    train, dev, provenance = data.train, data.dev, data.provenance
    held = {text.split()[1] for text in dev.texts}
    titles = [text for text in train.texts if text.startswith("title")]
    assert len(dev) == 4
    assert len(titles) == len([r for r in rows if r["title"] and r["text"].split()[1] not in held])
    assert not {t.split()[1] for t in titles} & held  # a held-out review's title is not trained on
    assert provenance["train"]["title_column"] == "title"


def test_train_data_without_the_title_column_just_has_no_title_examples(tmp_path, make_tiny_config):
    from export.corpus import load_data

    cfg = make_tiny_config(tmp_path, tmp_path, title_column="title")  # the fixture CSV is text,label only
    data = load_data(cfg, fine_tuning(cfg))
    train, provenance = data.train, data.provenance
    assert len(train) == len(load_examples(cfg.train_data))
    assert "title_column" not in provenance["train"]


def fine_tuning(cfg):
    """The plan of a build that fine-tunes its base (the data is read before any model is)."""
    from export.train import BasePlan

    return BasePlan(cfg.base_model, fine_tune=True, labels=(), multi_label=False, max_tokens=None)


def test_sources_are_separated_by_commas_and_default_expands(tmp_path):
    found = resolve_sources(f"{tmp_path / 'a.jsonl'}, default ,", "dev")
    assert found[0] == (str(tmp_path / "a.jsonl"), 0)
    assert found[1:] == resolve_sources("default", "dev")  # the shared files or the Hub; "" is ignored
