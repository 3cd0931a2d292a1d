"""*Check your work* for the DORA lab: each check recomputes the answer from the same data.

A check prints one ``✔`` line when the answer is right, and otherwise raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found and a hint — also
when the exercise has not been answered yet (its variable still ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from labs.checks import answered, exercise, passed
from labs.dora.history import bookstore_regression_week
from labs.dora.tiers import (
    TIERS,
    change_fail_rate_tier,
    deployment_frequency_tier,
    lead_time_tier,
    recovery_time_tier,
)
from labs.dora.validate import to_utc_timestamp
from labs.errors import CheckFailed

__all__ = ["lead_time_of_change", "regression", "team_tiers", "week_of"]

_HOUR = pd.Timedelta(hours=1)


def _number(value: Any, what: str, hint: str) -> float:
    value = answered(value, what)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CheckFailed(
            what,
            expected="a number of hours",
            found=f"{value!r} ({type(value).__name__})",
            hint=hint,
        ) from None
    if math.isnan(number):
        raise CheckFailed(what, expected="a number of hours", found="NaN", hint=hint)
    return number


@exercise("01", 1)
def lead_time_of_change(
    answer: Any, change_id: str, changes: pd.DataFrame, deployments: pd.DataFrame
) -> None:
    """Check a change's lead time, in hours, worked out by hand.

    The lead time of one change is its **first** deployment's ``deployed_at`` minus its
    ``committed_at`` (DORA's change lead time; :func:`labs.dora.metrics` takes the median of
    these over all changes).

    Args:
        answer: The learner's lead time in hours.
        change_id: The change (commit SHA) the exercise is about.
        changes: The changes frame the exercise used.
        deployments: The deployments frame the exercise used.
    """
    what = f"the lead time of change {change_id[:7]}"
    hint = (
        "Find the deployments whose change_ids contain the change, take the earliest deployed_at, "
        "subtract the change's committed_at, and divide by pd.Timedelta(hours=1)."
    )
    found = _number(answer, what, hint)
    committed = changes.loc[changes["change_id"] == change_id, "committed_at"]
    shipped = deployments["change_ids"].map(lambda ids: change_id in list(ids))
    times = deployments.loc[shipped, "deployed_at"]
    if committed.empty or times.empty:  # the exercise's own data is wrong, not the learner
        raise CheckFailed(
            f"change {change_id!r} is not a deployed change of these frames.",
            hint="Re-run the notebook from the top so that changes and deployments are fresh.",
        )
    lead = (times - committed.iloc[0]) / _HOUR
    expected = float(lead.min())
    if math.isclose(found, expected, abs_tol=0.01):
        passed(f"{what}: {found:.2f} hours (committed, then first deployed {expected:.2f} h later)")
        return
    if len(lead) > 1 and math.isclose(found, float(lead.max()), abs_tol=0.01):
        hint = "That is its last deployment; lead time runs to the *first* one."
    elif math.isclose(found, expected * 60, rel_tol=1e-3):
        hint = "That looks like minutes; the answer is in hours."
    elif math.isclose(found, expected * 3600, rel_tol=1e-3):
        hint = "That looks like seconds; the answer is in hours."
    elif math.isclose(found, -expected, abs_tol=0.01):
        hint = "The sign is wrong: deployed_at − committed_at."
    raise CheckFailed(what, expected=f"{expected:.2f} hours", found=f"{found:g} hours", hint=hint)


_TIER_OF = {
    "Change lead time": ("lead_time_hours", lead_time_tier),
    "Deployment frequency": ("deployments_per_day", deployment_frequency_tier),
    "Change fail rate": ("change_fail_rate", change_fail_rate_tier),
    "Failed deployment recovery time": ("recovery_hours", recovery_time_tier),
}


@exercise("01", 2)
def team_tiers(answer: Any, team: Mapping[str, float]) -> None:
    """Check a team's 2024 tier for each of the four metrics with tier bands.

    Args:
        answer: The learner's ``{metric name: tier}`` dict, e.g.
            ``{"Change lead time": "High", …}`` for the four metrics of :data:`_TIER_OF`.
        team: The team's numbers: ``lead_time_hours``, ``deployments_per_day``,
            ``change_fail_rate`` (0–1) and ``recovery_hours``.
    """
    what = "the team's tiers"
    answer = answered(answer, what)
    names = list(_TIER_OF)
    if not isinstance(answer, Mapping):
        raise CheckFailed(
            what,
            expected=f"a dict with the keys {names}",
            found=type(answer).__name__,
            hint='Write answer = {"Change lead time": "…", …} with one tier per metric.',
        )
    missing = [n for n in names if n not in answer]
    extra = [k for k in answer if k not in names]
    if missing or extra:
        raise CheckFailed(
            what,
            expected=f"the keys {names}",
            found=f"missing {missing}, unexpected {extra}",
            hint="Use the metric names exactly as the tier table spells them.",
        )
    unknown = {k: v for k, v in answer.items() if v not in TIERS}
    if unknown:
        raise CheckFailed(
            what,
            expected=f"each tier one of {list(TIERS)}",
            found=unknown,
            hint="Tiers are spelled 'Elite', 'High', 'Medium', 'Low'.",
        )
    expected = {name: classify(team[key]) for name, (key, classify) in _TIER_OF.items()}
    wrong = {n: answer[n] for n in names if answer[n] != expected[n]}
    if wrong:
        hints = []
        if "Change fail rate" in wrong:
            hints.append(
                "change fail rate: the 2024 column is not in order (5%, 20%, 10%, 40%); pick the "
                "tier whose stated value is nearest"
            )
        if "Deployment frequency" in wrong:
            hints.append(
                "deployment frequency: turn the rate into days between deployments and compare "
                "with daily – weekly – monthly"
            )
        if not hints:
            hints.append("compare each number with the ranges in the 2024 table above")
        raise CheckFailed(
            f"{len(wrong)} of the four tiers",
            expected={n: expected[n] for n in wrong},
            found=wrong,
            hint="; ".join(hints) + ".",
        )
    passed(f"{what}: " + ", ".join(f"{n} {answer[n]}" for n in names))


def week_of(times: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """The Monday 00:00 UTC of each time's ISO week (naive times are taken as UTC)."""
    index = pd.DatetimeIndex(times)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    index = index.as_unit("ns").normalize()
    return index - pd.to_timedelta(index.day_of_week, unit="D")


def _one_week(value: Any, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            raise ValueError("NaT")
    except (TypeError, ValueError):
        raise CheckFailed(
            what,
            expected="a date in the week, e.g. pd.Timestamp('2026-06-01', tz='UTC')",
            found=f"{value!r} ({type(value).__name__})",
            hint="Take it from the index of the weekly frame: by_week.index[…].",
        ) from None
    return week_of(pd.DatetimeIndex([stamp]))[0]


def _batch_by_week(deployments: pd.DataFrame) -> pd.Series:
    times = to_utc_timestamp(deployments["deployed_at"], where="deployments, 'deployed_at'")
    sizes = deployments["change_ids"].map(len).to_numpy(dtype=float)
    return pd.Series(sizes).groupby(week_of(times)).mean()


@exercise("01", 3)
def regression(week: Any, batch_size_by_week: Any, deployments: pd.DataFrame) -> None:
    """Check the week the bookstore team regressed, and the batch sizes that explain it.

    Args:
        week: The learner's regression week (the Monday, or any time in that week).
        batch_size_by_week: The learner's mean number of changes per deployment, per week
            (a Series indexed by each week's Monday), over every deployment of the week.
        deployments: The bookstore's deployments (as read back from the records).
    """
    what = "the week the team regressed"
    week = _one_week(answered(week, what), what)
    expected_week = bookstore_regression_week()
    if week != expected_week:
        direction = "later" if week < expected_week else "earlier"
        raise CheckFailed(
            what,
            expected="the Monday of the first week whose median lead time jumps",
            found=f"the week of {week:%Y-%m-%d}",
            hint=f"Look {direction}: compare by_week['lead_time_hours'] with the weeks before it.",
        )
    why = "the changes per deployment, week by week"
    answer = answered(batch_size_by_week, why)
    if not isinstance(answer, pd.Series):
        raise CheckFailed(
            why,
            expected="a pandas Series indexed by week",
            found=type(answer).__name__,
            hint="Group the number of change_ids of each deployment by its week, then .mean().",
        )
    expected = _batch_by_week(deployments)
    try:
        answer = pd.Series(answer.to_numpy(dtype=float), index=week_of(answer.index))
    except (TypeError, ValueError):
        raise CheckFailed(
            why,
            expected="an index of weeks (timestamps) and numbers as values",
            found=f"index {answer.index.dtype}, values {answer.dtype}",
            hint="Index the Series by the Monday of each deployment's week.",
        ) from None
    if not answer.index.is_unique:
        raise CheckFailed(
            why,
            expected="one value per week",
            found=f"{len(answer)} values for {answer.index.nunique()} weeks",
            hint="Group by the week's Monday, not by the day.",
        )
    aligned = answer.reindex(expected.index).to_numpy(dtype=float)
    off = ~np.isclose(aligned, expected.to_numpy(), atol=1e-6)
    if off.any():
        first = int(np.flatnonzero(off)[0])
        raise CheckFailed(
            why,
            expected=f"{expected.iloc[first]:.2f} changes per deployment in the week of "
            f"{expected.index[first]:%Y-%m-%d}",
            found="nothing for that week" if np.isnan(aligned[first]) else f"{aligned[first]:.2f}",
            hint="Count every deployment of the week (hotfixes too): len(change_ids), then mean.",
        )
    before = float(expected[expected.index < expected_week].median())
    during = float(expected[expected_week])
    passed(
        f"{what}: {week:%Y-%m-%d} — changes per deployment jumped from about {before:.0f} "
        f"to {during:.0f}: bigger batches"
    )
