"""Run an image with its Runtime Interface Emulator on a free loopback port, and stop it cleanly.

With buildah (chroot isolation shares the host's network) the emulator is started explicitly on free
loopback ports, wrapping the image's own entrypoint and CMD: the entrypoint then sees AWS_LAMBDA_RUNTIME_API
and runs the runtime client, as inside Lambda. With Docker (or podman, finch) the image runs as it is, its
port 8080 published on a free loopback port. Either way the function gets the environment the CDK stack sets.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from image.tools import BUILDAH, ImageError, buildah_image_id, pick_engine, run
from local.emulator import INVOKE_PATH, EmulatorError, free_port, handler_env, wait_listening

log = logging.getLogger(__name__)

RIE = "/usr/local/bin/aws-lambda-rie"  # where the AWS base images (and the stand-in) keep the emulator
MODEL_DIR = Path("/var/task/model")  # the Dockerfile's MODEL_DIR
START_TIMEOUT_S = 60.0


def function_env() -> list[str]:
    """KEY=VALUE pairs of the function's environment (Powertools settings; the image's own MODEL_DIR)."""
    return [f"{key}={value}" for key, value in handler_env(MODEL_DIR).items()]


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the whole process group (buildah, chroot helper, emulator, runtime), SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
            return


@contextlib.contextmanager
def buildah_running(tag: str) -> Iterator[str]:
    """Run `tag` with buildah; yield the emulator's invoke URL.

    Raises:
        ImageError: there is no such image, or its emulator exited or never listened.
    """
    if buildah_image_id(tag) is None:
        raise ImageError(f"there is no image {tag}: run `make image` first")
    config = json.loads(run([*BUILDAH, "inspect", "--type", "image", tag], capture=True))["OCIv1"]["config"]
    command = [*config.get("Entrypoint", []), *config.get("Cmd", [])]
    port = free_port()
    emulator = [RIE, "--runtime-interface-emulator-address", f"127.0.0.1:{port}"]
    emulator += ["--runtime-api-address", f"127.0.0.1:{free_port()}"]
    env = [flag for pair in function_env() for flag in ("--env", pair)]
    container = run([*BUILDAH, "from", "--pull-never", "--quiet", tag], capture=True).strip()
    try:
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(
                [*BUILDAH, "run", "--isolation", "chroot", *env, container, "--", *emulator, *command],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # one process group, so stop() reaches the emulator inside
            )
            try:
                wait_listening(port, process, START_TIMEOUT_S)
                yield f"http://127.0.0.1:{port}{INVOKE_PATH}"
            except EmulatorError as exc:
                output.seek(0)
                raise ImageError(f"{exc}: {output.read()[-600:].decode(errors='replace')}") from exc
            finally:
                stop(process)
    finally:
        run([*BUILDAH, "rm", container], capture=True)


@contextlib.contextmanager
def docker_running(tag: str, engine: str = "docker") -> Iterator[str]:
    """Run `tag` with Docker or a CLI that speaks its `run` (its own entrypoint and emulator); yield the
    invoke URL."""
    port, name = free_port(), f"image-test-{os.getpid()}"
    env = [flag for pair in function_env() for flag in ("--env", pair)]
    publish = ["--publish", f"127.0.0.1:{port}:8080"]
    process = subprocess.Popen([engine, "run", "--rm", "--name", name, *env, *publish, tag])
    try:
        wait_listening(port, process, START_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}{INVOKE_PATH}"
    except EmulatorError as exc:
        raise ImageError(str(exc)) from exc
    finally:
        subprocess.run([engine, "stop", name], capture_output=True, check=False)
        process.wait()


def running(tag: str, engine: str | None = None) -> contextlib.AbstractContextManager[str]:
    """Run `tag` with `engine` (a Docker-compatible CLI or "buildah"; by default `pick_engine()`)."""
    engine = engine or pick_engine()
    return buildah_running(tag) if engine == "buildah" else docker_running(tag, engine)
