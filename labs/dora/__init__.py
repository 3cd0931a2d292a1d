"""DORA metrics: measure a team's software delivery from its changes, deployments and incidents.

The five metrics of DORA's guide (https://dora.dev/guides/dora-metrics/), in two groups:

* **Throughput** — change lead time, deployment frequency, failed deployment recovery time.
* **Instability** — change fail rate, deployment rework rate.

Each comes with its 2024 performance level (Elite/High/Medium/Low; see :mod:`labs.dora.tiers`).
Where DORA leaves a calculation open we follow Google's four-keys reference implementation
(https://github.com/dora-team/fourkeys/blob/main/METRICS.md).

Example:
    >>> from labs import dora
    >>> changes, deployments, incidents = dora.simulate_history(days=60, batch_size=2, seed=3)
    >>> report = dora.metrics(changes, deployments, incidents)
    >>> report.table()  # doctest: +SKIP

Modules by concern: :mod:`~labs.dora.calculate` (the metrics), :mod:`~labs.dora.tiers` (2024
levels), :mod:`~labs.dora.report` (result types and plots), :mod:`~labs.dora.sources` (git and
JSON-lines records), :mod:`~labs.dora.simulate` (a synthetic team), :mod:`~labs.dora.history`
(a team's phases; a history written into a real git repository plus records),
:mod:`~labs.dora.validate` (input checks), :mod:`~labs.dora.checks` (lab 01's *Check your work*
cells).
"""

from __future__ import annotations

from labs.dora import checks
from labs.dora.calculate import frequency_bucket, metrics, weekly
from labs.dora.history import (
    BOOKSTORE_PHASES,
    HistoryFiles,
    bookstore_history,
    simulate_phases,
    write_history,
)
from labs.dora.report import DoraReport, FrequencyMetric, Metric, format_hours, plot_weekly
from labs.dora.simulate import simulate_history
from labs.dora.sources import from_git, from_records, to_records
from labs.dora.tiers import (
    TIERS,
    change_fail_rate_tier,
    deployment_frequency_tier,
    lead_time_tier,
    recovery_time_tier,
    rework_rate_tier,
    tier_table,
)

__all__ = [
    "BOOKSTORE_PHASES",
    "TIERS",
    "DoraReport",
    "FrequencyMetric",
    "HistoryFiles",
    "Metric",
    "bookstore_history",
    "change_fail_rate_tier",
    "checks",
    "deployment_frequency_tier",
    "format_hours",
    "frequency_bucket",
    "from_git",
    "from_records",
    "lead_time_tier",
    "metrics",
    "plot_weekly",
    "recovery_time_tier",
    "rework_rate_tier",
    "simulate_history",
    "simulate_phases",
    "tier_table",
    "to_records",
    "weekly",
    "write_history",
]
