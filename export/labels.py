"""How a data file's label values become class names: names, integer ids, lists (multi-label), star ratings.

Labels come from the data and the user's options, never from a fixed tuple. The rules, in order:

- `--label-map` maps raw values (numbers, ranges of integers, or strings) to class names, `drop` dropping
  a row: `1-2:negative,3:neutral,4-5:positive`. Presets name the usual star conventions (`PRESETS`).
- A row's value may be a class name, an integer class id (names from `--labels`), or a list of names or ids
  (multi-label). One file holds one kind; mixing them is an error.
- 0/1 and NEGATIVE/POSITIVE/neg/pos (any case, mixed freely) are the binary sentiment convention of this
  project's first data sets: they name the classes NEGATIVE and POSITIVE, or the classes of those names
  (compared without case) in the labels being matched, whatever their order.
- Data with a `stars` column and no `label` column reads `stars`, with the preset whose names match the
  labels asked for; for a model being trained, the binary convention (1-2 negative, 4-5 positive, 3 dropped).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from export.errors import ConfigError, DataError

log = logging.getLogger(__name__)

BINARY = ("NEGATIVE", "POSITIVE")
LABEL_COLUMN = "label"
STARS_COLUMN = "stars"
DROP = "drop"
PRESETS = {
    "stars-binary": "1-2:NEGATIVE,3:drop,4-5:POSITIVE",
    "stars-3": "1-2:negative,3:neutral,4-5:positive",
    "stars-5": "1:1 star,2:2 stars,3:3 stars,4:4 stars,5:5 stars",
}
_LEGACY = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1}
_RANGE = re.compile(r"^(-?\d+)\s*-\s*(-?\d+)$")


@dataclass(frozen=True)
class LabelMap:
    """Raw value keys (`value_key`) -> class name, or None for a dropped row; `names` in the map's order."""

    spec: str
    entries: dict[str, str | None]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for name in self.entries.values() if name is not None))

    @property
    def reads_stars(self) -> bool:
        """A preset of star ratings: it reads the `stars` column unless another is named."""
        return self.spec in PRESETS


def parse_label_map(spec: str) -> LabelMap:
    """`1-2:negative,3:neutral,4-5:positive`, `pos:POSITIVE,neg:NEGATIVE` or a preset name.

    Raises:
        ConfigError: a malformed entry, an empty range, a value mapped twice, or nothing kept.
    """
    text = PRESETS.get(spec, spec)
    entries: dict[str, str | None] = {}
    for part in (p.strip() for p in text.split(",")):
        value, sep, name = part.rpartition(":")
        name = name.strip()
        if not sep or not value.strip() or not name:
            raise ConfigError(
                f"label_map entry {part!r} must be VALUE:NAME or LOW-HIGH:NAME "
                f"(presets: {', '.join(PRESETS)})"
            )
        span = _RANGE.match(value.strip())
        keys = [str(v) for v in range(int(span[1]), int(span[2]) + 1)] if span else [value_key(value)]
        if not keys:
            raise ConfigError(f"label_map range {value.strip()!r} is empty (write LOW-HIGH, LOW <= HIGH)")
        for key in keys:
            if key in entries:
                raise ConfigError(f"label_map maps the value {key!r} twice")
            entries[key] = None if name.lower() == DROP else name
    mapping = LabelMap(spec, entries)
    if not mapping.names:
        raise ConfigError(f"label_map {spec!r} drops every value: name at least one class")
    return mapping


def parse_names(text: str) -> tuple[str, ...]:
    """`--labels a,b,c` -> ("a", "b", "c").

    Raises:
        ConfigError: an empty name, or a name given twice (compared without case).
    """
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise ConfigError(f"labels {text!r} has an empty name: write --labels a,b,c")
    folded = [name.casefold() for name in names]
    if len(set(folded)) != len(folded):
        raise ConfigError(f"labels {text!r} names a class twice")
    return names


def value_key(value: Any) -> str:
    """The key a raw value is looked up by: integral numbers as integers (4.0, "4": 4), text case-folded."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(int(value)) if float(value).is_integer() else str(value)
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text.casefold()
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text.casefold()


@dataclass(frozen=True)
class LabelOptions:
    """What the user said about labels: `--labels`, `--label-column`, `--label-map` ('' = not given)."""

    names: str = ""
    column: str = ""
    label_map: str = ""

    def parsed_map(self) -> LabelMap | None:
        return parse_label_map(self.label_map) if self.label_map else None

    def parsed_names(self) -> tuple[str, ...]:
        return parse_names(self.names) if self.names else ()


@dataclass(frozen=True)
class Labelled:
    """A column's labels as class ids: one id per row, or a tuple of ids per row (multi-label)."""

    ids: list[Any]
    names: tuple[str, ...]
    multi_label: bool
    kept: list[int]  # the rows kept (a label map may drop some), in order
    column: str
    label_map: str


def choose_column(columns: Sequence[str], options: LabelOptions, source: str) -> str:
    """The label column: the one named, else `stars` for a star preset, else `label`, else `stars`."""
    mapping = options.parsed_map()
    if options.column:
        wanted = options.column
    elif mapping is not None and mapping.reads_stars and STARS_COLUMN in columns:
        wanted = STARS_COLUMN
    elif LABEL_COLUMN in columns or STARS_COLUMN not in columns:
        wanted = LABEL_COLUMN
    else:
        wanted = STARS_COLUMN
    if wanted not in columns:
        raise DataError(f"{source} has no '{wanted}' column (columns: {', '.join(sorted(columns))})")
    return wanted


def star_preset(target: tuple[str, ...]) -> str:
    """The star preset for `target` names (matched without case; the one that produces most of them), or the
    binary convention for none.

    Raises:
        DataError: names that no preset produces; the user must say with --label-map.
    """
    if not target:
        return "stars-binary"
    folded = {name.casefold() for name in target}
    fitting = [  # every class a preset produces must be one of the target's; the most classes win
        preset for preset in PRESETS if {name.casefold() for name in parse_label_map(preset).names} <= folded
    ]
    if fitting:
        return max(fitting, key=lambda preset: len(parse_label_map(preset).names))
    raise DataError(
        f"star ratings cannot be matched to the labels {list(target)}: give --label-map (e.g. "
        "'1-2:negative,3:neutral,4-5:positive')"
    )


def read_labels(
    table: dict[str, list], source: str, options: LabelOptions, target: tuple[str, ...] = ()
) -> Labelled:
    """The label column of `table` as class ids, against the `target` names if given (dev data, a model's
    labels), else with names taken from the options and the data (train data).

    Raises:
        DataError: no label column, a missing or unmapped value, mixed kinds, integer ids without names,
            a name outside `target` or `--labels`.
    """
    column = choose_column(list(table), options, source)
    mapping = options.parsed_map()
    if mapping is not None and mapping.reads_stars and column != STARS_COLUMN:
        mapping = None  # a star preset reads star ratings; a file labelled with class names is read as such
    if mapping is None and column == STARS_COLUMN:
        preset = star_preset(target or options.parsed_names())
        log.info("%s: star ratings read with --label-map %s (%s)", source, preset, PRESETS[preset])
        mapping = parse_label_map(preset)
    values, kept = [], []
    for row, value in enumerate(table[column]):
        if mapping is not None:
            if value is None or isinstance(value, (bool, list)) or value_key(value) not in mapping.entries:
                raise DataError(
                    f"{source} row {row + 1}: {column} {value!r} is not in the label map "
                    f"({mapping.spec}: maps {', '.join(mapping.entries)})"
                )
            value = mapping.entries[value_key(value)]
            if value is None:
                continue
        values.append(value)
        kept.append(row)
    if not values:
        raise DataError(f"no rows left in {source}: the label map dropped them all")
    kind = _kind(values, source, column, kept)
    names = _names(values, kind, target, options, mapping, source)
    folded = {name.casefold(): i for i, name in enumerate(names)}
    if kind == "legacy" and len(names) != 2 and not {"negative", "positive"} <= folded.keys():
        raise DataError(
            f"{source}: 0/1 labels mean NEGATIVE/POSITIVE, which the labels {list(names)} do not have: give "
            "data labelled with these classes"
        )
    ids = [_ids(value, kind, names, folded, source, kept[i]) for i, value in enumerate(values)]
    return Labelled(ids, names, kind == "list", kept, column, mapping.spec if mapping is not None else "")


def _kind(values: list[Any], source: str, column: str, rows: list[int]) -> str:
    """ "legacy" (0/1 and NEGATIVE/POSITIVE), "id" (integers), "name" (strings) or "list" (multi-label)."""
    first: dict[str, int] = {}
    for value, row in zip(values, rows, strict=True):
        if (
            value is None
            or isinstance(value, (bool, dict))
            or (isinstance(value, float) and math.isnan(value))
        ):
            raise DataError(f"{source} row {row + 1}: {column} {value!r} is not a label")
        first.setdefault(_value_kind(value), row)
    kinds = set(first)
    for allowed, kind in (
        ({"list"}, "list"),
        ({"binary id", "binary name"}, "legacy"),
        ({"binary id", "id"}, "id"),
        ({"binary name", "name"}, "name"),
    ):
        if kinds <= allowed:
            return kind
    described = ", ".join(
        f"{kind} (row {row + 1})" for kind, row in sorted(first.items(), key=lambda kv: kv[1])
    )
    raise DataError(
        f"{source}: the {column} column mixes label kinds: {described}; use one of class names, integer ids "
        "or lists of names"
    )


def _value_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    key = value_key(value)
    if key in _LEGACY:
        return "binary id" if key.isdigit() else "binary name"
    return "id" if re.fullmatch(r"-?\d+", key) else "name"


def _names(
    values: list[Any],
    kind: str,
    target: tuple[str, ...],
    options: LabelOptions,
    mapping: LabelMap | None,
    source: str,
) -> tuple[str, ...]:
    """The class names of the result: `target`, else --labels, else the map's, else from the data."""
    if target:
        return target
    if given := options.parsed_names():
        return given
    if mapping is not None:
        return mapping.names
    if kind == "legacy":
        return BINARY
    if kind == "id":
        raise DataError(
            f"{source} has integer labels other than 0/1: name the classes in id order with --labels a,b,c"
        )
    flat = [v for value in values for v in (value if kind == "list" else [value])]
    if kind == "list" and any(_value_kind(v) != "name" for v in flat):
        raise DataError(f"{source}: lists of integer ids need --labels a,b,c to name the classes")
    unique = {str(v).strip().casefold(): str(v).strip() for v in reversed(flat)}  # first spelling wins
    return tuple(sorted(unique.values(), key=str.casefold))


def _ids(value: Any, kind: str, names: tuple[str, ...], folded: dict[str, int], source: str, row: int) -> Any:
    if kind == "list":
        return tuple(sorted({_one(v, "name", names, folded, source, row) for v in value}))
    return _one(value, kind, names, folded, source, row)


def _one(value: Any, kind: str, names: tuple[str, ...], folded: dict[str, int], source: str, row: int) -> int:
    key = value_key(value)
    if kind == "legacy" and {"negative", "positive"} <= folded.keys():
        return folded[("negative", "positive")[_LEGACY[key]]]
    if re.fullmatch(r"-?\d+", key) and key not in folded:
        index = int(key)
        if 0 <= index < len(names):
            return index
        raise DataError(
            f"{source} row {row + 1}: label id {index} is not in 0..{len(names) - 1} ({list(names)})"
        )
    if key not in folded:
        raise DataError(f"{source} row {row + 1}: unknown label {value!r} (expected one of {list(names)})")
    return folded[key]
