"""The image installs requirements/runtime.lock with --no-deps: it must carry every runtime.txt pin.

A pin bumped in runtime.txt (what the dev venv and the tests use) but not in the lock would ship a
different version than the one tested; a missing package would fail only at the first cold start.
"""

from __future__ import annotations

from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements"
HUB_CLIENT = {"huggingface-hub", "hf-xet", "torch", "transformers", "optimum"}


def _entries(path: Path) -> list[tuple[str, list[str]]]:
    """(requirement, its --hash options) per entry, continuation lines joined as pip joins them."""
    entries = []
    for line in path.read_text().replace("\\\n", " ").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            hashes = [word.removeprefix("--hash=") for word in words[1:] if word.startswith("--hash=")]
            entries.append((words[0], hashes))
    return entries


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line, _ in _entries(path):
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier  # every line is an exact == pin
            assert specifier.operator == "==", f"{path.name}: {line} is not an exact pin"
            pins[canonicalize_name(requirement.name)] = specifier.version
    return pins


def test_lock_pins_every_runtime_requirement_at_the_same_version() -> None:
    runtime, lock = _pins(REQUIREMENTS / "runtime.txt"), _pins(REQUIREMENTS / "runtime.lock")
    assert {name: lock.get(name) for name in runtime} == runtime


def test_lock_leaves_out_the_hub_client_and_the_training_stack() -> None:
    assert not HUB_CLIENT & set(_pins(REQUIREMENTS / "runtime.lock"))


def test_every_lock_pin_carries_the_sha256_of_its_wheels() -> None:
    # The Dockerfile installs with --require-hashes: a pin without a hash would fail the build.
    entries = _entries(REQUIREMENTS / "runtime.lock")
    assert entries
    for requirement, hashes in entries:
        assert hashes, requirement
        assert all(len(h) == len("sha256:") + 64 and h.startswith("sha256:") for h in hashes), requirement
    dockerfile = (REQUIREMENTS.parent / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile
