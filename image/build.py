"""Build the Lambda container image from the root Dockerfile: Docker (or `CDK_DOCKER`: finch, podman) when it
answers, else buildah; and say which manifest type it made, since Lambda takes one image manifest, no index.

With buildah the AWS base is used when it is present or can be pulled; otherwise the local stand-in
(`make local-base`, built on demand). The build context is the repository root, exactly what CDK hashes and
builds, unless the model comes from another directory (tests): then a small context is staged with it.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from handler.artifact import read_manifest
from handler.errors import ArtifactError
from handler.settings import BUILT_MODEL_DIR
from image.local_base import STANDIN_IMAGE, build_local_base
from image.tools import (
    BUILDAH,
    REPO,
    ImageError,
    build_command,
    buildah_build,
    buildah_image_id,
    family,
    has_buildx,
    pick_engine,
    run,
)

log = logging.getLogger(__name__)

# The Dockerfile's default base, pinned by digest there: the one place it is set.
AWS_BASE = re.search(r"^ARG BASE_IMAGE=(\S+)$", (REPO / "Dockerfile").read_text(), re.MULTILINE).group(1)
IMAGE = "localhost/sentiment-api:latest"
DEFAULT_MODEL = REPO / BUILT_MODEL_DIR
# What the Dockerfile copies besides the model; a staged context holds exactly these.
CONTEXT_ITEMS = ("Dockerfile", ".dockerignore", "requirements/runtime.lock", "image/trim.py", "handler")
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class BuiltImage:
    """What a build made: its engine, base, uncompressed size and manifest type."""

    tag: str
    engine: str
    base: str
    size: str
    manifest: str

    @property
    def lambda_accepts(self) -> bool:
        """Lambda runs an image manifest (Docker v2 schema 2 or OCI) and refuses an index of several."""
        return self.manifest not in INDEX_TYPES


def check_model(model_dir: Path) -> None:
    """Refuse a model directory the handler would refuse, before spending minutes on a build.

    Raises:
        ImageError: no model there, or one that breaks the artifact contract.
    """
    try:
        read_manifest(model_dir)
    except ArtifactError as exc:
        raise ImageError(str(exc)) from None


def build_context(model_dir: Path, stack: ExitStack) -> Path:
    """The repository root for build/model; else a temporary copy of the context holding `model_dir`."""
    if model_dir.resolve() == DEFAULT_MODEL.resolve():
        return REPO
    staged = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sentiment-image-")))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in CONTEXT_ITEMS:
        source, target = REPO / item, staged / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=ignore)
        else:
            shutil.copy2(source, target)
    shutil.copytree(model_dir, staged / BUILT_MODEL_DIR)
    return staged


def buildah_base() -> str:
    """The AWS base when buildah has it or can pull it; else the stand-in, built first if missing."""
    if buildah_image_id(AWS_BASE):
        return AWS_BASE
    try:
        run([*BUILDAH, "pull", "--quiet", AWS_BASE], capture=True, timeout=600)
        return AWS_BASE
    except ImageError as exc:
        log.info("cannot pull %s (%s); using the local stand-in %s", AWS_BASE, exc, STANDIN_IMAGE)
    if not buildah_image_id(STANDIN_IMAGE):
        log.info("%s is missing: building it (make local-base)", STANDIN_IMAGE)
        build_local_base(STANDIN_IMAGE)
    return STANDIN_IMAGE


def image_size(tag: str, engine: str) -> str:
    """The image's uncompressed size as its engine reports it."""
    if engine == "buildah":
        return json.loads(run([*BUILDAH, "images", "--json", tag], capture=True))[0]["size"]
    size = int(run([engine, "image", "inspect", "--format", "{{.Size}}", tag], capture=True))
    return f"{size / 1e6:.0f} MB"


def manifest_type(tag: str, engine: str) -> str:
    """The media type of the image's manifest, which a push writes as it is.

    Docker's containerd image store reports its descriptor; Docker's classic store reports none, and pushes
    a Docker v2 schema 2 manifest; podman reports ManifestType; finch (nerdctl) its native descriptor.
    """
    if engine == "buildah":
        inspect = [*BUILDAH, "inspect", "--type", "image", "--format", "{{.Manifest}}", tag]
        return json.loads(run(inspect, capture=True)).get("mediaType", OCI_MANIFEST)
    if family(engine) == "finch":
        (native,) = json.loads(run([engine, "image", "inspect", "--mode=native", tag], capture=True))
        return native["Image"]["Target"]["mediaType"]
    (image,) = json.loads(run([engine, "image", "inspect", tag], capture=True))
    return (image.get("Descriptor") or {}).get("mediaType") or image.get("ManifestType") or DOCKER_MANIFEST


def build_image(
    model_dir: Path = DEFAULT_MODEL, tag: str = IMAGE, base: str | None = None, engine: str | None = None
) -> BuiltImage:
    """Build the image with the model of `model_dir` and return what was built.

    Args:
        model_dir: artifact directory baked into the image (the export/ contract).
        tag: image name to give the result.
        base: base image; by default the AWS base, or the stand-in when buildah cannot pull it.
        engine: a Docker-compatible CLI (docker, podman, finch) or "buildah"; by default `pick_engine()`.

    Raises:
        ImageError: the model is incomplete or the build failed.
    """
    check_model(model_dir)
    engine = engine or pick_engine()
    with ExitStack() as stack:
        context = build_context(model_dir, stack)
        if engine == "buildah":
            base = base or buildah_base()
            log.info("building %s on %s with buildah", tag, base)
            buildah_build(context, tag, {"BASE_IMAGE": base})
        else:
            base = base or AWS_BASE
            log.info("building %s on %s with %s", tag, base, engine)
            run(build_command(engine, context, tag, {"BASE_IMAGE": base}, buildx=has_buildx(engine)))
    return BuiltImage(tag, engine, base, image_size(tag, engine), manifest_type(tag, engine))
