"""CDK entry point (cdk.json runs `python -m infra.app`): settings -> stack, with cdk-nag at synth.

This is the only module that reads CDK context or the environment (`read_settings`, which `python -m infra`
calls too, to check the settings before the CDK CLI starts); everything below it receives plain, validated
values. The CDK libraries are imported only to build the app: importing them starts jsii's Node.js process.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.settings import Settings, SettingsError
from infra.snapstart import snap_start_region_error

if TYPE_CHECKING:
    from aws_cdk import App, Environment

    from infra.stack import SentimentStack

REPO_ROOT = Path(__file__).resolve().parent.parent


def read_settings(context: Callable[[str], Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from CDK context (first), the SENTIMENT_* environment variables (second), then defaults.

    Args:
        context: looks a context key up, None when unset.
        environ: the environment; defaults to os.environ.

    Raises:
        SettingsError: a setting is invalid (one line naming it).
    """
    return Settings.from_sources(context, os.environ if environ is None else environ)


def build_app(
    *,
    context: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    outdir: str | None = None,
) -> tuple[App, SentimentStack]:
    """Build the app and its stack with the AwsSolutions checks registered (they run at synth).

    Args:
        context: extra CDK context (tests); the CLI passes `-c key=value` itself.
        environ: the environment to read settings from; defaults to os.environ.
        outdir: cloud assembly directory; defaults to what the CDK CLI asks for.

    Raises:
        SettingsError: a setting is invalid.
    """
    from aws_cdk import App, Validations
    from cdk_nag import AwsSolutionsChecks

    from infra.stack import SentimentStack

    environ = os.environ if environ is None else environ
    app = App(context=dict(context or {}), outdir=outdir)
    settings = read_settings(app.node.try_get_context, environ)
    env = _environment(environ)
    # The region is known only when the CLI found credentials (deploy); offline synths cannot tell.
    if settings.snap_start and env is not None and (problem := snap_start_region_error(str(env.region))):
        raise SettingsError(problem)
    stack = SentimentStack(app, settings.stack_name, settings=settings, image_directory=REPO_ROOT, env=env)
    # cdk-nag 3.x is a policy-validation plugin: an unacknowledged finding fails the synth, and
    # the acknowledgments with their reasons are copied into the template's metadata for audits.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, write_suppressions_to_cloud_formation=True))
    return app, stack


def _environment(environ: Mapping[str, str]) -> Environment | None:
    """Target account/region when the CDK CLI found credentials; env-agnostic (offline synth) otherwise."""
    from aws_cdk import Environment

    account, region = environ.get("CDK_DEFAULT_ACCOUNT"), environ.get("CDK_DEFAULT_REGION")
    return Environment(account=account, region=region) if account and region else None


def main() -> None:
    try:
        app, _ = build_app()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    app.synth()


if __name__ == "__main__":
    main()
