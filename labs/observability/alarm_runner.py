"""The alarm runner: CloudWatch alarm evaluation and actions, which the local emulator only stores.

The emulator keeps alarms (``put_metric_alarm``) and datapoints, but never evaluates an alarm or
fires its actions (FACTS.md). :class:`AlarmRunner` does both, on the simulated clock:

1. reads each alarm's definition with ``describe_alarms``;
2. reads its datapoints for the evaluation range ending at the simulated time: SampleCount, Sum,
   Average, Minimum and Maximum with ``get_metric_data``; percentiles (``ExtendedStatistic``
   such as ``p99``), which the emulator cannot compute, from the raw values ``labs`` published
   (:mod:`labs.observability.published`). Not ``get_metric_statistics``: the emulator's matches
   dimensions as a *subset* (a query on ``Service=orders`` also sums the datapoints published
   with ``Service=orders, Version=v2``), whereas CloudWatch — and the emulator's
   ``get_metric_data`` — match the exact set of dimensions;
3. decides the state with :func:`labs.observability.alarms.evaluate` (periods, M out of N,
   ``TreatMissingData``);
4. on a change, writes it with ``set_alarm_state`` and delivers the actions of the new state
   (``AlarmActions``, ``OKActions``, ``InsufficientDataActions``): an SNS topic receives the same
   JSON message CloudWatch sends (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
   Other action types (Auto Scaling, EC2, Systems Manager) are recorded as not delivered.

Details where the emulator differs from CloudWatch: a new alarm in the emulator reports ``OK``
("Unchecked: Initial alarm creation"); CloudWatch starts every alarm in ``INSUFFICIENT_DATA``, so
the runner treats an unchecked alarm as INSUFFICIENT_DATA. ``StateUpdatedTimestamp`` is the
emulator's wall clock; the simulated time of each change is in ``StateReasonData`` and in the
frames the runner returns.

Without a context (a *dry run*) the runner evaluates :class:`~labs.observability.alarms.Alarm`
objects against a :class:`~labs.observability.published.MetricStore` and keeps the states in
memory: the same evaluation, no emulator. On the aws target CloudWatch evaluates alarms itself:
the runner only reads their states.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labs.errors import InputError
from labs.observability import alarms as alarm_rules
from labs.observability.alarms import ALARM, INSUFFICIENT_DATA, OK, Alarm
from labs.observability.published import MetricStore, client, ledger

__all__ = ["AlarmRunner", "alarm_message"]

_UNCHECKED = "Unchecked: Initial alarm creation"
_REGION_NAMES = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "eu-central-1": "EU (Frankfurt)",
}
_OPERATOR_WORDS = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


def _iso(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def alarm_message(
    alarm: Alarm,
    *,
    arn: str,
    account: str,
    region: str,
    old_state: str,
    new_state: str,
    reason: str,
    at: pd.Timestamp,
) -> tuple[str, str]:
    """Return the ``(subject, message)`` CloudWatch publishes to SNS when an alarm changes state.

    The JSON fields are those of CloudWatch's alarm notification (AlarmName, NewStateValue,
    OldStateValue, NewStateReason, StateChangeTime, Trigger, …).
    """
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "ExtendedStatistic" if alarm.extended_statistic else "Statistic",
        "Unit": alarm.unit,
        "Dimensions": [{"value": v, "name": k} for k, v in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": alarm.datapoints_to_alarm or alarm.evaluation_periods,
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": alarm.threshold,
        "TreatMissingData": alarm.effective_treat_missing_data,
        "EvaluateLowSampleCountPercentile": "",
    }
    if alarm.extended_statistic:
        trigger["ExtendedStatistic"] = alarm.extended_statistic
    else:
        trigger["Statistic"] = str(alarm.statistic).upper()
    message = {
        "AlarmName": alarm.alarm_name,
        "AlarmDescription": alarm.alarm_description,
        "AWSAccountId": account,
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": _iso(at),
        "Region": _REGION_NAMES.get(region, region),
        "AlarmArn": arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
        "Trigger": trigger,
    }
    subject = f'{new_state}: "{alarm.alarm_name}" in {_REGION_NAMES.get(region, region)}'
    return subject[:100], json.dumps(message)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _reason(alarm: Alarm, values: list[float], starts: list[pd.Timestamp], state: str) -> str:
    """A StateReason in CloudWatch's words, newest datapoint first."""
    n = alarm.evaluation_periods
    m = alarm.datapoints_to_alarm or n
    real = [(v, t) for v, t in zip(values, starts, strict=True) if not math.isnan(v)]
    words = _OPERATOR_WORDS[alarm.comparison_operator]
    if not real:
        return (
            f"Insufficient Data: no datapoints were received for {n} period(s); missing data is "
            f"treated as {alarm.effective_treat_missing_data}."
            if state == INSUFFICIENT_DATA
            else f"Threshold Crossed: no datapoints were received for {n} period(s) and they were "
            f"treated as {alarm.effective_treat_missing_data}."
        )
    recent = real[-n:]
    shown = ", ".join(f"{_number(v)} ({t.strftime('%H:%M')})" for v, t in reversed(recent))
    test = alarm_rules.COMPARISON_OPERATORS[alarm.comparison_operator]
    hits = sum(bool(test(v, alarm.threshold)) for v, _ in recent)
    if state == INSUFFICIENT_DATA:
        return (
            f"Insufficient Data: {len(recent)} datapoint(s) [{shown}] received, fewer than the "
            f"{n} evaluated."
        )
    return (
        f"Threshold Crossed: {hits} of the last {len(recent)} datapoint(s) [{shown}] "
        f"{'was' if hits == 1 else 'were'} {words} the threshold ({_number(alarm.threshold)}); "
        f"{m} needed for ALARM."
    )


@dataclass
class _Tracked:
    alarm: Alarm
    arn: str = ""
    state: str = INSUFFICIENT_DATA


@dataclass
class AlarmRunner:
    """Evaluate CloudWatch alarms on the simulated clock and deliver their actions.

    Args:
        ctx: The workshop context; ``None`` for a dry run (no emulator).
        alarms: Alarm names (read from CloudWatch) or :class:`Alarm` objects (required without
            a context).
        store: Datapoints for a dry run; by default the ledger of what this process published.
        evaluation_range: Periods looked back per evaluation; default ``EvaluationPeriods + 2``
            (see :func:`labs.observability.alarms.default_evaluation_range`).

    Attributes:
        history: One row per state change: time, alarm, old and new state, reason.
        notifications: One row per action: time, alarm, state, target ARN, delivered, message id.
    """

    ctx: Any | None
    alarms: Sequence[str | Alarm]
    store: MetricStore | None = None
    evaluation_range: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Load the alarm definitions (and their current states from the emulator)."""
        if isinstance(self.alarms, str | Alarm):
            self.alarms = [self.alarms]
        self._tracked: dict[str, _Tracked] = {}
        if self.ctx is None:
            for alarm in self.alarms:
                if not isinstance(alarm, Alarm):
                    raise InputError(
                        f"A dry run (no context) needs Alarm objects, got {alarm!r}.",
                        where="alarms",
                        hint="Pass Alarm(...) definitions, or a context to read named alarms.",
                    )
                self._tracked[alarm.alarm_name] = _Tracked(alarm)
            if self.store is None:
                self.store = MetricStore()
            return
        names = [a.alarm_name if isinstance(a, Alarm) else a for a in self.alarms]
        if self.store is None:
            self.store = ledger(self.ctx)
        self._load(names)

    def _load(self, names: list[str]) -> None:
        cloudwatch = client(self.ctx, "cloudwatch")
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(names), 100):
            response = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])
            found.update({a["AlarmName"]: a for a in response["MetricAlarms"]})
        missing = [n for n in names if n not in found]
        if missing:
            raise InputError(
                f"There is no CloudWatch alarm called {missing[0]!r}.",
                where="alarms",
                hint="Create it first with cloudwatch.put_metric_alarm(AlarmName=..., ...).",
            )
        for name in names:
            described = found[name]
            state = described.get("StateValue", INSUFFICIENT_DATA)
            if described.get("StateReason") == _UNCHECKED:
                state = INSUFFICIENT_DATA
            self._tracked[name] = _Tracked(
                Alarm.from_describe(described), described.get("AlarmArn", ""), state
            )

    @property
    def names(self) -> list[str]:
        """The names of the alarms this runner evaluates."""
        return list(self._tracked)

    def state(self, name: str) -> str:
        """The state of alarm ``name`` after the last evaluation."""
        return self._tracked[name].state

    def states(self) -> dict[str, str]:
        """Every alarm's state after the last evaluation."""
        return {name: t.state for name, t in self._tracked.items()}

    def _values(self, alarm: Alarm, starts: list[pd.Timestamp]) -> list[float]:
        statistic = alarm.extended_statistic or alarm.statistic
        assert statistic is not None and self.store is not None
        if self.ctx is None or alarm.extended_statistic:
            return [
                self.store.statistic(
                    alarm.namespace, alarm.metric_name, alarm.dimensions, t, alarm.period, statistic
                )
                for t in starts
            ]
        stat: dict[str, Any] = {
            "Metric": {
                "Namespace": alarm.namespace,
                "MetricName": alarm.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in alarm.dimensions],
            },
            "Period": alarm.period,
            "Stat": statistic,
        }
        if alarm.unit:
            stat["Unit"] = alarm.unit
        response = client(self.ctx, "cloudwatch").get_metric_data(
            MetricDataQueries=[{"Id": "alarm", "MetricStat": stat, "ReturnData": True}],
            StartTime=starts[0].to_pydatetime(),
            EndTime=(starts[-1] + pd.Timedelta(seconds=alarm.period)).to_pydatetime(),
        )
        result = response["MetricDataResults"][0]
        by_start = {
            pd.Timestamp(t).tz_convert("UTC"): float(v)
            for t, v in zip(result["Timestamps"], result["Values"], strict=True)
        }
        return [by_start.get(t, math.nan) for t in starts]

    def evaluate(self, at: Any) -> pd.DataFrame:
        """Evaluate every alarm at simulated time ``at``; write changes and deliver actions.

        The evaluation range is the ``evaluation_range`` whole periods that end at or before
        ``at`` (periods are aligned on multiples of the period, as CloudWatch's are).

        Returns:
            One row per alarm: ``alarm``, ``previous_state``, ``state``, ``changed``, ``value``
            (the newest datapoint, NaN if missing) and ``reason``.
        """
        now = pd.Timestamp(at)
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        rows = []
        if self.ctx is not None and not self.ctx.is_local:
            return self._read_states(now)
        for name, tracked in self._tracked.items():
            alarm = tracked.alarm
            width = self.evaluation_range or alarm_rules.default_evaluation_range(
                alarm.evaluation_periods
            )
            step = pd.Timedelta(seconds=alarm.period)
            end = now.floor(step)
            starts = [end - step * (width - i) for i in range(width)]
            values = self._values(alarm, starts)
            new = alarm_rules.evaluate(
                values,
                threshold=alarm.threshold,
                comparison_operator=alarm.comparison_operator,
                evaluation_periods=alarm.evaluation_periods,
                datapoints_to_alarm=alarm.datapoints_to_alarm,
                treat_missing_data=alarm.effective_treat_missing_data,
                current_state=tracked.state,
            )
            reason = _reason(alarm, values, starts, new)
            previous = tracked.state
            if new != previous:
                self._change(tracked, previous, new, reason, now, values[-1])
            rows.append(
                {
                    "alarm": name,
                    "previous_state": previous,
                    "state": new,
                    "changed": new != previous,
                    "value": values[-1],
                    "reason": reason,
                }
            )
        return pd.DataFrame(
            rows, columns=["alarm", "previous_state", "state", "changed", "value", "reason"]
        )

    def _change(
        self,
        tracked: _Tracked,
        previous: str,
        new: str,
        reason: str,
        at: pd.Timestamp,
        value: float,
    ) -> None:
        alarm = tracked.alarm
        tracked.state = new
        self.history.append(
            {"time": at, "alarm": alarm.alarm_name, "old_state": previous, "new_state": new,
             "reason": reason}
        )  # fmt: skip
        if self.ctx is not None:
            data = {"version": "1.0", "simulatedTime": _iso(at), "newestDatapoint": value}
            client(self.ctx, "cloudwatch").set_alarm_state(
                AlarmName=alarm.alarm_name,
                StateValue=new,
                StateReason=reason[:1023],
                StateReasonData=json.dumps(data, allow_nan=False)
                if math.isfinite(value)
                else json.dumps({**data, "newestDatapoint": None}),
            )
        if alarm.actions_enabled is False:
            return
        targets = {
            ALARM: alarm.alarm_actions,
            OK: alarm.ok_actions,
            INSUFFICIENT_DATA: alarm.insufficient_data_actions,
        }[new]
        for target in targets:
            self._deliver(tracked, target, previous, new, reason, at)

    def _deliver(
        self, tracked: _Tracked, target: str, previous: str, new: str, reason: str, at: pd.Timestamp
    ) -> None:
        row = {"time": at, "alarm": tracked.alarm.alarm_name, "state": new, "target": target,
               "delivered": False, "message_id": None, "note": ""}  # fmt: skip
        if self.ctx is None:
            row["note"] = "dry run: nothing is sent"
        elif target.startswith("arn:") and target.split(":")[2] == "sns":
            subject, message = alarm_message(
                tracked.alarm,
                arn=tracked.arn,
                account=self.ctx.account_id,
                region=self.ctx.region,
                old_state=previous,
                new_state=new,
                reason=reason,
                at=at,
            )
            response = client(self.ctx, "sns").publish(
                TopicArn=target, Subject=subject, Message=message
            )
            row.update(delivered=True, message_id=response["MessageId"])
        else:
            row["note"] = "only SNS actions are delivered locally"
        self.notifications.append(row)

    def _read_states(self, now: pd.Timestamp) -> pd.DataFrame:
        """On AWS: CloudWatch evaluates; report the states it holds."""
        described = client(self.ctx, "cloudwatch").describe_alarms(AlarmNames=self.names)
        rows = []
        for alarm in described["MetricAlarms"]:
            tracked = self._tracked[alarm["AlarmName"]]
            previous, tracked.state = tracked.state, alarm["StateValue"]
            rows.append(
                {"alarm": alarm["AlarmName"], "previous_state": previous, "state": tracked.state,
                 "changed": previous != tracked.state, "value": math.nan,
                 "reason": alarm.get("StateReason", "")}
            )  # fmt: skip
        return pd.DataFrame(rows)

    def history_frame(self) -> pd.DataFrame:
        """The state changes so far, oldest first."""
        return pd.DataFrame(
            self.history, columns=["time", "alarm", "old_state", "new_state", "reason"]
        )

    def notifications_frame(self) -> pd.DataFrame:
        """The actions delivered (or not) so far, oldest first."""
        return pd.DataFrame(
            self.notifications,
            columns=["time", "alarm", "state", "target", "delivered", "message_id", "note"],
        )
