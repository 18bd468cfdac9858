"""Stream the rows of a JSONL, CSV or Parquet file as (row number, record), in constant memory.

JSONL and CSV are read line by line with the standard library, so one malformed line is one bad row (the
scorer reports it) instead of a reader error that ends the file; Parquet is read in record batches of
the columns needed. Row numbers count data rows from 1: the line for JSONL, the record after the header
for CSV (a quoted field may span lines), the row for Parquet.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from handler.rows import Columns

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
PARQUET_BATCH_ROWS = 4096


class InputError(ValueError):
    """The file as a whole cannot be read (unknown type, no such column in its header or schema)."""


@dataclass(frozen=True)
class BadLine:
    """A JSONL line that is not JSON: reported as a bad row with this reason."""

    reason: str


def file_format(path: Path) -> str:
    """jsonl, csv or parquet, from the file name.

    Raises:
        InputError: another extension.
    """
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(FORMATS)
        raise InputError(f"{path}: unknown file type {path.suffix!r}; use one of {known}") from None


def count_rows(path: Path) -> int | None:
    """Rows in the file when its metadata says so (Parquet), else None: a 1 GB text file is not read twice."""
    return pq.ParquetFile(path).metadata.num_rows if file_format(path) == "parquet" else None


def rows(path: Path, columns: Columns) -> Iterator[tuple[int, Any]]:
    """(row number, record) for every row of `path`; a record is a dict, or a BadLine.

    Raises:
        InputError: unknown type, a header or schema without the text or id column, or not UTF-8.
        OSError: the file cannot be opened.
    """
    readers = {"jsonl": _jsonl, "csv": _csv, "parquet": _parquet}
    try:
        yield from readers[file_format(path)](path, columns)
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def _jsonl(path: Path, columns: Columns) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                yield number, json.loads(line)
            except ValueError as error:  # JSONDecodeError, or a number past the interpreter's digit limit
                reason = "a blank line" if not line.strip() else f"not JSON ({str(error).split(':')[0]})"
                yield number, BadLine(reason)


def _csv(path: Path, columns: Columns) -> Iterator[tuple[int, Any]]:
    csv.field_size_limit(sys.maxsize)  # a long review is scored, a runaway one is a bad row: no reader crash
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        _require(path, reader.fieldnames or [], columns)
        for number, record in enumerate(reader, start=1):
            # A short row fills missing fields with None: drop them, so they read as missing columns.
            yield number, {key: value for key, value in record.items() if value is not None}


def _parquet(path: Path, columns: Columns) -> Iterator[tuple[int, Any]]:
    file = pq.ParquetFile(path)
    _require(path, file.schema_arrow.names, columns)
    wanted = list(dict.fromkeys(filter(None, (columns.text, columns.id))))
    number = 0
    for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted):
        for record in batch.to_pylist():
            number += 1
            yield number, record


def _require(path: Path, names: list[str], columns: Columns) -> None:
    for column in filter(None, (columns.text, columns.id)):
        if column not in names:
            found = ", ".join(names) or "none"
            raise InputError(f"{path}: no column {column!r} (columns: {found}); set TEXT_COLUMN / ID_COLUMN")
