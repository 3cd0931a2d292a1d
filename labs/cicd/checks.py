"""*Check your work* for the source-control lab: branches merged, strategies chosen, rates computed.

Each check prints one ``✔`` line (:func:`labs.checks.passed`) or raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found, and a hint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from labs.checks import answered, exercise, passed, solved
from labs.cicd import strategies
from labs.cicd.git import MAIN, Repo
from labs.errors import CheckFailed, InputError

__all__ = ["conflict_rates", "merged", "strategy_choice"]


@exercise("02", 1)
def merged(repo: Repo, branch: str, *, into: str = MAIN) -> None:
    """Pass when ``branch`` has a commit of its own and was merged into ``into`` with a merge.

    Args:
        repo: The repository (:func:`labs.cicd.git.bookstore_repo`).
        branch: The branch the learner made.
        into: The branch it must be merged into.
    """
    if branch not in repo.branches:
        raise CheckFailed(
            f"there is no branch called {branch!r} yet.",
            found=f"branches {repo.branches}",
            hint=f"Create it with repo.branch({branch!r}), then repo.checkout({branch!r}).",
        )
    tip = repo.rev_parse(branch)
    if not repo.is_ancestor(tip, into):
        raise CheckFailed(
            f"{branch!r} is not merged into {into!r} yet.",
            hint=f"repo.checkout({into!r}), then repo.merge({branch!r}, when=…).",
        )
    own_line = repo.git("rev-list", "--first-parent", repo.rev_parse(into)).split()
    if tip in own_line:
        raise CheckFailed(
            f"{branch!r} has no commit of its own on top of {into!r} (or it was fast-forwarded).",
            hint=f"On {branch!r}, commit a change with repo.commit(message, {{path: text}}, "
            "when=…) before merging; merge without fast_forward=True.",
        )
    history = repo.git("rev-list", tip).split()
    reachable = set(history)
    fork = next(sha for sha in own_line if sha in reachable)  # where the branch left `into`
    commits = len(repo.git("rev-list", tip, f"^{fork}").split())
    subject = repo.log(branch)["message"].iloc[0]
    passed(
        f"{branch} is merged into {into} with a merge commit "
        f"({commits} commit(s) of its own; the last: {subject!r})"
    )


def _why_not(row: pd.Series, name: str, max_p90: float, max_conflicts: float) -> list[str]:
    reasons = []
    if row["p90_lead_time_days"] > max_p90:
        extra = " — its changes wait for the next release branch" if name == "gitflow" else ""
        reasons.append(
            f"its p90 lead time is {row['p90_lead_time_days']:.1f} days, above the "
            f"{max_p90:g}-day limit{extra}"
        )
    if row["conflict_rate"] > max_conflicts:
        reasons.append(
            f"{row['conflict_rate']:.0%} of its merges conflict, above the {max_conflicts:.0%} "
            "limit — its branches live long enough for others to change the same files"
        )
    return reasons


@exercise("02", 2)
def strategy_choice(
    choice: Any,
    team: strategies.Team,
    *,
    seed: int,
    max_p90_lead_time_days: float,
    max_conflict_rate: float,
) -> None:
    """Pass when ``choice`` is the strategy that meets both limits with the lowest median lead time.

    The check runs :func:`labs.cicd.strategies.compare` on ``team`` with ``seed`` itself, so a
    wrong choice is explained with the simulation's own numbers.
    """
    answered(choice, "your choice of strategy", hint="Set `choice` to one of the strategy names.")
    try:
        name = strategies.strategy_name(choice)
    except InputError:
        raise CheckFailed(
            "your choice is not a strategy the simulation knows.",
            expected=f"one of {list(strategies.STRATEGIES)}",
            found=repr(choice),
        ) from None
    table = strategies.compare(team, seed=seed)
    ok = (table["p90_lead_time_days"] <= max_p90_lead_time_days) & (
        table["conflict_rate"] <= max_conflict_rate
    )
    if not ok.any():
        raise CheckFailed(
            "no strategy meets both limits for this team, so there is nothing to choose.",
            hint="The limits or the team are not the ones the exercise states; re-run its cell.",
        )
    best = str(table.loc[ok, "median_lead_time_days"].idxmin())
    row = table.loc[name]
    if name != best:
        reasons = _why_not(row, name, max_p90_lead_time_days, max_conflict_rate)
        if not reasons:
            other = table.loc[best, "median_lead_time_days"]
            reasons = [
                f"it meets both limits, but another strategy that does has a lower median "
                f"lead time ({other:.2f} days against its {row['median_lead_time_days']:.2f})"
            ]
        raise CheckFailed(
            f"{name} is not the best choice for this team: {'; and '.join(reasons)}.",
            found=name,
            hint="Filter compare()'s table by both limits, then take the lowest "
            "median_lead_time_days.",
        )
    passed(
        f"{name}: p90 lead time {row['p90_lead_time_days']:.1f} days "
        f"(limit {max_p90_lead_time_days:g}), {row['conflict_rate']:.0%} of merges conflict "
        f"(limit {max_conflict_rate:.0%}), and the lowest median lead time of those that "
        f"qualify ({row['median_lead_time_days']:.2f} days)"
    )


@exercise("02", 3)
def conflict_rates(
    function: Callable[[pd.DataFrame], Any],
    frame: pd.DataFrame,
    bins: tuple[float, ...] = strategies.AGE_BINS_DAYS,
) -> None:
    """Pass when ``function(frame)`` gives the conflict rate per branch-age bucket, in order.

    Compared with :func:`labs.cicd.strategies.conflict_rate_by_age` value by value (an empty
    bucket is NaN in both).
    """
    result = solved(function, frame)
    if result is None:
        raise CheckFailed(
            f"{getattr(function, '__name__', 'your function')}() returned None.",
            hint="Return the Series of conflict rates, one value per bucket.",
        )
    expected = strategies.conflict_rate_by_age(frame, bins)
    try:
        values = np.asarray(pd.Series(result).to_numpy(), dtype=float)
    except (TypeError, ValueError):
        raise CheckFailed(
            "the result is not a list of numbers.",
            expected=f"{len(expected)} conflict rates, one per bucket",
            found=type(result).__name__,
        ) from None
    want = expected.to_numpy(dtype=float)
    shown_expected = [round(float(v), 3) for v in want]
    shown_found = [round(float(v), 3) for v in values]
    if values.shape != want.shape or not np.allclose(values, want, equal_nan=True, atol=1e-9):
        raise CheckFailed(
            "the conflict rate per branch-age bucket.",
            expected=shown_expected,
            found=shown_found,
            hint="pd.cut(frame['branch_age_days'], AGE_BINS_DAYS, right=False) makes the "
            "buckets (left-closed); the mean of the boolean 'conflict' column per bucket is "
            "the rate; keep empty buckets (observed=False).",
        )
    passed(f"conflict rate per branch-age bucket: {shown_found}")
