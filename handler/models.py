"""Request and response models of the API. The limits live here, as Field constraints, read from settings."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from handler.errors import PayloadTooLargeError
from handler.settings import get_settings

_settings = get_settings()


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("text is empty or only whitespace")
    return text


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=_settings.max_text_chars),
    AfterValidator(_not_blank),
    Field(description=f"A review, 1 to {_settings.max_text_chars} characters, not only whitespace."),
]


class PredictRequest(BaseModel):
    """`{"text": ...}` for one review or `{"texts": [...]}` for a batch; exactly one of the two."""

    # Strict: JSON types as sent, so "yes" or 1 is not taken for a boolean (lax mode would coerce it).
    model_config = ConfigDict(extra="forbid", strict=True)

    text: Text | None = None
    texts: list[Text] | None = Field(
        default=None,
        min_length=1,
        max_length=_settings.max_texts,
        description=f"1 to {_settings.max_texts} reviews, answered in the same order.",
    )
    all_scores: bool = Field(default=False, description="Also return every label's probability.")

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a string) or 'texts' (a list of strings)")
        return self

    @property
    def items(self) -> list[str]:
        """The texts to classify, a single text as a batch of one."""
        return [self.text] if self.text is not None else list(self.texts or [])


class PredictionOut(BaseModel):
    """One review's answer; `windows` > 1 when the review was longer than the model's max length."""

    label: str = Field(description="The most probable label, e.g. POSITIVE.")
    score: float = Field(ge=0, le=1, description="Probability of that label, averaged over the windows.")
    windows: int = Field(ge=1, description="Overlapping token windows the review was split into.")
    truncated: bool = Field(description="True if windows past the cap were dropped (unread)")
    scores: dict[str, float] | None = Field(default=None, description="Every label's probability, if asked.")

    @model_serializer(mode="wrap")
    def _omit_unasked_scores(self, serialize: SerializerFunctionWrapHandler):
        # Without all_scores the key is left out rather than sent as null. No return annotation, so the
        # OpenAPI schema stays the model's own instead of a bare object.
        data = serialize(self)
        if data.get("scores") is None:
            data.pop("scores", None)
        return data


class PredictResponse(BaseModel):
    """Predictions in the order of the request's texts, and the model that made them."""

    predictions: list[PredictionOut]
    model: str = Field(
        description="<name>@<12 hex digits>: the sha256 of model.onnx, or of both model files' sha256s and "
        "the n-gram weight (GET /model has them)"
    )


class HealthResponse(BaseModel):
    """Liveness: the model is loaded and answers."""

    status: str
    model: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: a sentence for humans, details per field for programs."""

    statusCode: int  # noqa: N815 - the API's JSON key, as Powertools' own error bodies spell it
    message: str
    errors: list[dict[str, Any]] | None = None
    requestId: str | None = None  # noqa: N815


def parse_json_body(body: str) -> Any:
    """Powertools' JSON body parser, with the body size limit checked before any parsing work."""
    size = len(body.encode())
    if size > _settings.max_body_bytes:
        raise PayloadTooLargeError(size, _settings.max_body_bytes)
    try:
        return json.loads(body)
    except RecursionError as error:  # deeply nested arrays: malformed for this API, not a server fault
        raise json.JSONDecodeError("nesting too deep", body, 0) from error
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # int() refuses a number past Python's digit limit: the client's fault too
        raise json.JSONDecodeError(
            f"a number has over {sys.get_int_max_str_digits()} digits", body, 0
        ) from error
