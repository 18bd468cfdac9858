"""Labels from the data and the options: names, integer ids, lists, star ratings, and a one-line error for
every way they can fail to fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from export.config import ExportConfig
from export.data import combine, load_examples
from export.errors import ConfigError, DataError
from export.labels import LabelOptions, parse_label_map

ROOT = Path(__file__).resolve().parents[2]


def jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return str(path)


def stars(tmp_path: Path, ratings: list[int]) -> str:
    return jsonl(
        tmp_path / "stars.jsonl", [{"text": f"review {i}", "stars": s} for i, s in enumerate(ratings)]
    )


def test_string_labels_name_the_classes_in_sorted_order(tmp_path):
    rows = [
        {"text": "a", "label": "positive"},
        {"text": "b", "label": "neutral"},
        {"text": "c", "label": "negative"},
    ]
    examples = load_examples(jsonl(tmp_path / "d.jsonl", rows))
    assert examples.names == ("negative", "neutral", "positive")
    assert examples.labels == [2, 1, 0]


def test_labels_option_orders_the_classes_and_names_integer_ids(tmp_path):
    named = [{"text": "a", "label": "positive"}, {"text": "b", "label": "negative"}]
    order = LabelOptions(names="positive,neutral,negative")
    assert load_examples(jsonl(tmp_path / "n.jsonl", named), labels=order).labels == [0, 2]
    ids = [{"text": "a", "label": 2}, {"text": "b", "label": 0}]
    examples = load_examples(jsonl(tmp_path / "i.jsonl", ids), labels=LabelOptions(names="neg,neu,pos"))
    assert (examples.names, examples.labels) == (("neg", "neu", "pos"), [2, 0])


def test_binary_convention_is_kept_for_zero_one_and_names(tmp_path):
    rows = [{"text": "a", "label": 1}, {"text": "b", "label": "NEGATIVE"}, {"text": "c", "label": "pos"}]
    examples = load_examples(jsonl(tmp_path / "b.jsonl", rows))
    assert (examples.names, examples.labels) == (("NEGATIVE", "POSITIVE"), [1, 0, 1])
    # against a model whose classes are ordered positive first, 0/1 still mean negative/positive
    reversed_order = load_examples(str(tmp_path / "b.jsonl"), names=("positive", "neutral", "negative"))
    assert reversed_order.labels == [0, 2, 0]


@pytest.mark.parametrize(
    ("label_map", "names", "expected"),
    [
        ("stars-binary", ("NEGATIVE", "POSITIVE"), [0, 0, 1, 1]),  # the 3 is dropped
        ("stars-3", ("negative", "neutral", "positive"), [0, 0, 1, 2, 2]),
        ("stars-5", ("1 star", "2 stars", "3 stars", "4 stars", "5 stars"), [0, 1, 2, 3, 4]),
        ("1-3:meh,4-5:good", ("meh", "good"), [0, 0, 0, 1, 1]),
    ],
)
def test_star_ratings_map_to_classes(tmp_path, label_map, names, expected):
    examples = load_examples(stars(tmp_path, [1, 2, 3, 4, 5]), labels=LabelOptions(label_map=label_map))
    assert (examples.names, examples.labels) == (names, expected)
    assert len(examples.texts) == len(expected)
    assert examples.provenance()["label_map"] == label_map


def test_star_data_reads_the_preset_that_fits_the_labels_asked_for(tmp_path):
    source = stars(tmp_path, [1, 3, 5])
    assert load_examples(source).labels == [0, 1]  # training: the binary convention, 3 dropped
    three = load_examples(source, names=("negative", "neutral", "positive"))
    assert (three.labels, three.label_map) == ([0, 1, 2], "stars-3")


def test_lists_of_names_are_multi_label(tmp_path):
    rows = [
        {"text": "a", "label": ["joy", "love"]},
        {"text": "b", "label": []},
        {"text": "c", "label": ["anger"]},
    ]
    examples = load_examples(jsonl(tmp_path / "m.jsonl", rows))
    assert examples.multi_label
    assert examples.names == ("anger", "joy", "love")
    assert examples.labels == [(1, 2), (), (0,)]
    assert examples.counts() == [1, 1, 1]


def test_sources_combine_by_class_name(tmp_path):
    first = load_examples(jsonl(tmp_path / "a.jsonl", [{"text": "a", "label": "meh"}]))
    second = load_examples(
        jsonl(tmp_path / "b.jsonl", [{"text": "b", "label": "good"}, {"text": "c", "label": "MEH"}])
    )
    both = combine([first, second])
    assert (both.names, both.labels, both.texts) == (("meh", "good"), [0, 1, 0], ["a", "b", "c"])


@pytest.mark.parametrize(
    ("rows", "options", "message"),
    [
        ([{"text": "a", "stars": 6}], LabelOptions(label_map="stars-3"), r"stars 6 is not in the label map"),
        ([{"text": "a", "label": 1}, {"text": "b", "label": "neutral"}], LabelOptions(), "mixes label kinds"),
        ([{"text": "a", "label": ["x"]}, {"text": "b", "label": "x"}], LabelOptions(), "mixes label kinds"),
        ([{"text": "a", "label": 2}, {"text": "b", "label": 0}], LabelOptions(), "need|name the classes"),
        ([{"text": "a", "label": 3}], LabelOptions(names="a,b"), r"label id 3 is not in 0..1"),
        ([{"text": "a", "label": "meh"}], LabelOptions(names="bad,good"), "unknown label 'meh'"),
        ([{"text": "a", "label": None}], LabelOptions(), "is not a label"),
        ([{"text": "a", "label": True}], LabelOptions(), "is not a label"),
        ([{"text": "a"}], LabelOptions(), "no 'label' column"),
        ([{"text": "a", "stars": 3}], LabelOptions(label_map="stars-binary"), "dropped them all"),
    ],
)
def test_labels_that_do_not_fit_are_one_line_errors(tmp_path, rows, options, message):
    with pytest.raises(DataError, match=message) as caught:
        load_examples(jsonl(tmp_path / "bad.jsonl", rows), labels=options)
    assert "\n" not in str(caught.value)


def test_zero_one_labels_do_not_fit_a_model_without_negative_and_positive(tmp_path):
    source = jsonl(tmp_path / "b.jsonl", [{"text": "a", "label": 0}, {"text": "b", "label": 1}])
    with pytest.raises(DataError, match="0/1 labels mean NEGATIVE/POSITIVE"):
        load_examples(source, names=("anger", "joy", "love"))
    assert load_examples(source, names=("LABEL_0", "LABEL_1")).labels == [0, 1]  # two classes: ids


@pytest.mark.parametrize(
    ("spec", "message"),
    [("1-2", "must be VALUE:NAME"), ("5-1:x", "is empty"), ("1:a,1:b", "twice"), ("1-5:drop", "drops every")],
)
def test_malformed_label_maps_are_config_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_label_map(spec)
    with pytest.raises(ConfigError, match=message):
        ExportConfig(label_map=spec)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--label-map", "3"], "label_map entry '3' must be VALUE:NAME"),
        (["--labels", "a,,b"], "empty name"),
        (["--threshold", "1.5"], "setting 'threshold': Input should be less than 1"),
        (["--fine-tune", "--no-fine-tune"], "not allowed with argument"),
    ],
)
def test_cli_refuses_bad_label_options_in_one_line(options, message):
    done = subprocess.run(
        [sys.executable, "-m", "export", "build", *options], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_fine_tune_flags_set_the_choice():
    from export.__main__ import config_from, parser

    assert config_from(parser().parse_args(["build", "--no-fine-tune"])).fine_tune == "no"
    assert config_from(parser().parse_args(["build", "--fine-tune"])).fine_tune == "yes"
    assert config_from(parser().parse_args(["build"])).fine_tune == "auto"


def test_another_output_gets_its_own_checkpoint_and_fp32_export():
    stars_model = ExportConfig(output=Path("build/stars3"))
    assert stars_model.checkpoint_dir == Path("build/stars3-checkpoint")
    assert stars_model.fp32_dir == Path("build/stars3-onnx-fp32")
    assert ExportConfig().checkpoint_dir == Path("build/checkpoint")


def test_sources_of_one_label_per_row_and_of_lists_do_not_combine(tmp_path):
    single = load_examples(jsonl(tmp_path / "a.jsonl", [{"text": "a", "label": "joy"}]))
    multi = load_examples(jsonl(tmp_path / "b.jsonl", [{"text": "b", "label": ["joy"]}]))
    with pytest.raises(DataError, match=r"b.jsonl has lists of labels, .*a.jsonl one label per row"):
        combine([single, multi])
