"""Run a Python Lambda handler under the real AWS Lambda Runtime Interface Emulator (RIE) + awslambdaric.

The RIE binary ships inside the aws-sam-cli wheel; we download that wheel with pip (no install: SAM would
downgrade boto3/pydantic in the venv) and extract only the binary for this machine's architecture.
Shared by `make serve`, the image tests and the benchmarks.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra.settings import Settings

SAM_CLI_VERSION = "1.170.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = REPO_ROOT / "build" / "cache"
STARTS = 3  # tries to start the emulator on free ports that another process may take first
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
HANDLER = "handler.app.lambda_handler"
_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def handler_env(model_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for this project's handler outside AWS: what the CDK stack sets, tracing off (no X-Ray
    daemon here), the model directory, and the stack's function timeout for the emulator (RIE's own
    default is 300 s), so a request times out locally where it would on AWS."""
    # The defaults, unvalidated: validation prices build/model for a deploy, which running locally is not.
    stack = Settings.model_construct()
    return {
        "MODEL_DIR": str(Path(model_dir).resolve()),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(stack.timeout_s),
        "POWERTOOLS_SERVICE_NAME": stack.service_name,
        "POWERTOOLS_METRICS_NAMESPACE": stack.metrics_namespace,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "TOKENIZERS_PARALLELISM": "false",
        **extra,
    }


class EmulatorError(RuntimeError):
    """The emulator could not be fetched or did not start answering in time."""


def rie_arch(machine: str | None = None) -> str:
    """RIE's name for an architecture (`uname -m` style input; default: this machine)."""
    machine = machine or platform.machine()
    try:
        return _ARCHES[machine.lower()]
    except KeyError as exc:
        raise EmulatorError(f"no Lambda RIE build for the architecture {machine!r}") from exc


def ensure_rie(cache_dir: Path = CACHE_DIR, arch: str | None = None) -> Path:
    """Return the path of an executable aws-lambda-rie, downloading the SAM CLI wheel once if needed.

    Args:
        cache_dir: where the wheel and the extracted binary are kept (build/cache by default).
        arch: "x86_64" or "arm64"; default: this machine's.

    Raises:
        EmulatorError: pip could not download the wheel, or the wheel lacks the binary.
    """
    name = f"aws-lambda-rie-{arch or rie_arch()}"
    binary = cache_dir / name
    if binary.is_file() and os.access(binary, os.X_OK):
        return binary
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / f"aws_sam_cli-{SAM_CLI_VERSION}-py3-none-any.whl"
    if not wheel.is_file():
        spec = f"aws-sam-cli=={SAM_CLI_VERSION}"
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", spec, "-d", str(cache_dir)]
        if subprocess.run(cmd, check=False).returncode or not wheel.is_file():
            raise EmulatorError(f"could not download {spec} with pip into {cache_dir}")
    with zipfile.ZipFile(wheel) as archive:
        try:
            data = archive.read(f"samcli/local/rapid/{name}")
        except KeyError as exc:
            raise EmulatorError(f"{wheel.name} has no samcli/local/rapid/{name}") from exc
    # Write beside the target and rename, so a concurrent caller never runs a half-written binary.
    with tempfile.NamedTemporaryFile(dir=cache_dir, delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o755)
    os.replace(tmp.name, binary)
    return binary


def free_port(port: int = 0) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (port 0: any such port).

    Raises:
        EmulatorError: the requested port is taken, e.g. by another `make serve`.
    """
    with socket.socket() as sock:
        # SO_REUSEADDR, as the emulator's own listener (Go) and the front bind: a port left in TIME-WAIT by
        # the previous `make serve` binds, one that something still listens on does not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EmulatorError(f"127.0.0.1:{port} is already in use (another make serve?)") from exc
        return sock.getsockname()[1]


@dataclass(frozen=True)
class RunningFunction:
    """A started emulator: where to send invocations, and its process (for RSS or logs)."""

    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        """The RIE invoke URL, the same path boto3's Lambda `invoke` posts to."""
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    @property
    def endpoint(self) -> str:
        """Base URL to give boto3 as `endpoint_url`."""
        return f"http://127.0.0.1:{self.port}"

    def invoke(self, event: Any, timeout: float = 60.0) -> Any:
        """POST one event and return the decoded JSON answer (the function's return value)."""
        return invoke(self.url, event, timeout)


def invoke(url: str, event: Any, timeout: float = 60.0) -> Any:
    """POST an event to an emulator invoke URL and return the decoded JSON answer."""
    request = urllib.request.Request(url, data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def wait_listening(port: int, process: subprocess.Popen, timeout: float) -> None:
    """Block until `port` accepts connections; fail fast if `process` (the emulator) exits first.

    Raises:
        EmulatorError: the process exited, or nothing listened within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"the emulator exited with status {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise EmulatorError(f"the emulator did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


@contextmanager
def running_function(
    handler: str,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    python: str = sys.executable,
    cwd: Path = REPO_ROOT,
    stdout: IO[Any] | int | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[RunningFunction]:
    """Start RIE + `python -m awslambdaric HANDLER` on 127.0.0.1 and stop both on exit.

    Returns as soon as the emulator accepts connections. RIE starts the runtime on the first invoke,
    so that invoke is the cold start (what the benchmark measures).

    Args:
        handler: dotted handler, e.g. "handler.app.lambda_handler", importable from cwd.
        env: extra environment for the function (MODEL_DIR, POWERTOOLS_*...), on top of os.environ.
        port: RIE port; default: a free one.
        python: interpreter that runs awslambdaric (the project's venv by default).
        cwd: the task root the handler is imported from.
        stdout: where the emulator and function logs go (default: inherited).
        startup_timeout: seconds to wait for the port to accept connections.

    Raises:
        EmulatorError: the binary is unavailable, or the emulator exited or never listened.
    """
    environment = {**os.environ, "LAMBDA_TASK_ROOT": str(cwd), **(env or {})}
    starts = 1 if port else STARTS
    for start in range(1, starts + 1):
        # Checked first: otherwise another server on that port would answer the readiness probe.
        chosen = free_port(port or 0)
        # RIE's internal Runtime API defaults to a fixed port (9001); pick a free one so emulators coexist.
        command = [str(ensure_rie()), "--runtime-interface-emulator-address", f"127.0.0.1:{chosen}"]
        command += ["--runtime-api-address", f"127.0.0.1:{free_port()}"]
        command += [python, "-m", "awslambdaric", handler]
        process = subprocess.Popen(
            command, cwd=cwd, env=environment, stdout=stdout, stderr=subprocess.STDOUT if stdout else None
        )
        try:
            wait_listening(chosen, process, startup_timeout)
            break
        except EmulatorError:
            exited = process.poll() is not None
            stop(process)
            # A port free when picked can be taken before RIE binds it (the emulator then exits): pick again.
            if not exited or start == starts:
                raise
    try:
        yield RunningFunction(port=chosen, process=process)
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
