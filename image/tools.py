"""Run the container tools (docker or podman or finch, buildah, mmdebstrap) and turn their failures into
one-line errors.

The engine is the one the CDK CLI builds the stack's image with: `CDK_DOCKER` (finch, podman) or docker,
when it answers `info`; else buildah, always with the vfs storage driver and chroot isolation: they work as
root in an unprivileged container, which is where CI and this project's machines build (no Docker daemon,
no overlay mounts).
"""

from __future__ import annotations

import logging
import os
import platform
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
BUILDAH = ("buildah", "--storage-driver", "vfs")
APT_PACKAGES = {"buildah": "buildah", "mmdebstrap": "mmdebstrap"}
ENGINE_ENV = "CDK_DOCKER"  # the CDK CLI's own variable: one choice of engine for make image and make deploy
INFO_TIMEOUT_S = 20
START_ENGINE = f"install and start Docker Desktop or Docker (or Finch or Podman: {ENGINE_ENV}=finch|podman)"
# The host's CA bundle: on networks with a TLS-inspecting proxy, pip inside a build step only trusts it.
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


class ImageError(Exception):
    """A step failed in a way the user can act on; the CLI prints it as one `error: ...` line."""


def run(cmd: Sequence[str | os.PathLike[str]], *, capture: bool = False, timeout: float | None = None) -> str:
    """Run a tool and return its stdout when `capture` (its stderr then feeds the error); else stream both.

    Raises:
        ImageError: the tool is missing, timed out or exited with a non-zero status.
    """
    args = [str(part) for part in cmd]
    log.debug("$ %s", shlex.join(args))
    pipe = subprocess.PIPE if capture else None
    try:
        done = subprocess.run(args, check=False, text=True, timeout=timeout, stdout=pipe, stderr=pipe)
    except FileNotFoundError as exc:
        raise ImageError(f"{args[0]} is not installed: run `make image-deps`") from exc
    except subprocess.TimeoutExpired as exc:
        raise ImageError(f"`{shlex.join(args[:4])} ...` did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        why = (done.stderr or "").strip().splitlines()[-1:] or ["output above"]
        raise ImageError(f"`{shlex.join(args[:4])} ...` failed ({done.returncode}): {why[0]}")
    return done.stdout or ""


def docker_cli() -> str:
    """The Docker-compatible CLI the CDK CLI builds the stack's image with: `CDK_DOCKER`, else docker."""
    return os.environ.get(ENGINE_ENV) or "docker"


def answers(cli: str) -> bool:
    """True when `cli info` succeeds: the client alone (as the docker CLI on this project's machines, with no
    daemon behind it) cannot build."""
    if shutil.which(cli) is None:
        return False
    try:
        answer = subprocess.run([cli, "info"], capture_output=True, timeout=INFO_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        return False
    return answer.returncode == 0


def pick_engine() -> str:
    """The CLI that builds: `CDK_DOCKER` or docker when it answers, else "buildah"."""
    cli = docker_cli()
    return cli if answers(cli) else "buildah"


def family(engine: str) -> str:
    """Which command-line dialect `engine` speaks: "buildah", "podman", "finch" (nerdctl's) or "docker"."""
    name = Path(engine).name
    dialects = {"buildah": ("buildah",), "podman": ("podman",), "finch": ("finch", "nerdctl")}
    return next((dialect for dialect, names in dialects.items() if name.startswith(names)), "docker")


def has_buildx(engine: str) -> bool:
    """True when `engine` is Docker with the buildx plugin, the builder that attaches attestations."""
    if family(engine) != "docker":
        return False
    answer = subprocess.run([engine, "buildx", "version"], capture_output=True, check=False)
    return answer.returncode == 0


def build_command(
    engine: str, context: Path, tag: str, build_args: dict[str, str], *, buildx: bool = False
) -> list[str]:
    """The command line that builds `context` as `tag` with `engine`, as one image manifest Lambda accepts.

    Docker's buildx attaches provenance attestations by default, which turns the image into an index that
    Lambda refuses: turned off (the legacy builder makes none, and rejects the flags). Podman makes none and
    writes a Docker v2 manifest with `--format docker`. Finch (nerdctl) makes none unless asked, and its
    `--provenance=false` asks for one (containerd/nerdctl#4328), so it gets no flag. buildah: see the module.
    """
    args = [flag for key, value in build_args.items() for flag in ("--build-arg", f"{key}={value}")]
    dialect = family(engine)
    if dialect == "buildah":
        certs = ["--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if CA_BUNDLE.is_file() else []
        head = [*BUILDAH, "bud", "--isolation", "chroot", *certs]
    elif dialect == "docker" and buildx:
        head = [engine, "buildx", "build", "--provenance=false", "--sbom=false", "--load"]
    elif dialect == "podman":
        head = [engine, "build", "--format", "docker"]
    else:
        head = [engine, "build"]
    return [*head, *args, "--tag", tag, str(context)]


def buildah_image_id(tag: str) -> str | None:
    """The id of the image `tag` in buildah's storage, or None (asked quietly: absence is not an error)."""
    inspect = [*BUILDAH, "inspect", "--type", "image", "--format", "{{.FromImageID}}", tag]
    try:
        answer = subprocess.run(inspect, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise ImageError("buildah is not installed: run `make image-deps`") from exc
    return answer.stdout.strip() if answer.returncode == 0 else None


def buildah_build(context: Path, tag: str, build_args: dict[str, str]) -> None:
    """`buildah bud` the Containerfile in `context` as `tag`, then drop the image `tag` named before.

    vfs keeps a full copy of every image, so a replaced one is removed at once (it is kept, harmlessly,
    while a container or another name still uses it). RUN steps see the host's CA bundle.
    """
    previous = buildah_image_id(tag)
    run(build_command("buildah", context, tag, build_args))
    if previous and previous != buildah_image_id(tag):
        subprocess.run([*BUILDAH, "rmi", previous], capture_output=True, check=False)


def cannot_install(missing: list[str], *, buildah: bool, system: str, can_apt: bool) -> str | None:
    """Why `missing` tools cannot be installed here (what to do instead), or None when apt can do it."""
    if system == "Darwin":
        if buildah:
            return "make local-base and the slow tests need buildah and mmdebstrap, which run on Linux only"
        return f"no container engine answers `{docker_cli()} info`: {START_ENGINE}"
    if can_apt:
        return None
    command = f"apt-get install -y {' '.join(missing)}"
    if buildah:
        return f"{' '.join(missing)} missing: install them as root ({command})"
    return f"no container engine answers `{docker_cli()} info`: {START_ENGINE}, or run {command}"


def install_tools(*, buildah: bool = False) -> None:
    """Make sure something can build the image: nothing to do when Docker (or `CDK_DOCKER`) answers, unless
    `buildah` (the stand-in base and the slow tests build with buildah and mmdebstrap whatever is there);
    else install buildah and mmdebstrap with apt when they are missing (CI starts on a bare machine).

    Raises:
        ImageError: nothing can build here and apt cannot install the tools (macOS, no apt, or not root).
    """
    if not buildah and (engine := pick_engine()) != "buildah":
        log.info("%s answers: it builds the image, nothing to install", engine)
        return
    missing = [APT_PACKAGES[tool] for tool in APT_PACKAGES if shutil.which(tool) is None]
    if not missing:
        log.info("buildah and mmdebstrap are installed")
        return
    can_apt = shutil.which("apt-get") is not None and os.geteuid() == 0
    if why := cannot_install(missing, buildah=buildah, system=platform.system(), can_apt=can_apt):
        raise ImageError(why)
    log.info("installing %s with apt", " ".join(missing))
    run(["apt-get", "update", "-q"])
    run(["apt-get", "install", "-y", "-q", *missing])
