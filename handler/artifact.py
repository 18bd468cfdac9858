"""Read and check an artifact directory written by export/, before any model is loaded from it.

The handler refuses to start on an artifact that breaks the contract: a clear init error beats wrong
answers (labels swapped, long texts silently truncated).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tokenizers import Tokenizer

from handler.errors import ArtifactError

ARTIFACT_FILES = ("model.onnx", "tokenizer.json", "config.json", "manifest.json")


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


def _read_json(path: Path) -> dict[str, Any]:
    with loading(path):
        return json.loads(path.read_text(encoding="utf-8"))


def read_manifest(root: Path) -> dict[str, Any]:
    """manifest.json, after checking every contract file exists with the size the manifest records.

    Raises:
        ArtifactError: a file is missing, unreadable, or differs in size (hashing would cost cold start).
    """
    missing = [name for name in ARTIFACT_FILES if not (root / name).is_file()]
    if missing:
        raise ArtifactError(f"{root} is not a model artifact: missing {', '.join(missing)}")
    manifest = _read_json(root / "manifest.json")
    for key in ("name", "max_windows", "files"):
        if key not in manifest:
            raise ArtifactError(f"{root / 'manifest.json'} lacks the key {key!r}")
    windows = manifest["max_windows"]
    if type(windows) is not int or windows < 1:  # 0 would fail every request instead of the cold start
        raise ArtifactError(
            f"{root / 'manifest.json'}: max_windows must be a positive integer, got {windows!r}"
        )
    for name, entry in manifest["files"].items():
        if not (root / name).is_file():
            raise ArtifactError(f"{root / name} is missing; manifest.json lists it")
        size = (root / name).stat().st_size
        if size != entry.get("bytes"):
            raise ArtifactError(f"{root / name} is {size} bytes; manifest.json says {entry.get('bytes')}")
    return manifest


def model_id(manifest: dict[str, Any]) -> str:
    """`name@sha12`: tells a caller exactly which weights answered.

    The sha256 of model.onnx; with an n-gram model, the sha256 of both files' sha256s and the blend weight,
    so that a change to any of the three changes the id.
    """
    digest = manifest["files"]["model.onnx"]["sha256"]
    if ngrams := manifest.get("ngrams"):
        ngram_sha = manifest["files"][ngrams["file"]]["sha256"]
        digest = hashlib.sha256(f"{digest} {ngram_sha} {float(ngrams['weight'])!r}".encode()).hexdigest()
    return f"{manifest['name']}@{digest[:12]}"


def read_labels(root: Path, manifest: dict[str, Any]) -> tuple[str, ...]:
    """Label names by class id from config.json's id2label, which must agree with the manifest.

    Raises:
        ArtifactError: no id2label, or it disagrees with manifest["labels"].
    """
    id2label = _read_json(root / "config.json").get("id2label") or {}
    labels = tuple(id2label[key] for key in sorted(id2label, key=int))
    if not labels or labels != tuple(manifest.get("labels", labels)):
        wanted = manifest.get("labels")
        raise ArtifactError(f"config.json id2label {labels} does not match manifest labels {wanted}")
    return labels


PROBLEM_TYPES = ("single_label_classification", "multi_label_classification")


def read_problem(manifest: dict[str, Any]) -> tuple[bool, float]:
    """(multi-label?, threshold): softmax over the labels, or each label's sigmoid against the threshold.

    An artifact without `problem_type` predates multi-label models: single-label.

    Raises:
        ArtifactError: an unknown problem type, or a multi-label threshold outside (0, 1).
    """
    problem = manifest.get("problem_type", PROBLEM_TYPES[0])
    if problem not in PROBLEM_TYPES:
        raise ArtifactError(f"manifest.json: problem_type must be one of {PROBLEM_TYPES}, got {problem!r}")
    if problem == PROBLEM_TYPES[0]:
        return False, 0.5
    threshold = manifest.get("threshold")
    if type(threshold) not in (int, float) or not 0 < threshold < 1:
        raise ArtifactError(f"manifest.json: a multi-label threshold must be in (0, 1), got {threshold!r}")
    return True, float(threshold)


def read_ngrams(root: Path, manifest: dict[str, Any]) -> tuple[Path, float] | None:
    """The n-gram model's file and blend weight (manifest key "ngrams"), or None: it is optional.

    Raises:
        ArtifactError: the entry names a file the manifest does not list (so its size went unchecked), a
            weight outside (0, 1], or the model is multi-label.
    """
    entry = manifest.get("ngrams")
    if entry is None:
        return None
    where = root / "manifest.json"
    if read_problem(manifest)[0]:
        raise ArtifactError(
            f"{where}: an n-gram model blends single-label answers; this model is multi-label"
        )
    name, weight = (entry.get("file"), entry.get("weight")) if isinstance(entry, dict) else (None, None)
    if not isinstance(name, str) or name not in manifest["files"]:
        raise ArtifactError(f"{where}: ngrams.file must name a file listed under files, got {name!r}")
    if type(weight) not in (int, float) or not 0 < weight <= 1:  # type(), not isinstance: a bool is no weight
        raise ArtifactError(f"{where}: ngrams.weight must be a number in (0, 1], got {weight!r}")
    return root / name, float(weight)


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
