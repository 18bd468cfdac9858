"""The one stack: composes the function, the API and the alarms, and publishes what clients need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra.constructs.alarms import ServiceAlarms
from infra.constructs.api import SentimentRestApi
from infra.constructs.bulk import BulkScoring
from infra.constructs.bulk import publish as publish_bulk
from infra.constructs.function import SentimentFunction
from infra.settings import Settings


class SentimentStack(Stack):
    """Sentiment API: container-image Lambda behind a REST API, with alarms and a dashboard.

    Outputs (read by `make invoke` and `python -m infra deploy`): ApiUrl, FunctionName, FunctionAlias,
    AlarmTopicArn, and ApiKeyId (auth=api_key) or ExecuteApiArn (auth=iam).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        image_directory: Path,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope, construct_id, description="Sentiment analysis API (ONNX int8 on Lambda)", **kwargs
        )
        Tags.of(self).add("project", "lambda-sentiment")
        self.function = SentimentFunction(
            self,
            "Model",
            image_directory=image_directory,
            architecture=settings.architecture,
            memory_mb=settings.memory_mb,
            timeout_s=settings.timeout_s,
            environment=_environment(settings),
            log_retention_days=settings.log_retention_days,
            reserved_concurrency=settings.reserved_concurrency,
            provisioned_concurrency=settings.provisioned_concurrency,
            snap_start=settings.snap_start,
        )
        self.api = SentimentRestApi(
            self,
            "Http",
            handler=self.function.alias,
            auth=settings.auth,
            public_docs=settings.public_docs,
            cloud_watch_role=settings.cloud_watch_role,
            stage_name=settings.stage_name,
            throttle_rate=settings.throttle_rate,
            throttle_burst=settings.throttle_burst,
            public_throttle_rate=settings.public_throttle_rate,
            quota_per_day=settings.quota_per_day,
            cors_origins=settings.cors_origins,
            log_retention_days=settings.log_retention_days,
        )
        self.alarms = ServiceAlarms(
            self,
            "Monitoring",
            api=self.api.api,
            function=self.function.function,
            latency_alarm_ms=settings.latency_alarm_ms,
            alarm_email=settings.alarm_email,
            metrics_namespace=settings.metrics_namespace,
            service_name=settings.service_name,
        )
        if settings.bulk:
            self.bulk = BulkScoring(
                self,
                "Bulk",
                function=self.function.alias,
                topic=self.alarms.topic,
                batch_size=settings.bulk_batch_size,
                concurrency=settings.bulk_concurrency,
                tolerated_failure_percent=settings.bulk_tolerated_failure_percent,
                log_retention_days=settings.log_retention_days,
            )
            publish_bulk(self, self.bulk)
        self._outputs()

    def _outputs(self) -> None:
        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="Base URL of the API stage")
        CfnOutput(self, "FunctionName", value=self.function.function.function_name)
        CfnOutput(
            self, "FunctionAlias", value=self.function.alias.alias_name, description="Invoke this alias"
        )
        CfnOutput(self, "AlarmTopicArn", value=self.alarms.topic.topic_arn)
        if self.api.api_key is not None:
            CfnOutput(
                self,
                "ApiKeyId",
                value=self.api.api_key.key_id,
                description="aws apigateway get-api-key --include-value --api-key <id>",
            )
        else:  # IAM auth: callers need execute-api:Invoke on this ARN in their own policies
            CfnOutput(
                self,
                "ExecuteApiArn",
                value=self.api.api.arn_for_execute_api(stage=self.api.stage.stage_name),
                description="Resource for the callers' execute-api:Invoke permission (auth=iam)",
            )


def _environment(settings: Settings) -> dict[str, str]:
    """The handler's configuration: Powertools reads these names itself; never log request events.

    The request limits (the handler's settings prefix) are always set: the stack checked its memory size and
    timeout against these values, so the function must run with them, not with the image's defaults. With
    CORS on, the allowed origins go to the handler too (SENTIMENT_CORS_ORIGINS): API Gateway answers
    preflights, but the Lambda-proxy answers carry the headers.
    """
    environment = {
        "POWERTOOLS_SERVICE_NAME": settings.service_name,
        "POWERTOOLS_METRICS_NAMESPACE": settings.metrics_namespace,
        "POWERTOOLS_LOG_LEVEL": settings.log_level,
        "POWERTOOLS_LOGGER_LOG_EVENT": "false",
        "SENTIMENT_MAX_TEXTS": str(settings.max_texts),
        "SENTIMENT_MAX_REQUEST_WINDOWS": str(settings.max_request_windows),
    }
    if settings.cors_origins:
        environment["SENTIMENT_CORS_ORIGINS"] = ",".join(settings.cors_origins)
    return environment
