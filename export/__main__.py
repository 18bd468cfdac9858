"""`python -m export build|evaluate|ngram-tables|window-cost`: options generated from ExportConfig; bad
input exits 2 in one line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.aspects.config import ASPECTS_DIR
from export.config import REPORTS_DIR, ExportConfig
from export.errors import ExportError
from export.options import add_options, given, run_cli
from handler.aspects import is_aspect_artifact
from handler.settings import BUILT_MODEL_DIR


def parser() -> argparse.ArgumentParser:
    """Subcommands `build` (one option per ExportConfig field, plus --config FILE.json) and `evaluate`."""
    root = argparse.ArgumentParser(prog="python -m export", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="fine-tune, export, quantize and gate -> artifact directory")
    build.add_argument("--config", type=Path, help="JSON file of settings; options given here override it")
    add_options(build, ExportConfig, skip=("fine_tune",))
    flags = build.add_mutually_exclusive_group()  # fine_tune is a pair of flags (default: auto)
    text = ExportConfig.model_fields["fine_tune"].description
    flags.add_argument("--fine-tune", dest="fine_tune", action="store_const", const="yes", help=text)
    flags.add_argument("--no-fine-tune", dest="fine_tune", action="store_const", const="no")
    evaluate = commands.add_parser(
        "evaluate", help="accuracy, F1, confusion matrix of an artifact on a data file"
    )
    evaluate.add_argument("--model", type=Path, default=BUILT_MODEL_DIR, help="artifact directory")
    evaluate.add_argument(
        "--data",
        help="labelled .jsonl/.csv/.parquet file or Hub data set (default: every dev set under "
        "../shared/data or SENTIMENT_SHARED_DATA, read against the model's labels: one table; none there: "
        "the figures the manifest recorded at build time)",
    )
    evaluate.add_argument(
        "--aspects",
        type=Path,
        default=ASPECTS_DIR,
        help="aspect model (make model-aspects) whose pair and extraction F1 follow, on its own dev data, "
        "when it is there and --data is not given; an aspect model as --model is scored alone",
    )
    evaluate.add_argument("--reports-dir", type=Path, default=REPORTS_DIR, help="where reports go")
    evaluate.add_argument("--label-column", default="", help="column of the labels (as for build)")
    evaluate.add_argument("--label-map", default="", help="raw value -> class (as for build)")
    tables = commands.add_parser(
        "ngram-tables", help="add ngrams.npz to an artifact built before the build wrote it (model unchanged)"
    )
    tables.add_argument("--model", type=Path, default=BUILT_MODEL_DIR, help="artifact directory")
    cost = commands.add_parser(
        "window-cost",
        help="measure what one full window costs on this machine and record it in the manifest of an "
        "artifact built before the build did (model unchanged): what the stack sizes memory by",
    )
    cost.add_argument("--model", type=Path, default=BUILT_MODEL_DIR, help="artifact directory")
    return root


def config_from(args: argparse.Namespace) -> ExportConfig:
    """ExportConfig from the JSON file (if any) with the explicitly given options on top.

    Raises:
        ConfigError: a bad value, from either, in one line.
    """
    options = given(args, ExportConfig)
    return ExportConfig.from_json_file(args.config, **options) if args.config else ExportConfig(**options)


def run(args: argparse.Namespace) -> None:
    """Dispatch one subcommand; heavy imports (torch, optimum) happen only when needed."""
    if args.command == "build":
        config = config_from(args)  # bad settings fail here, before the slow torch import
        from export.pipeline import build

        build(config)
        return
    if args.command == "ngram-tables":
        from export.blending import add_tables

        add_tables(args.model)
        return
    if args.command == "window-cost":
        from export.window_cost import add_window_cost

        add_window_cost(args.model)
        return
    from export.aspects.evaluate import evaluate_aspects
    from export.aspects.evaluate import table as aspect_table
    from export.evaluate import evaluate_sets, table
    from export.recorded import recorded_figures

    if is_aspect_artifact(args.model):
        print(aspect_table(evaluate_aspects(args.model, [args.data] if args.data else None)))
        return
    rows = evaluate_sets(
        args.model, [args.data] if args.data else None, args.reports_dir, args.label_column, args.label_map
    )
    print(table(rows) if rows else recorded_figures(args.model))
    if args.data is None and is_aspect_artifact(args.aspects):
        try:  # the sentence model's table stands whether or not the aspect model's dev data is here
            aspects = aspect_table(evaluate_aspects(args.aspects))
        except ExportError as exc:
            aspects = f"not scored: {exc}"
        print(f"\nAspects ({args.aspects}):\n{aspects}")


def main(argv: list[str] | None = None) -> int:
    return run_cli(parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
