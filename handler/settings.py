"""Handler settings from the environment, parsed once at cold start so a bad value fails loudly there."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The body cap is derived from the text limits, so a request within them is never refused for its size.
_ESCAPED_CHAR_BYTES = 12  # the worst JSON spelling of one character: \ud83d\ude00 for U+1F600
_PER_TEXT_BYTES = 16  # quotes, comma and indentation around each text
_ENVELOPE_BYTES = 1024  # keys, brackets and whitespace of the request object
# Lambda refuses a synchronous event over 6 MB, and API Gateway may put the body in it base64-encoded (x 4/3).
LARGEST_BODY_BYTES = 4_500_000
# Lambda gives a function CPU time in proportion to its memory, one vCPU's worth per 1,769 MB, yet shows it
# 2 vCPUs at every size up to 3,008 MB: two ORT threads on 1.2 vCPUs (2,048 MB) contend for the share.
MB_PER_VCPU = 1769
# Defaults shared by every package, named once here at the bottom layer (the Makefile keeps MODEL_DIR).
# Where `make model` writes the artifact, relative to the repository root (every CLI's working directory),
# and what the Dockerfile copies into the image.
BUILD_DIR = Path("build")
BUILT_MODEL_DIR = BUILD_DIR / "model"
# Windows a build reads per text at most by default (export's --max-windows, a manifest's max_windows): the
# longest text of the default artifact, which the stack sizes a bulk batch's worst row by.
DEFAULT_MAX_WINDOWS = 8
# The Powertools names the stack sets (POWERTOOLS_SERVICE_NAME / _METRICS_NAMESPACE) and the local
# emulator copies; the handler reads them from the environment, as Powertools does, these where unset.
SERVICE_NAME = "sentiment-api"
METRICS_NAMESPACE = "SentimentApi"


def lambda_threads() -> int | None:
    """ORT intra-op threads for the vCPUs this Lambda's memory size pays for (at least 1); None outside
    Lambda (AWS_LAMBDA_FUNCTION_MEMORY_SIZE unset), where the loader uses every CPU the process may."""
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "").strip()
    return max(1, int(memory) // MB_PER_VCPU) if memory else None


class Settings(BaseSettings):
    """Where the model lives and the request limits the API documents and enforces.

    Every field reads `SENTIMENT_<FIELD>` except the model directory, which reads `MODEL_DIR` as the image
    and the CDK stack set it.
    """

    model_config = SettingsConfigDict(env_prefix="SENTIMENT_", frozen=True)

    model_dir: Path = Field(
        default=Path("/var/task/model"),
        validation_alias="MODEL_DIR",
        description="Artifact directory written by export/ (model.onnx, tokenizer, config, manifest).",
    )
    max_texts: int = Field(default=32, ge=1, le=256, description="Most texts in one request.")
    max_text_chars: int = Field(
        default=10_000, ge=1, le=200_000, description="Longest text in characters; longer texts are refused."
    )
    max_request_windows: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Most token windows one request may run, summed over its texts (a text needs one window "
        "per `max_length` tokens, overlaps included, up to the manifest's `max_windows`): what bounds a "
        "request's time, at about 30 to 60 ms a window at one vCPU; a request over it is refused (413). "
        "At least max_texts, so that max_texts short texts always fit.",
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins allowed by CORS (or `*`); empty: no CORS headers. The CDK stack "
        "sets it together with the API's preflight answers.",
    )
    ort_threads: int | None = Field(
        default_factory=lambda_threads,
        ge=1,
        description="onnxruntime intra-op threads; default: one per 1,769 MB of Lambda memory (at least 1), "
        "or outside Lambda the CPUs this process may use.",
    )

    @property
    def max_body_bytes(self) -> int:
        """Largest request body: enough for max_texts texts of max_text_chars characters however they are
        written, since JSON may escape each character as two `\\uXXXX` escapes (a non-BMP character, as a
        surrogate pair, in ASCII-only JSON such as Python's json.dumps writes by default)."""
        return (
            self.max_texts * (_ESCAPED_CHAR_BYTES * self.max_text_chars + _PER_TEXT_BYTES) + _ENVELOPE_BYTES
        )

    @model_validator(mode="after")
    def _body_fits_lambda(self) -> Settings:
        if self.max_body_bytes > LARGEST_BODY_BYTES:
            raise ValueError(
                f"max_texts and max_text_chars need {self.max_body_bytes}-byte bodies; Lambda's 6 MB event "
                f"limit allows {LARGEST_BODY_BYTES}: lower SENTIMENT_MAX_TEXTS or SENTIMENT_MAX_TEXT_CHARS"
            )
        return self

    @model_validator(mode="after")
    def _short_texts_fit(self) -> Settings:
        if self.max_request_windows < self.max_texts:
            raise ValueError(
                f"max_request_windows ({self.max_request_windows}) is below max_texts ({self.max_texts}): "
                "every text needs a window, so a full batch of short texts would be refused; raise "
                "SENTIMENT_MAX_REQUEST_WINDOWS or lower SENTIMENT_MAX_TEXTS"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        """`cors_origins` split on commas, blanks dropped."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


@cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
