"""Alarms on the API and the function, sent to an SNS topic, and a dashboard of the same metrics."""

from __future__ import annotations

from aws_cdk import Acknowledgment, ArnFormat, Duration, Stack, Validations
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

PERIOD = Duration.minutes(5)
# EMF metrics the handler emits (handler/routes.py), with Powertools' default `service` dimension.
HANDLER_METRICS = ("ModelLatency", "TextsPerRequest", "Windows", "TruncatedTexts")
# Below this many requests in a period the 4XX share is noise (one bad call would be 100 %).
MIN_REQUESTS_FOR_4XX_RATE = 20
MAX_4XX_PERCENT = 25
# 5XX pages on a share of the requests over two periods in a row, never on one answer: a caller can cause a
# 5XX on its own (a body that makes the event larger than Lambda's 6 MB is refused before the function, and
# API Gateway answers 500), and one such caller must not wake anybody. MIN_5XX keeps a quiet API whose few
# requests all fail (a broken deploy) from hiding below the share.
MAX_5XX_PERCENT = 5
MIN_5XX = 3
_SNS2_REASON = (
    "Alarm notifications carry alarm names and metric values, never request data. CloudWatch cannot "
    "publish to a topic encrypted with the AWS-managed SNS key, and a customer-managed key would add "
    "cost and a key policy to maintain for no protected content."
)


class ServiceAlarms(Construct):
    """5XX and 4XX rates, Lambda errors, throttles and p99 duration alarms, plus a dashboard.

    Attributes:
        topic: SNS topic every alarm (and its recovery) notifies.
        alarms: the alarms by short name.
        dashboard: the CloudWatch dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        function: lambda_.IFunction,
        latency_alarm_ms: int,
        alarm_email: str | None,
        metrics_namespace: str,
        service_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name="Sentiment API alarms", enforce_ssl=True)
        self.topic.add_to_resource_policy(alarms_may_publish(self.topic))
        Validations.of(self.topic).acknowledge(Acknowledgment(id="AwsSolutions-SNS2", reason=_SNS2_REASON))
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        metrics = _metrics(api, function) | _handler_metrics(metrics_namespace, service_name)
        self.alarms = {
            "Api5xxRate": self._alarm(
                "Api5xxRate",
                metrics["5xx_rate"],
                MAX_5XX_PERCENT,
                2,
                f"at least {MIN_5XX} and {MAX_5XX_PERCENT} % of requests got 5XX, two periods running",
            ),
            "Api4xxRate": self._alarm(
                "Api4xxRate",
                metrics["4xx_rate"],
                MAX_4XX_PERCENT,
                3,
                f"over {MAX_4XX_PERCENT} % of requests got 4XX",
            ),
            "LambdaErrors": self._alarm("LambdaErrors", metrics["errors"], 1, 1, "the function failed"),
            "LambdaThrottles": self._alarm(
                "LambdaThrottles", metrics["throttles"], 1, 1, "invocations were throttled (concurrency)"
            ),
            "LatencyP99": self._alarm(
                "LatencyP99", metrics["p99"], latency_alarm_ms, 3, f"p99 duration over {latency_alarm_ms} ms"
            ),
        }
        self.dashboard = _dashboard(self, metrics, list(self.alarms.values()))

    def _alarm(
        self, name: str, metric: cloudwatch.IMetric, threshold: float, periods: int, description: str
    ) -> cloudwatch.Alarm:
        # Sustained conditions (4XX and 5XX rates, latency) need every evaluated period breaching, so one
        # cold start or one misbehaving client does not page anybody; function errors and throttles page
        # on the first occurrence (no request can cause one: every bad input gets a JSON 4xx).
        alarm = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"Sentiment API: {description}",
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        alarm.add_ok_action(cw_actions.SnsAction(self.topic))
        return alarm


def alarms_may_publish(topic: sns.ITopic) -> iam.PolicyStatement:
    """CloudWatch may publish to the topic, for this account's alarms in this region only.

    enforce_ssl writes a topic policy holding its Deny statement alone, and any topic policy replaces SNS's
    default one, which is what let CloudWatch publish: without this statement no alarm could notify anyone,
    while the e-mail subscription still confirms. The conditions keep another account's alarms (the
    confused deputy) from publishing through the service principal.
    """
    stack = Stack.of(topic)
    return iam.PolicyStatement(
        sid="AllowThisAccountsAlarms",
        principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions=["sns:Publish"],
        resources=[topic.topic_arn],
        conditions={
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="cloudwatch",
                    resource="alarm",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        },
    )


def _metrics(api: apigw.RestApi, function: lambda_.IFunction) -> dict[str, cloudwatch.IMetric]:
    stage = api.deployment_stage
    requests = stage.metric_count(period=PERIOD, statistic="Sum")
    client_errors = stage.metric_client_error(period=PERIOD, statistic="Sum")
    server_errors = stage.metric_server_error(period=PERIOD, statistic="Sum")
    return {
        "requests": requests,
        "4xx": client_errors,
        "5xx": server_errors,
        "5xx_rate": cloudwatch.MathExpression(
            expression=f"IF(server_errors >= {MIN_5XX}, 100 * server_errors / requests, 0)",
            using_metrics={"requests": requests, "server_errors": server_errors},
            label="5XX %",
            period=PERIOD,
        ),
        "4xx_rate": cloudwatch.MathExpression(
            expression=f"IF(requests >= {MIN_REQUESTS_FOR_4XX_RATE}, 100 * errors / requests, 0)",
            using_metrics={"requests": requests, "errors": client_errors},
            label="4XX %",
            period=PERIOD,
        ),
        "api_p99": stage.metric_latency(period=PERIOD, statistic="p99"),
        "invocations": function.metric_invocations(period=PERIOD, statistic="Sum"),
        "errors": function.metric_errors(period=PERIOD, statistic="Sum"),
        "throttles": function.metric_throttles(period=PERIOD, statistic="Sum"),
        "p50": function.metric_duration(period=PERIOD, statistic="p50"),
        "p99": function.metric_duration(period=PERIOD, statistic="p99"),
    }


def _handler_metrics(namespace: str, service: str) -> dict[str, cloudwatch.IMetric]:
    def metric(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map={"service": service},
            statistic=statistic,
            period=PERIOD,
            label=f"{name} {statistic}",
        )

    found = {f"{name}_sum": metric(name, "Sum") for name in HANDLER_METRICS[1:]}
    return found | {"model_p50": metric("ModelLatency", "p50"), "model_p99": metric("ModelLatency", "p99")}


def _dashboard(
    scope: Construct, metrics: dict[str, cloudwatch.IMetric], alarms: list[cloudwatch.Alarm]
) -> cloudwatch.Dashboard:
    def graph(title: str, *names: str) -> cloudwatch.GraphWidget:
        return cloudwatch.GraphWidget(title=title, left=[metrics[name] for name in names], width=8)

    return cloudwatch.Dashboard(
        scope,
        "Dashboard",
        widgets=[
            [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=alarms, width=24)],
            [
                graph("API requests and errors", "requests", "4xx", "5xx"),
                graph("API p99 latency (ms)", "api_p99"),
                graph("4XX and 5XX share (%)", "4xx_rate", "5xx_rate"),
            ],
            [
                graph("Lambda invocations, errors, throttles", "invocations", "errors", "throttles"),
                graph("Lambda duration p50 / p99 (ms)", "p50", "p99"),
                graph("Model latency p50 / p99 (ms, handler)", "model_p50", "model_p99"),
            ],
            [
                graph(
                    "Texts, windows, truncated texts (handler)",
                    "TextsPerRequest_sum",
                    "Windows_sum",
                    "TruncatedTexts_sum",
                )
            ],
        ],
    )
