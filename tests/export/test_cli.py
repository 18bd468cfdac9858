"""Settings and the command line: bad input exits 2 with one `error:` line, never a stack trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
@pytest.mark.parametrize("field", [n for n, f in ExportConfig.model_fields.items() if f.annotation is float])
def test_non_finite_float_settings_are_refused(field, value):
    # NaN passes every range check written as `if value < bound: raise`, and would disable the gates
    with pytest.raises(ConfigError, match=f"'{field}': Input should be a finite number"):
        ExportConfig(**{field: value})


def test_json_config_file_then_explicit_options(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"epochs": 3, "output": "out/model", "quantization": "arm64"}))
    cfg = ExportConfig.from_json_file(path, epochs=1.0)
    assert (cfg.epochs, cfg.output, cfg.quantization) == (1.0, Path("out/model"), "arm64")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", r"Invalid JSON: .* \(config file .*settings.json\)"),
        ("[1]", "Input should be an object"),
        ('{"epoch": 1}', "unknown setting 'epoch' \\(config file"),
        ('{"epochs": "2"}', "'epochs' \\(config file .*\\): Input should be a valid number, got '2'"),
        ('{"output": 5}', "'output' \\(config file .*\\): Input should be a valid string"),
        (
            '{"batch_size": true}',
            "'batch_size' \\(config file .*\\): Input should be a valid integer, got True",
        ),
        ('{"batch_size": 2.5}', "'batch_size' \\(config file .*\\): Input should be a valid integer"),
        ('{"name": null}', "'name' \\(config file .*\\): Input should be a valid string"),
        (
            '{"quantization": "int4"}',
            "'quantization' \\(config file .*\\): Input should be 'avx2', 'arm64' or",
        ),
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
    assert_one_line_error(
        run_cli("build", "--max-length", "0"), "'max_length': Input should be greater than 0"
    )


# A value of each field other than its default, as typed on the command line.
OPTION_VALUES = {
    "base_model": "org/model",
    "train_data": "a.jsonl,b.jsonl",
    "dev_data": "split",
    "extra_train_data": "",
    "extra_train_samples": "0",
    "title_column": "",
    "labels": "neg,pos",
    "label_column": "stars",
    "label_map": "1-2:neg,3:drop,4-5:pos",
    "threshold": "0.3",
    "max_train_samples": "100",
    "dev_fraction": "0.2",
    "output": "out/model",
    "checkpoint_dir": "out/cp",
    "fp32_dir": "out/fp32",
    "reports_dir": "out/reports",
    "name": "stars",
    "license": "mit",
    "max_length": "160",
    "window_stride": "32",
    "max_windows": "4",
    "train_max_length": "0",
    "epochs": "3",
    "freeze_layers": "0",
    "attention_dropout": "-1",
    "hidden_dropout": "0.1",
    "label_smoothing": "0.1",
    "class_balance": "1",
    "average_weights": "0",
    "ngram_weight": "0",
    "batch_size": "8",
    "train_dtype": "fp32",
    "learning_rate": "3e-5",
    "layer_lr_decay": "1",
    "warmup_ratio": "0",
    "weight_decay": "0",
    "seed": "7",
    "quantization": "avx2",
    "max_accuracy_drop": "1",
    "parity_samples": "8",
    "parity_atol": "0.01",
}


def test_every_setting_has_an_option_that_sets_it():
    from export.__main__ import config_from, parser

    assert set(OPTION_VALUES) | {"fine_tune"} == set(ExportConfig.model_fields)  # a new field: add it here
    for name, text in OPTION_VALUES.items():
        cfg = config_from(parser().parse_args(["build", f"--{name.replace('_', '-')}", text]))
        kind = ExportConfig.model_fields[name].annotation
        expected = kind(text) if kind in (str, int, float, Path) else text  # Literal choices: the string
        assert (getattr(cfg, name), getattr(cfg, name) != getattr(ExportConfig(), name)) == (expected, True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--max-length", "0"], "setting 'max_length': Input should be greater than 0, got '0'"),  # range
        (["--class-balance", "1.5"], "setting 'class_balance': Input should be less than or equal to 1"),
        (["--window-stride", "128"], "window_stride must be below max_length / 2 (128), got 128"),  # pair
        (["--epochs", "two"], "setting 'epochs': Input should be a valid number"),  # type
        (["--batch-size", "2.5"], "setting 'batch_size': Input should be a valid integer"),
        (["--max-length", ""], "setting 'max_length': Input should be a valid integer"),
        (["--parity-atol", "inf"], "setting 'parity_atol': Input should be a finite number"),
        (["--quantization", "int4"], "setting 'quantization': Input should be 'avx2', 'arm64' or"),  # choice
        (["--label-map", "1-2"], "label_map entry '1-2' must be VALUE:NAME"),  # malformed list
        (["--label-map", "1-2:a,1:b"], "label_map maps the value"),
        (["--labels", "a,,b"], "empty name"),
    ],
)
def test_cli_bad_values_exit_2_in_one_line(options, message, capsys):
    from export.__main__ import main

    assert main(["build", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert err.count("\n") == 1, err
    assert message in err


def test_cli_unknown_key_in_the_config_file_exits_2_in_one_line(tmp_path, capsys):
    from export.__main__ import main

    path = tmp_path / "settings.json"
    path.write_text('{"epochs": 1, "max_lenght": 64}')
    assert main(["build", "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"error: unknown setting 'max_lenght' (config file {path})\n"


def test_cli_nan_gate_settings_exit_2_in_one_line():
    result = run_cli("build", "--max-accuracy-drop", "nan", "--parity-atol", "nan")
    assert_one_line_error(result, "'max_accuracy_drop': Input should be a finite number")


def test_cli_config_file_value_of_the_wrong_type_exits_2_in_one_line(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"epochs": "2"}')
    assert_one_line_error(run_cli("build", "--config", str(path)), "setting 'epochs' (config file")


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
    assert_one_line_error(result, f"no model in {tmp_path} (missing model.onnx")


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
