"""`make bulk` / `make bulk-status`: start the stack's bulk state machine on an S3 prefix and follow it.

The stack (deployed with `-c bulk=true`) publishes the state machine, its bucket and the two prefixes it
may read and write (BulkStateMachineArn, BulkBucket, BulkInputPrefix, BulkOutputPrefix). Progress comes
from the map runs: the outer one counts files, the inner one of the file in progress counts rows.
Retries are botocore's (standard mode), not loops.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from client.calls import RETRIES, ClientError
from handler.rows import Columns
from infra.aws_session import aws_session

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
OUTPUT_KEYS = ("BulkStateMachineArn", "BulkBucket", "BulkInputPrefix", "BulkOutputPrefix")


@dataclass(frozen=True)
class BulkStack:
    """What the stack's outputs say about its bulk part."""

    state_machine_arn: str
    bucket: str
    input_prefix: str
    output_prefix: str

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class Progress:
    """One look at an execution: its status, files done of all, and the rows of the file in progress."""

    status: str
    files: dict[str, int]
    current_key: str | None = None
    rows: dict[str, int] | None = None

    def line(self) -> str:
        files = _counts(self.files, "files")
        if self.current_key is None or self.rows is None:
            return f"{self.status}: {files}"
        return f"{self.status}: {files}; {self.current_key}: {_counts(self.rows, 'batches')}"


def _counts(counts: dict[str, int], unit: str) -> str:
    done = counts.get("succeeded", 0)
    failed = counts.get("failed", 0) + counts.get("timedOut", 0) + counts.get("aborted", 0)
    return f"{done:,} of {counts.get('total', 0):,} {unit} done, {failed:,} failed"


def clients(region: str | None, command: str) -> tuple[Any, Any]:
    """CloudFormation and Step Functions clients with the project's retry settings, in the region the
    deploy used (an explicit --region, AWS_REGION, AWS_DEFAULT_REGION, then the profile's).

    Raises:
        NoRegionError: no region anywhere; the message names `AWS_REGION=<region> <command>`.
    """
    session = aws_session(region, command=command)
    return (
        session.client("cloudformation", config=RETRIES),
        session.client("stepfunctions", config=RETRIES),
    )


def bulk_stack(cloudformation: Any, stack_name: str) -> BulkStack:
    """Read the bulk outputs of a deployed stack.

    Raises:
        ClientError: the stack has no bulk outputs (deployed without `-c bulk=true`).
    """
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    if missing := [key for key in OUTPUT_KEYS if key not in outputs]:
        raise ClientError(
            f"stack {stack_name} has no {', '.join(missing)}: deploy it with bulk on "
            "(make deploy with SENTIMENT_BULK=true, or python -m infra deploy -c bulk=true)"
        )
    return BulkStack(*(outputs[key] for key in OUTPUT_KEYS))


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key).

    Raises:
        ClientError: not an s3:// URI with a bucket.
    """
    scheme, _, rest = uri.partition("://")
    bucket, _, key = rest.partition("/")
    if scheme != "s3" or not bucket:
        raise ClientError(f"{uri!r} is not an S3 URI like s3://bucket/prefix/")
    return bucket, key


def execution_input(stack: BulkStack, source: str, destination: str, columns: Columns) -> dict[str, Any]:
    """The state machine's input for INPUT and OUTPUT URIs, checked against what its role may touch.

    Raises:
        ClientError: a URI is in another bucket or outside the stack's input / output prefix.
    """
    places = {}
    for name, uri, root in (
        ("INPUT", source, stack.input_prefix),
        ("OUTPUT", destination, stack.output_prefix),
    ):
        bucket, key = parse_s3_uri(uri)
        if bucket != stack.bucket or not key.startswith(root):
            raise ClientError(
                f"{name}={uri} is outside {stack.uri(root)}: the state machine may only "
                f"{'read' if name == 'INPUT' else 'write'} there"
            )
        places[name] = key
    output = places["OUTPUT"] if places["OUTPUT"].endswith("/") else places["OUTPUT"] + "/"
    return {"prefix": places["INPUT"], "output": output, "columns": columns.model_dump(by_alias=True)}


def start(sfn: Any, stack: BulkStack, payload: dict[str, Any]) -> str:
    """Start an execution; returns its ARN."""
    answer = sfn.start_execution(stateMachineArn=stack.state_machine_arn, input=json.dumps(payload))
    return answer["executionArn"]


def progress(sfn: Any, execution_arn: str) -> Progress:
    """Status, file counts (outer map run) and the rows of the file being scored (its inner map run)."""
    status = sfn.describe_execution(executionArn=execution_arn)["status"]
    runs = sfn.list_map_runs(executionArn=execution_arn)["mapRuns"]
    if not runs:  # the map has not started yet
        return Progress(status, {})
    outer = runs[0]["mapRunArn"]
    files = sfn.describe_map_run(mapRunArn=outer)["itemCounts"]
    running = sfn.list_executions(mapRunArn=outer, statusFilter="RUNNING", maxResults=1)["executions"]
    if not running:
        return Progress(status, files)
    child = running[0]["executionArn"]
    key = json.loads(sfn.describe_execution(executionArn=child).get("input") or "{}").get("key")
    inner = sfn.list_map_runs(executionArn=child)["mapRuns"]
    rows = sfn.describe_map_run(mapRunArn=inner[0]["mapRunArn"])["itemCounts"] if inner else None
    return Progress(status, files, key, rows)


def follow(
    sfn: Any,
    execution_arn: str,
    *,
    every_s: float = 10.0,
    say: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Progress:
    """Print a progress line whenever it changes, until the execution ends; returns the last look."""
    last = ""
    while True:
        seen = progress(sfn, execution_arn)
        if (line := seen.line()) != last:
            say(line)
            last = line
        if seen.status in TERMINAL:
            return seen
        sleep(every_s)


def recent(sfn: Any, stack: BulkStack, count: int = 5) -> list[dict[str, Any]]:
    """The state machine's latest executions, newest first (name, status, start time, ARN)."""
    return sfn.list_executions(stateMachineArn=stack.state_machine_arn, maxResults=count)["executions"]
