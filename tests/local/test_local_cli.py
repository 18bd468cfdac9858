"""`python -m local demo|serve`: the demo answers every sample through emulator + front; bad input is a
one-line error with exit status 2."""

from __future__ import annotations

import re

from local.__main__ import DEMO_REVIEWS, main


def test_demo_prints_an_answer_per_review(tiny_artifact, capsys):
    assert main(["demo", "--model", str(tiny_artifact)]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s*(NEGATIVE|POSITIVE) (0\.\d{3}|1\.000)  windows=(\d+)", out, flags=re.MULTILINE)
    assert len(rows) == len(DEMO_REVIEWS) + 1
    assert int(rows[-1][2]) > 1  # the long review needed several windows
    assert "empty text -> HTTP 422" in out


def test_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["serve", "--model", str(tmp_path)]) == 2
    missing = "model.onnx, tokenizer.json, config.json, manifest.json"
    expected = f"error: no model in {tmp_path} (missing {missing}): run `make model` first\n"
    assert capsys.readouterr().err == expected
