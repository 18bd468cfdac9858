"""`make bulk` / `make bulk-status` against stubbed AWS APIs (botocore's Stubber): the stack's outputs, the
execution input and its checks, following the map runs to the end, and one-line errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from bulk import aws
from bulk.__main__ import main
from client.calls import ClientError
from handler.rows import Columns

ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:BulkStateMachine"
EXECUTION = "arn:aws:states:eu-west-1:123456789012:execution:BulkStateMachine:run-1"
CHILD = "arn:aws:states:eu-west-1:123456789012:execution:BulkStateMachine/Files:child-1"
OUTER_RUN = "arn:aws:states:eu-west-1:123456789012:mapRun:BulkStateMachine/run-1:outer"
INNER_RUN = "arn:aws:states:eu-west-1:123456789012:mapRun:BulkStateMachine/Files:child-1:inner"
OUTPUTS = {
    "BulkStateMachineArn": ARN,
    "BulkBucket": "bulk-data",
    "BulkInputPrefix": "input/",
    "BulkOutputPrefix": "results/",
}
STACK = aws.BulkStack(ARN, "bulk-data", "input/", "results/")
START_ARGV = ["start", "--input", "s3://bulk-data/input/", "--output", "s3://bulk-data/results/"]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def client(service: str):
    return boto3.client(service, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def stack_answer(outputs: dict[str, str]) -> dict:
    items = [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()]
    return {
        "Stacks": [
            {"StackName": "S", "CreationTime": NOW, "StackStatus": "CREATE_COMPLETE", "Outputs": items}
        ]
    }


def counts(total: int, succeeded: int, failed: int = 0) -> dict[str, int]:
    running = total - succeeded - failed
    keys = ("pending", "running", "succeeded", "failed", "timedOut", "aborted", "total", "resultsWritten")
    return dict(zip(keys, (0, running, succeeded, failed, 0, 0, total, succeeded), strict=True))


def map_run(arn: str, items: dict[str, int]) -> dict:
    return {
        "mapRunArn": arn,
        "executionArn": EXECUTION,
        "status": "RUNNING",
        "startDate": NOW,
        "maxConcurrency": 50,
        "toleratedFailurePercentage": 5.0,
        "toleratedFailureCount": 0,
        "itemCounts": items,
        "executionCounts": items,
    }


def stub_progress(stub: Stubber, status: str, files: dict[str, int], rows: dict[str, int] | None) -> None:
    """The calls of one aws.progress look: execution, outer map run, running child, its map run."""
    described = {"executionArn": EXECUTION, "stateMachineArn": ARN, "status": status, "startDate": NOW}
    stub.add_response("describe_execution", described, {"executionArn": EXECUTION})
    listed = {"mapRunArn": OUTER_RUN, "executionArn": EXECUTION, "stateMachineArn": ARN, "startDate": NOW}
    stub.add_response("list_map_runs", {"mapRuns": [listed]}, {"executionArn": EXECUTION})
    stub.add_response("describe_map_run", map_run(OUTER_RUN, files), {"mapRunArn": OUTER_RUN})
    running = (
        []
        if rows is None
        else [
            {
                "executionArn": CHILD,
                "stateMachineArn": ARN,
                "name": "c",
                "status": "RUNNING",
                "startDate": NOW,
            }
        ]
    )
    stub.add_response(
        "list_executions",
        {"executions": running},
        {"mapRunArn": OUTER_RUN, "statusFilter": "RUNNING", "maxResults": 1},
    )
    if rows is None:
        return
    child = {
        **described,
        "executionArn": CHILD,
        "status": "RUNNING",
        "input": json.dumps({"key": "input/a.jsonl"}),
    }
    stub.add_response("describe_execution", child, {"executionArn": CHILD})
    inner = {**listed, "mapRunArn": INNER_RUN, "executionArn": CHILD}
    stub.add_response("list_map_runs", {"mapRuns": [inner]}, {"executionArn": CHILD})
    stub.add_response("describe_map_run", map_run(INNER_RUN, rows), {"mapRunArn": INNER_RUN})


def test_bulk_stack_reads_the_outputs_and_names_a_stack_without_them():
    cloudformation = client("cloudformation")
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", stack_answer(OUTPUTS), {"StackName": "S"})
        stub.add_response("describe_stacks", stack_answer({"ApiUrl": "https://x"}), {"StackName": "S"})
        assert aws.bulk_stack(cloudformation, "S") == STACK
        with pytest.raises(ClientError, match=r"stack S has no BulkStateMachineArn, .* -c bulk=true"):
            aws.bulk_stack(cloudformation, "S")


def test_execution_input_stays_inside_the_prefixes_the_role_may_touch():
    payload = aws.execution_input(
        STACK, "s3://bulk-data/input/2026-12/", "s3://bulk-data/results/run", Columns()
    )
    assert payload == {
        "prefix": "input/2026-12/",
        "output": "results/run/",
        "columns": {"textColumn": "text", "idColumn": "", "allScores": False, "explain": False},
    }
    for source, destination, message in (
        (
            "s3://other/input/",
            "s3://bulk-data/results/",
            "INPUT=s3://other/input/ is outside s3://bulk-data/input/",
        ),
        ("s3://bulk-data/raw/", "s3://bulk-data/results/", "outside s3://bulk-data/input/"),
        (
            "s3://bulk-data/input/",
            "s3://bulk-data/input/out/",
            "OUTPUT=.* is outside s3://bulk-data/results/",
        ),
        ("bulk-data/input/", "s3://bulk-data/results/", "is not an S3 URI"),
    ):
        with pytest.raises(ClientError, match=message):
            aws.execution_input(STACK, source, destination, Columns())


def test_follow_prints_files_and_rows_until_the_execution_ends():
    sfn = client("stepfunctions")
    said, slept = [], []
    with Stubber(sfn) as stub:
        stub_progress(stub, "RUNNING", counts(2, 0), counts(100, 40))
        stub_progress(stub, "RUNNING", counts(2, 0), counts(100, 40))  # unchanged: not printed again
        stub_progress(stub, "RUNNING", counts(2, 1), counts(50, 49, 1))
        stub_progress(stub, "SUCCEEDED", counts(2, 2), None)
        last = aws.follow(sfn, EXECUTION, every_s=5, say=said.append, sleep=slept.append)
        stub.assert_no_pending_responses()
    assert last.status == "SUCCEEDED"
    assert said == [
        "RUNNING: 0 of 2 files done, 0 failed; input/a.jsonl: 40 of 100 batches done, 0 failed",
        "RUNNING: 1 of 2 files done, 0 failed; input/a.jsonl: 49 of 50 batches done, 1 failed",
        "SUCCEEDED: 2 of 2 files done, 0 failed",
    ]
    assert slept == [5, 5, 5]


def test_make_bulk_starts_follows_and_says_where_results_are(monkeypatch, capsys):
    cloudformation, sfn = client("cloudformation"), client("stepfunctions")
    monkeypatch.setattr(aws, "clients", lambda region, command: (cloudformation, sfn))
    monkeypatch.setattr(aws.time, "sleep", lambda seconds: None)
    expected_input = {
        "prefix": "input/a.jsonl",
        "output": "results/a/",
        "columns": {"textColumn": "review", "idColumn": "sku", "allScores": True, "explain": True},
    }
    with Stubber(cloudformation) as cfn_stub, Stubber(sfn) as stub:
        cfn_stub.add_response("describe_stacks", stack_answer(OUTPUTS), {"StackName": "S"})
        started = {"stateMachineArn": ARN, "input": json.dumps(expected_input)}
        stub.add_response("start_execution", {"executionArn": EXECUTION, "startDate": NOW}, started)
        stub_progress(stub, "RUNNING", counts(1, 0), counts(10, 3))
        stub_progress(stub, "FAILED", counts(1, 0, 1), None)
        argv = [
            "start",
            "--stack",
            "S",
            "--input",
            "s3://bulk-data/input/a.jsonl",
            "--output",
            "s3://bulk-data/results/a",
        ]
        code = main([*argv, "--text-column", "review", "--id-column", "sku", "--all-scores", "--explain"])
        stub.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 2
    assert f"started {EXECUTION}" in out
    assert "results: s3://bulk-data/results/a/" in out
    assert "FAILED: 0 of 1 files done, 1 failed" in out
    assert err.strip() == f"error: execution ended FAILED: make bulk-status STACK=S EXECUTION={EXECUTION}"


def test_make_bulk_status_lists_the_latest_executions(monkeypatch, capsys):
    cloudformation, sfn = client("cloudformation"), client("stepfunctions")
    monkeypatch.setattr(aws, "clients", lambda region, command: (cloudformation, sfn))
    listed = {
        "executionArn": EXECUTION,
        "stateMachineArn": ARN,
        "name": "run-1",
        "status": "RUNNING",
        "startDate": NOW,
    }
    described = {**listed, "input": json.dumps({"output": "results/run-1/"})}
    del described["name"]
    with Stubber(cloudformation) as cfn_stub, Stubber(sfn) as stub:
        cfn_stub.add_response("describe_stacks", stack_answer(OUTPUTS), {"StackName": "S"})
        stub.add_response(
            "list_executions", {"executions": [listed]}, {"stateMachineArn": ARN, "maxResults": 5}
        )
        stub.add_response("describe_execution", described, {"executionArn": EXECUTION})
        stub_progress(stub, "RUNNING", counts(3, 1), counts(20, 5))
        assert main(["status", "--stack", "S"]) == 0
        stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert out.splitlines() == [
        EXECUTION,
        "  RUNNING: 1 of 3 files done, 0 failed; input/a.jsonl: 5 of 20 batches done, 0 failed",
        "  results: s3://bulk-data/results/run-1/",
    ]


def test_aws_errors_are_one_line(monkeypatch, capsys):
    cloudformation, sfn = client("cloudformation"), client("stepfunctions")
    monkeypatch.setattr(aws, "clients", lambda region, command: (cloudformation, sfn))
    with Stubber(cloudformation) as stub:
        stub.add_client_error("describe_stacks", "ValidationError", "Stack with id Nope does not exist")
        assert main(["status", "--stack", "Nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Stack with id Nope does not exist" in err


@pytest.fixture
def no_aws_config(tmp_path, monkeypatch):
    """No region variable, no profile: what a user without `aws configure` has."""
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "missing"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))


def test_clients_use_aws_region_which_boto3_alone_ignores(no_aws_config, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert [c.meta.region_name for c in aws.clients(None, "make bulk")] == ["eu-west-1", "eu-west-1"]
    assert [c.meta.region_name for c in aws.clients("ap-south-1", "make bulk")] == ["ap-south-1"] * 2


@pytest.mark.parametrize(("argv", "target"), [(["status"], "make bulk-status"), (START_ARGV, "make bulk")])
def test_no_region_is_one_line_naming_the_make_command(no_aws_config, capsys, argv, target):
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"error: no AWS region: run `AWS_REGION=<region> {target}` (e.g. AWS_REGION=eu-west-1), "
        "or set your profile's with `aws configure set region <region>`\n"
    )
