"""The artifact swap: one atomic exchange, so a reader never finds the directory missing, and any failure
leaves the previous artifact where it was (not parked under a temporary name)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from export.artifacts import staged
from export.swap import exchange, swap_in, swap_in_two_steps

SWAPS = 300

# A separate process (its own CPU, no GIL shared with the writer) reads the artifact as fast as it can until
# told to stop, and counts the reads that found no artifact or a half-written one.
READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    artifact, stop = Path(sys.argv[1]), Path(sys.argv[2])
    reads = missing = 0
    print("ready", flush=True)
    while not stop.exists():
        reads += 1
        try:
            int((artifact / "version").read_text())
        except (OSError, ValueError):
            missing += 1
    print(reads, missing)
    """
)


def publish(destination: Path, version: int) -> None:
    with staged(destination) as work:
        (work / "version").write_text(str(version))
        (work / "model.onnx").write_bytes(b"x" * 4096)


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def test_a_reader_polling_during_swaps_never_finds_the_artifact_missing(tmp_path):
    destination, stop = tmp_path / "model", tmp_path / "stop"
    publish(destination, 0)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(destination), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline() == "ready\n"
        for version in range(1, SWAPS + 1):
            publish(destination, version)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
    reads, missing = map(int, out.split())
    assert reads > SWAPS  # the reader really ran during the swaps
    assert missing == 0, f"{missing} of {reads} reads found no complete artifact"
    assert (destination / "version").read_text() == str(SWAPS)
    assert leftovers(tmp_path) == []  # every replaced artifact was deleted


def test_this_platform_swaps_in_one_step(tmp_path):
    """Linux (renameat2) and macOS (renamex_np) exchange in one step; the test above relies on it."""
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "one").mkdir(parents=True)
    (second / "two").mkdir(parents=True)
    assert exchange(first, second) is True
    assert [p.name for p in first.iterdir()] == ["two"]
    assert [p.name for p in second.iterdir()] == ["one"]


def test_a_failed_build_leaves_the_previous_artifact_and_no_staging(tmp_path):
    destination = tmp_path / "model"
    publish(destination, 1)

    def refused_build() -> None:
        with staged(destination) as work:
            (work / "version").write_text("2")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        refused_build()
    assert (destination / "version").read_text() == "1"
    assert leftovers(tmp_path) == []


def test_a_failed_swap_leaves_the_previous_artifact_in_place(tmp_path):
    """A real failure of the exchange itself: across filesystems the kernel refuses it (EXDEV)."""
    elsewhere = Path("/dev/shm")
    if not elsewhere.is_dir() or elsewhere.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temporary directory")
    destination = tmp_path / "model"
    publish(destination, 1)
    new = Path(os.path.join(elsewhere, f"swap-test-{os.getpid()}"))
    new.mkdir()
    try:
        (new / "version").write_text("2")
        with pytest.raises(OSError, match="cross-device"):
            swap_in(new, destination)
        assert (destination / "version").read_text() == "1"
        assert (new / "version").read_text() == "2"
    finally:
        (new / "version").unlink()
        new.rmdir()
    assert leftovers(tmp_path) == []


def test_two_step_fallback_puts_the_previous_artifact_back_when_the_second_rename_fails(tmp_path):
    """Where the platform cannot exchange: the second rename fails for real (its source has vanished), and the
    previous artifact is renamed back, not left under the parked name."""
    destination, parked = tmp_path / "model", tmp_path / ".model-parked"
    publish(destination, 1)
    with pytest.raises(FileNotFoundError):
        swap_in_two_steps(tmp_path / ".model-vanished", destination, parked)
    assert (destination / "version").read_text() == "1"
    assert not parked.exists()


def test_first_publish_needs_no_previous_artifact(tmp_path):
    destination = tmp_path / "deeper" / "model"
    publish(destination, 1)
    assert (destination / "version").read_text() == "1"
    assert destination.stat().st_mode & 0o755 == 0o755
    assert leftovers(destination.parent) == []
