"""Any Hub classifier, exported as it is: stand-ins of the layouts users pick (2, 3 and 5 classes, labels in
any order, multi-label, default LABEL_n names) go export -> int8 -> gate -> handler, keep their labels, and
are served with the scores PyTorch gives on the same windows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import standins
from standins import STAND_INS, StandIn

from export.pipeline import build
from export.train import serving_windows
from handler.inference import Classifier

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module", params=STAND_INS, ids=lambda spec: spec.name)
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, make_tiny_config):
    """(stand-in, config, manifest) of one as-is build with the default --fine-tune auto."""
    spec: StandIn = request.param
    return spec, *standins.export_as_is(spec, tmp_path_factory.mktemp(spec.name), make_tiny_config)


def torch_probabilities(checkpoint: Path, config, texts: list[str], multi_label: bool) -> np.ndarray:
    """PyTorch's answer per text on the serving windows (transformers' own tokenizer makes them): each
    window run alone, softmax or sigmoid, averaged per text."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from export.data import Examples

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint).eval()
    windows, owner = serving_windows(config, tokenizer, Examples(texts, [0] * len(texts), "probe"))
    sums = np.zeros((len(texts), model.config.num_labels))
    inputs = tokenizer.model_input_names
    with torch.inference_mode():
        for i, text_index in enumerate(owner):
            feed = {key: torch.tensor([values[i]]) for key, values in windows.items() if key in inputs}
            logits = model(**feed).logits[0].double()
            sums[text_index] += (torch.sigmoid(logits) if multi_label else torch.softmax(logits, -1)).numpy()
    return sums / np.bincount(owner, minlength=len(texts))[:, None]


def test_labels_kept_exactly(exported) -> None:
    spec, config, manifest = exported
    assert manifest["fine_tuned"] is False
    assert manifest["labels"] == list(spec.labels)  # names and order as the checkpoint has them
    served_config = json.loads((config.output / "config.json").read_text())
    assert [served_config["id2label"][str(i)] for i in range(len(spec.labels))] == list(spec.labels)
    expected = "multi_label_classification" if spec.multi_label else "single_label_classification"
    assert manifest["problem_type"] == expected
    assert ("threshold" in manifest) is spec.multi_label
    assert manifest["ngrams"] is None
    assert manifest["ngrams_skipped"]


def test_gate_metric_fits_the_problem(exported) -> None:
    spec, _, manifest = exported
    int8 = manifest["metrics"]["int8"]
    if spec.multi_label:
        assert {"micro_f1", "macro_f1", "exact_match"} <= int8.keys()
        assert "confusion_matrix" not in int8
    else:
        matrix = int8["confusion_matrix"]["rows_gold_cols_predicted"]
        assert len(matrix) == len(spec.labels)
        assert all(len(row) == len(spec.labels) for row in matrix)
        assert sum(map(sum, matrix)) == int8["n"]
        assert set(int8["per_class"]) == set(spec.labels)


@pytest.mark.parametrize(("directory", "atol"), [("fp32_dir", 1e-4), ("output", 0.15)])
def test_served_scores_match_pytorch(exported, directory: str, atol: float) -> None:
    """fp32 ONNX served = PyTorch to float precision; int8 within quantization noise (random tiny weights)."""
    spec, config, _ = exported
    texts = [row["text"] for row in standins.dev_rows(spec)]
    reference = torch_probabilities(config.checkpoint_dir, config, texts, spec.multi_label)
    classifier = Classifier.from_dir(getattr(config, directory))
    answers = classifier.classify(texts)
    served = np.asarray([[p.scores[name] for name in spec.labels] for p in answers])
    print(f"{spec.name} {directory}: max |served - PyTorch| = {np.abs(served - reference).max():.2e}")
    np.testing.assert_allclose(served, reference, atol=atol)
    assert answers[-1].windows > 1  # the long review is read in several windows, like PyTorch's
    if not spec.multi_label:
        assert np.allclose(served.sum(axis=1), 1)


def test_multi_label_answers_every_label_over_the_threshold(exported) -> None:
    spec, config, manifest = exported
    if not spec.multi_label:
        pytest.skip("single-label model")
    classifier = Classifier.from_dir(config.output)
    for answer in classifier.classify([row["text"] for row in standins.dev_rows(spec)]):
        over = [name for name, p in answer.scores.items() if p >= manifest["threshold"]]
        assert sorted(answer.labels) == sorted(over)
        assert [answer.scores[name] for name in answer.labels] == sorted(
            (answer.scores[name] for name in answer.labels), reverse=True
        )
        assert answer.label == max(answer.scores, key=answer.scores.get)


def star_rows(count: int) -> list[dict]:
    """Fixture reviews with star ratings: the negative ones 1-2 stars, the positive ones 4-5, and a few
    neutral 3-star ones, as `amazon-stars` holds them."""
    import csv

    rows = []
    with (standins.FIXTURES / "reviews.csv").open(encoding="utf-8") as stream:
        for i, row in enumerate(csv.DictReader(stream)):
            rows.append({"text": row["text"], "stars": (4 + i % 2) if row["label"] == "1" else (1 + i % 2)})
    rows += [{"text": f"It is fine, nothing special, item {i}.", "stars": 3} for i in range(6)]
    return rows[:count]


def test_three_class_fine_tune_from_star_ratings(tiny_base, make_tiny_config, tmp_path):
    """Train data with a star column mapped to three classes, dev data with the class names as strings."""
    train = str(standins.write_jsonl(tmp_path / "train.jsonl", star_rows(100)))
    names = {1: "negative", 2: "negative", 3: "neutral", 4: "positive", 5: "positive"}
    dev_rows = [{"text": row["text"], "label": names[row["stars"]]} for row in star_rows(100)[::3]]
    dev = str(standins.write_jsonl(tmp_path / "dev.jsonl", dev_rows))
    config = make_tiny_config(
        tmp_path, tiny_base, train_data=train, dev_data=dev, label_map="stars-3", epochs=2.0
    )
    manifest = build(config).model_dump(mode="json")
    assert manifest["fine_tuned"] is True
    assert manifest["labels"] == ["negative", "neutral", "positive"]
    assert manifest["data"]["train"]["label_map"] == "stars-3"
    assert manifest["metrics"]["int8"]["confusion_matrix"]["labels"] == manifest["labels"]
    assert manifest["ngrams"]["features"] > 0  # three classes: the n-gram model has a row per class
    answer = Classifier.from_dir(config.output).classify(["It is fine, nothing special."])[0]
    assert set(answer.scores) == {"negative", "neutral", "positive"}


def test_multi_label_fine_tune_learns_label_sets(tiny_base, make_tiny_config, tmp_path):
    rows = [
        {"text": text, "label": ["praise"] + (["price"] if "price" in text or "cheap" in text else [])}
        if "great" in text.lower() or "love" in text.lower()
        else {"text": text, "label": ["complaint"]}
        for text in standins.texts()
    ]
    data = str(standins.write_jsonl(tmp_path / "multi.jsonl", rows))
    config = make_tiny_config(tmp_path, tiny_base, train_data=data, dev_data=data, epochs=2.0, threshold=0.4)
    manifest = build(config).model_dump(mode="json")
    assert manifest["problem_type"] == "multi_label_classification"
    assert manifest["threshold"] == 0.4
    assert "micro_f1" in manifest["metrics"]["int8"]
    assert manifest["ngrams"] is None
    assert "multi-label" in manifest["ngrams_skipped"]
    answer = Classifier.from_dir(config.output).classify(["I love it."])[0]
    assert answer.labels is not None


def test_a_class_missing_from_dev_is_refused_before_training(tiny_base, make_tiny_config, tmp_path):
    from export.errors import DataError

    train = str(standins.write_jsonl(tmp_path / "train.jsonl", star_rows(100)))
    rows = [{"text": "bad", "stars": 1}, {"text": "good", "stars": 5}]
    dev = str(standins.write_jsonl(tmp_path / "dev.jsonl", rows))
    config = make_tiny_config(tmp_path, tiny_base, train_data=train, dev_data=dev, label_map="stars-3")
    with pytest.raises(DataError, match=r"class 'neutral' has no rows in .*dev.jsonl"):
        build(config)
    assert not config.checkpoint_dir.exists()


@pytest.mark.parametrize(("length", "refused"), [(512, False), (513, True), (514, True)])
def test_max_length_is_capped_by_usable_positions(tmp_path, make_tiny_config, length, refused):
    """A RoBERTa with 514 position embeddings reads 512 tokens: 513 or 514 is refused in one line."""
    from export.errors import ConfigError
    from export.train import plan_base

    base = standins.build(STAND_INS[1], tmp_path / "roberta")
    config = make_tiny_config(tmp_path, base, max_length=length, window_stride=64)
    if refused:
        with pytest.raises(ConfigError, match=f"max_length is {length} but .* reads at most 512 tokens"):
            plan_base(config, str(base))
    else:
        assert plan_base(config, str(base)).max_tokens == 512


def test_fine_tune_choice_overrides_the_guess(tmp_path, make_tiny_config):
    from export.errors import ConfigError
    from export.train import plan_base

    classifier = standins.build(STAND_INS[5], tmp_path / "label-ids")  # LABEL_0/LABEL_1: a classifier
    encoder = standins.build(STAND_INS[0], tmp_path / "encoder", head=False)
    assert plan_base(make_tiny_config(tmp_path, classifier), str(classifier)).fine_tune is False
    assert (
        plan_base(make_tiny_config(tmp_path, classifier, fine_tune="yes"), str(classifier)).fine_tune is True
    )
    assert plan_base(make_tiny_config(tmp_path, encoder), str(encoder)).fine_tune is True
    with pytest.raises(ConfigError, match="has no trained sequence-classification head"):
        plan_base(make_tiny_config(tmp_path, encoder, fine_tune="no"), str(encoder))
    renamed = plan_base(make_tiny_config(tmp_path, classifier, labels="bad,good"), str(classifier))
    assert renamed.labels == ("bad", "good")
    with pytest.raises(ConfigError, match=r"--labels names 3 classes but .* has 2"):
        plan_base(make_tiny_config(tmp_path, classifier, labels="a,b,c"), str(classifier))


def test_a_multi_label_model_is_served_through_the_real_emulator(tmp_path, make_tiny_config):
    """The Lambda runtime emulator serving the 28-label stand-in: a direct invoke answers `labels`, an API
    event too, GET /model says the problem type, and the OpenAPI description lists the model's labels."""
    from local.emulator import HANDLER, handler_env, running_function

    spec = STAND_INS[4]
    config, manifest = standins.export_as_is(spec, tmp_path, make_tiny_config, threshold=0.5)
    event = {"texts": ["I love it.", "So angry about this."], "all_scores": True}
    with (
        (tmp_path / "emulator.log").open("w") as log,
        running_function(HANDLER, env=handler_env(config.output), stdout=log) as function,
    ):
        answer = function.invoke(event)
        api = function.invoke(api_event("GET", "/model"))
        openapi = function.invoke(api_event("GET", "/openapi.json"))
    for prediction in answer["predictions"]:
        over = {name for name, p in prediction["scores"].items() if p >= manifest["threshold"]}
        assert set(prediction["labels"]) == over
    served = json.loads(api["body"])
    assert served["problem_type"] == "multi_label_classification"
    assert served["labels"] == list(spec.labels)
    description = json.loads(openapi["body"])["info"]["description"]
    assert all(name in description for name in spec.labels)
    assert "Multi-label" in description


def api_event(method: str, path: str) -> dict:
    """A minimal API Gateway REST (v1) proxy event."""
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/v1{path}",
            "stage": "v1",
            "requestId": "test",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
