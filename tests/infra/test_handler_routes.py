"""Every route the stack exposes is answered by the handler configured as the stack configures it.

The handler runs in its own process (so its Powertools singletons start from the stack's environment,
not from other tests'), on the tiny artifact built by the real export pipeline (tests/conftest.py); each
event is the SAM-generated REST v1 event with the method and path of one API Gateway method.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra_synth import Synthesized, only, resources

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT = REPO_ROOT / "tests" / "events" / "rest_v1_post_predict.json"
INVOKE = """
import json, sys
from types import SimpleNamespace
import handler.app
context = SimpleNamespace(function_name="f", memory_limit_in_mb=2048, aws_request_id="r",
                          invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:f")
events = json.loads(open(sys.argv[1]).read())
statuses = [handler.app.lambda_handler(event, context)["statusCode"] for event in events]
open(sys.argv[2], "w").write(json.dumps(statuses))
"""


def route_events(synth: Synthesized) -> list[dict[str, Any]]:
    """One REST v1 event per API method (CORS preflights are answered by API Gateway itself)."""
    template, base = synth.template_json["Resources"], json.loads(EVENT.read_text())
    events = []
    for props in (m["Properties"] for m in resources(synth, "AWS::ApiGateway::Method").values()):
        method, path = (
            props["HttpMethod"],
            "/" + template[props["ResourceId"]["Ref"]]["Properties"]["PathPart"],
        )
        event = copy.deepcopy(base)
        event.update(httpMethod=method, path=path, resource=path, body=None, isBase64Encoded=False)
        event["requestContext"].update(httpMethod=method, path=f"/v1{path}", resourcePath=path)
        if method == "POST":
            event.update(body=base64.b64encode(b'{"text": "Works great."}').decode(), isBase64Encoded=True)
        events.append(event)
    return events


def test_the_handler_answers_every_api_route(
    default_stack: Synthesized, tiny_artifact: Path, tmp_path: Path
) -> None:
    events = route_events(default_stack)
    assert len(events) == 5
    stack_env = only(default_stack, "AWS::Lambda::Function")["Environment"]["Variables"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "SENTIMENT_"))}
    env |= stack_env | {"MODEL_DIR": str(tiny_artifact), "POWERTOOLS_TRACE_DISABLED": "true"}
    (tmp_path / "events.json").write_text(json.dumps(events))
    done = subprocess.run(
        [sys.executable, "-c", INVOKE, str(tmp_path / "events.json"), str(tmp_path / "statuses.json")],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    statuses = json.loads((tmp_path / "statuses.json").read_text())
    routes = [(e["httpMethod"], e["path"]) for e in events]
    assert dict(zip(routes, statuses, strict=True)) == dict.fromkeys(routes, 200)
