"""Slow: build the stand-in base and the Lambda image with buildah, run the image and check its answers.

Unique tags keep these builds apart from a user's `make image`; they are removed afterwards (vfs storage
keeps full copies of every layer, so leftovers cost hundreds of MB each).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from image.build import BuiltImage, build_image
from image.local_base import build_local_base
from image.tools import BUILDAH, run
from image.verify import verify_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tiny_artifact: Path) -> Iterator[BuiltImage]:
    """The stand-in base and the image with the tiny artifact, built once for this module."""
    suffix = f"pytest-{uuid.uuid4().hex[:8]}"
    base = f"localhost/lambda-python-standin:{suffix}"
    tag = f"localhost/sentiment-api:{suffix}"
    try:
        build_local_base(base)
        yield build_image(tiny_artifact, tag, base=base, engine="buildah")
    finally:
        subprocess.run([*BUILDAH, "rmi", tag, base], capture_output=True, check=False)


def run_in_image(tag: str, *argv: str) -> str:
    """Run one command in a throwaway container of `tag`, bypassing the entrypoint; return its stdout."""
    container = run([*BUILDAH, "from", "--pull-never", "--quiet", tag], capture=True).strip()
    try:
        return run([*BUILDAH, "run", "--isolation", "chroot", container, "--", *argv], capture=True)
    finally:
        run([*BUILDAH, "rm", container], capture=True)


def test_image_answers_rest_http_and_direct_events(built: BuiltImage, tiny_artifact: Path) -> None:
    assert (built.engine, built.base.split(":")[0]) == ("buildah", "localhost/lambda-python-standin")
    verify_image(built.tag, tiny_artifact, engine="buildah")  # raises ImageError listing every wrong answer


def test_image_is_torch_free_and_carries_the_artifact(built: BuiltImage, tiny_artifact: Path) -> None:
    probe = (
        "import importlib.util, json, os;"
        "print(json.dumps({'heavy': [m for m in ('torch', 'transformers', 'optimum')"
        " if importlib.util.find_spec(m)], 'model': sorted(os.listdir(os.environ['MODEL_DIR'])),"
        " 'task': sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT']))}))"
    )
    found = json.loads(run_in_image(built.tag, "python3", "-c", probe))
    assert found["heavy"] == []
    assert found["model"] == sorted(path.name for path in tiny_artifact.iterdir())
    assert {"handler", "model", "onnxruntime", "tokenizers"} <= set(found["task"])
    assert not {"tests", "export", ".venv", "build"} & set(found["task"])
