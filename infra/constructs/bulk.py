"""Bulk scoring on AWS: a Step Functions Distributed Map over JSONL / CSV objects in S3, answered by the
same function alias as the API (optional: the `bulk` setting).

One execution scores every object under an input prefix. An outer Distributed Map lists the objects
(ListObjectsV2) and runs one child execution per object, one at a time, so the function's concurrency is
bounded by the inner map alone; the child picks a reader by the key's extension and runs the inner
Distributed Map: ItemReader (JSONL or CSV rows), ItemSelector (each row with its 1-based number),
ItemBatcher (batches of `batch_size` rows, the column names in BatchInput), one direct Lambda invoke per
batch (handler/batch.py answers bad rows per row), and a ResultWriter that writes one JSONL line per row
under the output prefix. JSONata throughout: BatchInput and the writer's prefix come from the input.

The readers and writers' IAM statements are narrowed to the prefixes: the CDK defaults grant the whole
bucket.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnOutput, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.log_group import retained_log_group

_EXECUTIONS = (
    "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
    '{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
)
INPUT_PREFIX = "input/"
OUTPUT_PREFIX = "results/"
MAX_BATCH_BYTES = 256 * 1024  # Step Functions' payload limit, which a batch's input must fit
EXECUTION_TIMEOUT = Duration.hours(24)
# Throttling (concurrency or rate) is retried with jittered backoff; CDK's own retrier of the task already
# covers Lambda's service errors (Lambda.ServiceException, ...).
THROTTLING_ERRORS = ["Lambda.TooManyRequestsException"]
# Six throttled attempts wait at most 1+2+4+8+16+32 s, so a batch's Express child (5 minutes at most) still
# fits six 30 s invokes.
THROTTLING_RETRIES = 6
# Every wildcard of the state machine's role, with why it cannot be narrower.
_WILDCARDS = {
    "<{bucket}.Arn>/input/*": "reads objects under input/ only: a run scores every object under a prefix "
    "chosen at run time, so the keys are not known at deploy time",
    "<{bucket}.Arn>/results/*": "writes results (and Step Functions' manifests) under results/ only: the run "
    "names its own prefix below it at run time",
    "*": "only the CloudWatch Logs vended-delivery actions (logs:CreateLogDelivery, DescribeResourcePolicies "
    "...) and X-Ray PutTraceSegments / PutTelemetryRecords, which have no resource-level permissions",
    _EXECUTIONS + ":*": "DescribeExecution / StopExecution of this state machine's own executions, whose "
    "names are generated at run time (CDK's Distributed Map policy)",
    _EXECUTIONS + "/*:*": "RedriveExecution of this state machine's own map-run child executions, named at "
    "run time (CDK's Distributed Map policy)",
}
_LOGS_S1_REASON = (
    "This is the server access log bucket of the bulk data bucket; logging a log bucket into itself "
    "would loop, and its objects are the access records themselves."
)


class _ScopedObjects(sfn.S3ObjectsItemReader):
    """ListObjectsV2 reader allowed to list the input prefix only (CDK grants s3:ListBucket on it all)."""

    def __init__(self, bucket: s3.IBucket, prefix: str) -> None:
        super().__init__(bucket=bucket, prefix=prefix)
        self._scoped_bucket = bucket

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self._scoped_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INPUT_PREFIX}*"]}},
            )
        ]


def _read_input(bucket: s3.IBucket) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{INPUT_PREFIX}*")])
    ]


class _ScopedJsonL(sfn.S3JsonLItemReader):
    """JSONL rows of one object, readable under the input prefix only."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_input(self.bucket)


class _ScopedCsv(sfn.S3CsvItemReader):
    """CSV rows (header in the first row) of one object, readable under the input prefix only."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_input(self.bucket)


class _ScopedWriter(sfn.ResultWriterV2):
    """Results written under the output prefix only."""

    def __init__(self, bucket: s3.IBucket, prefix: str, writer_config: sfn.WriterConfig) -> None:
        super().__init__(bucket=bucket, prefix=prefix, writer_config=writer_config)
        self._scoped_bucket = bucket

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return [
            iam.PolicyStatement(
                actions=[
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                resources=[self._scoped_bucket.arn_for_objects(f"{OUTPUT_PREFIX}*")],
            )
        ]


class BulkScoring(Construct):
    """Data bucket (input/ and results/), the scoring state machine and an alarm on failed executions.

    Attributes:
        bucket: the data bucket (SSE-S3, TLS only, no public access, access logs).
        state_machine: the state machine; its execution input is built by `python -m bulk start`.
        alarm: ExecutionsFailed + ExecutionsTimedOut + ExecutionsAborted >= 1 in 5 minutes.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.IFunction,
        topic: sns.ITopic,
        batch_size: int,
        concurrency: int,
        tolerated_failure_percent: float,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = _data_bucket(self)
        self.log_group = retained_log_group(self, "Logs", retention_days=log_retention_days)
        rows = {
            suffix: self._rows_map(
                suffix, reader, function, batch_size, concurrency, tolerated_failure_percent
            )
            for suffix, reader in (
                (".jsonl", _ScopedJsonL(bucket=self.bucket, key="{% $states.input.key %}")),
                (".csv", _ScopedCsv(bucket=self.bucket, key="{% $states.input.key %}")),
            )
        }
        kind = sfn.Choice.jsonata(self, "ByExtension", comment="Pick the reader by the object's extension")
        for suffix, rows_map in rows.items():
            kind.when(
                sfn.Condition.jsonata(f"{{% $contains($lowercase($states.input.key), /\\{suffix}$/) %}}"),
                rows_map,
            )
        kind.otherwise(
            sfn.Pass.jsonata(self, "NotJsonlOrCsv", outputs={"skipped": "{% $states.input.key %}"})
        )
        files = sfn.DistributedMap.jsonata(
            self,
            "Files",
            item_reader=_ScopedObjects(self.bucket, "{% $states.input.prefix %}"),
            item_selector={
                "key": "{% $states.context.Map.Item.Value.Key %}",
                "prefix": "{% $states.input.prefix %}",
                "output": "{% $states.input.output %}",
                "columns": "{% $states.input.columns %}",
            },
            max_concurrency=1,  # one object at a time: Lambda concurrency stays at the inner map's
            result_writer_v2=_ScopedWriter(
                self.bucket,
                "{% $states.input.output & '_files' %}",
                sfn.WriterConfig(output_type=sfn.OutputType.JSONL, transformation=sfn.Transformation.COMPACT),
            ),
        )
        files.item_processor(kind)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(files),
            query_language=sfn.QueryLanguage.JSONATA,
            timeout=EXECUTION_TIMEOUT,
            tracing_enabled=True,
            # Every event, without execution data: review text never reaches the logs.
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            comment="Score every JSONL / CSV object under an input prefix with the sentiment function",
        )
        self.alarm = _failed_executions_alarm(self, self.state_machine, topic)
        _acknowledge_wildcards(self.state_machine, self.bucket)

    def _rows_map(
        self,
        suffix: str,
        reader: sfn.IItemReader,
        function: lambda_.IFunction,
        batch_size: int,
        concurrency: int,
        tolerated_failure_percent: float,
    ) -> sfn.DistributedMap:
        name = suffix.lstrip(".").capitalize()
        score = tasks.LambdaInvoke.jsonata(
            self,
            f"Score{name}Batch",
            lambda_function=function,
            payload=sfn.TaskInput.from_text("{% $states.input %}"),
            outputs="{% $states.result.Payload %}",
        )
        score.add_retry(
            errors=THROTTLING_ERRORS,
            interval=Duration.seconds(1),
            max_attempts=THROTTLING_RETRIES,
            backoff_rate=2,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        rows = sfn.DistributedMap.jsonata(
            self,
            f"{name}Rows",
            item_reader=reader,
            item_selector={
                "row": "{% $states.context.Map.Item.Index + 1 %}",
                "value": "{% $states.context.Map.Item.Value %}",
            },
            item_batcher=sfn.ItemBatcher(
                max_items_per_batch=batch_size,
                max_input_bytes_per_batch=MAX_BATCH_BYTES,
                batch_input={
                    key: f"{{% $states.input.columns.{key} %}}"
                    for key in ("textColumn", "idColumn", "allScores")
                },
            ),
            max_concurrency=concurrency,
            # A batch is one invoke of a few seconds: Express children cost per request, not per transition.
            map_execution_type=sfn.StateMachineType.EXPRESS,
            tolerated_failure_percentage=tolerated_failure_percent,
            result_writer_v2=_ScopedWriter(
                self.bucket,
                "{% $states.input.output & $substringAfter($states.input.key, $states.input.prefix) %}",
                _json_lines(),
            ),
            outputs={"key": "{% $states.input.key %}", "results": "{% $states.result.ResultWriterDetails %}"},
        )
        rows.item_processor(score)
        return rows


def _acknowledge_wildcards(machine: sfn.StateMachine, bucket: s3.Bucket) -> None:
    """One acknowledgment per wildcard finding of cdk-nag's IAM5, each with its reason."""
    stack = Stack.of(machine)
    names = {
        "bucket": stack.resolve(stack.get_logical_id(bucket.node.default_child)),
        "machine": stack.resolve(stack.get_logical_id(machine.node.default_child)),
    }
    for resource, reason in _WILDCARDS.items():
        finding = f"AwsSolutions-IAM5[Resource::{resource.format(**names)}]"
        Validations.of(machine).acknowledge(
            Acknowledgment(id=finding, reason=f"Bulk state machine role {reason}.")
        )


def _json_lines() -> sfn.WriterConfig:
    """One JSONL line per child output element: each batch answers a list of rows, flattened."""
    return sfn.WriterConfig(output_type=sfn.OutputType.JSONL, transformation=sfn.Transformation.FLATTEN)


def _data_bucket(scope: Construct) -> s3.Bucket:
    logs = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
    )
    Validations.of(logs).acknowledge(Acknowledgment(id="AwsSolutions-S1", reason=_LOGS_S1_REASON))
    return s3.Bucket(
        scope,
        "Data",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        server_access_logs_bucket=logs,
        server_access_logs_prefix="data/",
    )


def _failed_executions_alarm(
    scope: Construct, machine: sfn.StateMachine, topic: sns.ITopic
) -> cloudwatch.Alarm:
    period = Duration.minutes(5)
    ended_badly = cloudwatch.MathExpression(
        expression="failed + timedOut + aborted",
        using_metrics={
            "failed": machine.metric_failed(period=period, statistic="Sum"),
            "timedOut": machine.metric_timed_out(period=period, statistic="Sum"),
            "aborted": machine.metric_aborted(period=period, statistic="Sum"),
        },
        label="bulk executions that did not succeed",
        period=period,
    )
    alarm = cloudwatch.Alarm(
        scope,
        "FailedExecutions",
        metric=ended_badly,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description="Sentiment API: a bulk scoring execution failed, timed out or was aborted",
    )
    alarm.add_alarm_action(cw_actions.SnsAction(topic))
    alarm.add_ok_action(cw_actions.SnsAction(topic))
    return alarm


def publish(stack: Stack, bulk: BulkScoring) -> None:
    """The outputs `python -m bulk start|status` reads (CloudFormation output keys)."""
    bucket = bulk.bucket.bucket_name
    CfnOutput(stack, "BulkStateMachineArn", value=bulk.state_machine.state_machine_arn)
    CfnOutput(stack, "BulkBucket", value=bucket, description="Upload JSONL / CSV under input/")
    CfnOutput(stack, "BulkInputPrefix", value=INPUT_PREFIX)
    CfnOutput(stack, "BulkOutputPrefix", value=OUTPUT_PREFIX)
