"""`python -m local serve|demo|explain --model DIR`: the handler under the real Lambda emulator + the local
API, or one text's explained answer in the terminal."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from handler.artifact import read_manifest
from handler.errors import ArtifactError
from handler.settings import BUILT_MODEL_DIR
from local.emulator import HANDLER, EmulatorError, handler_env, running_function
from local.front import serving_front

DEMO_REVIEWS = [
    "Arrived quickly and works exactly as described. The battery lasts all week. Great value!",
    "Stopped working after two days and support never answered my emails. Do not buy.",
    "The color is nice but the fabric feels cheap and it shrank after the first wash.",
    "I was skeptical, but this little blender crushes ice like a champ and is easy to clean.",
]
LONG_REVIEW = " ".join(
    [
        "I bought this espresso machine after months of research and want to write a fair, detailed review.",
        "Setup took ten minutes; the manual is clear and the water tank is easy to reach and refill.",
        "The first shots were sour, but after adjusting the grind and the dose they became rich and sweet.",
        "The steam wand is strong enough for latte art, although it takes a while to heat up between drinks.",
    ]
    * 6
    + ["After three months of daily use it still works perfectly, and I would happily buy it again."]
)


class LocalError(Exception):
    """A one-line reason the command cannot run (bad model directory, emulator failure)."""


def _check_model(model: Path) -> Path:
    try:
        read_manifest(model)
    except ArtifactError as exc:
        raise LocalError(str(exc)) from None
    return model


@contextmanager
def local_api(model: Path, rie_port: int, api_port: int, log: IO[Any] | None = None) -> Iterator[str]:
    """Emulator + front for the model; yields the front's base URL."""
    env = handler_env(_check_model(model))
    with (
        running_function(HANDLER, env=env, port=rie_port, stdout=log) as function,
        serving_front(function.url, api_port) as base_url,
    ):
        yield base_url


def _post(url: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def serve(model: Path, rie_port: int, api_port: int) -> None:
    """Run until Ctrl-C, with the function's logs on this terminal."""
    with local_api(model, rie_port, api_port) as base_url:
        sys.stderr.write(
            f"emulator: http://127.0.0.1:{rie_port}/2015-03-31/functions/function/invocations\n"
            f"local API: {base_url}  (POST /predict, GET /health /model /openapi.json /swagger)\n"
            f"try: curl -s {base_url}/predict -H 'content-type: application/json' "
            """-d '{"text": "Great blender, crushes ice in seconds."}'\nCtrl-C stops.\n"""
        )
        # SIGTERM (e.g. from a process manager) unwinds like Ctrl-C, so the emulator is stopped too.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.stderr.write("stopped\n")


def demo(model: Path) -> None:
    """Serve on free ports, send sample reviews through the local API, print the answers, stop."""
    with (
        tempfile.NamedTemporaryFile("w", prefix="demo-emulator-", suffix=".log", delete=False) as log,
        local_api(model, 0, 0, log=log) as base_url,
    ):
        status, single = _post(f"{base_url}/predict", {"texts": DEMO_REVIEWS})
        status_long, long = _post(f"{base_url}/predict", {"text": LONG_REVIEW, "all_scores": True})
        status_bad, bad = _post(f"{base_url}/predict", {"text": "   "})
    if status != 200 or status_long != 200:
        raise LocalError(f"the local API answered {status}/{status_long}; emulator log: {log.name}")
    print(f"model: {single['model']}   (emulator log: {log.name})\n")
    texts, predictions = [*DEMO_REVIEWS, LONG_REVIEW], [*single["predictions"], *long["predictions"]]
    for text, answer in zip(texts, predictions, strict=True):
        excerpt = text if len(text) <= 70 else f"{text[:67]}..."
        print(f"{answer['label']:>9} {answer['score']:.3f}  windows={answer['windows']}  {excerpt}")
    scores = long["predictions"][0]["scores"]
    print(f"\nlong review: {len(LONG_REVIEW)} characters, every label's score: {scores}")
    print(f"empty text -> HTTP {status_bad}: {bad.get('message')}")


def explain(model: Path, text: str) -> None:
    """Print the explained answer (local/explain.py); a blank text is refused as the API refuses it."""
    from local import explain as explained  # the model is loaded by this command only

    if not text.strip():
        raise LocalError('the text is blank: make explain TEXT="a review"')
    prediction, model_id = explained.explain(_check_model(model), text)
    print(explained.report(text, prediction, model_id, explained.colour_wanted(sys.stdout)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="emulator on :9000 and the local API on :3000 until Ctrl-C")
    demo_cmd = commands.add_parser("demo", help="serve, answer a few sample reviews, stop")
    explain_cmd = commands.add_parser(
        "explain",
        help="one text's answer, its words coloured by weight (make explain TEXT=...)",
        description="Score a text with the model and print it with each word coloured by its weight "
        "towards the answer (plain without a terminal or with NO_COLOR), then the words that weigh most.",
    )
    explain_cmd.add_argument("text", help="the text to explain (TEXT=)")
    for command in (serve_cmd, demo_cmd, explain_cmd):
        command.add_argument("--model", type=Path, default=BUILT_MODEL_DIR, help="artifact directory")
    serve_cmd.add_argument("--rie-port", type=int, default=9000, help="emulator port on 127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=3000, help="local API port on 127.0.0.1")
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            serve(args.model, args.rie_port, args.port)
        elif args.command == "explain":
            explain(args.model, args.text)
        else:
            demo(args.model)
    except (LocalError, EmulatorError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
