"""Deployment size: the image of (a) when built (sized by image/'s code), installed dependencies for both.

Both systems would sit on the same Lambda Python base image, so what differs is the installed
packages plus the model files. Sizes are measured from this venv's installed files: for (a) exactly what
the Dockerfile installs (requirements/runtime.lock, no resolver) less what image/trim.py drops; for (c)
the closure of torch and transformers (the CPU-only torch build, which flatters the peer: a plain `pip
install torch` on Linux pulls CUDA wheels too).
"""

from __future__ import annotations

import importlib.metadata as metadata
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.errors import BenchError
from image.build import image_size
from image.tools import ImageError, pick_engine
from image.trim import trimmed

_MB_PER_UNIT = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}


def read_requirements(path: Path) -> list[str]:
    """Requirement strings of a requirements file (comments, options such as a lock's `--hash`, and `-r`
    lines skipped)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().replace("\\\n", "\n").splitlines())
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


def installed_bytes(names: set[str], keep: Callable[[PurePosixPath], bool] = lambda _: True) -> int:
    """Bytes on disk of every file the distributions installed (from their RECORD) that `keep` accepts
    (it sees the path relative to site-packages)."""
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file() and keep(PurePosixPath(file.as_posix())):
                total += path.stat().st_size
    return total


def packages_mb(names: set[str]) -> dict[str, float]:
    """MB per installed distribution."""
    return {name: installed_bytes({name}) / 1e6 for name in names}


def image_packages_mb(lock: Path) -> dict[str, float]:
    """MB per package the image installs: the lock's pins, installed as they are (`--no-deps`), without
    the files image/trim.py removes in the same layer.

    Raises:
        BenchError: a pinned package is not installed in this environment.
    """
    names = {canonicalize_name(Requirement(line).name) for line in read_requirements(lock)}
    missing = sorted(name for name in names if not _installed(name))
    if missing:
        raise BenchError(f"{', '.join(missing)} not installed; run `make install`")
    return {name: installed_bytes({name}, keep=lambda path: not trimmed(path)) / 1e6 for name in names}


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


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
