"""Deployment size: the image of (a) when built (sized by image/'s code), installed dependencies for both.

Both systems would sit on the same Lambda Python base image, so what differs is the installed
packages plus the model files. Sizes are measured from this venv's installed files (the CPU-only
torch build, which flatters the peer: a plain `pip install torch` on Linux pulls CUDA wheels too).
"""

from __future__ import annotations

import importlib.metadata as metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.errors import BenchError
from image.build import image_size
from image.tools import ImageError, pick_engine

_MB_PER_UNIT = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}


def read_requirements(path: Path) -> list[str]:
    """Requirement strings of a requirements file (comments, options and `-r` lines skipped)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def dependency_closure(requirements: list[str]) -> set[str]:
    """Canonical names of the installed distributions these requirements pull in, extras included.

    Raises:
        BenchError: a requirement is not installed in this environment.
    """
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as err:
            raise BenchError(f"{req.name} is not installed; run `make install`") from err
        seen.add(name)
        for dep in map(Requirement, dist.requires or []):
            wanted = [{"extra": extra} for extra in req.extras] or [{"extra": ""}]
            if dep.marker is None or any(dep.marker.evaluate(env) for env in wanted):
                todo.append(dep)
    return seen


def installed_bytes(names: set[str]) -> int:
    """Bytes on disk of every file the distributions installed (from their RECORD)."""
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file():
                total += path.stat().st_size
    return total


def directory_bytes(path: Path) -> int:
    """Bytes of every file under `path`."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def image_mb(tag: str) -> float | None:
    """Uncompressed size of a locally built image (the image engineer's engine choice), or None if absent."""
    try:
        number, unit = image_size(tag, pick_engine()).split()
    except ImageError:  # no such image (or no engine): the report sizes (a) from its packages instead
        return None
    return float(number) * _MB_PER_UNIT[unit.upper()]
