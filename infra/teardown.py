"""What `make destroy` deletes and what it leaves, said before the stack goes.

The stack deletes everything it created, the bulk bucket with its contents included (results too), so that
`make destroy` leaves no cost behind; a user who scored a catalogue on AWS must hear that before the bucket
is emptied, with the command that copies the results out. What outlives the stack is named as well: the
image in the CDK bootstrap repository, and API Gateway's account logging role where the stack set one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.preflight import AWS_READS, describe_error

RESULTS_PREFIX = "results/"
KEPT = (
    "kept: the function's image in the CDK bootstrap ECR repository (`npx cdk gc` removes unused assets), "
    "and API Gateway's account logging role if a deploy set it up (other APIs of the account may use it)"
)


@dataclass(frozen=True)
class Teardown:
    """The deployed stack as destroy finds it: whether it exists, and what deleting it loses."""

    exists: bool
    warnings: list[str] = field(default_factory=list)
    results: int = 0  # result objects in the bulk bucket (at most one page is counted)


def survey(session: boto3.Session, stack_name: str) -> Teardown:
    """Read the stack's outputs and count the bulk results its deletion removes.

    Unreadable answers become warnings, not errors: the CDK deletes through its own roles, which may be
    allowed what the user's credentials are not, so destroy still goes ahead.
    """
    cloudformation = session.client("cloudformation", config=AWS_READS)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        if isinstance(exc, ClientError) and "does not exist" in str(exc):
            return Teardown(exists=False)
        return Teardown(
            exists=True, warnings=[f"warning: cannot read stack {stack_name}: {describe_error(exc)}"]
        )
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    bucket = outputs.get("BulkBucket")
    if not bucket:
        return Teardown(exists=True)
    return _bulk_bucket(session.client("s3", config=AWS_READS), bucket)


def _bulk_bucket(s3: Any, bucket: str) -> Teardown:
    copy = f"aws s3 sync s3://{bucket}/{RESULTS_PREFIX} ./results/"
    try:
        page = s3.list_objects_v2(Bucket=bucket, Prefix=RESULTS_PREFIX)
    except (ClientError, BotoCoreError) as exc:
        said = describe_error(exc)
        warning = f"warning: cannot list s3://{bucket} ({said}); it goes with its contents: first `{copy}`"
        return Teardown(exists=True, warnings=[warning])
    results = page.get("KeyCount", 0)
    if not results:
        return Teardown(exists=True, warnings=[f"s3://{bucket} (no results in it) is deleted with the stack"])
    more = "+" if page.get("IsTruncated") else ""
    warning = f"s3://{bucket} is deleted with its {results}{more} result files: to keep them, first `{copy}`"
    return Teardown(exists=True, warnings=[warning], results=results)
