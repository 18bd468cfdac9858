"""Settings: parsing from CDK context and environment, precedence, and one-line validation errors."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from infra.settings import Settings, SettingsError, check_context_keys, context_key, env_var

README = Path(__file__).resolve().parents[2] / "infra" / "README.md"


def from_sources(context: dict[str, object], environ: dict[str, str] | None = None) -> Settings:
    return Settings.from_sources(context.get, environ or {})


def test_defaults_are_the_documented_production_shape() -> None:
    settings = from_sources({})
    assert (settings.stack_name, settings.architecture, settings.auth) == (
        "SentimentApi",
        "x86_64",
        "api_key",
    )
    assert settings.cors_origins == ()
    assert (settings.reserved_concurrency, settings.provisioned_concurrency) == (None, 0)


def test_context_wins_over_environment_which_wins_over_default() -> None:
    environ = {"SENTIMENT_MEMORY_MB": "1024", "SENTIMENT_TIMEOUT_S": "20"}
    settings = from_sources({"memoryMb": "3008"}, environ)
    assert (settings.memory_mb, settings.timeout_s) == (3008, 20)


def test_values_parse_from_strings_and_json_types() -> None:
    settings = from_sources(
        {
            "publicDocs": "off",
            "corsOrigins": "https://a.example.com, https://b.example.com",
            "reservedConcurrency": 5,
            "throttleRate": "12.5",
            "alarmEmail": "ops@example.com",
        }
    )
    assert settings.public_docs is False
    assert settings.cors_origins == ("https://a.example.com", "https://b.example.com")
    assert (settings.reserved_concurrency, settings.throttle_rate) == (5, 12.5)
    assert from_sources({"corsOrigins": ["*"], "publicDocs": True}).cors_origins == ("*",)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"memoryMb": "lots"}, "setting memoryMb (SENTIMENT_MEMORY_MB): cannot parse 'lots'"),
        ({"publicDocs": "maybe"}, "setting publicDocs (SENTIMENT_PUBLIC_DOCS): cannot parse"),
        ({"architecture": "arm"}, "must be x86_64 or arm64"),
        ({"memoryMb": "64"}, "memoryMb (SENTIMENT_MEMORY_MB) must be between 128 and 10240"),
        ({"timeoutS": "901"}, "timeoutS (SENTIMENT_TIMEOUT_S) must be between 1 and 900"),
        ({"logRetentionDays": "10"}, "logRetentionDays (SENTIMENT_LOG_RETENTION_DAYS) must be"),
        ({"logLevel": "LOUD"}, "logLevel (SENTIMENT_LOG_LEVEL) must be DEBUG, INFO, WARNING, ERROR"),
        ({"auth": "cognito"}, "auth (SENTIMENT_AUTH) must be api_key or iam"),
        ({"corsOrigins": "https://app.example.com/path"}, "corsOrigins (SENTIMENT_CORS_ORIGINS) must be"),
        ({"alarmEmail": "ops"}, "alarmEmail (SENTIMENT_ALARM_EMAIL) must be an e-mail address"),
        ({"stackName": "1bad name"}, "stackName (SENTIMENT_STACK_NAME) must be"),
        ({"stageName": "v-1"}, "stageName (SENTIMENT_STAGE_NAME) must be"),
        ({"publicThrottleRate": "100"}, "publicThrottleRate (SENTIMENT_PUBLIC_THROTTLE_RATE) must be"),
        (
            {"throttleRate": "inf"},
            "throttleRate (SENTIMENT_THROTTLE_RATE): cannot parse 'inf' (not a finite number)",
        ),
        (
            {"throttleRate": "nan"},
            "throttleRate (SENTIMENT_THROTTLE_RATE): cannot parse 'nan' (not a finite number)",
        ),
        (
            {"publicThrottleRate": "Infinity"},
            "publicThrottleRate (SENTIMENT_PUBLIC_THROTTLE_RATE): cannot parse 'Infinity' (not a finite",
        ),
        (
            {"reservedConcurrency": "2", "provisionedConcurrency": "3"},
            "provisionedConcurrency (SENTIMENT_PROVISIONED_CONCURRENCY) must be at most reserved",
        ),
    ],
)
def test_bad_values_name_the_setting_in_one_line(context: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        from_sources(context)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_environment_values_are_validated_too() -> None:
    with pytest.raises(SettingsError, match="SENTIMENT_AUTH"):
        from_sources({}, {"SENTIMENT_AUTH": "none"})


def test_unknown_context_key_is_refused_with_the_closest_setting() -> None:
    with pytest.raises(SettingsError) as caught:
        check_context_keys(["memoryMb", "memorymb"])
    message = str(caught.value)
    assert message.startswith("unknown setting 'memorymb': did you mean memoryMb? valid keys are stackName, ")
    assert "alarmEmail" in message
    assert "\n" not in message


def test_cdk_own_context_keys_pass_through() -> None:
    check_context_keys(["@aws-cdk/core:newStyleStackSynthesis", "aws:cdk:enable-path-metadata", "auth"])


def test_readme_table_documents_every_setting() -> None:
    rows = {
        match.group(1): match.group(2)
        for match in re.finditer(r"^\| `(\w+)` \| `(SENTIMENT_\w+)` \|", README.read_text(), re.MULTILINE)
    }
    expected = {context_key(spec.name): env_var(spec.name) for spec in fields(Settings)}
    assert rows == expected
