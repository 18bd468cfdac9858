"""A Lambda handler that answers after `?sleep=S` seconds, to run the front's and the emulator's timeouts
for real (the sentiment handler answers too fast to reach them)."""

from __future__ import annotations

import time
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep", 0)))
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": '{"slept": true}'}
