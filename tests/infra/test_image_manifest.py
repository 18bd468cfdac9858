"""The image tag check before `cdk deploy` (infra/image_manifest.py), on the asset manifest of a real
synthesized stack, with ECR's DescribeImages answers from botocore's Stubber; and `python -m infra deploy`'s
order around it, with the CDK CLI calls recorded instead of run (they would build, push and deploy)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from infra_synth import Synthesized

from infra import __main__ as cli
from infra.image_manifest import PushedImage, check_pushed_images, describe_pushed, image_assets
from infra.preflight import Plan, PreflightError, Target

ACCOUNT, REGION = "123456789012", "eu-west-1"
REPOSITORY = f"cdk-hnb659fds-container-assets-{ACCOUNT}-{REGION}"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class EcrSession:
    """A session whose ECR client answers DescribeImages from a Stubber."""

    def __init__(self) -> None:
        self.ecr = boto3.Session(region_name=REGION).client(
            "ecr", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x"
        )
        self.stub = Stubber(self.ecr)
        self.stub.activate()

    def client(self, name: str, **_: Any) -> Any:
        assert name == "ecr"
        return self.ecr

    def holds(self, image: PushedImage, media_type: str | None) -> EcrSession:
        """ECR's answer for the image's tag: its manifest media type, or ImageNotFoundException (None)."""
        expected = {"repositoryName": image.repository, "imageIds": [{"imageTag": image.tag}]}
        if media_type is None:
            self.stub.add_client_error(
                "describe_images", "ImageNotFoundException", "no such tag", 400, expected
            )
            return self
        detail = {
            "repositoryName": image.repository,
            "imageTags": [image.tag],
            "imageManifestMediaType": media_type,
        }
        self.stub.add_response("describe_images", {"imageDetails": [detail]}, expected)
        return self


@pytest.fixture(scope="module")
def image(default_stack: Synthesized) -> PushedImage:
    (pushed,) = image_assets(default_stack.outdir, default_stack.stack_name, ACCOUNT, REGION)
    return pushed


def test_the_asset_manifest_names_the_bootstrap_repository_and_the_content_tag(image: PushedImage) -> None:
    """An environment-agnostic synth's placeholders filled in as the CDK CLI does."""
    assert image.repository == REPOSITORY
    assert re.fullmatch(r"[0-9a-f]{64}", image.tag)
    assert image.region == REGION


@pytest.mark.parametrize("media_type", [OCI_INDEX, DOCKER_LIST])
def test_an_index_already_in_ecr_is_refused_with_the_command_that_deletes_it(image, media_type) -> None:
    with pytest.raises(PreflightError) as caught:
        check_pushed_images(EcrSession().holds(image, media_type), [image])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"ECR already holds the image {REPOSITORY}:{image.tag} as an image index ({media_type})"
    )
    assert (
        f"`aws ecr batch-delete-image --region {REGION} --repository-name {REPOSITORY} "
        f"--image-ids imageTag={image.tag}`"
    ) in message


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, OCI_MANIFEST, None])
def test_a_single_manifest_or_no_tag_yet_passes(image, media_type) -> None:
    session = EcrSession().holds(image, media_type)
    assert check_pushed_images(session, [image]) == []
    session.stub.assert_no_pending_responses()


def test_an_unreadable_repository_is_a_warning(image) -> None:
    session = EcrSession()
    session.stub.add_client_error("describe_images", "AccessDeniedException", "not allowed")
    (warning,) = check_pushed_images(session, [image])
    assert warning.startswith(f"warning: could not check whether ECR already holds {REPOSITORY}:{image.tag}")


def test_an_environment_specific_destination_keeps_its_own_names(tmp_path: Path) -> None:
    """A synth with credentials (CDK_DEFAULT_ACCOUNT set) writes the account and region literally."""
    destination = {
        "repositoryName": "cdk-hnb659fds-container-assets-210987654321-us-east-2",
        "imageTag": "abc",
    }
    manifest = {"dockerImages": {"abc": {"destinations": {"d": destination | {"region": "us-east-2"}}}}}
    (tmp_path / "S.assets.json").write_text(json.dumps(manifest))
    assert image_assets(tmp_path, "S", ACCOUNT, REGION) == [
        PushedImage("cdk-hnb659fds-container-assets-210987654321-us-east-2", "abc", "us-east-2")
    ]


@pytest.fixture
def deploy_run(default_stack: Synthesized, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`python -m infra deploy` with the preflight's plan given (its ECR stubbed) and the CDK CLI's calls
    recorded: synth finds the real synthesized assembly, deploy writes the outputs file."""
    session = EcrSession()
    plan = Plan(Target(ACCOUNT, REGION), session, ("cloudWatchRole=true",), ("a note",))
    calls: list[tuple[str, list[str], list[str], dict[str, str]]] = []
    outputs = tmp_path / "build" / "cdk-outputs.json"

    def run_cdk(command: str, args: list[str], context=(), env=None) -> None:
        calls.append((command, list(args), list(context), dict(env or {})))
        if command == "deploy":
            outputs.write_text(json.dumps({"SentimentApi": {"ApiUrl": "https://x/v1/", "ApiKeyId": "k"}}))

    monkeypatch.setattr(cli, "check_deploy", lambda model_dir, settings, region=None: plan)
    monkeypatch.setattr(cli, "run_cdk", run_cdk)
    monkeypatch.setattr(cli, "OUTPUTS_FILE", outputs)
    monkeypatch.setattr(cli, "REPO_ROOT", tmp_path)
    argv = ["deploy", "--output", str(default_stack.outdir), "-c", "cloudWatchRole=false"]
    return session, calls, argv


def test_deploy_checks_the_tag_of_its_own_synth_then_deploys_that_assembly(deploy_run, image, capsys) -> None:
    session, calls, argv = deploy_run
    session.holds(image, None).holds(image, DOCKER_MANIFEST)  # before the deploy: absent; after: pushed
    assert cli.main(argv) == 0
    (synth, deploy) = calls
    assert synth[0] == "synth"
    assert synth[2] == ["cloudWatchRole=true"]  # the preflight's context replaces the user's
    assert synth[3] == {"AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}
    assert deploy[0] == "deploy"
    assert deploy[1][:2] == ["--app", synth[1][synth[1].index("--output") + 1]]  # the assembly checked
    assert deploy[3]["BUILDX_NO_DEFAULT_ATTESTATIONS"] == "1"
    out = capsys.readouterr().out
    assert out.startswith("a note\n")
    assert out.rstrip().endswith(f"image: {REPOSITORY}:{image.tag} ({DOCKER_MANIFEST})")


def test_deploy_stops_before_cdk_deploy_when_ecr_holds_an_index(deploy_run, image, capsys) -> None:
    session, calls, argv = deploy_run
    session.holds(image, OCI_INDEX)
    assert cli.main(argv) == 2
    assert [call[0] for call in calls] == ["synth"]
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ECR already holds the image ")


def test_describe_pushed_says_what_ecr_holds(image) -> None:
    session = EcrSession().holds(image, OCI_MANIFEST)
    assert describe_pushed(session, [image]) == [f"image: {REPOSITORY}:{image.tag} ({OCI_MANIFEST})"]
