"""One row of a bulk job, read and scored as the API scores a text: the same text rules (not blank), the same
model and windows (a long text is read up to the manifest's max_windows, the row says `windows` and
`truncated`), every field of the Prediction in the answer. Not the API's length limit: it bounds a request
body, and a row is no request (ROW_MAX_CHARS).

Every answer starts with where the row came from, `row` and (with an id column) `id`, so that a bad row can
be found in the input; a scored row adds the `model` that answered and the prediction's fields (with
`explain`, its `explanation` or why it has none), a bad row adds the `error` alone (bulk/README.md, "The
output row").

Shared by the Lambda's Distributed Map batches (handler/batch.py) and `make score` (bulk/), so a row gets
the same answer, or the same error, on a laptop and on AWS. No Powertools here: bulk/ runs it in worker
processes that need nothing of the Lambda runtime.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

from handler.explain import Explainer
from handler.inference import Classifier, Prediction
from handler.models import NOT_BLANK
from handler.windows import Windows

# The longest text a row may hold. Not the API's limit, which bounds a request body: the model reads a row in
# at most the manifest's max_windows windows, whatever its length. This only stops a runaway field (a CSV
# quote left open reads the rest of the file as one field), which a worker would tokenize whole, at a cost
# in time and memory in proportion to its length.
ROW_MAX_CHARS = 1_000_000
# The API's text rule (not blank) without its length limit; strict: a number is not a review.
_TEXT = TypeAdapter(
    Annotated[str, StringConstraints(min_length=1, max_length=ROW_MAX_CHARS), NOT_BLANK],
    config=ConfigDict(strict=True),
)


class RowError(ValueError):
    """Why one row cannot be scored, in one line that never quotes the row's text."""


class Columns(BaseModel):
    """Which fields of a row hold the text and the id, and whether every label's score is wanted.

    Read from BatchInput (camelCase keys, as the state machine writes them) or built by bulk/.
    """

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, frozen=True)

    text: str = Field(default="text", min_length=1, alias="textColumn", description="Column of the text.")
    id: str = Field(default="", alias="idColumn", description="Column of the row's id; empty: none.")
    all_scores: bool = Field(default=False, alias="allScores", description="Add every label's score.")
    explain: bool = Field(default=False, alias="explain", description="Add each row's explanation.")


def row_text(record: Any, columns: Columns) -> str:
    """The text of one row.

    Raises:
        RowError: the row is not an object, lacks a column, or its text is not a string, is blank or is
            over ROW_MAX_CHARS.
    """
    if not isinstance(record, dict):
        raise RowError("the row is not an object with columns")
    for column in filter(None, (columns.text, columns.id)):
        if column not in record:
            raise RowError(f"no column {column!r}")
    try:
        return _TEXT.validate_python(record[columns.text])
    except ValidationError as error:
        raise RowError(f"{columns.text}: {problem(error)}") from None


def row_head(number: int | None, record: Any, columns: Columns) -> dict[str, Any]:
    """What every answer starts with: the row number, and with an id column the row's id (None when the row
    has none to read: not an object, or no such column)."""
    head: dict[str, Any] = {"row": number}
    if columns.id:
        head["id"] = record.get(columns.id) if isinstance(record, dict) else None
    return head


def error_row(number: int | None, record: Any, columns: Columns, reason: str) -> dict[str, Any]:
    """A bad row's answer: where it is, and why it was not scored (one line)."""
    return {**row_head(number, record, columns), "error": reason}


def problem(error: ValidationError) -> str:
    """pydantic's first message, without its "Value error, " prefix and without the input."""
    return str(error.errors(include_input=False)[0]["msg"]).removeprefix("Value error, ")


def prediction_fields(prediction: Prediction, all_scores: bool) -> dict[str, Any]:
    """Every field of the Prediction that has a value (new ones included), `scores` only when asked for."""
    fields = {name: value for name, value in dataclasses.asdict(prediction).items() if value is not None}
    if not all_scores:
        fields.pop("scores", None)
    return fields


def explanation_fields(
    classifier: Classifier, texts: Sequence[str], windows: Windows, predictions: Sequence[Prediction]
) -> list[dict[str, Any]]:
    """Each row's `explanation`, or `explanation_skipped` saying why it has none: a row may cost the model
    `max_windows` windows in all, its explanation's included, since the stack sizes a batch's time by that
    (an API request spends its budget as it likes: one text may take all of it)."""
    explainer = Explainer(classifier)
    fields: list[dict[str, Any]] = []
    for text, plan, prediction in zip(texts, explainer.plans(texts, windows), predictions, strict=True):
        cost = prediction.windows + plan.windows(explainer.max_length)
        if cost > classifier.max_windows:
            reason = (
                f"explaining this review needs {cost} token windows; a row runs at most "
                f"{classifier.max_windows} (the model's max_windows): explain it through the API"
            )
            fields.append({"explanation_skipped": reason})
        else:
            credits = explainer.explain(text, plan, prediction)
            fields.append({"explanation": [credit.fields() for credit in credits]})
    return fields


def score_rows(
    classifier: Classifier, rows: Sequence[tuple[int | None, Any]], columns: Columns
) -> list[dict[str, Any]]:
    """Score (row number, record) pairs: one answer per row, in order; bad rows answered with `error`.

    The good rows are classified in one call; each text's answer does not depend on the others
    (handler.inference scores every window alone), nor does its explanation (handler/explain.py).
    """
    answers: list[dict[str, Any]] = []
    texts: list[str] = []
    for number, record in rows:
        try:
            texts.append(row_text(record, columns))
        except RowError as error:
            answers.append(error_row(number, record, columns, str(error)))
        else:
            answers.append({**row_head(number, record, columns), "model": classifier.model_id})
    windows = classifier.encode(texts)
    predictions = classifier.predict(windows)
    extras = explanation_fields(classifier, texts, windows, predictions) if columns.explain else None
    scored = iter(zip(predictions, extras or [{}] * len(predictions), strict=True))
    for answer in answers:
        if "error" not in answer:
            prediction, extra = next(scored)
            answer.update(prediction_fields(prediction, columns.all_scores), **extra)
    return answers
