"""POST /predict's OpenAPI examples are the served model's (handler/docs.py): artifacts of several label
layouts (the tiny binary build; stand-ins of a 3-class, a 5-star and a 28-label multi-label Hub model,
exported as they are), each served by the real Lambda emulator behind the local API front, as `make serve`
does. Their examples are the answers POST /predict sends for the example requests, with the model's labels
only, and the Swagger page shows them in a real headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3

from handler.docs import REVIEWS, example_requests
from local.emulator import HANDLER, handler_env, running_function
from local.front import serving_front
from tests.export import standins

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
http = urllib3.PoolManager(retries=False, timeout=120)
LAYOUTS = ("tiny", "roberta-3", "bert-5-stars", "roberta-28-multi")
# Swagger's deep link to POST /predict (tag "default", Powertools' operation id): it opens expanded.
PREDICT_LINK = "#/default/post_predict_predict_post"


@dataclass(frozen=True)
class Served:
    """A model behind the local API: its base URL, its manifest's labels and threshold (multi-label)."""

    url: str
    labels: list[str]
    threshold: float | None


@pytest.fixture(scope="module", params=LAYOUTS)
def served(request, tmp_path_factory, make_tiny_config) -> Iterator[Served]:
    if request.param == "tiny":
        artifact = request.getfixturevalue("tiny_artifact")
    else:
        spec = next(spec for spec in standins.STAND_INS if spec.name == request.param)
        config, _ = standins.export_as_is(spec, tmp_path_factory.mktemp(spec.name), make_tiny_config)
        artifact = config.output
    manifest = json.loads((artifact / "manifest.json").read_text())
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with (
        log.open("w") as stream,
        running_function(HANDLER, env=handler_env(artifact), stdout=stream) as function,
        serving_front(function.url) as url,
    ):
        yield Served(url, manifest["labels"], manifest.get("threshold"))


def get_json(url: str) -> Any:
    response = http.request("GET", url)
    assert response.status == 200, response.data
    return json.loads(response.data)


def predict_media(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """POST /predict's JSON request body and 200 response in the served /openapi.json."""
    operation = get_json(f"{url}/openapi.json")["paths"]["/predict"]["post"]
    return operation["requestBody"]["content"]["application/json"], operation["responses"]["200"]["content"][
        "application/json"
    ]


def test_the_examples_are_what_predict_answers(served: Served) -> None:
    body, answer = predict_media(served.url)
    requests = example_requests()  # this process has the served deployment's limits: the defaults
    assert list(body["examples"]) == list(answer["examples"]) == list(requests)
    for name, (summary, request) in requests.items():
        assert body["examples"][name] == {"summary": summary, "value": request}
        response = http.request("POST", f"{served.url}/predict", json=request)
        assert response.status == 200, response.data
        assert answer["examples"][name] == {"summary": summary, "value": json.loads(response.data)}


def test_the_examples_show_the_model_labels(served: Served) -> None:
    _, answer = predict_media(served.url)
    batch = answer["examples"]["batch_all_scores"]["value"]["predictions"]
    assert [list(prediction["scores"]) for prediction in batch] == [served.labels] * len(batch)
    for prediction in batch:
        if served.threshold is None:
            assert "labels" not in prediction
        else:  # the multi-label shape: every label at or over the threshold, most probable first
            scores = prediction["scores"]
            over = [
                name for name in sorted(scores, key=lambda n: -scores[n]) if scores[name] >= served.threshold
            ]
            assert prediction["labels"] == over
    for example in answer["examples"].values():
        for prediction in example["value"]["predictions"]:
            assert prediction["label"] in served.labels
            assert ("labels" in prediction) is (served.threshold is not None)


def test_the_examples_keep_to_the_deployments_limits(tiny_artifact: Path, tmp_path: Path) -> None:
    """With one text a request and 20 characters a text, the examples are cut to fit: every example is a
    request the deployment answers, and the answer shown is its answer."""
    env = handler_env(tiny_artifact, SENTIMENT_MAX_TEXTS="1", SENTIMENT_MAX_TEXT_CHARS="20")
    with (
        (tmp_path / "emulator.log").open("w") as log,
        running_function(HANDLER, env=env, stdout=log) as function,
        serving_front(function.url) as url,
    ):
        body, answer = predict_media(url)
        assert [example["value"] for example in body["examples"].values()] == [
            {"texts": [REVIEWS[0][:20]], "all_scores": True, "explain": True},
            {"text": REVIEWS[0][:20]},
        ]
        for name, example in body["examples"].items():
            response = http.request("POST", f"{url}/predict", json=example["value"])
            assert (response.status, json.loads(response.data)) == (200, answer["examples"][name]["value"])


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless Chromium, installed with apt when missing and this is root (CI starts bare)."""
    found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("no Chromium: apt-get install chromium-headless-shell")
    for command in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium-headless-shell"],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=600)
    return shutil.which("chromium-headless-shell") or pytest.fail("apt installed no chromium-headless-shell")


def rendered_text(chromium: str, url: str, profile: Path) -> str:
    """The page's text once its scripts ran: Chromium's DOM, tags dropped."""
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}"]
    command += ["--virtual-time-budget=20000", "--dump-dom", url]
    dom = subprocess.run(command, check=True, capture_output=True, text=True, timeout=180).stdout
    page = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.DOTALL)  # Swagger UI's own code, inlined
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.slow
def test_the_swagger_page_shows_them_in_chromium(served: Served, chromium: str, tmp_path: Path) -> None:
    text = rendered_text(chromium, f"{served.url}/swagger{PREDICT_LINK}", tmp_path / "profile")
    assert "Resolver error" not in text
    request_at, response_at = text.index("Request body"), text.index("Responses")
    # The first example, the batch, is the one shown: both reviews, then every label's probability.
    assert all(review in text[request_at:response_at] for review in REVIEWS)
    shown = text[response_at:]
    assert all(f'"{label}": ' in shown for label in served.labels)
    assert ('"labels": [' in shown) is (served.threshold is not None)
    if "POSITIVE" not in served.labels:
        assert "POSITIVE" not in text  # nothing written for a binary model
