"""Tests for labs.observability.alarms: CloudWatch alarm evaluation, M of N, missing data."""

from __future__ import annotations

import math

import botocore.session
import numpy as np
import pandas as pd
import pytest
from botocore.validate import validate_parameters

from labs.errors import InputError
from labs.observability import alarms
from labs.observability.alarms import Alarm, evaluate, evaluate_series

GTE = "GreaterThanOrEqualToThreshold"
THRESHOLD = 5.0
RETAIN = "retain"
TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")


def parse(pattern: str) -> list[float | None]:
    """The user guide's notation: 0 not breaching, X breaching, - missing; oldest first."""
    symbols = {"0": 1.0, "O": 1.0, "X": 9.0, "-": None}
    return [symbols[s] for s in pattern.split()]


# --------------------------------------------------------------------------------------------
# The user guide's two example tables, verbatim.
# Source: Amazon CloudWatch User Guide, "Configuring how CloudWatch alarms treat missing data",
# section "How alarm state is evaluated when data is missing",
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
# Columns: data points (oldest first, evaluation range 5), then the state for MISSING, IGNORE,
# BREACHING, NOT BREACHING. "Retain current state" is RETAIN.
# --------------------------------------------------------------------------------------------

# First table: Datapoints to Alarm 3, Evaluation Periods 3.
TABLE_3_OF_3 = [
    ("0 - X - X", "OK", "OK", "OK", "OK"),
    ("0 - - - -", "OK", "OK", "OK", "OK"),
    ("- - - - -", "INSUFFICIENT_DATA", RETAIN, "ALARM", "OK"),
    ("0 X X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("- - X - -", "ALARM", RETAIN, "ALARM", "OK"),
]

# Second table: Datapoints to Alarm 2, Evaluation Periods 3 (a 2 out of 3 alarm).
TABLE_2_OF_3 = [
    ("0 - X - X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 0 X 0 X", "ALARM", "ALARM", "ALARM", "ALARM"),
    ("0 - X - -", "OK", "OK", "ALARM", "OK"),
    ("- - - - 0", "OK", "OK", "ALARM", "OK"),
    ("- - - X -", "ALARM", RETAIN, "ALARM", "OK"),
]


def _cases(table: list[tuple[str, ...]], m: int) -> list[tuple[str, int, str, str]]:
    return [
        pytest.param(row[0], m, treatment, expected, id=f"{m}of3[{row[0]}]-{treatment}")
        for row in table
        for treatment, expected in zip(TREATMENTS, row[1:], strict=True)
    ]


@pytest.mark.parametrize("current", alarms.STATES)
@pytest.mark.parametrize(
    ("pattern", "m", "treatment", "expected"), _cases(TABLE_3_OF_3, 3) + _cases(TABLE_2_OF_3, 2)
)
def test_user_guide_tables(pattern: str, m: int, treatment: str, expected: str, current: str):
    state = evaluate(
        parse(pattern),
        threshold=THRESHOLD,
        comparison_operator=GTE,
        evaluation_periods=3,
        datapoints_to_alarm=m,
        treat_missing_data=treatment,
        current_state=current,
    )
    assert state == (current if expected == RETAIN else expected)


# "Avoiding premature transitions to alarm state" (same page): with Evaluation Periods 3,
# Datapoints to Alarm 3 and missing data treated as missing, "- - - - X" and "- - - X -" do not
# go to ALARM, "- - - X O" and "- - X - O" are OK, and "- - X - -" goes to ALARM.
@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("- - - - X", "INSUFFICIENT_DATA"),
        ("- - - X -", "INSUFFICIENT_DATA"),
        ("- - - X O", "OK"),
        ("- - X - O", "OK"),
        ("- - X - -", "ALARM"),
    ],
)
def test_premature_transition_examples(pattern: str, expected: str):
    state = evaluate(
        parse(pattern), threshold=THRESHOLD, comparison_operator=GTE, evaluation_periods=3
    )
    assert state == expected


# Rows of earlier revisions of the same section, whose tables the current page replaced by the
# premature-alarm rows (awsdocs/amazon-cloudwatch-user-guide, doc_source/AlarmThatSendsEmail.md,
# https://github.com/awsdocs/amazon-cloudwatch-user-guide). "- - - - X" is where the current page
# is silent about MISSING; the earlier tables say INSUFFICIENT_DATA, and so do we.
EARLIER_REVISION_ROWS = [
    ("- - - - X", 3, ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
    ("X - - - -", 3, ("ALARM", RETAIN, "ALARM", "OK")),
    ("- - - - X", 2, ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
]


@pytest.mark.parametrize(
    ("pattern", "m", "treatment", "expected"),
    [
        pytest.param(p, m, t, e, id=f"{m}of3[{p}]-{t}")
        for p, m, row in EARLIER_REVISION_ROWS
        for t, e in zip(TREATMENTS, row, strict=True)
    ],
)
def test_earlier_revision_rows(pattern: str, m: int, treatment: str, expected: str):
    for current in alarms.STATES:
        state = evaluate(
            parse(pattern),
            threshold=THRESHOLD,
            comparison_operator=GTE,
            evaluation_periods=3,
            datapoints_to_alarm=m,
            treat_missing_data=treatment,
            current_state=current,
        )
        assert state == (current if expected == RETAIN else expected)


# --------------------------------------------------------------------------------------------
# M out of N without missing data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "n", "m", "expected"),
    [
        ("X X X", 3, 3, "ALARM"),
        ("X 0 X", 3, 3, "OK"),
        ("X 0 X", 3, 2, "ALARM"),  # breaching datapoints need not be consecutive
        ("X 0 0", 3, 2, "OK"),
        ("0 X", 1, 1, "ALARM"),
        ("X 0", 1, 1, "OK"),
        ("X X 0 0 0", 3, 1, "OK"),  # only the N most recent datapoints count
        ("X X 0 0 X", 3, 1, "ALARM"),
        ("0 X 0 X 0 X 0", 5, 3, "OK"),
        ("0 X 0 X X X 0", 5, 3, "ALARM"),
        ("X X 0 - 0", 3, 2, "OK"),  # 4 real datapoints: the 3 most recent real ones count
        ("X X - X 0", 3, 2, "ALARM"),
    ],
)
def test_m_out_of_n(pattern: str, n: int, m: int, expected: str):
    for treatment in TREATMENTS:
        state = evaluate(
            parse(pattern),
            threshold=THRESHOLD,
            comparison_operator=GTE,
            evaluation_periods=n,
            datapoints_to_alarm=m,
            treat_missing_data=treatment,
        )
        assert state == expected, treatment


def test_datapoints_to_alarm_defaults_to_evaluation_periods():
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    assert evaluate(parse("X 0 X X"), **kwargs) == "OK"
    assert evaluate(parse("0 X X X"), **kwargs) == "ALARM"


def test_short_ranges_are_padded_with_missing_datapoints():
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    assert evaluate([9.0], **kwargs) == "INSUFFICIENT_DATA"
    assert evaluate([9.0], treat_missing_data="breaching", **kwargs) == "ALARM"
    assert evaluate([1.0], **kwargs) == "OK"


def test_nan_numpy_and_pandas_inputs_count_as_missing():
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    values = np.array([np.nan, np.nan, 9.0, np.nan, np.nan])
    assert evaluate(values, **kwargs) == "ALARM"  # the "- - X - -" row
    assert evaluate(pd.Series([None, pd.NA, 9.0, None, None], dtype=object), **kwargs) == "ALARM"
    assert evaluate([np.float32(9), 9, np.int64(9)], **kwargs) == "ALARM"


# --------------------------------------------------------------------------------------------
# The four missing-data treatments on their own
# --------------------------------------------------------------------------------------------


def test_breaching_fills_only_as_many_missing_datapoints_as_needed():
    # One real non-breaching point + two filled breaching ones: 2 < 3, so OK (the guide's row 2).
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    assert evaluate(parse("0 - - - -"), treat_missing_data="breaching", **kwargs) == "OK"
    # Once the real point leaves the range, the next evaluation alarms.
    assert evaluate(parse("- - - - -"), treat_missing_data="breaching", **kwargs) == "ALARM"


def test_not_breaching_never_alarms_on_missing_data_alone():
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    for pattern in ("- - - - -", "- - X - -", "X - X - -"):
        state = evaluate(parse(pattern), treat_missing_data="notBreaching", **kwargs)
        assert state == "OK"
    state = evaluate(
        parse("X - X - -"), treat_missing_data="notBreaching", datapoints_to_alarm=2, **kwargs
    )
    assert state == "ALARM"


@pytest.mark.parametrize("current", alarms.STATES)
def test_ignore_keeps_the_current_state_when_data_is_missing(current: str):
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    state = evaluate(
        parse("- - - - -"), treat_missing_data="ignore", current_state=current, **kwargs
    )
    assert state == current
    # ... but real data still decides when it can.
    assert (
        evaluate(parse("- - 0 - -"), treat_missing_data="ignore", current_state=current, **kwargs)
        == "OK"
    )
    assert (
        evaluate(parse("X X X - -"), treat_missing_data="ignore", current_state=current, **kwargs)
        == "ALARM"
    )


def test_missing_goes_to_insufficient_data_when_the_whole_range_is_missing():
    kwargs = {"threshold": THRESHOLD, "comparison_operator": GTE, "evaluation_periods": 3}
    for current in alarms.STATES:
        assert evaluate([None] * 5, current_state=current, **kwargs) == "INSUFFICIENT_DATA"


# --------------------------------------------------------------------------------------------
# Comparison operators at the threshold boundary
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "below", "at", "above"),
    [
        ("GreaterThanOrEqualToThreshold", "OK", "ALARM", "ALARM"),
        ("GreaterThanThreshold", "OK", "OK", "ALARM"),
        ("LessThanThreshold", "ALARM", "OK", "OK"),
        ("LessThanOrEqualToThreshold", "ALARM", "ALARM", "OK"),
    ],
)
def test_comparison_operators_at_the_boundary(operator: str, below: str, at: str, above: str):
    def state(value: float) -> str:
        return evaluate([value], threshold=5.0, comparison_operator=operator, evaluation_periods=1)

    assert (state(4.999), state(5.0), state(5.001)) == (below, at, above)
    assert state(5) == at  # an int equal to the threshold


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------

BASE = {"threshold": 5.0, "comparison_operator": GTE, "evaluation_periods": 3}


def test_datapoints_to_alarm_cannot_exceed_evaluation_periods():
    with pytest.raises(InputError) as err:
        evaluate([1.0], **{**BASE, "datapoints_to_alarm": 4})
    assert err.value.where == "datapoints_to_alarm"
    assert "M <= N" in str(err.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("evaluation_periods", 0),
        ("evaluation_periods", -1),
        ("evaluation_periods", 2.5),
        ("evaluation_periods", True),
        ("datapoints_to_alarm", 0),
        ("datapoints_to_alarm", "2"),
    ],
)
def test_periods_must_be_positive_integers(field: str, value: object):
    with pytest.raises(InputError) as err:
        evaluate([1.0], **{**BASE, field: value})
    assert err.value.where == field


def test_unknown_operator_lists_the_valid_ones():
    with pytest.raises(InputError) as err:
        evaluate([1.0], **{**BASE, "comparison_operator": "GreaterThan"})
    assert err.value.where == "comparison_operator"
    for name in alarms.COMPARISON_OPERATORS:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "operator",
    [
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    ],
)
def test_anomaly_detection_operators_are_not_supported(operator: str):
    with pytest.raises(InputError, match="anomaly-detection") as err:
        evaluate([1.0], **{**BASE, "comparison_operator": operator})
    assert err.value.where == "comparison_operator"


def test_treat_missing_data_is_case_sensitive_and_lists_valid_values():
    with pytest.raises(InputError) as err:
        evaluate([1.0], **BASE, treat_missing_data="NotBreaching")
    assert err.value.where == "treat_missing_data"
    assert all(name in str(err.value) for name in alarms.TREAT_MISSING_DATA)


def test_unknown_current_state():
    with pytest.raises(InputError) as err:
        evaluate([1.0], **BASE, current_state="Alarm")
    assert err.value.where == "current_state"
    assert "INSUFFICIENT_DATA" in str(err.value)


@pytest.mark.parametrize("threshold", [math.nan, math.inf, "5", None, True])
def test_threshold_must_be_a_finite_number(threshold: object):
    with pytest.raises(InputError) as err:
        evaluate([1.0], **{**BASE, "threshold": threshold})
    assert err.value.where == "threshold"


def test_values_must_be_numbers_and_name_the_bad_one():
    with pytest.raises(InputError) as err:
        evaluate([1.0, "7", 2.0], **BASE)
    assert err.value.where == "values[1]"
    with pytest.raises(InputError, match="empty"):
        evaluate([], **BASE)
    with pytest.raises(InputError) as err:
        evaluate("1 2 3", **BASE)
    assert err.value.where == "values"


def test_default_evaluation_range_matches_the_user_guide():
    assert alarms.default_evaluation_range(3) == 5
    with pytest.raises(InputError):
        alarms.default_evaluation_range(0)


# --------------------------------------------------------------------------------------------
# The Alarm definition
# --------------------------------------------------------------------------------------------

DESCRIBED = {
    "AlarmName": "orders-5xx",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-5xx",
    "AlarmDescription": "Roll back when the new version errors",
    "AlarmConfigurationUpdatedTimestamp": "2026-11-27T10:00:00Z",
    "ActionsEnabled": True,
    "OKActions": [],
    "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts"],
    "InsufficientDataActions": [],
    "StateValue": "INSUFFICIENT_DATA",
    "StateReason": "Unchecked: Initial alarm creation",
    "StateUpdatedTimestamp": "2026-11-27T10:00:00Z",
    "MetricName": "Errors",
    "Namespace": "Bookstore",
    "Statistic": "Sum",
    "Dimensions": [{"Name": "Service", "Value": "orders"}],
    "Period": 60,
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2,
    "Threshold": 5.0,
    "ComparisonOperator": GTE,
    "TreatMissingData": "notBreaching",
}


def _put_shape():
    model = botocore.session.get_session().get_service_model("cloudwatch")
    return model.operation_model("PutMetricAlarm").input_shape


def test_alarm_from_describe_and_back_to_put_kwargs():
    alarm = Alarm.from_describe(DESCRIBED)
    assert alarm.dimensions == (("Service", "orders"),)
    assert alarm.datapoints_to_alarm == 2
    kwargs = alarm.to_put_kwargs()
    validate_parameters(kwargs, _put_shape())  # botocore accepts it as put_metric_alarm input
    for key in (
        "AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions", "MetricName",
        "Namespace", "Statistic", "Dimensions", "Period", "EvaluationPeriods",
        "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData",
    ):  # fmt: skip
        assert kwargs[key] == DESCRIBED[key], key
    assert "OKActions" not in kwargs and "AlarmArn" not in kwargs and "StateValue" not in kwargs
    assert Alarm.from_describe({**kwargs}) == alarm


def test_alarm_with_a_percentile():
    entry = {k: v for k, v in DESCRIBED.items() if k != "Statistic"}
    alarm = Alarm.from_describe({**entry, "ExtendedStatistic": "p99", "MetricName": "Latency"})
    kwargs = alarm.to_put_kwargs()
    assert kwargs["ExtendedStatistic"] == "p99" and "Statistic" not in kwargs
    validate_parameters(kwargs, _put_shape())
    for good in ("p99.9", "p50", "tm90", "TM(10%:90%)", "IQM", "PR(100:2000)", "wm99"):
        Alarm.from_describe({**entry, "ExtendedStatistic": good})


def _alarm(**overrides: object) -> Alarm:
    fields = {
        "alarm_name": "a",
        "metric_name": "Errors",
        "namespace": "Bookstore",
        "period": 60,
        "evaluation_periods": 3,
        "threshold": 5.0,
        "comparison_operator": GTE,
        "statistic": "Sum",
    }
    fields.update(overrides)
    return Alarm(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "where"),
    [
        ({"period": 45}, "Period"),
        ({"period": 0}, "Period"),
        ({"period": 60, "evaluation_periods": 1441}, "EvaluationPeriods"),  # > 1 day
        ({"period": 3600, "evaluation_periods": 169}, "EvaluationPeriods"),  # > 7 days
        ({"datapoints_to_alarm": 4}, "DatapointsToAlarm"),
        ({"statistic": None}, "Statistic / ExtendedStatistic"),
        ({"extended_statistic": "p99"}, "Statistic / ExtendedStatistic"),
        ({"statistic": "Avg"}, "Statistic"),
        ({"statistic": None, "extended_statistic": "p101"}, "ExtendedStatistic"),
        ({"statistic": None, "extended_statistic": "99th"}, "ExtendedStatistic"),
        ({"comparison_operator": ">="}, "ComparisonOperator"),
        ({"treat_missing_data": "Breaching"}, "TreatMissingData"),
        ({"unit": "ms"}, "Unit"),
        ({"alarm_name": ""}, "AlarmName"),
        ({"alarm_name": "zürich"}, "AlarmName"),
        ({"namespace": ":x"}, "Namespace"),
        ({"threshold": "5"}, "Threshold"),
        ({"dimensions": [{"Name": "Service"}]}, "Dimensions[0]"),
        ({"alarm_actions": "arn:aws:sns:us-east-1:123456789012:alerts"}, "AlarmActions"),
    ],
)
def test_alarm_validation_names_the_field(overrides: dict[str, object], where: str):
    with pytest.raises(InputError) as err:
        _alarm(**overrides)
    assert err.value.where == where


def test_alarm_accepts_valid_edge_values():
    assert _alarm(period=10, evaluation_periods=8640).period == 10  # exactly one day
    assert _alarm(period=3600, evaluation_periods=168).evaluation_periods == 168  # seven days
    assert _alarm(dimensions={"Service": "orders"}).dimensions == (("Service", "orders"),)


def test_metric_math_alarms_are_refused():
    with pytest.raises(InputError, match="metric-math") as err:
        Alarm.from_describe({**DESCRIBED, "Metrics": [{"Id": "m1"}]})
    assert err.value.where == "Metrics"
    with pytest.raises(InputError) as err:
        Alarm.from_describe({k: v for k, v in DESCRIBED.items() if k != "Period"})
    assert err.value.where == "Period"


def test_dynamodb_alarms_default_to_ignore():
    assert _alarm().effective_treat_missing_data == "missing"
    assert _alarm(namespace="AWS/DynamoDB").effective_treat_missing_data == "ignore"
    dynamo = _alarm(namespace="AWS/DynamoDB", treat_missing_data="breaching")
    assert dynamo.effective_treat_missing_data == "breaching"


# --------------------------------------------------------------------------------------------
# Walking a series
# --------------------------------------------------------------------------------------------


def _series(values: list[float], start: str = "2026-11-27 10:01", period: int = 60) -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq=pd.Timedelta(seconds=period))
    return pd.Series(values, index=index, dtype=float)


def test_user_guide_figure_three_of_three():
    # "Evaluating an alarm" figure: threshold 3, 3 out of 3; periods 3-5 above the threshold
    # put the alarm in ALARM, period 6 dips below (OK), a single breach at period 9 stays OK.
    alarm = _alarm(threshold=3.0, comparison_operator="GreaterThanThreshold")
    frame = evaluate_series(alarm, _series([1, 2, 4, 4, 4, 2, 1, 2, 4, 1]))
    assert frame["state"].tolist() == ["OK"] * 4 + ["ALARM"] + ["OK"] * 5
    assert frame.loc[frame["changed"], "transition"].tolist() == [
        "INSUFFICIENT_DATA -> OK",
        "OK -> ALARM",
        "ALARM -> OK",
    ]


def test_series_reasons_read_like_cloudwatch():
    alarm = _alarm(datapoints_to_alarm=2)
    frame = evaluate_series(alarm, _series([1, 7, 8, np.nan, 2, 1]))
    assert frame["state"].tolist() == ["OK", "OK", "ALARM", "ALARM", "ALARM", "OK"]
    assert frame["reason"].iloc[2] == (
        "Threshold Crossed: 2 out of the last 3 datapoints [8.0 (27/11/26 10:03:00), "
        "7.0 (27/11/26 10:02:00)] were greater than or equal to the threshold (5.0) "
        "(minimum 2 datapoints for OK -> ALARM transition)."
    )
    assert (
        frame["reason"]
        .iloc[5]
        .startswith(
            "Threshold Crossed: 2 out of the last 3 datapoints [1.0 (27/11/26 10:06:00), "
            "2.0 (27/11/26 10:05:00)] were not greater than or equal to the threshold (5.0)"
        )
    )
    assert frame["reason"].iloc[5].endswith("(minimum 1 datapoint for ALARM -> OK transition).")
    assert frame["transition"].tolist() == [
        "INSUFFICIENT_DATA -> OK", "", "OK -> ALARM", "", "", "ALARM -> OK",
    ]  # fmt: skip
    assert list(frame.columns) == [
        "value", "breaching", "previous_state", "state", "changed", "transition", "reason",
    ]  # fmt: skip
    assert frame.index.name == "timestamp"
    assert frame["breaching"].isna().tolist() == [False, False, False, True, False, False]


def test_series_missing_data_reasons():
    breaching = evaluate_series(_alarm(treat_missing_data="breaching"), _series([np.nan] * 3))
    assert breaching["state"].iloc[-1] == "ALARM"
    assert breaching["reason"].iloc[-1] == (
        "Threshold Crossed: no datapoints were received for 3 periods and "
        "3 missing datapoints were treated as [Breaching]."
    )
    missing = evaluate_series(_alarm(), _series([np.nan, 9.0]))
    assert missing["state"].tolist() == ["INSUFFICIENT_DATA", "INSUFFICIENT_DATA"]
    assert missing["reason"].iloc[0].startswith("Insufficient Data: no datapoints were received")
    assert missing["reason"].iloc[1].startswith("Insufficient Data: only 1 datapoint [9.0")
    ignored = evaluate_series(
        _alarm(treat_missing_data="ignore"), _series([np.nan]), initial_state="OK"
    )
    assert ignored["state"].iloc[0] == "OK" and ignored["reason"].iloc[0].startswith("Unchanged")


def test_series_premature_alarm():
    # While a non-breaching datapoint is in the range the alarm stays OK; once the range is
    # "- - X - -" it goes to ALARM (the guide's premature-alarm row).
    frame = evaluate_series(_alarm(), _series([1, np.nan, np.nan, 9, np.nan, np.nan]))
    assert frame["state"].tolist() == ["OK"] * 5 + ["ALARM"]
    assert "at least DatapointsToAlarm (3)" in frame["reason"].iloc[-1]


def test_series_gaps_in_the_index_are_missing_periods():
    index = pd.to_datetime(["2026-11-27 10:01", "2026-11-27 10:02", "2026-11-27 10:05"])
    frame = evaluate_series(_alarm(treat_missing_data="breaching"), pd.Series([9, 9, 9], index))
    assert len(frame) == 5
    assert frame["value"].isna().tolist() == [False, False, True, True, False]
    # The first period is "- - - - X": 1 breaching + 2 filled as breaching = 3 of 3.
    assert frame["state"].tolist() == ["ALARM"] * 5
    assert frame["reason"].iloc[3].endswith("; 1 missing datapoint was treated as [Breaching].")


def test_series_states_agree_with_evaluate():
    rng = np.random.default_rng(7)
    values = rng.uniform(0, 10, 60)
    values[rng.random(60) < 0.35] = np.nan
    series = _series(values.tolist())
    for treatment in TREATMENTS:
        alarm = _alarm(evaluation_periods=4, datapoints_to_alarm=2, treat_missing_data=treatment)
        frame = evaluate_series(alarm, series, evaluation_range=6)
        state = "INSUFFICIENT_DATA"
        padded = [None] * 5 + [None if np.isnan(v) else v for v in values]
        for t in range(len(values)):
            state = evaluate(
                padded[t : t + 6],
                threshold=5.0,
                comparison_operator=GTE,
                evaluation_periods=4,
                datapoints_to_alarm=2,
                treat_missing_data=treatment,
                current_state=state,
            )
            assert frame["state"].iloc[t] == state


def test_series_unsorted_input_is_sorted():
    series = _series([1, 9, 9, 9]).iloc[::-1]
    assert evaluate_series(_alarm(), series)["state"].iloc[-1] == "ALARM"


@pytest.mark.parametrize(
    ("series", "where"),
    [
        ([1, 2, 3], "datapoints"),
        (pd.Series([], dtype=float), "datapoints"),
        (pd.Series([1.0, 2.0], index=["a", "b"]), "datapoints.index"),
        (
            pd.Series([1.0, 2.0], index=pd.to_datetime(["2026-11-27 10:01"] * 2)),
            "datapoints.index, 2026-11-27 10:01:00",
        ),
        (
            pd.Series(
                [1.0, 2.0], index=pd.to_datetime(["2026-11-27 10:01:00", "2026-11-27 10:01:30"])
            ),
            "datapoints.index, 2026-11-27 10:01:30",
        ),
        (
            pd.Series([1.0, "x"], index=pd.to_datetime(["2026-11-27 10:01", "2026-11-27 10:02"])),
            "datapoints, row 2026-11-27 10:02:00",
        ),
    ],
)
def test_series_validation(series: object, where: str):
    with pytest.raises(InputError) as err:
        evaluate_series(_alarm(), series)  # type: ignore[arg-type]
    assert err.value.where == where


def test_series_argument_validation():
    with pytest.raises(InputError) as err:
        evaluate_series(DESCRIBED, _series([1.0]))  # type: ignore[arg-type]
    assert err.value.where == "alarm"
    with pytest.raises(InputError) as err:
        evaluate_series(_alarm(), _series([1.0]), evaluation_range=2)
    assert err.value.where == "evaluation_range"
    with pytest.raises(InputError) as err:
        evaluate_series(_alarm(), _series([1.0]), initial_state="ok")
    assert err.value.where == "initial_state"
