"""A vectorised traffic simulator: requests over simulated time, split between versions by weight.

Each period (a minute by default) the simulator draws how many requests arrive (Poisson around
``requests_per_second``), splits them between the versions being served by their weights (the
share a load balancer or a Lambda alias sends each one), and for every version draws:

* failures: a binomial draw at the version's ``FaultSwitch.error_rate`` (failures *caused by the
  release*), plus an optional background error rate that every version has (clients that go
  away, timeouts elsewhere); requests to :data:`UNAVAILABLE` (no healthy target) all fail, as an
  ALB answers 503 when no target is registered;
* a latency for every request: a log-normal around the service's healthy baseline
  (``labs.bookstore.LATENCY_BASELINES``) plus the version's ``added_latency_ms``. Latencies are
  drawn per request with numpy (float32) and counted straight into a fine logarithmic histogram
  (:data:`BIN_VALUES`, bins 1% wide from 0.1 ms to 100 s); percentiles are read from it, so p99 is
  within 1% of the exact sample percentile.

Counts are drawn from their exact distributions (binomial, multinomial): the same as flipping a
coin per request, without a loop per request. Everything comes from one seeded
``numpy.random.Generator``: the same seed and the same calls give the same traffic.

The numbers are what a load balancer in front of the service sees: every request, every 5XX, and
the response time of the requests a target answered. :meth:`PeriodTraffic.metric_data` turns a
period into CloudWatch datums in the ``Bookstore`` namespace, dimensions ``Service`` and
``Service, Version``: ``Requests`` and ``Errors`` (Count), ``ErrorRate`` (Percent) and
``Latency`` (Milliseconds, as ``Values``/``Counts`` so that percentiles can be computed; see
:func:`publish` for what goes to the local emulator).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labs.bookstore.faults import LATENCY_BASELINES, fault_for_version
from labs.errors import InputError
from labs.observability import published

__all__ = [
    "BIN_VALUES",
    "NAMESPACE",
    "UNAVAILABLE",
    "PeriodTraffic",
    "TrafficSimulator",
    "VersionBehaviour",
    "histogram_percentiles",
    "publish",
]

NAMESPACE = "Bookstore"
"""CloudWatch namespace of the simulated bookstore metrics."""
UNAVAILABLE = "(no healthy targets)"
"""Pseudo-version: traffic sent here fails with 503, as from a load balancer with no target."""

_LOW_MS, _RATIO, _HIGH_MS = 0.1, 1.01, 100_000.0
_LOG_LOW, _LOG_STEP = math.log(_LOW_MS), math.log(_RATIO)
N_BINS = math.ceil(math.log(_HIGH_MS / _LOW_MS) / _LOG_STEP)
BIN_VALUES = np.exp(_LOG_LOW + (np.arange(N_BINS) + 0.5) * _LOG_STEP)
"""The latency (ms) each histogram bin stands for: geometric bin centres, 1% apart."""
_PERCENTILES = (50.0, 90.0, 99.0)


@dataclass(frozen=True)
class VersionBehaviour:
    """How one version of a service behaves: its error rate and latency distribution.

    Attributes:
        version: The version label, e.g. ``"v2-bad"``.
        error_rate: Fraction of requests that fail because of this version (0 to 1).
        median_ms: Median latency of the healthy service, in ms.
        sigma: Log-normal shape (standard deviation of ``ln(latency)``).
        added_latency_ms: Latency this version adds to every request, in ms.
    """

    version: str
    error_rate: float = 0.0
    median_ms: float = 70.0
    sigma: float = 0.65
    added_latency_ms: float = 0.0

    @classmethod
    def for_bookstore(cls, service: str, version: str) -> VersionBehaviour:
        """Build from the bookstore: the fault switch of ``version`` on ``service``'s baseline."""
        if service not in LATENCY_BASELINES:
            raise InputError(
                f"The bookstore has no service {service!r}.",
                where="service",
                hint=f"Use one of {', '.join(sorted(LATENCY_BASELINES))}.",
            )
        mu, sigma = LATENCY_BASELINES[service].lognormal_params()
        fault = fault_for_version(version)
        return cls(version, fault.error_rate, math.exp(mu), sigma, fault.added_latency_ms)


def histogram_percentiles(histograms: np.ndarray, percentiles: Sequence[float]) -> np.ndarray:
    """Return nearest-rank percentiles (ms) of latency histograms over :data:`BIN_VALUES`.

    Args:
        histograms: Counts per bin, shape ``(..., N_BINS)``.
        percentiles: e.g. ``(50, 90, 99)``.

    Returns:
        Shape ``(..., len(percentiles))``; NaN where a histogram is empty.
    """
    hist = np.asarray(histograms)
    cumulative = np.cumsum(hist, axis=-1)
    total = cumulative[..., -1:]
    out = np.empty((*hist.shape[:-1], len(percentiles)))
    for i, q in enumerate(percentiles):
        rank = np.maximum(q / 100.0 * total, 1e-12) - 1e-9
        index = np.minimum((cumulative < rank).sum(axis=-1), N_BINS - 1)
        out[..., i] = np.where(total[..., 0] > 0, BIN_VALUES[index], np.nan)
    return out


@dataclass
class PeriodTraffic:
    """The traffic of one period: per version, requests, failures and a latency histogram.

    Attributes:
        timestamp: Start of the period (UTC).
        period_s: Length of the period in seconds.
        service: The bookstore service.
        versions: Version labels, in the order of the arrays.
        requests: Requests per version.
        errors: Failed requests per version (all causes).
        fault_errors: Failed requests per version caused by the version's fault switch (for
            :data:`UNAVAILABLE`, every request).
        histograms: Latency histogram per version, shape ``(len(versions), N_BINS)``.
    """

    timestamp: pd.Timestamp
    period_s: int
    service: str
    versions: tuple[str, ...]
    requests: np.ndarray
    errors: np.ndarray
    fault_errors: np.ndarray
    histograms: np.ndarray

    @property
    def total_requests(self) -> int:
        """Requests of all versions together."""
        return int(self.requests.sum())

    @property
    def total_errors(self) -> int:
        """Failed requests of all versions together."""
        return int(self.errors.sum())

    def percentiles(self, version: str | None = None) -> dict[str, float]:
        """Return ``{"p50": …, "p90": …, "p99": …}`` in ms for one version or all together."""
        hist = (
            self.histograms.sum(axis=0)
            if version is None
            else self.histograms[self.versions.index(version)]
        )
        values = histogram_percentiles(hist, _PERCENTILES)
        return {f"p{int(q)}": float(v) for q, v in zip(_PERCENTILES, values, strict=True)}

    def frame(self) -> pd.DataFrame:
        """One row per version and one for all versions (``version == "all"``)."""
        hist = np.vstack([self.histograms, self.histograms.sum(axis=0, keepdims=True)])
        pct = histogram_percentiles(hist, _PERCENTILES)
        requests = np.append(self.requests, self.requests.sum())
        errors = np.append(self.errors, self.errors.sum())
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(requests > 0, 100.0 * errors / np.maximum(requests, 1), np.nan)
        return pd.DataFrame(
            {
                "timestamp": self.timestamp,
                "version": [*self.versions, "all"],
                "requests": requests,
                "errors": errors,
                "fault_errors": np.append(self.fault_errors, self.fault_errors.sum()),
                "error_rate_pct": rate,
                "p50_ms": pct[:, 0],
                "p90_ms": pct[:, 1],
                "p99_ms": pct[:, 2],
            }
        )

    def metric_data(self, latency_as: str = "values") -> list[dict[str, Any]]:
        """Return this period as CloudWatch ``MetricData`` datums (see the module docstring).

        Args:
            latency_as: ``"values"``: ``Latency`` as ``Values``/``Counts`` (the histogram's
                non-empty bins, 150 per datum), from which CloudWatch computes percentiles;
                ``"statistics"``: one statistic set (SampleCount, Sum, Minimum, Maximum) per
                dimension set, which is what :func:`publish` sends to the local emulator.
        """
        if latency_as not in ("values", "statistics"):
            raise InputError(
                f"latency_as is 'values' or 'statistics', got {latency_as!r}.", where="latency_as"
            )
        datums: list[dict[str, Any]] = []
        groups: list[tuple[list[dict[str, str]], int, int, np.ndarray]] = [
            (
                [{"Name": "Service", "Value": self.service}],
                self.total_requests,
                self.total_errors,
                self.histograms.sum(axis=0),
            )
        ]
        for i, version in enumerate(self.versions):
            if version != UNAVAILABLE and self.requests[i] > 0:
                dims = [
                    {"Name": "Service", "Value": self.service},
                    {"Name": "Version", "Value": version},
                ]
                groups.append(
                    (dims, int(self.requests[i]), int(self.errors[i]), self.histograms[i])
                )
        stamp = self.timestamp.to_pydatetime()
        for dims, requests, errors, hist in groups:
            base = {"Dimensions": dims, "Timestamp": stamp}
            datums.append({**base, "MetricName": "Requests", "Value": requests, "Unit": "Count"})
            datums.append({**base, "MetricName": "Errors", "Value": errors, "Unit": "Count"})
            if requests:
                rate = 100.0 * errors / requests
                datums.append({**base, "MetricName": "ErrorRate", "Value": rate, "Unit": "Percent"})
            nonzero = np.flatnonzero(hist)
            if latency_as == "statistics" and nonzero.size:
                statistics = {
                    "SampleCount": float(hist[nonzero].sum()),
                    "Sum": float(BIN_VALUES[nonzero] @ hist[nonzero]),
                    "Minimum": float(BIN_VALUES[nonzero[0]]),
                    "Maximum": float(BIN_VALUES[nonzero[-1]]),
                }
                datums.append(
                    {**base, "MetricName": "Latency", "StatisticValues": statistics,
                     "Unit": "Milliseconds"}
                )  # fmt: skip
                continue
            for chunk in range(0, nonzero.size, published.MAX_VALUES_PER_DATUM):
                bins = nonzero[chunk : chunk + published.MAX_VALUES_PER_DATUM]
                datums.append(
                    {
                        **base,
                        "MetricName": "Latency",
                        "Values": [float(v) for v in BIN_VALUES[bins]],
                        "Counts": [float(c) for c in hist[bins]],
                        "Unit": "Milliseconds",
                    }
                )
        return datums


def publish(
    ctx: Any, periods: PeriodTraffic | Sequence[PeriodTraffic], namespace: str = NAMESPACE
) -> int:
    """Publish periods of traffic to CloudWatch and record them in the ledger; return the calls.

    On AWS, ``Latency`` goes as ``Values``/``Counts`` and CloudWatch computes its percentiles.
    The local emulator stores every value of a ``Values``/``Counts`` datum as a datapoint of its
    own, count times (12,000 objects a minute at 200 requests a second, which makes every later
    query crawl), and computes no percentiles anyway: there ``Latency`` goes as one statistic
    set per period, and the full distribution goes to the ledger
    (:mod:`labs.observability.published`), where the alarm runner reads percentiles.
    """
    items = [periods] if isinstance(periods, PeriodTraffic) else list(periods)
    full = [datum for period in items for datum in period.metric_data("values")]
    if not full:
        return 0
    if not ctx.is_local:
        return published.put_metric_data(ctx, namespace, full)
    sent = [datum for period in items for datum in period.metric_data("statistics")]
    return published.put_metric_data(ctx, namespace, sent, ledger_data=full)


def _positive(value: Any, name: str, *, integer: bool = False, allow_zero: bool = False) -> Any:
    kind = int if integer else (int, float)
    ok = not isinstance(value, bool) and isinstance(value, kind)
    if not ok or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise InputError(
            f"{name} must be a {'whole ' if integer else ''}number above zero, got {value!r}.",
            where=name,
        )
    return value


@dataclass
class TrafficSimulator:
    """Requests to one bookstore service over simulated time, split between versions by weight.

    Args:
        service: ``"orders"`` (default), ``"catalog"`` or ``"payments"``: sets the latency baseline.
        requests_per_second: Mean arrival rate.
        period_s: Length of a period in seconds (60: CloudWatch's standard resolution).
        seed: Seed of the random generator; the same seed gives the same traffic.
        background_error_rate: Fraction of requests that fail whatever the version (0 to 1).
        users: Active users; each request comes from one of them at random. Used to count the
            users who met a failure caused by a release.
        behaviours: Override how versions behave; by default each version label behaves as the
            bookstore's fault switch says (``labs.bookstore.VERSIONS``).
    """

    service: str = "orders"
    requests_per_second: float = 200.0
    period_s: int = 60
    seed: int = 0
    background_error_rate: float = 0.0
    users: int = 20_000
    behaviours: Mapping[str, VersionBehaviour] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Validate the settings and seed the generator."""
        _positive(self.requests_per_second, "requests_per_second")
        _positive(self.period_s, "period_s", integer=True)
        _positive(self.users, "users", integer=True)
        rate = self.background_error_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InputError(
                f"background_error_rate is a fraction from 0 to 1, got {rate!r}.",
                where="background_error_rate",
                hint="e.g. 0.002 for 0.2% of requests failing whatever the version.",
            )
        VersionBehaviour.for_bookstore(self.service, "v1")  # validates the service name
        self._rng = np.random.default_rng(self.seed)
        self._touched: dict[str, np.ndarray] = {}
        self._cache: dict[str, VersionBehaviour] = dict(self.behaviours)

    def behaviour(self, version: str) -> VersionBehaviour:
        """Return how ``version`` behaves on this simulator's service."""
        if version not in self._cache:
            self._cache[version] = VersionBehaviour.for_bookstore(self.service, version)
        return self._cache[version]

    def users_affected(self, versions: str | Sequence[str] | None = None) -> int:
        """Distinct users who got at least one failure caused by ``versions`` (default: any).

        Failures *caused by* a version are those of its fault switch; requests sent to
        :data:`UNAVAILABLE` all count. Background failures do not.
        """
        wanted = [versions] if isinstance(versions, str) else versions
        arrays = [a for v, a in self._touched.items() if wanted is None or v in wanted]
        return int(np.logical_or.reduce(arrays).sum()) if arrays else 0

    def _touch(self, version: str, failures: int) -> None:
        touched = self._touched.setdefault(version, np.zeros(self.users, dtype=bool))
        touched[self._rng.integers(0, self.users, failures)] = True

    def step(self, timestamp: Any, weights: Mapping[str, float]) -> PeriodTraffic:
        """Simulate one period starting at ``timestamp`` with traffic split by ``weights``.

        Args:
            timestamp: Start of the period.
            weights: Version label -> weight (any non-negative numbers; they are normalised).
                Use :data:`UNAVAILABLE` for the share of traffic that finds no healthy target.
        """
        versions = tuple(weights)
        w = np.array([float(weights[v]) for v in versions])
        if not versions or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise InputError(
                f"weights must be non-negative with a positive total, got {dict(weights)!r}.",
                where="weights",
                hint="e.g. {'v1': 90, 'v2': 10} sends 10% of the requests to v2.",
            )
        rng = self._rng
        total = rng.poisson(self.requests_per_second * self.period_s)
        requests = rng.multinomial(total, w / w.sum())
        errors = np.zeros(len(versions), dtype=np.int64)
        fault_errors = np.zeros(len(versions), dtype=np.int64)
        histograms = np.zeros((len(versions), N_BINS), dtype=np.int64)
        for i, version in enumerate(versions):
            n = int(requests[i])
            if version == UNAVAILABLE:
                errors[i] = fault_errors[i] = n
                if n:
                    self._touch(version, n)
                continue
            b = self.behaviour(version)
            fault_errors[i] = rng.binomial(n, b.error_rate) if b.error_rate else 0
            background = (
                rng.binomial(n - fault_errors[i], self.background_error_rate)
                if self.background_error_rate
                else 0
            )
            errors[i] = fault_errors[i] + background
            if fault_errors[i]:
                self._touch(version, int(fault_errors[i]))
            if n:
                z = rng.standard_normal(n, dtype=np.float32)
                latency = np.exp(np.float32(math.log(b.median_ms)) + np.float32(b.sigma) * z)
                if b.added_latency_ms:
                    latency += np.float32(b.added_latency_ms)
                index = ((np.log(latency) - np.float32(_LOG_LOW)) / np.float32(_LOG_STEP)).astype(
                    np.int32
                )
                np.clip(index, 0, N_BINS - 1, out=index)
                histograms[i] = np.bincount(index, minlength=N_BINS)
        stamp = pd.Timestamp(timestamp)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return PeriodTraffic(
            stamp, self.period_s, self.service, versions, requests, errors, fault_errors, histograms
        )

    def run(self, weights: pd.DataFrame) -> pd.DataFrame:
        """Simulate one period per row of ``weights`` and return the per-version frame.

        Args:
            weights: Indexed by period start; one column per version holding its weight.

        Returns:
            :meth:`PeriodTraffic.frame` of every period, concatenated.
        """
        if not isinstance(weights, pd.DataFrame) or weights.empty:
            raise InputError(
                "weights must be a non-empty DataFrame: one row per period, one column per "
                "version.",
                where="weights",
                hint="e.g. pd.DataFrame({'v1': [100, 90], 'v2': [0, 10]}, index=timestamps).",
            )
        frames = [
            self.step(stamp, {str(c): row[c] for c in weights.columns if row[c] > 0}).frame()
            for stamp, row in weights.iterrows()
        ]
        return pd.concat(frames, ignore_index=True)
