"""Run the pinned npm `aws-cdk` CLI (package.json), installing it with `npm ci` on first use."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_BIN = REPO_ROOT / "node_modules" / ".bin" / "cdk"


class CliError(Exception):
    """A step of `python -m infra` failed; the message is the one line the user sees."""


def ensure_cdk() -> Path:
    """Install the pinned CDK CLI into node_modules unless it is there already.

    Raises:
        CliError: npm is missing or `npm ci` failed.
    """
    if CDK_BIN.exists():
        return CDK_BIN
    npm = shutil.which("npm")
    if npm is None:
        raise CliError("npm not found: install Node.js 24 LTS (or 22; it brings npm) to run the AWS CDK CLI")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=REPO_ROOT, check=False
    )
    if done.returncode != 0 or not CDK_BIN.exists():
        raise CliError(f"`npm ci` could not install the AWS CDK CLI (exit {done.returncode})")
    return CDK_BIN


def run_cdk(
    command: str, args: Sequence[str], context: Sequence[str] = (), extra_env: Mapping[str, str] | None = None
) -> None:
    """Run `cdk <command> <args>` from the repository root with telemetry and notices off.

    Args:
        command: synth, deploy or destroy.
        args: the command's own arguments.
        context: `key=value` pairs passed on as `-c key=value`.
        extra_env: variables set for the CLI on top of the current environment.

    Raises:
        CliError: the CLI could not be installed or the command failed (its output is above).
    """
    cdk = ensure_cdk()
    context_args = [arg for pair in context for arg in ("-c", pair)]
    env = {**os.environ, "CDK_DISABLE_TELEMETRY": "true", **(extra_env or {})}
    cmd = [str(cdk), command, *args, *context_args, "--no-notices", "--no-version-reporting"]
    done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, check=False)
    if done.returncode != 0:
        raise CliError(f"`cdk {command}` failed (exit {done.returncode}); see its messages above")
