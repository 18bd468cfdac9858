"""`python -m export.aspects build|evaluate`: the aspect model (make model-aspects, make eval
MODEL_DIR=build/aspects). Options come from AspectConfig; bad input exits 2 in one line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from export.aspects.config import ASPECTS_DIR, AspectConfig
from export.options import add_options, given, run_cli


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m export.aspects", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    build = commands.add_parser(
        "build", help="fine-tune (or take as is), export, quantize and gate an aspect tagger"
    )
    add_options(build, AspectConfig)
    evaluate = commands.add_parser("evaluate", help="pair and extraction F1 of an aspect artifact, as served")
    evaluate.add_argument("--model", type=Path, default=ASPECTS_DIR, help="aspect artifact directory")
    evaluate.add_argument(
        "--data",
        nargs="+",
        help="aspect JSONL files (default: the dev data the build judged the model on, carved alike)",
    )
    return root


def run(args: argparse.Namespace) -> None:
    """Dispatch; torch and optimum are imported only by a build."""
    if args.command == "build":
        config = AspectConfig(**given(args, AspectConfig))  # bad settings fail before torch loads
        from export.aspects.pipeline import build

        build(config)
        return
    from export.aspects.evaluate import evaluate_aspects, table

    print(table(evaluate_aspects(args.model, args.data)))


def main(argv: list[str] | None = None) -> int:
    return run_cli(parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
