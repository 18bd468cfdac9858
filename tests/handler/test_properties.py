"""Property tests in process: any text the API accepts gets a well-formed prediction, never an exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.handler.conftest import FakeContext, load_event

MAX_CHARS = 10_000

texts = st.one_of(
    st.text(st.characters(codec=None), max_size=500),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "So"]), min_size=1, max_size=200),
    st.builds(
        lambda piece, n: (piece * n)[: MAX_CHARS + 5], st.text(min_size=1, max_size=30), st.integers(1, 2000)
    ),
)


@given(batch=st.lists(texts, min_size=1, max_size=5))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_any_text_is_answered_or_refused_cleanly(app, batch):
    event = load_event("rest_v1_post_predict")
    event.update(body=json.dumps({"texts": batch}), isBase64Encoded=False)
    result = app.lambda_handler(event, FakeContext())
    body = json.loads(result["body"])
    assert result["statusCode"] in (200, 422), body
    if result["statusCode"] == 422:
        assert body["message"].startswith("invalid request: texts.")
        return
    classifier = app.get_classifier()
    for prediction in body["predictions"]:
        assert 0.5 <= prediction["score"] <= 1.0  # two labels: the winner has at least half
        assert 1 <= prediction["windows"] <= classifier.max_windows
        assert not prediction["truncated"] or prediction["windows"] == classifier.max_windows


@given(st.text(st.characters(codec="utf-8"), min_size=1, max_size=MAX_CHARS))
@settings(max_examples=40, deadline=None)
def test_accepted_text_keeps_its_windows_in_bounds(app, text):
    windows = app.get_classifier().encode([text])
    assert 1 <= int(windows.counts[0]) <= app.get_classifier().max_windows
