"""image/trim.py drops only what the handler never loads: the handler answers from the trimmed closure alone.

The closure is this venv's install of requirements/runtime.lock (the same pins the image installs; the
Python version may differ, the layout does not), copied into a temporary site directory, trimmed by the
real trim(), then imported by an interpreter that sees no other site-packages (`python -S`).
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from bench.sizes import read_requirements
from image.trim import PATTERNS, trim, trimmed

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events"
# Run with no site-packages: a REST predict (a short and a long text), the OpenAPI, Swagger and manifest
# routes (Powertools' OpenAPI models load there), a direct invoke and a Distributed Map batch.
SCRIPT = """
import json, sys
from types import SimpleNamespace
assert not any("site-packages" in p for p in sys.path), sys.path
import handler.app
import numpy, onnxruntime, tokenizers
context = SimpleNamespace(
    function_name="f", memory_limit_in_mb=1769, aws_request_id="r", get_remaining_time_in_millis=lambda: 9000,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
)
event = json.loads(open(sys.argv[1]).read())
event.update(isBase64Encoded=False, body=json.dumps({"texts": ["love it", "broke in a week " * 300]}))
answers = [handler.app.lambda_handler(event, context)]
for path in ("/openapi.json", "/swagger", "/model"):
    get = dict(event, httpMethod="GET", path=path, resource=path, body=None)
    where = dict(httpMethod="GET", path="/prod" + path, resourcePath=path)
    get["requestContext"] = dict(event["requestContext"], **where)
    answers.append(handler.app.lambda_handler(get, context))
answers.append(handler.app.lambda_handler({"text": "fine"}, context))
batch = handler.app.lambda_handler({"Items": [{"row": 0, "value": {"text": "fine"}}]}, context)
print(json.dumps({
    "status": [a.get("statusCode", 200) for a in answers],
    "predict": json.loads(answers[0]["body"]),
    "batch": batch,
    "from": [m.__file__ for m in (onnxruntime, numpy, tokenizers)],
}))
"""


def _lock_files() -> list[tuple[PurePosixPath, Path]]:
    """(path relative to site-packages, installed file) of every file the lock's packages installed."""
    names = [line.split("==")[0] for line in read_requirements(REPO / "requirements" / "runtime.lock")]
    files = []
    for name in names:
        for file in metadata.distribution(name).files or []:
            relative = PurePosixPath(file.as_posix())
            if relative.parts[0] != ".." and Path(file.locate()).is_file():  # not console scripts in bin/
                files.append((relative, Path(file.locate())))
    return files


@pytest.fixture(scope="module")
def trimmed_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int], set[PurePosixPath]]:
    """The trimmed site directory, what trim() freed per pattern, and every file copied in before it ran."""
    site = tmp_path_factory.mktemp("site")
    copied = set()
    for relative, source in _lock_files():
        target = site.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.add(relative)
    return site, trim(site), copied


def test_every_pattern_matches_the_pinned_closure_and_trimmed_agrees(trimmed_site):
    site, freed, copied = trimmed_site
    assert set(freed) == {pattern for pattern, _ in PATTERNS}  # trim() raises on a pattern matching nothing
    assert sum(freed.values()) > 50e6  # the C API library alone is 35 MB
    left = [PurePosixPath(path.relative_to(site).as_posix()) for path in site.rglob("*") if path.is_file()]
    assert left
    assert not any(map(trimmed, left))  # what bench/sizes.py counts is what trim() leaves
    assert {path for path in copied if trimmed(path)} == copied - set(left)  # and all that it removes
    assert not list(site.glob("onnxruntime/capi/libonnxruntime.so*"))


def test_the_handler_answers_from_the_trimmed_closure_alone(trimmed_site, tiny_artifact):
    site, _, _ = trimmed_site
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": f"{site}{os.pathsep}{REPO}",
        "MODEL_DIR": str(tiny_artifact),
        "POWERTOOLS_SERVICE_NAME": "trim-test",
        "POWERTOOLS_METRICS_NAMESPACE": "TrimTest",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    run = subprocess.run(
        [sys.executable, "-S", "-c", SCRIPT, str(EVENTS / "rest_v1_post_predict.json")],
        env=env,
        cwd=site,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["status"] == [200] * 5
    assert [p["windows"] > 1 for p in result["predict"]["predictions"]] == [False, True]
    assert [set(row) >= {"row", "label", "score"} for row in result["batch"]] == [True]
    assert all(path.startswith(str(site)) for path in result["from"])
