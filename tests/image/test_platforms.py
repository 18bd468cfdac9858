"""Slow (asks PyPI): the image's locked runtime requirements install from wheels on both Lambda architectures.

The Dockerfile has no architecture-specific step, so arm64 works exactly when every runtime requirement
has a wheel for the AWS base's Python on aarch64. Amazon Linux 2023 has glibc 2.34: manylinux tags up to
2_34 run there. No compiler is in the image, so a source-only package must fail this test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from image.build import AWS_BASE
from image.tools import REPO

GLIBC_MINOR = 34  # Amazon Linux 2023, the OS of public.ecr.aws/lambda/python:3.12


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_runtime_requirements_have_wheels_for_the_aws_base(arch: str, tmp_path: Path) -> None:
    tags = ["manylinux2014", *(f"manylinux_2_{minor}" for minor in range(17, GLIBC_MINOR + 1))]
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--only-binary=:all:"]
    python = AWS_BASE.split("@")[0].rsplit(":", 1)[1]  # public.ecr.aws/lambda/python:3.12@sha256:...
    command += ["--implementation", "cp", "--python-version", python]
    command += [f"--platform={tag}_{arch}" for tag in tags]
    command += ["--no-deps", "--target", str(tmp_path / "target"), "--report", str(report)]
    subprocess.run([*command, "-r", str(REPO / "requirements/runtime.lock")], check=True)
    installed = {
        canonicalize_name(item["metadata"]["name"]) for item in json.loads(report.read_text())["install"]
    }
    assert {"onnxruntime", "tokenizers", "numpy", "pydantic-core", "aws-lambda-powertools"} <= installed
    assert not {"torch", "transformers", "optimum"} & installed
