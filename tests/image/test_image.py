"""Slow: build the stand-in base and the Lambda image with buildah, run the image and check its answers.

Unique tags keep these builds apart from a user's `make image`; they are removed afterwards (vfs storage
keeps full copies of every layer, so leftovers cost hundreds of MB each).
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from image.build import AWS_BASE, OCI_MANIFEST, BuiltImage, build_image
from image.local_base import PYTHON, build_local_base
from image.tools import BUILDAH, run
from image.verify import verify_image
from tests.handler.conftest import POWERTOOLS_ENV
from tests.handler.test_imports import FORBIDDEN

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
    assert built.manifest == OCI_MANIFEST  # one image manifest: what a push writes, and what Lambda runs
    verify_image(built.tag, tiny_artifact, engine="buildah")  # raises ImageError listing every wrong answer


def test_image_is_torch_free_and_carries_the_artifact(built: BuiltImage, tiny_artifact: Path) -> None:
    """None of the build-time libraries the import test forbids is even installed in the image, and importing
    the handler there (which loads the model, as Lambda's init does) loads none of them."""
    probe = (
        "import importlib.util, json, os, sys;"
        f"forbidden = {FORBIDDEN!r};"
        "installed = [m for m in forbidden if importlib.util.find_spec(m)];"
        "import handler.app;"
        "print(json.dumps({'installed': installed, 'imported': sorted({m.split('.')[0] for m in sys.modules}"
        " & set(forbidden)), 'model': sorted(os.listdir(os.environ['MODEL_DIR'])),"
        " 'task': sorted(os.listdir(os.environ['LAMBDA_TASK_ROOT']))}))"
    )
    env = [f"{name}={value}" for name, value in POWERTOOLS_ENV.items()]
    found = json.loads(run_in_image(built.tag, "env", *env, "python3", "-c", probe).splitlines()[-1])
    assert (found["installed"], found["imported"]) == ([], [])
    assert found["model"] == sorted(path.name for path in tiny_artifact.iterdir())
    assert {"handler", "model", "onnxruntime", "tokenizers"} <= set(found["task"])
    assert not {"tests", "export", ".venv", "build"} & set(found["task"])


def test_standin_base_has_the_aws_layout_but_not_its_python(built: BuiltImage) -> None:
    """Python 3.12, the AWS base's, cannot be had offline here: Debian ships 3.11 (bookworm) and 3.13 (trixie,
    sid), none 3.12, and the PyPI and npm packages that carry CPython builds fetch them from GitHub at
    install time. So the stand-in runs 3.11 with the AWS base's layout, and says so."""
    checks = [
        "test -d /var/runtime",
        'test "$(command -v python3)" = /var/lang/bin/python3',
        "test -x /lambda-entrypoint.sh",
        "test -x /usr/local/bin/aws-lambda-rie",
    ]
    script = 'python3 -c "import platform; print(platform.python_version())"; echo "$LAMBDA_TASK_ROOT $PWD";'
    found = run_in_image(built.tag, "sh", "-c", script + " && ".join(checks) + " && echo layout-ok").split()
    aws_python = re.search(r"python:([\d.]+)", AWS_BASE).group(1)
    print(f"stand-in base: Python {found[0]} with the AWS layout; the AWS base {AWS_BASE} runs {aws_python}")
    assert found[0].startswith(f"{PYTHON}.")
    assert found[1:] == ["/var/task", "/var/task", "layout-ok"]
