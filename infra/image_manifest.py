"""The function's image in ECR must be one image manifest: Lambda refuses an image index.

Docker with the containerd image store (Engine 29, recent Docker Desktop) builds with BuildKit's provenance
attestations on by default and pushes an OCI image index, which Lambda answers with "The image manifest,
config or layer media type for the source image ... is not supported". The CDK CLI pushes a tag only when
ECR lacks it, and the tag is the asset's content hash: an index pushed once is reused by every retry, whatever
Docker does next. So before `cdk deploy`, the tag the synthesized asset manifest names is looked up in ECR.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from infra.preflight import AWS_READS, PreflightError

INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
# For the image build of `cdk deploy`: BuildKit's default attestations off. The pinned CDK CLI sets it
# for its own `docker build` already; set here too, it holds whichever CLI version runs the build.
# Builders that do not know the variable (Finch, Podman, Docker's legacy builder) ignore it.
NO_ATTESTATIONS_ENV = {"BUILDX_NO_DEFAULT_ATTESTATIONS": "1"}


@dataclass(frozen=True)
class PushedImage:
    """Where `cdk deploy` pushes (or finds) the function's image: repository and tag, in a region."""

    repository: str
    tag: str
    region: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def image_assets(assembly: Path, stack_name: str, account: str, region: str) -> list[PushedImage]:
    """The image destinations of the synthesized stack (`<stack>.assets.json`), placeholders filled in.

    An environment-agnostic synth names the bootstrap repository with `${AWS::AccountId}` and
    `${AWS::Region}`, which the CDK CLI fills in with the deploy's account and region; so does this.

    Raises:
        OSError, ValueError: the assembly holds no readable asset manifest for the stack.
    """
    manifest = json.loads((assembly / f"{stack_name}.assets.json").read_text())
    fill = {"${AWS::AccountId}": account, "${AWS::Region}": region}
    images = []
    for asset in manifest.get("dockerImages", {}).values():
        for destination in asset["destinations"].values():
            repository = destination["repositoryName"]
            for placeholder, value in fill.items():
                repository = repository.replace(placeholder, value)
            images.append(PushedImage(repository, destination["imageTag"], destination.get("region", region)))
    return images


def media_type(ecr: Any, image: PushedImage) -> str | None:
    """The manifest media type ECR holds for the image's tag; None when the tag (or repository) is absent.

    Raises:
        ClientError, BotoCoreError: ECR cannot be read (e.g. access denied).
    """
    try:
        details = ecr.describe_images(repositoryName=image.repository, imageIds=[{"imageTag": image.tag}])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in (
            "ImageNotFoundException",
            "RepositoryNotFoundException",
        ):
            return None
        raise
    return details["imageDetails"][0].get("imageManifestMediaType")


def check_pushed_images(session: boto3.Session, images: list[PushedImage]) -> list[str]:
    """Refuse a tag ECR holds as an index; returns warnings for tags it could not look up.

    Deleting the tag is left to the user, with the exact command: this check only reads, the user's
    credentials may not be allowed to delete from the bootstrap repository (the CDK CLI pushes through
    its image-publishing role), and a deletion is theirs to decide.

    Raises:
        PreflightError: one line per index (joined), each with the `aws ecr batch-delete-image` to run.
    """
    refused, warnings = [], []
    for image in images:
        try:
            found = media_type(_ecr(session, image), image)
        except (ClientError, BotoCoreError) as exc:
            warnings.append(f"warning: could not check whether ECR already holds {image} as an index ({exc})")
            continue
        if found in INDEX_MEDIA_TYPES:
            refused.append(
                f"ECR already holds the image {image} as an image index ({found}), which Lambda refuses, "
                "and cdk deploy would reuse it: delete it with `aws ecr batch-delete-image --region "
                f"{image.region} --repository-name {image.repository} --image-ids imageTag={image.tag}`, "
                "then run make deploy again (the image is now built without attestations)"
            )
    if refused:
        raise PreflightError("; ".join(refused))
    return warnings


def describe_pushed(session: boto3.Session, images: list[PushedImage]) -> list[str]:
    """What ECR holds after the deploy, one line per image: its manifest media type."""
    lines = []
    for image in images:
        try:
            found = media_type(_ecr(session, image), image) or "not found"
        except (ClientError, BotoCoreError) as exc:
            found = f"unknown ({exc})"
        lines.append(f"image: {image} ({found})")
    return lines


def _ecr(session: boto3.Session, image: PushedImage) -> Any:
    return session.client("ecr", region_name=image.region, config=AWS_READS)
