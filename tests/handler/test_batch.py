"""Step Functions Distributed Map batches in process: `{"Items": [...], "BatchInput": {...}}` in, one row per
item out; a bad row is answered, never raised, and never costs the good rows their answers.

handler modules are imported inside the tests: at collection time Powertools' singletons would be created
before the fixtures set their environment."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@pytest.fixture
def jsonl_batch():
    return load_event("distributed_map_batch_jsonl")


def test_the_documented_batch_shape_is_recognised(app, jsonl_batch):
    from handler.batch import is_batch

    assert is_batch(jsonl_batch)
    assert is_batch({"Items": []})
    assert not is_batch({"texts": ["a"]})
    assert not is_batch({"Items": "not a list"})
    assert not is_batch({"Items": [], "texts": ["a"]})  # a predict request with a stray key stays a 422


def test_jsonl_batch_answers_every_row_in_order(app, context, jsonl_batch):
    answers = app.lambda_handler(jsonl_batch, context)
    assert [a["row"] for a in answers] == [1, 2, 3, 4, 5]
    good = {a["row"]: a for a in answers if "error" not in a}
    assert set(good) == {1, 4}
    assert good[1]["id"] == "r-001"
    assert good[1]["label"] in {"POSITIVE", "NEGATIVE"}
    assert "scores" not in good[1]
    errors = {a["row"]: a["error"] for a in answers if "error" in a}
    assert errors[3] == "no column 'text'"
    assert errors[5] == "text: Input should be a valid string"
    assert errors[2].startswith("text: ")


def test_every_row_says_where_it_came_from(app, context, jsonl_batch):
    """A scored row names its model; a bad row carries its row number, its id (None where it has none to
    read) and one line saying why, and nothing else."""
    jsonl_batch["Items"] += [
        {"row": 6, "value": {"text": "no id column"}},
        {"row": 7, "value": "not an object"},
    ]
    answers = app.lambda_handler(jsonl_batch, context)
    model = app.get_classifier().model_id
    assert [a.get("model") for a in answers if "error" not in a] == [model, model]
    bad = [a for a in answers if "error" in a]
    expected = [(2, "r-002"), (3, "r-003"), (5, "r-005"), (6, None), (7, None)]
    assert [(a["row"], a["id"]) for a in bad] == expected
    assert all(set(a) == {"row", "id", "error"} for a in bad)
    assert all(a["error"] and "\n" not in a["error"] for a in bad)


def test_batch_rows_get_the_api_answer(app, context, jsonl_batch):
    """Same code, same answer: a row scored in a batch is what POST /predict says of that text."""
    answers = app.lambda_handler(jsonl_batch, context)
    texts = [jsonl_batch["Items"][0]["value"]["text"], jsonl_batch["Items"][3]["value"]["text"]]
    predicted = app.lambda_handler({"texts": texts}, context)["predictions"]
    for answer, prediction in zip((answers[0], answers[3]), predicted, strict=True):
        assert {k: answer[k] for k in prediction} == prediction
        assert answer["model"] == app.lambda_handler({"texts": texts}, context)["model"]


def test_csv_batch_with_all_scores(app, context):
    answers = app.lambda_handler(load_event("distributed_map_batch_csv"), context)
    assert [a["row"] for a in answers] == [1, 2, 3]
    assert set(answers[1]) == {"row", "id", "error"}
    assert answers[1]["id"] == "B000002"
    assert answers[1]["error"].startswith("review: ")
    for answer in (answers[0], answers[2]):
        assert set(answer["scores"]) == set(app.get_classifier().labels)
        assert max(answer["scores"].values()) == pytest.approx(answer["score"])


def long_review(chars: int) -> str:
    """A review of exactly `chars` characters, in real words (each a token or a few): many windows."""
    sentence = "The kettle boils fast, pours cleanly and the lid stays shut; the handle gets warm. "
    return (sentence * (chars // len(sentence) + 1))[:chars]


def test_a_long_review_is_read_in_windows_like_an_api_text(app, context, jsonl_batch):
    """Over the API's 10,000 characters, a row is still scored: its first max_windows windows, as the API
    reads a long text, and the row says how many were read and that the rest was not."""
    classifier = app.get_classifier()
    text = long_review(50_000)
    jsonl_batch["Items"][0]["value"]["text"] = text
    first = app.lambda_handler(jsonl_batch, context)[0]
    encoding = classifier.tokenizer.encode(text)
    windows = 1 + len(encoding.overflowing)  # what the text needs, all of it
    assert windows > classifier.max_windows > 1
    assert (first["windows"], first["truncated"]) == (classifier.max_windows, True)
    (prediction,) = classifier.classify([text])
    assert (first["label"], first["score"]) == (prediction.label, prediction.score)
    assert first["id"] == "r-001"


def test_the_api_keeps_its_length_limit(app, context):
    answer = app.lambda_handler({"text": long_review(10_001)}, context)
    assert answer["statusCode"] == 422
    assert "at most 10000 characters" in json.dumps(answer)


def test_a_runaway_field_is_a_bad_row(app, context, jsonl_batch):
    """Past ROW_MAX_CHARS (a CSV quote left open swallows the file) the row is refused, in one line."""
    from handler.rows import ROW_MAX_CHARS

    jsonl_batch["Items"][0]["value"]["text"] = "a" * (ROW_MAX_CHARS + 1)
    first = app.lambda_handler(jsonl_batch, context)[0]
    assert first == {
        "row": 1,
        "id": "r-001",
        "error": f"text: String should have at most {ROW_MAX_CHARS} characters",
    }


def test_bare_items_are_scored_without_a_row_number(app, context):
    """A Distributed Map without the bulk ItemSelector sends the records themselves."""
    answers = app.lambda_handler({"Items": [{"text": "lovely"}, {"nope": 1}]}, context)
    assert answers[0]["row"] is None
    assert "label" in answers[0]
    assert answers[1] == {"row": None, "error": "no column 'text'"}


@pytest.mark.parametrize(
    ("batch_input", "field"),
    [({"textColumn": ""}, "textColumn"), ({"allScores": "yes"}, "allScores"), ({"unknown": 1}, "unknown")],
)
def test_bad_batch_input_answers_each_row_with_the_reason(app, context, jsonl_batch, batch_input, field):
    jsonl_batch["BatchInput"] = batch_input
    answers = app.lambda_handler(jsonl_batch, context)
    assert [a["row"] for a in answers] == [1, 2, 3, 4, 5]
    assert all(a["error"].startswith(f"BatchInput: {field}: ") for a in answers)
    assert all(set(a) == {"row", "error"} for a in answers)  # no valid columns: no id to read


def test_a_batch_over_the_function_limit_is_answered_not_run(app, context, jsonl_batch):
    jsonl_batch["Items"] = [copy.deepcopy(jsonl_batch["Items"][0]) for _ in range(33)]
    answers = app.lambda_handler(jsonl_batch, context)
    assert len(answers) == 33
    assert answers[0] == {
        "row": 1,
        "id": "r-001",
        "error": "a batch of 33 items; the function takes at most 32 (SENTIMENT_MAX_TEXTS)",
    }


def test_rows_carry_every_prediction_field(app):
    """New Prediction fields flow through: the row is the Prediction's fields, not a hand-picked list."""
    from handler.rows import Columns, score_rows

    classifier = app.get_classifier()
    (answer,) = score_rows(classifier, [(7, {"t": "great"})], Columns(text="t", all_scores=True))
    (prediction,) = classifier.classify(["great"])
    expected = {k: v for k, v in vars(prediction).items() if v is not None}
    assert answer == {"row": 7, "model": classifier.model_id, **expected}


def test_explain_in_batch_input_explains_each_row_as_make_score_does(app, context, jsonl_batch):
    """`explain` in BatchInput (the state machine passes EXPLAIN=1 there): each scored row gets what
    handler.rows gives make score for the same records; a short row its explanation, a row too long to
    explain within its max_windows (the tiny model's are 32 tokens) says so instead, and keeps its answer."""
    from handler.rows import Columns, score_rows

    jsonl_batch["BatchInput"]["explain"] = True
    short = "Great value, love it."
    jsonl_batch["Items"] += [
        {"row": 6, "value": {"text": short, "review_id": "r-006"}},
        {"row": 7, "value": {"text": long_review(3_000), "review_id": "r-007"}},
    ]
    answers = app.lambda_handler(jsonl_batch, context)
    records = [(item["row"], item["value"]) for item in jsonl_batch["Items"]]
    assert answers == score_rows(app.get_classifier(), records, Columns(id="review_id", explain=True))
    explained, too_long = answers[5], answers[6]
    assert [(c["text"], short[c["start"] : c["end"]]) for c in explained["explanation"]] == [
        (word, word) for word in ("Great", "value", "love", "it")
    ]
    assert "explanation" not in too_long
    assert too_long["explanation_skipped"].startswith("explaining this review needs ")
    assert too_long["label"] in app.get_classifier().labels
