"""Deployment settings: one validated, frozen object built from CDK context and environment variables.

Every knob has a CDK context key (``cdk synth -c memoryMb=3008``) and an environment variable
(``SENTIMENT_MEMORY_MB=3008``); context wins over environment, which wins over the default. Values are
checked here, once, so a typo fails `make synth` with a one-line message instead of a broken deploy.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from handler.settings import MB_PER_VCPU
from handler.settings import Settings as FunctionSettings

ENV_PREFIX = "SENTIMENT_"
ARCHITECTURES = ("x86_64", "arm64")
AUTH_MODES = ("api_key", "iam")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The values CloudWatch Logs accepts for a log group's retention (days).
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# The worst request within the handler's limits (SENTIMENT_MAX_TEXTS texts of SENTIMENT_MAX_TEXT_CHARS
# characters of long rare words, each filling the default artifact's 8 windows of 256 tokens) at one vCPU,
# by bench/speed.py's cost model: WORST_MS_PER_WINDOW a window + WORST_MS_PER_TEXT a text (bench/README.md,
# "Speed"), on a shared host. Below one vCPU Lambda time-slices it: 1,769 / memory_mb times longer.
WORST_WINDOWS_PER_TEXT = 8
WORST_MS_PER_WINDOW = 55.0
WORST_MS_PER_TEXT = 20.0
# A bulk batch is one request to the function: it takes at most this many texts (SENTIMENT_MAX_TEXTS).
BULK_MAX_BATCH = FunctionSettings.model_fields["max_texts"].default
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")


class SettingsError(ValueError):
    """A setting has a value the stack cannot be built with; the message names the setting."""


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, got {raw!r}")


def _parse_finite_float(raw: Any) -> float:
    """float() also reads 'inf' and 'nan', which pass the range checks but fail the synth inside jsii."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _parse_list(raw: Any) -> tuple[str, ...]:
    items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
    return tuple(str(item).strip() for item in items if str(item).strip())


def _parse_optional_int(raw: Any) -> int | None:
    return None if raw in (None, "") else int(raw)


def _parse_optional_str(raw: Any) -> str | None:
    return str(raw).strip() or None


def _setting(default: Any, parse: Callable[[Any], Any], help: str) -> Any:
    """A dataclass field carrying its parser and the help text of the settings table."""
    return field(default=default, metadata={"parse": parse, "help": help})


@dataclass(frozen=True)
class Settings:
    """Everything the stack can be configured with. Defaults are a production-shaped, low-cost API."""

    stack_name: str = _setting("SentimentApi", str, "CloudFormation stack name")
    architecture: str = _setting("x86_64", str, "Lambda CPU architecture: x86_64 or arm64")
    memory_mb: int = _setting(2048, int, "Lambda memory (MB, 128-10240); CPU share grows with it")
    timeout_s: int = _setting(30, int, "Lambda timeout (s, 1-900); API Gateway itself stops at 29 s")
    log_level: str = _setting("INFO", str, "Powertools log level: DEBUG, INFO, WARNING or ERROR")
    log_retention_days: int = _setting(30, int, "retention of the function and access log groups (days)")
    service_name: str = _setting("sentiment-api", str, "POWERTOOLS_SERVICE_NAME (logs, traces, metrics)")
    metrics_namespace: str = _setting("SentimentApi", str, "POWERTOOLS_METRICS_NAMESPACE for EMF metrics")
    auth: str = _setting("api_key", str, "api_key (API key + usage plan) or iam (SigV4-signed calls)")
    public_docs: bool = _setting(
        False,
        _parse_bool,
        "GET /health, /openapi.json, /swagger without auth (opt-in: each call still invokes the function)",
    )
    cloud_watch_role: bool = _setting(
        False,
        _parse_bool,
        "create API Gateway's account-wide CloudWatch Logs role and set it in the region's account settings "
        "(replaces any role already set there); off: the account must have one (make deploy checks)",
    )
    stage_name: str = _setting("v1", str, "API Gateway stage name (last part of the URL)")
    throttle_rate: float = _setting(
        50.0, _parse_finite_float, "steady requests/s for the stage and each API key"
    )
    throttle_burst: int = _setting(100, int, "burst requests for the stage and each API key")
    public_throttle_rate: float = _setting(
        5.0, _parse_finite_float, "requests/s for each unauthenticated route"
    )
    quota_per_day: int = _setting(100_000, int, "requests per API key per day (usage plan quota)")
    cors_origins: tuple[str, ...] = _setting(
        (), _parse_list, "comma-separated allowed origins; empty: no CORS"
    )
    reserved_concurrency: int | None = _setting(
        None, _parse_optional_int, "reserved concurrency; empty: none"
    )
    provisioned_concurrency: int = _setting(0, int, "provisioned concurrency on the `live` alias; 0: none")
    snap_start: bool = _setting(
        False, _parse_bool, "SnapStart on published versions: new instances resume from a snapshot of init"
    )
    latency_alarm_ms: int = _setting(3000, int, "p99 Lambda duration (ms) that raises the latency alarm")
    alarm_email: str | None = _setting(None, _parse_optional_str, "e-mail subscribed to the alarm topic")
    bulk: bool = _setting(False, _parse_bool, "bulk scoring: S3 bucket + Step Functions Distributed Map")
    bulk_batch_size: int = _setting(
        BULK_MAX_BATCH,
        int,
        f"rows per Lambda invoke in bulk scoring (1-{BULK_MAX_BATCH}: the function's limit)",
    )
    bulk_concurrency: int = _setting(50, int, "most concurrent bulk batches (Lambda invokes), 1-10000")
    bulk_tolerated_failure_percent: float = _setting(
        5.0, _parse_finite_float, "failed batches (%) a bulk run tolerates before it fails, 0-100"
    )

    def __post_init__(self) -> None:
        for check in (self._check_names, self._check_function, self._check_api, self._check_alarms):
            check()
        self._check_bulk()

    def _check_names(self) -> None:
        _require(bool(_NAME.match(self.stack_name)), "stack_name", "letters, digits and '-', up to 128")
        _require(bool(re.fullmatch(r"[A-Za-z0-9_]{1,64}", self.stage_name)), "stage_name", "[A-Za-z0-9_]")
        _require(bool(self.service_name.strip()), "service_name", "a non-empty name")
        _require(bool(self.metrics_namespace.strip()), "metrics_namespace", "a non-empty namespace")

    def _check_function(self) -> None:
        _require(self.architecture in ARCHITECTURES, "architecture", " or ".join(ARCHITECTURES))
        _require(128 <= self.memory_mb <= 10240, "memory_mb", "between 128 and 10240")
        _require(1 <= self.timeout_s <= 900, "timeout_s", "between 1 and 900")
        worst_s, smallest = worst_request_ms(self.memory_mb) / 1000, smallest_memory_mb(self.timeout_s)
        why = f": the largest request accepted takes about {worst_s:.0f} s at {self.memory_mb} MB"
        if smallest is None:
            _require(worst_s <= self.timeout_s, "timeout_s", f"at least {math.ceil(worst_s)}{why}")
        _require(
            worst_s <= self.timeout_s, "memory_mb", f"at least {smallest} with timeoutS {self.timeout_s}{why}"
        )
        _require(self.log_level in LOG_LEVELS, "log_level", ", ".join(LOG_LEVELS))
        _require(self.log_retention_days in RETENTION_DAYS, "log_retention_days", str(RETENTION_DAYS))
        _require(self.provisioned_concurrency >= 0, "provisioned_concurrency", ">= 0")
        _require(
            not (self.snap_start and self.provisioned_concurrency),
            "snap_start",
            "false with provisionedConcurrency above 0 (Lambda does not combine SnapStart with it)",
        )
        if self.reserved_concurrency is not None:
            _require(self.reserved_concurrency >= 1, "reserved_concurrency", ">= 1 (or empty for none)")
            _require(
                self.provisioned_concurrency <= self.reserved_concurrency,
                "provisioned_concurrency",
                f"at most reserved_concurrency ({self.reserved_concurrency})",
            )

    def _check_api(self) -> None:
        _require(self.auth in AUTH_MODES, "auth", " or ".join(AUTH_MODES))
        _require(self.throttle_rate > 0, "throttle_rate", "> 0")
        _require(self.throttle_burst >= 1, "throttle_burst", ">= 1")
        _require(0 < self.public_throttle_rate <= self.throttle_rate, "public_throttle_rate", "in (0, rate]")
        _require(self.quota_per_day >= 1, "quota_per_day", ">= 1")
        for origin in self.cors_origins:
            ok = origin == "*" or bool(re.fullmatch(r"https?://[^/\s]+", origin))
            _require(ok, "cors_origins", "'*' or origins like https://app.example.com (no path)")

    def _check_alarms(self) -> None:
        _require(self.latency_alarm_ms >= 1, "latency_alarm_ms", ">= 1")
        if self.alarm_email is not None:
            _require(bool(_EMAIL.match(self.alarm_email)), "alarm_email", "an e-mail address")

    def _check_bulk(self) -> None:
        _require(
            1 <= self.bulk_batch_size <= BULK_MAX_BATCH, "bulk_batch_size", f"between 1 and {BULK_MAX_BATCH}"
        )
        _require(1 <= self.bulk_concurrency <= 10_000, "bulk_concurrency", "between 1 and 10000")
        if self.bulk and self.reserved_concurrency is not None:
            _require(
                self.bulk_concurrency <= self.reserved_concurrency,
                "bulk_concurrency",
                f"at most reserved_concurrency ({self.reserved_concurrency})",
            )
        _require(0 <= self.bulk_tolerated_failure_percent <= 100, "bulk_tolerated_failure_percent", "0-100")

    @classmethod
    def from_sources(cls, context: Callable[[str], Any], environ: Mapping[str, str]) -> Settings:
        """Build settings from CDK context (first) and environment variables (second).

        Args:
            context: looks a context key up (``app.node.try_get_context``), None when unset.
            environ: the environment, read for ``SENTIMENT_*`` variables.

        Raises:
            SettingsError: a value does not parse or is out of range; the message names both sources.
        """
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = context(context_key(spec.name))
            if raw is None:
                raw = environ.get(env_var(spec.name))
            if raw is None:
                continue
            try:
                values[spec.name] = spec.metadata["parse"](raw)
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"{_where(spec.name)}: cannot parse {raw!r} ({exc})") from None
        return cls(**values)


def check_context_keys(keys: Iterable[str]) -> None:
    """Refuse `-c` keys that are not settings, so `-c memorymb=4096` is not silently ignored.

    Keys with a ':' are the CDK's own (feature flags such as `@aws-cdk/core:...`, `aws:cdk:...`) and
    pass through untouched.

    Raises:
        SettingsError: one line naming the unknown key, the closest setting and every valid key.
    """
    valid = [context_key(spec.name) for spec in fields(Settings)]
    for key in keys:
        if ":" in key or key in valid:
            continue
        close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}? " if close else ""
        raise SettingsError(f"unknown setting {key!r}: {hint}valid keys are {', '.join(valid)}")


def context_key(name: str) -> str:
    """The CDK context key of a setting: camelCase of the field name (memory_mb -> memoryMb)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def env_var(name: str) -> str:
    """The environment variable of a setting (memory_mb -> SENTIMENT_MEMORY_MB)."""
    return ENV_PREFIX + name.upper()


def _where(name: str) -> str:
    return f"setting {context_key(name)} ({env_var(name)})"


def worst_request_ms(memory_mb: int) -> float:
    """Estimated duration of the worst request within the handler's limits at `memory_mb` (see above)."""
    texts = FunctionSettings.model_fields["max_texts"].default
    one_vcpu = texts * (WORST_WINDOWS_PER_TEXT * WORST_MS_PER_WINDOW + WORST_MS_PER_TEXT)
    return one_vcpu * MB_PER_VCPU / min(memory_mb, MB_PER_VCPU)


def smallest_memory_mb(timeout_s: int) -> int | None:
    """The least memory (MB) at which the worst request finishes within `timeout_s`; None when even one
    vCPU is too slow (the cost model claims nothing of more: ORT gets a second thread only at 3,538 MB)."""
    return next((m for m in range(128, MB_PER_VCPU + 1) if worst_request_ms(m) <= timeout_s * 1000), None)


def _require(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise SettingsError(f"{_where(name)} must be {expected}")
