"""The function: container image from the repository, architecture, memory, environment (the request limits
the stack sized it for included), logs, alias."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk.assertions import Match
from infra_synth import ACCOUNT, OPTIONS_CONTEXT, REGION, Synthesized, only, resources

from handler.artifact import read_manifest
from infra.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[2]
HANDLER_INIT = """
from handler.service import get_classifier
from handler.settings import get_settings
get_classifier()
print(get_settings().max_texts, get_settings().max_request_windows)
"""


def test_image_function_defaults(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "PackageType": "Image",
            "Architectures": ["x86_64"],
            "MemorySize": 2048,
            "Timeout": 30,
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("^ModelLogs")}},
            "Environment": {
                "Variables": {
                    "POWERTOOLS_SERVICE_NAME": "sentiment-api",
                    "POWERTOOLS_METRICS_NAMESPACE": "SentimentApi",
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                    "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                    "SENTIMENT_MAX_TEXTS": "32",
                    "SENTIMENT_MAX_REQUEST_WINDOWS": "64",
                }
            },
        },
    )
    function = only(default_stack, "AWS::Lambda::Function")
    assert "ReservedConcurrentExecutions" not in function
    assert "SENTIMENT_CORS_ORIGINS" not in function["Environment"]["Variables"]


def test_options_arm64_memory_and_reserved_concurrency(options_stack: Synthesized) -> None:
    options_stack.template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Architectures": ["arm64"], "MemorySize": 3008, "ReservedConcurrentExecutions": 10},
    )
    # With CORS on, the handler adds the headers to its own (Lambda-proxy) answers.
    variables = only(options_stack, "AWS::Lambda::Function")["Environment"]["Variables"]
    assert variables["SENTIMENT_CORS_ORIGINS"] == "https://app.example.com"


def handler_init(variables: dict[str, str], model_dir: Path) -> subprocess.CompletedProcess[str]:
    """Start the handler's model (what its init does) in its own process with the function's environment,
    printing the request limits it then enforces."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "SENTIMENT_"))}
    env |= variables | {"MODEL_DIR": str(model_dir), "POWERTOOLS_TRACE_DISABLED": "true"}
    return subprocess.run(
        [sys.executable, "-c", HANDLER_INIT], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def test_the_function_starts_with_the_request_limits_the_stack_sized_it_for(
    options_stack: Synthesized, tiny_artifact: Path
) -> None:
    """The stack passes maxTexts and maxRequestWindows, which its memory and timeout check priced, and the
    handler enforces them; a budget below the model's max_windows, which the stack refuses, fails the
    handler's init as well."""
    variables = only(options_stack, "AWS::Lambda::Function")["Environment"]["Variables"]
    started = handler_init(variables, tiny_artifact)
    assert started.returncode == 0, started.stderr[-3000:]
    assert started.stdout.split() == [OPTIONS_CONTEXT["maxTexts"], OPTIONS_CONTEXT["maxRequestWindows"]]
    max_windows = read_manifest(tiny_artifact).max_windows
    below = {"SENTIMENT_MAX_TEXTS": "1", "SENTIMENT_MAX_REQUEST_WINDOWS": str(max_windows - 1)}
    with pytest.raises(SettingsError, match=r"^setting maxRequestWindows .* must be at least "):
        Settings.from_sources({}.get, below, model_dir=tiny_artifact)
    refused = handler_init(variables | below, tiny_artifact)
    assert refused.returncode != 0
    assert f"({max_windows - 1}) is below the model's max_windows ({max_windows})" in refused.stderr


def test_image_asset_is_built_for_the_function_architecture(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    for synth, platform in ((default_stack, "linux/amd64"), (options_stack, "linux/arm64")):
        (image,) = synth.assets["dockerImages"].values()
        assert image["source"]["platform"] == platform
        assert "ImageUri" in only(synth, "AWS::Lambda::Function")["Code"]


def test_image_asset_is_built_by_a_plain_build_command(
    default_stack: Synthesized, options_stack: Synthesized, regional_stack: Synthesized
) -> None:
    """The asset manifest asks for `build --tag T --platform P .` and nothing more.

    Docker (buildx or the legacy builder), Finch and Podman all accept that command, and with
    BUILDX_NO_DEFAULT_ATTESTATIONS=1, which the CDK CLI sets, it yields one image manifest. Any of the options
    left out would break that: dockerOutputs (--output: podman and the legacy builder refuse it, and it
    cannot drop attestations), cache exports (a buildx builder only), build args (BUILDKIT_MULTI_PLATFORM
    makes an index of one), an executable (our own build, which the CLI would run instead).
    """
    for synth in (default_stack, options_stack, regional_stack):
        (image,) = synth.assets["dockerImages"].values()
        assert set(image["source"]) == {"directory", "platform"}


def test_image_tag_the_deploy_checks_in_ecr(regional_stack: Synthesized) -> None:
    """Where `make deploy` finds the repository and tag the CLI pushes (and skips when already there)."""
    ((asset_hash, image),) = regional_stack.assets["dockerImages"].items()
    (destination,) = image["destinations"].values()
    assert destination["imageTag"] == asset_hash
    assert destination["repositoryName"] == f"cdk-hnb659fds-container-assets-{ACCOUNT}-{REGION}"
    functions = resources(regional_stack, "AWS::Lambda::Function")  # bulk's bucket cleaner is one too
    (image_uri,) = [
        f["Properties"]["Code"]["ImageUri"]
        for f in functions.values()
        if "ImageUri" in f["Properties"]["Code"]
    ]
    assert f"cdk-hnb659fds-container-assets-{ACCOUNT}-{REGION}:{asset_hash}" in json.dumps(image_uri)


def test_image_asset_holds_only_what_the_dockerfile_copies(default_stack: Synthesized) -> None:
    """The asset (hash and Docker context) honours .dockerignore: no venv, tests, infra or node_modules."""
    (image,) = default_stack.assets["dockerImages"].values()
    staged = default_stack.outdir / image["source"]["directory"]
    top_level = {path.name for path in staged.iterdir()}
    assert {"Dockerfile", "handler", "requirements"} <= top_level
    assert not top_level & {".venv", "node_modules", "cdk.out", "tests", "infra", "export", ".git"}
    assert not (staged / "build").exists() or {p.name for p in (staged / "build").iterdir()} <= {"model"}


def test_live_alias_carries_provisioned_concurrency(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    alias = only(default_stack, "AWS::Lambda::Alias")
    assert alias["Name"] == "live"
    assert "ProvisionedConcurrencyConfig" not in alias
    options_stack.template.has_resource_properties(
        "AWS::Lambda::Alias",
        {"Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 2}},
    )


def test_log_groups_have_retention_and_go_with_the_stack(default_stack: Synthesized) -> None:
    groups = resources(default_stack, "AWS::Logs::LogGroup")
    assert len(groups) == 3  # function logs, API access and execution logs
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == 30
        assert group["DeletionPolicy"] == "Delete"


def test_execution_role_is_least_privilege(default_stack: Synthesized) -> None:
    lambda_roles = [
        role["Properties"]
        for role in resources(default_stack, "AWS::IAM::Role").values()
        if "lambda.amazonaws.com" in str(role["Properties"]["AssumeRolePolicyDocument"])
    ]
    assert len(lambda_roles) == 1
    assert "ManagedPolicyArns" not in lambda_roles[0]
    statements = only(default_stack, "AWS::IAM::Policy")["PolicyDocument"]["Statement"]
    wildcard_actions = {
        action
        for statement in statements
        if statement["Resource"] == "*"
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert wildcard_actions == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    log_statement = next(s for s in statements if "logs:PutLogEvents" in s["Action"])
    assert "ModelLogs" in str(log_statement["Resource"])
    assert "*" not in str(log_statement["Resource"])
