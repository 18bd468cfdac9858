"""Lambda's account quotas against the stack's settings, read before `make deploy` builds anything.

New accounts start with reduced Lambda quotas (AWS, "Lambda quotas": "New AWS accounts have reduced
concurrency and memory quotas", raised automatically with use): a concurrency limit of 10, and at most
3,008 MB a function. A stack asking for more fails half-way through CloudFormation, after the image was
built and pushed (reserved or provisioned concurrency, memory), or its bulk runs are throttled.
GetAccountSettings gives the concurrency; no API gives the memory limit (Service Quotas lists none for
it), so memory above 3,008 MB on an account whose concurrency is still a new account's is a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from infra.settings import Settings, env_var

UNRESERVED_MINIMUM = 100  # Lambda refuses a reservation that leaves less of the account's concurrency
STANDARD_CONCURRENCY = 1_000  # the documented default limit: below it, the account is on new-account quotas
NEW_ACCOUNT_MAX_MEMORY_MB = 3_008
CONCURRENCY_QUOTA_CODE = "L-B99A9384"  # Service Quotas code of Lambda's "Concurrent executions"


@dataclass(frozen=True)
class Concurrency:
    """The account's Lambda concurrency in one region (GetAccountSettings' AccountLimit).

    Attributes:
        limit: ConcurrentExecutions, the account's limit.
        unreserved: UnreservedConcurrentExecutions, with the stack's function's own reservation added
            back: on a redeploy that reservation is replaced, not added.
    """

    limit: int
    unreserved: int


@dataclass
class Findings:
    """Problems refuse the deploy; notes are said before it goes ahead."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_concurrency(lambda_client: Any, cloudformation: Any, settings: Settings) -> Concurrency:
    """Read the account's concurrency; with reserved concurrency set, count the deployed function's back.

    Raises:
        botocore.exceptions.ClientError, BotoCoreError: a read failed.
    """
    limit = lambda_client.get_account_settings()["AccountLimit"]
    own = 0
    if settings.reserved_concurrency is not None:
        own = _deployed_reservation(lambda_client, cloudformation, settings.stack_name)
    return Concurrency(limit["ConcurrentExecutions"], limit["UnreservedConcurrentExecutions"] + own)


def _deployed_reservation(lambda_client: Any, cloudformation: Any, stack_name: str) -> int:
    try:
        (stack,) = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc):  # a first deploy
            return 0
        raise
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    if "FunctionName" not in outputs:
        return 0
    answer = lambda_client.get_function_concurrency(FunctionName=outputs["FunctionName"])
    return int(answer.get("ReservedConcurrentExecutions") or 0)


def quota_findings(settings: Settings, concurrency: Concurrency, region: str) -> Findings:
    """Each setting the account cannot take: one line naming the make variable and the quota to raise."""
    found = Findings()
    reservable = concurrency.unreserved - UNRESERVED_MINIMUM
    limit, unreserved = concurrency.limit, concurrency.unreserved
    pool = f"its Lambda concurrency in {region} is {limit}, {unreserved} of it unreserved"
    keeps = f"and Lambda keeps {UNRESERVED_MINIMUM} unreserved"
    reserved = settings.reserved_concurrency
    if reserved is not None and reserved > reservable:
        fix = f"{env_var('reserved_concurrency')}={reservable}"
        if reservable < 1:
            fix = f"{env_var('reserved_concurrency')}= (empty: no reservation)"
        found.problems.append(
            f"{env_var('reserved_concurrency')}={reserved} is more than this account can reserve ({pool}, "
            f"{keeps}): make deploy {fix}, or {_raise(concurrency, reserved - reservable, region)}"
        )
    provisioned = settings.provisioned_concurrency
    if provisioned > max(reservable, 0):
        found.problems.append(
            f"{env_var('provisioned_concurrency')}={provisioned} is more than this account can provision "
            f"({pool}, {keeps}): make deploy {env_var('provisioned_concurrency')}={max(reservable, 0)}, or "
            f"{_raise(concurrency, provisioned - reservable, region)}"
        )
    if settings.bulk and reserved is None and settings.bulk_concurrency > concurrency.unreserved:
        found.problems.append(
            f"{env_var('bulk_concurrency')}={settings.bulk_concurrency} runs more bulk batches at once than "
            f"the function may ({pool}), so they would be throttled: make deploy "
            f"{env_var('bulk_concurrency')}={concurrency.unreserved}, or "
            f"{_raise(concurrency, settings.bulk_concurrency - concurrency.unreserved, region)}"
        )
    if settings.memory_mb > NEW_ACCOUNT_MAX_MEMORY_MB and concurrency.limit < STANDARD_CONCURRENCY:
        found.notes.append(
            f"warning: {env_var('memory_mb')}={settings.memory_mb}, and this account's Lambda concurrency "
            f"limit ({concurrency.limit}) is a new account's: new accounts may not exceed "
            f"{NEW_ACCOUNT_MAX_MEMORY_MB:,} MB a function, a limit no AWS API reports; if the deploy fails "
            f"with 'MemorySize' ... 3008, run make deploy {env_var('memory_mb')}={NEW_ACCOUNT_MAX_MEMORY_MB} "
            "or ask AWS Support to raise it"
        )
    return found


def _raise(concurrency: Concurrency, shortfall: int, region: str) -> str:
    """The command asking for enough concurrency (at least the standard 1,000 new accounts grow to)."""
    wanted = max(concurrency.limit + shortfall, STANDARD_CONCURRENCY)
    return (
        "request more with `aws service-quotas request-service-quota-increase --service-code lambda "
        f"--quota-code {CONCURRENCY_QUOTA_CODE} --desired-value {wanted} --region {region}`"
    )
