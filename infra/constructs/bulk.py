"""Bulk scoring on AWS: a Step Functions Distributed Map over JSONL / CSV objects in S3, answered by the
same function alias as the API (optional: the `bulk` setting).

One execution scores every object under an input prefix. An outer Distributed Map lists the objects
(ListObjectsV2) and runs one child execution per object, one at a time, so the function's concurrency is
bounded by the inner map alone; the child picks a reader by the key's extension and runs the inner
Distributed Map: ItemReader (JSONL or CSV rows), ItemSelector (each row with its 1-based number),
ItemBatcher (batches of `batch_size` rows, the column names in BatchInput), one direct Lambda invoke per
batch (handler/batch.py answers bad rows per row), and a ResultWriter that writes one JSONL line per row
under the output prefix. JSONata throughout: BatchInput and the writer's prefix come from the input.

The readers' and writers' IAM statements are narrowed to the prefixes (infra/constructs/bulk_access.py).
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.constructs.bulk_access import (
    INPUT_PREFIX,
    OUTPUT_PREFIX,
    ScopedCsv,
    ScopedJsonL,
    ScopedObjects,
    ScopedWriter,
    acknowledge_wildcards,
    data_bucket,
)
from infra.constructs.log_group import capture_auto_delete_logs, retained_log_group

MAX_BATCH_BYTES = 256 * 1024  # Step Functions' payload limit, which a batch's input must fit
EXECUTION_TIMEOUT = Duration.hours(24)
# Throttling (concurrency or rate) is retried with jittered backoff; CDK's own retrier of the task already
# covers Lambda's service errors (Lambda.ServiceException, ...).
THROTTLING_ERRORS = ["Lambda.TooManyRequestsException"]
# Six throttled attempts wait at most 1+2+4+8+16+32 s, so a batch's Express child (5 minutes at most) still
# fits six 30 s invokes.
THROTTLING_RETRIES = 6


class BulkScoring(Construct):
    """Data bucket (input/ and results/), the scoring state machine and an alarm on failed executions.

    Attributes:
        bucket: the data bucket (SSE-S3, TLS only, no public access, access logs; deleted with the stack).
        cleaner_logs: the log group of CDK's function that empties the buckets when the stack is deleted.
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
        self.bucket = data_bucket(self)
        self.cleaner_logs = capture_auto_delete_logs(self, "CleanerLogs", retention_days=log_retention_days)
        self.log_group = retained_log_group(self, "Logs", retention_days=log_retention_days)
        rows = {
            suffix: self._rows_map(
                suffix, reader, function, batch_size, concurrency, tolerated_failure_percent
            )
            for suffix, reader in (
                (".jsonl", ScopedJsonL(bucket=self.bucket, key="{% $states.input.key %}")),
                (".csv", ScopedCsv(bucket=self.bucket, key="{% $states.input.key %}")),
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
            item_reader=ScopedObjects(self.bucket, "{% $states.input.prefix %}"),
            item_selector={
                "key": "{% $states.context.Map.Item.Value.Key %}",
                "prefix": "{% $states.input.prefix %}",
                "output": "{% $states.input.output %}",
                "columns": "{% $states.input.columns %}",
            },
            max_concurrency=1,  # one object at a time: Lambda concurrency stays at the inner map's
            result_writer_v2=ScopedWriter(
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
        acknowledge_wildcards(self.state_machine, self.bucket)

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
                    for key in ("textColumn", "idColumn", "allScores", "explain")
                },
            ),
            max_concurrency=concurrency,
            # A batch is one invoke of a few seconds: Express children cost per request, not per transition.
            map_execution_type=sfn.StateMachineType.EXPRESS,
            tolerated_failure_percentage=tolerated_failure_percent,
            result_writer_v2=ScopedWriter(
                self.bucket,
                "{% $states.input.output & $substringAfter($states.input.key, $states.input.prefix) %}",
                _json_lines(),
            ),
            outputs={"key": "{% $states.input.key %}", "results": "{% $states.result.ResultWriterDetails %}"},
        )
        rows.item_processor(score)
        return rows


def _json_lines() -> sfn.WriterConfig:
    """One JSONL line per child output element: each batch answers a list of rows, flattened."""
    return sfn.WriterConfig(output_type=sfn.OutputType.JSONL, transformation=sfn.Transformation.FLATTEN)


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
