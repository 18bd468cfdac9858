"""Labelled text from files (JSONL, CSV, Parquet) or Hub data sets, with deterministic shuffles and splits."""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa

from export.artifacts import sha256
from export.errors import DataError
from export.labels import BINARY, LabelOptions, read_labels

# Where the shared data sets are: ../shared/data beside this checkout (the project's machines), or
# SENTIMENT_SHARED_DATA (a copy elsewhere; an empty folder stands for a machine without them).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_DATA_VARIABLE = "SENTIMENT_SHARED_DATA"


@dataclass(frozen=True)
class DefaultSource:
    """What `default` means for one role: files under the shared data, the public Hub data set used when
    none of them is here (capped at `cap` rows, 0: all, so `make model` stays within its time budget), and
    what to do instead when neither is at hand (naming the `make` variable)."""

    files: tuple[str, ...]
    hub: str
    cap: int
    instead: str
    use: str  # what the build does with it: "trains on", "is judged on", "mixes in"


DEFAULT_SOURCES = {
    # Blitzer's 2007 reviews (label 0/1) and the recent multi-category star ratings (stars-binary: 1-2
    # negative, 4-5 positive, 3 dropped); the dev sets of both judge every choice together.
    "train": DefaultSource(
        ("amazon-reviews/train.jsonl", "amazon-stars/train.jsonl"),
        "amazon_polarity:train",
        20_000,
        "point TRAIN_DATA and DEV_DATA at your own .jsonl/.csv/.parquet files (text and label columns), e.g. "
        "make model TRAIN_DATA=my_train.jsonl DEV_DATA=my_dev.jsonl",
        "trains on",
    ),
    "dev": DefaultSource(
        ("amazon-reviews/dev.jsonl", "amazon-stars/dev.jsonl"),
        "amazon_polarity:test",
        2_000,
        "point DEV_DATA at your own .jsonl/.csv/.parquet file (text and label columns), e.g. make model "
        "DEV_DATA=my_dev.jsonl",
        "is judged on",
    ),
    "extra": DefaultSource(
        ("sst2/train.jsonl",),
        "stanfordnlp/sst2:train",
        0,
        "mix in none with MODEL_ARGS=\"--extra-train-data ''\", or your own file with --extra-train-data",
        "mixes in",
    ),
}
# The dev sets `make eval` scores by default, each <name>/dev.jsonl under the shared data.
DEV_SETS = ("amazon-reviews", "amazon-stars", "amazon-sentences", "sst2")
FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
# A source ending in a file extension is a file, even when missing or of an unsupported type: Hub names
# (`amazon_polarity:test`, `stanfordnlp/sst2`) have none, and a typo should not become a Hub lookup.
FILE_EXTENSION = re.compile(r"\.[A-Za-z][A-Za-z0-9]*$")
# Strict UTF-8 (a byte order mark allowed): with plain "utf8" pyarrow turns invalid text into bytes silently.
TEXT_ENCODING = "utf-8-sig"
TEXT_COLUMNS = ("text", "sentence", "content", "review")
NO_OPTIONS = LabelOptions()


@dataclass(frozen=True)
class Examples:
    """Texts with class ids into `names` (a tuple of ids per text when `multi_label`), and their source."""

    texts: list[str]
    labels: list[Any]
    source: str
    sha256: str | None = None
    names: tuple[str, ...] = BINARY
    multi_label: bool = False
    label_column: str = ""
    label_map: str = ""

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: list[int]) -> Examples:
        return replace(self, texts=[self.texts[i] for i in indices], labels=[self.labels[i] for i in indices])

    def plus(self, other: Examples) -> Examples:
        """These rows, then `other`'s (same classes, matched by name), under this source's name."""
        if self.multi_label != other.multi_label:
            kinds = {True: "lists of labels", False: "one label per row"}
            raise DataError(
                f"{other.source} has {kinds[other.multi_label]}, {self.source} {kinds[self.multi_label]}: "
                "sources of one build must agree"
            )
        mapping = relabelling(other.names, self.names, other.source)
        moved = [tuple(mapping[i] for i in y) if other.multi_label else mapping[y] for y in other.labels]
        return replace(self, texts=self.texts + other.texts, labels=self.labels + moved)

    def counts(self) -> list[int]:
        """Texts per class (a multi-label text counts for each of its classes)."""
        found = [0] * len(self.names)
        for y in self.labels:
            for k in y if self.multi_label else (y,):
                found[k] += 1
        return found

    def provenance(self) -> dict[str, object]:
        found = {"path": self.source, "sha256": self.sha256, "rows": len(self)}
        return found | {key: value for key in ("label_column", "label_map") if (value := getattr(self, key))}


def combine(parts: list[Examples]) -> Examples:
    """Several sources' examples as one, under the first's source name: classes matched by name, the first
    source's order first, then any class another source adds."""
    spellings = {name.casefold(): name for part in reversed(parts) for name in reversed(part.names)}
    names = tuple(dict.fromkeys(spellings[name.casefold()] for part in parts for name in part.names))
    first = replace(parts[0], texts=[], labels=[], names=names)
    for part in parts:
        first = first.plus(part)
    return first


def fit_problem(examples: Examples, multi_label: bool) -> Examples:
    """`examples` as the model's problem type asks: single labels become one-label sets for a multi-label
    model; label sets cannot be scored by a single-label model.

    Raises:
        DataError: multi-label data for a single-label model.
    """
    if examples.multi_label == multi_label:
        return examples
    if not multi_label:
        raise DataError(f"{examples.source} has lists of labels, but the model is single-label")
    return replace(examples, labels=[(y,) for y in examples.labels], multi_label=True)


def relabelling(names: tuple[str, ...], target: tuple[str, ...], source: str) -> list[int]:
    """Class id in `names` -> class id in `target`, matched by name without case.

    Raises:
        DataError: a class of `names` that `target` does not have.
    """
    folded = {name.casefold(): i for i, name in enumerate(target)}
    missing = [name for name in names if name.casefold() not in folded]
    if missing:
        raise DataError(f"{source} has labels {missing} that are not among {list(target)}")
    return [folded[name.casefold()] for name in names]


def shared_data() -> Path:
    """The folder of the shared data sets: SENTIMENT_SHARED_DATA when set, else ../shared/data."""
    return Path(os.environ.get(SHARED_DATA_VARIABLE) or SHARED_DATA)


def shared_files(role: str) -> list[Path]:
    """The files of a role's default that this machine has."""
    return [path for name in DEFAULT_SOURCES[role].files if (path := shared_data() / name).exists()]


def resolve_sources(spec: str, role: str) -> list[tuple[str, int]]:
    """The data sources a train/dev/extra setting names (several separated by commas), each with a row cap
    (0 = none). `default` stands for the role's shared files that this machine has; where it has none (a
    user's machine), the role's public Hub data set, capped (`stand_in_notice` says so at the build's
    start)."""
    found: list[tuple[str, int]] = []
    for source in (part.strip() for part in spec.split(",")):
        if source != "default":
            found += [(source, 0)] if source else []
        elif present := shared_files(role):
            found += [(str(path), 0) for path in present]
        else:
            found.append((DEFAULT_SOURCES[role].hub, DEFAULT_SOURCES[role].cap))
    return found


def stand_in_notice(specs: dict[str, str]) -> str | None:
    """One line for the start of a build whose `default` data (role -> setting) is not on this machine: the
    Hub data sets that stand in, and that the published figures need the shared data; None when it is."""
    missing = {
        role: DEFAULT_SOURCES[role]
        for role, spec in specs.items()
        if "default" in (part.strip() for part in spec.split(",")) and not shared_files(role)
    }
    if not missing:
        return None
    used = ", ".join(
        f"{source.use} the Hub's {source.hub}" + (f" ({source.cap:,} rows)" if source.cap else "")
        for source in missing.values()
    )
    files = ", ".join(name for source in missing.values() for name in source.files)
    return (
        f"{shared_data()} has none of {files} (the project's data; {SHARED_DATA_VARIABLE}=DIR points at a "
        f"copy): the build {used} instead, so the figures the README publishes, measured on that data, will "
        "differ; to use your own data, point TRAIN_DATA= and DEV_DATA= at .jsonl/.csv/.parquet files"
    )


def load_examples(
    source: str,
    *,
    seed: int | None = None,
    limit: int = 0,
    text_column: str = "",
    labels: LabelOptions = NO_OPTIONS,
    names: tuple[str, ...] = (),
) -> Examples:
    """Load labelled texts, shuffled with `seed` when given, then capped at `limit` rows (0 = all).

    The text comes from `text_column` when given, else from the first of TEXT_COLUMNS present. Labels are
    read by `export.labels.read_labels`, as class ids into `names` when given (dev data, a model's labels).

    Raises:
        DataError: missing, empty, unsupported or unreadable file, missing column, unknown label, Hub
            unreachable.
    """
    path = Path(source)
    if FILE_EXTENSION.search(source) or path.exists():
        table, source, digest = _read_file(path), str(path), sha256(path)
    else:
        table, digest = _read_hub(source, seed or 0, limit), None
    examples = _from_columns(table, source, text_column, labels, names, digest)
    if seed is not None:
        examples = examples.take(shuffled(len(examples), seed))
    return examples.take(list(range(min(limit, len(examples))))) if limit else examples


def shuffled(n: int, seed: int) -> list[int]:
    """A permutation of range(n) that depends only on `seed`."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return order


def split(examples: Examples, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Deterministic stratified split into (kept, held-out) row indices, each label (or label set, for
    multi-label texts) keeping its share."""
    held: list[int] = []
    for label in sorted(set(examples.labels)):
        rows = [i for i, y in enumerate(examples.labels) if y == label]
        rows = [rows[i] for i in shuffled(len(rows), seed)]
        held += rows[: max(1, round(len(rows) * fraction))]
    return sorted(set(range(len(examples))) - set(held)), sorted(held)


def _read_file(path: Path) -> dict[str, list]:
    """Columns of a data file. JSONL is parsed row by row: its rows may mix label types (1 and "POSITIVE")."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    if suffix not in FILE_SUFFIXES:
        raise DataError(
            f"unsupported data file {path}: the name must end in one of {', '.join(FILE_SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise DataError(f"data file is empty: {path}")
    from pyarrow import csv, parquet

    try:
        if suffix in (".jsonl", ".json"):
            return _read_jsonl(path)
        if suffix == ".csv":
            return csv.read_csv(path, read_options=csv.ReadOptions(encoding=TEXT_ENCODING)).to_pydict()
        return parquet.read_table(path).to_pydict()
    except UnicodeDecodeError as exc:
        raise DataError(f"cannot read {path}: it is not UTF-8 text ({exc.reason})") from exc
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc


def _read_jsonl(path: Path) -> dict[str, list]:
    columns: dict[str, list] = {}
    lines = [line for line in path.read_text(encoding=TEXT_ENCODING).splitlines() if line.strip()]
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"cannot read {path}: line {number} is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DataError(f"cannot read {path}: line {number} is not a JSON object")
        for key in row.keys() - columns.keys():
            columns[key] = [None] * (number - 1)
        for key, values in columns.items():
            values.append(row.get(key))
    return columns


def _read_hub(name: str, seed: int, limit: int) -> dict[str, list]:
    """A Hub data set `name[:split]` (default split: train), a random `limit` rows of it when limit > 0."""
    import datasets

    dataset, _, part = name.partition(":")
    try:
        rows = datasets.load_dataset(dataset, split=part or "train")
    except Exception as exc:  # the Hub raises many unrelated types when it cannot be reached
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        stands_in = [source for source in DEFAULT_SOURCES.values() if source.hub == name]
        if stands_in:  # a default whose shared files are not here: say how to do without both
            raise DataError(
                f"no {', '.join(stands_in[0].files)} under {shared_data()} ({SHARED_DATA_VARIABLE}), and the "
                f"Hub's {name}, which stands in for them, is unavailable ({first}): {stands_in[0].instead}"
            ) from exc
        raise DataError(
            f"Hub data set {name!r} unavailable (no such set, or the Hub is unreachable): {first}"
        ) from exc
    if limit:
        rows = rows.shuffle(seed=seed).select(range(min(limit, len(rows))))
    return rows.to_dict()


def _from_columns(
    table: dict[str, list],
    source: str,
    wanted: str,
    options: LabelOptions,
    names: tuple[str, ...],
    digest: str | None,
) -> Examples:
    if not table or not next(iter(table.values())):
        raise DataError(f"no rows in {source}")
    columns = set(table)
    text_column = (
        wanted if wanted in columns else next((c for c in TEXT_COLUMNS if c in columns and not wanted), None)
    )
    if text_column is None:
        missing = wanted or f"text (or one of {', '.join(TEXT_COLUMNS[1:])})"
        raise DataError(f"{source} has no '{missing}' column (columns: {', '.join(sorted(columns))})")
    texts = [str(t or "") for t in table[text_column]]
    if (
        text_column == "content" and "title" in columns and not wanted
    ):  # amazon_polarity: the title carries sentiment too
        texts = [
            f"{title}. {body}" if title else body for title, body in zip(table["title"], texts, strict=True)
        ]
    labelled = read_labels(table, source, options, names)
    return Examples(
        [texts[row] for row in labelled.kept],
        labelled.ids,
        source,
        digest,
        labelled.names,
        labelled.multi_label,
        labelled.column,
        labelled.label_map,
    )
