"""Settings and the command line: bad input exits 2 with one `error:` line, never a stack trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from export.config import ExportConfig
from export.data import load_examples
from export.errors import ConfigError

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "export", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert fragment in errors[0]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"max_length": 0}, "max_length"),
        ({"window_stride": 200}, "window_stride"),
        ({"window_stride": 0}, "window_stride"),  # the handler refuses a served tokenizer without a stride
        ({"quantization": "int4"}, "quantization"),
        ({"dev_fraction": 1.5}, "dev_fraction"),
        ({"epochs": -1}, "epochs"),
        ({"freeze_layers": -1}, "freeze_layers"),
        ({"attention_dropout": 1.5}, "attention_dropout"),
        ({"hidden_dropout": -0.5}, "hidden_dropout"),
        ({"label_smoothing": 0.5}, "label_smoothing"),
        ({"average_weights": 1.5}, "average_weights"),
        ({"layer_lr_decay": 0.0}, "layer_lr_decay"),
        ({"ngram_weight": 1.5}, "ngram_weight"),
        ({"ngram_weight": -0.5}, "ngram_weight"),
        ({"train_dtype": "fp16"}, "train_dtype"),
    ],
)
def test_bad_setting_names_the_field(overrides, field):
    with pytest.raises(ConfigError, match=field):
        ExportConfig(**overrides)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("field", [f.name for f in fields(ExportConfig) if f.type == "float"])
def test_non_finite_float_settings_are_refused(field, value):
    # NaN passes every range check written as `if value < bound: raise`, and would disable the gates
    with pytest.raises(ConfigError, match=f"{field} must be a finite number"):
        ExportConfig(**{field: value})


def test_json_config_file_then_explicit_options(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"epochs": 3, "output": "out/model", "quantization": "arm64"}))
    cfg = ExportConfig.from_json_file(path, epochs=1.0)
    assert (cfg.epochs, cfg.output, cfg.quantization) == (1.0, Path("out/model"), "arm64")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read config file"),
        ("[1]", "JSON object"),
        ('{"epoch": 1}', "unknown setting"),
        ('{"epochs": "2"}', "'epochs' in .* must be a number, got '2'"),
        ('{"output": 5}', "'output' in .* must be a string"),
        ('{"batch_size": true}', "'batch_size' in .* must be an integer, got True"),
        ('{"batch_size": 2.5}', "'batch_size' in .* must be an integer"),
        ('{"name": null}', "'name' in .* must be a string"),
    ],
)
def test_bad_json_config_file(tmp_path, content, message):
    path = tmp_path / "settings.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=message):
        ExportConfig.from_json_file(path)


def test_json_config_integer_is_a_fine_float(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"epochs": 3}')
    epochs = ExportConfig.from_json_file(path).epochs
    assert (epochs, type(epochs)) == (3.0, float)  # the manifest records the setting as the float it is


def test_cli_bad_setting_exits_2_in_one_line():
    assert_one_line_error(run_cli("build", "--max-length", "0"), "max_length must be > 0")


def test_cli_nan_gate_settings_exit_2_in_one_line():
    result = run_cli("build", "--max-accuracy-drop", "nan", "--parity-atol", "nan")
    assert_one_line_error(result, "max_accuracy_drop must be a finite number")


def test_cli_config_file_value_of_the_wrong_type_exits_2_in_one_line(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"epochs": "2"}')
    assert_one_line_error(run_cli("build", "--config", str(path)), "'epochs' in")


@pytest.mark.parametrize("local", [True, False], ids=["missing-directory", "hub-id-offline"])
def test_cli_base_model_that_cannot_be_loaded_exits_2_in_one_line_before_the_data(tmp_path, local):
    base = str(tmp_path / "missing-model") if local else "some-typo/x"
    # the train file is missing too: the base is checked first, so the error names the base
    args = [
        "--base-model",
        base,
        "--train-data",
        str(tmp_path / "none.jsonl"),
        "--output",
        str(tmp_path / "m"),
    ]
    result = run_cli("build", *args)
    assert_one_line_error(result, f"base_model '{base}' not found: no such local directory")
    assert not (tmp_path / "m").exists()


def test_cli_missing_train_file_exits_2_in_one_line(tmp_path):
    result = run_cli(
        "build", "--train-data", str(tmp_path / "missing.jsonl"), "--output", str(tmp_path / "m")
    )
    assert_one_line_error(result, "data file not found")
    assert not (tmp_path / "m").exists()


def test_cli_evaluate_on_a_directory_that_is_no_artifact(tmp_path):
    result = run_cli("evaluate", "--model", str(tmp_path), "--data", str(FIXTURES / "reviews-dev.csv"))
    assert_one_line_error(result, "is not a model artifact")


def test_cli_evaluate_writes_reports(tiny_build, tmp_path):
    data = FIXTURES / "reviews-dev.csv"
    args = [
        "evaluate",
        "--model",
        str(tiny_build.artifact),
        "--data",
        str(data),
        "--reports-dir",
        str(tmp_path),
    ]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "eval-model-fixtures-reviews-dev.json").read_text())
    assert report["metrics"]["n"] == 16
    # the build scored the same dev file with the same serving code
    assert report["metrics"] == tiny_build.manifest["metrics"]["int8"]
    assert report["data"]["sha256"]
    assert "| POSITIVE |" in (tmp_path / "eval-model-fixtures-reviews-dev.md").read_text()


def test_reports_of_two_models_on_the_same_data_do_not_overwrite_each_other(tiny_build, tmp_path):
    from export.evaluate import write_report

    data = load_examples(str(Path(tiny_build.config.dev_data)))
    metrics = tiny_build.manifest["metrics"]
    int8 = write_report(metrics["int8"], tiny_build.artifact, data, tmp_path)
    fp32 = write_report(metrics["fp32"], tiny_build.config.fp32_dir, data, tmp_path)
    assert int8 != fp32
    assert json.loads(int8.read_text())["metrics"] == metrics["int8"]
    assert json.loads(fp32.read_text())["metrics"] == metrics["fp32"]
