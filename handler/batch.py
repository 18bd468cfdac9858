"""Step Functions Distributed Map batches: `{"Items": [...], "BatchInput": {...}}` in, one row per item out.

A Distributed Map with an ItemBatcher invokes the function with that shape. The bulk state machine
(infra/constructs/bulk.py) shapes each item as `{"row": n, "value": <the JSONL object or CSV row>}` and
names the columns in BatchInput. The answer is a list with one object per item, in order, each with the
item's `row` (and `id` with an id column): the model and the prediction's fields, or an `error` saying why
that row could not be scored (handler/rows.py). A bad row never fails the batch, so Step Functions neither
retries nor counts good rows as failed; a batch fails only when the function itself does.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from handler.observability import logger
from handler.rows import Columns, error_row, problem, score_rows
from handler.service import get_classifier
from handler.settings import get_settings


def is_batch(event: Any) -> bool:
    """True for Distributed Map's batch shape: an `Items` list, optionally `BatchInput`, nothing else."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("Items"), list)
        and set(event) <= {"Items", "BatchInput"}
    )


def _items(items: list[Any]) -> list[tuple[int | None, Any]]:
    """(row, record) of each item: `{"row": n, "value": record}` as the bulk state machine's ItemSelector
    makes them, or a bare record (a Distributed Map without that selector), whose row is unknown."""
    return [
        (item["row"], item["value"])
        if isinstance(item, dict) and set(item) == {"row", "value"} and type(item["row"]) is int
        else (None, item)
        for item in items
    ]


def invoke(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    """Answer one Distributed Map batch: a list of rows, never an exception for bad input.

    A BatchInput that is not valid answers every item with its reason: the run's output says what is
    wrong instead of one failed batch per item.
    """
    rows = _items(event["Items"])
    try:
        columns = Columns.model_validate(event.get("BatchInput") or {})
    except ValidationError as error:
        field = ".".join(str(part) for part in error.errors()[0]["loc"]) or "BatchInput"
        # Without valid columns no id can be read: the rows are answered with their numbers.
        return _refuse(rows, Columns(), f"BatchInput: {field}: {problem(error)}")
    most = get_settings().max_texts
    if len(rows) > most:  # the API's batch limit: a batch this long could outrun the function's timeout
        return _refuse(
            rows,
            columns,
            f"a batch of {len(rows)} items; the function takes at most {most} (SENTIMENT_MAX_TEXTS)",
        )
    answers = score_rows(get_classifier(), rows, columns)
    # Counts only, at DEBUG like the API's "predicted" line: never a row's text.
    logger.debug("batch scored", extra={"rows": len(answers), "bad_rows": sum("error" in a for a in answers)})
    return answers


def _refuse(rows: list[tuple[int | None, Any]], columns: Columns, reason: str) -> list[dict[str, Any]]:
    return [error_row(number, record, columns, reason) for number, record in rows]
