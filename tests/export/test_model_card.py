"""The model card the build writes beside the artifact: Hugging Face metadata the Hub's own parser accepts,
scores copied from the manifest, and Markdown that a real renderer turns into the page a reader sees."""

from __future__ import annotations

import json

from huggingface_hub import ModelCard
from markdown_it import MarkdownIt

from export.evaluate import REPORTED
from export.identity import Licence
from export.model_card import CARD_FILE, data_name, write_model_card
from handler.manifest import Manifest


def test_the_build_writes_a_card_the_hub_parser_reads(tiny_build):
    card = ModelCard.load(tiny_build.artifact / CARD_FILE)
    manifest = tiny_build.manifest
    assert card.data.base_model == manifest["base_model"]
    assert card.data.license == "apache-2.0"
    assert card.data.pipeline_tag == "text-classification"
    [result] = [r for r in card.data.eval_results if r.metric_type == "accuracy"]
    assert result.metric_value == round(manifest["metrics"]["int8"]["accuracy"], 4)
    assert result.dataset_name == data_name(manifest["data"]["dev"]["path"])
    # Every reported score the model has, in REPORTED's order and under its names (as `make eval` shows them).
    int8 = manifest["metrics"]["int8"]
    shown = [(r.metric_type, r.metric_name) for r in card.data.eval_results]
    assert shown == [(key, title) for key, title in REPORTED.items() if int8.get(key) is not None]


def test_the_card_renders_with_labels_windows_and_a_score_table(tiny_build):
    html = (
        MarkdownIt("commonmark").enable("table").render(ModelCard.load(tiny_build.artifact / CARD_FILE).text)
    )
    manifest = tiny_build.manifest
    for heading in ("Intended use", "Labels", "How long texts are read", "Limitations", "How it was built"):
        assert f"<h2>{heading}</h2>" in html
    assert all(f"<code>{name}</code>" in html for name in manifest["labels"])
    assert f"windows of {manifest['max_length']} tokens" in html
    accuracy = f"{100 * manifest['metrics']['int8']['accuracy']:.2f} %"
    assert "<table>" in html
    assert f"<td>{accuracy}</td>" in html


def test_each_dev_source_gets_its_own_results(tmp_path, tiny_build):
    manifest = json.loads((tiny_build.artifact / "manifest.json").read_text())
    int8 = manifest["metrics"]["int8"]
    manifest["metrics"]["int8_by_dev_source"] = {
        "data/amazon-reviews/dev.jsonl": {**int8, "accuracy": 0.9},
        "data/amazon-stars/dev.jsonl": {**int8, "accuracy": 0.8},
    }
    licence = Licence("other", "as the build was told (--license)")
    card = ModelCard.load(write_model_card(tmp_path, Manifest.model_validate(manifest), licence))
    found = {r.dataset_name: r.metric_value for r in card.data.eval_results if r.metric_type == "accuracy"}
    assert found == {"amazon-reviews": 0.9, "amazon-stars": 0.8}
