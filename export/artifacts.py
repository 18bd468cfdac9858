"""Artifact directories written atomically, their serving tokenizer and their manifest (written last)."""

from __future__ import annotations

import hashlib
import platform
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from tokenizers import Tokenizer

from export.swap import swap_in
from handler.manifest import MANIFEST_FILE, FileEntry, Record

VERSIONED = (
    "torch",
    "transformers",
    "optimum",
    "optimum-onnx",
    "onnx",
    "onnxruntime",
    "tokenizers",
    "datasets",
    "scikit-learn",
)


@contextmanager
def staged(destination: Path) -> Iterator[Path]:
    """A temporary directory beside `destination`, swapped into its place only if the block succeeds.

    Beside, not in /tmp, so the swap stays on one filesystem, where the kernel exchanges the directories in
    one step (export/swap.py): a reader sees the old directory or the complete new one, never a half-written
    one and never none. On any failure, the block's or the swap's, the old directory is left untouched.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    work.chmod(0o755)  # mkdtemp makes it private; Lambda runs the image as a non-root user that must read it
    previous = None
    try:
        yield work
        previous = swap_in(work, destination)
    finally:
        shutil.rmtree(previous or work, ignore_errors=True)


def write_serving_tokenizer(source: Path, destination: Path, max_length: int, stride: int) -> None:
    """tokenizer.json as served: windows of `max_length` tokens overlapping by `stride`, pad to batch-longest.

    Base tokenizers may ship fixed settings (all-MiniLM-L6-v2: pad and truncate at 128); both are reset here.
    """
    tokenizer = Tokenizer.from_file(str(source))
    tokenizer.enable_truncation(max_length, stride=stride, strategy="longest_first", direction="right")
    pad = tokenizer.padding or {}
    pad_token = pad.get("pad_token", "[PAD]")
    pad_id = pad.get("pad_id", tokenizer.token_to_id(pad_token) or 0)
    tokenizer.enable_padding(direction="right", pad_id=pad_id, pad_token=pad_token, length=None)
    tokenizer.save(str(destination))


def sha256(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def file_entries(directory: Path, names: Iterable[str]) -> dict[str, FileEntry]:
    """sha256 and size of each named file, as the manifest lists them."""
    return {
        name: FileEntry(sha256=sha256(directory / name), bytes=(directory / name).stat().st_size)
        for name in names
    }


def checkpoint_entries(checkpoint_dir: Path) -> dict[str, FileEntry]:
    """sha256 and size of the checkpoint's weights (every *.safetensors file): the manifest records them so
    that tools reading the checkpoint beside an artifact (the bench's PyTorch peer) can tell it is the one
    the artifact came from, and not one a later, refused build left in its place."""
    return file_entries(checkpoint_dir, sorted(p.name for p in checkpoint_dir.glob("*.safetensors")))


def versions() -> dict[str, str]:
    """Library versions that shaped the artifact."""
    found = {"python": platform.python_version()}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def created() -> str:
    """The manifest's creation time: now, in UTC."""
    return datetime.now(UTC).isoformat()


def write_manifest(directory: Path, manifest: Record) -> None:
    """Write manifest.json (the sentence model's or the aspect tagger's), once, after every other file: its
    presence says the directory is complete."""
    (directory / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=2) + "\n")
