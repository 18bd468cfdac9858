"""The Distributed Map batch shape under the real Lambda Runtime Interface Emulator: the answer Step Functions
gets is the list of rows, bad rows answered in place, and no function error; the rows are those `make score`
writes for the same records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bulk.score import score_chunk
from handler.artifact import read_manifest
from handler.inference import Classifier
from handler.rows import Columns

EVENTS = Path(__file__).parents[1] / "events"


def load_batch(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def rounded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with probabilities to 6 places: the emulator's onnxruntime may run more threads than a worker."""

    def value(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6)
        return {k: value(x) for k, x in v.items()} if isinstance(v, dict) else v

    return [value(row) for row in rows]


def test_distributed_map_batch_through_the_emulator(function):
    batch = load_batch("distributed_map_batch_jsonl")
    answers = function.invoke(batch)
    assert [a["row"] for a in answers] == [1, 2, 3, 4, 5]
    assert [a.get("id") for a in answers if "error" not in a] == ["r-001", "r-004"]
    assert [a["error"] for a in answers if "error" in a][1] == "no column 'text'"
    assert "errorType" not in json.dumps(answers)


def test_csv_batch_through_the_emulator_with_every_score(function):
    batch = load_batch("distributed_map_batch_csv")
    first, second = function.invoke(batch), function.invoke(batch)
    assert first == second
    assert "error" in first[1]
    assert set(first[0]["scores"]) == {"NEGATIVE", "POSITIVE"}


def test_the_lambda_and_make_score_write_the_same_rows(function, tiny_artifact):
    """Both bulk paths, one row format: a batch answered by the function under the real runtime, and the
    same records scored by `make score`'s worker code, field for field (model, id, row, error), a review
    five times the API's length limit included (read in windows, truncated)."""
    long_review = "Sturdy, quiet, and it crushes ice in seconds; the jug is easy to clean. " * 700
    for name in ("distributed_map_batch_jsonl", "distributed_map_batch_csv"):
        batch = load_batch(name)
        columns = Columns.model_validate(batch["BatchInput"])
        batch["Items"].append({"row": 9, "value": {columns.id: "long", columns.text: long_review}})
        records = [(item["row"], item["value"]) for item in batch["Items"]]
        here = score_chunk(Classifier.from_dir(tiny_artifact), records, columns)
        answers = function.invoke(batch)
        assert rounded(answers) == rounded(here)
        assert (answers[-1]["windows"], answers[-1]["truncated"]) == (
            read_manifest(tiny_artifact).max_windows,
            True,
        )
