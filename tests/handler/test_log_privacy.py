"""Review text is never logged: not in the Powertools logger's records (at DEBUG, its most verbose), not in
the metrics printed to stdout, on the 200 and the 422 paths, over REST, HTTP API and direct invokes.

Bodies are sent as plain JSON (isBase64Encoded false), so a handler that logged the raw event, or a request
body it had decoded, would put the review in the logs in clear and fail here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from tests.handler.conftest import answer

SECRET = "my unique review phrase zebra-omelette"
# Each valid request carries the secret in a text; each invalid one carries it beside the field that is wrong.
ACCEPTED = {"texts": [SECRET, "fine"]}
REFUSED = [
    {"texts": [SECRET, ""]},  # an empty text
    {"text": SECRET, "all_scores": "yes please"},  # a flag that is no boolean
    {"texts": [SECRET], "unexpected": SECRET},  # a field the API does not know
]


@pytest.fixture
def debug_logs(log_stream, capsys) -> Iterator[Callable[[], str]]:
    """Everything the function writes, with the logger at DEBUG: its records and the EMF metrics (stdout)."""
    from handler.observability import logger

    level = logger.log_level
    logger.setLevel("DEBUG")
    yield lambda: log_stream.getvalue() + capsys.readouterr().out
    logger.setLevel(level)


def test_http_answers_do_not_log_review_text(app, make_event, context, debug_logs):
    status, _, _ = answer(app, make_event("POST", "/predict", json.dumps(ACCEPTED), b64=False), context)
    assert status == 200
    logged = debug_logs()
    assert '"message":"predicted"' in logged.replace(" ", "")  # the DEBUG summary was written
    assert SECRET not in logged


@pytest.mark.parametrize("body", REFUSED)
def test_http_422_does_not_log_review_text(app, make_event, context, debug_logs, body):
    status, _, _ = answer(app, make_event("POST", "/predict", json.dumps(body), b64=False), context)
    assert status == 422
    logged = debug_logs()
    assert "invalid request" in logged
    assert SECRET not in logged


def test_direct_invokes_do_not_log_review_text(app, context, debug_logs):
    assert app.lambda_handler(ACCEPTED, context)["predictions"]
    for body in REFUSED:
        assert app.lambda_handler(body, context)["statusCode"] == 422
    logged = debug_logs()
    assert logged.count('"message":"invalid request"') == len(REFUSED)  # each refusal was logged
    assert SECRET not in logged
