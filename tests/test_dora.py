"""Tests of ``labs.dora``: every metric on small hand-computed histories, tiers, inputs, sources.

Times in the hand-made histories are hours after ``T0`` (Monday 2024-01-01 00:00 UTC), so the
expected numbers can be worked out in the comments next to them.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from labs import dora
from labs.errors import InputError

T0 = pd.Timestamp("2024-01-01T00:00:00Z")  # a Monday


def at(hours: float) -> pd.Timestamp:
    """``T0`` plus some hours."""
    return T0 + pd.Timedelta(hours=hours)


def changes_df(rows: Sequence[tuple[str, pd.Timestamp]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "change_id": pd.Series([r[0] for r in rows], dtype="str"),
            "committed_at": pd.Series([r[1] for r in rows], dtype="datetime64[ns, UTC]"),
        }
    )


def deployments_df(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of (deploy_id, deployed_at, change_ids[, rolled_back[, fixes_incident_id]])."""
    full = [tuple(r) + (False, None)[len(r) - 3 :] for r in rows]
    return pd.DataFrame(
        {
            "deploy_id": pd.Series([r[0] for r in full], dtype="str"),
            "deployed_at": pd.Series([r[1] for r in full], dtype="datetime64[ns, UTC]"),
            "change_ids": pd.Series([list(r[2]) for r in full], dtype=object),
            "rolled_back": pd.Series([r[3] for r in full], dtype=bool),
            "fixes_incident_id": pd.Series([r[4] for r in full], dtype="str"),
        }
    )


def incidents_df(rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows of (incident_id, created_at, resolved_at, caused_by_deploy_id)."""
    return pd.DataFrame(
        {
            "incident_id": pd.Series([r[0] for r in rows], dtype="str"),
            "created_at": pd.Series([r[1] for r in rows], dtype="datetime64[ns, UTC]"),
            "resolved_at": pd.Series([r[2] for r in rows], dtype="datetime64[ns, UTC]"),
            "caused_by_deploy_id": pd.Series([r[3] for r in rows], dtype="str"),
        }
    )


NO_INCIDENTS = incidents_df([])


# ---------------------------------------------------------------------------------------------
# Change lead time
# ---------------------------------------------------------------------------------------------


def test_lead_time_is_the_median_of_deploy_minus_commit() -> None:
    changes = changes_df([("c1", at(0)), ("c2", at(2)), ("c3", at(5))])
    deployments = deployments_df([("d1", at(10), ["c1", "c2"]), ("d2", at(20), ["c3"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    # c1: 10 − 0 = 10 h, c2: 10 − 2 = 8 h, c3: 20 − 5 = 15 h → median of (8, 10, 15) = 10 h
    assert report.lead_time.value == pytest.approx(10.0)
    assert report.lead_time.unit == "hours"
    assert report.lead_time.n == 3
    assert report.lead_time.tier == "Elite"  # 10 h < 24 h
    assert report.lead_time.display == "median 10.0 hours over 3 changes"


def test_lead_time_counts_the_first_deployment_of_a_change() -> None:
    changes = changes_df([("c1", at(0)), ("c2", at(1))])
    # c1 ships in d1 and again in d2; c2 first ships in the later d2.
    deployments = deployments_df([("d1", at(10), ["c1"]), ("d2", at(30), ["c1", "c2"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    # c1: first deploy 10 − 0 = 10 h (not 30 h); c2: 30 − 1 = 29 h → median (10 + 29) / 2 = 19.5
    assert report.lead_time.value == pytest.approx(19.5)
    assert report.lead_time.n == 2


def test_lead_time_window_uses_the_first_deployment_time() -> None:
    changes = changes_df([("c1", at(0)), ("c2", at(1))])
    deployments = deployments_df([("d1", at(10), ["c1"]), ("d2", at(30), ["c1", "c2"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS, start=at(20), end=at(40))
    # c1 was first deployed at 10 h, before the window: left out. c2: 30 − 1 = 29 h.
    assert report.lead_time.value == pytest.approx(29.0)
    assert report.lead_time.n == 1


def test_lead_time_drops_differences_of_zero_or_less() -> None:
    changes = changes_df([("c1", at(0)), ("c2", at(10)), ("c3", at(12))])
    deployments = deployments_df([("d1", at(10), ["c1", "c2", "c3"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    # c1: 10 h; c2: 10 − 10 = 0 (dropped); c3: 10 − 12 = −2 (dropped) → median of (10) = 10 h
    assert report.lead_time.value == pytest.approx(10.0)
    assert report.lead_time.n == 1


def test_lead_time_is_none_when_every_difference_is_dropped() -> None:
    changes = changes_df([("c1", at(10))])
    deployments = deployments_df([("d1", at(10), ["c1"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    assert report.lead_time.value is None
    assert report.lead_time.tier is None
    assert "positive lead time" in report.lead_time.display
    assert report.deployment_frequency.value is not None  # there was a deployment


# ---------------------------------------------------------------------------------------------
# Deployment frequency and the four-keys bucket
# ---------------------------------------------------------------------------------------------


def test_deployment_frequency_is_deployments_per_calendar_day() -> None:
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df([("d1", at(1), ["c1"]), ("d2", at(30), []), ("d3", at(60), [])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    # window 00:00 Jan 1 – 12:00 Jan 3 touches 3 UTC days; 3 deployments / 3 days = 1.0 a day
    assert report.deployment_frequency.value == pytest.approx(1.0)
    assert report.deployment_frequency.unit == "deployments/day"
    assert report.deployment_frequency.tier == "High"  # exactly daily: period 1 day → High
    assert report.deployment_frequency.n == 3


def _deploys_on(days: Sequence[int]) -> pd.DataFrame:
    """One deployment at noon on each given day after T0 (day 0 = Monday Jan 1)."""
    return deployments_df([(f"d{i}", at(24 * d + 12), []) for i, d in enumerate(days)])


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        # 4 ISO weeks (Jan 1–28); Mon/Tue/Wed every week: days_deployed (3, 3, 3, 3), median 3
        ([0, 1, 2, 7, 8, 9, 14, 15, 16, 21, 22, 23], "daily"),
        # Mon/Tue every week: days_deployed (2, 2, 2, 2), median 2 < 3; week_deployed median 1
        ([0, 1, 7, 8, 14, 15, 21, 22], "weekly"),
        # 3 of 4 weeks: week_deployed (1, 1, 1, 0), median 1 → weekly
        ([0, 7, 14], "weekly"),
        # weeks 1 and 3 only: week_deployed (1, 0, 1, 0), median 0.5 < 1; all four weeks start
        # in January, which has 2 deployed weeks: monthly (2, 2, 2, 2), median 2 ≥ 1 → monthly
        ([0, 14], "monthly"),
    ],
)
def test_frequency_bucket_over_four_weeks(days: list[int], expected: str) -> None:
    deployments = _deploys_on(days)
    start, end = "2024-01-01T00:00:00Z", "2024-01-28T23:59:59Z"
    assert dora.frequency_bucket(deployments["deployed_at"], start=start, end=end) == expected
    report = dora.metrics(changes_df([]), deployments, NO_INCIDENTS, start=start, end=end)
    assert report.deployment_frequency.bucket == expected


def test_frequency_bucket_monthly_and_yearly_over_a_quarter() -> None:
    start, end = "2024-01-01T00:00:00Z", "2024-03-31T23:59:59Z"
    # Weeks starting Jan 1, 8, 15, 22, 29 (January), Feb 5, 12, 19, 26, Mar 4, 11, 18, 25: 13.
    # One deployment a month (Jan 3, Feb 7, Mar 6): each week row's month has 1 deployed week,
    # monthly = 1 on all 13 rows, median 1 → monthly (week_deployed median 0: not weekly).
    monthly = _deploys_on([2, 37, 65])
    assert dora.frequency_bucket(monthly["deployed_at"], start=start, end=end) == "monthly"
    # One deployment in the quarter (Jan 3): monthly = 1 on the 5 January rows, 0 on the other
    # 8 → median 0 < 1 → yearly.
    yearly = _deploys_on([2])
    assert dora.frequency_bucket(yearly["deployed_at"], start=start, end=end) == "yearly"


def test_frequency_bucket_without_deployments_is_none() -> None:
    assert dora.frequency_bucket(pd.Series([], dtype="datetime64[ns, UTC]")) is None


# ---------------------------------------------------------------------------------------------
# Change fail rate, recovery time, rework rate
# ---------------------------------------------------------------------------------------------


def _four_deployments() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    changes = changes_df([("c1", at(0)), ("c2", at(1)), ("c3", at(2)), ("c4", at(3))])
    deployments = deployments_df(
        [
            ("d1", at(10), ["c1"], True, None),  # rolled back
            ("d2", at(20), ["c2"], False, None),  # causes i1
            ("d3", at(30), ["c3"], True, None),  # rolled back and causes i2
            ("d4", at(40), ["c4"], False, "i1"),  # clean; a hotfix for i1
        ]
    )
    incidents = incidents_df(
        [
            ("i1", at(21), at(23), "d2"),  # 2 h
            ("i2", at(31), at(35), "d3"),  # 4 h
            ("i3", at(32), at(132), None),  # 100 h, caused by no deployment: not counted
            ("i4", at(33), pd.NaT, "d3"),  # still open: not counted
        ]
    )
    return changes, deployments, incidents


def test_change_fail_rate_counts_rollbacks_and_incident_causes() -> None:
    report = dora.metrics(*_four_deployments())
    # failed: d1 (rollback), d2 (caused i1), d3 (both, counted once) → 3 of 4 = 0.75
    assert report.change_fail_rate.value == pytest.approx(0.75)
    assert report.change_fail_rate.tier == "Low"  # 75% is nearest to Low's 40%
    assert report.change_fail_rate.display == "75.0% (3 of 4 deployments)"


def test_change_fail_rate_counts_an_incident_outside_the_window() -> None:
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df([("d1", at(10), ["c1"]), ("d2", at(11), [])])
    incidents = incidents_df([("i1", at(50), at(51), "d1")])
    report = dora.metrics(changes, deployments, incidents, start=at(0), end=at(12))
    # d1 is in the window and named by i1 (created after the window) → 1 of 2 = 0.5
    assert report.change_fail_rate.value == pytest.approx(0.5)
    # i1 itself was created outside the window, so there is no recovery time
    assert report.recovery_time.value is None


def test_recovery_time_is_the_median_over_deployment_caused_resolved_incidents() -> None:
    report = dora.metrics(*_four_deployments())
    # i1: 23 − 21 = 2 h, i2: 35 − 31 = 4 h; i3 (no cause) and i4 (open) left out → median 3 h
    assert report.recovery_time.value == pytest.approx(3.0)
    assert report.recovery_time.n == 2
    assert report.recovery_time.tier == "High"  # 1 h ≤ 3 h < 24 h


def test_recovery_time_says_when_incidents_are_still_open() -> None:
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df([("d1", at(1), ["c1"])])
    incidents = incidents_df([("i1", at(2), pd.NaT, "d1")])
    report = dora.metrics(changes, deployments, incidents)
    assert report.recovery_time.value is None
    assert report.recovery_time.display == "1 incident caused by a deployment, none resolved yet"


def test_rework_rate_is_the_share_of_fix_deployments_and_has_no_tier() -> None:
    report = dora.metrics(*_four_deployments())
    # d4 fixes i1 → 1 of 4 = 0.25
    assert report.rework_rate.value == pytest.approx(0.25)
    assert report.rework_rate.tier is None
    assert report.rework_rate.tier_label == "n/a (no 2024 bands)"


# ---------------------------------------------------------------------------------------------
# Empty data and window boundaries
# ---------------------------------------------------------------------------------------------


def test_no_deployments_gives_none_with_a_clear_reason() -> None:
    changes = changes_df([("c1", at(0))])
    report = dora.metrics(changes, deployments_df([]), NO_INCIDENTS)
    for metric in (
        report.lead_time,
        report.deployment_frequency,
        report.change_fail_rate,
        report.rework_rate,
    ):
        assert metric.value is None
        assert metric.tier is None
        assert metric.display == "no deployments in window"
    assert report.deployment_frequency.bucket is None
    assert report.recovery_time.value is None
    assert np.isnan(report.table()["value"]).all()


def test_no_deployments_in_the_window_while_deployments_exist_elsewhere() -> None:
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df([("d1", at(100), ["c1"])])
    report = dora.metrics(changes, deployments, NO_INCIDENTS, start=at(0), end=at(50))
    assert report.lead_time.display == "no deployments in window"


def test_no_incidents_gives_no_recovery_time() -> None:
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df([("d1", at(1), ["c1"], True, None)])
    report = dora.metrics(changes, deployments, NO_INCIDENTS)
    assert report.recovery_time.value is None
    assert report.recovery_time.tier is None
    assert report.recovery_time.display == "no incidents caused by a deployment in window"
    assert report.change_fail_rate.value == pytest.approx(1.0)  # the rollback still counts


def test_empty_frames_give_an_empty_report() -> None:
    report = dora.metrics(changes_df([]), deployments_df([]), NO_INCIDENTS)
    assert report.start is None and report.end is None
    assert all(m.value is None for m in report.all)


def test_window_includes_both_ends() -> None:
    start, end = at(0), at(9 * 24)  # Jan 1 00:00 – Jan 10 00:00: 10 calendar days
    second = pd.Timedelta(seconds=1)
    changes = changes_df([("c0", start - pd.Timedelta(hours=5))])
    deployments = deployments_df(
        [
            ("before", start - second, []),
            ("at_start", start, ["c0"]),
            ("at_end", end, []),
            ("after", end + second, []),
        ]
    )
    incidents = incidents_df(
        [
            ("i_start", start, start + pd.Timedelta(hours=2), "at_start"),  # 2 h, counted
            ("i_end", end, end + pd.Timedelta(hours=4), "at_end"),  # 4 h, counted
            ("i_after", end + second, end + pd.Timedelta(hours=50), "at_end"),  # outside
        ]
    )
    report = dora.metrics(changes, deployments, incidents, start=start, end=end)
    # in the window: at_start and at_end → 2 deployments / 10 days = 0.2 a day
    assert report.deployment_frequency.n == 2
    assert report.deployment_frequency.value == pytest.approx(0.2)
    # both caused an incident → 2 of 2 failed
    assert report.change_fail_rate.value == pytest.approx(1.0)
    # recovery: median of (2 h, 4 h) = 3 h
    assert report.recovery_time.value == pytest.approx(3.0)
    # c0 first deployed exactly at start: 5 h
    assert report.lead_time.value == pytest.approx(5.0)
    assert report.start == start and report.end == end


def test_window_accepts_iso_strings_and_other_timezones() -> None:
    changes, deployments, incidents = _four_deployments()
    a = dora.metrics(changes, deployments, incidents, start="2024-01-01T01:00:00+01:00")
    b = dora.metrics(changes, deployments, incidents, start=at(0))
    assert a.start == b.start == T0
    assert a.table().equals(b.table())


# ---------------------------------------------------------------------------------------------
# Tiers at their boundaries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "tier"),
    [
        (23.99, "Elite"),
        (24.0, "High"),  # 1 day starts High
        (167.99, "High"),
        (168.0, "Medium"),  # 1 week starts Medium
        (729.99, "Medium"),
        (730.0, "Low"),  # 1 month (730 h, as four-keys) starts Low
        (10_000.0, "Low"),  # beyond 6 months is still Low
        (None, None),
        (math.nan, None),
    ],
)
def test_lead_time_tier_boundaries(hours: float | None, tier: str | None) -> None:
    assert dora.lead_time_tier(hours) == tier


@pytest.mark.parametrize(
    ("per_day", "tier"),
    [
        (1.01, "Elite"),  # more than one a day
        (1.0, "High"),  # exactly daily: period 1 day → High
        (0.15, "High"),  # period 6.7 days
        (1 / 7, "Medium"),  # exactly weekly: period 7 days → Medium
        (13 / 91, "Medium"),  # 13 deployments in 91 days is a week apart, despite float noise
        (1 / 30, "Medium"),  # period 30 days < 730/24 = 30.42 days
        (24 / 730, "Low"),  # exactly monthly → Low
        (1 / 400, "Low"),  # slower than every 6 months is still Low
        (0.0, None),
        (None, None),
    ],
)
def test_deployment_frequency_tier_boundaries(per_day: float | None, tier: str | None) -> None:
    assert dora.deployment_frequency_tier(per_day) == tier


@pytest.mark.parametrize(
    ("rate", "tier"),
    [
        (0.0, "Elite"),
        (0.05, "Elite"),
        (3 / 40, "Elite"),  # 7.5%: midway 5%–10%, tie goes to the lower stated rate (Elite)
        (0.0751, "Medium"),
        (0.10, "Medium"),
        (0.15, "Medium"),  # midway 10%–20%, tie → Medium (10%)
        (0.1501, "High"),
        (0.20, "High"),
        (0.30, "High"),  # midway 20%–40%, tie → High (20%)
        (0.3001, "Low"),
        (1.0, "Low"),
        (None, None),
    ],
)
def test_change_fail_rate_tier_is_the_nearest_stated_value(
    rate: float | None, tier: str | None
) -> None:
    assert dora.change_fail_rate_tier(rate) == tier


@pytest.mark.parametrize(
    ("hours", "tier"),
    [
        (0.99, "Elite"),
        (1.0, "High"),
        (23.99, "High"),
        (24.0, "Low"),  # fails "< 1 day" of High and Medium
        (100.0, "Low"),  # the report's gap 1 day – 1 week is Low
        (1000.0, "Low"),
        (None, None),
    ],
)
def test_recovery_time_tier_boundaries(hours: float | None, tier: str | None) -> None:
    assert dora.recovery_time_tier(hours) == tier


def test_rework_rate_has_no_tier_and_the_tier_table_says_so() -> None:
    assert dora.rework_rate_tier(0.0) is None
    assert dora.rework_rate_tier(0.9) is None
    table = dora.tier_table()
    assert list(table.columns) == ["Elite", "High", "Medium", "Low"]
    assert table.loc["Change fail rate"].tolist() == ["5%", "20%", "10%", "40%"]
    assert set(table.loc["Deployment rework rate"]) == {"n/a (no 2024 bands)"}


def test_metric_tiers_in_a_report_at_boundary_values() -> None:
    # lead time exactly 24 h → High; 8 deployments in 8 days → 1 a day → High;
    # 1 of 8 failed (12.5%) → nearest 10% → Medium; recovery exactly 1 h → High.
    changes = changes_df([("c1", at(0))])
    deployments = deployments_df(
        [("d0", at(24), ["c1"])] + [(f"d{k}", at(24 * k + 1), []) for k in range(1, 8)]
    )
    incidents = incidents_df([("i1", at(30), at(31), "d0")])
    report = dora.metrics(changes, deployments, incidents, start=at(0), end=at(8 * 24 - 1))
    assert report.lead_time.value == pytest.approx(24.0)
    assert report.lead_time.tier == "High"
    assert report.deployment_frequency.value == pytest.approx(1.0)
    assert report.deployment_frequency.tier == "High"
    assert report.change_fail_rate.value == pytest.approx(0.125)
    assert report.change_fail_rate.tier == "Medium"
    assert report.recovery_time.value == pytest.approx(1.0)
    assert report.recovery_time.tier == "High"


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------


def _valid() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return _four_deployments()


def test_missing_column_is_named_with_the_expected_columns() -> None:
    changes, deployments, incidents = _valid()
    with pytest.raises(InputError) as err:
        dora.metrics(changes.drop(columns="committed_at"), deployments, incidents)
    message = str(err.value)
    assert "'committed_at'" in message
    assert "change_id, committed_at" in message  # the expected columns are listed


def test_missing_deployment_column_lists_every_expected_column() -> None:
    changes, deployments, incidents = _valid()
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments.drop(columns="rolled_back"), incidents)
    assert "deployments" in str(err.value)
    assert "'rolled_back'" in str(err.value)
    assert "deploy_id, deployed_at, change_ids, rolled_back, fixes_incident_id" in str(err.value)


def test_not_a_dataframe_is_refused() -> None:
    changes, deployments, _ = _valid()
    with pytest.raises(InputError, match="incidents must be a pandas DataFrame"):
        dora.metrics(changes, deployments, [])


def test_naive_timestamps_name_the_column() -> None:
    changes, deployments, incidents = _valid()
    changes["committed_at"] = changes["committed_at"].dt.tz_localize(None)
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "column 'committed_at'" in str(err.value)
    assert "naive" in str(err.value)


def test_naive_iso_strings_name_the_column_and_row() -> None:
    changes, deployments, incidents = _valid()
    deployments["deployed_at"] = pd.Series(
        [
            "2024-01-01T10:00:00Z",
            "2024-01-01T20:00:00",
            "2024-01-02T06:00:00Z",
            "2024-01-02T16:00:00Z",
        ],
        dtype="str",
    )
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    message = str(err.value)
    assert "column 'deployed_at'" in message
    assert "row 1 (deploy_id 'd2')" in message


def test_iso_strings_with_offsets_are_accepted() -> None:
    changes, deployments, incidents = _valid()
    as_text = changes.copy()
    as_text["committed_at"] = changes["committed_at"].map(lambda t: t.isoformat())
    assert (
        dora.metrics(as_text, deployments, incidents)
        .table()
        .equals(dora.metrics(changes, deployments, incidents).table())
    )


def test_missing_timestamp_names_the_row() -> None:
    changes, deployments, incidents = _valid()
    deployments.loc[2, "deployed_at"] = pd.NaT
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "column 'deployed_at', row 2 (deploy_id 'd3')" in str(err.value)


def test_resolved_before_created_names_the_incident() -> None:
    changes, deployments, incidents = _valid()
    incidents.loc[1, "resolved_at"] = at(30)  # created at 31 h
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    message = str(err.value)
    assert "incident 'i2' is resolved before it was created" in message
    assert "column 'resolved_at', row 1 (incident_id 'i2')" in message


def test_unknown_caused_by_deploy_id_is_named() -> None:
    changes, deployments, incidents = _valid()
    incidents.loc[0, "caused_by_deploy_id"] = "d9"
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    message = str(err.value)
    assert "'d9'" in message
    assert "column 'caused_by_deploy_id', row 0 (incident_id 'i1')" in message


def test_unknown_fixes_incident_id_is_named() -> None:
    changes, deployments, incidents = _valid()
    deployments.loc[3, "fixes_incident_id"] = "i42"
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    message = str(err.value)
    assert "'i42'" in message
    assert "column 'fixes_incident_id', row 3 (deploy_id 'd4')" in message


def test_unknown_change_id_is_named() -> None:
    changes, deployments, incidents = _valid()
    deployments.at[1, "change_ids"] = ["c2", "c9"]
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    message = str(err.value)
    assert "'c9'" in message
    assert "column 'change_ids', row 1 (deploy_id 'd2')" in message


def test_change_ids_must_be_a_list() -> None:
    changes, deployments, incidents = _valid()
    deployments.at[0, "change_ids"] = "c1,c2"
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "change_ids must be a list" in str(err.value)
    assert "row 0 (deploy_id 'd1')" in str(err.value)


def test_change_ids_none_means_no_changes() -> None:
    changes, deployments, incidents = _valid()
    deployments.at[0, "change_ids"] = None
    report = dora.metrics(changes, deployments, incidents)
    # c1 is no longer shipped: leads c2 19 h, c3 28 h, c4 37 h → median 28 h
    assert report.lead_time.value == pytest.approx(28.0)


def test_duplicate_ids_are_named() -> None:
    changes, deployments, incidents = _valid()
    changes.loc[3, "change_id"] = "c1"
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "id 'c1' appears more than once in column 'change_id'" in str(err.value)
    assert "row 3" in str(err.value)


def test_rolled_back_must_be_boolean() -> None:
    changes, deployments, incidents = _valid()
    deployments["rolled_back"] = pd.Series([True, None, False, False], dtype=object)
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "column 'rolled_back', row 1 (deploy_id 'd2')" in str(err.value)


def test_bad_window_arguments() -> None:
    changes, deployments, incidents = _valid()
    with pytest.raises(InputError, match="start='2024-01-01' has no timezone"):
        dora.metrics(changes, deployments, incidents, start="2024-01-01")
    with pytest.raises(InputError, match="ends before it starts"):
        dora.metrics(changes, deployments, incidents, start=at(10), end=at(5))


def test_input_error_is_a_value_error_with_a_hint() -> None:
    changes, deployments, incidents = _valid()
    with pytest.raises(ValueError) as err:
        dora.metrics(changes.drop(columns="change_id"), deployments, incidents)
    assert isinstance(err.value, InputError)
    assert err.value.hint


def test_caller_frames_are_not_mutated() -> None:
    changes, deployments, incidents = _valid()
    changes["committed_at"] = changes["committed_at"].dt.tz_convert("Europe/Paris")
    incidents["created_at"] = incidents["created_at"].astype("datetime64[us, UTC]")
    before = [copy.deepcopy(f) for f in (changes, deployments, incidents)]
    lists_before = [list(v) for v in deployments["change_ids"]]
    dora.metrics(changes, deployments, incidents, start=at(0))
    dora.weekly(changes, deployments, incidents)
    dora.to_records(changes, deployments, incidents)
    for original, now in zip(before, (changes, deployments, incidents), strict=True):
        pd.testing.assert_frame_equal(now, original)
    assert [list(v) for v in deployments["change_ids"]] == lists_before
    assert str(changes["committed_at"].dt.tz) == "Europe/Paris"


# ---------------------------------------------------------------------------------------------
# Report, table, plots, weekly series
# ---------------------------------------------------------------------------------------------


def test_table_has_one_row_per_metric_with_groups() -> None:
    table = dora.metrics(*_four_deployments()).table()
    assert list(table.columns) == ["metric", "value", "unit", "tier", "group"]
    assert table["metric"].tolist() == [
        "Change lead time",
        "Deployment frequency",
        "Failed deployment recovery time",
        "Change fail rate",
        "Deployment rework rate",
    ]
    assert table["group"].tolist() == ["Throughput"] * 3 + ["Instability"] * 2
    assert table["tier"].iloc[-1] == "n/a (no 2024 bands)"


def test_repr_and_html_are_deterministic() -> None:
    first = dora.metrics(*_four_deployments())
    second = dora.metrics(*_four_deployments())
    assert repr(first) == repr(second)
    assert first._repr_html_() == second._repr_html_()
    for text in (repr(first), first._repr_html_()):
        assert "0x" not in text
        assert "2024-01-01 00:00 UTC" in text
    assert "Change fail rate" in repr(first)
    assert str(first.change_fail_rate) == "Change fail rate: 75.0% (3 of 4 deployments) [Low]"


def test_metrics_are_frozen_dataclasses() -> None:
    report = dora.metrics(*_four_deployments())
    with pytest.raises(AttributeError):
        report.lead_time.value = 1.0  # type: ignore[misc]


def test_plot_has_titles_and_axis_labels() -> None:
    report = dora.metrics(*_four_deployments())
    fig = report.plot()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 5
    assert fig.get_suptitle().startswith("DORA metrics")
    for ax in fig.axes:
        assert ax.get_title()
        assert ax.get_ylabel()
    fig.savefig(io.BytesIO(), format="png")  # it renders
    empty = dora.metrics(changes_df([]), deployments_df([]), NO_INCIDENTS)
    empty.plot().savefig(io.BytesIO(), format="png")


def test_weekly_series_by_iso_week() -> None:
    changes = changes_df([("c1", at(0)), ("c2", at(1)), ("c3", at(24 * 14))])
    deployments = deployments_df(
        [
            ("d1", at(2), ["c1"], True, None),  # week of Jan 1: lead 2 h, rolled back
            ("d2", at(5), ["c2"]),  # week of Jan 1: lead 4 h
            ("d3", at(24 * 14 + 3), ["c3"], False, "i1"),  # week of Jan 15: lead 3 h, a fix
        ]
    )
    incidents = incidents_df([("i1", at(24 * 14 + 1), at(24 * 14 + 4), "d1")])  # 3 h
    frame = dora.weekly(changes, deployments, incidents)
    assert frame.index.name == "week"
    assert frame.index.tolist() == [
        pd.Timestamp("2024-01-01T00:00Z"),
        pd.Timestamp("2024-01-08T00:00Z"),
        pd.Timestamp("2024-01-15T00:00Z"),
    ]
    assert frame["deployments"].tolist() == [2, 0, 1]
    # week 1: median(2, 4) = 3 h; week 2 empty; week 3: 3 h
    assert frame["lead_time_hours"].iloc[0] == pytest.approx(3.0)
    assert np.isnan(frame["lead_time_hours"].iloc[1])
    assert frame["lead_time_hours"].iloc[2] == pytest.approx(3.0)
    # week 1: d1 rolled back and caused i1 → 1 of 2 = 0.5; week 3: 0 of 1
    assert frame["change_fail_rate"].iloc[0] == pytest.approx(0.5)
    assert np.isnan(frame["change_fail_rate"].iloc[1])
    assert frame["change_fail_rate"].iloc[2] == pytest.approx(0.0)
    # i1 created in week 3, 3 h to resolve
    assert frame["recovery_hours"].iloc[2] == pytest.approx(3.0)
    assert frame["rework_rate"].iloc[2] == pytest.approx(1.0)
    fig = dora.plot_weekly(frame)
    assert all(ax.get_ylabel() for ax in fig.axes)
    fig.savefig(io.BytesIO(), format="png")


# ---------------------------------------------------------------------------------------------
# Sources: git and JSON-lines records
# ---------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Learner",
        "GIT_AUTHOR_EMAIL": "learner@example.com",
        "GIT_COMMITTER_NAME": "Learner",
        "GIT_COMMITTER_EMAIL": "learner@example.com",
    }
    if date is not None:
        env["GIT_COMMITTER_DATE"] = date
        env["GIT_AUTHOR_DATE"] = "2020-06-01T00:00:00+00:00"  # must not be used
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
def test_from_git_reads_commits_with_committer_dates(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "one", date="2024-03-01T10:00:00+02:00")
    first = _git(tmp_path, "rev-parse", "HEAD")
    _git(tmp_path, "commit", "-q", "--allow-empty", "-m", "two", date="2024-03-02T09:30:00Z")
    second = _git(tmp_path, "rev-parse", "HEAD")

    changes = dora.from_git(tmp_path)
    assert changes["change_id"].tolist() == [first, second]  # oldest first, full SHAs
    assert all(len(sha) == 40 for sha in changes["change_id"])
    assert changes["committed_at"].tolist() == [
        pd.Timestamp("2024-03-01T08:00:00Z"),  # 10:00 at +02:00 is 08:00 UTC
        pd.Timestamp("2024-03-02T09:30:00Z"),
    ]
    assert str(changes["committed_at"].dtype) == "datetime64[ns, UTC]"


@needs_git
def test_from_git_on_an_empty_repository(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    changes = dora.from_git(tmp_path)
    assert changes.empty
    assert list(changes.columns) == ["change_id", "committed_at"]


@needs_git
def test_from_git_refuses_a_directory_that_is_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "not-a-repo"
    plain.mkdir()
    with pytest.raises(InputError) as err:
        dora.from_git(plain)
    assert str(plain) in str(err.value)
    assert "not a git repository" in str(err.value)
    with pytest.raises(InputError, match="is not a directory"):
        dora.from_git(tmp_path / "missing")


def test_records_round_trip_through_a_file(tmp_path: Path) -> None:
    changes, deployments, incidents = dora.simulate_history(days=20, seed=5, batch_size=3)
    path = tmp_path / "dora.jsonl"
    records = dora.to_records(changes, deployments, incidents, path)
    assert len(records) == len(changes) + len(deployments) + len(incidents)
    first_line = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first_line["type"] == "change" and first_line["committed_at"].endswith("Z")

    back = dora.from_records(path)
    for original, read in zip((changes, deployments, incidents), back, strict=True):
        pd.testing.assert_frame_equal(read, original)
    assert repr(dora.metrics(*back)) == repr(dora.metrics(changes, deployments, incidents))


def test_records_with_defaults_and_in_any_order() -> None:
    records = [
        {
            "type": "deployment",
            "deploy_id": "d1",
            "deployed_at": "2024-01-01T10:00:00Z",
            "change_ids": ["c1"],
        },
        {"type": "change", "change_id": "c1", "committed_at": "2024-01-01T09:00:00+01:00"},
        {
            "type": "incident",
            "incident_id": "i1",
            "created_at": "2024-01-01T10:10:00Z",
            "caused_by_deploy_id": "d1",
            "pipeline": "bookstore",
        },
    ]
    changes, deployments, incidents = dora.from_records(records)
    assert deployments["rolled_back"].tolist() == [False]
    assert deployments["fixes_incident_id"].isna().all()
    assert incidents["resolved_at"].isna().all()
    assert incidents["pipeline"].tolist() == ["bookstore"]  # extra fields are kept
    report = dora.metrics(changes, deployments, incidents)
    # c1 committed 09:00 +01:00 = 08:00Z, deployed 10:00Z → 2 h
    assert report.lead_time.value == pytest.approx(2.0)


def _jsonl(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD_CHANGE = '{"type": "change", "change_id": "c1", "committed_at": "2024-01-01T09:00:00Z"}'


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ('{"type": "change", "change_id": ', "line 3: this line is not valid JSON"),
        ('{"type": "build", "id": "b1"}', "line 3, field 'type': unknown record type 'build'"),
        ('{"type": "incident", "incident_id": "i1"}', "line 3, field 'created_at'"),
        (
            '{"type": "change", "change_id": "c2", "committed_at": "2024-01-01T09:00:00"}',
            "line 3 (change_id 'c2')",
        ),
        (
            '{"type": "deployment", "deploy_id": "d1", "deployed_at": "2024-01-01T09:00:00Z", '
            '"change_ids": "c1"}',
            "line 3, field 'change_ids'",
        ),
        (
            '{"type": "deployment", "deploy_id": "d1", "deployed_at": "2024-01-01T09:00:00Z", '
            '"rolled_back": "no"}',
            "line 3, field 'rolled_back'",
        ),
        ("[1, 2]", "line 3: a record must be a JSON object"),
    ],
)
def test_bad_records_name_the_file_and_line(tmp_path: Path, bad_line: str, expected: str) -> None:
    path = _jsonl(tmp_path, [GOOD_CHANGE, "", bad_line])  # line 2 is blank and skipped
    with pytest.raises(InputError) as err:
        dora.from_records(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


def test_from_records_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        dora.from_records(tmp_path / "nope.jsonl")


def test_from_records_of_nothing_gives_empty_frames_metrics_accept() -> None:
    changes, deployments, incidents = dora.from_records([])
    assert list(deployments.columns) == [
        "deploy_id",
        "deployed_at",
        "change_ids",
        "rolled_back",
        "fixes_incident_id",
    ]
    assert str(changes["committed_at"].dtype) == "datetime64[ns, UTC]"
    assert dora.metrics(changes, deployments, incidents).lead_time.value is None


# ---------------------------------------------------------------------------------------------
# Simulated history
# ---------------------------------------------------------------------------------------------


def test_simulate_history_is_deterministic_for_a_seed() -> None:
    a = dora.simulate_history(days=30, seed=11, batch_size=4)
    b = dora.simulate_history(days=30, seed=11, batch_size=4)
    c = dora.simulate_history(days=30, seed=12, batch_size=4)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0].equals(c[0])


def test_simulate_history_is_valid_input_with_every_kind_of_row() -> None:
    changes, deployments, incidents = dora.simulate_history(days=90, seed=3, batch_size=10)
    report = dora.metrics(changes, deployments, incidents)  # no InputError
    assert deployments["rolled_back"].any()
    assert deployments["fixes_incident_id"].notna().any()
    assert incidents["caused_by_deploy_id"].notna().all()
    assert report.rework_rate.value and report.rework_rate.value > 0
    assert deployments["deployed_at"].is_monotonic_increasing
    assert changes["change_id"].is_unique


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_batches_beat_large_batches(seed: int) -> None:
    small = dora.metrics(*dora.simulate_history(days=90, seed=seed, batch_size=1))
    large = dora.metrics(*dora.simulate_history(days=90, seed=seed, batch_size=20))
    assert small.lead_time.value < large.lead_time.value  # type: ignore[operator]
    assert small.change_fail_rate.value < large.change_fail_rate.value  # type: ignore[operator]
    assert small.recovery_time.value < large.recovery_time.value  # type: ignore[operator]
    assert small.deployment_frequency.value > large.deployment_frequency.value  # type: ignore[operator]


def test_simulate_history_rejects_bad_arguments() -> None:
    with pytest.raises(InputError, match="batch_size=0"):
        dora.simulate_history(batch_size=0)
    with pytest.raises(InputError, match="has no timezone"):
        dora.simulate_history(start="2024-01-01")


def test_a_bare_date_is_a_naive_timestamp() -> None:
    changes, deployments, incidents = _valid()
    changes["committed_at"] = pd.Series(["2024-01-01", "2024-01-01T01:00:00Z"] * 2, dtype="str")
    with pytest.raises(InputError) as err:
        dora.metrics(changes, deployments, incidents)
    assert "'2024-01-01' is a timestamp without a timezone" in str(err.value)
    assert "row 0 (change_id 'c1')" in str(err.value)


def test_a_start_after_the_data_gives_an_empty_window_not_an_error() -> None:
    report = dora.metrics(*_valid(), start=at(1000))
    assert report.start == report.end == at(1000)
    assert report.deployment_frequency.value is None
