"""CloudWatch dashboards: a dashboard body as CloudWatch JSON, stored, and drawn from that JSON.

A dashboard is a JSON document, the *dashboard body*, described in "Dashboard Body Structure and
Syntax" (:data:`BODY_URL`). The emulator stores any body that is JSON — it validates nothing
and draws nothing. This module:

* builds widgets (:func:`metric_widget`, :func:`text_widget`, :func:`alarm_widget`) and validates
  a body as the reference describes it (:func:`validate_body`: widget types, the 24-column grid,
  the ``metrics`` array with its ``"."``/``"..."`` shorthand and rendering options, ``view``,
  ``stat``, ``period``, ``region``, annotations); mistakes are :class:`~labs.errors.InputError`\\ s
  that name the widget and the property (``widgets[2].properties.metrics[1]``);
* stores it (:func:`put_dashboard`, names ``labs-…`` so that ``labs.cleanup`` finds them) and
  reads it back (:func:`get_dashboard_body`);
* draws a body with matplotlib from the emulator's metrics (:func:`render_dashboard`), so that
  what is stored is what is shown. Metric widgets with ``view`` ``timeSeries`` (lines, or stacked
  areas) and ``singleValue`` (the latest value), text widgets (markdown shown as text) and alarm
  status widgets are drawn; the other views (bar, pie, gauge, table) and widget types (log,
  explorer, custom) are refused with a clear error.

The ``metrics`` array, per the reference: each row is ``[Namespace, MetricName, DimName1,
DimValue1, …, {rendering options}]``. In a row, ``"."`` repeats the previous row's value at the
same position, and a leading ``"..."`` repeats the previous row's values up to where this row's
own values begin (they line up with the end of the previous row). A row ``[{"expression":
"100*e/r", "label": …, "id": …}]`` is a metric math expression over the ids of other rows.
Rendering options: ``id``, ``label``, ``stat``, ``period``, ``color``, ``yAxis`` (``left`` or
``right``), ``visible``, ``region``, ``accountId``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from labs.errors import InputError
from labs.observability import metrics as metric_data
from labs.observability.alarms import Alarm
from labs.observability.published import client

__all__ = [
    "BODY_URL",
    "MetricSpec",
    "alarm_widget",
    "expand_metrics",
    "get_dashboard_body",
    "metric_widget",
    "put_dashboard",
    "render_dashboard",
    "text_widget",
    "validate_body",
]

BODY_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/"
    "CloudWatch-Dashboard-Body-Structure.html"
)
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_WIDGET_TYPES = ("metric", "text", "alarm", "log", "explorer", "custom")
_VIEWS = ("timeSeries", "singleValue", "bar", "pie", "gauge", "table")
_DRAWN_VIEWS = ("timeSeries", "singleValue")
_WIDGET_KEYS = {"type", "x", "y", "width", "height", "properties"}
_METRIC_PROPERTIES = {
    "accountId", "annotations", "end", "labels", "legend", "liveData", "metrics", "period",
    "region", "setPeriodToTimeRange", "singleValueFullPrecision", "sparkline", "stacked", "start",
    "stat", "table", "timezone", "title", "trend", "view", "yAxis",
}  # fmt: skip
_OPTIONS = {"id", "label", "stat", "period", "color", "yAxis", "visible", "region", "accountId",
            "expression"}  # fmt: skip
_STAT = re.compile(r"^(SampleCount|Sum|Average|Minimum|Maximum|p\d{1,2}(\.\d+)?|p100)$")
_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")


def _fail(where: str, what: str, hint: str | None = None) -> InputError:
    return InputError(what, where=where, hint=hint or f"See {BODY_URL}")


# --------------------------------------------------------------------------------------------
# Building widgets
# --------------------------------------------------------------------------------------------


def metric_widget(
    title: str,
    metrics: Sequence[Sequence[Any]],
    *,
    x: int = 0,
    y: int = 0,
    width: int = 12,
    height: int = 6,
    region: str = "us-east-1",
    stat: str = "Average",
    period: int = 300,
    view: str = "timeSeries",
    stacked: bool = False,
    annotations: Mapping[str, Any] | None = None,
    y_axis: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a metric widget (a dict of the dashboard body's ``widgets`` array)."""
    properties: dict[str, Any] = {
        "title": title,
        "metrics": [list(row) for row in metrics],
        "region": region,
        "stat": stat,
        "period": period,
        "view": view,
    }
    if stacked:
        properties["stacked"] = True
    if annotations:
        properties["annotations"] = dict(annotations)
    if y_axis:
        properties["yAxis"] = dict(y_axis)
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": properties,
    }


def text_widget(
    markdown: str, *, x: int = 0, y: int = 0, width: int = 24, height: int = 2
) -> dict[str, Any]:
    """Return a text widget showing ``markdown``."""
    return {
        "type": "text",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": {"markdown": markdown},
    }


def alarm_widget(
    title: str,
    alarm_arns: Sequence[str],
    *,
    x: int = 0,
    y: int = 0,
    width: int = 6,
    height: int = 6,
) -> dict[str, Any]:
    """Return an alarm status widget listing the alarms' states."""
    return {
        "type": "alarm",
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "properties": {"title": title, "alarms": list(alarm_arns)},
    }


# --------------------------------------------------------------------------------------------
# The metrics array
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSpec:
    """One row of a metric widget's ``metrics`` array, with the shorthand expanded.

    Attributes:
        namespace: The namespace (empty for an expression).
        metric_name: The metric name (empty for an expression).
        dimensions: ``(name, value)`` pairs.
        options: The rendering options (``id``, ``label``, ``stat``, ``period``, …).
        expression: The metric math expression of an expression row, else None.
    """

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    expression: str | None = None

    @property
    def fields(self) -> list[str]:
        """The row's strings: namespace, metric name, then dimension names and values."""
        return [self.namespace, self.metric_name, *(v for pair in self.dimensions for v in pair)]

    def default_label(self) -> str:
        """The label CloudWatch shows when none is given: the metric name (and dimensions)."""
        if self.expression is not None:
            return str(self.options.get("id", self.expression))
        values = " ".join(v for _, v in self.dimensions)
        stat = self.options.get("stat", "")
        return f"{self.metric_name} {values} {stat}".strip()


def expand_metrics(metrics: Any, where: str = "metrics") -> list[MetricSpec]:
    """Expand a ``metrics`` array (``"."`` and ``"..."`` shorthand) into :class:`MetricSpec` s.

    Raises:
        InputError: A row is not a list, has an odd dimension list, uses the shorthand with
            nothing before it, or has an unknown rendering option.
    """
    if not isinstance(metrics, list) or not metrics:
        raise _fail(where, "metrics must be a non-empty array of arrays.")
    if len(metrics) > 500:
        raise _fail(
            where, f"A widget graphs at most 500 metrics and expressions, got {len(metrics)}."
        )
    specs: list[MetricSpec] = []
    previous: list[str] | None = None
    for r, row in enumerate(metrics):
        spot = f"{where}[{r}]"
        if not isinstance(row, list) or not row:
            raise _fail(
                spot, "Each metric is an array: [Namespace, MetricName, DimName, DimValue, …]."
            )
        options: dict[str, Any] = {}
        if isinstance(row[-1], dict):
            options = dict(row[-1])
            row = row[:-1]
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise _fail(
                spot,
                f"Unknown rendering option {unknown[0]!r}.",
                hint=f"Options: {', '.join(sorted(_OPTIONS))}.",
            )
        _check_options(options, spot)
        if not row:
            if "expression" not in options:
                raise _fail(
                    spot, 'A row with only options must be an expression: [{"expression": …}].'
                )
            specs.append(MetricSpec("", "", (), options, str(options["expression"])))
            continue
        if "expression" in options:
            raise _fail(spot, "An expression row holds only its options object, no metric fields.")
        if not all(isinstance(v, str) for v in row):
            raise _fail(spot, "Namespace, metric name and dimensions are strings.")
        values = list(row)
        if values[0] == "...":
            if previous is None:
                raise _fail(spot, '"..." repeats the previous metric, but there is none before it.')
            own = values[1:]
            if len(own) > len(previous):
                raise _fail(spot, '"..." is followed by more values than the previous metric has.')
            values = previous[: len(previous) - len(own)] + own
        if "..." in values:
            raise _fail(spot, '"..." may only be the first value of a row.')
        for i, value in enumerate(values):
            if value == ".":
                if previous is None or i >= len(previous):
                    raise _fail(spot, f'"." at position {i} has no value above it to repeat.')
                values[i] = previous[i]
        if len(values) < 2 or len(values) % 2:
            raise _fail(
                spot,
                "A metric row is Namespace, MetricName, then dimension name/value pairs.",
                hint='e.g. ["Bookstore", "Latency", "Service", "orders", {"stat": "p99"}]',
            )
        pairs = tuple((values[i], values[i + 1]) for i in range(2, len(values), 2))
        specs.append(MetricSpec(values[0], values[1], pairs, options))
        previous = values
    ids = [s.options["id"] for s in specs if "id" in s.options]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise _fail(where, f"The id {duplicated[0]!r} is used by two metrics.")
    return specs


def _check_options(options: Mapping[str, Any], spot: str) -> None:
    if "id" in options and (not isinstance(options["id"], str) or not _ID.match(options["id"])):
        raise _fail(
            spot, f"id {options['id']!r} must start with a lowercase letter (letters, digits, _)."
        )
    if "stat" in options:
        _check_stat(options["stat"], spot)
    if "period" in options:
        _check_period(options["period"], spot)
    if "yAxis" in options and options["yAxis"] not in ("left", "right"):
        raise _fail(spot, f"yAxis is 'left' or 'right', got {options['yAxis']!r}.")
    if "visible" in options and not isinstance(options["visible"], bool):
        raise _fail(spot, "visible is true or false.")
    if "expression" in options and (
        not isinstance(options["expression"], str) or not options["expression"]
    ):
        raise _fail(spot, "expression must be a non-empty string.")


def _check_stat(stat: Any, spot: str) -> None:
    if not isinstance(stat, str) or not _STAT.match(stat):
        raise _fail(
            spot,
            f"Unknown stat {stat!r}.",
            hint="Use SampleCount, Sum, Average, Minimum, Maximum or a percentile such as p99.",
        )


def _check_period(period: Any, spot: str) -> None:
    valid = (
        isinstance(period, int)
        and not isinstance(period, bool)
        and (period in (1, 5, 10, 30) or (period >= 60 and period % 60 == 0))
    )
    if not valid:
        raise _fail(spot, f"period {period!r} is not valid: 1, 5, 10, 30, 60 or a multiple of 60.")


# --------------------------------------------------------------------------------------------
# Validating a body
# --------------------------------------------------------------------------------------------


def _int(
    widget: Mapping[str, Any], key: str, lo: int, hi: int, spot: str, default: int | None
) -> int:
    value = widget.get(key, default)
    if value is None:
        raise _fail(f"{spot}.{key}", f"{key} is required.")
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _fail(
            f"{spot}.{key}", f"{key} must be a whole number from {lo} to {hi}, got {value!r}."
        )
    return value


def validate_body(body: str | Mapping[str, Any]) -> dict[str, Any]:
    """Check a dashboard body against the reference and return it as a dict.

    Raises:
        InputError: Naming the widget and property at fault, e.g.
            ``widgets[1].properties.metrics[0]``.
    """
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise InputError(
                f"The dashboard body is not valid JSON: {exc}", where="DashboardBody"
            ) from None
    if not isinstance(body, Mapping):
        raise _fail("DashboardBody", "A dashboard body is a JSON object with a widgets array.")
    unknown = sorted(set(body) - {"widgets", "start", "end", "periodOverride"})
    if unknown:
        raise _fail(
            unknown[0],
            f"Unknown dashboard member {unknown[0]!r}.",
            hint="A body has widgets, and optionally start, end and periodOverride.",
        )
    for key in ("start", "end"):
        if key in body and not isinstance(body[key], str):
            raise _fail(key, f"{key} is a string: an ISO 8601 time or a duration such as -PT3H.")
    if body.get("periodOverride", "auto") not in ("auto", "inherit"):
        raise _fail("periodOverride", "periodOverride is 'auto' or 'inherit'.")
    widgets = body.get("widgets")
    if not isinstance(widgets, list):
        raise _fail("widgets", 'The body needs "widgets": an array of widget objects.')
    if len(widgets) > 500:
        raise _fail("widgets", f"A dashboard holds at most 500 widgets, got {len(widgets)}.")
    for w, widget in enumerate(widgets):
        spot = f"widgets[{w}]"
        if not isinstance(widget, Mapping):
            raise _fail(spot, "Each widget is an object.")
        unknown = sorted(set(widget) - _WIDGET_KEYS)
        if unknown:
            raise _fail(
                f"{spot}.{unknown[0]}",
                f"Unknown widget member {unknown[0]!r}.",
                hint="Widgets have type, x, y, width, height and properties.",
            )
        kind = widget.get("type")
        if kind not in _WIDGET_TYPES:
            raise _fail(
                f"{spot}.type",
                f"Unknown widget type {kind!r}.",
                hint=f"Types: {', '.join(_WIDGET_TYPES)}.",
            )
        x = _int(widget, "x", 0, 23, spot, 0)
        width = _int(widget, "width", 1, 24, spot, 6)
        _int(widget, "y", 0, 10**6, spot, 0)
        _int(widget, "height", 1, 1000, spot, 6)
        if x + width > 24:
            raise _fail(f"{spot}.width", f"x + width is {x + width}: the grid has 24 columns.")
        properties = widget.get("properties")
        if not isinstance(properties, Mapping):
            raise _fail(f"{spot}.properties", "properties is required: an object.")
        where = f"{spot}.properties"
        if kind == "text":
            if not isinstance(properties.get("markdown"), str):
                raise _fail(f"{where}.markdown", "A text widget needs a markdown string.")
        elif kind == "alarm":
            alarms = properties.get("alarms")
            if (
                not isinstance(alarms, list)
                or not 1 <= len(alarms) <= 100
                or not all(isinstance(a, str) and a.startswith("arn:") for a in alarms)
            ):
                raise _fail(f"{where}.alarms", "An alarm widget needs 1 to 100 alarm ARNs.")
        elif kind == "metric":
            _validate_metric(properties, where)
    return json.loads(json.dumps(body))


def _validate_metric(properties: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(properties) - _METRIC_PROPERTIES)
    if unknown:
        raise _fail(
            f"{where}.{unknown[0]}",
            f"Unknown metric widget property {unknown[0]!r}.",
            hint=f"Properties: {', '.join(sorted(_METRIC_PROPERTIES))}.",
        )
    if not isinstance(properties.get("region"), str):
        raise _fail(f"{where}.region", 'A metric widget needs its region, e.g. "us-east-1".')
    view = properties.get("view", "timeSeries")
    if view not in _VIEWS:
        raise _fail(f"{where}.view", f"Unknown view {view!r}.", hint=f"Views: {', '.join(_VIEWS)}.")
    if "stat" in properties:
        _check_stat(properties["stat"], f"{where}.stat")
    if "period" in properties:
        _check_period(properties["period"], f"{where}.period")
    annotations = properties.get("annotations") or {}
    if not isinstance(annotations, Mapping):
        raise _fail(f"{where}.annotations", "annotations is an object.")
    for key in annotations:
        if key not in ("horizontal", "vertical", "alarms"):
            raise _fail(
                f"{where}.annotations.{key}",
                f"Unknown annotation kind {key!r}.",
                hint="Use horizontal, vertical or alarms.",
            )
    alarms = annotations.get("alarms", [])
    if (
        not isinstance(alarms, list)
        or len(alarms) > 1
        or not all(isinstance(a, str) for a in alarms)
    ):
        raise _fail(
            f"{where}.annotations.alarms", "A metric widget shows at most one alarm: [alarm ARN]."
        )
    for k, line in enumerate(annotations.get("horizontal", [])):
        if not isinstance(line, Mapping) or not isinstance(line.get("value"), int | float):
            raise _fail(
                f"{where}.annotations.horizontal[{k}]",
                "A horizontal annotation needs a numeric value.",
            )
    if "metrics" in properties:
        expand_metrics(properties["metrics"], f"{where}.metrics")
    elif not alarms:
        raise _fail(f"{where}.metrics", "A metric widget needs metrics, or an alarm annotation.")


# --------------------------------------------------------------------------------------------
# Storing and reading
# --------------------------------------------------------------------------------------------


def put_dashboard(ctx: Any, name: str, body: str | Mapping[str, Any]) -> list[dict[str, Any]]:
    """Validate ``body`` and store it as dashboard ``name`` with ``put_dashboard``.

    Returns:
        The ``DashboardValidationMessages`` CloudWatch answered (the emulator answers none).

    Raises:
        InputError: The name is not ``labs-…`` (``labs.cleanup`` finds dashboards by that prefix:
            they carry no tags in the emulator) or not valid, or the body is not valid.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(
            f"Dashboard name {name!r} is not valid.",
            where="DashboardName",
            hint="Up to 255 of A-Z, a-z, 0-9, - and _.",
        )
    if not name.startswith("labs-"):
        raise InputError(
            f"Workshop dashboards are named labs-…, got {name!r}.",
            where="DashboardName",
            hint="Use ctx.name(...), e.g. ctx.name('bookstore'): labs.cleanup finds them by it.",
        )
    checked = validate_body(body)
    answer = client(ctx, "cloudwatch").put_dashboard(
        DashboardName=name, DashboardBody=json.dumps(checked)
    )
    return list(answer.get("DashboardValidationMessages", []))


def get_dashboard_body(ctx: Any, name: str) -> dict[str, Any]:
    """Return the body of dashboard ``name``, as stored, parsed from JSON."""
    answer = client(ctx, "cloudwatch").get_dashboard(DashboardName=name)
    return json.loads(answer["DashboardBody"])


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------

_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _alarm_name(arn: str) -> str:
    return arn.split(":alarm:", 1)[-1]


def _queries_for(
    specs: list[MetricSpec], stat: str, period: int, extra: Sequence[dict[str, Any]] = ()
) -> tuple[list[dict[str, Any]], list[tuple[str, str, MetricSpec | None]]]:
    queries, shown = [], []
    for i, spec in enumerate(specs):
        query_id = str(spec.options.get("id", f"m{i + 1}"))
        label = str(spec.options.get("label") or spec.default_label())
        visible = spec.options.get("visible", True)
        if spec.expression is not None:
            query = metric_data.expression_query(query_id, spec.expression)
        else:
            query = metric_data.metric_query(
                query_id,
                spec.namespace,
                spec.metric_name,
                dict(spec.dimensions),
                stat=str(spec.options.get("stat", stat)),
                period=int(spec.options.get("period", period)),
            )
        query["ReturnData"] = True
        queries.append(query)
        if visible:
            shown.append((query_id, label, spec))
    for query in extra:
        queries.append(query)
        shown.append((query["Id"], query.get("Label", query["Id"]), None))
    return queries, shown


def _alarm_query(alarm: Alarm) -> dict[str, Any]:
    return metric_data.metric_query(
        "alarm",
        alarm.namespace,
        alarm.metric_name,
        dict(alarm.dimensions),
        stat=alarm.extended_statistic or alarm.statistic or "Average",
        period=alarm.period,
        label=alarm.metric_name,
    )


def _draw_metric(
    ax: Any,
    ctx: Any,
    properties: Mapping[str, Any],
    start: pd.Timestamp,
    end: pd.Timestamp,
    where: str,
) -> None:
    view = properties.get("view", "timeSeries")
    if view not in _DRAWN_VIEWS:
        raise InputError(
            f"labs draws the timeSeries and singleValue views, not {view!r}.",
            where=f"{where}.view",
            hint="Use view timeSeries or singleValue to render it here; CloudWatch draws the rest.",
        )
    stat = properties.get("stat", "Average")
    period = properties.get("period", 300)
    specs = (
        expand_metrics(properties["metrics"], f"{where}.metrics") if "metrics" in properties else []
    )
    annotations = properties.get("annotations") or {}
    alarm: Alarm | None = None
    alarm_state = ""
    extra: list[dict[str, Any]] = []
    if annotations.get("alarms"):
        name = _alarm_name(annotations["alarms"][0])
        described = client(ctx, "cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
        if not described:
            raise InputError(
                f"The alarm annotation names alarm {name!r}, which does not exist.",
                where=f"{where}.annotations.alarms[0]",
            )
        alarm = Alarm.from_describe(described[0])
        alarm_state = described[0].get("StateValue", "")
        if not specs:
            extra.append(_alarm_query(alarm))
    queries, shown = _queries_for(specs, stat, period, extra)
    data = metric_data.get_metric_data(ctx, queries, start, end)
    raw = {q["Id"]: q for q in queries}
    by_id = {}
    for query in queries:
        column = query.get("Label") or query["Id"]
        by_id[query["Id"]] = data[column] if column in data.columns else pd.Series(dtype=float)
    title = properties.get("title") or (alarm.alarm_name if alarm else "")
    if view == "singleValue":
        ax.set_axis_off()
        count = max(1, len(shown))
        for k, (query_id, label, _spec) in enumerate(shown):
            values = by_id[query_id].dropna()
            text = f"{values.iloc[-1]:,.4g}" if len(values) else "—"
            cx = (k + 0.5) / count
            ax.text(cx, 0.55, text, ha="center", va="center", fontsize=22, transform=ax.transAxes)
            ax.text(
                cx,
                0.18,
                label,
                ha="center",
                va="center",
                fontsize=9,
                transform=ax.transAxes,
                color="#444444",
            )
        ax.set_title(title, loc="left", fontsize=10)
        return
    right = None
    stacked_series = []
    for k, (query_id, label, spec) in enumerate(shown):
        values = by_id[query_id].dropna()
        color = (spec.options.get("color") if spec else None) or _PALETTE[k % len(_PALETTE)]
        target = ax
        if spec is not None and spec.options.get("yAxis") == "right":
            right = right or ax.twinx()
            target = right
        if properties.get("stacked") and target is ax:
            stacked_series.append((label, values, color))
            continue
        target.plot(values.index, values.to_numpy(), label=label, color=color, linewidth=1.4)
    if stacked_series:
        frame = pd.concat({label: s for label, s, _ in stacked_series}, axis=1).fillna(0.0)
        ax.stackplot(
            frame.index,
            frame.T.to_numpy(),
            labels=list(frame.columns),
            colors=[c for _, _, c in stacked_series],
            alpha=0.8,
        )
    for line in annotations.get("horizontal", []):
        if line.get("visible", True):
            color = line.get("color", "#d62728")
            ax.axhline(
                line["value"], color=color, linestyle="--", linewidth=1, label=line.get("label")
            )
    for line in annotations.get("vertical", []):
        if line.get("visible", True) and "value" in line:
            when, color = pd.Timestamp(line["value"]), line.get("color", "#7f7f7f")
            ax.axvline(when, color=color, linestyle=":", linewidth=1, label=line.get("label"))
    if alarm is not None:
        ax.axhline(
            alarm.threshold,
            color="#d62728",
            linewidth=1.2,
            label=f"{alarm.alarm_name} threshold ({alarm_state})",
        )
    axis = properties.get("yAxis", {}).get("left", {})
    bottom, top = axis.get("min"), axis.get("max")
    if bottom is not None or top is not None:
        ax.set_ylim(bottom=bottom, top=top)
    ax.set_ylabel(axis.get("label", _unit_label(raw, shown)), fontsize=8)
    ax.set_xlim(start, end)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    ax.set_xlabel("simulated time (UTC)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, loc="left", fontsize=10)
    legend = properties.get("legend", {}).get("position", "bottom")
    if legend != "hidden":
        handles, names = ax.get_legend_handles_labels()
        if right is not None:
            more = right.get_legend_handles_labels()
            handles, names = handles + more[0], names + more[1]
        if handles:
            ax.legend(handles, names, fontsize=7, loc="upper left", framealpha=0.8)


def _unit_label(raw: Mapping[str, Any], shown: Sequence[tuple[str, str, Any]]) -> str:
    stats = {raw[q]["MetricStat"]["Stat"] for q, _, _ in shown if "MetricStat" in raw.get(q, {})}
    return ", ".join(sorted(stats)) if stats else "value"


def _draw_text(ax: Any, properties: Mapping[str, Any]) -> None:
    ax.set_axis_off()
    lines = []
    for line in str(properties.get("markdown", "")).splitlines():
        line = re.sub(r"^#+\s*", "", line)
        line = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), line)
        line = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", line)
        lines.append(line)
    ax.text(
        0.01,
        0.5,
        "\n".join(lines),
        ha="left",
        va="center",
        fontsize=10,
        transform=ax.transAxes,
        wrap=True,
    )


def _draw_alarms(ax: Any, ctx: Any, properties: Mapping[str, Any]) -> None:
    ax.set_axis_off()
    names = [_alarm_name(a) for a in properties["alarms"]]
    described = client(ctx, "cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    states = {a["AlarmName"]: a.get("StateValue", "?") for a in described}
    colors = {"ALARM": "#d62728", "OK": "#2ca02c", "INSUFFICIENT_DATA": "#7f7f7f"}
    for k, name in enumerate(names):
        state = states.get(name, "(no such alarm)")
        y = 0.85 - k * 0.8 / max(len(names), 1)
        ax.text(
            0.02,
            y,
            "●",
            color=colors.get(state, "#7f7f7f"),
            fontsize=12,
            transform=ax.transAxes,
            va="center",
        )
        ax.text(0.1, y, f"{name}: {state}", fontsize=9, transform=ax.transAxes, va="center")
    ax.set_title(properties.get("title", "Alarms"), loc="left", fontsize=10)


def _time_range_end(value: Any, body: Mapping[str, Any], key: str) -> pd.Timestamp:
    if value is None:
        value = body.get(key)
        if value is None or str(value).startswith(("-", "P")):
            raise InputError(
                f"No absolute {key} time to draw the dashboard for.",
                where=key,
                hint=f"Pass {key}=... (simulated time), or put an ISO 8601 {key} in the body.",
            )
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a point in time.", where=key) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def render_dashboard(
    ctx: Any,
    body: str | Mapping[str, Any],
    *,
    start: Any | None = None,
    end: Any | None = None,
    title: str | None = None,
    width_inches: float = 14.0,
) -> Figure:
    """Draw a dashboard body as a matplotlib figure, from the metrics in CloudWatch.

    Widgets sit on CloudWatch's 24-column grid at their ``x``, ``y``, ``width`` and ``height``.
    Metric data comes from :func:`labs.observability.metrics.get_metric_data` (the emulator, the
    ledger for percentiles, metric math by ``labs``), over ``[start, end)`` in simulated time.

    Args:
        ctx: The workshop context.
        body: The dashboard body, as stored (a JSON string or a dict).
        start: Start of the time range; default the body's ``start`` when it is an absolute
            time (a relative one such as ``-PT3H`` means "before now", which has no meaning on
            the simulated clock: pass ``start``).
        end: End of the time range; default the body's absolute ``end``.
        title: A title above the dashboard.
        width_inches: Figure width.

    Raises:
        InputError: The body is not valid, or holds a widget or view ``labs`` does not draw.
    """
    checked = validate_body(body)
    begin = _time_range_end(start, checked, "start")
    finish = _time_range_end(end, checked, "end")
    if finish <= begin:
        raise InputError("The time range ends before it starts.", where="end")
    widgets = checked["widgets"]
    for w, widget in enumerate(widgets):
        if widget["type"] not in ("metric", "text", "alarm"):
            raise InputError(
                f"labs draws metric, text and alarm widgets, not {widget['type']!r}.",
                where=f"widgets[{w}].type",
                hint="CloudWatch draws log, explorer and custom widgets; leave them out here.",
            )
    rows = max([w.get("y", 0) + w.get("height", 6) for w in widgets] or [1])
    unit = 0.42
    figure = plt.figure(figsize=(width_inches, max(1.5, rows * unit) + (0.4 if title else 0)))
    top = 1.0 - (0.4 / (rows * unit + 0.4) if title else 0.0)
    if title:
        figure.suptitle(title, x=0.01, ha="left", fontsize=12, y=0.995)
    for w, widget in enumerate(widgets):
        x, y = widget.get("x", 0), widget.get("y", 0)
        width, height = widget.get("width", 6), widget.get("height", 6)
        graph = widget["type"] == "metric" and widget["properties"].get("view") != "singleValue"
        row_height = top / rows
        left = x / 24 + (0.045 if graph else 0.005)
        right = (x + width) / 24 - (0.012 if graph else 0.005)
        bottom = top - (y + height) * row_height + (1.0 if graph else 0.1) * row_height
        box = [
            left,
            bottom,
            right - left,
            height * row_height - (1.6 if graph else 0.7) * row_height,
        ]
        ax = figure.add_axes([max(0.0, v) if i < 2 else max(0.01, v) for i, v in enumerate(box)])
        properties = widget["properties"]
        where = f"widgets[{w}].properties"
        if widget["type"] == "text":
            _draw_text(ax, properties)
        elif widget["type"] == "alarm":
            _draw_alarms(ax, ctx, properties)
        else:
            _draw_metric(ax, ctx, properties, begin, finish, where)
    return figure
