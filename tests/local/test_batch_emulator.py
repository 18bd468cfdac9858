"""The Distributed Map batch shape under the real Lambda Runtime Interface Emulator: the answer Step Functions
gets is the list of rows, bad rows answered in place, and no function error."""

from __future__ import annotations

import json
from pathlib import Path

EVENTS = Path(__file__).parents[1] / "events"


def test_distributed_map_batch_through_the_emulator(function):
    batch = json.loads((EVENTS / "distributed_map_batch_jsonl.json").read_text())
    answers = function.invoke(batch)
    assert [a["row"] for a in answers] == [1, 2, 3, 4, 5]
    assert [a.get("id") for a in answers if "error" not in a] == ["r-001", "r-004"]
    assert [a["error"] for a in answers if "error" in a][1] == "no column 'text'"
    assert "errorType" not in json.dumps(answers)


def test_csv_batch_through_the_emulator_with_every_score(function):
    batch = json.loads((EVENTS / "distributed_map_batch_csv.json").read_text())
    first, second = function.invoke(batch), function.invoke(batch)
    assert first == second
    assert "error" in first[1]
    assert set(first[0]["scores"]) == {"NEGATIVE", "POSITIVE"}
