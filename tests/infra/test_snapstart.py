"""SnapStart: an opt-in of the stack (snapStart), off by default, refused beside provisioned concurrency."""

from __future__ import annotations

from pathlib import Path

import pytest
from infra_synth import Synthesized, only, synthesize

from infra.settings import Settings, SettingsError


def test_snapstart_is_off_by_default(default_stack: Synthesized) -> None:
    assert "SnapStart" not in only(default_stack, "AWS::Lambda::Function")


def test_snapstart_snapshots_published_versions(tmp_path: Path) -> None:
    function = only(synthesize(tmp_path, {"snapStart": "true"}), "AWS::Lambda::Function")
    assert function["SnapStart"] == {"ApplyOn": "PublishedVersions"}


def test_snapstart_with_provisioned_concurrency_is_refused() -> None:
    context = {"snapStart": "true", "provisionedConcurrency": "2"}
    with pytest.raises(SettingsError, match=r"snapStart \(SENTIMENT_SNAP_START\) must be false with "):
        Settings.from_sources(context.get, {})
