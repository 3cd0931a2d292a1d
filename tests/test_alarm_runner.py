"""Tests for the alarm runner: CloudWatch alarm evaluation, state written back, SNS delivered."""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from labs.errors import InputError
from labs.observability.alarm_runner import AlarmRunner, alarm_message
from labs.observability.alarms import Alarm
from labs.observability.clock import SimClock
from labs.observability.published import MetricStore
from labs.observability.traffic import NAMESPACE, TrafficSimulator, publish

T0 = pd.Timestamp("2026-01-05T09:00:00Z")
ERROR_RATE = dict(
    metric_name="ErrorRate", namespace=NAMESPACE, period=60, evaluation_periods=3,
    threshold=1.0, comparison_operator="GreaterThanThreshold", statistic="Average",
    dimensions=[("Service", "orders")],
)  # fmt: skip


@pytest.fixture
def inbox(ctx):
    """An SNS topic with an SQS queue subscribed to it; deleted afterwards."""
    suffix = uuid.uuid4().hex[:8]
    sns, sqs = ctx.client("sns"), ctx.client("sqs")
    topic = sns.create_topic(Name=f"labs-test-alarms-{suffix}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"labs-test-inbox-{suffix}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["QueueArn"])
    try:
        yield topic, queue
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=queue)


def _messages(ctx, queue: str) -> list[dict]:
    out = []
    while True:
        got = ctx.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
        if not got.get("Messages"):
            return out
        out += [json.loads(json.loads(m["Body"])["Message"]) for m in got["Messages"]]


def _traffic(ctx, clock: SimClock, runner: AlarmRunner, shares: list[dict]) -> list[str]:
    sim = TrafficSimulator(seed=21)
    states = []
    for weights in shares:
        publish(ctx, sim.step(clock.now, weights))
        clock.advance(60)
        states.append(runner.evaluate(clock.now)["state"].iloc[0])
    return states


def test_runner_writes_state_and_the_subscribed_queue_gets_the_notifications(ctx, inbox):
    topic, queue = inbox
    name = f"labs-test-errors-{uuid.uuid4().hex[:8]}"
    cloudwatch = ctx.client("cloudwatch")
    alarm = Alarm(
        name, **ERROR_RATE, datapoints_to_alarm=2, alarm_actions=[topic], ok_actions=[topic]
    )
    cloudwatch.put_metric_alarm(**alarm.to_put_kwargs())
    try:
        clock = SimClock.reserve(ctx, 20)
        runner = AlarmRunner(ctx, [name])
        assert runner.state(name) == "INSUFFICIENT_DATA"  # the emulator's "Unchecked" OK
        states = _traffic(ctx, clock, runner, [{"v1": 1}] * 2 + [{"v1": 1, "v2-bad": 1}] * 3)
        assert states == ["OK", "OK", "OK", "ALARM", "ALARM"]  # 2 of 3 breaching
        described = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
        assert described["StateValue"] == "ALARM"
        reason_data = json.loads(described["StateReasonData"])
        assert pd.Timestamp(reason_data["simulatedTime"]) == clock.now - pd.Timedelta(minutes=1)
        states = _traffic(ctx, clock, runner, [{"v1": 1}] * 3)
        assert states[-1] == "OK"
        messages = _messages(ctx, queue)
        assert [m["NewStateValue"] for m in messages] == ["OK", "ALARM", "OK"]
        alarm_note = messages[1]
        assert alarm_note["AlarmName"] == name and alarm_note["OldStateValue"] == "OK"
        assert alarm_note["Trigger"]["MetricName"] == "ErrorRate"
        assert alarm_note["Trigger"]["Statistic"] == "AVERAGE"
        assert runner.notifications_frame()["delivered"].all()
        assert list(runner.history_frame()["new_state"]) == ["OK", "ALARM", "OK"]
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_percentile_alarm_reads_the_ledger(ctx):
    name = f"labs-test-p99-{uuid.uuid4().hex[:8]}"
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name, Namespace=NAMESPACE, MetricName="Latency", Period=60,
        EvaluationPeriods=1, Threshold=800.0, ComparisonOperator="GreaterThanThreshold",
        ExtendedStatistic="p99", Dimensions=[{"Name": "Service", "Value": "orders"}],
    )  # fmt: skip
    try:
        clock = SimClock.reserve(ctx, 10)
        runner = AlarmRunner(ctx, name)
        states = _traffic(ctx, clock, runner, [{"v1": 1}, {"v1": 9, "v2-slow": 1}])
        assert states == ["OK", "ALARM"]
        assert runner.evaluate(clock.now)["value"].iloc[0] > 800
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_dry_run_m_of_n_and_missing_data():
    store = MetricStore()
    alarm = Alarm("dry", **{**ERROR_RATE, "treat_missing_data": "breaching"}, datapoints_to_alarm=2)
    runner = AlarmRunner(None, [alarm], store=store)
    values = [0.0, 5.0, 0.0, 5.0]
    states = []
    for i, value in enumerate(values):
        stamp = T0 + pd.Timedelta(minutes=i)
        dims = [{"Name": "Service", "Value": "orders"}]
        datum = {"MetricName": "ErrorRate", "Value": value, "Timestamp": stamp, "Dimensions": dims}
        store.add(NAMESPACE, [datum])
        states.append(runner.evaluate(stamp + pd.Timedelta(minutes=1))["state"].iloc[0])
    assert states == ["ALARM", "ALARM", "OK", "ALARM"]  # missing periods count as breaching
    assert runner.notifications_frame().empty


def test_runner_refuses_unknown_alarms_and_names_without_a_context(ctx):
    with pytest.raises(InputError, match="no CloudWatch alarm"):
        AlarmRunner(ctx, ["labs-test-no-such-alarm"])
    with pytest.raises(InputError, match="Alarm objects"):
        AlarmRunner(None, ["a-name"])


def test_alarm_message_has_cloudwatch_shape():
    alarm = Alarm("a", **ERROR_RATE)
    subject, message = alarm_message(
        alarm, arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:a", account="123456789012",
        region="us-east-1", old_state="OK", new_state="ALARM", reason="why", at=T0,
    )  # fmt: skip
    body = json.loads(message)
    assert subject == 'ALARM: "a" in US East (N. Virginia)'
    assert body["StateChangeTime"] == "2026-01-05T09:00:00.000+0000"
    assert body["Trigger"]["Dimensions"] == [{"value": "orders", "name": "Service"}]
