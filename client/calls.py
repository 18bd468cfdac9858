"""The three ways to call the sentiment function: boto3 Lambda invoke (emulator or AWS), and HTTPS through API
Gateway with the stack's API key. Retries come from botocore's and urllib3's retry settings, not loops."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3
import urllib3
from botocore.config import Config

LOCAL_ENDPOINT = "http://127.0.0.1:9000"
LOCAL_FUNCTION = "function"  # the name the Runtime Interface Emulator serves
DEFAULT_STACK = "SentimentApi"
RETRIES = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=5, read_timeout=60)


class ClientError(Exception):
    """A one-line reason a call could not be made or answered."""


@dataclass(frozen=True)
class StackOutputs:
    """What `make deploy` exports: the API base URL, the function name and the API key id."""

    api_url: str
    function_name: str
    api_key_id: str | None


def lambda_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    """boto3 Lambda client; with endpoint_url (the local emulator) it uses dummy credentials."""
    if endpoint_url:
        return boto3.client(
            "lambda",
            endpoint_url=endpoint_url,
            region_name=region or "us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # the emulator checks no credentials
            config=RETRIES,
        )
    return boto3.client("lambda", region_name=region, config=RETRIES)


def invoke_function(client: Any, function_name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Synchronous Lambda invoke; a function error becomes ClientError with its message only."""
    response = client.invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        message = answer.get("errorMessage") if isinstance(answer, dict) else answer
        raise ClientError(f"function {function_name} failed: {message}")
    return answer


def stack_outputs(stack_name: str, region: str | None = None) -> StackOutputs:
    """Read ApiUrl, FunctionName and ApiKeyId from the deployed CloudFormation stack."""
    cloudformation = boto3.client("cloudformation", region_name=region, config=RETRIES)
    (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    missing = {"ApiUrl", "FunctionName"} - set(outputs)
    if missing:
        raise ClientError(f"stack {stack_name} has no output {', '.join(sorted(missing))}; was it deployed?")
    return StackOutputs(outputs["ApiUrl"], outputs["FunctionName"], outputs.get("ApiKeyId"))


def api_key_value(api_key_id: str, region: str | None = None) -> str:
    """The API key's secret value (needs apigateway:GET on the key)."""
    apigateway = boto3.client("apigateway", region_name=region, config=RETRIES)
    return apigateway.get_api_key(apiKey=api_key_id, includeValue=True)["value"]


def post_predict(api_url: str, payload: dict[str, Any], api_key: str | None = None) -> tuple[int, Any]:
    """POST {api_url}predict over HTTPS; retries throttling and gateway errors with backoff."""
    retries = urllib3.Retry(
        total=3, backoff_factor=0.5, status_forcelist=(429, 502, 503, 504), allowed_methods=None
    )
    headers = {"Content-Type": "application/json", **({"x-api-key": api_key} if api_key else {})}
    url = f"{api_url.rstrip('/')}/predict"
    http = urllib3.PoolManager(retries=retries, timeout=urllib3.Timeout(connect=5, read=60))
    response = http.request("POST", url, body=json.dumps(payload).encode(), headers=headers, redirect=False)
    try:
        return response.status, json.loads(response.data or b"null")
    except ValueError as error:
        raise ClientError(f"{url} answered {response.status} with a non-JSON body") from error
