"""Property tests in process: any text the API accepts gets a well-formed prediction, never an exception.

Each answer is checked against what is known apart from the code under test: the windows a text needs come
from the serving tokenizer.json read directly with `tokenizers`, the label must be the best of the scores the
same answer reports, and a text's answer must not depend on the batch it came in.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from tests.handler.conftest import FakeContext, load_event

MAX_CHARS = 10_000

texts = st.one_of(
    st.text(st.characters(codec=None), max_size=500),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "So"]), min_size=1, max_size=200),
    st.builds(
        lambda piece, n: (piece * n)[: MAX_CHARS + 5], st.text(min_size=1, max_size=30), st.integers(1, 2000)
    ),
)


@pytest.fixture(scope="module")
def windows_needed(tiny_artifact):
    """How many windows the serving tokenizer cuts a text into, before the max_windows cap."""
    tokenizer = Tokenizer.from_file(str(tiny_artifact / "tokenizer.json"))
    return lambda text: 1 + len(tokenizer.encode(text).overflowing)


def predict(app, texts: list[str]) -> tuple[int, dict]:
    event = load_event("rest_v1_post_predict")
    event.update(body=json.dumps({"texts": texts, "all_scores": True}), isBase64Encoded=False)
    result = app.lambda_handler(event, FakeContext())
    return result["statusCode"], json.loads(result["body"])


@given(batch=st.lists(texts, min_size=1, max_size=5))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_text_is_answered_or_refused_cleanly(app, windows_needed, batch):
    status, body = predict(app, batch)
    assert status in (200, 422), body
    if status == 422:
        assert body["message"].startswith("invalid request: texts.")
        return
    max_windows = app.get_classifier().max_windows
    for text, prediction in zip(batch, body["predictions"], strict=True):
        needed = windows_needed(text)
        assert prediction["windows"] == min(needed, max_windows)
        assert prediction["truncated"] is (needed > max_windows)
        scores = prediction["scores"]
        assert prediction["label"] == max(scores, key=scores.get)
        assert prediction["score"] == scores[prediction["label"]]
        assert sum(scores.values()) == pytest.approx(1.0)
        assert predict(app, [text]) == (200, {**body, "predictions": [prediction]})  # alone: the same answer


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=MAX_CHARS))
@settings(max_examples=40, deadline=None)
def test_windows_are_the_serving_tokenizers_up_to_the_cap(app, windows_needed, text):
    classifier = app.get_classifier()
    windows = classifier.encode([text])
    assert int(windows.counts[0]) == min(windows_needed(text), classifier.max_windows)
