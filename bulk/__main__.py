"""`python -m bulk score|start|status`: score a file here, or a bucket prefix on AWS with the stack's
Distributed Map (`make score`, `make bulk`, `make bulk-status`). Errors end in one line and status 2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as AwsError
from pydantic import ValidationError

from bulk import aws
from bulk.read import InputError
from bulk.score import score_file
from client.calls import DEFAULT_STACK, ClientError
from handler.errors import ArtifactError
from handler.rows import Columns
from handler.settings import BUILT_MODEL_DIR


def _columns(args: argparse.Namespace) -> Columns:
    return Columns(text=args.text_column, id=args.id_column, all_scores=args.all_scores, explain=args.explain)


def _score(args: argparse.Namespace) -> None:
    if args.output.suffix != ".jsonl":
        raise InputError(f"OUT={args.output} must end in .jsonl: one JSON object per scored row")
    if args.output.resolve() == args.input.resolve():
        raise InputError(f"OUT={args.output} is the input file")
    report = score_file(
        args.input,
        args.output,
        model_dir=args.model,
        columns=_columns(args),
        workers=args.workers,
        threads=args.threads,
        progress=not args.no_progress,
    )
    print(
        f"scored {report.rows - report.bad_rows:,} of {report.rows:,} rows in {report.seconds:.1f} s "
        f"({report.per_second:,.0f} reviews/s) -> {report.output}; "
        f"{report.bad_rows:,} bad rows -> {report.errors}; "
        f"peak RSS: parent {report.parent_rss_mb:.0f} MB, largest worker {report.worker_rss_mb:.0f} MB"
    )


def _start(args: argparse.Namespace) -> None:
    cloudformation, sfn = aws.clients(args.region, "make bulk")
    stack = aws.bulk_stack(cloudformation, args.stack)
    payload = aws.execution_input(stack, args.input, args.output, _columns(args))
    arn = aws.start(sfn, stack, payload)
    print(f"started {arn}")
    print(f"results: {stack.uri(payload['output'])} (one JSONL line per row; bad rows carry an 'error')")
    if not args.no_follow:
        last = aws.follow(sfn, arn)
        if last.status != "SUCCEEDED":
            raise ClientError(
                f"execution ended {last.status}: make bulk-status STACK={args.stack} EXECUTION={arn}"
            )


def _status(args: argparse.Namespace) -> None:
    cloudformation, sfn = aws.clients(args.region, "make bulk-status")
    stack = aws.bulk_stack(cloudformation, args.stack)
    arns = [args.execution] if args.execution else [e["executionArn"] for e in aws.recent(sfn, stack)]
    if not arns:
        print(f"no executions of {stack.state_machine_arn} yet: make bulk INPUT=... OUTPUT=...")
    for arn in arns:
        described = sfn.describe_execution(executionArn=arn)
        output = json.loads(described.get("input") or "{}").get("output", "")
        print(f"{arn}\n  {aws.progress(sfn, arn).line()}\n  results: {stack.uri(output)}")


def _parser() -> argparse.ArgumentParser:
    # The docstring's whole first paragraph: its first line may stop mid-sentence.
    parser = argparse.ArgumentParser(prog="python -m bulk", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score",
        help="score a .jsonl, .csv or .parquet file here",
        description="Score a .jsonl, .csv or .parquet file on this machine, on every core: one JSON line per "
        'row in OUT, bad rows in OUT\'s .errors.jsonl beside it (bulk/README.md, "The output row").',
    )
    score.add_argument("input", type=Path, help="the file to score (IN=)")
    score.add_argument("output", type=Path, help="scores, one JSON line per row (OUT=, .jsonl)")
    score.add_argument("--model", type=Path, default=BUILT_MODEL_DIR, help="artifact directory")
    score.add_argument("--workers", type=int, default=None, help="processes (default: every CPU)")
    score.add_argument("--threads", type=int, default=1, help="onnxruntime threads per process")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    start = commands.add_parser(
        "start",
        help="score every JSONL / CSV object under an S3 prefix on AWS",
        description="Score every .jsonl and .csv object under an S3 prefix with the stack's Step Functions "
        "Distributed Map (a stack deployed with SENTIMENT_BULK=true), and follow it until it ends.",
    )
    start.add_argument("--input", required=True, help="s3://<BulkBucket>/input/... (INPUT=)")
    start.add_argument("--output", required=True, help="s3://<BulkBucket>/results/... (OUTPUT=)")
    start.add_argument("--no-follow", action="store_true", help="start and return")
    status = commands.add_parser(
        "status",
        help="progress of the latest executions (or of one)",
        description="Show the progress and the results prefix of the stack's 5 latest bulk executions, "
        "or of one (--execution).",
    )
    status.add_argument("--execution", default=None, help="an execution ARN (default: the 5 latest)")
    for command in (score, start):
        command.add_argument("--text-column", default="text", help="column of the text (TEXT_COLUMN=)")
        command.add_argument("--id-column", default="", help="column of an id to copy (ID_COLUMN=)")
        command.add_argument("--all-scores", action="store_true", help="every label's score (ALL_SCORES=1)")
        command.add_argument(
            "--explain", action="store_true", help="the words behind each answer, weighted (EXPLAIN=1)"
        )
    for command in (start, status):
        command.add_argument("--stack", default=DEFAULT_STACK, help="the deployed stack (STACK=)")
        command.add_argument("--region", default=None, help="AWS region (default: the configured one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"score": _score, "start": _start, "status": _status}
    try:
        commands[args.command](args)
    except ValidationError as error:  # a column name Columns refuses (empty text column)
        print(f"error: {error.errors()[0]['loc'][0]}: {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
    except (InputError, ArtifactError, ClientError, OSError, BotoCoreError, AwsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
