"""Build the local stand-in for the AWS Lambda Python base image, which cannot be pulled on this network.

mmdebstrap makes a small Debian rootfs (Python + pip + CA certificates; no docs, no usrmerge/perl), then
buildah turns it into an image with `base/Containerfile`, which adds what the AWS base provides: awslambdaric,
the real Runtime Interface Emulator and an entrypoint with the same behaviour. The tag says "standin" so the
image can never be mistaken for the AWS one.
"""

from __future__ import annotations

import logging
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

from image.tools import REPO, ImageError, buildah_build, run
from local.emulator import EmulatorError, ensure_rie

log = logging.getLogger(__name__)

SUITE = "bookworm"
PYTHON = "3.11"  # the Python of SUITE; checked against the rootfs, and the tag carries it
STANDIN_IMAGE = f"localhost/lambda-python-standin:{PYTHON}"
MIRRORS = (
    f"deb http://deb.debian.org/debian {SUITE} main",
    f"deb http://deb.debian.org/debian {SUITE}-updates main",
    f"deb http://deb.debian.org/debian-security {SUITE}-security main",
)
PACKAGES = ("python3", "python3-pip", "ca-certificates")
# A Lambda image never reads manuals or translations: leaving them out keeps the base small.
EXCLUDED_PATHS = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*")
CONTAINERFILE_DIR = Path(__file__).with_name("base")


def awslambdaric_pin() -> str:
    """The awslambdaric version pinned in requirements/local.txt, so the stand-in runs the emulator's client.

    Raises:
        ImageError: requirements/local.txt does not pin awslambdaric.
    """
    found = re.search(r"^awslambdaric==(\S+)", (REPO / "requirements/local.txt").read_text(), re.MULTILINE)
    if found is None:
        raise ImageError("requirements/local.txt does not pin awslambdaric (awslambdaric==X.Y.Z)")
    return found.group(1)


def make_rootfs(tarball: Path) -> None:
    """Write a minimal Debian rootfs with Python to `tarball` (mmdebstrap, merged /usr without perl).

    Raises:
        ImageError: mmdebstrap failed, or the rootfs does not hold the expected Python.
    """
    run(
        [
            "mmdebstrap",
            "--variant=minbase",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            f"--include={','.join(PACKAGES)}",
            *(f"--dpkgopt=path-exclude={path}" for path in EXCLUDED_PATHS),
            SUITE,
            tarball,
            *MIRRORS,
        ]
    )
    with tarfile.open(tarball) as rootfs:
        if f"./usr/bin/python{PYTHON}" not in rootfs.getnames():
            raise ImageError(f"the {SUITE} rootfs has no python{PYTHON}: update PYTHON in {__file__}")


def build_local_base(tag: str = STANDIN_IMAGE) -> str:
    """Build the stand-in base image and return its tag.

    Raises:
        ImageError: a tool failed (mmdebstrap, buildah) or the emulator could not be fetched.
    """
    with tempfile.TemporaryDirectory(prefix="lambda-standin-") as workdir:
        context = Path(workdir)
        try:  # first: it fails in seconds where mmdebstrap takes a minute
            shutil.copy2(ensure_rie(), context / "aws-lambda-rie")
        except EmulatorError as exc:
            raise ImageError(str(exc)) from exc
        log.info("building a Debian %s rootfs with mmdebstrap", SUITE)
        make_rootfs(context / "rootfs.tar")
        for item in CONTAINERFILE_DIR.iterdir():
            shutil.copy2(item, context / item.name)
        log.info("importing it into buildah as %s", tag)
        buildah_build(context, tag, {"AWSLAMBDARIC_VERSION": awslambdaric_pin()})
    return tag
