"""Run the container tools (docker, buildah, mmdebstrap) and turn their failures into one-line errors.

buildah always runs with the vfs storage driver and chroot isolation: they work as root in an unprivileged
container, which is where CI and this project's machines build (no Docker daemon, no overlay mounts).
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
BUILDAH = ("buildah", "--storage-driver", "vfs")
APT_PACKAGES = {"buildah": "buildah", "mmdebstrap": "mmdebstrap"}
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


def docker_daemon() -> bool:
    """True when a Docker daemon answers; the client alone (as on this project's machines) is not enough."""
    if shutil.which("docker") is None:
        return False
    try:
        answer = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return answer.returncode == 0


def pick_engine() -> str:
    """Return "docker" when a daemon answers, else "buildah"."""
    return "docker" if docker_daemon() else "buildah"


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
    certs = ["--volume", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if CA_BUNDLE.is_file() else []
    args = [flag for key, value in build_args.items() for flag in ("--build-arg", f"{key}={value}")]
    run([*BUILDAH, "bud", "--isolation", "chroot", *certs, *args, "--tag", tag, context])
    if previous and previous != buildah_image_id(tag):
        subprocess.run([*BUILDAH, "rmi", previous], capture_output=True, check=False)


def install_tools() -> None:
    """Install buildah and mmdebstrap with apt when they are missing (CI starts on a bare machine).

    Raises:
        ImageError: a tool is missing and apt cannot install it here (no apt, or not root).
    """
    missing = [APT_PACKAGES[tool] for tool in APT_PACKAGES if shutil.which(tool) is None]
    if not missing:
        log.info("buildah and mmdebstrap are installed")
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise ImageError(
            f"{' '.join(missing)} missing: install them (apt-get install -y {' '.join(missing)})"
        )
    log.info("installing %s with apt", " ".join(missing))
    run(["apt-get", "update", "-q"])
    run(["apt-get", "install", "-y", "-q", *missing])
