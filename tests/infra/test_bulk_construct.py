"""The optional bulk part (`-c bulk=true`): a Distributed Map over S3 with scoped IAM, retries, tolerated
failures, a results writer and an alarm; off by default, cfn-lint and cdk-nag clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from infra_synth import Synthesized, resources, synthesize

from handler.rows import Columns
from infra.settings import Settings, SettingsError

BULK_CONTEXT = {
    "bulk": "true",
    "bulkBatchSize": "16",
    "bulkConcurrency": "20",
    "bulkToleratedFailurePercent": "2.5",
}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="session")
def bulk_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-bulk"), BULK_CONTEXT)


def definition(synth: Synthesized) -> dict[str, Any]:
    """The state machine's ASL, with every CloudFormation reference replaced by a placeholder."""
    (machine,) = resources(synth, "AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return json.loads("".join(part if isinstance(part, str) else "REF" for part in parts))


def row_maps(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    files = asl["States"][asl["StartAt"]]
    return {name: state for name, state in files["ItemProcessor"]["States"].items() if state["Type"] == "Map"}


def policy_statements(synth: Synthesized) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, policy in resources(synth, "AWS::IAM::Policy").items()
        if logical_id.startswith("BulkStateMachine")
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_off_by_default(default_stack: Synthesized) -> None:
    assert resources(default_stack, "AWS::StepFunctions::StateMachine") == {}
    assert resources(default_stack, "AWS::S3::Bucket") == {}
    assert "BulkStateMachineArn" not in default_stack.template_json["Outputs"]


def test_outer_map_lists_the_input_prefix_one_object_at_a_time(bulk_stack: Synthesized) -> None:
    asl = definition(bulk_stack)
    files = asl["States"][asl["StartAt"]]
    assert asl["QueryLanguage"] == "JSONata"
    assert files["ItemReader"]["Resource"].endswith(":states:::s3:listObjectsV2")
    assert files["ItemReader"]["Arguments"]["Prefix"] == "{% $states.input.prefix %}"
    assert files["MaxConcurrency"] == 1
    assert files["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}


def test_rows_are_read_batched_scored_and_written(bulk_stack: Synthesized) -> None:
    maps = row_maps(definition(bulk_stack))
    assert {name: m["ItemReader"]["ReaderConfig"]["InputType"] for name, m in maps.items()} == {
        "JsonlRows": "JSONL",
        "CsvRows": "CSV",
    }
    for rows in maps.values():
        assert rows["ItemReader"]["Arguments"]["Key"] == "{% $states.input.key %}"
        assert rows["ItemSelector"]["row"] == "{% $states.context.Map.Item.Index + 1 %}"
        batcher = rows["ItemBatcher"]
        assert batcher["MaxItemsPerBatch"] == 16
        assert batcher["MaxInputBytesPerBatch"] == 256 * 1024
        assert set(batcher["BatchInput"]) == {field.alias for field in Columns.model_fields.values()}
        assert rows["MaxConcurrency"] == 20
        assert rows["ToleratedFailurePercentage"] == 2.5
        assert rows["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "EXPRESS"
        writer = rows["ResultWriter"]
        assert writer["Resource"].endswith(":states:::s3:putObject")
        assert writer["WriterConfig"] == {"OutputType": "JSONL", "Transformation": "FLATTEN"}
        assert writer["Arguments"]["Prefix"].startswith("{% $states.input.output & ")


def test_each_batch_is_a_direct_invoke_of_the_alias_retried_on_throttling(bulk_stack: Synthesized) -> None:
    for rows in row_maps(definition(bulk_stack)).values():
        (task,) = rows["ItemProcessor"]["States"].values()
        assert task["Resource"].endswith(":states:::lambda:invoke")
        assert task["Arguments"] == {"FunctionName": "REF", "Payload": "{% $states.input %}"}
        assert task["Output"] == "{% $states.result.Payload %}"  # the list of rows, flattened by the writer
        (throttled,) = [r for r in task["Retry"] if "Lambda.TooManyRequestsException" in r["ErrorEquals"]]
        assert throttled["BackoffRate"] == 2
        assert throttled["JitterStrategy"] == "FULL"
        assert throttled["MaxAttempts"] >= 3
    (invoke,) = [s for s in policy_statements(bulk_stack) if s["Action"] == "lambda:InvokeFunction"]
    alias = next(iter(resources(bulk_stack, "AWS::Lambda::Alias")))
    assert invoke["Resource"] == {"Ref": alias}  # the alias only: not the function, not other versions


def test_s3_access_is_scoped_to_the_prefixes(bulk_stack: Synthesized) -> None:
    (bucket,) = [k for k in resources(bulk_stack, "AWS::S3::Bucket") if k.startswith("BulkData")]

    def objects(prefix: str) -> dict[str, Any]:
        return {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{prefix}*"]]}

    s3_statements = [s for s in policy_statements(bulk_stack) if "s3:" in json.dumps(s["Action"])]
    found = {json.dumps(s["Resource"]): s for s in s3_statements}
    assert found[json.dumps(objects("input/"))]["Action"] == "s3:GetObject"  # read-only input
    written = found[json.dumps(objects("results/"))]["Action"]
    assert "s3:PutObject" in written
    assert not any("Delete" in action for action in written)
    (listing,) = [s for s in s3_statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["input/*"]}}
    assert len(s3_statements) == 3  # nothing on the whole bucket (CDK's readers would grant bucket/*)


def test_bucket_encrypted_private_tls_only_with_access_logs(bulk_stack: Synthesized) -> None:
    buckets = resources(bulk_stack, "AWS::S3::Bucket")
    for bucket in buckets.values():
        properties = bucket["Properties"]
        rule = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert all(properties["PublicAccessBlockConfiguration"].values())
    (data,) = [b for k, b in buckets.items() if k.startswith("BulkData")]
    assert "LoggingConfiguration" in data["Properties"]
    for policy in resources(bulk_stack, "AWS::S3::BucketPolicy").values():
        denied = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denied)


def test_failed_executions_raise_an_alarm_on_the_topic(bulk_stack: Synthesized) -> None:
    (alarm,) = [a for k, a in resources(bulk_stack, "AWS::CloudWatch::Alarm").items() if k.startswith("Bulk")]
    properties = alarm["Properties"]
    assert properties["Threshold"] == 1
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in properties["Metrics"] if "MetricStat" in m}
    assert names == {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}
    topic = next(iter(resources(bulk_stack, "AWS::SNS::Topic")))
    assert properties["AlarmActions"] == [{"Ref": topic}]


def test_outputs_for_the_client(bulk_stack: Synthesized) -> None:
    outputs = bulk_stack.template_json["Outputs"]
    assert outputs["BulkInputPrefix"]["Value"] == "input/"
    assert outputs["BulkOutputPrefix"]["Value"] == "results/"
    assert {"BulkStateMachineArn", "BulkBucket"} <= set(outputs)


def test_cdk_nag_clean_with_reasoned_documented_acknowledgments(bulk_stack: Synthesized) -> None:
    assert bulk_stack.nag_error is None, bulk_stack.nag_error
    documented = README.read_text() + (README.parent / "infra" / "README.md").read_text()
    for logical_id, resource in bulk_stack.template_json["Resources"].items():
        if not logical_id.startswith("Bulk"):
            continue
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            assert len(rule["reason"]) > 60, rule
            assert rule["id"].split("[")[0] in documented, rule["id"]


def test_bulk_template_passes_cfn_lint(bulk_stack: Synthesized) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    template = str(bulk_stack.outdir / f"{bulk_stack.stack_name}.template.json")
    done = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", template], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"bulk_batch_size": 33}, "bulkBatchSize .*: Input should be less than or equal to 32"),
        ({"bulk_batch_size": 0}, "bulkBatchSize"),
        ({"bulk_concurrency": 10_001}, "bulkConcurrency"),
        (
            {"bulk": True, "bulk_concurrency": 20, "reserved_concurrency": 10},
            r"at most reserved_concurrency \(10\)",
        ),
        ({"bulk_tolerated_failure_percent": 101}, "bulkToleratedFailurePercent"),
    ],
)
def test_bulk_settings_are_checked(values: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings(**values)
