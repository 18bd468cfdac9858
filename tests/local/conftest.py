"""A real emulator (RIE + awslambdaric) running the handler on the tiny artifact, and the local front before
it, both on free 127.0.0.1 ports; stopped when the session ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local.emulator import HANDLER, RunningFunction, handler_env, running_function
from local.front import serving_front


@pytest.fixture(scope="session")
def emulator_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("emulator") / "emulator.log"


@pytest.fixture(scope="session")
def function(tiny_artifact: Path, emulator_log: Path) -> Iterator[RunningFunction]:
    env = handler_env(tiny_artifact)
    with emulator_log.open("w") as log, running_function(HANDLER, env=env, stdout=log) as fn:
        yield fn


@pytest.fixture(scope="session")
def front(function: RunningFunction) -> Iterator[str]:
    """Base URL of the local API Gateway stand-in."""
    with serving_front(function.url) as base_url:
        yield base_url
