"""Schemathesis fuzzes the local front from the API's own /openapi.json, and hypothesis throws unicode, emoji,
control characters and very long reviews at it: no request may end in a server error."""

from __future__ import annotations

import json

import pytest
import schemathesis
import urllib3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

http = urllib3.PoolManager(retries=False, timeout=60)


@pytest.fixture(scope="session")
def operations(front: str) -> list:
    """Every operation in the front's /openapi.json.

    Drawn inside one hypothesis test: schemathesis' lazy pytest loader (from_fixture) breaks on pytest 9.
    """
    schema = schemathesis.openapi.from_url(f"{front}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@given(data=st.data())
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_has_no_server_errors(front, operations, data):
    operation = data.draw(st.sampled_from(operations), label="operation")
    mode = data.draw(st.sampled_from(list(GenerationMode)), label="mode")
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    case.call_and_validate(base_url=front, checks=[not_a_server_error, response_schema_conformance])


# Every Unicode category, surrogates included: a lone surrogate is not valid text and must be a 4xx.
any_text = st.text(st.characters(codec=None), max_size=300)
long_text = st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=40), st.integers(50, 400)
)
emoji_and_controls = st.lists(
    st.sampled_from(
        ["😀", "👍🏽", "🇫🇷", "\u200d", "\x00", "\x07", "\u202e", "\ufeff", "\n", "\t", "é", "中", "a"]
    ),
    max_size=200,
).map("".join)


@given(texts=st.lists(st.one_of(any_text, long_text, emoji_and_controls), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_text_gets_an_answer_or_a_clear_4xx(front, texts):
    body = json.dumps({"texts": texts})  # ASCII escapes, so lone surrogates survive the trip as \udXXX
    response = http.request(
        "POST", f"{front}/predict", body=body, headers={"Content-Type": "application/json"}
    )
    answer = json.loads(response.data)
    assert response.status in (200, 413, 422), answer
    if response.status == 200:
        assert len(answer["predictions"]) == len(texts)
        assert all(0.0 <= p["score"] <= 1.0 and p["windows"] >= 1 for p in answer["predictions"])
    else:
        assert answer["message"]
