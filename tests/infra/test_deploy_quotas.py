"""Lambda quotas against the settings (infra/lambda_quotas.py): what a new account (concurrency 10, at most
3,008 MB) refuses, said in one line naming the make variable and the quota increase to request. The
account's answers are GetAccountSettings' numbers; tests/infra/test_deploy_preflight.py reads them through
stubbed clients."""

from __future__ import annotations

import pytest

from infra.lambda_quotas import Concurrency, quota_findings
from infra.settings import Settings

NEW_ACCOUNT = Concurrency(limit=10, unreserved=10)
STANDARD = Concurrency(limit=1000, unreserved=1000)
RAISE = (
    "request more with `aws service-quotas request-service-quota-increase --service-code lambda "
    "--quota-code L-B99A9384 --desired-value {} --region eu-west-1`"
)


def problems(settings: Settings, concurrency: Concurrency) -> list[str]:
    return quota_findings(settings, concurrency, "eu-west-1").problems


def test_the_defaults_fit_a_new_account() -> None:
    found = quota_findings(Settings(), NEW_ACCOUNT, "eu-west-1")
    assert (found.problems, found.notes) == ([], [])


def test_a_new_account_cannot_reserve_any_concurrency() -> None:
    assert problems(Settings(reserved_concurrency=5), NEW_ACCOUNT) == [
        "SENTIMENT_RESERVED_CONCURRENCY=5 is more than this account can reserve (its Lambda concurrency in "
        "eu-west-1 is 10, 10 of it unreserved, and Lambda keeps 100 unreserved): make deploy "
        "SENTIMENT_RESERVED_CONCURRENCY= (empty: no reservation), or " + RAISE.format(1000)
    ]


def test_a_reservation_is_bounded_by_what_other_functions_left_unreserved() -> None:
    (line,) = problems(Settings(reserved_concurrency=500), Concurrency(limit=1000, unreserved=400))
    assert "make deploy SENTIMENT_RESERVED_CONCURRENCY=300, or " in line
    assert line.endswith(RAISE.format(1200))  # 200 short of 500: the limit must grow by as much
    assert problems(Settings(reserved_concurrency=300), Concurrency(limit=1000, unreserved=400)) == []


def test_provisioned_concurrency_needs_the_same_unreserved_margin() -> None:
    (line,) = problems(Settings(provisioned_concurrency=2), NEW_ACCOUNT)
    assert line.startswith("SENTIMENT_PROVISIONED_CONCURRENCY=2 is more than this account can provision")
    assert "make deploy SENTIMENT_PROVISIONED_CONCURRENCY=0, or " + RAISE.format(1000) in line
    assert problems(Settings(provisioned_concurrency=2), STANDARD) == []


def test_bulk_batches_beyond_the_accounts_concurrency_are_refused() -> None:
    (line,) = problems(Settings(bulk=True), NEW_ACCOUNT)
    assert line == (
        "SENTIMENT_BULK_CONCURRENCY=50 runs more bulk batches at once than the function may (its Lambda "
        "concurrency in eu-west-1 is 10, 10 of it unreserved), so they would be throttled: make deploy "
        "SENTIMENT_BULK_CONCURRENCY=10, or " + RAISE.format(1000)
    )
    assert problems(Settings(bulk=True, bulk_concurrency=10), NEW_ACCOUNT) == []
    assert problems(Settings(bulk=False), NEW_ACCOUNT) == []  # no bulk part, no bulk batches
    assert problems(Settings(bulk=True), STANDARD) == []


def test_every_conflict_is_its_own_line() -> None:
    settings = Settings(reserved_concurrency=5, provisioned_concurrency=5)
    variables = [line.split("=")[0] for line in problems(settings, NEW_ACCOUNT)]
    assert variables == ["SENTIMENT_RESERVED_CONCURRENCY", "SENTIMENT_PROVISIONED_CONCURRENCY"]


@pytest.mark.parametrize(
    ("memory_mb", "concurrency", "warned"),
    [(4096, NEW_ACCOUNT, True), (3008, NEW_ACCOUNT, False), (4096, STANDARD, False)],
)
def test_memory_above_3008_mb_on_a_new_looking_account_is_a_warning(memory_mb, concurrency, warned) -> None:
    """No AWS API reports the memory limit: a warning the deploy goes on after, never a refusal."""
    found = quota_findings(Settings(memory_mb=memory_mb), concurrency, "eu-west-1")
    assert found.problems == []
    assert bool(found.notes) is warned
    if warned:
        (note,) = found.notes
        assert note.startswith("warning: SENTIMENT_MEMORY_MB=4096, and this account's Lambda concurrency")
        assert "make deploy SENTIMENT_MEMORY_MB=3008" in note
