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
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from handler.errors import ArtifactError
from handler.rows import problem
from handler.settings import MB_PER_VCPU, METRICS_NAMESPACE, SERVICE_NAME
from handler.settings import Settings as FunctionSettings
from infra.sizing import (
    API_GATEWAY_TIMEOUT_S,
    API_MAX_TEXTS,
    API_WORST_WINDOWS,
    SHIPPED_MODEL_DIR,
    ModelCost,
    largest_that_fits,
    model_cost,
    smallest_memory_mb,
    worst_request_ms,
)
from infra.sizing import WORST_MS_PER_TEXT as WORST_MS_PER_TEXT  # bench/speed.py's
from infra.sizing import WORST_MS_PER_WINDOW as WORST_MS_PER_WINDOW

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
_MODEL_DIR = "model_dir"  # the validation context's key: the artifact the stack is sized for
# A bulk batch is one request to the function: it takes at most this many texts (SENTIMENT_MAX_TEXTS).
BULK_MAX_BATCH = API_MAX_TEXTS
LAMBDA_MAX_TIMEOUT_S = 900
# The handler's own bounds of its window budget (SENTIMENT_MAX_REQUEST_WINDOWS), so the two never differ.
_WINDOW_BUDGET_BOUNDS = FunctionSettings.model_fields["max_request_windows"].metadata


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
        30,
        ge=1,
        le=LAMBDA_MAX_TIMEOUT_S,
        description=f"Lambda timeout (s); API Gateway itself stops at {API_GATEWAY_TIMEOUT_S} s",
    )
    # The function's request limits (the handler's SENTIMENT_* settings, passed to it): what a request may
    # cost, so what the memory size and timeout are checked against; lowered for a model too slow for them.
    max_texts: int = Field(
        API_MAX_TEXTS,
        ge=1,
        le=API_MAX_TEXTS,
        description="most texts in one request (SENTIMENT_MAX_TEXTS), 1 to the handler's default",
    )
    max_request_windows: Annotated[int, *_WINDOW_BUDGET_BOUNDS] = Field(
        API_WORST_WINDOWS,
        description="most token windows one request runs (SENTIMENT_MAX_REQUEST_WINDOWS): at least the "
        "model's max_windows and maxTexts",
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
        default_factory=lambda given: given.get("max_texts", BULK_MAX_BATCH),
        ge=1,
        le=BULK_MAX_BATCH,
        description="rows per Lambda invoke in bulk scoring (default and most: maxTexts, the function's "
        "limit)",
    )
    bulk_concurrency: int = Field(
        50, ge=1, le=10_000, description="most concurrent bulk batches (Lambda invokes)"
    )
    bulk_tolerated_failure_percent: float = Field(
        5.0, ge=0, le=100, description="failed batches (%) a bulk run tolerates before it fails"
    )

    def __init__(self, *, model_dir: Path = SHIPPED_MODEL_DIR, **values: Any) -> None:
        """Args:
            model_dir: the artifact whose measured window cost sizes memory and timeout (the one the image
                ships; tests point it elsewhere).

        Raises: SettingsError: a value of the wrong type or out of range, in one line naming it.
        """
        try:  # pydantic's documented way of giving __init__'s validation a context
            self.__pydantic_validator__.validate_python(
                values, self_instance=self, context={_MODEL_DIR: model_dir}
            )
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, days: int) -> int:
        _require(days in RETENTION_DAYS, "log_retention_days", f"one of {RETENTION_DAYS}")
        return days

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Settings:
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
        model_dir = (info.context or {}).get(_MODEL_DIR, SHIPPED_MODEL_DIR)
        try:
            cost = model_cost(model_dir)
        except ArtifactError as exc:
            raise SettingsError(f"{exc}: rebuild it with make model") from None
        self._check_function_starts(cost, model_dir)
        self._check_api_request(cost)
        if self.bulk:
            self._check_bulk_batch(cost)
        return self

    def _check_function_starts(self, cost: ModelCost, model_dir: Path) -> None:
        """The handler's own checks of its limits at init (handler/settings.py, handler/service.py
        get_classifier), made here so that a deploy cannot ship a function that fails its first invocation."""
        _require(
            self.max_request_windows >= self.max_texts,
            "max_request_windows",
            f"at least maxTexts ({self.max_texts}): every text needs a window, and the function refuses to "
            f"start below it (lower {env_var('max_texts')} with it)",
        )
        _require(
            not self.bulk or self.bulk_batch_size <= self.max_texts,
            "bulk_batch_size",
            f"at most maxTexts ({self.max_texts}): the function refuses a larger batch",
        )
        _require(
            self.max_request_windows >= cost.max_windows,
            "max_request_windows",
            f"at least {cost.max_windows}, the max_windows of the model ({model_dir}): one long text always "
            "gets them, and the function refuses to start below it",
        )

    def _check_api_request(self, cost: ModelCost) -> None:
        """The costliest request the function accepts (its window budget over its most texts) must finish at
        its memory size, at the shipped model's price of a window, within the function's timeout and API
        Gateway's, whichever is shorter."""
        limit_s = min(self.timeout_s, API_GATEWAY_TIMEOUT_S)
        windows, texts = self.max_request_windows, self.max_texts
        price = {"ms_per_window": cost.ms_per_window}

        def finishes(budget: int, memory_mb: int = self.memory_mb) -> bool:
            return worst_request_ms(memory_mb, budget, min(texts, budget), **price) <= limit_s * 1000

        if finishes(windows):
            return
        worst_s = worst_request_ms(self.memory_mb, windows, texts, **price) / 1000
        levers = []
        if (least := smallest_memory_mb(limit_s, windows, texts, **price)) is not None:
            levers.append(f"{_named('memory_mb')} at least {least}")
        if (budget := largest_that_fits(finishes, windows - 1, cost.max_windows)) is not None:
            levers.append(self._smaller_budget(budget))
        elif (
            budget := largest_that_fits(lambda n: finishes(n, MB_PER_VCPU), windows - 1, cost.max_windows)
        ) is not None:
            least = smallest_memory_mb(limit_s, budget, min(texts, budget), **price)
            levers.append(f"{_named('memory_mb')} at least {least} with {self._smaller_budget(budget)}")
        if self.timeout_s < API_GATEWAY_TIMEOUT_S and worst_s <= API_GATEWAY_TIMEOUT_S:
            levers.append(f"{_named('timeout_s')} at least {math.ceil(worst_s)}")
        limit = (
            f"API Gateway's {limit_s} s"
            if self.timeout_s >= API_GATEWAY_TIMEOUT_S
            else f"the {limit_s} s of {_named('timeout_s')}"
        )
        what = f"the largest request accepted ({windows} windows over {texts} texts)"
        raise SettingsError(_too_slow(what, worst_s, self.memory_mb, limit, cost, levers))

    def _smaller_budget(self, budget: int) -> str:
        """The window budget lowered to `budget`, with the text limit when it must follow (the handler
        wants a window for every text)."""
        if budget >= self.max_texts:
            return f"{_named('max_request_windows')} at most {budget}"
        return f"{_named('max_request_windows')} and {_named('max_texts')} at most {budget}"

    def _check_bulk_batch(self, cost: ModelCost) -> None:
        """A bulk batch, a direct invoke that no API Gateway waits on, is scored whole, its rows each up to
        the model's max_windows windows: it must finish within the function's timeout."""
        rows, price = self.bulk_batch_size, {"ms_per_window": cost.ms_per_window}

        def finishes(batch: int) -> bool:
            ms = worst_request_ms(self.memory_mb, batch * cost.max_windows, batch, **price)
            return ms <= self.timeout_s * 1000

        if finishes(rows):
            return
        windows = rows * cost.max_windows
        worst_s = worst_request_ms(self.memory_mb, windows, rows, **price) / 1000
        levers = []
        if (least := smallest_memory_mb(self.timeout_s, windows, rows, **price)) is not None:
            levers.append(f"{_named('memory_mb')} at least {least}")
        if math.ceil(worst_s) <= LAMBDA_MAX_TIMEOUT_S:
            levers.append(f"{_named('timeout_s')} at least {math.ceil(worst_s)}")
        if (batch := largest_that_fits(finishes, rows - 1)) is not None:
            levers.append(f"{_named('bulk_batch_size')} at most {batch}")
        what = f"a bulk batch of {rows} rows of {cost.max_windows} windows"
        limit = f"the {self.timeout_s} s of {_named('timeout_s')}"
        raise SettingsError(_too_slow(what, worst_s, self.memory_mb, limit, cost, levers))

    @classmethod
    def from_sources(
        cls,
        context: Callable[[str], Any],
        environ: Mapping[str, str],
        *,
        model_dir: Path = SHIPPED_MODEL_DIR,
    ) -> Settings:
        """Build settings from CDK context (first) and environment variables (second).

        Args:
            context: looks a context key up (``app.node.try_get_context``), None when unset.
            environ: the environment, read for ``SENTIMENT_*`` variables.
            model_dir: the artifact the stack is sized for (default: the one the image ships).

        Raises:
            SettingsError: a value does not parse or is out of range; the message names both sources.
        """
        values = {name: context(context_key(name)) for name in cls.model_fields}
        given = {name: environ.get(env_var(name)) if raw is None else raw for name, raw in values.items()}
        return cls(model_dir=model_dir, **{name: raw for name, raw in given.items() if raw is not None})


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


def _named(name: str) -> str:
    return f"{context_key(name)} ({env_var(name)})"


def _where(name: str) -> str:
    return f"setting {_named(name)}"


def _too_slow(
    what: str, worst_s: float, memory_mb: int, limit: str, cost: ModelCost, levers: list[str]
) -> str:
    """The duration refusal, in one line: what is too slow, at which price, and each change that fixes it
    alone (the settings, then the model)."""
    fixes = "; ".join([*levers, "a model whose window costs less (make model BASE_MODEL=...)"])
    return (
        f"{what} takes about {worst_s:.1f} s at {memory_mb} MB, past {limit}, at {cost.ms_per_window:.0f} ms "
        f"a window ({cost.basis}); each of these fits it alone: {fixes}"
    )


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


def _require(ok: bool, name: str, expected: str) -> None:
    if not ok:
        raise SettingsError(f"{_where(name)} must be {expected}")
