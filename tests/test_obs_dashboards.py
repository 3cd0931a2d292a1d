"""Dashboards: the body as CloudWatch JSON, stored in the emulator, drawn from that JSON.

Structure: "Dashboard Body Structure and Syntax"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
"""

from __future__ import annotations

import json

import matplotlib
import pandas as pd
import pytest

from labs.errors import CheckFailed, InputError
from labs.observability import checks, dashboards, emf
from labs.observability.alarms import Alarm
from labs.observability.clock import SimClock

matplotlib.use("Agg")


def test_the_shorthand_expands_like_the_reference_says() -> None:
    specs = dashboards.expand_metrics(
        [
            ["AWS/EC2", "CPUUtilization", "InstanceId", "i-012345"],
            ["...", "i-6789"],
            [".", "NetworkIn", ".", "."],
            ["...", {"stat": "p99", "id": "n"}],
            [{"expression": "n * 8", "label": "bits", "id": "e1"}],
        ]
    )
    assert [s.fields for s in specs[:4]] == [
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-012345"],
        ["AWS/EC2", "CPUUtilization", "InstanceId", "i-6789"],
        ["AWS/EC2", "NetworkIn", "InstanceId", "i-6789"],
        ["AWS/EC2", "NetworkIn", "InstanceId", "i-6789"],
    ]
    assert specs[3].options == {"stat": "p99", "id": "n"}
    assert specs[4].expression == "n * 8"
    assert specs[0].default_label() == "CPUUtilization i-012345"


@pytest.mark.parametrize(
    ("metrics_array", "words"),
    [
        ([["...", "x"]], "none before it"),
        ([["A", "B", "C"]], "name/value pairs"),
        ([["A", "B"], [".", ".", "."]], "no value above it"),
        ([["A", "B", "...", "x"]], "only be the first"),
        ([["A", "B", {"colour": "red"}]], "Unknown rendering option"),
        ([["A", "B", {"stat": "median"}]], "Unknown stat"),
        ([["A", "B", {"period": 45}]], "period 45"),
        ([["A", "B", {"id": "M1"}]], "lowercase"),
        ([["A", "B", {"id": "m"}], ["A", "C", {"id": "m"}]], "used by two metrics"),
        ([[{"label": "x"}]], "must be an expression"),
        ([], "non-empty"),
    ],
)
def test_bad_metrics_arrays(metrics_array, words: str) -> None:
    with pytest.raises(InputError, match=words):
        dashboards.expand_metrics(metrics_array)


def _metric(**properties) -> dict:
    return {
        "type": "metric",
        "properties": {"metrics": [["A", "B"]], "region": "us-east-1", **properties},
    }


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        ("not json", "DashboardBody", "not valid JSON"),
        ({}, "widgets", "widgets"),
        (
            {"widgets": [{"type": "graph", "properties": {}}]},
            "widgets[0].type",
            "Unknown widget type",
        ),
        ({"widgets": [{**_metric(), "x": 20, "width": 6}]}, "widgets[0].width", "24 columns"),
        ({"widgets": [{**_metric(), "height": 0}]}, "widgets[0].height", "from 1 to 1000"),
        (
            {"widgets": [{"type": "text", "properties": {}}]},
            "widgets[0].properties.markdown",
            "markdown",
        ),
        (
            {"widgets": [{"type": "metric", "properties": {"metrics": [["A", "B"]]}}]},
            "widgets[0].properties.region",
            "region",
        ),
        ({"widgets": [_metric(view="radar")]}, "widgets[0].properties.view", "Unknown view"),
        (
            {"widgets": [_metric(colour="red")]},
            "widgets[0].properties.colour",
            "Unknown metric widget property",
        ),
        (
            {"widgets": [_metric(annotations={"alarms": ["a", "b"]})]},
            "widgets[0].properties.annotations.alarms",
            "at most one alarm",
        ),
        (
            {"widgets": [{"type": "metric", "properties": {"region": "r"}}]},
            "widgets[0].properties.metrics",
            "needs metrics",
        ),
        ({"widgets": [_metric(metrics=[["A"]])]}, "widgets[0].properties.metrics[0]", "pairs"),
    ],
)
def test_validation_names_the_widget_and_property(body, where: str, words: str) -> None:
    with pytest.raises(InputError) as caught:
        dashboards.validate_body(body)
    assert caught.value.where == where and words in str(caught.value)


def test_widget_builders_make_valid_bodies() -> None:
    body = {
        "widgets": [
            dashboards.text_widget("# Title"),
            dashboards.metric_widget(
                "t", [["A", "B", "S", "x"], ["...", "y"]], y=2, view="singleValue"
            ),
            dashboards.alarm_widget("alarms", ["arn:aws:cloudwatch:us-east-1:1:alarm:a"], y=8),
        ]
    }
    assert dashboards.validate_body(json.dumps(body)) == body


@pytest.fixture(scope="module")
def published(ctx):
    """A short bookstore run, its EMF metrics published, and an alarm on them."""
    start = SimClock.reserve(ctx, 15).start
    run = emf.run_bookstore(start, 10, releases={"payments": ((0, "v1"), (4, "v2-bad"))}, seed=4)
    emf.publish_extracted(ctx, run.emf["message"])
    cloudwatch = ctx.client("cloudwatch")
    alarm = Alarm(
        alarm_name="labs-test-dash-alarm",
        namespace=emf.NAMESPACE,
        metric_name="Errors",
        dimensions={"Service": "payments"},
        statistic="Sum",
        period=60,
        evaluation_periods=1,
        threshold=3.0,
        comparison_operator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.put_metric_alarm(**alarm.to_put_kwargs())
    arn = cloudwatch.describe_alarms(AlarmNames=[alarm.alarm_name])["MetricAlarms"][0]["AlarmArn"]
    yield run, arn
    cloudwatch.delete_alarms(AlarmNames=[alarm.alarm_name])
    for name in ("labs-test-dash", "labs-test-p99"):
        cloudwatch.delete_dashboards(DashboardNames=[name]) if name in {
            d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]
        } else None


def _body(arn: str) -> dict:
    return {
        "widgets": [
            dashboards.text_widget("# Bookstore\n**labs**", height=2),
            dashboards.metric_widget(
                "requests",
                [[emf.NAMESPACE, "Requests", "Service", "orders"], ["...", "payments"]],
                y=2,
                stat="Sum",
                period=60,
            ),
            dashboards.metric_widget(
                "rate",
                [
                    [emf.NAMESPACE, "Errors", "Service", "payments", {"id": "e", "visible": False}],
                    [".", "Requests", ".", ".", {"id": "r", "visible": False}],
                    [{"expression": "100 * e / r", "id": "rate", "label": "error rate"}],
                ],
                x=12,
                y=2,
                stat="Sum",
                period=60,
                annotations={"horizontal": [{"value": 5, "label": "budget"}]},
            ),
            dashboards.metric_widget(
                "p99",
                [[emf.NAMESPACE, "Latency", "Service", "orders", {"stat": "p99"}]],
                y=8,
                period=60,
                stacked=True,
            ),
            dashboards.metric_widget(
                "now",
                [[emf.NAMESPACE, "Requests", "Service", "orders"]],
                x=12,
                y=8,
                width=6,
                view="singleValue",
                stat="Sum",
                period=60,
            ),
            {
                "type": "metric",
                "x": 18,
                "y": 8,
                "width": 6,
                "height": 6,
                "properties": {"region": "us-east-1", "annotations": {"alarms": [arn]}},
            },
            dashboards.alarm_widget("alarms", [arn], y=14),
        ]
    }


def test_put_get_and_render_what_is_stored(ctx, published) -> None:
    run, arn = published
    body = _body(arn)
    assert dashboards.put_dashboard(ctx, "labs-test-dash", body) == []
    stored = dashboards.get_dashboard_body(ctx, "labs-test-dash")
    assert stored == body
    figure = dashboards.render_dashboard(ctx, stored, start=run.start, end=run.end, title="t")
    axes = figure.get_axes()
    assert len(axes) == 7
    by_title = {ax.get_title(loc="left"): ax for ax in axes}
    assert [line.get_label() for line in by_title["requests"].get_lines()] == [
        "Requests orders",
        "Requests payments",
    ]
    assert len(by_title["requests"].get_lines()[0].get_xdata()) == 10
    rate = by_title["rate"].get_lines()
    assert [line.get_label() for line in rate] == ["error rate", "budget"]
    assert max(rate[0].get_ydata()) > 10  # v2-bad fails about a quarter of payments
    assert len(by_title["p99"].collections) == 1  # stacked: an area
    assert (
        "labs-test-dash-alarm threshold"
        in by_title["labs-test-dash-alarm"].get_legend_handles_labels()[1][1]
    )
    texts = [t.get_text() for t in by_title["now"].texts]
    assert "Requests orders" in texts
    matplotlib.pyplot.close(figure)


def test_render_refuses_what_it_does_not_draw(ctx, published) -> None:
    run, _ = published
    with pytest.raises(InputError, match="timeSeries and singleValue"):
        dashboards.render_dashboard(
            ctx, {"widgets": [_metric(view="pie")]}, start=run.start, end=run.end
        )
    with pytest.raises(InputError, match="metric, text and alarm widgets"):
        dashboards.render_dashboard(
            ctx, {"widgets": [{"type": "log", "properties": {}}]}, start=run.start, end=run.end
        )


def test_dashboard_names_must_be_labs_names(ctx) -> None:
    with pytest.raises(InputError, match="labs-"):
        dashboards.put_dashboard(ctx, "bookstore", {"widgets": []})
    with pytest.raises(InputError, match="not valid"):
        dashboards.put_dashboard(ctx, "labs-has space", {"widgets": []})


def test_the_p99_widget_check_both_ways(ctx, published, capsys) -> None:
    run, arn = published
    body = _body(arn)
    body["widgets"] = [w for w in body["widgets"] if w["properties"].get("title") != "p99"]
    dashboards.put_dashboard(ctx, "labs-test-p99", body)
    with pytest.raises(CheckFailed, match="no widget graphing p99 latency of orders"):
        checks.p99_widget(ctx, "labs-test-p99", start=run.start, end=run.end)
    body["widgets"].append(
        dashboards.metric_widget(
            "orders p99",
            [[emf.NAMESPACE, "Latency", "Service", "orders"]],
            y=20,
            stat="p99",
            period=60,
        )
    )
    dashboards.put_dashboard(ctx, "labs-test-p99", body)
    checks.p99_widget(ctx, "labs-test-p99", start=run.start, end=run.end)
    assert "graphs p99 latency of orders" in capsys.readouterr().out
    with pytest.raises(CheckFailed, match="no dashboard called"):
        checks.p99_widget(ctx, "labs-test-missing", start=run.start, end=run.end)
    with pytest.raises(CheckFailed, match="shows no data"):
        later = run.end + pd.Timedelta(hours=1)
        checks.p99_widget(ctx, "labs-test-p99", start=later, end=later + pd.Timedelta(minutes=5))


def test_the_time_range_comes_from_the_arguments_or_an_absolute_body_range(ctx, published) -> None:
    run, _ = published
    body = {"widgets": [dashboards.text_widget("hello")], "start": "-PT3H"}
    with pytest.raises(InputError, match="No absolute start"):
        dashboards.render_dashboard(ctx, body)
    body = {
        "widgets": [dashboards.text_widget("hello")],
        "start": run.start.isoformat(),
        "end": run.end.isoformat(),
    }
    figure = dashboards.render_dashboard(ctx, body)
    assert len(figure.get_axes()) == 1
    matplotlib.pyplot.close(figure)
    with pytest.raises(InputError, match="Unknown dashboard member"):
        dashboards.validate_body({"widgets": [], "theme": "dark"})
