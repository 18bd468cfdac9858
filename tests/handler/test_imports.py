"""The handler stays torch-free: importing it (which loads the model, as Lambda's init does) pulls in none of
the build-time libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.handler.conftest import POWERTOOLS_ENV

FORBIDDEN = ("torch", "transformers", "optimum", "export", "sklearn", "scipy", "onnx")


def test_handler_imports_no_build_libraries(tiny_artifact: Path):
    code = (
        "import sys, handler.app\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    env = {**os.environ, **POWERTOOLS_ENV, "MODEL_DIR": str(tiny_artifact)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=Path(__file__).parents[2]
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_init_fails_loudly_without_a_model(tmp_path: Path):
    env = {**os.environ, **POWERTOOLS_ENV, "MODEL_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "import handler.app"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode != 0
    assert f"ArtifactError: no model in {tmp_path} (missing model.onnx" in result.stderr.splitlines()[-1]
