"""Metrics: percentiles, resolution rules, metric math, EMF documents and their extraction.

Sources: "CloudWatch statistics definitions" (percentiles), ``MetricStat.Period`` and
``GetMetricStatistics`` in the API reference (resolution and retention), "Using metric math",
and "Specification: Embedded metric format"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from botocore.exceptions import ClientError

from labs.errors import CheckFailed, InputError
from labs.observability import checks, emf, metrics, published
from labs.observability.alarms import Alarm
from labs.observability.clock import SimClock

# --------------------------------------------------------------------------------------------
# Statistics and percentiles
# --------------------------------------------------------------------------------------------


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert metrics.percentile(values, 50) == 50
    assert metrics.percentile(values, 99) == 99
    assert metrics.percentile(values, 99.5) == 100
    assert metrics.percentile([5.0], 99) == 5.0
    assert np.isnan(metrics.percentile([], 50))
    # With fewer than 100 values, p99 is the largest value.
    assert metrics.percentile(list(range(1, 55)), 99) == 54


def test_percentile_bounds() -> None:
    with pytest.raises(InputError, match="0 to 100"):
        metrics.percentile([1, 2], 101)


def test_statistics() -> None:
    stats = metrics.statistics([1, 2, 3, 4, 100])
    assert stats["SampleCount"] == 5 and stats["Sum"] == 110 and stats["Average"] == 22
    assert stats["Minimum"] == 1 and stats["Maximum"] == 100
    assert stats["p50"] == 3 and stats["p99"] == 100


@pytest.mark.parametrize(
    ("period", "high", "age_hours", "problem"),
    [
        (60, False, 0, None),
        (1, True, 0, None),
        (10, True, 1, None),
        (10, False, 0, "needs a high-resolution metric"),
        (7, True, 0, "1, 5, 10, 20 or 30"),
        (90, False, 0, "multiple of 60"),
        (10, True, 4, "more than 3 hours ago"),
        (60, False, 24 * 16, "more than 15 days ago"),
        (300, False, 24 * 16, None),
        (300, False, 24 * 64, "more than 63 days ago"),
        (3600, False, 24 * 400, None),
    ],
)
def test_period_rules(period: int, high: bool, age_hours: int, problem: str | None) -> None:
    now = pd.Timestamp("2026-06-01T00:00Z")
    found = metrics.period_problem(
        period, high_resolution=high, start=now - pd.Timedelta(hours=age_hours), now=now
    )
    assert (found is None) if problem is None else (problem in found)


def test_retention_table() -> None:
    assert metrics.RETENTION["available for"].tolist()[0] == "3 hours"
    assert len(metrics.RETENTION) == 4


# --------------------------------------------------------------------------------------------
# Metric math
# --------------------------------------------------------------------------------------------


def _series(values, start="2026-01-05T09:00Z") -> pd.Series:
    index = pd.date_range(start, periods=len(values), freq="min")
    return pd.Series(values, index=index, dtype=float)


def test_error_rate_expression() -> None:
    errors, requests = _series([1, 0, 5]), _series([100, 50, 0])
    rate = metrics.evaluate_expression(
        "100 * errors / requests", {"errors": errors, "requests": requests}
    )
    assert rate.tolist() == [1.0, 0.0]  # dividing by zero leaves no datapoint


def test_series_combine_where_both_have_timestamps_and_fill_fills_gaps() -> None:
    a = _series([1, 2, 3])
    b = _series([10, np.nan, 30]).dropna()
    assert metrics.evaluate_expression("a + b", {"a": a, "b": b}).tolist() == [11.0, 33.0]
    filled = metrics.evaluate_expression("a + FILL(b, 0)", {"a": a, "b": b})
    assert filled.tolist() == [11.0, 2.0, 33.0]


def test_functions_precedence_and_numbers() -> None:
    a = _series([-1, 2, 3])
    assert metrics.evaluate_expression("ABS(a)", {"a": a}).tolist() == [1.0, 2.0, 3.0]
    assert metrics.evaluate_expression("a / MAX(a)", {"a": a}).round(3).tolist() == [
        -0.333,
        0.667,
        1.0,
    ]
    assert metrics.evaluate_expression("SUM([a, a])", {"a": a}).tolist() == [-2.0, 4.0, 6.0]
    assert metrics.evaluate_expression("2 + 3 * 2 ^ 2", {"a": a}).tolist() == [14.0] * 3
    assert metrics.evaluate_expression("-a", {"a": a}).tolist() == [1.0, -2.0, -3.0]


@pytest.mark.parametrize(
    ("expression", "offset", "words"),
    [
        ("100 * errors /", 14, "ends too early"),
        ("errs + 1", 0, "not the id of a query"),
        ("RATE(errors)", 0, "not in the subset"),
        ("2 ** 3", 3, "Unexpected"),
        ("(errors", 7, "Expected ')'"),
        ("errors $ 2", 7, "Unexpected character"),
        ("", 0, "empty"),
    ],
)
def test_expression_errors_name_the_offset(expression: str, offset: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        metrics.evaluate_expression(expression, {"errors": _series([1.0])})
    assert caught.value.where == f"metric math expression, offset {offset}"
    assert words in str(caught.value)


def test_query_ids_start_with_a_lowercase_letter() -> None:
    with pytest.raises(InputError, match="lowercase"):
        metrics.metric_query("Errors", "N", "M")


# --------------------------------------------------------------------------------------------
# EMF documents and their extraction
# --------------------------------------------------------------------------------------------

SPEC_EXAMPLE = {
    "_aws": {
        "Timestamp": 1574109732004,
        "CloudWatchMetrics": [
            {
                "Namespace": "lambda-function-metrics",
                "Dimensions": [["functionVersion"]],
                "Metrics": [{"Name": "time", "Unit": "Milliseconds"}],
            }
        ],
    },
    "functionVersion": "$LATEST",
    "time": 100,
    "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee",
}


def test_the_specifications_example_extracts_one_metric() -> None:
    (datum,) = emf.extract_metrics(json.dumps(SPEC_EXAMPLE))
    assert datum["Namespace"] == "lambda-function-metrics"
    assert datum["MetricName"] == "time" and datum["Values"] == [100.0]
    assert datum["Dimensions"] == [{"Name": "functionVersion", "Value": "$LATEST"}]
    assert datum["Unit"] == "Milliseconds" and datum["StorageResolution"] == 60
    assert pd.Timestamp(datum["Timestamp"]) == pd.Timestamp(1574109732004, unit="ms", tz="UTC")


def test_every_dimension_set_makes_a_metric_and_arrays_are_values() -> None:
    doc = {
        "_aws": {
            "Timestamp": 1767603600000,
            "CloudWatchMetrics": [
                {
                    "Namespace": "N",
                    "Dimensions": [["A"], ["A", "B"], []],
                    "Metrics": [{"Name": "m", "StorageResolution": 1}],
                }
            ],
        },
        "A": "a",
        "B": "b",
        "m": [1, 2, 3],
    }
    datums = emf.extract_metrics(json.dumps(doc))
    assert [len(d["Dimensions"]) for d in datums] == [1, 2, 0]
    assert all(d["Values"] == [1.0, 2.0, 3.0] and d["StorageResolution"] == 1 for d in datums)
    assert datums[0]["Unit"] == "None"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("_aws"), "no _aws"),
        (lambda d: d["_aws"].update(Timestamp="now"), "Timestamp"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0].pop("Namespace"), "Namespace"),
        (lambda d: d.update(functionVersion=1), "string value"),
        (lambda d: d.update(time="fast"), "number"),
        (lambda d: d.update(time=list(range(101))), "up to 100"),
        (lambda d: d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0].update(Unit="Parsecs"), "Unit"),
    ],
)
def test_invalid_documents_extract_nothing_or_raise_when_strict(change, words: str) -> None:
    doc = json.loads(json.dumps(SPEC_EXAMPLE))
    change(doc)
    assert emf.extract_metrics(json.dumps(doc)) == []
    with pytest.raises(InputError, match=words):
        emf.extract_metrics(json.dumps(doc), strict=True)
    assert emf.extract_metrics("not json") == []


def test_the_library_writes_documents_offline_with_the_simulated_time() -> None:
    docs = emf.emf_documents(
        namespace="Bookstore",
        dimensions=[{"Service": "orders"}],
        metrics={"Latency": ([1.0] * 150, "Milliseconds"), "InFlight": (3, "Count", 1)},
        timestamp="2026-01-05T09:00:00Z",
        properties={"RequestId": "r-1"},
    )
    assert len(docs) == 2  # 150 values: the library splits at 100 per document
    first = json.loads(docs[0])
    assert first["_aws"]["Timestamp"] == 1767603600000
    assert first["RequestId"] == "r-1" and first["Service"] == "orders"
    metrics_defined = {m["Name"]: m for m in first["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert metrics_defined["InFlight"]["StorageResolution"] == 1
    assert sum(len(json.loads(d)["Latency"]) for d in docs) == 150
    with pytest.raises(InputError, match="refused"):
        emf.emf_documents(namespace="N", dimensions=[], metrics={"m": (1, "Furlongs")}, timestamp=0)


def test_publish_extracted_merges_per_minute_without_changing_statistics() -> None:
    docs = [
        doc
        for second, value in ((0, 10.0), (30, 30.0), (61, 50.0))
        for doc in emf.emf_documents(
            namespace="N",
            dimensions=[{"S": "x"}],
            metrics={"L": (value, "Milliseconds")},
            timestamp=pd.Timestamp("2026-01-05T09:00Z") + pd.Timedelta(seconds=second),
        )
    ]
    merged = emf.publish_extracted(None, docs)
    assert merged[["sample_count", "sum", "minimum", "maximum"]].values.tolist() == [
        [2, 40.0, 10.0, 30.0],
        [1, 50.0, 50.0, 50.0],
    ]


# --------------------------------------------------------------------------------------------
# The bookstore driver
# --------------------------------------------------------------------------------------------


def test_the_bookstore_run_is_deterministic_and_consistent() -> None:
    first = emf.run_bookstore(
        "2026-01-05T09:00Z", 20, releases={"payments": ((0, "v1"), (5, "v2-bad"))}
    )
    again = emf.run_bookstore(
        "2026-01-05T10:00Z", 20, releases={"payments": ((0, "v1"), (5, "v2-bad"))}
    )
    assert first.logs["message"].str.replace(r'"timestamp": "[^"]+"', "", regex=True).tolist() == (
        again.logs["message"].str.replace(r'"timestamp": "[^"]+"', "", regex=True).tolist()
    )
    assert len(first.logs) == len(first.emf)
    parsed = [json.loads(m) for m in first.logs["message"]]
    # One order makes three lines that share a request id; the JSON timestamp is the event's.
    ids = pd.Series([p["request_id"] for p in parsed if p["path"] == "/orders"])
    assert ids.is_unique
    assert all(
        pd.Timestamp(p["timestamp"]) == t
        for p, t in zip(parsed, first.logs["timestamp"], strict=True)
    )
    bad = [p for p in parsed if p["version"] == "v2-bad"]
    assert bad and 0.15 < np.mean([p["status"] >= 500 for p in bad]) < 0.35
    assert min(p["latency_ms"] for p in bad) >= 400  # v2-bad adds 400 ms
    summary = first.summary()
    assert ("payments", "v2-bad") in summary.index and summary.loc[("orders", "v1"), "5xx"] > 0


def test_orders_latency_includes_its_dependencies() -> None:
    run = emf.run_bookstore("2026-01-05T09:00Z", 5, browses_per_second=0.0)
    by_id: dict[str, dict[str, float]] = {}
    for message in run.logs["message"]:
        doc = json.loads(message)
        by_id.setdefault(doc["request_id"], {})[doc["service"]] = doc["latency_ms"]
    complete = [d for d in by_id.values() if {"orders", "catalog", "payments"} <= set(d)]
    assert complete and all(d["orders"] > d["catalog"] + d["payments"] for d in complete)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"minutes": 0}, "minutes"),
        ({"orders_per_second": -1}, "orders_per_second"),
        ({"releases": {"payments": ((3, "v1"),)}}, "start at minute 0"),
        ({"releases": {"payments": ((0, "v1"), (0, "v2"))}}, "increase"),
        ({"releases": {"shipping": ((0, "v1"),)}}, "no service"),
    ],
)
def test_run_bookstore_validates(kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        emf.run_bookstore("2026-01-05T09:00Z", **{"minutes": 5, **kwargs})


# --------------------------------------------------------------------------------------------
# On the emulator: what it answers, what labs answers
# --------------------------------------------------------------------------------------------


def test_get_metric_data_answers_percentiles_and_expressions(ctx) -> None:
    start = SimClock.reserve(ctx, 10).start
    docs = [
        doc
        for minute in range(3)
        for i in range(10)
        for doc in emf.emf_documents(
            namespace="LabsTest10Metrics",
            dimensions=[{"Service": "t"}],
            metrics={
                "Latency": (float(i + 1) * (minute + 1), "Milliseconds"),
                "Errors": (int(i < minute), "Count"),
                "Requests": (1, "Count"),
            },
            timestamp=start + pd.Timedelta(minutes=minute, seconds=i),
        )
    ]
    emf.publish_extracted(ctx, docs)
    dims = {"Service": "t"}
    queries = [
        metrics.metric_query("p90", "LabsTest10Metrics", "Latency", dims, stat="p90"),
        metrics.metric_query("avg", "LabsTest10Metrics", "Latency", dims, stat="Average"),
        metrics.metric_query(
            "e", "LabsTest10Metrics", "Errors", dims, stat="Sum", return_data=False
        ),
        metrics.metric_query(
            "r", "LabsTest10Metrics", "Requests", dims, stat="Sum", return_data=False
        ),
        metrics.expression_query("rate", "100 * e / r", label="rate"),
    ]
    frame = metrics.get_metric_data(ctx, queries, start, start + pd.Timedelta(minutes=3))
    assert list(frame.columns) == ["p90", "avg", "rate"]
    assert frame["p90"].tolist() == [9.0, 18.0, 27.0]
    assert frame["avg"].tolist() == [5.5, 11.0, 16.5]
    assert frame["rate"].tolist() == [0.0, 10.0, 20.0]
    assert frame.attrs["sources"] == {
        "p90": "ledger",
        "avg": "emulator",
        "e": "emulator",
        "r": "emulator",
        "rate": "metric math",
    }
    # The emulator itself: a percentile fails, an expression comes back empty.
    cloudwatch = ctx.client("cloudwatch")
    with pytest.raises(ClientError):
        cloudwatch.get_metric_data(
            MetricDataQueries=[queries[0]], StartTime=start, EndTime=start + pd.Timedelta(minutes=3)
        )
    answer = cloudwatch.get_metric_data(
        MetricDataQueries=queries[2:], StartTime=start, EndTime=start + pd.Timedelta(minutes=3)
    )
    assert {r["Id"]: r["Values"] for r in answer["MetricDataResults"]}["rate"] == []


def test_high_resolution_datapoints_are_per_second(ctx) -> None:
    start = SimClock.reserve(ctx, 5).start
    docs = [
        doc
        for s in range(30)
        for doc in emf.emf_documents(
            namespace="LabsTest10Metrics",
            dimensions=[{"Service": "hr"}],
            metrics={"InFlight": (float(s), "Count", 1)},
            timestamp=start + pd.Timedelta(seconds=s),
        )
    ]
    merged = emf.publish_extracted(ctx, docs)
    assert len(merged) == 30 and set(merged["resolution"]) == {1}
    query = metrics.metric_query(
        "m", "LabsTest10Metrics", "InFlight", {"Service": "hr"}, stat="Maximum", period=10
    )
    frame = metrics.get_metric_data(ctx, [query], start, start + pd.Timedelta(seconds=30))
    assert frame["m"].tolist() == [9.0, 19.0, 29.0]
    assert (
        published.ledger(ctx).statistic(
            "LabsTest10Metrics", "InFlight", {"Service": "hr"}, start, 60, "p50"
        )
        == 14.0
    )


def test_get_metric_data_validates_queries() -> None:
    with pytest.raises(InputError, match="used twice"):
        metrics.get_metric_data(None, [metrics.expression_query("a", "1")] * 2, 0, 60)
    with pytest.raises(InputError, match="end must be after start"):
        metrics.get_metric_data(None, [metrics.expression_query("a", "1")], 60, 0)


# --------------------------------------------------------------------------------------------
# The gappy metric and the steady-alarm check, both ways
# --------------------------------------------------------------------------------------------


def _alarm(**kwargs) -> Alarm:
    base = dict(
        alarm_name="a",
        namespace="Bookstore",
        metric_name="PaymentErrors",
        statistic="Sum",
        period=60,
        threshold=1.0,
        comparison_operator="GreaterThanOrEqualToThreshold",
    )
    return Alarm(**{**base, **kwargs})


def test_the_gappy_metric_has_gaps_only_where_there_were_no_errors() -> None:
    series = checks.gappy_metric()
    assert len(series) == 60 and series.iloc[:15].isna().all() and series.iloc[45:].isna().all()
    assert 0 < series.iloc[15:45].isna().sum() < 30


def test_the_steady_alarm_check_passes_a_steady_alarm(capsys) -> None:
    frame = checks.steady_alarm(
        _alarm(evaluation_periods=5, datapoints_to_alarm=2, treat_missing_data="notBreaching")
    )
    assert capsys.readouterr().out.startswith("✔")
    assert int((frame["changed"] & (frame["state"] == "ALARM")).sum()) == 1


@pytest.mark.parametrize(
    ("alarm", "words"),
    [
        (None, "no answer"),
        ("an alarm", "must be an Alarm"),
        (_alarm(evaluation_periods=1, treat_missing_data="notBreaching"), "flaps"),
        (_alarm(evaluation_periods=5, datapoints_to_alarm=2), "back to OK"),
        (
            _alarm(evaluation_periods=5, datapoints_to_alarm=2, treat_missing_data="breaching"),
            "before anything is wrong",
        ),
        (
            _alarm(evaluation_periods=10, datapoints_to_alarm=8, treat_missing_data="notBreaching"),
            "in time",
        ),
        (_alarm(metric_name="Errors", evaluation_periods=2), "watch the gappy metric"),
    ],
)
def test_the_steady_alarm_check_fails_wrong_alarms(alarm, words: str) -> None:
    with pytest.raises(CheckFailed, match=words):
        checks.steady_alarm(alarm)
