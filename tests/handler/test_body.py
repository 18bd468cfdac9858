"""The body policy (handler/body.py) through lambda_handler, and the Powertools release its private hooks
were read against.

These requests go red if the hooks stop working: were `_request_validation_middleware` renamed, Powertools
would put its own middleware in place, which refuses `APPLICATION/JSON` and parses form bodies into lists;
were `_get_body` no longer called, the same; were `_parse_json_data` gone, a 500.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys

import pytest

from handler import body as body_policy
from handler.settings import get_settings
from tests.handler.conftest import answer

REVIEW = "Great blender, crushes ice in seconds."


def test_powertools_is_the_release_the_private_hooks_were_read_against():
    installed = importlib.metadata.version("aws-lambda-powertools")
    assert installed == body_policy.POWERTOOLS_CHECKED, (
        f"Powertools {installed} is installed; handler/body.py was checked against "
        f"{body_policy.POWERTOOLS_CHECKED}. Re-read in the new release the private API the handler uses: "
        "in handler/body.py the resolver's _request_validation_middleware slot (event_handler/"
        "api_gateway.py) and OpenAPIRequestValidationMiddleware._get_body and _parse_json_data "
        "(event_handler/middlewares/openapi_validation.py); in handler/docs.py the resolver's "
        "_get_base_path; in handler/error_mapping.py its _static_routes and _dynamic_routes. Run "
        "tests/handler, then set POWERTOOLS_CHECKED."
    )


@pytest.mark.parametrize(
    "content_type", ["APPLICATION/JSON", "Application/Json ; charset=UTF-8", "application/json;charset=utf-8"]
)
def test_json_media_type_ignores_case_and_parameters(app, make_event, context, content_type):
    event = make_event("POST", "/predict", json.dumps({"text": REVIEW}))
    event["headers"]["Content-Type"] = content_type
    status, _, body = answer(app, event, context)
    assert status == 200
    assert len(body["predictions"]) == 1


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", json.dumps({"text": REVIEW})),
        ("application/x-www-form-urlencoded", "text=good"),  # what `curl -d` sends
        (
            "multipart/form-data; boundary=x",
            '--x\r\nContent-Disposition: form-data; name="text"\r\n\r\ngood\r\n--x--',
        ),
    ],
)
def test_unsupported_content_type_is_415(app, make_event, context, content_type, body):
    event = make_event("POST", "/predict", body)
    event["headers"]["Content-Type"] = content_type
    status, _, error = answer(app, event, context)
    assert status == 415
    assert error["message"] == f"unsupported Content-Type {content_type!r}; send application/json"


@pytest.mark.parametrize(
    "raw", ["{not json", "", "\x00\x01", b"\xff\xfe binary", "[" * 100_000 + "]" * 100_000]
)
def test_non_json_or_missing_body_is_422(app, make_event, context, raw):
    status, _, error = answer(app, make_event("POST", "/predict", raw or None), context)
    assert status == 422
    assert error["message"].startswith(("the request body is not", "the request body is missing"))


def test_unreadable_json_says_why(app, make_event, context):
    digits = sys.get_int_max_str_digits()  # 4300 unless PYTHONINTMAXSTRDIGITS says otherwise
    body = '{"text": "a", "all_scores": ' + "1" * (digits + 1) + "}"  # valid JSON, past what int() converts
    status, _, error = answer(app, make_event("POST", "/predict", body), context)
    assert status == 422
    assert error["message"] == f"the request body is not valid JSON: a number has over {digits} digits"


def test_body_over_the_size_limit_is_413(app, make_event, context):
    limit = get_settings().max_body_bytes
    body = json.dumps({"text": "x" * limit})
    status, _, error = answer(app, make_event("POST", "/predict", body), context)
    assert status == 413
    assert f"the limit is {limit} bytes" in error["message"]
