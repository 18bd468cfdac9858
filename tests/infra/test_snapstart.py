"""SnapStart: an opt-in of the stack (snapStart), off by default, refused beside provisioned concurrency and
in the regions where Lambda does not offer it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from infra_synth import CDK_JSON_CONTEXT, REGIONAL_ENVIRON, Synthesized, only, synthesize

from infra.settings import Settings, SettingsError
from infra.snapstart import UNSUPPORTED_REGIONS, snap_start_region_error

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_snapstart_is_off_by_default(default_stack: Synthesized) -> None:
    assert "SnapStart" not in only(default_stack, "AWS::Lambda::Function")


def test_snapstart_snapshots_published_versions_where_lambda_offers_it(tmp_path: Path) -> None:
    synth = synthesize(tmp_path, {"snapStart": "true"}, REGIONAL_ENVIRON)
    assert only(synth, "AWS::Lambda::Function")["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    # The alias points at a published version: the one Lambda snapshots.
    (version_id, _) = only(synth, "AWS::Lambda::Alias")["FunctionVersion"]["Fn::GetAtt"]
    assert synth.template_json["Resources"][version_id]["Type"] == "AWS::Lambda::Version"


def test_snapstart_with_provisioned_concurrency_is_refused() -> None:
    context = {"snapStart": "true", "provisionedConcurrency": "2"}
    with pytest.raises(SettingsError, match=r"snapStart \(SENTIMENT_SNAP_START\) must be false with "):
        Settings.from_sources(context.get, {})


@pytest.mark.parametrize("region", sorted(UNSUPPORTED_REGIONS))
def test_snapstart_is_refused_where_lambda_does_not_offer_it(region: str) -> None:
    from infra.app import build_app

    environ = REGIONAL_ENVIRON | {"CDK_DEFAULT_REGION": region}
    with pytest.raises(
        SettingsError, match=rf"snapStart \(SENTIMENT_SNAP_START\) must be false in {region}: "
    ):
        build_app(context=CDK_JSON_CONTEXT | {"snapStart": "true"}, environ=environ)


def test_those_regions_take_the_stack_without_snapstart(tmp_path: Path) -> None:
    (region, *_) = sorted(UNSUPPORTED_REGIONS)
    synth = synthesize(tmp_path, {}, REGIONAL_ENVIRON | {"CDK_DEFAULT_REGION": region})
    assert synth.nag_error is None
    assert "SnapStart" not in only(synth, "AWS::Lambda::Function")


def test_region_check_for_the_preflight() -> None:
    """CDK-free, so `make deploy` can ask before the CDK CLI starts; None wherever SnapStart is offered."""
    assert snap_start_region_error("eu-west-1") is None
    assert snap_start_region_error("us-east-1") is None
    message = snap_start_region_error("ap-southeast-6")
    assert message == (
        "setting snapStart (SENTIMENT_SNAP_START) must be false in ap-southeast-6: Lambda SnapStart is not "
        "offered in Asia Pacific (New Zealand); deploy without it, or to another region (AWS_REGION)"
    )


def test_the_app_the_cli_runs_refuses_in_one_line() -> None:
    """`cdk deploy` runs `python -m infra.app` with the account and region it resolved: one line, exit 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "SENTIMENT_"))}
    env |= REGIONAL_ENVIRON | {"CDK_DEFAULT_REGION": "ap-east-2", "SENTIMENT_SNAP_START": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "infra.app"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == f"error: {snap_start_region_error('ap-east-2')}"
