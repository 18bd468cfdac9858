"""Region resolution shared by make deploy, destroy, invoke and bulk: --region, AWS_REGION,
AWS_DEFAULT_REGION, then the profile's region (the AWS CLI's and the CDK CLI's order), on real boto3
sessions read from a real config file. No AWS call is made: a session and its clients are built offline."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from infra.aws_session import NoRegionError, aws_session

PROFILE_REGION = "ap-northeast-1"


@pytest.fixture
def aws_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """An AWS config file with a `dev` profile in PROFILE_REGION, and no region variable set;
    `aws_config(None)` writes the profile without a region."""

    def write(region: str | None = PROFILE_REGION) -> None:
        config = tmp_path / "config"
        config.write_text("[profile dev]\n" + (f"region = {region}\n" if region else ""))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "missing"))
        monkeypatch.setenv("AWS_PROFILE", "dev")

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    write()
    return write


def test_installed_boto3_ignores_aws_region_which_is_why_the_resolution_exists(aws_config, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert boto3.Session().region_name == PROFILE_REGION  # botocore itself: AWS_REGION is not read
    assert aws_session(command="make invoke").region_name == "eu-west-1"


@pytest.mark.parametrize(
    ("flag", "aws_region", "aws_default_region", "expected"),
    [
        ("us-west-2", "eu-west-1", "eu-central-1", "us-west-2"),  # an explicit --region wins
        (None, "eu-west-1", "eu-central-1", "eu-west-1"),  # then AWS_REGION
        (None, None, "eu-central-1", "eu-central-1"),  # then AWS_DEFAULT_REGION
        (None, None, None, PROFILE_REGION),  # then the profile's region
        (None, " ", "", PROFILE_REGION),  # blank variables count as unset
    ],
)
def test_region_precedence(aws_config, monkeypatch, flag, aws_region, aws_default_region, expected):
    for name, value in (("AWS_REGION", aws_region), ("AWS_DEFAULT_REGION", aws_default_region)):
        if value is not None:
            monkeypatch.setenv(name, value)
    session = aws_session(flag, command="make deploy")
    assert session.region_name == expected
    assert session.client("lambda").meta.region_name == expected  # clients inherit it


def test_the_profile_still_gives_the_credentials(aws_config, tmp_path, monkeypatch):
    (tmp_path / "credentials").write_text("[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert aws_session(command="make invoke").get_credentials().access_key == "AKIDDEV"


def test_no_region_anywhere_names_the_command_to_run(aws_config):
    aws_config(None)
    with pytest.raises(NoRegionError) as caught:
        aws_session(command="make bulk")
    assert str(caught.value) == (
        "no AWS region: run `AWS_REGION=<region> make bulk` (e.g. AWS_REGION=eu-west-1), "
        "or set your profile's with `aws configure set region <region>`"
    )
