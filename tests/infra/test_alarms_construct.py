"""Alarms (5XX and 4XX shares, Lambda errors, throttles, p99 duration) -> SNS topic, and the dashboard."""

from __future__ import annotations

import json
from typing import Any

from infra_synth import ACCOUNT, REGION, Synthesized, only, resources


def alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    """Alarm properties keyed by the alarm's construct id (the logical id's prefix after Monitoring)."""
    found = {}
    for logical_id, alarm in resources(synth, "AWS::CloudWatch::Alarm").items():
        name = next(
            n
            for n in ("Api5xxRate", "Api4xxRate", "LambdaErrors", "LambdaThrottles", "LatencyP99")
            if n in logical_id
        )
        found[name] = alarm["Properties"]
    return found


def test_five_alarms_notify_the_topic_on_alarm_and_recovery(default_stack: Synthesized) -> None:
    found = alarms(default_stack)
    assert len(found) == 5
    (topic_id,) = resources(default_stack, "AWS::SNS::Topic")
    for props in found.values():
        assert props["AlarmActions"] == [{"Ref": topic_id}]
        assert props["OKActions"] == [{"Ref": topic_id}]
        assert props["TreatMissingData"] == "notBreaching"


def test_function_error_alarms_fire_on_the_first_occurrence(default_stack: Synthesized) -> None:
    found = alarms(default_stack)
    for name, metric in {"LambdaErrors": "Errors", "LambdaThrottles": "Throttles"}.items():
        props = found[name]
        assert (props["MetricName"], props["Statistic"], props["Threshold"]) == (metric, "Sum", 1)
        assert (props["EvaluationPeriods"], props["Period"]) == (1, 300)


def test_5xx_alarm_is_a_share_over_two_periods_never_one_answer(default_stack: Synthesized) -> None:
    # A caller can cause a 5XX alone (an event over Lambda's 6 MB: API Gateway answers 500 itself).
    props = alarms(default_stack)["Api5xxRate"]
    (expression,) = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
    assert expression == "IF(server_errors >= 3, 100 * server_errors / requests, 0)"
    stats = {m["Id"]: m["MetricStat"] for m in props["Metrics"] if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {"Count", "5XXError"}
    dimensions = {d["Name"]: d["Value"] for d in stats["server_errors"]["Metric"]["Dimensions"]}
    assert dimensions["ApiName"] == "SentimentApi"  # the stack's API, not another one in the account
    assert set(dimensions) == {"ApiName", "Stage"}
    assert (props["Threshold"], props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 2, 2)


def test_latency_alarm_needs_fifteen_minutes_of_slow_p99(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    for synth, threshold in ((default_stack, 3000), (options_stack, 1500)):
        props = alarms(synth)["LatencyP99"]
        assert (props["MetricName"], props["ExtendedStatistic"], props["Threshold"]) == (
            "Duration",
            "p99",
            threshold,
        )
        assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (3, 3)


def test_4xx_rate_alarm_is_a_guarded_percentage(default_stack: Synthesized) -> None:
    props = alarms(default_stack)["Api4xxRate"]
    (expression,) = [m["Expression"] for m in props["Metrics"] if "Expression" in m]
    assert expression == "IF(requests >= 20, 100 * errors / requests, 0)"
    names = {m["MetricStat"]["Metric"]["MetricName"] for m in props["Metrics"] if "MetricStat" in m}
    assert names == {"Count", "4XXError"}
    assert (props["Threshold"], props["EvaluationPeriods"]) == (25, 3)


def test_topic_requires_tls_and_email_is_optional(
    default_stack: Synthesized, options_stack: Synthesized
) -> None:
    statements = only(default_stack, "AWS::SNS::TopicPolicy")["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    assert not resources(default_stack, "AWS::SNS::Subscription")
    subscription = only(options_stack, "AWS::SNS::Subscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")


def cloudwatch_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]


def test_cloudwatch_may_publish_this_accounts_alarms(regional_stack: Synthesized) -> None:
    """enforce_ssl's policy replaces SNS's default one: without this Allow, no alarm reaches anyone."""
    (topic_id,) = resources(regional_stack, "AWS::SNS::Topic")
    (policy,) = resources(regional_stack, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["Topics"] == [{"Ref": topic_id}]
    assert cloudwatch_statements(policy) == [
        {
            "Sid": "AllowThisAccountsAlarms",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": {"Ref": topic_id},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
            },
        }
    ]


def test_offline_template_scopes_the_publish_to_the_deploying_account(default_stack: Synthesized) -> None:
    (policy,) = resources(default_stack, "AWS::SNS::TopicPolicy").values()
    (statement,) = cloudwatch_statements(policy)
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    source = json.dumps(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert all(ref in source for ref in ("AWS::Partition", "AWS::Region", "AWS::AccountId", ":alarm:*"))


def test_every_alarm_notifies_a_topic_cloudwatch_may_publish_to(regional_stack: Synthesized) -> None:
    """The bulk alarm included: every alarm and OK action goes to a topic whose policy lets CloudWatch in."""
    publishable = {
        topic["Ref"]
        for policy in resources(regional_stack, "AWS::SNS::TopicPolicy").values()
        if cloudwatch_statements(policy)
        for topic in policy["Properties"]["Topics"]
    }
    found = resources(regional_stack, "AWS::CloudWatch::Alarm")
    assert len(found) == 6  # the five service alarms and the bulk one
    for logical_id, alarm in found.items():
        targets = alarm["Properties"]["AlarmActions"] + alarm["Properties"]["OKActions"]
        assert targets, logical_id
        assert all(target["Ref"] in publishable for target in targets), logical_id


def test_dashboard_shows_the_alarms_and_metrics(default_stack: Synthesized) -> None:
    body = json.dumps(only(default_stack, "AWS::CloudWatch::Dashboard")["DashboardBody"])
    for alarm_id in resources(default_stack, "AWS::CloudWatch::Alarm"):
        assert alarm_id in body
    for metric in ("5XXError", "4XXError", "Latency", "Invocations", "Duration", "Throttles"):
        assert metric in body
    # The handler's EMF metrics, in its namespace with Powertools' service dimension.
    for metric in ("ModelLatency", "TextsPerRequest", "Windows", "TruncatedTexts"):
        assert f'\\"SentimentApi\\",\\"{metric}\\",\\"service\\",\\"sentiment-api\\"' in body
