"""Request and response models of the API. The limits live here, as Field constraints, read from settings."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from handler.settings import get_settings

_settings = get_settings()


# Blank means nothing the tokenizer reads: a BERT normalizer drops controls, format characters (zero-width
# spaces, BOM), private-use characters and the replacement character, splits on separators, and an uncased one
# strips combining marks, so a text made only of these scores as an empty text. One pattern, a character
# outside these ranges, is both the validator and the published schema's `pattern` (tests check the ranges
# against Unicode's categories Z*, Cc, Cf, Co and the combining-mark blocks, and against the tokenizer).
_INVISIBLE_RANGES = (
    (0x0000, 0x0020),  # C0 controls (NUL, tab, newlines) and space
    (0x007F, 0x00A0),  # DEL, C1 controls, no-break space
    (0x00AD, 0x00AD),  # soft hyphen
    (0x0300, 0x036F),  # combining diacritical marks
    (0x0600, 0x0605),  # Arabic number signs (format)
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x1680, 0x1680),  # ogham space
    (0x180E, 0x180E),  # Mongolian vowel separator
    (0x1AB0, 0x1AFF),  # combining diacritical marks extended
    (0x1DC0, 0x1DFF),  # combining diacritical marks supplement
    (0x2000, 0x200F),  # spaces, zero-width space and joiners, direction marks
    (0x2028, 0x202F),  # line and paragraph separators, bidi embeddings, narrow no-break space
    (0x205F, 0x206F),  # math space, word joiner, invisible operators, bidi isolates
    (0x20D0, 0x20FF),  # combining marks for symbols
    (0x3000, 0x3000),  # ideographic space
    (0xE000, 0xF8FF),  # private use
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFE20, 0xFE2F),  # combining half marks
    (0xFEFF, 0xFEFF),  # byte order mark
    (0xFFF9, 0xFFFB),  # interlinear annotation
    (0xFFFD, 0xFFFD),  # replacement character (what a broken decoder leaves)
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),  # Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0001, 0xE0001),  # language tag
    (0xE0020, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
    (0xF0000, 0xFFFFD),  # supplementary private use A
    (0x100000, 0x10FFFD),  # supplementary private use B
)


def _class_char(code: int) -> str:
    """A code point in a regex class: \\uXXXX in the BMP (JSON Schema's ECMA regex and Python's alike),
    the character itself beyond it (ECMA has no portable astral escape; Python and the u flag read it)."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


VISIBLE_PATTERN = "[^{}]".format(
    "".join(_class_char(lo) + (f"-{_class_char(hi)}" if hi > lo else "") for lo, hi in _INVISIBLE_RANGES)
)
_VISIBLE = re.compile(VISIBLE_PATTERN)
BLANK_PROBLEM = (
    "text has nothing to read: only whitespace or invisible characters (controls such as NUL, zero-width "
    "spaces, BOM, private-use characters, lone combining marks)"
)


def _not_blank(text: str) -> str:
    if not _VISIBLE.search(text):
        raise ValueError(BLANK_PROBLEM)
    return text


# The blank rule alone: a bulk row's text (handler/rows.py) must pass it, but not the API's length limit.
NOT_BLANK = AfterValidator(_not_blank)


def _no_null(value: Any) -> Any:
    # An explicit null is refused rather than read as absent: the schema says a string (or a list).
    if value is None:
        raise ValueError("null is not allowed: leave the key out")
    return value


def _exactly_one_in_schema(schema: dict[str, Any]) -> None:
    """The rule `_exactly_one` checks, published in the JSON Schema so generated clients know it."""
    schema["oneOf"] = [{"required": ["text"]}, {"required": ["texts"]}]
    for name in ("text", "texts"):
        schema["properties"][name].pop("default", None)  # absent, not null


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=_settings.max_text_chars),
    NOT_BLANK,
    Field(
        description=f"A review, 1 to {_settings.max_text_chars} characters, with at least one visible "
        "character (not only whitespace, controls, zero-width or format characters).",
        json_schema_extra={"pattern": VISIBLE_PATTERN},
    ),
]
Texts = Annotated[
    list[Text],
    Field(
        min_length=1,
        max_length=_settings.max_texts,
        description=f"1 to {_settings.max_texts} reviews, answered in the same order. Together they may "
        f"need at most {_settings.max_request_windows} token windows (a text needs one per `max_length` "
        "tokens, up to `max_windows`: GET /model), else 413: a request's time is its windows' time.",
    ),
]


class PredictRequest(BaseModel):
    """`{"text": ...}` for one review or `{"texts": [...]}` for a batch; exactly one of the two."""

    # Strict: JSON types as sent, so "yes" or 1 is not taken for a boolean (lax mode would coerce it).
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_exactly_one_in_schema)

    # None marks an absent key and is never validated (pydantic skips defaults); a null sent for either key
    # is refused by _no_null. Not `| None`: the schema would then offer null, and each error would be
    # reported once per union member.
    text: Annotated[Text, BeforeValidator(_no_null)] = None  # type: ignore[assignment]
    texts: Annotated[Texts, BeforeValidator(_no_null)] = None  # type: ignore[assignment]
    all_scores: bool = Field(default=False, description="Also return every label's probability.")
    explain: bool = Field(
        default=False,
        description="Also return each prediction's `explanation`: the words of the text and how much each "
        "moved the answer. It runs the model on copies of the text without some of its words, and those "
        "runs count against the request's token windows (413 past them).",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> PredictRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("give exactly one of 'text' (a string) or 'texts' (a list of strings)")
        return self

    @property
    def items(self) -> list[str]:
        """The texts to classify, a single text as a batch of one."""
        return [self.text] if self.text is not None else list(self.texts or [])


class CreditOut(BaseModel):
    """One word of a text and its contribution to the prediction."""

    text: str = Field(description="The word, as it is in the text.")
    start: int = Field(
        ge=0, description="Its offset in the text as sent, in characters (Unicode code points)."
    )
    end: int = Field(ge=1, description="The offset after its last character: text[start:end] is the word.")
    weight: float = Field(
        ge=-1,
        le=1,
        description="The label's probability with the word minus without it: positive, the word pushed the "
        "answer towards `label`; negative, away from it. In a text of more than 9 words, a word outside the "
        "two runs of words that moved the answer most carries its run's weight shared evenly.",
    )
    weights: dict[str, float] | None = Field(
        default=None,
        description="Multi-label models only: the same for each label in `labels` (empty when none is).",
    )

    @model_serializer(mode="wrap")
    def _omit_absent_weights(self, serialize: SerializerFunctionWrapHandler):
        # As PredictionOut: a single-label model's words carry no `weights` key rather than a null.
        data = serialize(self)
        if data.get("weights") is None:
            data.pop("weights", None)
        return data


class PredictionOut(BaseModel):
    """One review's answer; `windows` > 1 when the review was longer than the model's max length."""

    label: str = Field(description="The most probable label (GET /model lists the model's labels).")
    score: float = Field(ge=0, le=1, description="Probability of that label, averaged over the windows.")
    windows: int = Field(ge=1, description="Overlapping token windows the review was split into.")
    truncated: bool = Field(description="True if windows past the cap were dropped (unread)")
    scores: dict[str, float] | None = Field(default=None, description="Every label's probability, if asked.")
    labels: list[str] | None = Field(
        default=None,
        description="Multi-label models only: every label whose probability reaches the model's threshold, "
        "most probable first (may be empty).",
    )
    explanation: list[CreditOut] | None = Field(
        default=None,
        description="With `explain`: the text's words in order, each with its weight. A word is a run of "
        "letters, marks and digits (apostrophes and hyphens inside it), or of symbols and emoji; "
        "punctuation is not a word. A text cut short (`truncated`) lists only the words the model read.",
    )

    @model_serializer(mode="wrap")
    def _omit_absent_keys(self, serialize: SerializerFunctionWrapHandler):
        # Without all_scores (or from a single-label model) the key is left out rather than sent as null. No
        # return annotation, so the OpenAPI schema stays the model's own instead of a bare object.
        data = serialize(self)
        for key in ("scores", "labels", "explanation"):
            if data.get(key) is None:
                data.pop(key, None)
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
    """Every 4xx/5xx body: a sentence for humans, details per field for programs; bounded in size."""

    statusCode: int  # noqa: N815 - the API's JSON key, as Powertools' own error bodies spell it
    message: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="The first problems (at most 10), each a field and what is wrong with it."
    )
    requestId: str | None = None  # noqa: N815
    errorCount: int | None = Field(  # noqa: N815
        default=None, description="How many problems there were in all, when `errors` lists only the first."
    )
