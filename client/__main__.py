"""`python -m client [TEXT ...]`: classify texts through the local emulator (default), a deployed function
(--function-name) or a deployed stack (--stack: HTTPS with the API key or SigV4, then boto3 invoke of the
live alias). An error answer (4xx/5xx, function error) exits with status 2."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, EndpointConnectionError
from botocore.exceptions import ClientError as AwsError
from urllib3.exceptions import HTTPError

from client.calls import (
    DEFAULT_STACK,
    LOCAL_ENDPOINT,
    LOCAL_FUNCTION,
    ClientError,
    api_key_value,
    iam_signer,
    invoke_function,
    lambda_client,
    post_predict,
    stack_outputs,
)
from infra.aws_session import aws_session

SAMPLE = [
    "Five stars: sturdy, quiet and it crushes ice in seconds.",
    "Returned it. The lid leaked from day one and support never replied.",
]


def _show(title: str, answer: Any) -> None:
    print(f"# {title}")
    print(json.dumps(answer, indent=2, ensure_ascii=False))


def run(args: argparse.Namespace) -> None:
    payload = {"texts": args.texts or SAMPLE}
    if args.stack:
        session = aws_session(args.region, command="make invoke")
        outputs = stack_outputs(args.stack, session)
        key = api_key_value(outputs.api_key_id, session) if outputs.api_key_id else None
        signer = iam_signer(outputs.execute_api_arn, session) if outputs.execute_api_arn else None
        status, answer = post_predict(outputs.api_url, payload, key, signer)
        _show(f"HTTPS POST {outputs.api_url.rstrip('/')}/predict -> {status}", answer)
        client = lambda_client(args.endpoint_url, session)
        answer = invoke_function(client, outputs.function_name, payload, outputs.function_alias)
        _show(f"boto3 invoke {outputs.function_name}:{outputs.function_alias}", answer)
    elif args.function_name:
        session = None if args.endpoint_url else aws_session(args.region, command="make invoke")
        client = lambda_client(args.endpoint_url, session)
        _show(f"boto3 invoke {args.function_name}", invoke_function(client, args.function_name, payload))
    else:
        endpoint = args.endpoint_url or LOCAL_ENDPOINT
        client = lambda_client(endpoint)
        _show(f"boto3 invoke (emulator {endpoint})", invoke_function(client, LOCAL_FUNCTION, payload))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m client", description=__doc__)
    parser.add_argument("texts", nargs="*", help="reviews to classify (default: two samples)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--function-name", help="a deployed Lambda function to invoke with boto3")
    target.add_argument(
        "--stack", nargs="?", const=DEFAULT_STACK, help=f"a deployed stack (default name {DEFAULT_STACK})"
    )
    parser.add_argument("--endpoint-url", help=f"Lambda endpoint (default for local use: {LOCAL_ENDPOINT})")
    parser.add_argument(
        "--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then your profile's region)"
    )
    args = parser.parse_args(argv)
    try:
        run(args)
    except (ClientError, AwsError, BotoCoreError, HTTPError, OSError) as error:
        local = not (args.stack or args.function_name) and isinstance(error, EndpointConnectionError)
        hint = "; is the emulator running (make serve)?" if local else ""
        print(f"error: {error}{hint}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
