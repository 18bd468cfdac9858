"""The three ways to call the sentiment function: boto3 Lambda invoke (emulator or AWS), and HTTPS through API
Gateway with the stack's API key or a SigV4 signature (auth=iam). Retries come from botocore's and urllib3's
retry settings, not loops, and retry only what did not run: a connection that never reached the service, a
throttle (429). A read that times out or a gateway 5xx is not retried: the function may be running, and a
retry would run it again (one slow request would become four)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.utils import ArnParser

from infra.aws_session import aws_session

LOCAL_ENDPOINT = "http://127.0.0.1:9000"
LOCAL_FUNCTION = "function"  # the name the Runtime Interface Emulator serves
DEFAULT_STACK = "SentimentApi"
# The Lambda service answers a synchronous invoke by the function's timeout at the latest (15 min at most):
# a read timeout shorter than that would cut a slow invoke short, and botocore would retry it. Its standard
# retries are then throttles, the service's own 5xx and connection errors, none of which ran the function.
LAMBDA_CALLS = Config(
    retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=905
)
# CloudFormation, API Gateway and the other control-plane reads: idempotent, retried as botocore's default.
RETRIES = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60)
# HTTPS: connection errors before the request was sent, 429 (API Gateway throttled it or the key's quota is
# spent: refused before the function) and an answer that asks for a retry with Retry-After (urllib3's rule,
# for 413/429/503); never a read error or another 5xx. The last answer is returned, not raised.
HTTPS_RETRIES = urllib3.Retry(
    total=3,
    connect=3,
    read=0,
    other=0,
    status=3,
    status_forcelist=(429,),
    allowed_methods=None,
    backoff_factor=0.5,
    raise_on_status=False,
)
API_GATEWAY_TIMEOUT_S = 29  # API Gateway answers 504 by then: waiting longer for a read would be useless


class ClientError(Exception):
    """A one-line reason a call could not be made or answered."""


@dataclass(frozen=True)
class StackOutputs:
    """What `make deploy` exports: the API base URL, the function and its alias, and the API's auth:
    an API key id (auth=api_key) or the execute-api ARN callers sign for (auth=iam)."""

    api_url: str
    function_name: str
    function_alias: str
    api_key_id: str | None
    execute_api_arn: str | None


def lambda_client(endpoint_url: str | None = None, session: boto3.Session | None = None) -> Any:
    """boto3 Lambda client: with endpoint_url (the local emulator) it uses dummy credentials; otherwise
    `session`'s credentials and region (infra.aws_session: the region the deploy used)."""
    if endpoint_url:
        return boto3.client(
            "lambda",
            endpoint_url=endpoint_url,
            region_name=(session.region_name if session else None) or "us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # the emulator checks no credentials
            config=LAMBDA_CALLS,
        )
    return (session or aws_session(command="make invoke")).client("lambda", config=LAMBDA_CALLS)


def invoke_function(
    client: Any, function_name: str, payload: dict[str, Any], qualifier: str | None = None
) -> dict[str, Any]:
    """Synchronous Lambda invoke of `qualifier` (an alias or version; None: $LATEST).

    A function error becomes ClientError with its message only; so does an error body: direct invokes
    answer bad requests with `{"statusCode": 422, ...}` instead of failing, and callers must not take
    that for a prediction.
    """
    qualified = {"Qualifier": qualifier} if qualifier else {}
    response = client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode(), **qualified)
    data = response["Payload"].read()
    try:
        answer = json.loads(data or b"null")
    except ValueError as error:
        raise ClientError(f"function {function_name} answered {len(data)} bytes that are not JSON") from error
    if response.get("FunctionError"):
        message = answer.get("errorMessage") if isinstance(answer, dict) else answer
        raise ClientError(f"function {function_name} failed: {message}")
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(status, int) and status >= 400:
        raise ClientError(f"function {function_name} answered {status}: {json.dumps(answer)}")
    return answer


def stack_outputs(stack_name: str, session: boto3.Session) -> StackOutputs:
    """Read ApiUrl, FunctionName, FunctionAlias and ApiKeyId or ExecuteApiArn from the deployed stack."""
    cloudformation = session.client("cloudformation", config=RETRIES)
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    missing = {"ApiUrl", "FunctionName", "FunctionAlias"} - set(outputs)
    if missing:
        raise ClientError(f"stack {stack_name} has no output {', '.join(sorted(missing))}; was it deployed?")
    return StackOutputs(
        outputs["ApiUrl"],
        outputs["FunctionName"],
        outputs["FunctionAlias"],
        outputs.get("ApiKeyId"),
        outputs.get("ExecuteApiArn"),
    )


def api_key_value(api_key_id: str, session: boto3.Session) -> str:
    """The API key's secret value (needs apigateway:GET on the key)."""
    apigateway = session.client("apigateway", config=RETRIES)
    return apigateway.get_api_key(apiKey=api_key_id, includeValue=True)["value"]


def iam_signer(execute_api_arn: str, session: boto3.Session) -> SigV4Auth:
    """SigV4 for execute-api in the API's own region (from its ARN), with the session's AWS credentials.

    Raises:
        ClientError: no credentials are configured.
    """
    credentials = session.get_credentials()
    if credentials is None:
        raise ClientError("auth=iam: no AWS credentials to sign the HTTPS call with (aws configure)")
    return SigV4Auth(credentials, "execute-api", ArnParser().parse_arn(execute_api_arn)["region"])


def post_predict(
    api_url: str, payload: dict[str, Any], api_key: str | None = None, signer: SigV4Auth | None = None
) -> tuple[int, Any]:
    """POST {api_url}predict over HTTPS; retries what never reached the function (HTTPS_RETRIES).

    With `signer` (auth=iam) the request carries a SigV4 signature instead of an API key.

    Raises:
        ClientError: the answer is an error status (its body in the message) or not JSON.
    """
    headers = {"Content-Type": "application/json", **({"x-api-key": api_key} if api_key else {})}
    url = f"{api_url.rstrip('/')}/predict"
    body = json.dumps(payload).encode()
    if signer is not None:
        request = AWSRequest(method="POST", url=url, data=body, headers=headers)
        signer.add_auth(request)
        headers = dict(request.headers.items())
    timeout = urllib3.Timeout(connect=5, read=API_GATEWAY_TIMEOUT_S + 5)
    http = urllib3.PoolManager(retries=HTTPS_RETRIES, timeout=timeout)
    response = http.request("POST", url, body=body, headers=headers, redirect=False)
    try:
        answer = json.loads(response.data or b"null")
    except ValueError as error:
        raise ClientError(f"{url} answered {response.status} with a non-JSON body") from error
    if response.status >= 400:
        raise ClientError(f"POST {url} answered {response.status}: {json.dumps(answer)}")
    return response.status, answer
