"""(c) The peer Lambda handler, run by awslambdaric under the emulator like the served one.

Written the way sample repos write it: the pipeline is built at import (Lambda's init phase), the
handler parses the API Gateway body and answers the predictions. It accepts the same REST v1 events
as ours (`{"text": ...}` or `{"texts": [...]}`), so both systems get identical requests.
"""

from __future__ import annotations

import json
import os

from bench.peer import classify, load_classifier

_classifier = load_classifier(os.environ.get("PEER_CHECKPOINT_DIR", "/var/task/checkpoint"))


def lambda_handler(event: dict, context: object) -> dict:
    """API Gateway proxy event in, proxy response out."""
    body = json.loads(event["body"])
    texts = body["texts"] if "texts" in body else [body["text"]]
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"predictions": classify(_classifier, texts)}),
    }
