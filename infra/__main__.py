"""`python -m infra synth|deploy|destroy`: the CDK CLI with settings checked and errors in one line.

synth works offline (no credentials: the stack is environment-agnostic). deploy first checks the
model, Docker, AWS credentials, the CDK bootstrap stack, API Gateway's logging role and Lambda's quotas
(infra/preflight.py), synthesizes, refuses an image tag ECR holds as an index (infra/image_manifest.py),
then deploys that assembly and says how to call the API and what image it pushed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from handler.settings import BUILD_DIR, BUILT_MODEL_DIR
from infra.app import read_settings
from infra.cdk_cli import REPO_ROOT, CliError, run_cdk
from infra.image_manifest import (
    NO_ATTESTATIONS_ENV,
    PushedImage,
    check_pushed_images,
    describe_pushed,
    image_assets,
)
from infra.preflight import PreflightError, Target, check_aws, check_deploy, open_session
from infra.settings import Settings, SettingsError, check_context_keys
from infra.teardown import KEPT, survey

OUTPUTS_FILE = REPO_ROOT / BUILD_DIR / "cdk-outputs.json"
MODEL_DIR = REPO_ROOT / BUILT_MODEL_DIR


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"synth": _synth, "deploy": _deploy, "destroy": _destroy}
    try:
        commands[args.command](_settings(args.context), args)
    except (SettingsError, CliError, PreflightError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _synth(settings: Settings, args: argparse.Namespace) -> None:
    run_cdk("synth", ["--quiet", "--output", args.output], args.context)
    print(f"synthesized {settings.stack_name} into {args.output} (cdk-nag AwsSolutions: no findings)")


def _deploy(settings: Settings, args: argparse.Namespace) -> None:
    plan = check_deploy(MODEL_DIR, settings, region=args.region)
    for note in plan.notes:
        print(note)
    target, env = plan.target, _region_env(plan.target)
    # Synthesized here, once: its asset manifest names the image tag to look up in ECR before anything
    # is pushed, and `cdk deploy --app` then deploys exactly this assembly.
    assembly = REPO_ROOT / args.output
    run_cdk("synth", ["--quiet", "--output", str(assembly)], _with_context(args.context, plan.context), env)
    images = _images(assembly, settings.stack_name, target)
    for warning in check_pushed_images(plan.session, images):
        print(warning)
    print(f"deploying {settings.stack_name} to {target.account}/{target.region}")
    OUTPUTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    deploy_args = ["--app", str(assembly), settings.stack_name, "--require-approval", "never"]
    run_cdk("deploy", [*deploy_args, "--outputs-file", str(OUTPUTS_FILE)], (), env | NO_ATTESTATIONS_ENV)
    print(how_to_call(settings, _read_outputs(settings.stack_name)))
    print("\n".join(describe_pushed(plan.session, images)))


def _images(assembly: Path, stack_name: str, target: Target) -> list[PushedImage]:
    try:
        return image_assets(assembly, stack_name, target.account, target.region)
    except (OSError, ValueError, KeyError) as exc:
        raise CliError(
            f"`cdk synth` left no readable asset manifest for {stack_name} in {assembly}: {exc}"
        ) from None


def _destroy(settings: Settings, args: argparse.Namespace) -> None:
    session = open_session(args.region, "make destroy")
    target = check_aws(session)
    where = f"{target.account}/{target.region}"
    teardown = survey(session, settings.stack_name)
    if not teardown.exists:
        print(f"{settings.stack_name} is not deployed in {where}: nothing to destroy")
        return
    for warning in teardown.warnings:
        print(warning)
    # Results are the one thing destroy loses that a user made: at a terminal, ask before emptying the bucket.
    if teardown.results and sys.stdin.isatty() and input("delete them with the stack? [y/N] ").lower() != "y":
        raise CliError(f"{settings.stack_name} kept: copy the results, then run make destroy again")
    print(f"destroying {settings.stack_name} in {where}")
    run_cdk("destroy", [settings.stack_name, "--force"], args.context, _region_env(target))
    print(KEPT)


def _with_context(given: list[str], added: tuple[str, ...]) -> list[str]:
    """The user's `-c` pairs with the preflight's on top: a key it sets replaces the user's own."""
    keys = {pair.partition("=")[0] for pair in added}
    return [pair for pair in given if pair.partition("=")[0] not in keys] + list(added)


def _region_env(target: Target) -> dict[str, str]:
    """The CLI acts exactly where the preflight looked, whichever variable named the region."""
    return {"AWS_REGION": target.region, "AWS_DEFAULT_REGION": target.region}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("synth", "deploy", "destroy"))
    parser.add_argument(
        "-c",
        "--context",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting as CDK context, e.g. -c memoryMb=3008 (see infra/README.md)",
    )
    parser.add_argument("--output", default="cdk.out", help="cloud assembly directory (synth and deploy)")
    parser.add_argument(
        "--region",
        default=None,
        help="AWS region of deploy and destroy (default: AWS_REGION, AWS_DEFAULT_REGION, your profile's)",
    )
    return parser


def _settings(pairs: list[str]) -> Settings:
    """Validate the settings before the CDK CLI starts, so a typo costs no synth."""
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SettingsError(f"context must look like key=value, got {pair!r}")
        context[key] = value
    check_context_keys(context)
    return read_settings(context.get)  # the environment as the app will read it


def _read_outputs(stack_name: str) -> dict[str, str]:
    try:
        return json.loads(OUTPUTS_FILE.read_text())[stack_name]
    except (OSError, ValueError, KeyError):
        raise CliError(f"deploy finished but {OUTPUTS_FILE} has no outputs for {stack_name}") from None


def how_to_call(settings: Settings, outputs: dict[str, str]) -> str:
    """What `make deploy` prints last: the URL and ready-to-paste calls for the stack's auth mode."""
    url = outputs["ApiUrl"]
    body = '\'{"text": "Great battery life, arrived on time."}\''
    if "ApiKeyId" in outputs:
        key_id = outputs["ApiKeyId"]
        key_cmd = f"aws apigateway get-api-key --include-value --query value --output text --api-key {key_id}"
        call = [
            f"  KEY=$({key_cmd})",
            f'  curl -s -H "x-api-key: $KEY" -H "content-type: application/json" -d {body} {url}predict',
        ]
    else:
        call = [f"  sign each request with SigV4 (auth=iam), e.g. awscurl --service execute-api {url}predict"]
    return "\n".join(
        [
            f"API: {url}",
            "Call it over HTTPS:",
            *call,
            "Or with boto3 (direct invoke of the function's live alias):",
            f"  make invoke STACK={settings.stack_name}",
            f"Stack outputs: {OUTPUTS_FILE.relative_to(REPO_ROOT)}",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
