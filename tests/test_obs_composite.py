"""Composite alarms: the AlarmRule language, its evaluation, and notifications through SNS.

Rule examples are the ones of ``PutCompositeAlarm`` (API reference) and "Creating a composite
alarm" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html).
"""

from __future__ import annotations

import itertools
import json

import pandas as pd
import pytest

from labs.errors import InputError
from labs.observability import composite
from labs.observability.composite import CompositeAlarm, evaluate_rule, parse_rule

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")


def test_the_guides_examples() -> None:
    rule = "ALARM(CPUUtilizationTooHigh) AND ALARM(DiskReadOpsTooHigh)"
    both = {"CPUUtilizationTooHigh": "ALARM", "DiskReadOpsTooHigh": "ALARM"}
    assert evaluate_rule(rule, both)
    assert not evaluate_rule(rule, {**both, "DiskReadOpsTooHigh": "OK"})
    rule = "ALARM(CPUUtilizationTooHigh) AND NOT ALARM(DeploymentInProgress)"
    assert evaluate_rule(rule, {"CPUUtilizationTooHigh": "ALARM", "DeploymentInProgress": "OK"})
    assert not evaluate_rule(
        rule, {"CPUUtilizationTooHigh": "ALARM", "DeploymentInProgress": "ALARM"}
    )
    rule = (
        '(ALARM("CPUUtilizationTooHigh") OR ALARM("DiskReadOpsTooHigh")) '
        'AND OK("NetworkOutTooHigh")'
    )
    states = {
        "CPUUtilizationTooHigh": "OK",
        "DiskReadOpsTooHigh": "ALARM",
        "NetworkOutTooHigh": "OK",
    }
    assert evaluate_rule(rule, states)
    assert not evaluate_rule(rule, {**states, "NetworkOutTooHigh": "ALARM"})


@pytest.mark.parametrize("a,b,c", list(itertools.product(STATES, repeat=3)))
def test_truth_table_of_a_nested_rule(a: str, b: str, c: str) -> None:
    rule = 'ALARM("a") AND (OK("b") OR NOT INSUFFICIENT_DATA("c"))'
    expected = a == "ALARM" and (b == "OK" or c != "INSUFFICIENT_DATA")
    assert evaluate_rule(rule, {"a": a, "b": b, "c": c}) is expected


def test_constants_and_precedence() -> None:
    assert evaluate_rule("TRUE", {}) and not evaluate_rule("FALSE", {})
    assert not evaluate_rule("FALSE OR TRUE AND FALSE", {})  # AND binds tighter than OR
    assert evaluate_rule("NOT FALSE AND TRUE", {})  # NOT binds tightest
    assert evaluate_rule("(FALSE OR TRUE) AND TRUE", {})
    assert parse_rule("FALSE OR TRUE AND FALSE").explain() == "FALSE OR (TRUE AND FALSE)"


def test_names_may_be_quoted_unquoted_or_arns() -> None:
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:my-alarm"
    rule = parse_rule(f'ALARM("{arn}") OR OK(my-alarm) OR ALARM("other alarm")')
    assert rule.alarms == ("my-alarm", "other alarm")


@pytest.mark.parametrize(
    ("rule", "offset", "words"),
    [
        ("", 0, "empty"),
        ('ALARM("a") AND', 14, "ends too early"),
        ("ALARM(a", 7, "Expected ')' to close ALARM("),
        ('alarm("a")', 0, "capitals"),
        ('WARN("a")', 0, "Expected a condition"),
        ('ALARM("a") OK("b")', 11, "join conditions with AND or OR"),
        ("(ALARM(a)", 9, "opened at offset 0"),
        ('ALARM("a)', 6, "never closed"),
        ("ALARM()", 6, "alarm name or ARN"),
        ("ALARM a", 6, "Expected '('"),
    ],
)
def test_invalid_rules_name_the_offset(rule: str, offset: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rule(rule)
    assert caught.value.where == f"alarm rule, offset {offset}"
    assert words in str(caught.value)


def test_limits() -> None:
    many = " OR ".join(f'ALARM("a{i}")' for i in range(101))
    with pytest.raises(InputError, match="at most 100"):
        parse_rule(many)
    with pytest.raises(InputError, match="10240"):
        parse_rule("TRUE OR " * 1300 + "TRUE")


def test_evaluate_needs_every_child_state() -> None:
    with pytest.raises(InputError, match="no state was given"):
        evaluate_rule('ALARM("a")', {})
    with pytest.raises(InputError, match="unknown state"):
        evaluate_rule('ALARM("a")', {"a": "RED"})


def test_a_composite_alarm_changes_state_and_records_dry_run_actions() -> None:
    alarm = CompositeAlarm(
        "c", 'ALARM("a") AND NOT ALARM("deploy")', alarm_actions=["arn:aws:sns:x:1:t"]
    )
    times = pd.date_range("2026-01-05T09:00Z", periods=4, freq="min")
    states = pd.DataFrame(
        {"a": ["OK", "ALARM", "ALARM", "OK"], "deploy": ["OK", "ALARM", "OK", "OK"]}, index=times
    )
    timeline = alarm.timeline(states)
    assert timeline["composite"].tolist() == ["OK", "OK", "ALARM", "OK"]
    assert alarm.history_frame()["new_state"].tolist() == ["OK", "ALARM", "OK"]
    assert [n["note"] for n in alarm.notifications] == ["dry run: nothing is sent"]
    with pytest.raises(InputError, match="no column for alarm"):
        alarm.timeline(states.drop(columns=["deploy"]))


def test_notifications_reach_an_sqs_queue_through_sns(ctx) -> None:
    sns, sqs = ctx.client("sns"), ctx.client("sqs")
    topic = sns.create_topic(Name="labs-test-composite")["TopicArn"]
    queue = sqs.create_queue(QueueName="labs-test-composite")["QueueUrl"]
    try:
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
        alarm = CompositeAlarm(
            "labs-test-page", "ALARM(a)", alarm_actions=[topic], ok_actions=[topic]
        )
        alarm.evaluate({"a": "ALARM"}, "2026-01-05T09:00Z", ctx)
        alarm.evaluate({"a": "ALARM"}, "2026-01-05T09:01Z", ctx)  # no change, no message
        alarm.evaluate({"a": "OK"}, "2026-01-05T09:02Z", ctx)
        bodies = [
            json.loads(json.loads(m["Body"])["Message"])
            for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        ]
        assert [(b["OldStateValue"], b["NewStateValue"]) for b in bodies] == [
            ("INSUFFICIENT_DATA", "ALARM"),
            ("ALARM", "OK"),
        ]
        assert bodies[0]["AlarmRule"] == "ALARM(a)"
        assert bodies[0]["AlarmArn"].endswith(":alarm:labs-test-page")
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=queue)


def test_the_emulator_has_no_composite_alarms(ctx) -> None:
    result = composite.put_composite_alarm(ctx, CompositeAlarm("labs-test-composite", "TRUE"))
    assert "the emulator has no composite alarms" in result
