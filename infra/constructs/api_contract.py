"""What the REST API promises its clients beyond the handler: body shape, error bodies, access log fields."""

from __future__ import annotations

import json

from aws_cdk import aws_apigateway as apigw

# Shape only: the handler owns the limits (text length, batch size) and answers 422 with the details;
# the gateway rejects what is not even the right shape before it costs a Lambda invocation.
PREDICT_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="PredictRequest",
    type=apigw.JsonSchemaType.OBJECT,
    properties={
        "text": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "texts": apigw.JsonSchema(
            type=apigw.JsonSchemaType.ARRAY,
            items=apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
            min_items=1,
        ),
    },
    one_of=[apigw.JsonSchema(required=["text"]), apigw.JsonSchema(required=["texts"])],
)
# Errors made by API Gateway itself answer the handler's ErrorResponse shape (statusCode, message,
# errors[field, problem], requestId); 422 for a body of the wrong shape, as the handler answers.
ERRORS = {
    "BAD_REQUEST_BODY": (
        "422",
        "body",
        'a JSON object with "text" (a string) or "texts" (a list of strings)',
    ),
    "INVALID_API_KEY": ("403", "x-api-key", "send a valid API key in the x-api-key header"),
    "MISSING_AUTHENTICATION_TOKEN": (
        "403",
        "request",
        "no such route or method, or the request is not signed",
    ),
    "ACCESS_DENIED": ("403", "request", "the caller is not allowed to call this route"),
    "REQUEST_TOO_LARGE": ("413", "body", "the body is over API Gateway's 10 MB limit"),
    "THROTTLED": ("429", "request", "too many requests: retry with exponential backoff"),
    "QUOTA_EXCEEDED": ("429", "x-api-key", "this API key's daily quota is used up (resets at 00:00 UTC)"),
    "INTEGRATION_TIMEOUT": ("504", "request", "no answer within 29 s: retry, or send fewer texts"),
    "DEFAULT_4XX": (None, "request", "refused by API Gateway"),
    "DEFAULT_5XX": (None, "request", "API Gateway could not complete the request: retry later"),
}
ACCESS_LOG = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTimeEpoch",
    "ip": "$context.identity.sourceIp",
    "method": "$context.httpMethod",
    "path": "$context.resourcePath",
    "status": "$context.status",
    "errorType": "$context.error.responseType",
    "responseLength": "$context.responseLength",
    "responseLatencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency",
    "apiKeyId": "$context.identity.apiKeyId",
    "caller": "$context.identity.caller",
    "xrayTraceId": "$context.xrayTraceId",
}


def error_template(status: str | None, field: str, problem: str) -> str:
    """The body template; API Gateway substitutes $context variables (messageString comes quoted)."""
    body: dict[str, object] = {"statusCode": int(status)} if status else {}
    body |= {
        "message": "MESSAGE",
        "errors": [{"field": field, "problem": problem}],
        "requestId": "$context.requestId",
    }
    return json.dumps(body).replace('"MESSAGE"', "$context.error.messageString")
