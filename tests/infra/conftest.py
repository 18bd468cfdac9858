"""Synthesized stacks shared by the infra tests: each variant is synthesized once per session.

jsii starts a Node.js process and every synth stages the image asset, so the variants are few and
session-scoped: the defaults, one with (nearly) every option switched away from its default, one
mixing IAM auth with open docs (the publicDocs opt-in) and several CORS origins, and one synthesized for an
account and region as `make deploy` does, with bulk scoring on.
"""

from __future__ import annotations

import pytest
from infra_synth import MIXED_CONTEXT, OPTIONS_CONTEXT, REGIONAL_ENVIRON, Synthesized, synthesize


@pytest.fixture(scope="session")
def default_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-default"), {})


@pytest.fixture(scope="session")
def options_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-options"), OPTIONS_CONTEXT)


@pytest.fixture(scope="session")
def mixed_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-mixed"), MIXED_CONTEXT)


@pytest.fixture(scope="session")
def regional_stack(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("cdk-regional"), {"bulk": "true"}, REGIONAL_ENVIRON)
