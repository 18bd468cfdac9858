"""Read and check an artifact directory written by export/, before any model is loaded from it.

The handler refuses to start on an artifact that breaks the contract: a clear init error beats wrong
answers (labels swapped, long texts silently truncated). Every tool that needs a model (the handler, `make
eval`, `make image`, `make serve`, the bench, the deploy preflight) asks through `read_manifest`, so a
missing or broken model gets the same one-line answer everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from tokenizers import Tokenizer

from handler.errors import ArtifactError
from handler.manifest import ARTIFACT_FILES, MANIFEST_FILE, FileEntry, Manifest


class Listing(Protocol):
    """What the file and label checks read of a manifest: the sentence model's and the aspect tagger's
    (handler/aspect_manifest.py) both have it."""

    @property
    def files(self) -> dict[str, FileEntry]: ...

    @property
    def labels(self) -> list[str]: ...


Listed = TypeVar("Listed", bound=Listing)


@contextmanager
def loading(path: Path) -> Iterator[None]:
    """Turn a failure to read or load `path` into an ArtifactError naming the file, on one line.

    tokenizers and onnxruntime raise bare Exception subclasses for a corrupt file (one the size check cannot
    catch), which would otherwise surface as a raw traceback instead of the artifact contract's error.
    """
    try:
        yield
    except Exception as exc:
        reason = " ".join(str(exc).split())
        raise ArtifactError(f"cannot load {path}: {reason}") from exc


def _reason(error: ErrorDetails) -> str:
    """One validation error as a phrase: which key, and what is wrong with its value."""
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "missing":
        return f"lacks the key {where!r}"
    if error["type"] == "extra_forbidden":
        return f"has an unknown key {where!r}"
    if error["type"] == "value_error":  # the model's own checks: their message says it all
        return str(error.get("ctx", {}).get("error", error["msg"]))
    if error["type"] == "json_invalid":
        return f"invalid JSON: {error.get('ctx', {}).get('error', error['msg'])}"
    return f"{where or 'the document'}: {error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"


def require_model(root: Path, build: str = "make model") -> None:
    """Is there a model in `root`? Every file an artifact ships must be there (their contents are
    `read_manifest`'s to check). `build` is the command that makes one (`make model-aspects` for aspects).

    Raises:
        ArtifactError: the one message for "no model here", naming the missing files.
    """
    if missing := [name for name in ARTIFACT_FILES if not (root / name).is_file()]:
        raise ArtifactError(f"no model in {root} (missing {', '.join(missing)}): run `{build}` first")


def read_manifest(root: Path) -> Manifest:
    """The manifest of the artifact in `root`, after checking it and the files it lists.

    Raises:
        ArtifactError: no model there (`require_model`), manifest.json is not a valid manifest, or a listed
            file is missing or differs in size.
    """
    require_model(root)
    path = root / MANIFEST_FILE
    with loading(path):
        text = path.read_text(encoding="utf-8")
    try:
        manifest = Manifest.model_validate_json(text)
    except ValidationError as exc:
        raise validation_error(path, exc) from None
    return check_files(root, manifest)


def validation_error(path: Path, error: ValidationError) -> ArtifactError:
    """A manifest's validation errors as one ArtifactError line naming the file."""
    return ArtifactError(f"{path}: " + "; ".join(_reason(found) for found in error.errors()))


def check_files(root: Path, manifest: Listed) -> Listed:
    """`manifest`, once every file it lists is in `root` with the size it records (the build checks its
    directories this way before it writes their manifest).

    Raises:
        ArtifactError: a listed file is missing or differs in size.
    """
    for name, entry in manifest.files.items():  # the model lists every file an artifact ships
        if not (root / name).is_file():
            raise ArtifactError(f"{root / name} is missing; {MANIFEST_FILE} lists it")
        if (size := (root / name).stat().st_size) != entry.bytes:
            raise ArtifactError(f"{root / name} is {size} bytes; {MANIFEST_FILE} says {entry.bytes}")
    return manifest


def _read_json(path: Path) -> dict[str, Any]:
    with loading(path):
        return json.loads(path.read_text(encoding="utf-8"))


def read_labels(root: Path, manifest: Listing) -> tuple[str, ...]:
    """Label names by class id from config.json's id2label, which must agree with the manifest.

    Raises:
        ArtifactError: no id2label, or it disagrees with the manifest's labels.
    """
    id2label = _read_json(root / "config.json").get("id2label") or {}
    labels = tuple(id2label[key] for key in sorted(id2label, key=int))
    if labels != tuple(manifest.labels):
        raise ArtifactError(f"config.json id2label {labels} does not match manifest labels {manifest.labels}")
    return labels


def read_tokenizer(root: Path) -> Tokenizer:
    """tokenizer.json, which must window (truncation with a stride).

    Raises:
        ArtifactError: the file does not load, or truncation without a stride.
    """
    path = root / "tokenizer.json"
    with loading(path):
        tokenizer = Tokenizer.from_file(str(path))
    if tokenizer.truncation is None or not tokenizer.truncation.get("stride"):
        raise ArtifactError(f"{path} must enable truncation with a stride, or long texts cannot be windowed")
    return tokenizer
