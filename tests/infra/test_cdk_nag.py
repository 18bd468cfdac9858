"""cdk-nag AwsSolutions runs at synth: no unacknowledged finding, and every acknowledgment has a reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from infra_synth import CDK_JSON_CONTEXT, Synthesized

README = Path(__file__).resolve().parents[2] / "infra" / "README.md"


def acknowledgments(synth: Synthesized) -> dict[str, set[str]]:
    """Rule id -> reasons, from the cdk_nag metadata the plugin writes into the template."""
    found: dict[str, set[str]] = {}
    for resource in synth.template_json["Resources"].values():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            found.setdefault(rule["id"], set()).add(rule["reason"])
    return found


# regional_stack is synthesized for an account and region, as `make deploy` does: ARNs in findings then
# carry literals where the offline synth has placeholders, so acknowledgments must match both.
VARIANTS = ["default_stack", "options_stack", "mixed_stack", "regional_stack"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_unacknowledged_findings(variant: str, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(variant)
    assert synth.nag_error is None, synth.nag_error


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_cdk_warnings_or_errors(variant: str, request: pytest.FixtureRequest) -> None:
    """Deprecated APIs or misconfigurations the CDK itself notices would show up as annotations."""
    synth: Synthesized = request.getfixturevalue(variant)
    metadata = json.loads((synth.outdir / f"{synth.stack_name}.metadata.json").read_text())
    annotations = [
        (path, entry["data"])
        for path, entries in metadata.items()
        for entry in entries
        if entry["type"] in ("aws:cdk:warning", "aws:cdk:error")
    ]
    assert annotations == []


def test_every_acknowledgment_is_reasoned_and_documented(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    found = acknowledgments(default_stack)
    for rule, reasons in acknowledgments(options_stack).items():
        found.setdefault(rule, set()).update(reasons)
    assert set(found) == {
        "AwsSolutions-IAM5[Resource::*]",
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
        "AwsSolutions-APIG3",
        "AwsSolutions-APIG4",
        "AwsSolutions-COG4",
        "AwsSolutions-SNS2",
    }
    documented = README.read_text()
    for rule, reasons in found.items():
        assert all(len(reason) > 60 for reason in reasons), rule
        assert re.match(r"AwsSolutions-[A-Z]+\d+", rule).group(0) in documented, rule


def test_an_unacknowledged_finding_fails_the_synth(tmp_path: Path) -> None:
    """The checks really run: a topic without TLS enforcement is refused with its rule id."""
    from aws_cdk import aws_sns as sns

    from infra.app import build_app

    app, stack = build_app(context=CDK_JSON_CONTEXT, environ={}, outdir=str(tmp_path))
    sns.Topic(stack, "Unchecked")
    with pytest.raises(RuntimeError, match=r"AwsSolutions-SNS3"):
        app.synth()
    assert "AwsSolutions-SNS3" in (tmp_path / "validation-report.json").read_text()
