"""Settings: parsing from CDK context and environment, precedence, and one-line validation errors."""

from __future__ import annotations

import re
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
        ({"memoryMb": "lots"}, "setting memoryMb (SENTIMENT_MEMORY_MB): Input should be a valid integer"),
        (
            {"publicDocs": "maybe"},
            "setting publicDocs (SENTIMENT_PUBLIC_DOCS): Input should be a valid boolean",
        ),
        ({"architecture": "arm"}, "Input should be 'x86_64' or 'arm64', got 'arm'"),
        ({"memoryMb": "64"}, "memoryMb (SENTIMENT_MEMORY_MB): Input should be greater than or equal to 128"),
        ({"timeoutS": "901"}, "timeoutS (SENTIMENT_TIMEOUT_S): Input should be less than or equal to 900"),
        ({"maxTexts": "0"}, "maxTexts (SENTIMENT_MAX_TEXTS): Input should be greater than or equal to 1"),
        ({"maxTexts": "33"}, "maxTexts (SENTIMENT_MAX_TEXTS): Input should be less than or equal to 32"),
        (
            {"maxRequestWindows": "lots"},
            "maxRequestWindows (SENTIMENT_MAX_REQUEST_WINDOWS): Input should be a valid integer",
        ),
        (
            {"maxRequestWindows": "4097"},
            "maxRequestWindows (SENTIMENT_MAX_REQUEST_WINDOWS): Input should be less than or equal to 4096",
        ),
        (
            {"maxRequestWindows": "31"},
            "maxRequestWindows (SENTIMENT_MAX_REQUEST_WINDOWS) must be at least maxTexts (32): every text",
        ),
        (
            {"bulk": "true", "maxTexts": "8", "bulkBatchSize": "16"},
            "bulkBatchSize (SENTIMENT_BULK_BATCH_SIZE) must be at most maxTexts (8): the function refuses",
        ),
        ({"logRetentionDays": "10"}, "logRetentionDays (SENTIMENT_LOG_RETENTION_DAYS) must be one of (1, 3,"),
        (
            {"logLevel": "LOUD"},
            "logLevel (SENTIMENT_LOG_LEVEL): Input should be 'DEBUG', 'INFO', 'WARNING' or",
        ),
        ({"auth": "cognito"}, "auth (SENTIMENT_AUTH): Input should be 'api_key' or 'iam'"),
        (
            {"corsOrigins": "https://a.example.com,https://app.example.com/path"},
            "corsOrigins (SENTIMENT_CORS_ORIGINS): got 'https://app.example.com/path', expected comma-",
        ),
        ({"alarmEmail": "ops"}, "alarmEmail (SENTIMENT_ALARM_EMAIL): got 'ops', expected e-mail"),
        ({"stackName": "1bad name"}, "stackName (SENTIMENT_STACK_NAME): got '1bad name', expected Cloud"),
        ({"stageName": "v-1"}, "stageName (SENTIMENT_STAGE_NAME): got 'v-1', expected API Gateway stage"),
        ({"serviceName": " "}, "serviceName (SENTIMENT_SERVICE_NAME): got ' ', expected"),
        (
            {"publicThrottleRate": "100"},
            "publicThrottleRate (SENTIMENT_PUBLIC_THROTTLE_RATE) must be at most",
        ),
        ({"throttleRate": "inf"}, "throttleRate (SENTIMENT_THROTTLE_RATE): Input should be a finite number"),
        ({"throttleRate": "nan"}, "throttleRate (SENTIMENT_THROTTLE_RATE): Input should be a finite number"),
        (
            {"publicThrottleRate": "Infinity"},
            "publicThrottleRate (SENTIMENT_PUBLIC_THROTTLE_RATE): Input should",
        ),
        (
            {"reservedConcurrency": "0"},
            "reservedConcurrency (SENTIMENT_RESERVED_CONCURRENCY): Input should be",
        ),
        ({"corsOrigins": 5}, "corsOrigins (SENTIMENT_CORS_ORIGINS): Input should be a valid tuple, got 5"),
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


def test_empty_values_mean_the_default() -> None:
    empty = {"SENTIMENT_RESERVED_CONCURRENCY": "", "SENTIMENT_ALARM_EMAIL": " ", "SENTIMENT_CORS_ORIGINS": ""}
    settings = from_sources({"publicDocs": "", "bulk": ""}, empty)
    assert (settings.reserved_concurrency, settings.alarm_email, settings.cors_origins) == (None, None, ())
    assert (settings.public_docs, settings.bulk) == (False, False)


def test_unknown_field_is_refused_naming_the_closest_setting() -> None:
    with pytest.raises(
        SettingsError, match=r"^unknown setting 'memorymb': did you mean memoryMb\? valid keys"
    ):
        Settings(memorymb=4096)


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
    expected = {context_key(name): env_var(name) for name in Settings.model_fields}
    assert rows == expected
