"""Log groups with a retention in days, deleted with the stack: every log the stack's services write."""

from __future__ import annotations

from aws_cdk import CfnResource, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

# CDK's one-per-stack provider of `auto_delete_objects`: the function that empties a bucket before deletion.
AUTO_DELETE_PROVIDER = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


def retained_log_group(
    scope: Construct, construct_id: str, *, retention_days: int, name: str | None = None
) -> logs.LogGroup:
    """A log group kept `retention_days` days (a value CloudWatch accepts, checked by the settings).

    The days are set on the CloudFormation resource because the L2 construct only takes its named
    enum; `make destroy` removes the group so nothing keeps billing after the stack is gone. `name`
    is for a group a service writes to by its own naming rule (created here first, so the service
    does not create one outside the stack that never expires); otherwise CloudFormation names it.
    """
    group = logs.LogGroup(scope, construct_id, log_group_name=name, removal_policy=RemovalPolicy.DESTROY)
    cfn_group = group.node.default_child
    assert isinstance(cfn_group, logs.CfnLogGroup)
    cfn_group.retention_in_days = retention_days
    return group


def capture_auto_delete_logs(scope: Construct, construct_id: str, *, retention_days: int) -> logs.LogGroup:
    """Send the logs of CDK's bucket-emptying function (`auto_delete_objects`) to a group of the stack.

    CDK builds that function from raw CloudFormation with no log-group option, so Lambda would create
    /aws/lambda/<name> on its first run, without retention and outside the stack: `make destroy` would
    leave it behind for good. Its role (AWSLambdaBasicExecutionRole) may write to any group. Call it once
    the buckets that use the function exist.
    """
    handler = Stack.of(scope).node.find_child(AUTO_DELETE_PROVIDER).node.find_child("Handler")
    assert isinstance(handler, CfnResource)
    group = retained_log_group(scope, construct_id, retention_days=retention_days)
    handler.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
    return group
