"""What the bulk state machine may touch in S3, and why each wildcard left is needed.

CDK's S3 item readers and result writer grant the state machine the whole bucket (s3:ListBucket on it,
s3:GetObject on every object); these subclasses narrow their statements to the input and output prefixes.
The data bucket is encrypted (SSE-S3), TLS-only, private, with server access logs in a bucket of its own;
both are emptied and deleted with the stack.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

INPUT_PREFIX = "input/"
OUTPUT_PREFIX = "results/"
# As cdk-nag writes the ARN in a finding: the partition, region and account are `<AWS::Region>`-style
# placeholders in an offline synth and literals in one for an account and region (`make deploy`).
_EXECUTIONS = (
    "arn:{partition}:states:{region}:{account}:execution:"
    '{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine}"}}]}}]}}'
)
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


class ScopedObjects(sfn.S3ObjectsItemReader):
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


class ScopedJsonL(sfn.S3JsonLItemReader):
    """JSONL rows of one object, readable under the input prefix only."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_input(self.bucket)


class ScopedCsv(sfn.S3CsvItemReader):
    """CSV rows (header in the first row) of one object, readable under the input prefix only."""

    def provide_policy_statements(self) -> list[iam.PolicyStatement]:
        return _read_input(self.bucket)


class ScopedWriter(sfn.ResultWriterV2):
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


def acknowledge_wildcards(machine: sfn.StateMachine, bucket: s3.Bucket) -> None:
    """One acknowledgment per wildcard finding of cdk-nag's IAM5, each with its reason."""
    stack = Stack.of(machine)
    names = {
        "bucket": stack.resolve(stack.get_logical_id(bucket.node.default_child)),
        "machine": stack.resolve(stack.get_logical_id(machine.node.default_child)),
        "partition": _as_nag_writes(stack, stack.partition),
        "region": _as_nag_writes(stack, stack.region),
        "account": _as_nag_writes(stack, stack.account),
    }
    for resource, reason in _WILDCARDS.items():
        finding = f"AwsSolutions-IAM5[Resource::{resource.format(**names)}]"
        Validations.of(machine).acknowledge(
            Acknowledgment(id=finding, reason=f"Bulk state machine role {reason}.")
        )


def _as_nag_writes(stack: Stack, value: str) -> str:
    """A pseudo parameter as cdk-nag names it in a finding (`<AWS::Region>`), a literal as it is."""
    resolved = stack.resolve(value)
    return f"<{resolved['Ref']}>" if isinstance(resolved, dict) else str(resolved)


def data_bucket(scope: Construct) -> s3.Bucket:
    """The data bucket and its access-log bucket, both emptied and deleted by `make destroy`.

    They hold copies (files uploaded for scoring), results to download and access records: a stack that
    is gone leaves no bucket to find and pay for. CDK's auto-delete function first denies new objects (so
    late access-log deliveries cannot refill a bucket), then empties it, when the stack is deleted.
    """
    logs = s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        removal_policy=RemovalPolicy.DESTROY,
        auto_delete_objects=True,
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
        removal_policy=RemovalPolicy.DESTROY,
        auto_delete_objects=True,
    )
