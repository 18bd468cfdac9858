"""The REST API: routes, auth modes, request validation, stage settings, usage plan, errors, CORS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match
from infra_synth import Synthesized, only, resources

ROUTES = {
    ("POST", "predict"),
    ("GET", "model"),
    ("GET", "health"),
    ("GET", "openapi.json"),
    ("GET", "swagger"),
}
PUBLIC = {"health", "openapi.json", "swagger"}


def methods(synth: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    """The API's methods keyed by (HTTP method, path part); the root resource has path ''."""
    template = synth.template_json["Resources"]
    found = {}
    for method in resources(synth, "AWS::ApiGateway::Method").values():
        props = method["Properties"]
        resource_ref = props["ResourceId"].get("Ref")
        path = template[resource_ref]["Properties"]["PathPart"] if resource_ref else ""
        found[(props["HttpMethod"], path)] = props
    return found


def test_regional_api_with_the_five_routes(default_stack: Synthesized) -> None:
    default_stack.template.has_resource_properties(
        "AWS::ApiGateway::RestApi", {"Name": "SentimentApi", "EndpointConfiguration": {"Types": ["REGIONAL"]}}
    )
    assert set(methods(default_stack)) == ROUTES


def test_routes_are_lambda_proxy_to_the_live_alias(default_stack: Synthesized) -> None:
    (alias_id,) = resources(default_stack, "AWS::Lambda::Alias")
    for props in methods(default_stack).values():
        integration = props["Integration"]
        assert (integration["Type"], integration["IntegrationHttpMethod"]) == ("AWS_PROXY", "POST")
        assert alias_id in json.dumps(integration["Uri"])
    permissions = resources(default_stack, "AWS::Lambda::Permission").values()
    assert len(permissions) == len(ROUTES)
    assert all(alias_id in json.dumps(p["Properties"]["FunctionName"]) for p in permissions)


def test_api_key_auth_by_default_on_every_route_that_invokes_the_function(default_stack: Synthesized) -> None:
    # /health and the docs invoke the function too (the docs are 1.7 MB): open only with publicDocs.
    for (_, path), props in methods(default_stack).items():
        assert props["AuthorizationType"] == "NONE"
        assert props["ApiKeyRequired"] is True, path


def test_iam_auth_option_signs_every_route_without_public_docs(options_stack: Synthesized) -> None:
    for (verb, path), props in methods(options_stack).items():
        if verb == "OPTIONS":
            assert props["AuthorizationType"] == "NONE"  # CORS preflight carries no credentials
        else:
            assert (props["AuthorizationType"], props["ApiKeyRequired"]) == ("AWS_IAM", False), path


def test_iam_auth_with_open_docs_and_several_origins(mixed_stack: Synthesized) -> None:
    for (verb, path), props in methods(mixed_stack).items():
        expected = "NONE" if verb == "OPTIONS" or path in PUBLIC else "AWS_IAM"
        assert props["AuthorizationType"] == expected, (verb, path)
    # A gateway response header is static: with several origins none is named there; the preflight
    # answers the caller's origin when it is on the list.
    for response in _gateway(mixed_stack):
        assert "gatewayresponse.header.Access-Control-Allow-Origin" not in response["Properties"].get(
            "ResponseParameters", {}
        )
    preflight = methods(mixed_stack)[("OPTIONS", "predict")]["Integration"]
    assert "https://b.example.com" in json.dumps(preflight["IntegrationResponses"])


def test_usage_plan_throttles_and_quotas_the_key(default_stack: Synthesized) -> None:
    plan = only(default_stack, "AWS::ApiGateway::UsagePlan")
    assert plan["Throttle"] == {"RateLimit": 50, "BurstLimit": 100}
    assert plan["Quota"] == {"Limit": 100000, "Period": "DAY"}
    assert len(plan["ApiStages"]) == 1
    key_link = only(default_stack, "AWS::ApiGateway::UsagePlanKey")
    (key_id,) = resources(default_stack, "AWS::ApiGateway::ApiKey")
    assert key_link["KeyId"] == {"Ref": key_id}
    assert key_link["KeyType"] == "API_KEY"


def test_iam_option_has_no_key_or_usage_plan(options_stack: Synthesized) -> None:
    for cfn_type in ("AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey"):
        assert not resources(options_stack, cfn_type)


def test_predict_body_is_validated_against_the_model(default_stack: Synthesized) -> None:
    validator = only(default_stack, "AWS::ApiGateway::RequestValidator")
    assert (validator["ValidateRequestBody"], validator["ValidateRequestParameters"]) == (True, True)
    (model_id,) = resources(default_stack, "AWS::ApiGateway::Model")
    predict = methods(default_stack)[("POST", "predict")]
    assert predict["RequestModels"] == {"application/json": {"Ref": model_id}}
    assert "RequestValidatorId" in predict
    schema = only(default_stack, "AWS::ApiGateway::Model")["Schema"]
    assert schema["oneOf"] == [{"required": ["text"]}, {"required": ["texts"]}]
    assert schema["properties"]["texts"] == {"type": "array", "items": {"type": "string"}, "minItems": 1}


def test_stage_logs_traces_and_throttles(default_stack: Synthesized) -> None:
    stage = only(default_stack, "AWS::ApiGateway::Stage")
    assert (stage["StageName"], stage["TracingEnabled"]) == ("v1", True)
    access_format = json.loads(stage["AccessLogSetting"]["Format"])
    assert {"requestId", "status", "ip", "integrationLatencyMs", "apiKeyId"} <= set(access_format)
    assert "HttpAccessLogs" in json.dumps(stage["AccessLogSetting"]["DestinationArn"])
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    assert settings[("/*", "*")] == {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "LoggingLevel": "ERROR",
        "DataTraceEnabled": False,
        "ThrottlingRateLimit": 50,
        "ThrottlingBurstLimit": 100,
    }
    assert len(settings) == 1  # no open route, no per-route throttle


def test_open_docs_have_their_own_low_throttle(mixed_stack: Synthesized) -> None:
    stage = only(mixed_stack, "AWS::ApiGateway::Stage")
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["MethodSettings"]}
    for path in PUBLIC:  # "~1" is "/" escaped in a method-setting path
        public = settings[(f"/~1{path}", "GET")]
        assert (public["ThrottlingRateLimit"], public["ThrottlingBurstLimit"]) == (5, 10)
        assert (public["LoggingLevel"], public["DataTraceEnabled"]) == ("ERROR", False)


def test_options_stage_name(options_stack: Synthesized) -> None:
    options_stack.template.has_resource_properties("AWS::ApiGateway::Stage", {"StageName": "prod"})


def test_account_logging_role_only_on_request_and_before_the_stage(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    # The role is account-wide (one per region): by default the stack leaves the account's setting alone.
    assert not resources(default_stack, "AWS::ApiGateway::Account")
    assert not resources(default_stack, "AWS::IAM::Role").keys() & {"HttpApiCloudWatchRole"}
    (account_id,) = resources(options_stack, "AWS::ApiGateway::Account")
    (stage,) = resources(options_stack, "AWS::ApiGateway::Stage").values()
    assert account_id in stage["DependsOn"]


@pytest.mark.parametrize(
    ("response_type", "status"),
    [("BAD_REQUEST_BODY", 422), ("INVALID_API_KEY", 403), ("THROTTLED", 429), ("QUOTA_EXCEEDED", 429)],
)
def test_gateway_errors_answer_like_the_handler(
    default_stack: Synthesized, response_type: str, status: int
) -> None:
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in _gateway(default_stack)}
    response = responses[response_type]
    assert response["StatusCode"] == str(status)
    # API Gateway substitutes these variables; messageString is already a quoted JSON string.
    body = response["ResponseTemplates"]["application/json"]
    body = body.replace("$context.error.messageString", '"Forbidden"').replace("$context.requestId", "abc")
    parsed = json.loads(body)
    assert (parsed["statusCode"], parsed["message"], parsed["requestId"]) == (status, "Forbidden", "abc")
    assert parsed["errors"][0]["problem"]


def test_default_gateway_errors_keep_their_status(default_stack: Synthesized) -> None:
    responses = {r["Properties"]["ResponseType"]: r["Properties"] for r in _gateway(default_stack)}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "StatusCode" not in responses[response_type]
        assert "statusCode" not in responses[response_type]["ResponseTemplates"]["application/json"]


def _gateway(synth: Synthesized) -> list[dict[str, Any]]:
    return list(resources(synth, "AWS::ApiGateway::GatewayResponse").values())


def test_cors_option_adds_preflight_and_headers_on_gateway_errors(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    assert not [key for key in methods(default_stack) if key[0] == "OPTIONS"]
    preflights = [props for (verb, _), props in methods(options_stack).items() if verb == "OPTIONS"]
    assert len(preflights) == len(ROUTES) + 1  # every route and the root
    allow = preflights[0]["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
    assert allow["method.response.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"
    assert "x-api-key" in allow["method.response.header.Access-Control-Allow-Headers"].lower()
    for response in _gateway(options_stack):
        headers = response["Properties"]["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'https://app.example.com'"


def test_outputs_for_clients(default_stack: Synthesized, options_stack: Synthesized) -> None:
    default_stack.template.has_output("ApiUrl", {"Value": Match.any_value()})
    default_stack.template.has_output(
        "FunctionName", {"Value": {"Ref": Match.string_like_regexp("^ModelFunction")}}
    )
    default_stack.template.has_output("ApiKeyId", {"Value": {"Ref": Match.string_like_regexp("ApiKey")}})
    assert "ExecuteApiArn" not in default_stack.template_json["Outputs"]
    assert "ApiKeyId" not in options_stack.template_json["Outputs"]
    execute_arn = json.dumps(options_stack.template_json["Outputs"]["ExecuteApiArn"]["Value"])
    assert ":execute-api:" in execute_arn
    assert "DeploymentStageprod" in execute_arn
    assert execute_arn.endswith('"/*/*"]]}')
    assert {"ApiUrl", "FunctionName", "FunctionAlias", "AlarmTopicArn"} <= set(
        options_stack.template_json["Outputs"]
    )
