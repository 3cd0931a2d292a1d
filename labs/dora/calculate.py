"""Compute the five DORA metrics, the four-keys frequency bucket and a weekly series.

Definitions follow DORA's guide (https://dora.dev/guides/dora-metrics/) and, where the guide
leaves a choice open, Google's four-keys reference implementation
(https://github.com/dora-team/fourkeys/blob/main/METRICS.md and its ``queries/``):

* **Change lead time** — for every change whose *first* deployment falls in the window:
  first deployment time − commit time; differences ≤ 0 are dropped (four-keys drops them as
  automated changes); the metric is the median, in hours.
* **Deployment frequency** — deployments in the window ÷ calendar days (UTC) the window touches,
  plus four-keys' daily/weekly/monthly/yearly bucket (:func:`frequency_bucket`).
* **Change fail rate** — deployments in the window that were rolled back or are named by any
  incident's ``caused_by_deploy_id`` (the incident may fall outside the window), ÷ deployments
  in the window. (four-keys counts only incident-causing deployments; DORA's definition counts
  any deployment needing immediate intervention, so rollbacks count too.)
* **Failed deployment recovery time** — median ``resolved_at − created_at`` in hours over
  incidents created in the window that name a causing deployment; still-open incidents
  (``resolved_at`` missing) are left out.
* **Deployment rework rate** — deployments in the window with a ``fixes_incident_id`` ÷
  deployments in the window.

The window includes both ends: a deployment exactly at ``start`` or exactly at ``end`` counts.
Deployments are in it by ``deployed_at``, incidents by ``created_at``, changes by the time of
their first deployment.

Everything is vectorised: the frames are checked and ``change_ids`` is exploded once
(:mod:`labs.dora.validate`), then each metric is a handful of numpy operations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from labs.dora.report import INSTABILITY, THROUGHPUT, DoraReport, FrequencyMetric, Metric
from labs.dora.report import format_hours as _fmt_hours
from labs.dora.tiers import (
    change_fail_rate_tier,
    deployment_frequency_tier,
    lead_time_tier,
    recovery_time_tier,
    rework_rate_tier,
)
from labs.dora.validate import NAT, Prepared, prepare, to_utc_timestamp
from labs.errors import InputError

__all__ = ["frequency_bucket", "metrics", "weekly"]

TimeLike = str | dt.datetime | pd.Timestamp

_NS_HOUR = 3_600 * 10**9
_NS_DAY = 24 * _NS_HOUR
_NS_WEEK = 7 * _NS_DAY
_MONDAY = 4 * _NS_DAY  # 1970-01-05, the first Monday after the epoch (a Thursday)
_NO_DEPLOYMENTS = "no deployments in window"


def _parse_bound(value: TimeLike | None, name: str) -> int | None:
    """A window bound as int64 ns UTC; it must carry a timezone."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{name}={value!r} is not a timestamp ({exc}).",
            where=f"argument {name!r}",
            hint="Pass a timezone-aware datetime or an ISO string like '2024-05-01T00:00:00Z'.",
        ) from None
    if ts.tzinfo is None:
        raise InputError(
            f"{name}={value!r} has no timezone.",
            where=f"argument {name!r}",
            hint="Add one: '2024-05-01T00:00:00Z' or pd.Timestamp(..., tz='UTC').",
        )
    return int(ts.tz_convert("UTC").as_unit("ns").value)


def _window(data: Prepared, start: TimeLike | None, end: TimeLike | None) -> tuple[int, int] | None:
    """Resolve ``start``/``end`` (inclusive) against the data; None when both are unknowable."""
    s, e = _parse_bound(start, "start"), _parse_bound(end, "end")
    bounds = data.data_bounds()
    if s is None and e is None and bounds is None:
        return None
    lo, hi = bounds if bounds is not None else (None, None)
    # A default start never falls after a given end, nor a default end before a given start.
    if s is None:
        s = lo if e is None else (e if lo is None else min(lo, e))
    if e is None:
        e = s if hi is None else max(hi, s)
    assert s is not None and e is not None
    if e < s:
        raise InputError(
            f"the window ends before it starts ({pd.Timestamp(e, tz='UTC')} < "
            f"{pd.Timestamp(s, tz='UTC')}).",
            where="arguments 'start' and 'end'",
            hint="Swap them, or leave one out to use the data's first or last timestamp.",
        )
    return s, e


def _floor_day(ns: np.ndarray | int) -> Any:
    return ns - np.mod(ns, _NS_DAY)


def _floor_week(ns: np.ndarray | int) -> Any:
    """Monday 00:00 UTC of the ISO week holding each instant."""
    return ns - np.mod(np.asarray(ns) - _MONDAY, _NS_WEEK)


def _ts(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _bucket(deployed: np.ndarray, s: int, e: int) -> str | None:
    """four-keys' deployment-frequency bucket over the UTC calendar days of [s, e]."""
    inside = deployed[(deployed >= s) & (deployed <= e)]
    if inside.size == 0:
        return None
    days = np.arange(_floor_day(s), _floor_day(e) + _NS_DAY, _NS_DAY, dtype=np.int64)
    deployed_day = np.isin(days, np.unique(_floor_day(inside)))
    weeks, week_of_day = np.unique(_floor_week(days), return_inverse=True)
    days_deployed = np.bincount(week_of_day, weights=deployed_day, minlength=len(weeks))
    week_deployed = (days_deployed > 0).astype(float)
    month_of_week = weeks.astype("datetime64[ns]").astype("datetime64[M]")
    _, week_month = np.unique(month_of_week, return_inverse=True)
    monthly = np.bincount(week_month, weights=week_deployed)[week_month]
    if np.median(days_deployed) >= 3:
        return "daily"
    if np.median(week_deployed) >= 1:
        return "weekly"
    if np.median(monthly) >= 1:
        return "monthly"
    return "yearly"


def frequency_bucket(
    deployed_at: pd.Series | Sequence[TimeLike],
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> str | None:
    """Bucket deployment times as four-keys does: daily, weekly, monthly or yearly.

    A port of four-keys' frequency-bucket query
    (https://github.com/dora-team/fourkeys/blob/main/METRICS.md, "Calculating the bucket"),
    run over the UTC calendar days of the window instead of "the last three months":

    1. One row per calendar day of the window; a day is *deployed* if a deployment fell on it.
    2. Group the days into weeks. Per week: ``days_deployed`` (deployed days in it) and
       ``week_deployed`` (1 if any). Partial weeks at the window's edges are weeks too, as in
       four-keys, whose three-month grid starts mid-week.
    3. Per week: ``monthly`` = the number of deployed weeks in the calendar month holding the
       week's first day (four-keys' ``SUM(week_deployed) OVER (PARTITION BY month)``).
    4. Medians are taken over the week rows (``PERCENTILE_CONT(…, 0.5)``, linear interpolation):

       * **daily** when the median of ``days_deployed`` ≥ 3;
       * else **weekly** when the median of ``week_deployed`` ≥ 1 — i.e. more than half of the
         weeks had a deployment (exactly half gives a median of 0.5);
       * else **monthly** when the median of ``monthly`` ≥ 1;
       * else **yearly**.

    One deliberate difference: weeks are ISO weeks starting Monday (BigQuery's ``WEEK``
    starts on Sunday), matching :func:`weekly`.

    Args:
        deployed_at: Deployment times (tz-aware, or ISO strings with an offset).
        start: First instant of the window, inclusive; default the first deployment.
        end: Last instant of the window, inclusive; default the last deployment.

    Returns:
        ``"daily"``, ``"weekly"``, ``"monthly"``, ``"yearly"``, or ``None`` with no
        deployments in the window.
    """
    series = deployed_at if isinstance(deployed_at, pd.Series) else pd.Series(list(deployed_at))
    if series.empty:
        return None
    ns = (
        to_utc_timestamp(series, where="deployed_at")
        .to_numpy(dtype="datetime64[ns]")
        .view(np.int64)
    )
    s = _parse_bound(start, "start")
    e = _parse_bound(end, "end")
    return _bucket(ns, int(ns.min()) if s is None else s, int(ns.max()) if e is None else e)


def _first_deploy(data: Prepared) -> np.ndarray:
    """First deployment time of each change (int64 ns); int64 max for never-deployed changes."""
    first = np.full(len(data.change_ids), np.iinfo(np.int64).max, dtype=np.int64)
    if data.ship_change.size:
        np.minimum.at(first, data.ship_change, data.deployed[data.ship_deploy])
    return first


def _failed(data: Prepared) -> np.ndarray:
    caused = np.zeros(len(data.deploy_ids), dtype=bool)
    caused[data.cause[data.cause >= 0]] = True
    return data.rolled_back | caused


def _empty_report(s: int | None, e: int | None, reason: str) -> DoraReport:
    return DoraReport(
        start=None if s is None else _ts(s),
        end=None if e is None else _ts(e),
        lead_time=Metric("Change lead time", THROUGHPUT, None, "hours", None, reason),
        deployment_frequency=FrequencyMetric(
            "Deployment frequency", THROUGHPUT, None, "deployments/day", None, reason
        ),
        change_fail_rate=Metric(
            "Change fail rate", INSTABILITY, None, "share of deployments", None, reason
        ),
        recovery_time=Metric(
            "Failed deployment recovery time",
            THROUGHPUT,
            None,
            "hours",
            None,
            "no incidents caused by a deployment in window",
        ),
        rework_rate=Metric(
            "Deployment rework rate", INSTABILITY, None, "share of deployments", None, reason
        ),
    )


def metrics(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> DoraReport:
    """Compute the five DORA metrics over a window, each with its 2024 tier.

    Definitions: https://dora.dev/guides/dora-metrics/ and four-keys' METRICS.md
    (https://github.com/dora-team/fourkeys/blob/main/METRICS.md); the module docstring of
    :mod:`labs.dora.calculate` states exactly what is computed, and :mod:`labs.dora.tiers` how
    a value becomes a tier.

    Args:
        changes: One row per change: ``change_id`` (str), ``committed_at`` (tz-aware).
        deployments: One row per deployment that reached production: ``deploy_id``,
            ``deployed_at`` (tz-aware), ``change_ids`` (list of change ids it shipped; ``None``
            means none), ``rolled_back`` (bool), ``fixes_incident_id`` (str, or None unless
            the deployment is an unplanned fix for that incident).
        incidents: One row per incident: ``incident_id``, ``created_at`` (tz-aware),
            ``resolved_at`` (tz-aware; missing while open), ``caused_by_deploy_id`` (str or
            None).
        start: First instant of the window, **inclusive** (tz-aware datetime or ISO string);
            default the earliest ``committed_at``/``deployed_at``/``created_at``.
        end: Last instant of the window, **inclusive**; default the latest of those.

    Returns:
        A :class:`DoraReport`. With no deployments in the window, lead time, deployment
        frequency, change fail rate and rework rate have value and tier ``None`` and say
        ``"no deployments in window"``; with no deployment-caused incidents, recovery time is
        ``None``.

    Raises:
        InputError: for a missing column, naive timestamps, an incident resolved before it was
            created, duplicate ids, or an id (in ``change_ids``, ``caused_by_deploy_id`` or
            ``fixes_incident_id``) that names nothing — the message names column and row.

    Example:
        >>> changes, deployments, incidents = simulate_history(days=30, seed=1)
        >>> metrics(changes, deployments, incidents).table()  # doctest: +SKIP
    """
    data = prepare(changes, deployments, incidents)
    window = _window(data, start, end)
    if window is None:
        return _empty_report(None, None, _NO_DEPLOYMENTS)
    s, e = window

    dep_in = (data.deployed >= s) & (data.deployed <= e)
    n_dep = int(dep_in.sum())

    # Failed deployment recovery time: incidents created in the window that name a deployment.
    caused_in = (data.created >= s) & (data.created <= e) & (data.cause >= 0)
    resolved_in = caused_in & (data.resolved != NAT)
    n_rec = int(resolved_in.sum())
    if n_rec:
        rec_hours = float(np.median(data.resolved[resolved_in] - data.created[resolved_in]))
        rec_hours /= _NS_HOUR
        recovery = Metric(
            "Failed deployment recovery time",
            THROUGHPUT,
            rec_hours,
            "hours",
            recovery_time_tier(rec_hours),
            f"median {_fmt_hours(rec_hours)} over {_plural(n_rec, 'incident')}",
            n_rec,
        )
    else:
        open_n = int(caused_in.sum())
        reason = (
            f"{_plural(open_n, 'incident')} caused by a deployment, none resolved yet"
            if open_n
            else "no incidents caused by a deployment in window"
        )
        recovery = Metric(
            "Failed deployment recovery time", THROUGHPUT, None, "hours", None, reason
        )

    if n_dep == 0:
        return dataclasses.replace(_empty_report(s, e, _NO_DEPLOYMENTS), recovery_time=recovery)

    # Change lead time: changes whose first deployment is in the window.
    first = _first_deploy(data)
    shipped_in = (first >= s) & (first <= e)
    lead_ns = first[shipped_in] - data.committed[shipped_in]
    lead_ns = lead_ns[lead_ns > 0]
    if lead_ns.size:
        lead_hours = float(np.median(lead_ns)) / _NS_HOUR
        lead = Metric(
            "Change lead time",
            THROUGHPUT,
            lead_hours,
            "hours",
            lead_time_tier(lead_hours),
            f"median {_fmt_hours(lead_hours)} over {_plural(int(lead_ns.size), 'change')}",
            int(lead_ns.size),
        )
    else:
        lead = Metric(
            "Change lead time",
            THROUGHPUT,
            None,
            "hours",
            None,
            "no change first deployed in window with a positive lead time",
        )

    # Deployment frequency.
    n_days = int((_floor_day(e) - _floor_day(s)) // _NS_DAY) + 1
    per_day = n_dep / n_days
    bucket = _bucket(data.deployed, s, e)
    frequency = FrequencyMetric(
        "Deployment frequency",
        THROUGHPUT,
        per_day,
        "deployments/day",
        deployment_frequency_tier(per_day),
        f"{per_day:.2f} deployments/day ({n_dep:,} in {_plural(n_days, 'day')}; "
        f"four-keys bucket: {bucket})",
        n_dep,
        bucket=bucket,
    )

    # Change fail rate and deployment rework rate.
    n_failed = int((_failed(data) & dep_in).sum())
    fail_rate = n_failed / n_dep
    fail = Metric(
        "Change fail rate",
        INSTABILITY,
        fail_rate,
        "share of deployments",
        change_fail_rate_tier(fail_rate),
        f"{fail_rate:.1%} ({n_failed:,} of {_plural(n_dep, 'deployment')})",
        n_dep,
    )
    n_rework = int(((data.fixes >= 0) & dep_in).sum())
    rework_rate = n_rework / n_dep
    rework = Metric(
        "Deployment rework rate",
        INSTABILITY,
        rework_rate,
        "share of deployments",
        rework_rate_tier(rework_rate),
        f"{rework_rate:.1%} ({n_rework:,} of {_plural(n_dep, 'deployment')})",
        n_dep,
    )
    return DoraReport(
        start=_ts(s),
        end=_ts(e),
        lead_time=lead,
        deployment_frequency=frequency,
        change_fail_rate=fail,
        recovery_time=recovery,
        rework_rate=rework,
    )


def _median_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    if codes.size == 0:
        return np.full(n, np.nan)
    med = pd.Series(values, dtype=float).groupby(codes).median()
    return med.reindex(range(n)).to_numpy(dtype=float)


def weekly(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: TimeLike | None = None,
    end: TimeLike | None = None,
) -> pd.DataFrame:
    """The metrics week by week, for plotting trends.

    Uses the same definitions and window rules as :func:`metrics`, grouped by the ISO week
    (Monday 00:00 UTC) of each deployment's ``deployed_at``, each change's first deployment and
    each incident's ``created_at``. Every week of the window has a row, even an empty one.

    Args:
        changes: As for :func:`metrics`.
        deployments: As for :func:`metrics`.
        incidents: As for :func:`metrics`.
        start: First instant of the window, inclusive; default the data's first timestamp.
        end: Last instant of the window, inclusive; default the data's last timestamp.

    Returns:
        A DataFrame indexed by ``week`` (tz-aware UTC Monday) with columns ``deployments``
        (count), ``lead_time_hours`` (median), ``change_fail_rate`` (0–1),
        ``recovery_hours`` (median) and ``rework_rate`` (0–1); NaN where a week has no data.
    """
    data = prepare(changes, deployments, incidents)
    window = _window(data, start, end)
    columns = [
        "deployments",
        "lead_time_hours",
        "change_fail_rate",
        "recovery_hours",
        "rework_rate",
    ]
    if window is None:
        empty = pd.DataFrame({c: pd.Series(dtype=float) for c in columns})
        empty["deployments"] = empty["deployments"].astype(np.int64)
        empty.index = pd.DatetimeIndex([], tz="UTC", name="week").as_unit("ns")
        return empty
    s, e = window
    w0 = int(_floor_week(s))
    n_weeks = int((_floor_week(e) - w0) // _NS_WEEK) + 1

    dep_in = (data.deployed >= s) & (data.deployed <= e)
    dep_week = (_floor_week(data.deployed[dep_in]) - w0) // _NS_WEEK
    n_dep = np.bincount(dep_week, minlength=n_weeks)
    n_failed = np.bincount(dep_week, weights=_failed(data)[dep_in], minlength=n_weeks)
    n_rework = np.bincount(dep_week, weights=data.fixes[dep_in] >= 0, minlength=n_weeks)
    with np.errstate(invalid="ignore", divide="ignore"):
        fail_rate = np.where(n_dep > 0, n_failed / n_dep, np.nan)
        rework_rate = np.where(n_dep > 0, n_rework / n_dep, np.nan)

    first = _first_deploy(data)
    shipped_in = (first >= s) & (first <= e)
    lead_ns = first[shipped_in] - data.committed[shipped_in]
    positive = lead_ns > 0
    lead_week = (_floor_week(first[shipped_in][positive]) - w0) // _NS_WEEK
    lead_hours = _median_by(lead_week, lead_ns[positive] / _NS_HOUR, n_weeks)

    rec = (data.created >= s) & (data.created <= e) & (data.cause >= 0) & (data.resolved != NAT)
    rec_week = (_floor_week(data.created[rec]) - w0) // _NS_WEEK
    rec_hours = _median_by(rec_week, (data.resolved[rec] - data.created[rec]) / _NS_HOUR, n_weeks)

    index = pd.DatetimeIndex(
        (w0 + np.arange(n_weeks, dtype=np.int64) * _NS_WEEK).astype("datetime64[ns]"),
        name="week",
    ).tz_localize("UTC")
    return pd.DataFrame(
        {
            "deployments": n_dep.astype(np.int64),
            "lead_time_hours": lead_hours,
            "change_fail_rate": fail_rate,
            "recovery_hours": rec_hours,
            "rework_rate": rework_rate,
        },
        index=index,
    )
