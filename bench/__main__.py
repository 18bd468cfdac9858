"""`python -m bench [--quick] [--option value ...]`: run the benchmark and write build/reports/bench.*."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from bench.config import QUICK, BenchConfig
from bench.errors import BenchError
from export.options import add_options, given, one_line


def parser() -> argparse.ArgumentParser:
    """The CLI: one option per BenchConfig field, so every knob has exactly one definition and help text."""
    cli = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    cli.add_argument(
        "--quick", action="store_true", help="tiny settings (smoke test): every stage, no statistics"
    )
    add_options(cli, BenchConfig)
    return cli


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, write reports; bad options or a BenchError end with one `error:` line, status 2."""
    cli = parser()
    args = cli.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    try:  # the options given win over the --quick preset
        config = BenchConfig(**((QUICK if args.quick else {}) | given(args, BenchConfig)))
    except ValidationError as err:
        cli.exit(2, f"error: {one_line(err)}\n")
    from bench.plots import write_plots  # heavy imports only once the options are known to be valid
    from bench.report import write_reports
    from bench.run import run

    try:
        results = run(config)
    except BenchError as err:
        cli.exit(2, f"error: {err}\n")
    written = write_reports(results, config.out_dir) + write_plots(results, config.out_dir)
    logging.getLogger("bench").info("wrote %s", ", ".join(map(str, written)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
