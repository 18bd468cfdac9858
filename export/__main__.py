"""`python -m export build|evaluate`: CLI generated from ExportConfig; domain errors exit 2 in one line."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from export.config import ExportConfig, field_specs
from export.errors import ExportError
from handler.errors import SentimentError

log = logging.getLogger("export")


def parser() -> argparse.ArgumentParser:
    """Subcommands `build` (one option per ExportConfig field, plus --config FILE.json) and `evaluate`."""
    root = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="fine-tune, export, quantize and gate -> artifact directory")
    build.add_argument("--config", type=Path, help="JSON file of settings; options given here override it")
    for name, kind, default, text in field_specs():
        if name == "fine_tune":  # a pair of flags: --fine-tune / --no-fine-tune (default: auto)
            flags = build.add_mutually_exclusive_group()
            flags.add_argument("--fine-tune", dest=name, action="store_const", const="yes", help=text)
            flags.add_argument("--no-fine-tune", dest=name, action="store_const", const="no")
            continue
        # default=None marks "not given", so a --config file value is not overridden by a CLI default
        build.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=kind,
            default=None,
            help=f"{text} (default: {default})",
        )
    evaluate = commands.add_parser(
        "evaluate", help="accuracy, F1, confusion matrix of an artifact on a data file"
    )
    evaluate.add_argument("--model", type=Path, default=Path("build/model"), help="artifact directory")
    evaluate.add_argument(
        "--data",
        help="labelled .jsonl/.csv/.parquet file or Hub data set (default: every dev set under "
        "../shared/data, read against the model's labels: one table)",
    )
    evaluate.add_argument("--reports-dir", type=Path, default=Path("build/reports"), help="where reports go")
    evaluate.add_argument("--label-column", default="", help="column of the labels (as for build)")
    evaluate.add_argument("--label-map", default="", help="raw value -> class (as for build)")
    return root


def config_from(args: argparse.Namespace) -> ExportConfig:
    """ExportConfig from the JSON file (if any) with the explicitly given options on top."""
    given = {name: getattr(args, name) for name, *_ in field_specs() if getattr(args, name) is not None}
    if args.config:
        return ExportConfig.from_json_file(args.config, **given)
    return replace(ExportConfig(), **given)


def run(args: argparse.Namespace) -> None:
    """Dispatch one subcommand; heavy imports (torch, optimum) happen only when needed."""
    if args.command == "build":
        config = config_from(args)  # bad settings fail here, before the slow torch import
        from export.pipeline import build

        build(config)
        return
    from export.evaluate import evaluate_sets, table

    rows = evaluate_sets(
        args.model, [args.data] if args.data else None, args.reports_dir, args.label_column, args.label_map
    )
    print(table(rows))


def main(argv: list[str] | None = None) -> int:
    # Milestones of this package at INFO; libraries (the ORT quantizer logs every tensor) only when they warn.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    log.setLevel(logging.INFO)
    args = parser().parse_args(argv)
    try:
        run(args)
    except (ExportError, SentimentError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
