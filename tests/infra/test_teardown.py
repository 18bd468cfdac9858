"""What `make destroy` says before it deletes: CloudFormation and S3 answers from botocore's Stubber on real
clients (AWS is unreachable from tests), so the request and response shapes are checked against the models."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.teardown import survey

STACK, BUCKET = "SentimentApi", "sentimentapi-bulkbucket-abc123"


class StubbedSession:
    """A session whose CloudFormation and S3 clients answer from a Stubber."""

    def __init__(self) -> None:
        keys = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "x", "region_name": "eu-west-1"}
        self.clients = {name: boto3.client(name, **keys) for name in ("cloudformation", "s3")}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name: str, **_: Any) -> Any:
        return self.clients[name]

    def stack(self, outputs: dict[str, str]) -> StubbedSession:
        stack = {
            "StackName": STACK,
            "CreationTime": dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
            "StackStatus": "UPDATE_COMPLETE",
            "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
        }
        self.stubs["cloudformation"].add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": STACK}
        )
        return self

    def results(self, count: int, truncated: bool = False) -> StubbedSession:
        listing = {
            "KeyCount": count,
            "IsTruncated": truncated,
            "Contents": [{"Key": f"results/{i}"} for i in range(count)],
        }
        self.stubs["s3"].add_response("list_objects_v2", listing, {"Bucket": BUCKET, "Prefix": "results/"})
        return self


def test_a_stack_that_is_not_deployed_has_nothing_to_destroy() -> None:
    session = StubbedSession()
    message = f"Stack with id {STACK} does not exist"
    session.stubs["cloudformation"].add_client_error("describe_stacks", "ValidationError", message)
    assert not survey(session, STACK).exists  # type: ignore[arg-type]


def test_without_bulk_nothing_of_the_users_is_lost() -> None:
    teardown = survey(StubbedSession().stack({"ApiUrl": "https://x/v1/"}), STACK)  # type: ignore[arg-type]
    assert teardown.exists
    assert (teardown.warnings, teardown.results) == ([], 0)


@pytest.mark.parametrize(
    ("count", "truncated", "said"), [(3, False, "3 result files"), (1000, True, "1000+")]
)
def test_bulk_results_are_counted_with_the_command_that_keeps_them(
    count: int, truncated: bool, said: str
) -> None:
    session = StubbedSession().stack({"BulkBucket": BUCKET}).results(count, truncated)
    teardown = survey(session, STACK)  # type: ignore[arg-type]
    (warning,) = teardown.warnings
    assert said in warning
    assert f"`aws s3 sync s3://{BUCKET}/results/ ./results/`" in warning
    assert teardown.results == count


def test_an_empty_bulk_bucket_is_only_mentioned() -> None:
    teardown = survey(StubbedSession().stack({"BulkBucket": BUCKET}).results(0), STACK)  # type: ignore[arg-type]
    assert teardown.results == 0
    assert teardown.warnings == [f"s3://{BUCKET} (no results in it) is deleted with the stack"]


def test_a_bucket_the_user_cannot_list_is_a_warning_with_the_copy_command() -> None:
    session = StubbedSession().stack({"BulkBucket": BUCKET})
    session.stubs["s3"].add_client_error("list_objects_v2", "AccessDenied", "Access Denied")
    (warning,) = survey(session, STACK).warnings  # type: ignore[arg-type]
    assert warning.startswith(f"warning: cannot list s3://{BUCKET} (AccessDenied: Access Denied)")
    assert "aws s3 sync" in warning
