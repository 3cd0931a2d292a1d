"""Derived figures of a deployment run: blast radius, speed, detection, rollback, capacity.

Computed from a :class:`~labs.deploy.engine.DeploymentResult` (its timeline and the minutes the
engine marked), so that strategies can be compared in one table with :func:`compare`:

* **failed requests** — requests that failed *because of the deployment*: failures caused by the
  release's fault switch plus 503s when no healthy target was left (background failures, which
  happen whatever the version, are not counted);
* **users affected** — distinct users who got at least one of those failures;
* **time to 100%** — minutes from the deployment's start until the release served all traffic;
* **time to detect** — minutes from the release's first traffic (or the start, for a failure
  before any traffic) until the alarm or failure stopped the deployment;
* **time to roll back** — minutes from that stop until all traffic was back on the baseline;
* **peak extra capacity** — the most tasks or instances running above the desired count, in %
  (blue/green pays 100% for a while; in-place pays none);
* **min capacity** — the least capacity in service, in % of the desired count (in-place and
  rolling updates with ``minimumHealthyPercent`` below 100 dip).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

__all__ = ["COMPARISON_COLUMNS", "compare", "figures"]

COMPARISON_COLUMNS = [
    "strategy", "release", "status", "failed_requests", "users_affected", "time_to_100_min",
    "time_to_detect_min", "time_to_rollback_min", "peak_extra_capacity_pct", "min_capacity_pct",
    "duration_min",
]  # fmt: skip


def _minutes(value: int | None) -> float:
    return math.nan if value is None else float(value)


def figures(result: Any) -> dict[str, Any]:
    """Return the derived figures of one run, keyed as in :data:`COMPARISON_COLUMNS`.

    The module docstring defines each figure.
    """
    timeline = result.timeline
    during = timeline[timeline["minute"] >= 0]
    served = during.loc[during["percent_new"] > 0, "minute"]
    first_traffic = int(served.min()) if not served.empty else None
    detected = result.detected_at_minute
    if detected is not None:
        since = first_traffic if first_traffic is not None and first_traffic < detected else 0
        detect = float(detected - since)
    else:
        detect = math.nan
    restored = result.restored_at_minute
    rollback = (
        float(restored - detected) if restored is not None and detected is not None else math.nan
    )
    capacity, healthy = during["capacity_pct"], during["healthy_pct"]
    return {
        "strategy": result.strategy,
        "release": result.release,
        "status": result.status,
        "failed_requests": int(during["failed_by_release"].sum() + during["unavailable"].sum()),
        "users_affected": int(result.users_affected),
        "time_to_100_min": _minutes(result.full_at_minute),
        "time_to_detect_min": detect,
        "time_to_rollback_min": rollback,
        "peak_extra_capacity_pct": float(max(capacity.max() - 100.0, 0.0))
        if len(capacity)
        else 0.0,
        "min_capacity_pct": float(healthy.min()) if len(healthy) else 100.0,
        "duration_min": _minutes(result.finished_at_minute),
    }


def compare(results: Iterable[Any] | Mapping[str, Any]) -> pd.DataFrame:
    """Return one row of :func:`figures` per run, for a side-by-side comparison.

    Args:
        results: Deployment results, or a mapping of label -> result (the label replaces the
            strategy's name in the table).
    """
    rows = []
    items = results.items() if isinstance(results, Mapping) else ((None, r) for r in results)
    for label, result in items:
        row = figures(result)
        if label is not None:
            row["strategy"] = label
        rows.append(row)
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
