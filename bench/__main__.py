"""`python -m bench [--quick] [--option value ...]`: run the benchmark and write build/reports/bench.*."""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import MISSING, fields, replace

from bench.config import BenchConfig
from bench.errors import BenchError


def parser() -> argparse.ArgumentParser:
    """The CLI, generated from BenchConfig so every knob has exactly one definition and help text."""
    cli = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    cli.add_argument(
        "--quick", action="store_true", help="tiny settings (smoke test): every stage, no statistics"
    )
    for f in fields(BenchConfig):
        default = f.default if f.default is not MISSING else None
        option = "--" + f.name.replace("_", "-")
        if isinstance(default, tuple):
            cli.add_argument(
                option, type=int, nargs="+", default=None, help=f"{f.metadata['help']} ({default})"
            )
        else:
            cli.add_argument(
                option, type=type(default), default=None, help=f"{f.metadata['help']} ({default})"
            )
    return cli


def main(argv: list[str] | None = None) -> int:
    """Parse options, run, write reports; bad options or a BenchError end with one `error:` line, status 2."""
    cli = parser()
    args = vars(cli.parse_args(argv))
    quick = args.pop("quick")
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items() if v is not None}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    try:
        config = replace(BenchConfig().quick() if quick else BenchConfig(), **given)
    except ValueError as err:
        cli.exit(2, f"error: {err}\n")
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
