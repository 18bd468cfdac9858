"""Hardening, in process: bounded error answers, crafted events, blank texts and the published request schema.

Each class of bad input is generated (hypothesis, seeded by the profile in tests/handler/conftest.py's
settings) rather than listed, and every answer must be JSON, below 500 and small.
"""

from __future__ import annotations

import base64
import copy
import json
import unicodedata

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from handler.models import _INVISIBLE_RANGES, BLANK_PROBLEM
from tests.handler.conftest import FakeContext, answer, load_event

# handler.error_mapping is reached through the app fixture: imported here, at collection, the Powertools
# singletons would be built before the fixtures set their environment.

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
# The most an error answer may weigh: MAX_PROBLEMS problems of a cut field and message, plus the envelope.
MAX_ERROR_BYTES = 6_000
REVIEW = "Sturdy and quiet, it crushes ice in seconds."


def rest_event(body: str | None) -> dict:
    event = load_event("rest_v1_post_predict")
    event.update(body=body, isBase64Encoded=False)
    return event


def invisible(code: int) -> bool:
    return any(lo <= code <= hi for lo, hi in _INVISIBLE_RANGES)


# --- 1. bounded error answers, and logs without caller text ---

key_names = st.text(st.characters(codec="utf-8", exclude_characters='"\\'), min_size=1, max_size=40)


@given(
    keys=st.one_of(
        st.lists(key_names, min_size=1, max_size=400, unique=True),
        st.integers(1, 200_000).map(lambda n: [f"k{i}" for i in range(n)]),
        st.integers(1_000, 2_000_000).map(lambda n: ["x" * n]),
    ),
    direct=st.booleans(),
)
@SETTINGS
def test_unknown_keys_get_a_bounded_answer_and_no_key_in_the_logs(app, log_stream, keys, direct):
    payload = {"text": REVIEW, **dict.fromkeys(keys, 1)}
    context = FakeContext()
    if direct:
        error = app.lambda_handler(payload, context)
        size = len(json.dumps(error))
    else:
        result = app.lambda_handler(rest_event(json.dumps(payload)), context)
        size, error = len(result["body"]), json.loads(result["body"])
    assert error["statusCode"] == 422
    assert size <= MAX_ERROR_BYTES, size
    assert len(error["errors"]) == min(len(keys), app.error_mapping.MAX_PROBLEMS)
    assert all(len(problem["field"]) <= app.error_mapping.MAX_ECHO_CHARS for problem in error["errors"])
    assert error.get("errorCount", len(keys)) == len(keys)
    assert f"(and {len(keys) - 1} more)" in error["message"] or len(keys) == 1
    lines = log_stream.getvalue().splitlines()
    (record,) = [json.loads(line) for line in lines if line.startswith('{"level"') and "invalid" in line][-1:]
    assert record["problems"] == len(keys)
    assert record["error_types"] == {"extra_forbidden": len(keys)}
    assert not any(key in json.dumps(record) for key in keys if len(key) >= 13)  # no caller text logged
    log_stream.seek(0)
    log_stream.truncate()


def long_or_short(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Text as drawn, or one character repeated up to 20,000 times (hypothesis rarely draws long text)."""
    return st.text(alphabet, min_size=1, max_size=50) | st.builds(
        lambda c, n: c * n, alphabet, st.integers(100, 20_000)
    )


@given(
    method=st.sampled_from(["POST", "GET"]) | long_or_short(st.characters(categories=["Lu", "Ll"])),
    path=st.just("/predict") | long_or_short(st.characters(codec="utf-8")).map(lambda p: f"/{p}"),
    content_type=long_or_short(st.characters(codec="utf-8")),
)
@SETTINGS
def test_echoed_method_path_and_content_type_are_cut(app, method, path, content_type):
    event = load_event("rest_v1_post_predict")
    event.update(httpMethod=method, path=path, isBase64Encoded=False, body=json.dumps({"text": REVIEW}))
    event["headers"]["Content-Type"] = content_type
    result = app.lambda_handler(event, FakeContext())
    assert 400 <= result["statusCode"] < 500 or result["statusCode"] == 200
    if result["statusCode"] != 200:  # 404, 405, 415: at most two echoed values of 80 characters each
        assert len(result["body"].encode()) < 4_000, result["body"][:200]


# --- 4. crafted events: every shape gets a JSON answer, never a function error ---

# JSON values only: NaN and Infinity are not JSON, and Lambda refuses such a payload before any handler runs.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(event: dict, prefix: tuple = ()) -> list[tuple]:
    found = []
    for key, value in event.items():
        found.append((*prefix, key))
        if isinstance(value, dict):
            found += _paths(value, (*prefix, key))
    return found


@st.composite
def crafted_events(draw: st.DrawFn) -> dict:
    """A real REST or HTTP API event with fields removed, or replaced by any JSON value."""
    event = copy.deepcopy(load_event(draw(st.sampled_from(["rest_v1_post_predict", "http_v2_post_predict"]))))
    paths = _paths(event)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True)):
        parent = event
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or path[-1] not in parent:
            continue
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return event


def assert_json_answer(result: object) -> None:
    """A proxy answer with a JSON body, or a direct-invoke body: either way below 500 and no stack trace."""
    assert isinstance(result, dict), result
    assert "errorMessage" not in result, result
    status = result.get("statusCode", 200)
    assert isinstance(status, int), result
    assert status < 500, result
    if isinstance(result.get("body"), str):
        body = result["body"]
        json.loads(base64.b64decode(body) if result.get("isBase64Encoded") else body)


@given(event=crafted_events())
@settings(SETTINGS, max_examples=300)
def test_crafted_event_shapes_get_a_json_answer(app, event):
    assert_json_answer(app.lambda_handler(event, FakeContext()))


@pytest.mark.parametrize(
    ("flavour", "change", "status", "fragment"),
    [
        ("rest_v1", lambda e: e.pop("path"), 400, "invalid API Gateway REST event: path: Field required"),
        ("rest_v1", lambda e: e["requestContext"].pop("stage"), 400, "requestContext.stage: Field required"),
        ("rest_v1", lambda e: e.update(headers={"a": 1}), 400, "headers.a: Input should be a valid string"),
        ("http_v2", lambda e: e["requestContext"]["http"].pop("method"), 400, "requestContext.http.method"),
        ("http_v2", lambda e: e.pop("rawPath"), 400, "invalid API Gateway HTTP API event: rawPath"),
        (
            "rest_v1",
            lambda e: e.update(body="e30", isBase64Encoded=True),
            422,
            "marked base64 but is not valid",
        ),
        (
            "http_v2",
            lambda e: e.update(body="abc", isBase64Encoded=True),
            422,
            "marked base64 but is not valid",
        ),
    ],
)
def test_incomplete_api_gateway_events_say_what_is_missing(app, flavour, change, status, fragment):
    event = load_event(f"{flavour}_post_predict")
    change(event)
    result = app.lambda_handler(event, FakeContext())
    body = json.loads(result["body"]) if "body" in result else result
    assert (result["statusCode"], body["statusCode"]) == (status, status)
    assert fragment in body["message"]


@given(body=st.text(st.characters(codec="ascii"), max_size=200))
@SETTINGS
def test_any_base64_body_gets_a_json_answer(app, body):
    event = load_event("rest_v1_post_predict")
    event.update(body=body, isBase64Encoded=True)
    assert_json_answer(app.lambda_handler(event, FakeContext()))


# --- 5. blank texts: nothing the tokenizer reads ---

invisible_text = st.text(
    st.sampled_from([chr(code) for lo, hi in _INVISIBLE_RANGES for code in range(lo, min(hi, lo + 40) + 1)]),
    min_size=1,
    max_size=300,
)


@given(text=invisible_text, visible=st.characters(codec="utf-8").filter(lambda c: not invisible(ord(c))))
@SETTINGS
def test_blank_texts_are_refused_and_one_visible_character_is_enough(app, make_event, text, visible):
    context = FakeContext()
    status, _, error = answer(
        app, make_event("POST", "/predict", json.dumps({"texts": [REVIEW, text]})), context
    )
    assert status == 422
    assert error["message"] == f"invalid request: texts.1: {BLANK_PROBLEM}"
    status, _, body = answer(
        app, make_event("POST", "/predict", json.dumps({"text": text + visible})), context
    )
    assert status == 200, body


def test_invisible_ranges_are_the_unicode_categories_the_tokenizer_drops(tiny_artifact):
    """Every code point of Z*, Cc, Cf and Co is invisible; every invisible one is of those, a combining
    mark or unassigned in this Python's tables; and every code point the artifact's tokenizer reads as
    nothing is invisible, except combining marks of a script (an uncased tokenizer strips them)."""
    tokenizer = Tokenizer.from_file(str(tiny_artifact / "tokenizer.json"))
    tokenizer.no_padding()
    codes = [code for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF]
    categories = {code: unicodedata.category(chr(code)) for code in codes}
    assert all(invisible(c) for c in codes if categories[c][0] == "Z" or categories[c] in ("Cc", "Cf", "Co"))
    allowed = {"Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Mn", "Me", "Cn"}
    assert all(categories[c] in allowed or c == 0xFFFD for c in codes if invisible(c))
    encodings = tokenizer.encode_batch([chr(c) for c in codes], add_special_tokens=False)
    unread = {c for c, encoding in zip(codes, encodings, strict=True) if not encoding.ids}
    assert {categories[c] for c in unread if not invisible(c)} <= {"Mn", "Mc"}


# --- 11. the published schema says what the handler accepts ---

bodies = st.one_of(
    st.fixed_dictionaries(
        {}, optional={"text": json_values, "texts": json_values, "all_scores": json_values}
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "text": st.one_of(st.text(max_size=30), invisible_text),
            "texts": st.lists(st.one_of(st.text(max_size=30), invisible_text), max_size=3),
            "all_scores": st.booleans(),
        },
    ),
    json_values,
)


@given(body=bodies)
@settings(SETTINGS, max_examples=300)
def test_schema_accepts_exactly_what_the_handler_accepts(app, make_event, body):
    _, _, spec = answer(app, make_event("GET", "/openapi.json"), FakeContext())
    schema = {**spec["components"]["schemas"]["PredictRequest"], "components": spec["components"]}
    valid = jsonschema_rs.validator_for(schema).is_valid(body)
    status, _, answered = answer(app, make_event("POST", "/predict", json.dumps(body)), FakeContext())
    assert status == (200 if valid else 422), (body, answered)
