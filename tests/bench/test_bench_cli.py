"""`python -m bench` options: each parses into BenchConfig, and a bad one ends in one `error:` line, exit 2,
before anything is measured (these cases never reach the benchmark)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bench.__main__ import main, parser
from bench.config import QUICK, BenchConfig
from export.options import given, one_line


def config(*argv: str) -> BenchConfig:
    args = parser().parse_args(list(argv))
    return BenchConfig(**((QUICK if args.quick else {}) | given(args, BenchConfig)))


def test_options_parse_to_the_fields():
    assert config("--memory-sizes-mb", "512", "1024").memory_sizes_mb == (512, 1024)
    assert config("--model-dir", "m", "--warmup", "0").model_dump(include={"model_dir", "warmup"}) == {
        "model_dir": Path("m"),
        "warmup": 0,
    }
    assert config() == BenchConfig()


def test_quick_preset_under_the_options_given():
    quick = config("--quick", "--batch-size", "8")
    assert (quick.batch_size, quick.repeat_single, quick.cold_starts) == (8, QUICK["repeat_single"], 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--warmup", "-1"], "setting 'warmup': Input should be greater than or equal to 0, got '-1'"),
        (["--cold-starts", "0"], "setting 'cold_starts': Input should be greater than or equal to 1"),
        (["--batch-size", "many"], "setting 'batch_size': Input should be a valid integer"),
        (["--memory-sizes-mb", "512", "64"], "setting 'memory_sizes_mb.1': Input should be greater than or"),
        (["--memory-sizes-mb", "512", "1k"], "setting 'memory_sizes_mb.1': Input should be a valid integer"),
    ],
)
def test_bad_options_exit_2_in_one_line(options, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(options)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err
    assert message in err


def test_unknown_setting_is_refused():
    with pytest.raises(SystemExit) as exit_:
        parser().parse_args(["--repeats", "3"])
    assert exit_.value.code == 2
    with pytest.raises(ValidationError) as caught:
        BenchConfig(repeats=3)
    assert one_line(caught.value) == "unknown setting 'repeats'"
