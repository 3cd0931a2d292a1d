"""Metric filters: turn matching log events into CloudWatch metrics, as CloudWatch Logs does.

The emulator stores metric filters (``put_metric_filter``, ``describe_metric_filters``) but never
turns an event into a datapoint (FACTS.md). :func:`apply_metric_filters` reads the filters the
emulator holds for a log group — so that what is stored is what runs — and publishes what
CloudWatch Logs would, following the guide's "Filter pattern syntax" page, section "Setting how
the metric value changes when matches are found", and the ``MetricTransformation`` API reference
(https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_MetricTransformation.html):

* each matching event contributes ``metricValue``: a number (``"1"`` counts matches), or a value
  taken from the event — ``$.latency`` from a JSON event, ``$bytes`` from a space-delimited one;
  an event whose value is missing or not a number contributes nothing;
* the values are aggregated and reported **every minute**. If events were ingested in a minute
  but none matched, ``defaultValue`` (when set) is reported for each of them — so ``0`` turns
  "no errors" into a datapoint instead of a gap; a minute without any event reports nothing;
* ``dimensions`` (at most three) take their values from fields of the matching event
  (``{"Service": "$.service"}``): each distinct value is a metric of its own. A default value
  would have no field to take a dimension from, so this module refuses the combination;
* ``unit`` (``None`` when omitted).

Metric timestamps are the events' (simulated) timestamps, floored to the minute.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import ClientError

from labs.errors import InputError
from labs.observability import published
from labs.observability.logs.events import read_events
from labs.observability.logs.patterns import FilterPattern, compile_pattern

__all__ = [
    "DATAPOINT_COLUMNS",
    "MetricFilter",
    "apply_metric_filters",
    "metric_filter_datapoints",
    "put_metric_filter",
]

DATAPOINT_COLUMNS = [
    "timestamp", "metric", "dimensions", "events", "matched", "sample_count", "sum", "minimum",
    "maximum",
]  # fmt: skip
"""Columns of :func:`metric_filter_datapoints`: one row per minute and dimension set."""

_NAME = re.compile(r"^[^:*$]{1,255}$")
_FILTER_NAME = re.compile(r"^[^:*]{1,512}$")
_REF = re.compile(r"^\$(\.|\[)|^\$[A-Za-z_][A-Za-z0-9_]*$|^\$\d+$")
_UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)  # fmt: skip


def _is_number_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


@dataclass(frozen=True)
class MetricFilter:
    """A metric filter: ``PutMetricFilter``'s parameters with one ``MetricTransformation``.

    Attributes:
        filter_name: ``filterName``.
        filter_pattern: ``filterPattern`` (see :mod:`labs.observability.logs.patterns`).
        metric_name: ``metricName``.
        metric_namespace: ``metricNamespace``.
        metric_value: ``metricValue``: ``"1"``, another number, ``$.selector`` or ``$field``.
        default_value: ``defaultValue``, or None.
        dimensions: ``dimensions``: dimension name -> ``$.selector`` / ``$field`` (at most 3).
        unit: ``unit``, or None.
    """

    filter_name: str
    filter_pattern: str
    metric_name: str
    metric_namespace: str
    metric_value: str = "1"
    default_value: float | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None

    def __post_init__(self) -> None:
        """Validate as ``PutMetricFilter`` does, plus the references the pattern can resolve."""
        if not isinstance(self.filter_name, str) or not _FILTER_NAME.match(self.filter_name):
            raise InputError(
                f"filterName {self.filter_name!r} is not valid.",
                where="filterName",
                hint="1 to 512 characters, without ':' or '*'.",
            )
        for attr, aws in (("metric_name", "metricName"), ("metric_namespace", "metricNamespace")):
            value = getattr(self, attr)
            if not isinstance(value, str) or not _NAME.match(value):
                raise InputError(
                    f"{aws} {value!r} is not valid.",
                    where=aws,
                    hint="1 to 255 characters, without ':', '*' or '$'.",
                )
        pattern = compile_pattern(self.filter_pattern)
        self._check_reference(pattern, self.metric_value, "metricValue", allow_number=True)
        if not isinstance(self.dimensions, Mapping):
            raise InputError("dimensions must be a mapping of name -> field.", where="dimensions")
        if len(self.dimensions) > 3:
            raise InputError(
                f"A metric filter has at most 3 dimensions, got {len(self.dimensions)}.",
                where="dimensions",
            )
        for name, reference in self.dimensions.items():
            self._check_reference(pattern, reference, f"dimensions.{name}", allow_number=False)
        if self.default_value is not None:
            if isinstance(self.default_value, bool) or not isinstance(
                self.default_value, numbers.Real
            ):
                raise InputError(
                    f"defaultValue must be a number, got {self.default_value!r}.",
                    where="defaultValue",
                )
            if self.dimensions:
                raise InputError(
                    "A metric filter with dimensions cannot have a defaultValue: an event that "
                    "does not match has no fields to take the dimension values from.",
                    where="defaultValue",
                    hint="Drop defaultValue, or drop the dimensions.",
                )
        if self.unit is not None and self.unit not in _UNITS:
            raise InputError(f"Unknown unit {self.unit!r}.", where="unit", hint=", ".join(_UNITS))
        object.__setattr__(self, "dimensions", dict(self.dimensions))

    @staticmethod
    def _check_reference(
        pattern: FilterPattern, reference: Any, where: str, *, allow_number: bool
    ) -> None:
        if not isinstance(reference, str) or not reference:
            raise InputError(f"{where} must be a string, got {reference!r}.", where=where)
        if allow_number and _is_number_text(reference):
            return
        if not _REF.match(reference):
            raise InputError(
                f"{where} {reference!r} is neither a number nor a field reference.",
                where=where,
                hint="Use a number such as '1', '$.field' for JSON events, or '$name' for "
                "space-delimited ones.",
            )
        json_ref = reference.startswith(("$.", "$["))
        if json_ref and pattern.kind != "json":
            raise InputError(
                f"{where} {reference!r} reads a JSON member, but the filter pattern is not a "
                "JSON pattern.",
                where=where,
                hint="Use a pattern in braces, e.g. { $.latency = * }.",
            )
        if not json_ref and pattern.kind != "delimited":
            raise InputError(
                f"{where} {reference!r} reads a space-delimited field, but the filter pattern "
                "is not a space-delimited pattern.",
                where=where,
                hint="Use a pattern in brackets, e.g. [ip, user, ..., status, bytes].",
            )
        if not json_ref and not reference[1:].isdigit():
            names = {item.name for item in pattern._items if item.name}
            if reference[1:] not in names:
                raise InputError(
                    f"{where} {reference!r} names no field of the pattern {pattern.text!r}.",
                    where=where,
                    hint=f"Fields: {', '.join('$' + n for n in sorted(names)) or 'none'}.",
                )
        if json_ref:
            FilterPattern.value_of(reference, {"$": {}})  # validates the selector syntax

    @property
    def pattern(self) -> FilterPattern:
        """The compiled filter pattern."""
        return compile_pattern(self.filter_pattern)

    def transformation(self) -> dict[str, Any]:
        """The ``MetricTransformation`` dict of ``put_metric_filter``."""
        out: dict[str, Any] = {
            "metricName": self.metric_name,
            "metricNamespace": self.metric_namespace,
            "metricValue": self.metric_value,
        }
        if self.default_value is not None:
            out["defaultValue"] = float(self.default_value)
        if self.dimensions:
            out["dimensions"] = dict(self.dimensions)
        if self.unit is not None:
            out["unit"] = self.unit
        return out

    def to_put_kwargs(self, log_group: str) -> dict[str, Any]:
        """Keyword arguments of ``logs.put_metric_filter`` for ``log_group``."""
        return {
            "logGroupName": log_group,
            "filterName": self.filter_name,
            "filterPattern": self.filter_pattern,
            "metricTransformations": [self.transformation()],
        }

    @classmethod
    def from_describe(cls, entry: Mapping[str, Any]) -> MetricFilter:
        """Build from one ``describe_metric_filters()["metricFilters"]`` entry."""
        transformation = (entry.get("metricTransformations") or [{}])[0]
        return cls(
            filter_name=entry["filterName"],
            filter_pattern=entry.get("filterPattern", ""),
            metric_name=transformation["metricName"],
            metric_namespace=transformation["metricNamespace"],
            metric_value=transformation["metricValue"],
            default_value=transformation.get("defaultValue"),
            dimensions=transformation.get("dimensions") or {},
            unit=transformation.get("unit"),
        )

    def event_value(self, message: str) -> tuple[bool, float | None, tuple[tuple[str, str], ...]]:
        """For one event: (matched, value or None, dimensions as sorted pairs)."""
        extracted = self.pattern.extract(message)
        if extracted is None:
            return False, None, ()
        if _is_number_text(self.metric_value):
            value: float | None = float(self.metric_value)
        else:
            value = _number(FilterPattern.value_of(self.metric_value, extracted))
        dims = []
        for name, reference in self.dimensions.items():
            raw = FilterPattern.value_of(reference, extracted)
            if raw is None or isinstance(raw, dict | list):
                return True, None, ()  # no value for a dimension: no datapoint
            dims.append((name, str(raw).lower() if isinstance(raw, bool) else str(raw)))
        return True, value, tuple(sorted(dims))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, numbers.Real):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and _is_number_text(value):
        return float(value)
    return None


def _dims_text(dims: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in dims)


def metric_filter_datapoints(events: pd.DataFrame, metric_filter: MetricFilter) -> pd.DataFrame:
    """Return the per-minute datapoints ``metric_filter`` makes from ``events`` (pure function).

    Args:
        events: A frame with ``timestamp`` and ``message`` (e.g. from
            :func:`labs.observability.logs.read_events`).
        metric_filter: The filter.

    Returns:
        One row per minute and dimension set, with :data:`DATAPOINT_COLUMNS`; ``attrs["values"]``
        maps each row's index to the raw values, for percentiles.
    """
    if not isinstance(metric_filter, MetricFilter):
        raise InputError(
            f"metric_filter must be a MetricFilter, got {type(metric_filter).__name__}.",
            where="metric_filter",
        )
    if not isinstance(events, pd.DataFrame) or not {"timestamp", "message"} <= set(events.columns):
        raise InputError(
            "events must be a DataFrame with 'timestamp' and 'message' columns.", where="events"
        )
    minutes = pd.to_datetime(events["timestamp"], utc=True).dt.floor("min")
    groups: dict[tuple[pd.Timestamp, tuple[tuple[str, str], ...]], list[float]] = {}
    counts: dict[pd.Timestamp, list[int]] = {}
    for minute, message in zip(minutes, events["message"], strict=True):
        matched, value, dims = metric_filter.event_value(message)
        tally = counts.setdefault(minute, [0, 0])
        tally[0] += 1
        if matched:
            tally[1] += 1
            if value is not None:
                groups.setdefault((minute, dims), []).append(value)
        elif metric_filter.default_value is not None:
            groups.setdefault((minute, ()), []).append(float(metric_filter.default_value))
    rows, values = [], {}
    for i, ((minute, dims), vals) in enumerate(sorted(groups.items(), key=lambda kv: kv[0])):
        array = np.asarray(vals, dtype=float)
        rows.append(
            {
                "timestamp": minute,
                "metric": metric_filter.metric_name,
                "dimensions": _dims_text(dims),
                "events": counts[minute][0],
                "matched": counts[minute][1],
                "sample_count": int(array.size),
                "sum": float(array.sum()),
                "minimum": float(array.min()),
                "maximum": float(array.max()),
            }
        )
        values[i] = (dims, array)
    frame = pd.DataFrame(rows, columns=DATAPOINT_COLUMNS)
    frame.attrs["values"] = values
    return frame


def put_metric_filter(ctx: Any, log_group: str, metric_filter: MetricFilter) -> dict[str, Any]:
    """Create or update ``metric_filter`` on ``log_group`` with ``put_metric_filter``.

    Returns:
        The filter as ``describe_metric_filters`` now reports it.
    """
    logs = ctx.client("logs")
    if ctx.is_local:
        # The emulator appends a second filter of the same name instead of replacing it (and
        # keeps filters after their log group is deleted): replace it by hand.
        _delete_local(logs, log_group, metric_filter.filter_name)
    logs.put_metric_filter(**metric_filter.to_put_kwargs(log_group))
    described = logs.describe_metric_filters(
        logGroupName=log_group, filterNamePrefix=metric_filter.filter_name
    )["metricFilters"]
    for entry in described:
        if entry["filterName"] == metric_filter.filter_name:
            return entry
    raise InputError(  # pragma: no cover - the emulator and AWS both return it
        f"Metric filter {metric_filter.filter_name!r} was not stored.", where="filterName"
    )


def _delete_local(logs: Any, log_group: str, name: str) -> None:
    with contextlib.suppress(ClientError):
        logs.delete_metric_filter(logGroupName=log_group, filterName=name)


def _stored_filters(ctx: Any, log_group: str) -> list[MetricFilter]:
    logs = ctx.client("logs")
    try:
        entries = logs.describe_metric_filters(logGroupName=log_group)["metricFilters"]
    except ClientError as exc:
        raise InputError(
            f"Could not read the metric filters of {log_group!r}: {exc}", where="log_group"
        ) from None
    latest = {e["filterName"]: e for e in entries if e.get("logGroupName", log_group) == log_group}
    return [MetricFilter.from_describe(e) for e in latest.values()]


def apply_metric_filters(
    ctx: Any,
    log_group: str,
    *,
    start: Any,
    end: Any,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run the metric filters stored on ``log_group`` over its events and publish the metrics.

    Reads the filters with ``describe_metric_filters`` and the events of ``[start, end)`` with
    :func:`~labs.observability.logs.read_events`, computes the datapoints
    (:func:`metric_filter_datapoints`) and publishes them with ``put_metric_data`` through
    :func:`labs.observability.published.put_metric_data` (the raw values go to the ledger, so
    percentiles of a ``$.latency`` metric work). On the aws target CloudWatch Logs publishes the
    metrics itself: the datapoints are computed for display and nothing is published.

    Args:
        ctx: The workshop context.
        log_group: The log group.
        start: Simulated time of the first event (inclusive).
        end: Simulated time after the last event (exclusive).
        names: Only the filters with these names (default: all of the group's).

    Returns:
        The datapoints of every filter, with a ``filter`` and a ``namespace`` column first.
    """
    filters = _stored_filters(ctx, log_group)
    if names is not None:
        unknown = sorted(set(names) - {f.filter_name for f in filters})
        if unknown:
            raise InputError(
                f"Log group {log_group!r} has no metric filter called {unknown[0]!r}.",
                where="names",
                hint="Create it with labs.observability.logs.put_metric_filter(...).",
            )
        filters = [f for f in filters if f.filter_name in set(names)]
    events = read_events(ctx, log_group, start=start, end=end)
    frames = []
    for metric_filter in filters:
        points = metric_filter_datapoints(events, metric_filter)
        if ctx.is_local and not points.empty:
            _publish(ctx, metric_filter, points)
        frames.append(
            points.assign(
                filter=metric_filter.filter_name, namespace=metric_filter.metric_namespace
            )
        )
    columns = ["filter", "namespace", *DATAPOINT_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _publish(ctx: Any, metric_filter: MetricFilter, points: pd.DataFrame) -> int:
    sent, full = [], []
    for i, row in points.iterrows():
        dims, values = points.attrs["values"][i]
        base: dict[str, Any] = {
            "MetricName": metric_filter.metric_name,
            "Timestamp": row["timestamp"].to_pydatetime(),
            "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
            "Unit": metric_filter.unit or "None",
        }
        sent.append(
            {
                **base,
                "StatisticValues": {
                    "SampleCount": float(row["sample_count"]),
                    "Sum": float(row["sum"]),
                    "Minimum": float(row["minimum"]),
                    "Maximum": float(row["maximum"]),
                },
            }
        )
        uniques, tally = np.unique(values, return_counts=True)
        full.append({**base, "Values": uniques.tolist(), "Counts": tally.astype(float).tolist()})
    return published.put_metric_data(ctx, metric_filter.metric_namespace, sent, ledger_data=full)
