"""Write the sha256 of every wheel the image may install into requirements/runtime.lock.

    .venv/bin/python requirements/lock.py

The lock's pins (names and versions) are kept as they are: edit them by hand, as its header says, then run
this. For each pin it records the hash of the wheel pip picks on each of the image's targets (the AWS base
and the local stand-in, x86_64 and arm64), so the Dockerfile's `pip install --require-hashes` refuses any
other file: a re-uploaded or substituted wheel fails the build. The hashes come from pip itself, a dry-run
install report per target (the index's own sha256, no wheel downloaded).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = Path(__file__).with_name("runtime.lock")
PYTHONS = ("3.11", "3.12")  # the local stand-in base's Python (Debian bookworm), the AWS base's
ARCHES = ("x86_64", "aarch64")
GLIBCS = (34, 36)  # Amazon Linux 2023 under the AWS base, Debian bookworm under the stand-in


def platforms(arch: str, glibc: int) -> list[str]:
    """manylinux tags a system with this glibc accepts, best first (pip ranks them in this order)."""
    legacy = ["manylinux2014", "manylinux2010", "manylinux1"] if arch == "x86_64" else ["manylinux2014"]
    return [f"manylinux_2_{minor}_{arch}" for minor in range(glibc, 4, -1)] + [f"{t}_{arch}" for t in legacy]


def chosen_hashes(pins: list[str], python: str, arch: str, glibc: int) -> dict[str, str]:
    """Package name -> sha256 of the wheel pip would install for this target."""
    with tempfile.TemporaryDirectory() as scratch:
        requirements, report = Path(scratch, "pins.txt"), Path(scratch, "report.json")
        requirements.write_text("\n".join(pins) + "\n")
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed"]
        command += ["--no-deps", "--only-binary=:all:", "--implementation", "cp", "--python-version", python]
        command += [arg for tag in platforms(arch, glibc) for arg in ("--platform", tag)]
        command += ["--target", str(Path(scratch, "target")), "--report", str(report)]
        command += ["-r", str(requirements)]
        subprocess.run(command, check=True)
        installs = json.loads(report.read_text())["install"]
    return {
        canonicalize_name(item["metadata"]["name"]): item["download_info"]["archive_info"]["hashes"]["sha256"]
        for item in installs
    }


def main() -> None:
    lines = LOCK.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    pins = [line.split()[0] for line in lines if line and not line.startswith(("#", " "))]
    hashes: dict[str, set[str]] = {canonicalize_name(Requirement(pin).name): set() for pin in pins}
    for python in PYTHONS:
        for arch in ARCHES:
            for glibc in GLIBCS:
                for name, digest in chosen_hashes(pins, python, arch, glibc).items():
                    hashes[name].add(digest)
    body = []
    for pin in pins:
        digests = sorted(hashes[canonicalize_name(Requirement(pin).name)])
        body.append(" \\\n".join([pin, *(f"    --hash=sha256:{digest}" for digest in digests)]))
    LOCK.write_text("\n".join([*header, *body]) + "\n")


if __name__ == "__main__":
    main()
