"""The bookstore under simulated traffic: its JSON request logs, and metrics in EMF.

:func:`run_bookstore` drives the real bookstore services (:mod:`labs.bookstore`, called through
WSGI in this process) with requests whose arrivals come from the traffic simulator, minute by
minute of simulated time, and captures what a deployed bookstore would write:

* its **structured JSON logs**: one line per request and service, written by the bookstore's own
  :class:`~labs.bookstore.JsonFormatter` (``orders`` calls ``catalog`` and ``payments``, so one
  order makes three lines that share a request id);
* one **Embedded Metric Format** document per request line, built with the
  ``aws-embedded-metrics`` library: metrics ``Requests``, ``Errors`` (1 for a 5xx) and ``Latency``
  (ms) in namespace :data:`NAMESPACE`, dimension sets ``[Service]`` and ``[Service, Version]``,
  and the request id, method, path and status as properties (high-cardinality values belong in
  properties, never in dimensions).

Time is simulated: every service reads a clock that advances by a latency drawn from its
baseline (:data:`labs.bookstore.LATENCY_BASELINES`), a release's added latency is "slept" on the
same clock, and the orders service's latency includes the catalog and payments calls it makes.
Every random draw is seeded: the same arguments give the same logs.

The library is used offline, with no agent: its ``MetricsLogger`` builds the metrics context and
its ``LogSerializer`` turns it into the JSON documents (the part a sink would write). The
library refuses timestamps older than 14 days (CloudWatch rejects metric data that old); the
simulated clock is in January 2026, so the simulated time goes straight into the document's
``_aws.Timestamp``.

CloudWatch extracts metrics from EMF log events itself; the emulator does not (FACTS.md).
:func:`extract_metrics` parses the ``_aws.CloudWatchMetrics`` directives as the specification
says (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
and :func:`publish_extracted` publishes them with ``put_metric_data``.
"""

from __future__ import annotations

import json
import logging
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from aws_embedded_metrics import exceptions as emf_errors
from aws_embedded_metrics.logger.metrics_context import MetricsContext
from aws_embedded_metrics.logger.metrics_logger import MetricsLogger
from aws_embedded_metrics.serializers.log_serializer import LogSerializer
from aws_embedded_metrics.storage_resolution import StorageResolution

from labs.bookstore import (
    LATENCY_BASELINES,
    LOGGER_NAME,
    SEED_BOOKS,
    CatalogApp,
    JsonFormatter,
    LatencyBaseline,
    OrdersApp,
    PaymentsApp,
    WsgiClient,
    fault_for_version,
)
from labs.errors import InputError
from labs.observability import published
from labs.observability.clock import ServiceClock, SimTime
from labs.observability.logs import ensure_log_group, put_events
from labs.observability.traffic import TrafficSimulator

__all__ = [
    "APP_LOG_GROUP",
    "DEFAULT_RELEASES",
    "EMF_LOG_GROUP",
    "NAMESPACE",
    "NIGHT",
    "ORDERS_OWN_LATENCY",
    "SPEC_URL",
    "BookstoreRun",
    "emf_documents",
    "extract_frame",
    "extract_metrics",
    "publish_extracted",
    "run_bookstore",
    "write_run",
]

NAMESPACE = "Bookstore"
"""The CloudWatch namespace of the bookstore's EMF metrics."""
APP_LOG_GROUP = "/labs/bookstore/requests"
"""Log group of the services' JSON request logs (one stream per service and version)."""
EMF_LOG_GROUP = "/labs/bookstore/emf"
"""Log group of the EMF documents (one stream per service and version)."""
SPEC_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/"
    "CloudWatch_Embedded_Metric_Format_Specification.html"
)
ORDERS_OWN_LATENCY = LatencyBaseline(median_ms=20.0, p99_ms=90.0)
"""The orders service's own work per order; its logged latency adds catalog and payments."""
DEFAULT_RELEASES: Mapping[str, tuple[tuple[int, str], ...]] = {
    "catalog": ((0, "v1"),),
    "orders": ((0, "v1"),),
    "payments": ((0, "v1"), (15, "v2-bad"), (27, "v1")),
}
"""The default story: ``payments`` ships ``v2-bad`` at minute 15 and rolls back at minute 27."""

NIGHT: Mapping[str, Any] = {
    "minutes": 60,
    "orders_per_second": 0.08,
    "browses_per_second": 0.0,
    "releases": {"payments": ((0, "v1"), (15, "v2-bad"), (45, "v1"))},
    "seed": 7,
}
"""A quiet night: about five orders a minute, and ``payments`` ``v2-bad`` from minute 15 to 45.

With so little traffic, a count of payment errors has minutes without any error — and a metric
filter without a default value publishes nothing for them: a *gappy* metric.
``run_bookstore(start, **NIGHT)``.
"""

_SERVICES = ("catalog", "orders", "payments")
_QUANTITIES = (1, 1, 1, 1, 1, 1, 2, 2, 3, 12)
_MAX_VALUES = 100  # an EMF metric array holds at most 100 values
_UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Building EMF documents with the library, offline
# --------------------------------------------------------------------------------------------


async def _no_environment() -> Any:  # pragma: no cover - never awaited: nothing is flushed
    raise RuntimeError("labs serializes EMF documents itself; nothing is flushed to an agent")


def _ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


def _utc(value: Any, where: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a point in time.", where=where) from None
    if stamp is pd.NaT:
        raise InputError("The time is missing (NaT).", where=where)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def emf_documents(
    *,
    namespace: str,
    dimensions: Sequence[Mapping[str, str]],
    metrics: Mapping[str, Any],
    timestamp: Any,
    properties: Mapping[str, Any] | None = None,
) -> list[str]:
    """Return the EMF document(s) the ``aws-embedded-metrics`` library writes for these metrics.

    Args:
        namespace: The CloudWatch namespace.
        dimensions: Dimension sets, e.g. ``[{"Service": "orders"}, {"Service": "orders",
            "Version": "v1"}]``; each becomes a metric of its own.
        metrics: Name -> ``(value or list of values, unit)`` or ``(values, unit, resolution)``
            where resolution is 60 (standard, the default) or 1 (high resolution).
        timestamp: The metrics' time (simulated time on the local target).
        properties: Extra members (not dimensions), e.g. a request id.

    Returns:
        JSON strings; more than one when a metric has over 100 values (the library splits).

    Raises:
        InputError: For an invalid namespace, dimension, metric, unit or resolution.
    """
    logger = MetricsLogger(_no_environment, MetricsContext.empty())
    try:
        logger.set_namespace(namespace)
        logger.set_dimensions(*[dict(d) for d in dimensions])
        for name, spec in metrics.items():
            values, unit, *rest = spec
            resolution = StorageResolution(rest[0] if rest else 60)
            for value in values if isinstance(values, list | tuple | np.ndarray) else [values]:
                logger.put_metric(name, float(value), unit, resolution)
        for key, value in (properties or {}).items():
            logger.set_property(key, value)
    except (
        ValueError,
        TypeError,
        emf_errors.DimensionSetExceededError,
        emf_errors.InvalidDimensionError,
        emf_errors.InvalidMetricError,
        emf_errors.InvalidNamespaceError,
    ) as exc:
        raise InputError(f"The EMF library refused the metrics: {exc}", where="metrics") from None
    logger.context.meta["Timestamp"] = _ms(_utc(timestamp, "timestamp"))
    return LogSerializer.serialize(logger.context)


# --------------------------------------------------------------------------------------------
# Extracting metrics from EMF documents, as CloudWatch does
# --------------------------------------------------------------------------------------------


def _invalid(strict: bool, what: str, where: str) -> list[dict[str, Any]]:
    if strict:
        raise InputError(
            f"Not a valid EMF document: {what}",
            where=where,
            hint=f"See the specification: {SPEC_URL}",
        )
    return []


def extract_metrics(message: str, *, strict: bool = False) -> list[dict[str, Any]]:
    """Return the ``MetricDatum`` dicts CloudWatch extracts from one EMF log event.

    Follows the specification: the root is a JSON object with ``_aws`` holding ``Timestamp``
    (ms) and ``CloudWatchMetrics``, a list of directives, each with ``Namespace``,
    ``Dimensions`` (a list of dimension sets: lists of at most 30 root member names whose values
    are strings) and ``Metrics`` (at most 100 definitions, ``Name`` plus optional ``Unit`` and
    ``StorageResolution``); each metric's value is a root member holding a number or an array
    of at most 100 numbers. Every dimension set makes one datum per metric.

    Args:
        message: The log event message.
        strict: Raise on an invalid document instead of extracting nothing (CloudWatch stores
            the event and extracts no metric).

    Returns:
        Datums with ``MetricName``, ``Dimensions``, ``Timestamp``, ``Values``, ``Unit``,
        ``StorageResolution`` and the ``Namespace`` (not a MetricDatum field: group by it).
    """
    try:
        root = json.loads(message)
    except (TypeError, ValueError):
        return _invalid(strict, "the message is not JSON.", "message")
    if not isinstance(root, dict) or not isinstance(root.get("_aws"), dict):
        return _invalid(strict, "the root object has no _aws member.", "_aws")
    meta = root["_aws"]
    stamp = meta.get("Timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, numbers.Integral):
        return _invalid(
            strict, "_aws.Timestamp must be milliseconds since the epoch.", "_aws.Timestamp"
        )
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        return _invalid(
            strict, "_aws.CloudWatchMetrics must be an array.", "_aws.CloudWatchMetrics"
        )
    when = pd.Timestamp(int(stamp), unit="ms", tz="UTC").to_pydatetime()
    datums: list[dict[str, Any]] = []
    for d, directive in enumerate(directives):
        where = f"_aws.CloudWatchMetrics[{d}]"
        if not isinstance(directive, dict):
            return _invalid(strict, "a metric directive must be an object.", where)
        namespace, dim_sets, defs = (
            directive.get(k) for k in ("Namespace", "Dimensions", "Metrics")
        )
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            return _invalid(strict, "Namespace must be a string of 1 to 255 characters.", where)
        if not isinstance(dim_sets, list) or not all(isinstance(s, list) for s in dim_sets):
            return _invalid(strict, "Dimensions must be an array of arrays.", where + ".Dimensions")
        if not isinstance(defs, list) or len(defs) > 100:
            return _invalid(strict, "Metrics must be an array of at most 100.", where + ".Metrics")
        resolved_sets = []
        for s, names in enumerate(dim_sets):
            if len(names) > 30:
                return _invalid(
                    strict, "a dimension set has more than 30 keys.", f"{where}.Dimensions[{s}]"
                )
            pairs = []
            for name in names:
                value = root.get(name) if isinstance(name, str) else None
                if not isinstance(value, str):
                    return _invalid(
                        strict,
                        f"dimension {name!r} must be a root member with a string value.",
                        f"{where}.Dimensions[{s}]",
                    )
                pairs.append({"Name": name, "Value": value})
            resolved_sets.append(pairs)
        for m, definition in enumerate(defs):
            spot = f"{where}.Metrics[{m}]"
            name = definition.get("Name") if isinstance(definition, dict) else None
            if not isinstance(name, str) or not name:
                return _invalid(strict, "a metric definition needs a Name.", spot)
            unit = definition.get("Unit", "None")
            if unit not in _UNITS:
                return _invalid(strict, f"Unit {unit!r} is not a CloudWatch unit.", spot)
            resolution = definition.get("StorageResolution", 60)
            if resolution not in (1, 60):
                return _invalid(strict, "StorageResolution must be 1 or 60.", spot)
            raw = root.get(name)
            values = raw if isinstance(raw, list) else [raw]
            if (
                len(values) > _MAX_VALUES
                or not values
                or not all(
                    isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
                    for v in values
                )
            ):
                return _invalid(
                    strict,
                    f"metric {name!r} needs a root member holding a number or up to 100 numbers.",
                    spot,
                )
            for pairs in resolved_sets:
                datums.append(
                    {
                        "Namespace": namespace,
                        "MetricName": name,
                        "Dimensions": pairs,
                        "Timestamp": when,
                        "Values": [float(v) for v in values],
                        "Unit": unit,
                        "StorageResolution": int(resolution),
                    }
                )
    return datums


def _dims_text(dims: Iterable[Mapping[str, str]]) -> str:
    return ", ".join(f"{d['Name']}={d['Value']}" for d in dims)


def extract_frame(messages: Iterable[str]) -> pd.DataFrame:
    """Extract every EMF message's metrics into one frame, one row per datum.

    Columns: ``timestamp``, ``namespace``, ``metric``, ``dimensions`` (``"Service=orders"``),
    ``unit``, ``resolution`` (1 or 60), ``values`` (a list), ``count``, ``sum``.
    """
    rows = []
    for message in messages:
        for datum in extract_metrics(message):
            values = datum["Values"]
            rows.append(
                {
                    "timestamp": pd.Timestamp(datum["Timestamp"]),
                    "namespace": datum["Namespace"],
                    "metric": datum["MetricName"],
                    "dimensions": _dims_text(datum["Dimensions"]),
                    "unit": datum["Unit"],
                    "resolution": datum["StorageResolution"],
                    "values": values,
                    "count": len(values),
                    "sum": float(sum(values)),
                }
            )
    columns = [
        "timestamp",
        "namespace",
        "metric",
        "dimensions",
        "unit",
        "resolution",
        "values",
        "count",
        "sum",
    ]
    return pd.DataFrame(rows, columns=columns)


def publish_extracted(ctx: Any, messages: Iterable[str]) -> pd.DataFrame:
    """Publish the metrics CloudWatch would extract from these EMF messages; return them.

    CloudWatch stores a standard-resolution metric at one-minute granularity and a
    high-resolution one (``StorageResolution`` 1) at one second, so the datums are merged per
    metric, dimension set and minute (or second) first — no statistic changes. The emulator
    receives one statistic set per merged datum, with its ``StorageResolution``; the raw values go
    to the ledger (:mod:`labs.observability.published`), where percentiles are computed. On the
    aws target nothing is published (CloudWatch extracts EMF itself); the frame is still returned.

    Returns:
        One row per merged datum: ``timestamp``, ``namespace``, ``metric``, ``dimensions``,
        ``unit``, ``resolution``, ``sample_count``, ``sum``, ``minimum``, ``maximum``.
    """
    merged: dict[tuple[Any, ...], list[float]] = {}
    dims_of: dict[str, list[dict[str, str]]] = {}
    for message in messages:
        for datum in extract_metrics(message):
            step = 1000 if datum["StorageResolution"] == 1 else 60_000
            ms = round(datum["Timestamp"].timestamp() * 1000)
            bucket = ms - ms % step
            dims = _dims_text(datum["Dimensions"])
            dims_of[dims] = datum["Dimensions"]
            key = (
                bucket,
                datum["Namespace"],
                datum["MetricName"],
                dims,
                datum["Unit"],
                datum["StorageResolution"],
            )
            merged.setdefault(key, []).extend(datum["Values"])
    rows, by_namespace = [], {}
    for key in sorted(merged, key=lambda k: (k[1], k[2], k[3], k[0])):
        bucket_ms, namespace, metric, dims, unit, resolution = key
        bucket = pd.Timestamp(bucket_ms, unit="ms", tz="UTC")
        values = np.asarray(merged[key])
        rows.append(
            {
                "timestamp": bucket,
                "namespace": namespace,
                "metric": metric,
                "dimensions": dims,
                "unit": unit,
                "resolution": resolution,
                "sample_count": int(values.size),
                "sum": float(values.sum()),
                "minimum": float(values.min()),
                "maximum": float(values.max()),
            }
        )
        base = {
            "MetricName": metric,
            "Dimensions": dims_of[dims],
            "Timestamp": bucket.to_pydatetime(),
            "Unit": unit,
            "StorageResolution": resolution,
        }
        uniques, counts = np.unique(values, return_counts=True)
        sent = {
            **base,
            "StatisticValues": {
                "SampleCount": float(values.size),
                "Sum": float(values.sum()),
                "Minimum": float(values.min()),
                "Maximum": float(values.max()),
            },
        }
        full = {**base, "Values": uniques.tolist(), "Counts": counts.astype(float).tolist()}
        pair = by_namespace.setdefault(namespace, ([], []))
        pair[0].append(sent)
        pair[1].append(full)
    if ctx is not None and ctx.is_local:
        for namespace, (sent, full) in by_namespace.items():
            published.put_metric_data(ctx, namespace, sent, ledger_data=full)
    columns = [
        "timestamp",
        "namespace",
        "metric",
        "dimensions",
        "unit",
        "resolution",
        "sample_count",
        "sum",
        "minimum",
        "maximum",
    ]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Driving the bookstore on the simulated clock
# --------------------------------------------------------------------------------------------


class _Capture(logging.Handler):
    """Collects the bookstore's log records as JSON lines and EMF documents, on simulated time."""

    def __init__(self, start: pd.Timestamp, time: SimTime) -> None:
        super().__init__(logging.INFO)
        self.start_s = start.timestamp()
        self.time = time
        self.formatter_json = JsonFormatter()
        self.logs: list[tuple[float, str, str]] = []
        self.emf: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Whole milliseconds (plus a hair, so that formatting never truncates to the one below).
        record.created = round(self.start_s + self.time.now, 3) + 4e-7
        record.msecs = round(record.created % 1, 3) * 1000
        fields = record.__dict__
        service, version = fields.get("service", "?"), fields.get("version", "?")
        stream = f"{service}/{version}"
        self.logs.append((record.created, stream, self.formatter_json.format(record)))
        status = int(fields.get("status", 0))
        documents = emf_documents(
            namespace=NAMESPACE,
            dimensions=[{"Service": service}, {"Service": service, "Version": version}],
            metrics={
                "Requests": (1, "Count"),
                "Errors": (1 if status >= 500 else 0, "Count"),
                "Latency": (float(fields.get("latency_ms", 0.0)), "Milliseconds"),
            },
            timestamp=pd.Timestamp(record.created, unit="s", tz="UTC"),
            properties={
                "RequestId": fields.get("request_id"),
                "Method": fields.get("method"),
                "Path": fields.get("path"),
                "Status": status,
            },
        )
        for document in documents:
            self.emf.append((record.created, stream, document))


class _Switch:
    """A client that sends each request to the version of a service live at that moment."""

    def __init__(self, apps: Mapping[str, Any], live: Callable[[], str]) -> None:
        self.clients = {version: WsgiClient(app) for version, app in apps.items()}
        self.live = live

    def request(self, method: str, path: str, body: Any = None, *, headers: Any = None) -> Any:
        return self.clients[self.live()].request(method, path, body, headers=headers)


@dataclass
class BookstoreRun:
    """What the bookstore did and wrote during a run (see :func:`run_bookstore`).

    Attributes:
        start: Simulated time the run started (UTC).
        minutes: Its length in minutes.
        releases: The version of each service over time (``service``, ``minute``, ``version``).
        requests: One row per request the driver sent: ``timestamp``, ``service``, ``method``,
            ``path``, ``status``, ``latency_ms``, ``request_id``.
        logs: The JSON request log lines: ``timestamp``, ``stream`` (``service/version``),
            ``message``.
        emf: The EMF documents, same columns.
    """

    start: pd.Timestamp
    minutes: int
    releases: pd.DataFrame
    requests: pd.DataFrame
    logs: pd.DataFrame
    emf: pd.DataFrame = field(repr=False)

    @property
    def end(self) -> pd.Timestamp:
        """Simulated time the run ended."""
        return self.start + pd.Timedelta(minutes=self.minutes)

    def version_at(self, service: str, minute: float) -> str:
        """The version of ``service`` live ``minute`` minutes after the start."""
        rows = self.releases[
            (self.releases["service"] == service) & (self.releases["minute"] <= minute)
        ]
        return str(rows["version"].iloc[-1])

    def summary(self) -> pd.DataFrame:
        """Log lines per service and version, by status class (2xx, 4xx, 5xx)."""
        parsed = pd.json_normalize([json.loads(m) for m in self.logs["message"]])
        parsed["class"] = (parsed["status"] // 100).astype(str) + "xx"
        table = parsed.pivot_table(
            index=["service", "version"],
            columns="class",
            values="status",
            aggfunc="count",
            fill_value=0,
        )
        table.columns.name = None
        return table


def _release_frame(releases: Mapping[str, Sequence[tuple[int, str]]], minutes: int) -> pd.DataFrame:
    rows = []
    for service in _SERVICES:
        plan = list(releases.get(service, ((0, "v1"),)))
        if not plan or plan[0][0] != 0:
            raise InputError(
                f"The releases of {service!r} must start at minute 0.",
                where=f"releases[{service!r}]",
                hint='e.g. {"payments": [(0, "v1"), (15, "v2-bad"), (27, "v1")]}',
            )
        last = -1
        for minute, version in plan:
            if isinstance(minute, bool) or not isinstance(minute, int) or minute <= last:
                raise InputError(
                    f"Release minutes of {service!r} must be whole numbers that increase, got "
                    f"{minute!r}.",
                    where=f"releases[{service!r}]",
                )
            if not isinstance(version, str) or not version:
                raise InputError(f"A version label is a string, got {version!r}.", where="releases")
            last = minute
            if minute < minutes:  # a release after the end of the run never happens
                rows.append({"service": service, "minute": minute, "version": version})
    unknown = sorted(set(releases) - set(_SERVICES))
    if unknown:
        raise InputError(
            f"The bookstore has no service {unknown[0]!r}.",
            where="releases",
            hint=f"Use {', '.join(_SERVICES)}.",
        )
    return pd.DataFrame(rows, columns=["service", "minute", "version"])


def run_bookstore(
    start: Any,
    minutes: int = 40,
    *,
    orders_per_second: float = 1.0,
    browses_per_second: float = 0.5,
    releases: Mapping[str, Sequence[tuple[int, str]]] | None = None,
    seed: int = 10,
) -> BookstoreRun:
    """Send simulated traffic through the real bookstore services; capture their logs and EMF.

    Each simulated minute the traffic simulator (:class:`~labs.observability.traffic.
    TrafficSimulator`, Poisson arrivals) says how many orders (``POST /orders``, which calls
    catalog and payments) and catalog browses (``GET /books``, ``GET /books/{id}``) arrive; they
    are spread over the minute and sent, in order, to the version of each service live at that
    minute (``releases``). Some orders fail on purpose the way real ones do: an unknown book (404),
    a book out of stock (409), a charge over the payments limit (402). A release's fault switch
    fails requests (500) and adds latency.

    Args:
        start: Simulated start time, e.g. ``SimClock.reserve(ctx, 60).start``.
        minutes: Length of the run.
        orders_per_second: Mean order rate.
        browses_per_second: Mean rate of catalog browses.
        releases: Per service, ``(minute, version)`` steps starting at minute 0 (steps after
            the end of the run are ignored); default :data:`DEFAULT_RELEASES`.
        seed: Seeds every random draw.

    Returns:
        The :class:`BookstoreRun`.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 24 * 60:
        raise InputError(
            f"minutes must be a whole number from 1 to 1440, got {minutes!r}.", where="minutes"
        )
    for name, rate in (
        ("orders_per_second", orders_per_second),
        ("browses_per_second", browses_per_second),
    ):
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 50:
            raise InputError(f"{name} must be a number from 0 to 50, got {rate!r}.", where=name)
    start_at = _utc(start, "start").floor("s")
    plan = _release_frame(DEFAULT_RELEASES if releases is None else releases, minutes)
    rng = np.random.default_rng(seed)
    time = SimTime()
    minute_now = [0]

    def live(service: str) -> Callable[[], str]:
        rows = plan[plan["service"] == service]
        steps = list(zip(rows["minute"], rows["version"], strict=True))

        def current() -> str:
            version = steps[0][1]
            for m, v in steps:
                if m <= minute_now[0]:
                    version = v
            return version

        return current

    counter = [0]

    def request_id() -> str:
        counter[0] += 1
        return f"req-{seed:03d}-{counter[0]:06d}"

    def app(cls: Any, service: str, version: str, baseline: LatencyBaseline, **kwargs: Any) -> Any:
        fault = replace(fault_for_version(version), seed=int(rng.integers(1 << 30)))
        clock = ServiceClock(time, np.random.default_rng(int(rng.integers(1 << 30))), baseline)
        return cls(
            version=version,
            fault=fault,
            sleep=time.sleep,
            clock=clock,
            request_id_factory=request_id,
            **kwargs,
        )

    versions = {s: sorted(set(plan[plan["service"] == s]["version"])) for s in _SERVICES}
    catalogs = {
        v: app(CatalogApp, "catalog", v, LATENCY_BASELINES["catalog"]) for v in versions["catalog"]
    }
    payments = {
        v: app(PaymentsApp, "payments", v, LATENCY_BASELINES["payments"])
        for v in versions["payments"]
    }
    catalog_client = _Switch(catalogs, live("catalog"))
    payments_client = _Switch(payments, live("payments"))
    orders = {
        v: app(
            OrdersApp,
            "orders",
            v,
            ORDERS_OWN_LATENCY,
            catalog=catalog_client,
            payments=payments_client,
        )
        for v in versions["orders"]
    }
    orders_client = _Switch(orders, live("orders"))

    order_sim = TrafficSimulator(
        "orders", requests_per_second=max(orders_per_second, 1e-9), seed=int(rng.integers(1 << 30))
    )
    browse_sim = TrafficSimulator(
        "catalog",
        requests_per_second=max(browses_per_second, 1e-9),
        seed=int(rng.integers(1 << 30)),
    )
    book_ids = [b.id for b in SEED_BOOKS]

    def order() -> tuple[str, str, str, Any]:
        unknown = rng.random() < 0.02  # an unknown book: 404
        book = "unknown-book" if unknown else book_ids[int(rng.integers(len(book_ids)))]
        body = {
            "book_id": book,
            "quantity": int(rng.choice(_QUANTITIES)),  # 12 copies: often 402 or 409
            "customer_id": f"c-{int(rng.integers(1, 500))}",
        }
        return "orders", "POST", "/orders", orders_client.request("POST", "/orders", body)

    def browse() -> tuple[str, str, str, Any]:
        whole = rng.random() < 0.4
        path = "/books" if whole else f"/books/{book_ids[int(rng.integers(len(book_ids)))]}"
        return "catalog", "GET", path, catalog_client.request("GET", path)

    capture = _Capture(start_at, time)
    logger = logging.getLogger(LOGGER_NAME)
    saved = (logger.level, logger.propagate)
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    sent: list[dict[str, Any]] = []
    try:
        for minute in range(minutes):
            minute_now[0] = minute
            stamp = start_at + pd.Timedelta(minutes=minute)
            n_orders = order_sim.step(stamp, {"v1": 1}).total_requests if orders_per_second else 0
            n_browse = browse_sim.step(stamp, {"v1": 1}).total_requests if browses_per_second else 0
            kinds = np.array(["order"] * n_orders + ["browse"] * n_browse)
            offsets = rng.uniform(0.0, 60.0, kinds.size)
            for i in np.argsort(offsets, kind="stable"):
                time.now = minute * 60.0 + float(offsets[i])
                arrival = time.now
                service, method, path, reply = order() if kinds[i] == "order" else browse()
                sent.append(
                    {
                        "timestamp": (start_at + pd.Timedelta(seconds=arrival)).round("ms"),
                        "service": service,
                        "method": method,
                        "path": path,
                        "status": reply.status,
                        "latency_ms": round((time.now - arrival) * 1000.0, 3),
                        "request_id": reply.headers.get("x-request-id", ""),
                    }
                )
    finally:
        logger.removeHandler(capture)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]

    def frame(rows: list[tuple[float, str, str]]) -> pd.DataFrame:
        out = pd.DataFrame(rows, columns=["created", "stream", "message"])
        out.insert(
            0, "timestamp", pd.to_datetime(out.pop("created"), unit="s", utc=True).dt.round("ms")
        )
        return out.sort_values("timestamp", kind="stable").reset_index(drop=True)

    columns = ["timestamp", "service", "method", "path", "status", "latency_ms", "request_id"]
    return BookstoreRun(
        start=start_at,
        minutes=minutes,
        releases=plan,
        requests=pd.DataFrame(sent, columns=columns),
        logs=frame(capture.logs),
        emf=frame(capture.emf),
    )


def write_run(
    ctx: Any,
    run: BookstoreRun,
    *,
    tags: Mapping[str, str],
    app_group: str = APP_LOG_GROUP,
    emf_group: str = EMF_LOG_GROUP,
) -> pd.DataFrame:
    """Write a run's JSON logs and EMF documents to CloudWatch Logs; return events per stream.

    Creates both log groups with ``tags`` if needed, and puts each ``service/version`` stream's
    events with :func:`labs.observability.logs.put_events` (simulated time; see that module for
    the 14-day rule).
    """
    counts = []
    for group, events in ((app_group, run.logs), (emf_group, run.emf)):
        ensure_log_group(ctx, group, tags=tags)
        for stream, part in events.groupby("stream", sort=True):
            counts.append(
                {
                    "group": group,
                    "stream": stream,
                    "events": put_events(ctx, group, str(stream), part),
                }
            )
    return pd.DataFrame(counts, columns=["group", "stream", "events"])
