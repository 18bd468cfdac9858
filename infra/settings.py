"""Deployment settings: one validated, frozen pydantic model built from CDK context and environment variables.

Every knob has a CDK context key (``cdk synth -c memoryMb=3008``) and an environment variable
(``SENTIMENT_MEMORY_MB=3008``); context wins over environment, which wins over the default. infra/app.py is
the one reader of both (`Settings.from_sources`); values are checked here, once, so a typo fails `make synth`
with a one-line message naming the setting instead of a broken deploy. A plain pydantic model rather than
BaseSettings: the environment is given to it, so `Settings()` elsewhere (the local emulator) is the defaults.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from handler.rows import problem
from handler.settings import DEFAULT_MAX_WINDOWS, MB_PER_VCPU, METRICS_NAMESPACE, SERVICE_NAME
from handler.settings import Settings as FunctionSettings

ENV_PREFIX = "SENTIMENT_"
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
# The worst invocation within the handler's limits, by bench/speed.py's cost model at one vCPU: windows x
# WORST_MS_PER_WINDOW + texts x WORST_MS_PER_TEXT (bench/README.md, "Speed": 256-token windows, measured on a
# shared host), stretched by 1,769 / memory_mb below one vCPU, where Lambda time-slices it. An API request
# runs at most SENTIMENT_MAX_REQUEST_WINDOWS windows over SENTIMENT_MAX_TEXTS texts; a bulk batch is scored
# whole, without that budget: each of its rows up to the default artifact's DEFAULT_MAX_WINDOWS windows.
WORST_MS_PER_WINDOW = 60.0  # 57.4 ms measured on 2026-12-01 at load average 4 (bench/README.md)
WORST_MS_PER_TEXT = 20.0
API_WORST_WINDOWS = FunctionSettings.model_fields["max_request_windows"].default
API_MAX_TEXTS = FunctionSettings.model_fields["max_texts"].default
# A bulk batch is one request to the function: it takes at most this many texts (SENTIMENT_MAX_TEXTS).
BULK_MAX_BATCH = API_MAX_TEXTS


class SettingsError(ValueError):
    """A setting has a value the stack cannot be built with; the message names the setting."""


def _blank_is(default: Any) -> BeforeValidator:
    """An empty (or blank) string from the context or the environment means the field's default."""
    return BeforeValidator(lambda raw: default if isinstance(raw, str) and not raw.strip() else raw)


def _comma_list(raw: Any) -> Any:
    """'a, b' (context or environment) or a JSON list (cdk.json) -> the items, blanks dropped."""
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple):
        return raw  # pydantic refuses it, naming the setting
    return tuple(str(item).strip() for item in items if str(item).strip())


Flag = Annotated[bool, _blank_is(False)]
Origin = Annotated[str, Field(pattern=r"^(\*|https?://[^/\s]+)$")]


class Settings(BaseModel):
    """Everything the stack can be configured with. Defaults are a production-shaped, low-cost API."""

    # Floats are finite: float() reads 'inf' and 'nan', which pass range checks but fail the synth in jsii.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    stack_name: str = Field(
        "SentimentApi",
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$",
        description="CloudFormation stack name (a letter, then letters, digits and '-', up to 128)",
    )
    architecture: Literal["x86_64", "arm64"] = Field("x86_64", description="Lambda CPU architecture")
    memory_mb: int = Field(2048, ge=128, le=10240, description="Lambda memory (MB); CPU share grows with it")
    timeout_s: int = Field(
        30, ge=1, le=900, description="Lambda timeout (s); API Gateway itself stops at 29 s"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Powertools log level"
    )
    log_retention_days: int = Field(
        30, description="retention of the function and access log groups (days, a CloudWatch Logs value)"
    )
    service_name: str = Field(
        SERVICE_NAME, pattern=r"\S", description="POWERTOOLS_SERVICE_NAME (logs, traces, metrics)"
    )
    metrics_namespace: str = Field(
        METRICS_NAMESPACE, pattern=r"\S", description="POWERTOOLS_METRICS_NAMESPACE for EMF metrics"
    )
    auth: Literal["api_key", "iam"] = Field(
        "api_key", description="api_key (API key + usage plan) or iam (SigV4-signed calls)"
    )
    public_docs: Flag = Field(
        False,
        description="GET /health, /openapi.json, /swagger without auth (opt-in: each call still invokes the "
        "function)",
    )
    cloud_watch_role: Flag = Field(
        False,
        description="create API Gateway's account-wide CloudWatch Logs role and set it in the region's "
        "account settings (replaces any role already set there); off: the account must have one (make deploy "
        "checks)",
    )
    stage_name: str = Field(
        "v1", pattern=r"^[A-Za-z0-9_]{1,64}$", description="API Gateway stage name (last part of the URL)"
    )
    throttle_rate: float = Field(50.0, gt=0, description="steady requests/s for the stage and each API key")
    throttle_burst: int = Field(100, ge=1, description="burst requests for the stage and each API key")
    public_throttle_rate: float = Field(
        5.0, gt=0, description="requests/s for each unauthenticated route (at most throttleRate)"
    )
    quota_per_day: int = Field(100_000, ge=1, description="requests per API key per day (usage plan quota)")
    cors_origins: Annotated[tuple[Origin, ...], BeforeValidator(_comma_list)] = Field(
        (),
        description="comma-separated allowed origins ('*' or like https://app.example.com); empty: no CORS",
    )
    reserved_concurrency: Annotated[int | None, _blank_is(None)] = Field(
        None, ge=1, description="reserved concurrency; empty: none"
    )
    provisioned_concurrency: int = Field(
        0, ge=0, description="provisioned concurrency on the `live` alias; 0: none"
    )
    snap_start: Flag = Field(
        False, description="SnapStart on published versions: new instances resume from a snapshot of init"
    )
    latency_alarm_ms: int = Field(
        3000, ge=1, description="p99 Lambda duration (ms) that raises the latency alarm"
    )
    alarm_email: Annotated[str | None, _blank_is(None)] = Field(
        None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="e-mail subscribed to the alarm topic"
    )
    bulk: Flag = Field(False, description="bulk scoring: S3 bucket + Step Functions Distributed Map")
    bulk_batch_size: int = Field(
        BULK_MAX_BATCH,
        ge=1,
        le=BULK_MAX_BATCH,
        description="rows per Lambda invoke in bulk scoring (at most the function's limit)",
    )
    bulk_concurrency: int = Field(
        50, ge=1, le=10_000, description="most concurrent bulk batches (Lambda invokes)"
    )
    bulk_tolerated_failure_percent: float = Field(
        5.0, ge=0, le=100, description="failed batches (%) a bulk run tolerates before it fails"
    )

    def __init__(self, **values: Any) -> None:
        """Raises: SettingsError: a value of the wrong type or out of range, in one line naming it."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        _require(days in RETENTION_DAYS, "log_retention_days", f"one of {RETENTION_DAYS}")
        return days

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        """What one field cannot check alone: settings that exclude or bound each other."""
        _require(
            not (self.snap_start and self.provisioned_concurrency),
            "snap_start",
            "false with provisionedConcurrency above 0 (Lambda does not combine SnapStart with it)",
        )
        _require(
            self.public_throttle_rate <= self.throttle_rate, "public_throttle_rate", "at most throttleRate"
        )
        if self.reserved_concurrency is not None:
            _require(
                self.provisioned_concurrency <= self.reserved_concurrency,
                "provisioned_concurrency",
                f"at most reserved_concurrency ({self.reserved_concurrency})",
            )
            _require(
                not self.bulk or self.bulk_concurrency <= self.reserved_concurrency,
                "bulk_concurrency",
                f"at most reserved_concurrency ({self.reserved_concurrency})",
            )
        self._check_duration()
        return self

    def _check_duration(self) -> None:
        """The costliest invocation the function accepts must finish within its timeout at its memory size."""
        windows, texts, what = API_WORST_WINDOWS, API_MAX_TEXTS, "the largest request accepted"
        if self.bulk and self.bulk_batch_size * DEFAULT_MAX_WINDOWS > windows:
            windows, texts = self.bulk_batch_size * DEFAULT_MAX_WINDOWS, self.bulk_batch_size
            what = f"a bulk batch of {texts} long rows"
        worst_s = worst_request_ms(self.memory_mb, windows, texts) / 1000
        smallest = smallest_memory_mb(self.timeout_s, windows, texts)
        why = f": {what} takes about {worst_s:.0f} s at {self.memory_mb} MB"
        if smallest is None:
            _require(worst_s <= self.timeout_s, "timeout_s", f"at least {math.ceil(worst_s)}{why}")
        _require(
            worst_s <= self.timeout_s, "memory_mb", f"at least {smallest} with timeoutS {self.timeout_s}{why}"
        )

    @classmethod
    def from_sources(cls, context: Callable[[str], Any], environ: Mapping[str, str]) -> Settings:
        """Build settings from CDK context (first) and environment variables (second).

        Args:
            context: looks a context key up (``app.node.try_get_context``), None when unset.
            environ: the environment, read for ``SENTIMENT_*`` variables.

        Raises:
            SettingsError: a value does not parse or is out of range; the message names both sources.
        """
        values = {name: context(context_key(name)) for name in cls.model_fields}
        given = {name: environ.get(env_var(name)) if raw is None else raw for name, raw in values.items()}
        return cls(**{name: raw for name, raw in given.items() if raw is not None})


def check_context_keys(keys: Iterable[str]) -> None:
    """Refuse `-c` keys that are not settings, so `-c memorymb=4096` is not silently ignored.

    Keys with a ':' are the CDK's own (feature flags such as `@aws-cdk/core:...`, `aws:cdk:...`) and
    pass through untouched.

    Raises:
        SettingsError: one line naming the unknown key, the closest setting and every valid key.
    """
    for key in keys:
        if ":" not in key and key not in _context_keys():
            raise SettingsError(_unknown(key))


def _context_keys() -> list[str]:
    return [context_key(name) for name in Settings.model_fields]


def _unknown(key: str) -> str:
    close = difflib.get_close_matches(key, _context_keys(), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"unknown setting {key!r}: {hint}valid keys are {', '.join(_context_keys())}"


def context_key(name: str) -> str:
    """The CDK context key of a setting: camelCase of the field name (memory_mb -> memoryMb)."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def env_var(name: str) -> str:
    """The environment variable of a setting (memory_mb -> SENTIMENT_MEMORY_MB)."""
    return ENV_PREFIX + name.upper()


def _where(name: str) -> str:
    return f"setting {context_key(name)} ({env_var(name)})"


def _one_line(error: ValidationError) -> str:
    """pydantic's first problem, naming the setting by both its sources; a check's own message as it is."""
    first = error.errors(include_url=False)[0]
    if first["type"] == "extra_forbidden":
        return _unknown(context_key(str(first["loc"][0])))
    if first["type"] == "value_error" or not first["loc"]:
        return problem(error)
    name = str(first["loc"][0])
    if first["type"] == "string_pattern_mismatch":  # the description says what the pattern means
        return f"{_where(name)}: got {first['input']!r}, expected {Settings.model_fields[name].description}"
    return f"{_where(name)}: {problem(error)}, got {first['input']!r}"


def worst_request_ms(
    memory_mb: int,
    windows: int = API_WORST_WINDOWS,
    texts: int = API_MAX_TEXTS,
    *,
    ms_per_window: float = WORST_MS_PER_WINDOW,
    ms_per_text: float = WORST_MS_PER_TEXT,
) -> float:
    """Estimated duration of an invocation of `windows` windows over `texts` texts at `memory_mb` (see above);
    by default the worst API request within the handler's limits, priced with the stack's coefficients
    (bench/speed.py passes the ones it measured)."""
    one_vcpu = windows * ms_per_window + texts * ms_per_text
    return one_vcpu * MB_PER_VCPU / min(memory_mb, MB_PER_VCPU)


def smallest_memory_mb(
    timeout_s: int,
    windows: int = API_WORST_WINDOWS,
    texts: int = API_MAX_TEXTS,
    *,
    ms_per_window: float = WORST_MS_PER_WINDOW,
    ms_per_text: float = WORST_MS_PER_TEXT,
) -> int | None:
    """The least memory (MB) at which that invocation (`worst_request_ms`) finishes within `timeout_s`; None
    when even one vCPU is too slow (the cost model claims nothing of more: ORT gets a second thread only at
    3,538 MB)."""
    costs = {"ms_per_window": ms_per_window, "ms_per_text": ms_per_text}
    return next(
        (
            m
            for m in range(128, MB_PER_VCPU + 1)
            if worst_request_ms(m, windows, texts, **costs) <= timeout_s * 1000
        ),
        None,
    )


def _require(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise SettingsError(f"{_where(name)} must be {expected}")
