"""`python -m bench.probe MODE MODEL_DIR [EVENTS_JSON]`: one fresh interpreter's measurements, as JSON.

Run by bench/speed.py in a new process each time (pinned by the caller), because a cold start can only be
measured in a process that has imported nothing yet: this module imports only the standard library before
it starts timing.

Modes:
    bare: import numpy, onnxruntime and tokenizers, nothing else (the floor of any init).
    required: what any handler of this artifact must do under the project's rules, and nothing of ours: the
        bare imports, pydantic, pydantic-settings and Powertools' event handler, logger and metrics, then the
        model's tokenizer, ORT session and n-gram tables (init's floor: `init` minus it is our own code).
    (bare, required, init and peer also report `ready_cpu_ms`, the CPU time to ready.)
    init: the handler's init stage by stage, then its first request (EVENTS_JSON's "short").
    peer: the transformers pipeline peer's init and first request (MODEL_DIR is its checkpoint).
    warm: per-stage warm times of every request in EVENTS_JSON (the handler in process and its parts).
    explain: the handler's warm times of the explained requests in EVENTS_JSON (bench/explanations.py):
        the plain and the explained 25-word review in the same rounds, the rest after; a `worst_` request
        once, as the warm mode times the worst request.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

START = time.perf_counter()
# CPU time beside the wall time: on a shared, loaded host (other tenants' work on the pinned core) the wall
# stages stretch by the wait, the CPU a process spent does not, so before/after comparisons read it.
CPU_START = time.process_time()
CONTEXT = SimpleNamespace(
    function_name="bench",
    memory_limit_in_mb=1769,
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench",
    aws_request_id="bench",
    get_remaining_time_in_millis=lambda: 900_000,
)


def texts_of(event: dict) -> list[str]:
    """The texts of a `POST /predict` event (one `text` or `texts`)."""
    body = json.loads(event["body"])
    return body["texts"] if "texts" in body else [body["text"]]


def _lap(stages: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    stages[name] = (now - since) * 1000
    return now


def _cpu_ms() -> float:
    """CPU time this process spent since the probe started (interpreter start-up excluded, as in START)."""
    return (time.process_time() - CPU_START) * 1000


def bare() -> dict[str, float]:
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    return {"ready_ms": (time.perf_counter() - START) * 1000, "ready_cpu_ms": _cpu_ms()}


def required(model_dir: Path) -> dict[str, float]:
    import aws_lambda_powertools.event_handler
    import aws_lambda_powertools.logging
    import aws_lambda_powertools.metrics  # noqa: F401
    import numpy
    import pydantic  # noqa: F401
    import pydantic_settings  # noqa: F401
    from tokenizers import Tokenizer

    from handler.sessions import onnx_session  # onnxruntime and the handler's session options only

    Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    onnx_session(model_dir / "model.onnx", threads=1)
    tables = model_dir / "ngrams.npz"
    if tables.is_file():
        with numpy.load(tables, allow_pickle=False) as stored:
            for name in stored.files:  # np.load reads an array when it is indexed
                stored[name]
    return {"ready_ms": (time.perf_counter() - START) * 1000, "ready_cpu_ms": _cpu_ms()}


def init(events: dict) -> dict[str, float]:
    """Each stage of what Lambda's init runs, in the order handler.app runs it, then one request."""
    stages: dict[str, float] = {}
    at = START
    # handler/app.py pauses the cyclic collector before its first import and resumes it at the end of its
    # init; these stages import its parts before it, so the pause starts here, where it would start there.
    gc.disable()
    import handler.inference

    at = _lap(stages, "libraries_ms", at)
    import handler.routes  # Powertools' router, pydantic, the request and response models
    import handler.service

    at = _lap(stages, "powertools_models_ms", at)
    handler.service.get_classifier()
    at = _lap(stages, "model_load_ms", at)
    import handler.app  # the resolvers and their validation (the model is loaded: cached; docs: lazy)

    at = _lap(stages, "resolvers_ms", at)
    stages["ready_cpu_ms"] = _cpu_ms()
    answered(handler.app.lambda_handler, events["short"])
    _lap(stages, "first_request_ms", at)
    stages["ready_ms"] = (time.perf_counter() - START) * 1000 - stages["first_request_ms"]
    return stages


def answered(lambda_handler: Callable[[dict, Any], dict], event: dict) -> None:
    """Send one event to the handler (imported by the caller: no import inside the timed call); a refusal
    (a 413 over the window budget, say) is no measurement."""
    answer = lambda_handler(event, CONTEXT)
    if answer.get("statusCode") != 200:
        raise SystemExit(f"the handler answered {str(answer)[:200]}")


def peer(events: dict) -> dict[str, float]:
    from bench import peer as pipeline

    stages: dict[str, float] = {}
    classifier = pipeline.load_classifier(sys.argv[2])
    at = _lap(stages, "ready_ms", START)
    stages["ready_cpu_ms"] = _cpu_ms()
    pipeline.classify(classifier, texts_of(events["short"]))
    _lap(stages, "first_request_ms", at)
    return stages


def warm(events: dict) -> dict[str, dict]:
    """Per request: tokenize, transformer, n-grams, floor (all of them) and the handler, warm."""
    import handler.app
    from bench.floor import Floor
    from bench.timing import measure_together

    served = handler.app.get_classifier()
    repeat = int(events.pop("repeat"))
    measured = {}
    for shape, event in events.items():
        texts = texts_of(event)
        windows = served.encode(texts)
        calls = {
            "tokenize": partial(served.encode, texts),
            "transformer": partial(served.logits, windows),
            "ngrams": partial(served.ngrams.logits, windows.ngram_feeds) if served.ngrams else None,
            "floor": partial(Floor(served).probabilities, texts),
            "handler": partial(answered, handler.app.lambda_handler, event),
        }
        if shape == "worst":  # seconds a run at one core, and nothing left to warm up: one run each
            calls.pop("floor")  # tokenize + transformer + n-grams, already timed one by one
            warmup, times = 0, 1
        else:
            warmup, times = 1, repeat if len(texts) == 1 else 3
        # in the same rounds: the floor / handler ratio is not moved by load changing between series
        timed = {name: call for name, call in calls.items() if call is not None}
        series = measure_together(timed, len(texts), warmup, times)
        measured[shape] = {
            "texts": len(texts),
            "windows": int(windows.counts.sum()),
            **{name: one.summary() for name, one in series.items()},
        }
    return measured


def explain(events: dict) -> dict[str, dict]:
    """Warm handler times of each event; `plain_25` and `explained_25` in the same rounds (their ratio)."""
    import handler.app
    from bench.timing import measure_together

    repeat = int(events.pop("repeat"))
    calls = {name: partial(answered, handler.app.lambda_handler, event) for name, event in events.items()}
    paired = {name: calls.pop(name) for name in ("plain_25", "explained_25") if name in calls}
    series = measure_together(paired, 1, 1, repeat)
    for name, call in calls.items():
        once = name.startswith("worst_")  # seconds a run at one core, and nothing left to warm up
        series |= measure_together(
            {name: call}, len(texts_of(events[name])), 0 if once else 1, 1 if once else repeat
        )
    return {name: one.summary() for name, one in series.items()}


if __name__ == "__main__":
    mode, events = sys.argv[1], {}
    if len(sys.argv) > 3:
        events = json.loads(Path(sys.argv[3]).read_text(encoding="utf-8"))
    if mode == "bare":
        result = bare()
    elif mode == "required":
        result = required(Path(sys.argv[2]))
    else:
        result = {"init": init, "peer": peer, "warm": warm, "explain": explain}[mode](events)
    print(json.dumps(result))
