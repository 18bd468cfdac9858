"""The Lambda function: the repository's Dockerfile built as a container image, behind a `live` alias."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Acknowledgment, Duration, Validations
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.log_group import retained_log_group

ALIAS_NAME = "live"
_ARCHITECTURES = {
    "x86_64": (lambda_.Architecture.X86_64, ecr_assets.Platform.LINUX_AMD64),
    "arm64": (lambda_.Architecture.ARM_64, ecr_assets.Platform.LINUX_ARM64),
}
_WILDCARD_REASON = (
    "Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource '*': X-Ray "
    "does not support resource-level permissions for them. Logs are scoped to the function's log group."
)


class SentimentFunction(Construct):
    """Container-image function with its own log group, least-privilege role and a `live` alias.

    The API and clients call the alias so provisioned concurrency (configured on the alias) is used and
    a deploy switches traffic atomically to the new version.

    Attributes:
        function: the DockerImageFunction.
        alias: the `live` alias the API integrates with.
        log_group: the function's log group (retention set here, deleted with the stack).
        role: the execution role.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        image_directory: Path,
        architecture: str,
        memory_mb: int,
        timeout_s: int,
        environment: dict[str, str],
        log_retention_days: int,
        reserved_concurrency: int | None,
        provisioned_concurrency: int,
        snap_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        lambda_architecture, platform = _ARCHITECTURES[architecture]
        self.log_group = retained_log_group(self, "Logs", retention_days=log_retention_days)
        # An explicit role instead of the default one: the default attaches the AWS-managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group); this one may write only its own logs.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Sentiment API function: write its own logs and X-Ray traces",
        )
        self.log_group.grant_write(self.role)
        # The asset is the repository root; its .dockerignore keeps venvs, data and build junk out of
        # both the Docker build context and the asset hash. Nothing but the platform goes into the build
        # command: the CDK CLI runs `$CDK_DOCKER build --tag T --platform P .` with
        # BUILDX_NO_DEFAULT_ATTESTATIONS=1, so buildx attaches no provenance and pushes one image manifest
        # (Lambda refuses an OCI index). `outputs` cannot help: BuildKit keeps the index whenever it
        # attests, and podman and Docker's legacy builder refuse --output=type=image.
        code = lambda_.DockerImageCode.from_image_asset(str(image_directory), platform=platform)
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=code,
            description="Sentiment analysis: ONNX int8 model behind a Powertools handler",
            architecture=lambda_architecture,
            memory_size=memory_mb,
            timeout=Duration.seconds(timeout_s),
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            reserved_concurrent_executions=reserved_concurrency,
            # The alias points at a published version, which is what SnapStart snapshots after its init.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
        )
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=ALIAS_NAME,
            version=self.function.current_version,
            provisioned_concurrent_executions=provisioned_concurrency or None,
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(id="AwsSolutions-IAM5[Resource::*]", reason=_WILDCARD_REASON)
        )
