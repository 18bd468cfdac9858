"""CLI: `python -m image deps|local-base|build|test` (make image-deps, local-base, image, image-test)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from image.build import DEFAULT_MODEL, IMAGE, BuiltImage, build_image
from image.local_base import STANDIN_IMAGE, build_local_base
from image.tools import ImageError, install_tools
from image.verify import verify_image


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The subcommands and their options; defaults are what the Makefile targets want."""
    parser = argparse.ArgumentParser(prog="python -m image", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    deps = commands.add_parser(
        "deps", help="nothing when docker (or CDK_DOCKER) answers; else buildah and mmdebstrap with apt"
    )
    deps.add_argument(
        "--buildah", action="store_true", help="buildah and mmdebstrap whatever answers (make local-base)"
    )
    base = commands.add_parser("local-base", help="build the stand-in for the AWS Lambda Python base image")
    base.add_argument("--tag", default=STANDIN_IMAGE, help="name of the stand-in image")
    build = commands.add_parser("build", help="build the Lambda image (docker or CDK_DOCKER, else buildah)")
    build.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="artifact directory to bake in")
    build.add_argument("--tag", default=IMAGE, help="name of the image")
    build.add_argument("--base-image", help="base image (default: the AWS base, else the local stand-in)")
    test = commands.add_parser("test", help="run the image under its emulator and check its answers")
    test.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="artifact directory baked into it")
    test.add_argument("--tag", default=IMAGE, help="name of the image")
    return parser.parse_args(argv)


def report_build(built: BuiltImage) -> None:
    """Say what was built, and whether Lambda takes its manifest (a push writes it as it is)."""
    verdict = "one image manifest, as Lambda needs" if built.lambda_accepts else "an index: Lambda refuses it"
    logging.info("built %s with %s on %s: %s uncompressed", built.tag, built.engine, built.base, built.size)
    logging.info("manifest %s: %s", built.manifest, verdict)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; a domain error becomes one `error: ...` line and exit status 2."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    try:
        if args.command == "deps":
            install_tools(buildah=args.buildah)
        elif args.command == "local-base":
            build_local_base(args.tag)
        elif args.command == "build":
            report_build(build_image(args.model, args.tag, args.base_image))
        else:
            verify_image(args.tag, args.model)
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
