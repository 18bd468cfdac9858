"""The REST API: five Lambda-proxy routes, auth, request validation, throttling and JSON access logs."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, Duration, Fn, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.api_contract import ACCESS_LOG, ERRORS, PREDICT_SCHEMA, error_template
from infra.constructs.log_group import retained_log_group

PROTECTED_ROUTES = (("POST", "predict"), ("GET", "model"))
# The paths the handler serves (handler/routes.py; /openapi.json and /swagger: handler/docs.py).
PUBLIC_ROUTES = (("GET", "health"), ("GET", "openapi.json"), ("GET", "swagger"))
_REASONS = {
    "AwsSolutions-IAM4": "API Gateway's account-level logging role needs exactly the AWS-managed "
    "AmazonAPIGatewayPushToCloudWatchLogs policy; it is the documented way to enable access logs.",
    "AwsSolutions-APIG3": "No WAF web ACL by default (about $6/month before traffic): callers are "
    "authenticated, and stage, per-key and public-route throttling plus a daily quota bound abuse.",
    "AwsSolutions-COG4": "Callers are services, not end users: they authenticate with an API key "
    "(usage plan) or IAM SigV4 (auth=iam); there is no Cognito user pool to authorize against.",
    "open": "Intentionally unauthenticated: CORS preflight (browsers send OPTIONS without credentials, "
    "answered by API Gateway itself) and, only when publicDocs is set (off by default), the health check "
    "and API docs, which carry no model output and have a low per-route throttle.",
    "api_key": "Clients are identified by API key and usage plan (per-key throttle and quota); IAM "
    "authorization is available with auth=iam.",
}


class SentimentRestApi(Construct):
    """Regional REST API with Lambda-proxy routes to the function's alias.

    Attributes:
        api: the RestApi.
        stage: the deployed stage.
        access_logs: the stage's access log group.
        execution_logs: the stage's execution log group (API Gateway's own name for it).
        api_key: the API key (auth=api_key), else None.
        usage_plan: the usage plan holding the key (auth=api_key), else None.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        auth: str,
        public_docs: bool,
        cloud_watch_role: bool,
        stage_name: str,
        throttle_rate: float,
        throttle_burst: int,
        public_throttle_rate: float,
        quota_per_day: int,
        cors_origins: tuple[str, ...],
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = retained_log_group(self, "AccessLogs", retention_days=log_retention_days)
        public = PUBLIC_ROUTES if public_docs else ()
        # Method settings replace the stage-wide ones for that method, so they repeat the logging level.
        public_throttle = apigw.MethodDeploymentOptions(
            throttling_rate_limit=public_throttle_rate,
            throttling_burst_limit=max(1, int(2 * public_throttle_rate)),
            logging_level=apigw.MethodLoggingLevel.ERROR,
            data_trace_enabled=False,
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            # The name is the ApiName dimension of the API's metrics: unique per stack, so two stacks in
            # one account do not share (and mix) their 5XX alarms and dashboards.
            rest_api_name=Stack.of(self).stack_name,
            description="Sentiment analysis API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # API Gateway writes access and execution logs with one role per account and region, set in
            # its account settings: created here only on request, since it replaces whatever role is set.
            cloud_watch_role=cloud_watch_role,
            default_cors_preflight_options=_cors(cors_origins),
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG)),
                tracing_enabled=True,
                throttling_rate_limit=throttle_rate,
                throttling_burst_limit=throttle_burst,
                # Execution logs for errors only, never request bodies: review text stays out of logs.
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                method_options={f"/{path}/{method}": public_throttle for method, path in public},
            ),
        )
        self.stage = self.api.deployment_stage
        # API Gateway writes execution logs to a group it names itself and, when none exists, creates
        # without retention, outside the stack: it would outlive `make destroy` and keep every log forever.
        # Created here first, with the stack's retention; the stage waits for it.
        self.execution_logs = retained_log_group(
            self,
            "ExecutionLogs",
            retention_days=log_retention_days,
            name=Fn.join("", ["API-Gateway-Execution-Logs_", self.api.rest_api_id, "/", stage_name]),
        )
        self.stage.node.add_dependency(self.execution_logs)
        self._add_routes(handler, auth, public)
        self._add_gateway_responses(cors_origins)
        self.api_key, self.usage_plan = None, None
        if auth == "api_key":
            self._add_usage_plan(throttle_rate, throttle_burst, quota_per_day)
        self._acknowledge(cloud_watch_role)

    def _add_routes(self, handler: lambda_.IFunction, auth: str, public: tuple[tuple[str, str], ...]) -> None:
        integration = apigw.LambdaIntegration(handler, allow_test_invoke=False)
        validator = self.api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        model = self.api.add_model("PredictRequest", content_type="application/json", schema=PREDICT_SCHEMA)
        for method, path in PROTECTED_ROUTES + PUBLIC_ROUTES:
            is_public = (method, path) in public
            options = {
                "api_key_required": auth == "api_key" and not is_public,
                "authorization_type": apigw.AuthorizationType.IAM
                if auth == "iam" and not is_public
                else apigw.AuthorizationType.NONE,
                "request_validator": validator,
            }
            if path == "predict":
                options["request_models"] = {"application/json": model}
            created = self.api.root.add_resource(path).add_method(method, integration, **options)
            if is_public:
                _acknowledge(created, "AwsSolutions-APIG4", _REASONS["open"])
            elif auth == "api_key":
                _acknowledge(created, "AwsSolutions-APIG4", _REASONS["api_key"])

    def _add_gateway_responses(self, cors_origins: tuple[str, ...]) -> None:
        # A gateway response header is static, so it can name one allowed origin, not a list.
        headers = {"Access-Control-Allow-Origin": f"'{cors_origins[0]}'"} if len(cors_origins) == 1 else None
        for name, (status, field, problem) in ERRORS.items():
            self.api.add_gateway_response(
                name.replace("_", "-").lower(),
                type=getattr(apigw.ResponseType, name.replace("XX", "_XX")),
                status_code=status,
                response_headers=headers,
                templates={"application/json": error_template(status, field, problem)},
            )

    def _add_usage_plan(self, rate: float, burst: int, quota: int) -> None:
        self.api_key = apigw.ApiKey(self, "ApiKey", description="Sentiment API client key")
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            description="Per-key throttle and daily quota for the sentiment API",
            throttle=apigw.ThrottleSettings(rate_limit=rate, burst_limit=burst),
            quota=apigw.QuotaSettings(limit=quota, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.stage)],
        )
        self.usage_plan.add_api_key(self.api_key)

    def _acknowledge(self, cloud_watch_role: bool) -> None:
        for rule in ("AwsSolutions-APIG3", "AwsSolutions-COG4"):
            _acknowledge(self.api, rule, _REASONS[rule])
        if cloud_watch_role:
            _acknowledge(
                self.api.node.find_child("CloudWatchRole"),
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonAPIGatewayPushToCloudWatchLogs]",
                _REASONS["AwsSolutions-IAM4"],
            )
        for method in self.api.methods:
            if method.http_method == "OPTIONS":
                _acknowledge(method, "AwsSolutions-APIG4", _REASONS["open"])


def _cors(origins: tuple[str, ...]) -> apigw.CorsOptions | None:
    if not origins:
        return None
    return apigw.CorsOptions(
        allow_origins=list(origins),
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=apigw.Cors.DEFAULT_HEADERS,
        max_age=Duration.hours(1),
    )


def _acknowledge(scope: Construct, rule: str, reason: str) -> None:
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
