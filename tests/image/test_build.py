"""Fast checks of the image CLI's own logic: an incomplete model is refused before any build starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from image.__main__ import main
from image.build import check_model
from image.tools import ImageError


def test_build_refuses_a_missing_model_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build", "--model", str(tmp_path / "missing")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert "run `make model` first" in error
    assert error.count("\n") == 1


def test_check_model_names_every_missing_file(tmp_path: Path) -> None:
    for name in ("model.onnx", "config.json"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(
        ImageError, match=r"\(missing tokenizer\.json, manifest\.json\): run `make model` first"
    ):
        check_model(tmp_path)
