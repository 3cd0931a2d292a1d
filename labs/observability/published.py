"""What ``labs`` published to CloudWatch, kept so that the statistics the emulator lacks exist.

The local emulator stores every datapoint and answers ``GetMetricStatistics`` with SampleCount,
Sum, Average, Minimum and Maximum, but it computes no percentiles: ``ExtendedStatistics`` come
back empty and ``GetMetricData`` with ``p99`` fails (FACTS.md). A latency alarm on p99 is the
alarm that catches a slow release, so the workshop needs them. The approach:

* every datapoint ``labs`` publishes goes through :func:`put_metric_data`, which sends it to
  CloudWatch (chunked to the API's limits) **and** records its raw values — ``Value``, or
  ``Values``/``Counts`` — in a :class:`MetricStore` kept per emulator (the *ledger*). Where the
  emulator is sent a statistic set instead of the values (it stores each of ``Values`` ×
  ``Counts`` as a datapoint of its own, far too slow at simulated traffic volumes), the ledger
  records the values behind it;
* :meth:`MetricStore.statistic` computes any statistic, percentiles included, from those raw
  values over a period, exactly as CloudWatch would from the same values.

The alarm runner reads SampleCount/Sum/Average/Minimum/Maximum from the emulator and only the
percentiles from the ledger. The ledger lives in the process that published (a notebook kernel);
a percentile of data published by another process is reported as missing. A :class:`MetricStore`
is also what dry runs (no emulator at all) evaluate alarms against.

Percentiles follow the nearest-rank definition: ``pNN`` is the smallest published value such that
at least NN% of the values are less than or equal to it. Source for the data model:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html and
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html#Percentiles.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError

__all__ = [
    "MAX_DATUMS_PER_CALL",
    "MAX_VALUES_PER_DATUM",
    "STATISTICS",
    "MetricStore",
    "client",
    "dimensions_key",
    "ledger",
    "put_metric_data",
]

MAX_DATUMS_PER_CALL = 1000
"""``PutMetricData`` takes at most 1,000 datums per call."""
MAX_VALUES_PER_DATUM = 150
"""A datum's ``Values``/``Counts`` arrays hold at most 150 distinct values."""
_MAX_PAYLOAD_BYTES = 800_000  # under PutMetricData's 1 MB request limit, with room to spare
STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")

DimensionsKey = frozenset[tuple[str, str]]


def dimensions_key(dimensions: Any) -> DimensionsKey:
    """Return a metric's dimensions as a hashable set of ``(name, value)`` pairs.

    Accepts CloudWatch's ``[{"Name": ..., "Value": ...}]``, a mapping, or ``(name, value)`` pairs.
    A metric is identified by its namespace, name and exactly this set.
    """
    if not dimensions:
        return frozenset()
    if isinstance(dimensions, Mapping):
        return frozenset((str(k), str(v)) for k, v in dimensions.items())
    pairs = []
    for item in dimensions:
        if isinstance(item, Mapping):
            pairs.append((str(item["Name"]), str(item["Value"])))
        else:
            name, value = item
            pairs.append((str(name), str(value)))
    return frozenset(pairs)


@dataclass
class _Datum:
    time_s: float
    values: np.ndarray
    counts: np.ndarray
    summary: tuple[float, float, float, float] | None = None  # SampleCount, Sum, Min, Max


def _datum_arrays(datum: Mapping[str, Any]) -> _Datum:
    stamp = pd.Timestamp(datum.get("Timestamp") or pd.Timestamp.now(tz="UTC"))
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    time_s = stamp.timestamp()
    if "StatisticValues" in datum:
        s = datum["StatisticValues"]
        summary = (
            float(s["SampleCount"]),
            float(s["Sum"]),
            float(s["Minimum"]),
            float(s["Maximum"]),
        )
        return _Datum(time_s, np.empty(0), np.empty(0), summary)
    if "Values" in datum:
        values = np.asarray(datum["Values"], dtype=float)
        counts = np.asarray(datum.get("Counts") or np.ones(values.size), dtype=float)
        if values.size != counts.size:
            raise InputError(
                f"Metric {datum.get('MetricName')!r} has {values.size} Values but "
                f"{counts.size} Counts.",
                where="MetricData[].Counts",
                hint="Give one count per value, or no Counts at all (each value counts once).",
            )
        return _Datum(time_s, values, counts)
    if "Value" in datum:
        return _Datum(time_s, np.array([float(datum["Value"])]), np.array([1.0]))
    raise InputError(
        f"Metric {datum.get('MetricName')!r} has no Value, Values or StatisticValues.",
        where="MetricData[]",
    )


def _percentile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """Nearest-rank percentile of values weighted by counts; NaN when there are none."""
    keep = counts > 0
    values, counts = values[keep], counts[keep]
    if values.size == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(counts[order])
    rank = max(q / 100.0 * cumulative[-1], 1e-12)
    return float(values[np.searchsorted(cumulative, rank - 1e-9, side="left")])


class MetricStore:
    """Raw datapoints per metric, and CloudWatch statistics computed from them.

    Example:
        >>> store = MetricStore()
        >>> store.add("Bookstore", [{"MetricName": "Latency", "Timestamp": "2026-01-05T09:00Z",
        ...                          "Values": [10.0, 500.0], "Counts": [99, 1]}])
        >>> store.statistic("Bookstore", "Latency", [], "2026-01-05T09:00Z", 60, "p99")
        10.0
    """

    def __init__(self) -> None:
        """Start empty."""
        self._data: dict[tuple[str, str, DimensionsKey], list[_Datum]] = defaultdict(list)

    def add(self, namespace: str, metric_data: Iterable[Mapping[str, Any]]) -> int:
        """Record the datums of one ``PutMetricData`` call; return how many were recorded."""
        added = 0
        for datum in metric_data:
            key = (namespace, datum["MetricName"], dimensions_key(datum.get("Dimensions")))
            self._data[key].append(_datum_arrays(datum))
            added += 1
        return added

    def clear(self) -> None:
        """Forget everything recorded."""
        self._data.clear()

    def __len__(self) -> int:
        """Number of datums recorded."""
        return sum(len(v) for v in self._data.values())

    def statistic(
        self,
        namespace: str,
        metric_name: str,
        dimensions: Any,
        period_start: Any,
        period: int,
        statistic: str,
    ) -> float:
        """Return one statistic of a metric over ``[period_start, period_start + period)``.

        Args:
            namespace: The metric's namespace.
            metric_name: The metric's name.
            dimensions: Its exact dimensions (any form :func:`dimensions_key` accepts).
            period_start: Start of the period.
            period: Length of the period in seconds.
            statistic: ``SampleCount``, ``Sum``, ``Average``, ``Minimum``, ``Maximum`` or a
                percentile ``pNN`` (e.g. ``p99``, ``p99.9``).

        Returns:
            The statistic, or NaN when the period has no datapoint (a *missing* datapoint), or
            for a percentile of datapoints published as statistic sets.
        """
        q = None
        if statistic not in STATISTICS:
            match = _PERCENTILE.match(statistic) if isinstance(statistic, str) else None
            if match is None:
                raise InputError(
                    f"Unknown statistic {statistic!r}.",
                    where="statistic",
                    hint=f"Use one of {', '.join(STATISTICS)} or a percentile such as 'p99'.",
                )
            q = float(match.group(1))
        start = pd.Timestamp(period_start)
        start = start.tz_localize("UTC") if start.tzinfo is None else start
        lo, hi = start.timestamp(), start.timestamp() + period
        found = [
            d
            for d in self._data.get((namespace, metric_name, dimensions_key(dimensions)), ())
            if lo <= d.time_s < hi
        ]
        if not found:
            return math.nan
        if q is not None:
            if any(d.summary is not None for d in found):
                return math.nan
            values = np.concatenate([d.values for d in found])
            counts = np.concatenate([d.counts for d in found])
            return _percentile(values, counts, q)
        n = sum(d.summary[0] if d.summary else d.counts.sum() for d in found)
        total = sum(d.summary[1] if d.summary else float(d.values @ d.counts) for d in found)
        low = min(d.summary[2] if d.summary else d.values[d.counts > 0].min() for d in found)
        high = max(d.summary[3] if d.summary else d.values[d.counts > 0].max() for d in found)
        return float(
            {
                "SampleCount": n,
                "Sum": total,
                "Average": total / n if n else math.nan,
                "Minimum": low,
                "Maximum": high,
            }[statistic]
        )

    def series(
        self,
        namespace: str,
        metric_name: str,
        dimensions: Any,
        period_starts: Sequence[Any],
        period: int,
        statistic: str,
    ) -> pd.Series:
        """Return :meth:`statistic` for each period start, NaN where data is missing."""
        index = pd.DatetimeIndex(pd.to_datetime(list(period_starts), utc=True), name="timestamp")
        return pd.Series(
            [
                self.statistic(namespace, metric_name, dimensions, t, period, statistic)
                for t in index
            ],
            index=index,
            dtype=float,
        )


_LEDGERS: dict[str, MetricStore] = {}
_CLIENTS: dict[tuple[Any, str], Any] = {}


def client(ctx: Any, service: str) -> Any:
    """Return ``ctx.client(service)``, made once per context: engines call AWS every minute.

    Making a boto3 client takes tens of milliseconds, longer than the call itself on the local
    emulator; an engine stepping through a deployment reuses one client per service.
    """
    try:
        key = (ctx, service)
        cached = _CLIENTS.get(key)
    except TypeError:  # an unhashable stand-in for a context: no caching
        return ctx.client(service)
    if cached is None:
        cached = _CLIENTS[key] = ctx.client(service)
    return cached


def ledger(ctx: Any) -> MetricStore:
    """Return the ledger of what this process published to ``ctx``'s emulator."""
    key = str(getattr(ctx, "endpoint", None) or "aws")
    return _LEDGERS.setdefault(key, MetricStore())


def _size(datum: Mapping[str, Any]) -> int:
    return 300 + 90 * len(datum.get("Values", ()))


def put_metric_data(
    ctx: Any,
    namespace: str,
    metric_data: Sequence[Mapping[str, Any]],
    *,
    ledger_data: Sequence[Mapping[str, Any]] | None = None,
) -> int:
    """Publish datums with ``cloudwatch.put_metric_data`` and record them in the ledger.

    Splits the datums into calls within the API limits (1,000 datums, 1 MB; a datum holds at
    most 150 values): https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html.

    Args:
        ctx: The workshop context.
        namespace: The metrics' namespace.
        metric_data: The datums sent to CloudWatch.
        ledger_data: What to record in the ledger instead, when the datums sent summarise
            values (statistic sets) whose distribution the ledger should keep.

    Returns:
        The number of ``PutMetricData`` calls made.
    """
    for datum in metric_data:
        if len(datum.get("Values", ())) > MAX_VALUES_PER_DATUM:
            raise InputError(
                f"Metric {datum['MetricName']!r} has {len(datum['Values'])} values in one datum; "
                f"CloudWatch takes at most {MAX_VALUES_PER_DATUM}.",
                where="MetricData[].Values",
                hint="Split the values over several datums with the same timestamp.",
            )
    cloudwatch = client(ctx, "cloudwatch")
    calls, batch, size = 0, [], 0
    for datum in [*metric_data, None]:
        if (
            datum is None
            or len(batch) == MAX_DATUMS_PER_CALL
            or size + _size(datum) > (_MAX_PAYLOAD_BYTES)
        ):
            if batch:
                cloudwatch.put_metric_data(Namespace=namespace, MetricData=batch)
                calls += 1
            batch, size = [], 0
        if datum is not None:
            batch.append(dict(datum))
            size += _size(datum)
    if ctx.is_local:
        ledger(ctx).add(namespace, metric_data if ledger_data is None else ledger_data)
    return calls
