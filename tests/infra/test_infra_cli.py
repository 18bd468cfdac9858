"""`python -m infra`: a real offline `cdk synth` with the npm CLI, and one-line errors (exit 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def offline_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a machine with no AWS credentials or configuration at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "SENTIMENT_"))}
    missing = str(tmp_path / "missing")
    return env | {
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_CONFIG_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


def infra(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_synth_works_offline_with_the_npm_cli(tmp_path: Path) -> None:
    out = tmp_path / "cdk.out"
    done = infra("synth", "--output", str(out), "-c", "memoryMb=1024", env=offline_env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "synthesized SentimentApi" in done.stdout
    template = json.loads((out / "SentimentApi.template.json").read_text())
    functions = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert [f["Properties"]["MemorySize"] for f in functions] == [1024]  # -c reached the app
    assert not [r for r in template["Resources"].values() if r["Type"] == "AWS::CDK::Metadata"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["artifacts"]["SentimentApi"]["environment"] == "aws://unknown-account/unknown-region"


def test_bad_setting_is_one_line_exit_2(tmp_path: Path) -> None:
    done = infra("synth", "-c", "architecture=sparc", env=offline_env(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: setting architecture (SENTIMENT_ARCHITECTURE): Input should be 'x86_64' or 'arm64', "
        "got 'sparc'"
    ]


def test_typo_in_a_setting_key_is_refused_before_the_synth(tmp_path: Path) -> None:
    done = infra("synth", "--output", str(tmp_path / "out"), "-c", "memorymb=4096", env=offline_env(tmp_path))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: unknown setting 'memorymb': did you mean memoryMb? valid keys are ")
    assert not (tmp_path / "out").exists()


def test_destroy_without_credentials_is_one_line(tmp_path: Path) -> None:
    done = infra("destroy", env=offline_env(tmp_path, AWS_REGION="eu-west-1"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE"
    ]


def test_destroy_without_a_region_names_the_make_command(tmp_path: Path) -> None:
    done = infra("destroy", env=offline_env(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no AWS region: run `AWS_REGION=<region> make destroy` (e.g. AWS_REGION=eu-west-1), "
        "or set your profile's with `aws configure set region <region>`"
    ]


def test_destroy_takes_the_region_from_the_flag_or_the_profile(tmp_path: Path) -> None:
    """Past the region, the next thing missing is the credentials: the region was found."""
    no_credentials = "error: no AWS credentials: run `aws configure` or `aws sso login`, or set AWS_PROFILE"
    flagged = infra("destroy", "--region", "eu-west-1", env=offline_env(tmp_path))
    assert flagged.stderr.strip().splitlines() == [no_credentials]
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n")
    profiled = infra("destroy", env=offline_env(tmp_path) | {"AWS_CONFIG_FILE": str(config)})
    assert profiled.stderr.strip().splitlines() == [no_credentials]


def test_bad_setting_from_environment(tmp_path: Path) -> None:
    done = infra("destroy", env=offline_env(tmp_path, SENTIMENT_MEMORY_MB="huge"))
    assert done.returncode == 2
    assert done.stderr.startswith(
        "error: setting memoryMb (SENTIMENT_MEMORY_MB): Input should be a valid integer"
    )
    assert done.stderr.count("\n") == 1


def test_deploy_without_credentials_says_what_is_missing(tmp_path: Path) -> None:
    env = offline_env(tmp_path, AWS_REGION="eu-west-1", CDK_DOCKER="no-such-docker-cli")
    done = infra("deploy", env=env)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert "no AWS credentials: run `aws configure` or `aws sso login`" in line
    assert "`no-such-docker-cli` not found" in line


def test_deploy_summary_says_how_to_call_each_auth_mode() -> None:
    from infra.__main__ import how_to_call
    from infra.settings import Settings

    url = "https://abc.execute-api.eu-west-1.amazonaws.com/v1/"
    with_key = how_to_call(Settings(), {"ApiUrl": url, "ApiKeyId": "k1", "FunctionName": "fn"})
    assert "--api-key k1" in with_key
    assert '-H "x-api-key: $KEY" -H "content-type: application/json" -d' in with_key
    assert f"{url}predict" in with_key
    assert "make invoke STACK=SentimentApi" in with_key
    signed = how_to_call(Settings(auth="iam", stack_name="Other"), {"ApiUrl": url, "FunctionName": "fn"})
    assert "SigV4" in signed
    assert "x-api-key" not in signed
    assert "make invoke STACK=Other" in signed


def test_make_deploy_refuses_a_model_dir_the_image_would_not_ship(tmp_path: Path, make_dry_run) -> None:
    """The Dockerfile copies build/model: another MODEL_DIR is refused before any model is built."""
    done = make_dry_run("deploy", f"MODEL_DIR={tmp_path}")
    assert done.returncode == 2
    assert f"make deploy ships build/model (the Dockerfile copies it); MODEL_DIR={tmp_path}" in done.stderr
    assert "export build" not in done.stdout
    default = make_dry_run("deploy")
    assert default.returncode == 0
    assert default.stdout.splitlines()[-1].endswith("-m infra deploy")
