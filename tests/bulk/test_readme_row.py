"""bulk/README.md's row table documents every field a row can carry, and nothing else: a field added to the
Prediction (or to the row) without a line in the table fails here."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from handler.inference import Classifier, Prediction
from handler.rows import Columns, score_rows

README = Path(__file__).resolve().parents[2] / "bulk" / "README.md"


def documented_fields() -> list[str]:
    """The first cell of each row of the table under "## The output row"."""
    section = README.read_text().split("## The output row", 1)[1]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [line.split("|")[1].strip().strip("`") for line in rows]


def test_the_table_lists_every_field_a_row_can_carry(tiny_artifact):
    """The keys of a scored, an explained, a too long to explain and a bad row, with every option on, and
    every Prediction field (`labels` is a multi-label model's only)."""
    columns = Columns(id="asin", all_scores=True, explain=True)
    classifier = Classifier.from_dir(tiny_artifact, threads=1)
    long = " ".join(["the jar is sturdy"] * 40)
    records = [{"text": "Great value.", "asin": "a"}, {"text": long, "asin": "b"}, {"asin": "c"}]
    rows = score_rows(classifier, list(enumerate(records, 1)), columns)
    assert [sorted(set(row) & {"explanation", "explanation_skipped", "error"}) for row in rows] == [
        ["explanation"],
        ["explanation_skipped"],
        ["error"],
    ]
    written = {key for row in rows for key in row} | {field.name for field in dataclasses.fields(Prediction)}
    fields = documented_fields()
    assert len(fields) == len(set(fields))
    assert set(fields) == written


def test_the_examples_are_rows_of_documented_fields():
    section = README.read_text().split("## The output row", 1)[1]
    example = section.split("```json\n", 1)[1].split("```", 1)[0]
    scored, bad = (json.loads(line) for line in example.splitlines())
    assert set(scored) <= set(documented_fields())
    assert set(bad) == {"row", "id", "error"}
