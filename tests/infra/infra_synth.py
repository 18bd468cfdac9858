"""Synthesis of the CDK app for the infra tests, and lookups in the synthesized template."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The feature flags `cdk synth` reads from cdk.json: the tests synthesize with the same ones.
CDK_JSON_CONTEXT = json.loads((Path(__file__).resolve().parents[2] / "cdk.json").read_text())["context"]
OPTIONS_CONTEXT = {
    "auth": "iam",
    "publicDocs": "false",
    "corsOrigins": "https://app.example.com",
    "architecture": "arm64",
    "memoryMb": "3008",
    "stageName": "prod",
    "reservedConcurrency": "10",
    "provisionedConcurrency": "2",
    "alarmEmail": "ops@example.com",
    "latencyAlarmMs": "1500",
    "cloudWatchRole": "true",
    "maxTexts": "16",
    "maxRequestWindows": "24",
}
# What the CDK CLI sets when it found credentials, as at `make deploy`: the stack is then synthesized for
# one account and region (partition, account and region become literals in the template).
ACCOUNT, REGION = "123456789012", "eu-west-1"
REGIONAL_ENVIRON = {"CDK_DEFAULT_ACCOUNT": ACCOUNT, "CDK_DEFAULT_REGION": REGION}
MIXED_CONTEXT = {
    "auth": "iam",
    "publicDocs": "true",
    "corsOrigins": "https://a.example.com,https://b.example.com",
}


@dataclass
class Synthesized:
    """One synthesized variant: its cloud assembly, and the cdk-nag failure if synth was refused."""

    outdir: Path
    stack_name: str
    nag_error: str | None
    _template: Any

    @property
    def template(self) -> Any:
        """The aws_cdk.assertions.Template; fails the test when cdk-nag refused the synth."""
        if self.nag_error is not None:
            pytest.fail(f"synth refused by cdk-nag: {self.nag_error}")
        return self._template

    @property
    def template_json(self) -> dict[str, Any]:
        return json.loads((self.outdir / f"{self.stack_name}.template.json").read_text())

    @property
    def assets(self) -> dict[str, Any]:
        return json.loads((self.outdir / f"{self.stack_name}.assets.json").read_text())


def synthesize(outdir: Path, context: dict[str, str], environ: dict[str, str] | None = None) -> Synthesized:
    """Build the app as `cdk synth` does (cdk-nag included) and synthesize it into `outdir`.

    `environ` is what the CDK CLI sets (CDK_DEFAULT_ACCOUNT, CDK_DEFAULT_REGION) when it found credentials:
    with both, the stack is synthesized for that account and region; without, env-agnostic (offline).
    """
    from aws_cdk.assertions import Template

    from infra.app import build_app

    app, stack = build_app(context=CDK_JSON_CONTEXT | context, environ=environ or {}, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError as exc:  # the validation plugin refused: keep the report for the nag test
        report = outdir / "validation-report.json"
        detail = report.read_text() if report.exists() else str(exc)
        return Synthesized(outdir, stack.stack_name, detail, None)
    return Synthesized(outdir, stack.stack_name, None, Template.from_stack(stack))


def resources(synth: Synthesized, cfn_type: str) -> dict[str, dict[str, Any]]:
    """The template's resources of one CloudFormation type, by logical id."""
    return {k: v for k, v in synth.template_json["Resources"].items() if v["Type"] == cfn_type}


def only(synth: Synthesized, cfn_type: str) -> dict[str, Any]:
    """The properties of the single resource of `cfn_type`."""
    found = resources(synth, cfn_type)
    assert len(found) == 1, f"expected one {cfn_type}, found {sorted(found)}"
    return next(iter(found.values()))["Properties"]
