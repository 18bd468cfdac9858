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
    """ "docker" when a daemon answers, else "buildah"."""
    return "docker" if docker_daemon() else "buildah"


def buildah_has_image(tag: str) -> bool:
    """True when buildah's storage already holds the image `tag` (asked quietly: absence is not an error)."""
    try:
        answer = subprocess.run([*BUILDAH, "inspect", "--type", "image", tag], capture_output=True)
    except FileNotFoundError as exc:
        raise ImageError("buildah is not installed: run `make image-deps`") from exc
    return answer.returncode == 0


def ca_volume() -> list[str]:
    """buildah `-v` flags that lend the host's CA bundle to RUN steps, when the host has one."""
    return ["-v", f"{CA_BUNDLE}:{CA_BUNDLE}:ro"] if CA_BUNDLE.is_file() else []


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
