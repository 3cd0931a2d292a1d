"""The Logs Insights subset: fields, filter, stats … by bin(), sort, limit — and clear refusals.

Query forms follow "CloudWatch Logs Insights language query syntax"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from labs.errors import InputError
from labs.observability import insights


@pytest.fixture
def events() -> pd.DataFrame:
    start = pd.Timestamp("2026-01-05T09:00:00Z")
    rows = []
    for i in range(20):
        doc = {
            "service": "payments" if i % 2 else "orders",
            "status": 500 if i in (3, 5, 12) else 200,
            "latency_ms": float(10 * (i + 1)),
            "user": {"id": i % 3},
            "tags": ["a", "b"],
        }
        if i == 7:
            doc["error"] = "injected fault: boom"
        rows.append((start + pd.Timedelta(minutes=i), "s1" if i < 10 else "s2", json.dumps(doc)))
    rows.append((start + pd.Timedelta(minutes=20), "s2", "a plain text line"))
    frame = pd.DataFrame(rows, columns=["timestamp", "stream", "message"])
    frame.attrs["group"] = "/labs/test"
    return frame


def test_events_table_discovers_json_fields(events) -> None:
    table = insights.events_table(events)
    for column in ("@timestamp", "@message", "@logStream", "@log", "service", "user.id", "tags.0"):
        assert column in table.columns
    assert table["@log"].iloc[0] == "/labs/test"
    assert pd.isna(table["service"].iloc[-1])  # the text line has no fields


def test_default_result_is_timestamp_and_message(events) -> None:
    result = insights.query(events, "limit 2")
    assert list(result.columns) == ["@timestamp", "@message"] and len(result) == 2


def test_fields_filter_sort_limit(events) -> None:
    result = insights.query(
        events,
        "fields @timestamp, service, status as code | filter status >= 500 "
        "| sort code desc, service asc | limit 2",
    )
    assert list(result.columns) == ["@timestamp", "service", "code"]
    assert result["code"].tolist() == [500, 500]
    assert result["service"].tolist() == ["orders", "payments"]


def test_stats_count_by_bin_and_field(events) -> None:
    result = insights.query(
        events, "filter status >= 500 | stats count(*) as errors by bin(5m), service"
    )
    assert list(result.columns) == ["bin(5m)", "service", "errors"]
    assert result["errors"].dtype == "int64"
    assert result[["service", "errors"]].values.tolist() == [
        ["payments", 1],
        ["payments", 1],
        ["orders", 1],
    ]
    assert result["bin(5m)"].tolist() == [
        pd.Timestamp("2026-01-05T09:00:00Z"),
        pd.Timestamp("2026-01-05T09:05:00Z"),
        pd.Timestamp("2026-01-05T09:10:00Z"),
    ]


def test_aggregates(events) -> None:
    result = insights.query(
        events,
        "stats count(*) as n, count(error) as errors, count_distinct(service) as services, "
        "sum(latency_ms) as total, avg(latency_ms), min(latency_ms), max(latency_ms), "
        "pct(latency_ms, 50), pct(latency_ms, 99), stddev(latency_ms)",
    )
    row = result.iloc[0]
    assert row["n"] == 21 and row["errors"] == 1 and row["services"] == 2
    assert row["total"] == pytest.approx(2100.0)
    assert row["avg(latency_ms)"] == pytest.approx(105.0)
    assert row["min(latency_ms)"] == 10.0 and row["max(latency_ms)"] == 200.0
    assert row["pct(latency_ms, 50)"] == 100.0  # nearest rank: the 10th of 20 values
    assert row["pct(latency_ms, 99)"] == 200.0
    assert row["stddev(latency_ms)"] == pytest.approx(59.16, abs=0.01)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('service = "payments"', 10),
        ('service != "payments"', 10),  # the text line has no service: the comparison is false
        ("status >= 500 and service = 'orders'", 1),
        ("status >= 500 or latency_ms > 190", 4),
        ("not status = 200", 4),
        ('error like "fault"', 1),
        ("error like /fa+ult/", 1),
        ("error =~ /^injected/", 1),
        ('service not like "pay"', 11),
        ("status in [500, 404]", 3),
        ("ispresent(error)", 1),
        ("(service = 'orders' or service = 'payments') and user.id = 0", 7),
        ('@logStream = "s2"', 11),
    ],
)
def test_filter_conditions(events, condition: str, expected: int) -> None:
    assert len(insights.query(events, f"filter {condition}")) == expected


def test_sort_by_an_aggregate_alias(events) -> None:
    result = insights.query(events, "stats avg(latency_ms) as avg by service | sort avg desc")
    assert result["service"].tolist() == ["payments", "orders"]


def test_start_query_kwargs_carry_the_real_query_text() -> None:
    text = "filter status >= 500 | stats count(*) by bin(1m)"
    kwargs = insights.parse(text).start_query_kwargs("/g", "2026-01-05T09:00Z", "2026-01-05T10:00Z")
    assert kwargs == {
        "logGroupName": "/g",
        "startTime": 1767603600,
        "endTime": 1767607200,
        "queryString": text,
    }


@pytest.mark.parametrize(
    ("query", "offset", "words"),
    [
        ("", 0, "empty"),
        ("fields", 6, "ends too early"),
        ('parse @message "x=*" as x', 0, "not in the subset"),
        ("stats median(x)", 6, "Unknown or unsupported statistic"),
        ("filter status >== 5", 16, "Expected a number or a quoted string"),
        ("stats count(*) by bin(5)", 22, "bin() takes a period"),
        ("filter status = abc", 16, "quoted string"),
        ("filter status like /a(/", 19, "not valid"),
        ("stats sum(*)", 6, "sum(*) is not valid"),
        ("limit 0", 6, "whole number"),
        ("fields a b", 9, "separated by |"),
        ("filter a ~ 1", 9, "Unexpected character"),
    ],
)
def test_errors_name_the_offset(events, query: str, offset: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        insights.query(events, query)
    assert caught.value.where == f"Logs Insights query, offset {offset}"
    assert words in str(caught.value)


def test_sort_on_an_unknown_field_is_refused(events) -> None:
    with pytest.raises(InputError, match="not a field of the results"):
        insights.query(events, "stats count(*) by service | sort nope")


def test_events_must_be_a_frame_of_events() -> None:
    with pytest.raises(InputError, match="timestamp"):
        insights.events_table(pd.DataFrame({"x": [1]}))
