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


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
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
