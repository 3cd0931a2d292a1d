"""*Check your work* for the CloudWatch lab: a filter pattern, a steady alarm, a p99 widget.

Each check prints ``✔`` lines (:func:`labs.checks.passed`) or raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found, and a hint. The
checks judge an answer by what it does: the pattern on log lines whose right answer is known, the
alarm on a gappy metric, the widget by what the stored dashboard draws.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import pandas as pd

from labs.checks import answered, exercise, passed
from labs.errors import CheckFailed, InputError
from labs.observability import dashboards, emf, logs
from labs.observability import metrics as metric_data
from labs.observability.alarms import ALARM, OK, Alarm, evaluate_series
from labs.observability.clock import EPOCH

__all__ = [
    "GAPPY_FILTER",
    "gappy_metric",
    "p99_widget",
    "payments_5xx_pattern",
    "steady_alarm",
]

GAPPY_FILTER = logs.MetricFilter(
    filter_name="payments-5xx",
    filter_pattern='{ $.service = "payments" && $.status >= 500 }',
    metric_name="PaymentErrors",
    metric_namespace=emf.NAMESPACE,
    metric_value="1",
)
"""The metric filter behind the gappy metric: payment 5xx per minute, no default value."""

_INCIDENT = (15, 45)  # minutes of the quiet night when payments runs v2-bad
_DETECT_WITHIN = 10  # minutes
_TRAPS = (
    # (message, should match, why it is a trap)
    ('{"service": "payments", "version": "v2", "status": 503, "path": "/payments"}', True,
     "a 503 from payments is a 5xx too"),
    ('{"service": "orders", "version": "v1", "status": 502, "error": "payments answered HTTP 500"}',
     False, "orders' 502 mentions payments and 500, but it is an orders event"),
    ('{"service": "payments", "version": "v1", "status": 402, "error": "payment declined: 500"}',
     False, "a declined payment (402) is not a server error"),
    ('{"service": "payments-gateway", "version": "v1", "status": 500}', False,
     "payments-gateway is another service"),
    ('{"service": "payments", "version": "v1", "status": 600}', False,
     "600 is not an HTTP 5xx status"),
    ("payments 500 injected fault", False, "not a JSON event of the bookstore"),
)  # fmt: skip


@lru_cache(maxsize=1)
def _labelled_events() -> pd.DataFrame:
    run = emf.run_bookstore(
        EPOCH,
        12,
        orders_per_second=1.0,
        browses_per_second=0.3,
        releases={"payments": ((0, "v1"), (4, "v2-bad"))},
        seed=3,
    )
    parsed = [json.loads(m) for m in run.logs["message"]]
    rows = [
        (m, p["service"] == "payments" and 500 <= p["status"] <= 599, "")
        for m, p in zip(run.logs["message"], parsed, strict=True)
    ]
    rows += list(_TRAPS)
    return pd.DataFrame(rows, columns=["message", "expected", "why"])


@exercise("10", 1)
def payments_5xx_pattern(pattern: str | None) -> None:
    """Check a filter pattern that matches exactly the payments service's 5xx events.

    The pattern runs (with :func:`labs.observability.logs.matches`) over the JSON request logs of
    a short bookstore run in which payments fails, plus a few trap lines.
    """
    text = answered(pattern, "your filter pattern")
    if not isinstance(text, str):
        raise CheckFailed("the pattern must be a string.", found=type(text).__name__)
    try:
        compiled = logs.compile_pattern(text)
    except InputError as exc:
        raise CheckFailed(
            "the pattern is not valid CloudWatch Logs syntax.",
            found=str(exc),
            hint='A JSON pattern looks like { $.field = "value" && $.number >= 500 }.',
        ) from None
    events = _labelled_events().copy()
    got = compiled.match_many(events["message"].tolist())
    expected = events["expected"].to_numpy()
    missed = events[expected & ~got]
    extra = events[~expected & got]
    if len(missed):
        first = missed.iloc[0]
        raise CheckFailed(
            f"the pattern misses {len(missed)} payments 5xx event(s).",
            expected=f"all {int(expected.sum())} payments events with a status from 500 to 599",
            found=f"no match for {first['message'][:140]}"
            + (f" ({first['why']})" if first["why"] else ""),
            hint="Select on the JSON fields: $.service and $.status (a number, so >= and <= work).",
        )
    if len(extra):
        first = extra.iloc[0]
        raise CheckFailed(
            f"the pattern also matches {len(extra)} event(s) that are not payments 5xx errors.",
            expected="only events with service payments and a status from 500 to 599",
            found=first["message"][:140] + (f" — {first['why']}" if first["why"] else ""),
            hint="Terms match anywhere in the text; a JSON pattern tests one field's value. "
            'Compare the whole value ($.service = "payments") and bound the status on both sides.',
        )
    passed(
        f"{text!r} matches the {int(expected.sum())} payments 5xx events and none of the other "
        f"{int((~expected).sum())} lines, traps included"
    )


def gappy_metric(start: Any = EPOCH) -> pd.Series:
    """Return the quiet night's payment errors per minute (NaN = no datapoint: a gap).

    The series a metric filter (:data:`GAPPY_FILTER`, no default value) makes from the logs of
    ``run_bookstore(start, **emf.NIGHT)``: one value per minute with at least one error, none
    for the others.
    """
    run = emf.run_bookstore(start, **emf.NIGHT)
    points = logs.metric_filter_datapoints(run.logs, GAPPY_FILTER)
    grid = pd.date_range(run.start, run.end, freq="min", inclusive="left", name="timestamp")
    return points.set_index("timestamp")["sum"].reindex(grid).rename("PaymentErrors")


@exercise("10", 2)
def steady_alarm(alarm: Alarm | None) -> pd.DataFrame:
    """Check an alarm on the gappy payment-error metric: it must not flap.

    Evaluated with :func:`labs.observability.alarms.evaluate_series` over the quiet night
    (:func:`gappy_metric`): it must stay out of ALARM before the incident (minute 15), be in ALARM
    within 10 minutes of its start, go to ALARM exactly once, and be back in OK within 10
    minutes of its end (minute 45), staying there.

    Returns:
        The evaluation, one row per minute.
    """
    alarm = answered(alarm, "your alarm")
    if not isinstance(alarm, Alarm):
        raise CheckFailed(
            "the answer must be an Alarm(...).",
            found=type(alarm).__name__,
            hint="from labs.observability.alarms import Alarm; steady = Alarm(alarm_name=..., ...)",
        )
    wanted = (emf.NAMESPACE, GAPPY_FILTER.metric_name)
    if (alarm.namespace, alarm.metric_name) != wanted or alarm.dimensions:
        raise CheckFailed(
            "the alarm must watch the gappy metric.",
            expected=f"namespace {wanted[0]!r}, metric {wanted[1]!r}, no dimensions",
            found=f"namespace {alarm.namespace!r}, metric {alarm.metric_name!r}, "
            f"dimensions {dict(alarm.dimensions)}",
        )
    series = gappy_metric()
    if alarm.period != 60:
        raise CheckFailed("use the metric's period: 60 seconds.", found=f"{alarm.period} s")
    frame = evaluate_series(alarm, series)
    minutes = ((frame.index - series.index[0]) / pd.Timedelta(minutes=1)).astype(int)
    frame.insert(0, "minute", minutes)
    start, end = _INCIDENT
    before = frame[frame["minute"] < start]
    if (before["state"] == ALARM).any():
        first = int(before[before["state"] == ALARM]["minute"].iloc[0])
        raise CheckFailed(
            "the alarm fires before anything is wrong.",
            expected=f"no ALARM before minute {start}",
            found=f"ALARM at minute {first}",
            hint="Missing datapoints before the incident should not count as breaching.",
        )
    alarmed = frame[frame["state"] == ALARM]
    if alarmed.empty or int(alarmed["minute"].iloc[0]) > start + _DETECT_WITHIN:
        raise CheckFailed(
            "the alarm does not catch the incident in time.",
            expected=f"ALARM by minute {start + _DETECT_WITHIN}",
            found="never in ALARM"
            if alarmed.empty
            else f"first ALARM at minute {int(alarmed['minute'].iloc[0])}",
            hint="Errors arrive in about one minute in two: ask for M breaching datapoints out of "
            "N, with M well below N.",
        )
    entries = int((frame["changed"] & (frame["state"] == ALARM)).sum())
    if entries != 1:
        raise CheckFailed(
            "the alarm flaps: it goes to ALARM more than once.",
            expected="exactly one OK -> ALARM transition",
            found=f"{entries} transitions to ALARM: "
            + ", ".join(
                f"minute {m}" for m in frame[frame["changed"] & (frame["state"] == ALARM)]["minute"]
            ),
            hint="A gap is not good news: evaluate more datapoints (N) and need only some (M) to "
            "breach, with TreatMissingData notBreaching.",
        )
    after = frame[frame["minute"] >= end + _DETECT_WITHIN]
    if not (after["state"] == OK).all():
        state = after["state"].iloc[-1]
        raise CheckFailed(
            "the alarm does not come back to OK after the incident.",
            expected=f"OK from minute {end + _DETECT_WITHIN} on",
            found=f"{state} at the end of the night",
            hint="When the errors stop, the metric has no datapoints at all: decide how missing "
            "data is treated (TreatMissingData).",
        )
    first = int(alarmed["minute"].iloc[0])
    back = int(frame[(frame["minute"] > first) & (frame["state"] == OK)]["minute"].iloc[0])
    passed(
        f"{alarm.alarm_name}: one ALARM, from minute {first} to minute {back}, on a metric with "
        f"{int(series.isna().sum())} gaps in {len(series)} minutes"
    )
    return frame


@exercise("10", 3)
def p99_widget(
    ctx: Any, dashboard_name: str, *, service: str = "orders", start: Any, end: Any
) -> None:
    """Check the stored dashboard has a widget graphing p99 latency of ``service``.

    Reads the dashboard back from CloudWatch, looks for a metric widget with ``Bookstore`` /
    ``Latency`` / ``Service=<service>`` at statistic ``p99`` (in the row's options or the
    widget's ``stat``), and draws it to be sure it shows data.
    """
    try:
        body = dashboards.get_dashboard_body(ctx, dashboard_name)
    except Exception:
        raise CheckFailed(
            f"there is no dashboard called {dashboard_name!r}.",
            hint="Store it with labs.observability.dashboards.put_dashboard(ctx, name, body).",
        ) from None
    try:
        dashboards.validate_body(body)
    except InputError as exc:
        raise CheckFailed("the stored dashboard body is not valid.", found=str(exc)) from None
    found = []
    for w, widget in enumerate(body["widgets"]):
        if widget.get("type") != "metric" or "metrics" not in widget["properties"]:
            continue
        properties = widget["properties"]
        for spec in dashboards.expand_metrics(properties["metrics"]):
            stat = spec.options.get("stat", properties.get("stat", "Average"))
            if (
                spec.namespace == emf.NAMESPACE
                and spec.metric_name == "Latency"
                and dict(spec.dimensions) == {"Service": service}
                and stat == "p99"
            ):
                found.append((w, widget, spec))
    if not found:
        raise CheckFailed(
            f"the dashboard has no widget graphing p99 latency of {service}.",
            expected=f'a metric row ["{emf.NAMESPACE}", "Latency", "Service", "{service}", '
            '{"stat": "p99"}] (or stat "p99" on the widget)',
            found=f"{len(body['widgets'])} widgets, none with that metric at p99",
            hint="Append a widget to body['widgets'] (dashboards.metric_widget(...)) and call "
            "put_dashboard again: CloudWatch replaces the whole body.",
        )
    w, widget, spec = found[0]
    period = int(spec.options.get("period", widget["properties"].get("period", 300)))
    query = metric_data.metric_query(
        "p", emf.NAMESPACE, "Latency", {"Service": service}, stat="p99", period=period
    )
    values = metric_data.get_metric_data(ctx, [query], start, end)["p"].dropna()
    if values.empty:
        raise CheckFailed(
            f"widget {w} shows no data.",
            expected="p99 datapoints in the time range",
            found="none",
            hint="Is the period right? The bookstore's latencies are per minute (60 s).",
        )
    title = widget["properties"].get("title", f"widget {w}")
    passed(
        f"widget {w} ({title!r}) graphs p99 latency of {service}: {len(values)} datapoints, "
        f"from {values.min():.0f} to {values.max():.0f} ms"
    )
