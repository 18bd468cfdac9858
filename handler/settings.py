"""Handler settings from the environment, parsed once at cold start so a bad value fails loudly there."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, le=6_000_000, description="Largest request body (Lambda's own cap: 6 MB)."
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins allowed by CORS (or `*`); empty: no CORS headers. The CDK stack "
        "sets it together with the API's preflight answers.",
    )
    ort_threads: int | None = Field(
        default=None, ge=1, description="onnxruntime intra-op threads; default: the CPUs Lambda gives."
    )

    @property
    def cors_origin_list(self) -> list[str]:
        """`cors_origins` split on commas, blanks dropped."""
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]


@cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
