"""Log groups with a retention in days, deleted with the stack."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Construct


def retained_log_group(scope: Construct, construct_id: str, *, retention_days: int) -> logs.LogGroup:
    """A log group kept `retention_days` days (a value CloudWatch accepts, checked by the settings).

    The days are set on the CloudFormation resource because the L2 construct only takes its named
    enum; `make destroy` removes the group so nothing keeps billing after the stack is gone.
    """
    group = logs.LogGroup(scope, construct_id, removal_policy=RemovalPolicy.DESTROY)
    cfn_group = group.node.default_child
    assert isinstance(cfn_group, logs.CfnLogGroup)
    cfn_group.retention_in_days = retention_days
    return group
