"""The artifact contract (handler/manifest.py, handler/artifact.py) on copies of the tiny artifact: a manifest
older code wrote still loads and is served back as written; each class of broken manifest (a missing key,
a wrong type, a bad value, an unknown key, keys that disagree) is refused at init in one line naming the
file; "is there a model?" has one answer."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from handler.artifact import check_files, read_manifest, require_model
from handler.errors import ArtifactError
from handler.inference import Classifier
from handler.manifest import Manifest

Change = Callable[[dict[str, Any]], object]


def setter(*path: str, value: Any) -> Change:
    """A change that sets manifest[path[0]]...[path[-1]] to `value`."""

    def change(manifest: dict[str, Any]) -> None:
        for key in path[:-1]:
            manifest = manifest[key]
        manifest[path[-1]] = value

    return change


def multi_label(threshold: Any, ngrams: bool = False) -> Change:
    def change(manifest: dict[str, Any]) -> None:
        manifest |= {"problem_type": "multi_label_classification", "threshold": threshold}
        if not ngrams:
            manifest["ngrams"] = None
        if threshold is None:
            del manifest["threshold"]

    return change


BROKEN: dict[str, tuple[Change, str]] = {
    # a missing key
    "no name": (lambda m: m.pop("name"), r"lacks the key 'name'$"),
    "no files": (lambda m: m.pop("files"), r"lacks the key 'files'$"),
    "no ngrams.file": (lambda m: m["ngrams"].pop("file"), r"lacks the key 'ngrams\.file'$"),
    "no bytes": (
        lambda m: m["files"]["config.json"].pop("bytes"),
        r"lacks the key 'files\.config\.json\.bytes'",
    ),
    # a wrong type
    "max_windows '8'": (
        setter("max_windows", value="8"),
        r"max_windows: input should be a valid integer, got '8'",
    ),
    "max_windows 2.5": (
        setter("max_windows", value=2.5),
        r"max_windows: input should be a valid integer, got 2\.5",
    ),
    "max_windows true": (
        setter("max_windows", value=True),
        r"max_windows: input should be a valid integer, got True",
    ),
    "weight '0.3'": (
        setter("ngrams", "weight", value="0.3"),
        r"ngrams\.weight: input should be a valid number",
    ),
    "weight true": (
        setter("ngrams", "weight", value=True),
        r"ngrams\.weight: input should be a valid number",
    ),
    "ngrams a string": (setter("ngrams", value="ngrams.onnx"), r"ngrams: input should be an object"),
    "labels a string": (setter("labels", value="POSITIVE"), r"labels: input should be a valid array"),
    "bytes a string": (
        setter("files", "model.onnx", "bytes", value="9"),
        r"files\.model\.onnx\.bytes: input should",
    ),
    # a bad value
    "max_windows 0": (
        setter("max_windows", value=0),
        r"max_windows: input should be greater than or equal to 1",
    ),
    "max_windows -1": (
        setter("max_windows", value=-1),
        r"max_windows: input should be greater than or equal to 1",
    ),
    "weight 0": (
        setter("ngrams", "weight", value=0),
        r"ngrams\.weight: input should be greater than 0, got 0$",
    ),
    "weight -0.1": (
        setter("ngrams", "weight", value=-0.1),
        r"ngrams\.weight: input should be greater than 0",
    ),
    "weight 1.5": (
        setter("ngrams", "weight", value=1.5),
        r"ngrams\.weight: input should be less than or equal to 1",
    ),
    "problem_type": (
        setter("problem_type", value="regression"),
        r"problem_type: input should be 'single_label_",
    ),
    "threshold 1": (multi_label(1.0), r"threshold: input should be less than 1, got 1\.0$"),
    "threshold 0": (multi_label(0), r"threshold: input should be greater than 0, got 0$"),
    "sha256": (
        setter("files", "model.onnx", "sha256", value="abc"),
        r"files\.model\.onnx\.sha256: string should",
    ),
    # an unknown key
    "unknown key": (setter("max_window", value=8), r"has an unknown key 'max_window'$"),
    "unknown nested key": (setter("ngrams", "wieght", value=0.3), r"has an unknown key 'ngrams\.wieght'$"),
    # keys that disagree
    "no threshold": (multi_label(None), r"a multi-label model needs a threshold in \(0, 1\)$"),
    "multi-label n-grams": (multi_label(0.5, ngrams=True), r"an n-gram model blends single-label answers"),
    "ngrams.file unlisted": (
        setter("ngrams", "file", value="other.onnx"),
        r"ngrams\.file must name a file listed under files, got 'other\.onnx'$",
    ),
    "ngrams.tables unlisted": (
        setter("ngrams", "tables", value="other.npz"),
        r"ngrams\.tables must name a file listed under files, got 'other\.npz'$",
    ),
    "model.onnx unlisted": (lambda m: m["files"].pop("model.onnx"), r"files must list model\.onnx$"),
}


def copy_artifact(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def edit_manifest(directory: Path, change: Change) -> dict[str, Any]:
    manifest = json.loads((directory / "manifest.json").read_text())
    change(manifest)
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return manifest


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_manifest_is_refused_in_one_line_naming_the_file(tiny_artifact, tmp_path, case):
    change, reason = BROKEN[case]
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    edit_manifest(broken, change)
    with pytest.raises(
        ArtifactError, match=rf"^{re.escape(str(broken / 'manifest.json'))}: .*{reason}"
    ) as refused:
        Classifier.from_dir(broken)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("text", "reason"), [("{", "invalid JSON"), ("[]", "the document: input should be")])
def test_a_manifest_that_is_no_json_object_is_refused(tiny_artifact, tmp_path, text, reason):
    broken = copy_artifact(tiny_artifact, tmp_path / "model")
    (broken / "manifest.json").write_text(text)
    with pytest.raises(ArtifactError, match=rf"^{re.escape(str(broken / 'manifest.json'))}: {reason}"):
        read_manifest(broken)


def test_an_older_manifest_loads_and_is_served_back_as_written(tiny_artifact, tmp_path):
    """An artifact from before problem_type and the checkpoint record: single-label, and no key is added."""
    old = copy_artifact(tiny_artifact, tmp_path / "model")
    written = edit_manifest(old, lambda m: [m.pop("problem_type"), m.pop("checkpoint")])
    classifier = Classifier.from_dir(old, threads=1)
    assert (classifier.multi_label, classifier.threshold) == (False, 0.5)
    assert classifier.manifest.model_dump(mode="json") == written
    assert json.loads(classifier.manifest.model_dump_json()) == written


def test_model_id_names_every_file_and_weight_that_answers(tiny_artifact):
    manifest = json.loads((tiny_artifact / "manifest.json").read_text())
    ids = {Manifest.model_validate(manifest).model_id}
    for change in ({"ngrams": {**manifest["ngrams"], "weight": 0.35}}, {"ngrams": None}):
        ids.add(Manifest.model_validate({**manifest, **change}).model_id)
    other = {**manifest["files"], "ngrams.onnx": {**manifest["files"]["ngrams.onnx"], "sha256": "0" * 64}}
    ids.add(Manifest.model_validate({**manifest, "files": other}).model_id)
    assert len(ids) == 4
    plain = Manifest.model_validate({**manifest, "ngrams": None}).model_id
    assert plain == f"{manifest['name']}@{manifest['files']['model.onnx']['sha256'][:12]}"


def test_a_manifest_in_memory_is_checked_against_the_files_like_one_on_disk(tiny_artifact, tmp_path):
    """The build scores a staged directory before it writes its manifest: its sizes are checked as well."""
    staged = copy_artifact(tiny_artifact, tmp_path / "model")
    manifest = read_manifest(staged)
    (staged / "manifest.json").unlink()
    assert Classifier.from_dir(staged, threads=1, manifest=manifest).model_id == manifest.model_id
    with (staged / "config.json").open("a") as config:
        config.write(" ")
    with pytest.raises(ArtifactError, match=r"config\.json is \d+ bytes; manifest\.json says"):
        check_files(staged, manifest)


def test_no_model_has_one_answer_naming_every_missing_file(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    expected = (
        f"no model in {tmp_path} (missing model.onnx, tokenizer.json, manifest.json): run `make model` first"
    )
    with pytest.raises(ArtifactError) as refused:
        require_model(tmp_path)
    assert str(refused.value) == expected
    with pytest.raises(ArtifactError) as read:
        read_manifest(tmp_path)
    assert str(read.value) == expected
