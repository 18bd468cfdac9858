"""What `make destroy` leaves behind: of the stack, only API Gateway's account-level logging role (on purpose,
documented); every log its services write goes to a group of the stack, with retention; buckets go empty."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_synth import Synthesized, resources

README = Path(__file__).resolve().parents[2] / "infra" / "README.md"
VARIANTS = ["default_stack", "options_stack", "mixed_stack", "regional_stack"]
KEEPING_POLICIES = {"Retain", "RetainExceptOnCreate", "Snapshot"}


def kept(synth: Synthesized) -> set[tuple[str, str]]:
    """(type, logical id) of every resource CloudFormation leaves in place when the stack is deleted."""
    return {
        (resource["Type"], logical_id)
        for logical_id, resource in synth.template_json["Resources"].items()
        if {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")} & KEEPING_POLICIES
    }


def test_only_the_account_logging_role_outlives_the_stack(
    default_stack: Synthesized,
    options_stack: Synthesized,
    mixed_stack: Synthesized,
    regional_stack: Synthesized,
) -> None:
    for synth in (default_stack, mixed_stack, regional_stack):
        assert kept(synth) == set()
    # cloudWatchRole=true: the role API Gateway logs with, and the account setting naming it (one per
    # account and region, which other APIs may use), kept as infra/README.md says.
    assert {(kind, logical_id[:-8]) for kind, logical_id in kept(options_stack)} == {  # less the id's hash
        ("AWS::IAM::Role", "HttpApiCloudWatchRole"),
        ("AWS::ApiGateway::Account", "HttpApiAccount"),
    }
    assert "The API Gateway account-level logging role is kept on purpose" in README.read_text()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_log_group_has_a_retention_and_goes_with_the_stack(
    variant: str, request: pytest.FixtureRequest
) -> None:
    synth: Synthesized = request.getfixturevalue(variant)
    groups = resources(synth, "AWS::Logs::LogGroup")
    assert groups
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == 30, logical_id
        assert (group["DeletionPolicy"], group["UpdateReplacePolicy"]) == ("Delete", "Delete"), logical_id


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_function_logs_to_a_group_of_the_stack(variant: str, request: pytest.FixtureRequest) -> None:
    """Otherwise Lambda creates /aws/lambda/<name> itself: no retention, and it outlives the stack.

    regional_stack has bulk scoring on, hence CDK's bucket-emptying function beside ours.
    """
    synth: Synthesized = request.getfixturevalue(variant)
    groups = resources(synth, "AWS::Logs::LogGroup")
    functions = resources(synth, "AWS::Lambda::Function")
    assert len(functions) == (2 if variant == "regional_stack" else 1)
    for logical_id, function in functions.items():
        target = function["Properties"]["LoggingConfig"]["LogGroup"]
        assert target["Ref"] in groups, logical_id


@pytest.mark.parametrize("variant", ["default_stack", "options_stack"])
def test_api_gateway_execution_logs_go_to_a_group_of_the_stack(
    variant: str, request: pytest.FixtureRequest
) -> None:
    """API Gateway's own name for it, created before the stage so that API Gateway does not create one."""
    synth: Synthesized = request.getfixturevalue(variant)
    (api_id,) = resources(synth, "AWS::ApiGateway::RestApi")
    (stage,) = resources(synth, "AWS::ApiGateway::Stage").values()
    stage_name = stage["Properties"]["StageName"]
    name = {"Fn::Join": ["", ["API-Gateway-Execution-Logs_", {"Ref": api_id}, f"/{stage_name}"]]}
    groups = resources(synth, "AWS::Logs::LogGroup").items()
    (group_id,) = [
        logical_id for logical_id, group in groups if group["Properties"].get("LogGroupName") == name
    ]
    assert group_id in stage["DependsOn"]


def test_bulk_buckets_are_emptied_and_deleted_with_the_stack(regional_stack: Synthesized) -> None:
    buckets = resources(regional_stack, "AWS::S3::Bucket")
    assert len(buckets) == 2  # the data bucket and its access-log bucket
    emptied = {
        cleaner["Properties"]["BucketName"]["Ref"]
        for cleaner in resources(regional_stack, "Custom::S3AutoDeleteObjects").values()
    }
    assert emptied == set(buckets)
    for logical_id, bucket in buckets.items():
        assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Delete", "Delete"), logical_id
    # The cleaner runs when the stack is deleted: its function logs to the stack's group (tested above).
    (cleaner_function,) = {
        cleaner["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
        for cleaner in resources(regional_stack, "Custom::S3AutoDeleteObjects").values()
    }
    assert "LoggingConfig" in regional_stack.template_json["Resources"][cleaner_function]["Properties"]
