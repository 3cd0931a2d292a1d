"""CloudWatch metric alarm evaluation: thresholds, M out of N, and missing data.

Pure functions and dataclasses: nothing here talks to AWS. The emulator stores alarms but never
evaluates them (FACTS.md), so the workshop's alarm runner feeds metric datapoints through
:func:`evaluate` / :func:`evaluate_series` and writes the resulting state back with
``set_alarm_state``.

The rules follow the CloudWatch user guide, "Configuring how CloudWatch alarms treat missing data"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html),
including its section "Avoiding premature transitions to alarm state":

* CloudWatch looks at an *evaluation range* that is longer than ``EvaluationPeriods`` (N): 5
  datapoints for N = 3 in the guide's examples.
* If the range holds at least N real datapoints, the N most recent real ones are evaluated and
  ``TreatMissingData`` does not matter.
* Otherwise every real datapoint in the range is evaluated, and missing ones are filled in "as few
  times as possible" (N minus the real ones) as the treatment says: ``breaching`` and
  ``notBreaching`` fill them; ``missing`` and ``ignore`` do not consider them.
* The alarm goes to ALARM when at least ``DatapointsToAlarm`` (M) evaluated datapoints breach,
  and to OK when fewer do, with two exceptions for ``missing`` and ``ignore`` when the real
  datapoints cannot settle it (all of them breach, but fewer than M):

  - the *premature alarm* rule: if the oldest breaching datapoint is at least M periods old and
    every more recent one is breaching or missing, ``missing`` goes to ALARM (``ignore`` keeps
    the current state, as in the guide's tables);
  - otherwise ``missing`` goes to INSUFFICIENT_DATA and ``ignore`` keeps the current state.

Every row of the guide's two example tables is a test in ``tests/test_alarms.py``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError

__all__ = [
    "COMPARISON_OPERATORS",
    "STATES",
    "TREAT_MISSING_DATA",
    "Alarm",
    "default_evaluation_range",
    "evaluate",
    "evaluate_series",
]

MISSING_DATA_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html"
)
PUT_METRIC_ALARM_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"
)
METRIC_ALARM_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html"
)

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
STATES: tuple[str, ...] = (OK, ALARM, INSUFFICIENT_DATA)
"""The three states of a metric alarm."""

TREAT_MISSING_DATA: tuple[str, ...] = ("missing", "notBreaching", "breaching", "ignore")
"""Valid ``TreatMissingData`` values; ``missing`` is the default."""

COMPARISON_OPERATORS: dict[str, Callable[[Any, float], Any]] = {
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "GreaterThanThreshold": lambda v, t: v > t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}
"""Static-threshold comparison operators: name -> ``f(value, threshold) -> breaching``."""

_OPERATOR_PHRASES = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
_ANOMALY_OPERATORS = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
_STATISTICS = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_EXTENDED_STATISTIC = re.compile(
    r"^(?:(?:p|tm|tc|ts|wm)(?P<pct>\d{1,3}(?:\.\d+)?)"
    r"|IQM"
    r"|PR\([^:()]*:[^:()]*\)"
    r"|(?:TM|TC|TS|WM)\(\d{1,3}(?:\.\d+)?%:\d{1,3}(?:\.\d+)?%\))$"
)
_UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------------------------


def _choices(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(
            f"{name} must be a whole number of periods, got {value!r}.",
            where=name,
            hint=f"Pass a positive integer, e.g. {name}=3.",
        )
    if value < 1:
        raise InputError(
            f"{name} must be at least 1, got {value}.",
            where=name,
            hint="CloudWatch needs at least one period to evaluate.",
        )
    return int(value)


def _check_operator(operator: Any, where: str = "comparison_operator") -> str:
    if operator in COMPARISON_OPERATORS:
        return operator
    if operator in _ANOMALY_OPERATORS:
        raise InputError(
            f"{operator!r} is an anomaly-detection operator, which this evaluator does not "
            "support: it compares against a band computed by an anomaly-detection model, not a "
            "static threshold.",
            where=where,
            hint=f"Use one of the static-threshold operators: {_choices(COMPARISON_OPERATORS)}.",
        )
    raise InputError(
        f"Unknown comparison operator {operator!r}.",
        where=where,
        hint=f"Valid values: {_choices(COMPARISON_OPERATORS)}.",
    )


def _check_treatment(treatment: Any, where: str = "treat_missing_data") -> str:
    if treatment in TREAT_MISSING_DATA:
        return treatment
    raise InputError(
        f"Unknown way to treat missing data {treatment!r}.",
        where=where,
        hint=f"Valid values (case matters): {_choices(TREAT_MISSING_DATA)}. See {MISSING_DATA_URL}",
    )


def _check_state(state: Any, where: str) -> str:
    if state in STATES:
        return state
    raise InputError(
        f"Unknown alarm state {state!r}.", where=where, hint=f"Valid values: {_choices(STATES)}."
    )


def _check_threshold(threshold: Any, where: str = "threshold") -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
    ):
        raise InputError(
            f"The threshold must be a finite number, got {threshold!r}.",
            where=where,
            hint="Pass the value the statistic is compared with, e.g. threshold=5.0.",
        )
    return float(threshold)


def _check_m_of_n(datapoints_to_alarm: Any, evaluation_periods: int, where: str) -> int:
    if datapoints_to_alarm is None:
        return evaluation_periods
    m = _check_positive_int(datapoints_to_alarm, where)
    if m > evaluation_periods:
        raise InputError(
            f"{where} ({m}) cannot be larger than the number of evaluation periods "
            f"({evaluation_periods}): an M out of N alarm needs M <= N.",
            where=where,
            hint=f"Use at most {evaluation_periods}, or raise the evaluation periods.",
        )
    return m


def _to_float_array(values: Iterable[Any]) -> np.ndarray:
    """Datapoints as floats, NaN for missing (``None``, NaN, ``pd.NA``)."""
    items = list(values)
    out = np.empty(len(items), dtype=float)
    for i, v in enumerate(items):
        if v is None or v is pd.NA or v is pd.NaT:
            out[i] = np.nan
        elif isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InputError(
                f"Datapoint {i} is {v!r}, which is not a number.",
                where=f"values[{i}]",
                hint="Pass numbers, with None (or NaN) for a missing datapoint.",
            )
        else:
            out[i] = float(v)
    return out


# --------------------------------------------------------------------------------------------
# The evaluation rule
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    """One evaluation: the new state (``None`` keeps the current one) and how it was reached."""

    state: str | None
    rule: str  # "threshold" | "filled" | "premature" | "insufficient" | "retained"
    used: tuple[int, ...] = ()  # indices of the real datapoints evaluated
    filled: tuple[int, ...] = ()  # indices of the missing datapoints filled in
    breaching: int = 0  # evaluated datapoints counted as breaching (real and filled)


def _decide(breach: Sequence[bool | None], n: int, m: int, treatment: str) -> _Outcome:
    """Apply CloudWatch's rule to one evaluation range (oldest first, ``None`` = missing)."""
    real = [i for i, b in enumerate(breach) if b is not None]
    if len(real) >= n:
        # Enough real datapoints: the N most recent ones decide, the treatment is not needed.
        used = tuple(real[-n:])
        hits = sum(bool(breach[i]) for i in used)
        return _Outcome(ALARM if hits >= m else OK, "threshold", used, (), hits)

    used = tuple(real)
    real_hits = sum(bool(breach[i]) for i in used)
    if treatment in ("breaching", "notBreaching"):
        # Fill the most recent missing datapoints, as few as needed to evaluate N.
        missing = [i for i, b in enumerate(breach) if b is None]
        filled = tuple(missing[len(missing) - (n - len(real)) :])
        hits = real_hits + (len(filled) if treatment == "breaching" else 0)
        return _Outcome(ALARM if hits >= m else OK, "filled", used, filled, hits)

    # "missing" and "ignore": missing datapoints are not considered.
    if real_hits >= m:
        return _Outcome(ALARM, "threshold", used, (), real_hits)
    if real_hits < len(real):
        # A real non-breaching datapoint in the range: the alarm is OK.
        return _Outcome(OK, "threshold", used, (), real_hits)
    if real:
        oldest_age = len(breach) - real[0]  # 1 = the most recent period
        if oldest_age >= m:
            # "Avoiding premature transitions to alarm state": the oldest breaching datapoint is
            # at least M periods old and everything more recent is breaching or missing.
            if treatment == "missing":
                return _Outcome(ALARM, "premature", used, (), real_hits)
            return _Outcome(None, "retained", used, (), real_hits)
    if treatment == "missing":
        return _Outcome(INSUFFICIENT_DATA, "insufficient", used, (), real_hits)
    return _Outcome(None, "retained", used, (), real_hits)


def _breach_flags(values: np.ndarray, threshold: float, operator: str) -> list[bool | None]:
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        hits = COMPARISON_OPERATORS[operator](values, threshold)
    return [None if miss else bool(hit) for miss, hit in zip(missing, hits, strict=True)]


def evaluate(
    values: Sequence[float | None],
    *,
    threshold: float,
    comparison_operator: str,
    evaluation_periods: int,
    datapoints_to_alarm: int | None = None,
    treat_missing_data: str = "missing",
    current_state: str = INSUFFICIENT_DATA,
) -> str:
    """Return the state a CloudWatch metric alarm moves to after evaluating ``values``.

    Mirrors "How alarm state is evaluated when data is missing" and "Avoiding premature
    transitions to alarm state" in
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
    (the module docstring sums the rules up).

    Args:
        values: The alarm's evaluation range, oldest first: one value of the alarm's statistic
            per period, ``None`` or NaN for a period with no datapoint. CloudWatch's range is
            longer than ``evaluation_periods`` (5 for 3 in the guide; see
            :func:`default_evaluation_range`); a shorter sequence is padded with missing
            datapoints on the old side.
        threshold: The value the statistic is compared with.
        comparison_operator: ``GreaterThanOrEqualToThreshold``, ``GreaterThanThreshold``,
            ``LessThanThreshold`` or ``LessThanOrEqualToThreshold``.
        evaluation_periods: N, the number of datapoints evaluated.
        datapoints_to_alarm: M, how many of them must breach for ALARM; defaults to N.
        treat_missing_data: ``missing`` (default), ``notBreaching``, ``breaching`` or ``ignore``.
        current_state: The alarm's state before this evaluation; ``ignore`` may keep it.

    Returns:
        ``"OK"``, ``"ALARM"`` or ``"INSUFFICIENT_DATA"``.

    Raises:
        InputError: For an unknown operator, treatment or state, M > N, a non-positive N or M,
            or a value that is not a number.
    """
    n = _check_positive_int(evaluation_periods, "evaluation_periods")
    m = _check_m_of_n(datapoints_to_alarm, n, "datapoints_to_alarm")
    operator = _check_operator(comparison_operator)
    treatment = _check_treatment(treat_missing_data)
    state = _check_state(current_state, "current_state")
    limit = _check_threshold(threshold)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InputError(
            f"values must be a sequence of datapoints, got {type(values).__name__}.",
            where="values",
            hint="Pass the evaluation range oldest first, e.g. [1.0, None, 7.0, None, 9.0].",
        )
    array = _to_float_array(values)
    if array.size == 0:
        raise InputError(
            "values is empty: there is no evaluation range to evaluate.",
            where="values",
            hint="Pass one entry per period, with None for periods without data "
            "(e.g. [None] * 5 when no data arrived at all).",
        )
    if array.size < n:
        array = np.concatenate([np.full(n - array.size, np.nan), array])
    outcome = _decide(_breach_flags(array, limit, operator), n, m, treatment)
    return outcome.state or state


def default_evaluation_range(evaluation_periods: int) -> int:
    """Return how many periods an alarm looks back: ``evaluation_periods + 2``.

    CloudWatch "attempts to retrieve a higher number of data points than specified by
    Evaluation Periods"; the exact number depends on the period and the metric's resolution and
    is not published. The guide's only worked example uses 5 for 3 evaluation periods
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html),
    which this default reproduces.
    """
    return _check_positive_int(evaluation_periods, "evaluation_periods") + 2


# --------------------------------------------------------------------------------------------
# The alarm definition
# --------------------------------------------------------------------------------------------


def _normalise_dimensions(dimensions: Any) -> tuple[tuple[str, str], ...]:
    if dimensions is None:
        return ()
    if isinstance(dimensions, Mapping):
        pairs = list(dimensions.items())
    else:
        pairs = []
        for i, item in enumerate(dimensions):
            if isinstance(item, Mapping):
                if "Name" not in item or "Value" not in item:
                    raise InputError(
                        f"Dimension {i} is {dict(item)!r}; it needs both 'Name' and 'Value'.",
                        where=f"Dimensions[{i}]",
                        hint='Write dimensions as [{"Name": "Service", "Value": "orders"}].',
                    )
                pairs.append((item["Name"], item["Value"]))
            elif isinstance(item, tuple | list) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise InputError(
                    f"Dimension {i} is {item!r}, not a Name/Value pair.",
                    where=f"Dimensions[{i}]",
                    hint='Write dimensions as [{"Name": "Service", "Value": "orders"}].',
                )
    for i, (name, value) in enumerate(pairs):
        if not isinstance(name, str) or not name or not isinstance(value, str):
            raise InputError(
                f"Dimension {i} has name {name!r} and value {value!r}; both must be strings.",
                where=f"Dimensions[{i}]",
                hint='Write dimensions as [{"Name": "Service", "Value": "orders"}].',
            )
    if len(pairs) > 30:
        raise InputError(
            f"An alarm can have at most 30 dimensions, got {len(pairs)}.", where="Dimensions"
        )
    return tuple((str(k), str(v)) for k, v in pairs)


@dataclass(frozen=True)
class Alarm:
    """A CloudWatch metric alarm on a static threshold, as ``put_metric_alarm`` defines it.

    Field names are the snake_case of ``PutMetricAlarm``'s parameters
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
    Metric-math and anomaly-detection alarms are out of scope. Validation follows the API
    reference: exactly one of ``statistic`` / ``extended_statistic``; a period of 10, 20, 30 or
    a multiple of 60 seconds; ``period * evaluation_periods`` at most one day for periods under
    an hour and at most seven days otherwise; M <= N.

    Attributes:
        alarm_name: ``AlarmName``.
        metric_name: ``MetricName``.
        namespace: ``Namespace``, e.g. ``"Bookstore"`` or ``"AWS/ApplicationELB"``.
        period: ``Period`` in seconds.
        evaluation_periods: ``EvaluationPeriods`` (N).
        threshold: ``Threshold``.
        comparison_operator: ``ComparisonOperator``.
        statistic: ``Statistic``: SampleCount, Average, Sum, Minimum or Maximum.
        extended_statistic: ``ExtendedStatistic``, e.g. ``"p99"``.
        dimensions: ``Dimensions`` as ``(name, value)`` pairs (a list of ``{"Name", "Value"}``
            dicts or a mapping is accepted too).
        datapoints_to_alarm: ``DatapointsToAlarm`` (M); ``None`` means M = N.
        treat_missing_data: ``TreatMissingData``; ``None`` means not set (CloudWatch's default).
        alarm_description: ``AlarmDescription``.
        unit: ``Unit``.
        actions_enabled: ``ActionsEnabled``.
        alarm_actions: ``AlarmActions`` (ARNs, e.g. an SNS topic).
        ok_actions: ``OKActions``.
        insufficient_data_actions: ``InsufficientDataActions``.
    """

    alarm_name: str
    metric_name: str
    namespace: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison_operator: str
    statistic: str | None = None
    extended_statistic: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    datapoints_to_alarm: int | None = None
    treat_missing_data: str | None = None
    alarm_description: str | None = None
    unit: str | None = None
    actions_enabled: bool | None = None
    alarm_actions: tuple[str, ...] = field(default=())
    ok_actions: tuple[str, ...] = field(default=())
    insufficient_data_actions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        """Validate every field as ``PutMetricAlarm`` would, and normalise the collections."""
        set_ = object.__setattr__
        for attr, aws in (
            ("alarm_name", "AlarmName"),
            ("metric_name", "MetricName"),
            ("namespace", "Namespace"),
        ):
            value = getattr(self, attr)
            if not isinstance(value, str) or not 1 <= len(value) <= 255:
                raise InputError(
                    f"{aws} must be a string of 1 to 255 characters, got {value!r}.", where=aws
                )
        if not self.alarm_name.isascii():
            raise InputError(
                f"AlarmName {self.alarm_name!r} has non-ASCII characters.",
                where="AlarmName",
                hint="Alarm names must contain only ASCII characters.",
            )
        if self.namespace.startswith(":"):
            raise InputError(
                f"Namespace {self.namespace!r} cannot start with ':'.", where="Namespace"
            )
        period = _check_positive_int(self.period, "Period")
        if period not in (10, 20, 30) and period % 60:
            raise InputError(
                f"Period {period} s is not valid.",
                where="Period",
                hint="Valid periods are 10, 20, 30 and any multiple of 60 seconds.",
            )
        n = _check_positive_int(self.evaluation_periods, "EvaluationPeriods")
        limit, words = (86_400, "one day") if period < 3600 else (604_800, "seven days")
        if period * n > limit:
            raise InputError(
                f"Period x EvaluationPeriods is {period * n} s, longer than {words} ({limit} s).",
                where="EvaluationPeriods",
                hint="Use fewer evaluation periods or a longer period.",
            )
        set_(self, "period", period)
        set_(self, "evaluation_periods", n)
        set_(self, "datapoints_to_alarm", _m_or_none(self.datapoints_to_alarm, n))
        set_(self, "threshold", _check_threshold(self.threshold, "Threshold"))
        _check_operator(self.comparison_operator, "ComparisonOperator")
        if (self.statistic is None) == (self.extended_statistic is None):
            raise InputError(
                "Give exactly one of Statistic and ExtendedStatistic.",
                where="Statistic / ExtendedStatistic",
                hint='e.g. statistic="Average", or extended_statistic="p99" for a percentile.',
            )
        if self.statistic is not None and self.statistic not in _STATISTICS:
            raise InputError(
                f"Unknown statistic {self.statistic!r}.",
                where="Statistic",
                hint=f"Valid values: {_choices(_STATISTICS)}; percentiles such as 'p99' go in "
                "ExtendedStatistic.",
            )
        if self.extended_statistic is not None:
            _check_extended_statistic(self.extended_statistic)
        if self.treat_missing_data is not None:
            _check_treatment(self.treat_missing_data, "TreatMissingData")
        if self.unit is not None and self.unit not in _UNITS:
            raise InputError(
                f"Unknown unit {self.unit!r}.",
                where="Unit",
                hint=f"Valid values: {_choices(_UNITS)}.",
            )
        set_(self, "dimensions", _normalise_dimensions(self.dimensions))
        for attr, aws in (
            ("alarm_actions", "AlarmActions"),
            ("ok_actions", "OKActions"),
            ("insufficient_data_actions", "InsufficientDataActions"),
        ):
            actions = getattr(self, attr)
            if actions is None:
                actions = ()
            if isinstance(actions, str) or not all(isinstance(a, str) for a in actions):
                raise InputError(
                    f"{aws} must be a list of ARNs, got {actions!r}.",
                    where=aws,
                    hint='e.g. alarm_actions=["arn:aws:sns:us-east-1:123456789012:alerts"].',
                )
            if len(actions) > 5:
                raise InputError(
                    f"{aws} can hold at most 5 actions, got {len(actions)}.", where=aws
                )
            set_(self, attr, tuple(actions))

    @property
    def effective_treat_missing_data(self) -> str:
        """Return how missing data is treated when evaluating: the setting, or its default.

        The default is ``missing``, except that alarms on ``AWS/DynamoDB`` metrics default to
        ``ignore`` (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
        """
        if self.treat_missing_data is not None:
            return self.treat_missing_data
        return "ignore" if self.namespace == "AWS/DynamoDB" else "missing"

    @classmethod
    def from_describe(cls, metric_alarm: Mapping[str, Any]) -> Alarm:
        """Build an alarm from one ``MetricAlarms`` entry of ``describe_alarms``.

        Mirrors the MetricAlarm shape
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html);
        state fields (``StateValue``, ``StateReason``, …) and the ARN are ignored.

        Args:
            metric_alarm: e.g. ``client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]``.

        Raises:
            InputError: For metric-math or anomaly-detection alarms, or a missing field.
        """
        if not isinstance(metric_alarm, Mapping):
            raise InputError(
                f"Expected one MetricAlarms entry (a dict), got {type(metric_alarm).__name__}.",
                where="metric_alarm",
                hint='Pass client.describe_alarms(...)["MetricAlarms"][0].',
            )
        name = metric_alarm.get("AlarmName", "?")
        if metric_alarm.get("Metrics") or metric_alarm.get("ThresholdMetricId"):
            raise InputError(
                f"Alarm {name!r} is a metric-math or anomaly-detection alarm, which this "
                "evaluator does not model.",
                where="Metrics",
                hint="Use an alarm on a single metric with a static threshold.",
            )
        required = (
            "AlarmName", "MetricName", "Namespace", "Period", "EvaluationPeriods", "Threshold",
            "ComparisonOperator",
        )  # fmt: skip
        absent = [key for key in required if metric_alarm.get(key) is None]
        if absent:
            raise InputError(
                f"Alarm {name!r} has no {', '.join(absent)}.",
                where=absent[0],
                hint="Pass an entry of describe_alarms()['MetricAlarms'] for a metric alarm.",
            )
        return cls(
            alarm_name=metric_alarm["AlarmName"],
            metric_name=metric_alarm["MetricName"],
            namespace=metric_alarm["Namespace"],
            period=metric_alarm["Period"],
            evaluation_periods=metric_alarm["EvaluationPeriods"],
            threshold=metric_alarm["Threshold"],
            comparison_operator=metric_alarm["ComparisonOperator"],
            statistic=metric_alarm.get("Statistic"),
            extended_statistic=metric_alarm.get("ExtendedStatistic"),
            dimensions=metric_alarm.get("Dimensions") or (),
            datapoints_to_alarm=metric_alarm.get("DatapointsToAlarm"),
            treat_missing_data=metric_alarm.get("TreatMissingData"),
            alarm_description=metric_alarm.get("AlarmDescription"),
            unit=metric_alarm.get("Unit"),
            actions_enabled=metric_alarm.get("ActionsEnabled"),
            alarm_actions=tuple(metric_alarm.get("AlarmActions") or ()),
            ok_actions=tuple(metric_alarm.get("OKActions") or ()),
            insufficient_data_actions=tuple(metric_alarm.get("InsufficientDataActions") or ()),
        )

    def to_put_kwargs(self) -> dict[str, Any]:
        """Return the keyword arguments of ``cloudwatch.put_metric_alarm`` for this alarm.

        Mirrors https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html;
        optional fields that are not set are left out.
        """
        kwargs: dict[str, Any] = {
            "AlarmName": self.alarm_name,
            "MetricName": self.metric_name,
            "Namespace": self.namespace,
            "Period": self.period,
            "EvaluationPeriods": self.evaluation_periods,
            "Threshold": self.threshold,
            "ComparisonOperator": self.comparison_operator,
        }
        optional = {
            "Statistic": self.statistic,
            "ExtendedStatistic": self.extended_statistic,
            "DatapointsToAlarm": self.datapoints_to_alarm,
            "TreatMissingData": self.treat_missing_data,
            "AlarmDescription": self.alarm_description,
            "Unit": self.unit,
            "ActionsEnabled": self.actions_enabled,
        }
        kwargs.update({key: value for key, value in optional.items() if value is not None})
        if self.dimensions:
            kwargs["Dimensions"] = [{"Name": k, "Value": v} for k, v in self.dimensions]
        for key, actions in (
            ("AlarmActions", self.alarm_actions),
            ("OKActions", self.ok_actions),
            ("InsufficientDataActions", self.insufficient_data_actions),
        ):
            if actions:
                kwargs[key] = list(actions)
        return kwargs


def _m_or_none(datapoints_to_alarm: Any, n: int) -> int | None:
    if datapoints_to_alarm is None:
        return None
    return _check_m_of_n(datapoints_to_alarm, n, "DatapointsToAlarm")


def _check_extended_statistic(statistic: Any) -> None:
    match = _EXTENDED_STATISTIC.match(statistic) if isinstance(statistic, str) else None
    if match is None or (match.group("pct") is not None and float(match.group("pct")) > 100):
        raise InputError(
            f"Unknown extended statistic {statistic!r}.",
            where="ExtendedStatistic",
            hint="Use a percentile such as 'p99' or 'p99.9', a trimmed statistic such as 'tm90' "
            "or 'TM(10%:90%)', 'IQM' or 'PR(n:m)'.",
        )


# --------------------------------------------------------------------------------------------
# Walking a series period by period
# --------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return repr(float(value))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _verb(count: int) -> str:
    return "was" if count == 1 else "were"


def _reason(
    outcome: _Outcome,
    *,
    values: np.ndarray,
    labels: Sequence[str],
    breach: Sequence[bool | None],
    alarm_n: int,
    alarm_m: int,
    threshold: float,
    operator: str,
    treatment: str,
    previous: str,
    new: str,
) -> str:
    """A StateReason in CloudWatch's style for one evaluation."""
    phrase = _OPERATOR_PHRASES[operator]
    limit = _number(threshold)

    def point(i: int) -> str:
        if np.isnan(values[i]):
            return "missing"
        return f"{_number(values[i])} ({labels[i]})" if labels[i] else _number(values[i])

    if outcome.rule == "retained":
        return (
            "Unchanged: missing datapoints are ignored (TreatMissingData=ignore) and the "
            f"datapoints received do not settle the state, so the alarm stays {new}."
        )
    if outcome.rule == "insufficient":
        if not outcome.used:
            return (
                "Insufficient Data: no datapoints were received for "
                f"{_plural(alarm_n, 'period')} and {_plural(alarm_n, 'missing datapoint')} "
                f"{_verb(alarm_n)} treated as [Missing]."
            )
        got = len(outcome.used)
        shown = ", ".join(point(i) for i in reversed(outcome.used))
        return (
            f"Insufficient Data: only {_plural(got, 'datapoint')} [{shown}] {_verb(got)} received "
            f"in the last {len(breach)} periods, all {phrase} the threshold ({limit}): fewer than "
            f"the {alarm_m} needed for ALARM and too recent to alarm early."
        )
    if outcome.rule == "filled" and not outcome.used:
        label = "Breaching" if treatment == "breaching" else "NonBreaching"
        return (
            f"Threshold Crossed: no datapoints were received for {_plural(alarm_n, 'period')} and "
            f"{_plural(alarm_n, 'missing datapoint')} {_verb(alarm_n)} treated as [{label}]."
        )

    evaluated = outcome.used + outcome.filled
    total = len(evaluated)
    filled_breach = treatment == "breaching"
    if new == ALARM:
        picked = [i for i in outcome.used if breach[i]]
        picked += [i for i in outcome.filled if filled_breach]
        negation = ""
    else:
        picked = [i for i in outcome.used if not breach[i]]
        picked += [i for i in outcome.filled if not filled_breach]
        negation = "not "
    picked.sort(reverse=True)  # CloudWatch lists the most recent datapoint first
    shown = ", ".join(point(i) for i in picked)
    text = (
        f"Threshold Crossed: {len(picked)} out of the last {total} datapoints "
        f"[{shown}] {_verb(len(picked))} {negation}{phrase} the threshold ({limit})"
    )
    if outcome.filled:
        label = "Breaching" if treatment == "breaching" else "NonBreaching"
        count = len(outcome.filled)
        text += f"; {_plural(count, 'missing datapoint')} {_verb(count)} treated as [{label}]"
    elif len(outcome.used) < alarm_n:
        count = alarm_n - len(outcome.used)
        text += f"; {_plural(count, 'missing datapoint')} {_verb(count)} not considered"
    if outcome.rule == "premature":
        age = len(breach) - min(outcome.used)
        text += (
            f"; the oldest breaching datapoint is {age} periods old, at least DatapointsToAlarm "
            f"({alarm_m}), and every more recent datapoint is breaching or missing, so the alarm "
            "does not wait for more data"
        )
    if previous == OK and new == ALARM and outcome.rule != "premature":
        text += f" (minimum {_plural(alarm_m, 'datapoint')} for OK -> ALARM transition)"
    elif previous == ALARM and new == OK:
        text += " (minimum 1 datapoint for ALARM -> OK transition)"
    return text + "."


def _series_on_period_grid(datapoints: Any, period: int) -> pd.Series:
    """Validate the series and reindex it onto one row per period (NaN = missing)."""
    if not isinstance(datapoints, pd.Series):
        raise InputError(
            f"datapoints must be a pandas Series, got {type(datapoints).__name__}.",
            where="datapoints",
            hint="Index the values by period-end timestamp: pd.Series(values, index=timestamps).",
        )
    if datapoints.empty:
        raise InputError(
            "datapoints is empty: there is nothing to evaluate.",
            where="datapoints",
            hint="Pass at least one period; use NaN for periods without data.",
        )
    try:
        index = pd.DatetimeIndex(datapoints.index)
    except (TypeError, ValueError) as exc:
        raise InputError(
            "The datapoints must be indexed by timestamp.",
            where="datapoints.index",
            hint="Use pd.to_datetime(...) on the index (period-end times).",
        ) from exc
    series = pd.Series(datapoints.to_numpy(), index=index)
    duplicated = index[index.duplicated()]
    if len(duplicated):
        raise InputError(
            f"Timestamp {duplicated[0]} appears more than once.",
            where=f"datapoints.index, {duplicated[0]}",
            hint="Aggregate to one value per period first, e.g. "
            f"series.resample('{period}s', label='right', closed='right').mean().",
        )
    series = series.sort_index()
    numeric = pd.to_numeric(series, errors="coerce").astype(float)
    bad = numeric.isna() & series.notna()
    if bad.any():
        stamp = bad[bad].index[0]
        raise InputError(
            f"The datapoint at {stamp} is {series[stamp]!r}, which is not a number.",
            where=f"datapoints, row {stamp}",
            hint="Use numbers, and NaN for a period without data.",
        )
    step = pd.Timedelta(seconds=period)
    offsets = numeric.index - numeric.index[0]
    off_grid = (offsets % step) != pd.Timedelta(0)
    if off_grid.any():
        stamp = numeric.index[np.argmax(off_grid)]
        raise InputError(
            f"Timestamp {stamp} is not a whole number of periods ({period} s) after the first "
            f"one ({numeric.index[0]}).",
            where=f"datapoints.index, {stamp}",
            hint="Aggregate the raw values to the alarm's period first, e.g. "
            f"series.resample('{period}s', label='right', closed='right').mean().",
        )
    grid = pd.date_range(numeric.index[0], numeric.index[-1], freq=step)
    return numeric.reindex(grid)


def evaluate_series(
    alarm: Alarm,
    datapoints: pd.Series,
    *,
    initial_state: str = INSUFFICIENT_DATA,
    evaluation_range: int | None = None,
) -> pd.DataFrame:
    """Evaluate ``alarm`` once per period over ``datapoints``, as CloudWatch would.

    At each period the evaluation range ends at that period and reaches back
    ``evaluation_range`` periods (periods before the series starts, and periods absent from the
    index, count as missing). The state, a StateReason in CloudWatch's style (datapoint times
    are the index labels, written dd/mm/yy HH:MM:SS as CloudWatch does) and the transition are
    recorded per period. Rules: "Configuring how CloudWatch alarms treat missing data",
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html.

    Args:
        alarm: The alarm definition.
        datapoints: One value of the alarm's statistic per period, indexed by period-end
            timestamp; NaN (or a period left out of the index) is a missing datapoint.
        initial_state: The state before the first period; a new alarm is INSUFFICIENT_DATA.
        evaluation_range: Periods looked at per evaluation; defaults to
            :func:`default_evaluation_range` (``EvaluationPeriods + 2``). At least N.

    Returns:
        One row per period (index: period end), with columns ``value`` (float, NaN = missing),
        ``breaching`` (boolean, NA = missing), ``previous_state``, ``state``, ``changed``
        (bool), ``transition`` (``"OK -> ALARM"`` or ``""``) and ``reason``.

    Raises:
        InputError: If ``alarm`` is not an :class:`Alarm`, the series is empty, not indexed by
            time, has duplicate or off-period timestamps or non-numeric values, or the range is
            shorter than N.
    """
    if not isinstance(alarm, Alarm):
        raise InputError(
            f"alarm must be an Alarm, got {type(alarm).__name__}.",
            where="alarm",
            hint="Build one with Alarm(...) or Alarm.from_describe(describe_alarms entry).",
        )
    state = _check_state(initial_state, "initial_state")
    n = alarm.evaluation_periods
    m = alarm.datapoints_to_alarm or n
    width = default_evaluation_range(n) if evaluation_range is None else evaluation_range
    width = _check_positive_int(width, "evaluation_range")
    if width < n:
        raise InputError(
            f"evaluation_range ({width}) is shorter than EvaluationPeriods ({n}).",
            where="evaluation_range",
            hint="CloudWatch always looks at least N periods back; leave it unset for N + 2.",
        )
    treatment = alarm.effective_treat_missing_data
    series = _series_on_period_grid(datapoints, alarm.period)

    values = series.to_numpy(dtype=float)
    missing = np.isnan(values)
    with np.errstate(invalid="ignore"):
        hits = COMPARISON_OPERATORS[alarm.comparison_operator](values, alarm.threshold)
    # Windows of `width` periods ending at each period, padded with missing on the old side.
    padded_values = np.concatenate([np.full(width - 1, np.nan), values])
    windows = np.lib.stride_tricks.sliding_window_view(padded_values, width)
    stamps = series.index.strftime("%d/%m/%y %H:%M:%S").tolist()
    padded_labels = [""] * (width - 1) + stamps

    states: list[str] = []
    previous_states: list[str] = []
    reasons: list[str] = []
    for t in range(len(values)):
        window = windows[t]
        flags = _breach_flags(window, alarm.threshold, alarm.comparison_operator)
        outcome = _decide(flags, n, m, treatment)
        new = outcome.state or state
        reasons.append(
            _reason(
                outcome,
                values=window,
                labels=padded_labels[t : t + width],
                breach=flags,
                alarm_n=n,
                alarm_m=m,
                threshold=alarm.threshold,
                operator=alarm.comparison_operator,
                treatment=treatment,
                previous=state,
                new=new,
            )
        )
        previous_states.append(state)
        states.append(new)
        state = new

    frame = pd.DataFrame(
        {
            "value": values,
            "breaching": pd.array(np.where(missing, None, hits), dtype="boolean"),
            "previous_state": previous_states,
            "state": states,
        },
        index=series.index.rename("timestamp"),
    )
    frame["changed"] = frame["state"] != frame["previous_state"]
    frame["transition"] = np.where(
        frame["changed"], frame["previous_state"] + " -> " + frame["state"], ""
    )
    frame["reason"] = reasons
    return frame
