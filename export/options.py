"""Command-line options from a pydantic settings model, and its validation errors as one line.

The model is the one definition of a knob (type, default, constraints, description); argparse only
collects strings, which pydantic then converts and checks, so a value given on the command line, in a
JSON file or in code passes the same checks. `python -m export build` and `python -m bench` use it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError

from export.errors import ExportError
from handler.errors import SentimentError
from handler.rows import problem


def add_options(parser: argparse.ArgumentParser, model: type[BaseModel], skip: tuple[str, ...] = ()) -> None:
    """One `--kebab-case` option per field of `model` but `skip`: help = description + default.

    An option's default is None, meaning "not given", so a preset or a config file keeps its value; a
    tuple field takes one or more values (`--memory-sizes-mb 512 1024`).
    """
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        many = get_origin(field.annotation) in (tuple, list)
        shown = " ".join(map(str, field.default)) if many else field.default
        parser.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            default=None,
            nargs="+" if many else None,
            help=f"{field.description} (default: {shown})".replace("%", "%%"),
        )


def given(args: argparse.Namespace, model: type[BaseModel]) -> dict[str, Any]:
    """The fields of `model` that the command line set."""
    return {name: value for name in model.model_fields if (value := getattr(args, name, None)) is not None}


def one_line(error: ValidationError, where: str = "") -> str:
    """pydantic's first problem as one line that names the setting (and `where` it was given).

    A validator's own message (a ValueError) already names what it checks and is kept as it is.
    """
    first = error.errors(include_url=False)[0]
    name = ".".join(str(part) for part in first["loc"])
    if first["type"] == "extra_forbidden":
        return f"unknown setting {name!r}{where}"
    if not name:  # a problem of the whole input (not an object, not JSON)
        return f"{problem(error)}{where}"
    if first["type"] == "value_error":
        return problem(error)
    return f"setting {name!r}{where}: {problem(error)}, got {first['input']!r}"


def run_cli(
    parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], None], argv: list[str] | None
) -> int:
    """Parse, run, and turn an expected failure into one `error:` line and exit status 2 (never a trace).

    Milestones of the export package log at INFO; libraries (the ORT quantizer logs every tensor) only
    when they warn.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("export").setLevel(logging.INFO)
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ExportError, SentimentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
