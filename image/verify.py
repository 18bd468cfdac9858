"""`make image-test`: run the built image under its Runtime Interface Emulator and check its answers.

The image answers a REST v1 event, an HTTP API v2 event and a direct invoke like the deployed function
would, and a bad request gets a 4xx. The events are the handler tests' fixtures (tests/events), with the
body replaced, so the image is checked against the same shapes as the handler.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from handler.artifact import read_manifest
from handler.errors import ArtifactError
from handler.manifest import Manifest
from image.container import running
from image.tools import REPO, ImageError
from local import emulator

log = logging.getLogger(__name__)

EVENTS = REPO / "tests/events"
REST_EVENT = EVENTS / "rest_v1_post_predict.json"
HTTP_EVENT = EVENTS / "http_v2_post_predict.json"
REVIEWS = ("Great sound, and the battery lasts all week.", "Broke after two days. Waste of money.")


def api_event(template: Path, body: dict[str, Any]) -> dict[str, Any]:
    """An API Gateway event from a fixture, carrying `body` as a plain JSON string."""
    event = json.loads(template.read_text())
    event["body"] = json.dumps(body)
    event["isBase64Encoded"] = False
    return event


def invoke(url: str, event: dict[str, Any]) -> dict[str, Any]:
    """Send one event to the emulator's invoke endpoint and return the function's JSON answer."""
    try:
        return emulator.invoke(url, event, timeout=120)
    except (OSError, ValueError) as exc:
        raise ImageError(f"the emulator did not answer {url}: {exc}") from exc


def check_predictions(body: dict[str, Any], manifest: Manifest, count: int) -> list[str]:
    """What is wrong with a /predict answer: prediction count, labels, scores and the model id."""
    problems = []
    expected_id = manifest.model_id
    predictions = body.get("predictions", [])
    if len(predictions) != count:
        problems.append(f"{count} predictions expected, got {len(predictions)}")
    for prediction in predictions:
        if prediction.get("label") not in manifest.labels:
            problems.append(f"label {prediction.get('label')!r} is not one of {manifest.labels}")
        if not 0.0 <= prediction.get("score", -1.0) <= 1.0:
            problems.append(f"score {prediction.get('score')!r} is not a probability")
    if body.get("model") != expected_id:
        problems.append(f"model {body.get('model')!r} is not {expected_id!r}")
    return problems


def check_http(name: str, answer: dict[str, Any], manifest: Manifest, count: int) -> list[str]:
    """Check an API Gateway answer: status 200 and a valid /predict body."""
    status = answer.get("statusCode")
    log.info("%s: %s %s", name, status, answer.get("body"))
    if status != 200:
        return [f"{name}: status {status}, body {answer.get('body')!r}"]
    body = json.loads(answer["body"])
    return [f"{name}: {problem}" for problem in check_predictions(body, manifest, count)]


def run_checks(url: str, manifest: Manifest) -> list[str]:
    """Send the four requests and return every problem found (empty when the image behaves)."""
    started = time.perf_counter()
    rest = invoke(url, api_event(REST_EVENT, {"text": REVIEWS[0]}))
    log.info("first answer (cold start) after %.2f s", time.perf_counter() - started)
    problems = check_http("REST v1", rest, manifest, 1)
    http = invoke(url, api_event(HTTP_EVENT, {"texts": list(REVIEWS)}))
    problems += check_http("HTTP v2", http, manifest, 2)
    direct = invoke(url, {"texts": list(REVIEWS)})
    log.info("direct invoke: %s", json.dumps(direct))
    problems += [f"direct invoke: {problem}" for problem in check_predictions(direct, manifest, 2)]
    bad = invoke(url, api_event(REST_EVENT, {"text": "   "}))
    log.info("blank text: %s %s", bad.get("statusCode"), bad.get("body"))
    if not 400 <= bad.get("statusCode", 0) < 500:
        problems.append(f"blank text: 4xx expected, got {bad.get('statusCode')} {bad.get('body')!r}")
    return problems


def verify_image(tag: str, model_dir: Path, engine: str | None = None) -> None:
    """Run `tag` and check its answers against the manifest of the model baked into it.

    Raises:
        ImageError: no model in `model_dir` (or a broken one), the image did not start, or any answer was
            wrong (all problems in one message).
    """
    try:
        manifest = read_manifest(model_dir)
    except ArtifactError as exc:
        raise ImageError(str(exc)) from None
    with running(tag, engine) as url:
        problems = run_checks(url, manifest)
    if problems:
        raise ImageError(f"{tag} answered wrongly: " + "; ".join(problems))
    log.info("%s answered REST v1, HTTP v2, direct invoke and a bad request correctly", tag)
