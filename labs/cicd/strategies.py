"""Branching strategies measured: trunk-based development, GitHub flow and GitFlow, simulated.

A seeded, vectorised simulation of one team doing the same work under three ways of using
branches, so that branch age, merge conflicts, integration delay and lead time can be *measured*
instead of asserted. Pure: data in (a :class:`Team`), data out (DataFrames, figures).

**The team's work.** Each of ``developers`` works through a queue of changes, one after another,
for ``days`` working days. A change's size (working hours of coding) is log-normal with median
``change_hours_median`` and shape ``change_hours_sigma``. A change touches ``1 + Poisson(
files_per_hour × size)`` files of a codebase of ``files`` files, drawn with Zipf popularity
(exponent ``hotspot``): a few files — the router, the model, the config — are touched far more
often than the rest, which is where conflicts come from. With the same seed, every strategy
gets the *same* work (common random numbers), so differences come from the strategy alone.

**The strategies** (how a change travels to production):

=============== ============================= ================== ===========================
Strategy        What is merged                Review             Reaches production
=============== ============================= ================== ===========================
trunk-based     the change in slices of at    synchronous (pair  each merge to ``main``,
                most ``batch_hours`` each,    or at-the-desk),   after the pipeline
                straight to ``main``          ``sync_review_…``  (``pipeline_hours``)
github-flow     the whole change, from a      pull request,      each merge to ``main``,
                feature branch off ``main``   ``review_delay_…`` after the pipeline
gitflow         the whole change, from a      pull request,      a release branch is cut
                feature branch off            ``review_delay_…`` from ``develop`` every
                ``develop``                                      ``release_every_days``,
                                                                 hardened ``hardening_days``,
                                                                 merged to ``main``, deployed
=============== ============================= ================== ===========================

Review waits are exponential with the given means. Trunk-based slices follow DORA's description
of the practice: work in small batches, merge to trunk at least once a day, review
synchronously, no integration phases or code freezes ("Capabilities: Trunk-based development",
https://dora.dev/capabilities/trunk-based-development/). GitFlow follows Vincent Driessen's "A
successful Git branching model" (https://nvie.com/posts/a-successful-git-branching-model/);
GitHub flow, GitHub's "GitHub flow" guide (https://docs.github.com/en/get-started/using-github/
github-flow).

**The conflict model.** A branch is created when work starts and merged when its review ends. The
longer it lives, the more *other* developers' merges land in the branch it will merge into, and
each of those that touched a file this branch also touched is an *overlap* (counted per shared
file). At merge, the probability of a conflict is::

    p = 1 − exp(−(conflict_per_overlap × overlaps + conflict_per_day × branch age in days))

so it grows with both the overlapping merges and the branch's age (the second term stands for
drift the file sample does not see: renames, reformatting, dependency bumps). A conflict costs
an exponential ``conflict_fix_hours`` before the merge. This is the intuition DORA's
trunk-based development page and Martin Fowler's "Patterns for Managing Source Code Branches"
(https://martinfowler.com/articles/branching-patterns.html, "Integration Frequency") state:
the longer a branch lives, the more it diverges, and the harder and riskier its merge. The
model ignores conflicts among a developer's own branches and does not let a conflict's delay
feed back into other branches' windows.

**The measures** (per merge; times in working days of ``HOURS_PER_DAY`` hours — nights and
weekends are left out):

* branch age — merged − created;
* integration delay — the time finished work waits to reach ``main``: merged into ``main`` −
  ready (review, conflict resolution and, for GitFlow, the wait for the release branch);
* lead time — DORA's change lead time, from commit to running in production (the pipeline
  runs back to back, ``pipeline_hours`` a run, and a merge rides the next run). Commits are made
  steadily while a change is coded, so a change's typical commit is at the middle of its work:
  lead time = deployed − (created + size / 2).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from labs.errors import InputError

__all__ = [
    "AGE_BINS_DAYS",
    "HOURS_PER_DAY",
    "STRATEGIES",
    "Team",
    "compare",
    "conflict_rate_by_age",
    "plot_branch_age",
    "plot_conflicts_by_age",
    "plot_lead_time",
    "simulate",
    "simulate_all",
    "strategy_name",
    "summarize",
]

STRATEGIES: tuple[str, ...] = ("trunk-based", "github-flow", "gitflow")
"""The strategies :func:`simulate` knows, in the order tables and plots show them."""

HOURS_PER_DAY = 8.0
"""Working hours in a working day: the simulation's clock counts working hours only."""

AGE_BINS_DAYS: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, math.inf)
"""Edges of the branch-age buckets (days, left-closed) used by :func:`conflict_rate_by_age`."""

COLUMNS: tuple[str, ...] = (
    "strategy",
    "change",
    "part",
    "parts",
    "developer",
    "size_hours",
    "files_touched",
    "created_day",
    "ready_day",
    "merged_day",
    "in_main_day",
    "deployed_day",
    "branch_age_days",
    "overlaps",
    "conflict",
    "integration_delay_days",
    "lead_time_days",
)
"""The columns of :func:`simulate`'s frame, one row per merge."""

_MIN_CHANGE_HOURS = 0.5
_MAX_CHANGE_HOURS = 20 * HOURS_PER_DAY
_MAX_WORK_DAYS = 20_000  # developers × days: keeps a run well under a second
_COLORS = {"trunk-based": "#1b9e77", "github-flow": "#7570b3", "gitflow": "#d95f02"}
# GitHub flow and GitFlow share their feature branches, so their curves coincide: GitHub flow
# is drawn wide and pale underneath, GitFlow thin and dashed on top, so that both show.
_STYLES: dict[str, dict[str, Any]] = {
    "trunk-based": {"linewidth": 2.0, "marker": "o"},
    "github-flow": {"linewidth": 5.0, "alpha": 0.45, "marker": "s", "markersize": 9},
    "gitflow": {"linewidth": 1.8, "linestyle": "--", "marker": "^"},
}


@dataclass(frozen=True)
class Team:
    """A team and its codebase: what :func:`simulate` runs each strategy on.

    Every duration says its unit in its name. The defaults describe a team of eight working
    on a mid-sized service for three months.

    Attributes:
        developers: People committing code.
        days: Working days simulated (work started after the last day is not simulated).
        change_hours_median: Median size of a change, in working hours of coding.
        change_hours_sigma: Log-normal shape of change sizes (0 makes every change the median).
        review_delay_hours: Mean wait for an asynchronous pull-request review.
        sync_review_hours: Mean wait for a synchronous review (pairing, at-the-desk): the
            trunk-based way.
        batch_hours: Trunk-based: the most work merged in one slice (DORA: at least daily).
        release_every_days: GitFlow: a release branch is cut from ``develop`` this often.
        hardening_days: GitFlow: how long a release branch is stabilised before ``main``.
        pipeline_hours: From merge to ``main`` to running in production (build, test, deploy).
        files: Files in the codebase.
        files_per_hour: Files a change touches per hour of work (plus one).
        hotspot: Zipf exponent of file popularity (0: every file equally likely).
        conflict_per_overlap: Conflict hazard per overlapping merge.
        conflict_per_day: Conflict hazard per day of branch age.
        conflict_fix_hours: Mean time to resolve a conflict.
    """

    developers: int = 8
    days: int = 60
    change_hours_median: float = 12.0
    change_hours_sigma: float = 0.8
    review_delay_hours: float = 6.0
    sync_review_hours: float = 0.5
    batch_hours: float = 4.0
    release_every_days: float = 10.0
    hardening_days: float = 2.0
    pipeline_hours: float = 1.0
    files: int = 150
    files_per_hour: float = 0.4
    hotspot: float = 1.0
    conflict_per_overlap: float = 0.03
    conflict_per_day: float = 0.02
    conflict_fix_hours: float = 2.0

    def __post_init__(self) -> None:
        positive_int = ("developers", "days", "files")
        positive = (
            "change_hours_median",
            "batch_hours",
            "release_every_days",
        )
        for f in fields(self):
            value = getattr(self, f.name)
            where = f"Team.{f.name}"
            if f.name in positive_int:
                if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                    raise InputError(
                        f"{f.name} must be a whole number of at least 1, not {value!r}.",
                        where=where,
                        hint=f"For example Team({f.name}={getattr(Team, f.name)}).",
                    )
                continue
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise InputError(
                    f"{f.name} must be a number, not {type(value).__name__} {value!r}.",
                    where=where,
                )
            if not math.isfinite(value) or value < 0 or (f.name in positive and value == 0):
                bound = "greater than 0" if f.name in positive else "0 or more"
                raise InputError(
                    f"{f.name} must be a finite number {bound}, not {value!r}.",
                    where=where,
                    hint=f"The default is {getattr(Team, f.name)}.",
                )
        if self.developers * self.days > _MAX_WORK_DAYS:
            raise InputError(
                f"{self.developers} developers × {self.days} days is more than this simulation "
                f"runs ({_MAX_WORK_DAYS:,} developer-days).",
                where="Team.developers, Team.days",
                hint="Simulate fewer days: the measures settle within a few weeks.",
            )

    def describe(self) -> pd.Series:
        """Return the team's parameters as a Series (for showing in a notebook)."""
        return pd.Series(asdict(self), name="value", dtype=object)


def strategy_name(strategy: str) -> str:
    """Return the canonical name of ``strategy`` (``"trunk"`` → ``"trunk-based"``, …).

    Raises:
        InputError: Not a strategy :func:`simulate` knows.
    """
    name = str(strategy).strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"trunk": "trunk-based", "tbd": "trunk-based", "git-flow": "gitflow"}
    name = aliases.get(name, name)
    if name not in STRATEGIES:
        raise InputError(
            f"Unknown branching strategy {strategy!r}.",
            where="strategy",
            hint=f"Use one of {', '.join(STRATEGIES)}.",
        )
    return name


def _check_team(team: Any) -> Team:
    if not isinstance(team, Team):
        raise InputError(
            f"team must be a Team, not {type(team).__name__}.",
            where="team",
            hint="Build one with Team(developers=8, days=60, …).",
        )
    return team


# --------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Work:
    """The team's changes, the same for every strategy under one seed."""

    developer: np.ndarray
    created: np.ndarray  # hours
    size: np.ndarray  # hours
    review: np.ndarray  # hours (asynchronous review wait)
    fix: np.ndarray  # hours (conflict resolution, if one happens)
    draw: np.ndarray  # uniform, decides the conflict
    unit_of_pair: np.ndarray  # (change, file) pairs
    file_of_pair: np.ndarray


def _files(
    rng: np.random.Generator, team: Team, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the files each unit touches: return (unit, file) pairs and the count per unit."""
    ranks = np.arange(1, team.files + 1, dtype=float)
    weights = ranks**-team.hotspot
    weights /= weights.sum()
    wanted = 1 + rng.poisson(team.files_per_hour * size)
    wanted = np.minimum(wanted, team.files)
    units = np.repeat(np.arange(size.size), wanted)
    picked = rng.choice(team.files, size=units.size, p=weights)
    # Draws are with replacement: a file drawn twice for one unit counts once.
    pairs = np.unique(units.astype(np.int64) * team.files + picked)
    unit_of_pair, file_of_pair = np.divmod(pairs, team.files)
    touched = np.bincount(unit_of_pair, minlength=size.size)
    return unit_of_pair, file_of_pair, touched


def _team_work(team: Team, seed: int) -> tuple[_Work, np.ndarray]:
    rng = np.random.default_rng([seed, 0])
    horizon = team.days * HOURS_PER_DAY
    per_dev = math.ceil(horizon / _MIN_CHANGE_HOURS) + 1
    sizes = rng.lognormal(
        math.log(team.change_hours_median), team.change_hours_sigma, (team.developers, per_dev)
    )
    sizes = np.clip(sizes, _MIN_CHANGE_HOURS, _MAX_CHANGE_HOURS)
    starts = np.cumsum(sizes, axis=1) - sizes
    keep = starts < horizon  # row-major: developer 0's changes first, in order
    developer = np.broadcast_to(np.arange(team.developers)[:, None], sizes.shape)[keep]
    created, size = starts[keep], sizes[keep]
    n = size.size
    review = rng.exponential(1.0, n) * team.review_delay_hours
    fix = rng.exponential(1.0, n) * team.conflict_fix_hours
    draw = rng.random(n)
    unit_of_pair, file_of_pair, touched = _files(rng, team, size)
    work = _Work(developer, created, size, review, fix, draw, unit_of_pair, file_of_pair)
    return work, touched


def _overlaps(
    team: Team,
    developer: np.ndarray,
    created: np.ndarray,
    attempt: np.ndarray,
    unit_of_pair: np.ndarray,
    file_of_pair: np.ndarray,
) -> np.ndarray:
    """Per unit: other developers' merges in [created, attempt) sharing a file, per shared file.

    Vectorised with sorted keys: for each (unit, file) pair, the merges of that file inside the
    unit's window are counted with two binary searches, once over every developer's merges and
    once over the unit's own developer's, and the second count is subtracted.
    """
    if unit_of_pair.size == 0:
        return np.zeros(created.size)
    span = float(np.max(attempt)) + 1.0
    pair_time = attempt[unit_of_pair]
    pair_dev = developer[unit_of_pair]
    lo, hi = created[unit_of_pair], attempt[unit_of_pair]

    def count(group: np.ndarray) -> np.ndarray:
        keys = np.sort(group * span + pair_time)
        base = group * span
        return np.searchsorted(keys, base + hi, "left") - np.searchsorted(keys, base + lo, "left")

    by_file = file_of_pair.astype(np.float64)
    by_dev_file = (pair_dev.astype(np.float64) * team.files) + file_of_pair
    per_pair = count(by_file) - count(by_dev_file)
    return np.bincount(unit_of_pair, weights=per_pair, minlength=created.size)


def _simulate(
    strategy: str, team: Team, seed: int, work: _Work, touched: np.ndarray
) -> pd.DataFrame:
    if strategy == "trunk-based":
        rng = np.random.default_rng([seed, 1])
        parts = np.maximum(1, np.ceil(work.size / team.batch_hours - 1e-9)).astype(np.int64)
        change = np.repeat(np.arange(work.size.size), parts)
        first = np.cumsum(parts) - parts
        part = np.arange(change.size) - first[change]  # 0-based slice number
        size = work.size[change] / parts[change]  # equal slices, each ≤ batch_hours
        created = work.created[change] + part * size
        developer = work.developer[change]
        n = change.size
        review = rng.exponential(1.0, n) * team.sync_review_hours
        fix = rng.exponential(1.0, n) * team.conflict_fix_hours
        draw = rng.random(n)
        unit_of_pair, file_of_pair, touched = _files(rng, team, size)
        parts_of = parts[change]
    else:
        change = np.arange(work.size.size)
        part = np.zeros(change.size, dtype=np.int64)
        parts_of = np.ones(change.size, dtype=np.int64)
        size, created, developer = work.size, work.created, work.developer
        review, fix, draw = work.review, work.fix, work.draw
        unit_of_pair, file_of_pair = work.unit_of_pair, work.file_of_pair

    ready = created + size
    attempt = ready + review
    overlaps = _overlaps(team, developer, created, attempt, unit_of_pair, file_of_pair)
    age_days = (attempt - created) / HOURS_PER_DAY
    hazard = team.conflict_per_overlap * overlaps + team.conflict_per_day * age_days
    conflict = draw < -np.expm1(-hazard)
    merged = attempt + np.where(conflict, fix, 0.0)

    if strategy == "gitflow":
        cadence = team.release_every_days * HOURS_PER_DAY
        cut = np.maximum(np.ceil(merged / cadence), 1.0) * cadence
        in_main = cut + team.hardening_days * HOURS_PER_DAY
    else:
        in_main = merged
    deployed = _pipeline(in_main, team.pipeline_hours)

    def days(hours: np.ndarray) -> np.ndarray:
        return hours / HOURS_PER_DAY

    frame = pd.DataFrame(
        {
            "strategy": pd.Series([strategy] * change.size, dtype="str"),
            "change": change,
            "part": part + 1,
            "parts": parts_of,
            "developer": developer,
            "size_hours": size,
            "files_touched": touched,
            "created_day": days(created),
            "ready_day": days(ready),
            "merged_day": days(merged),
            "in_main_day": days(in_main),
            "deployed_day": days(deployed),
            "branch_age_days": days(merged - created),
            "overlaps": overlaps.astype(np.int64),
            "conflict": conflict,
            "integration_delay_days": days(in_main - ready),
            "lead_time_days": days(deployed - (created + size / 2)),
        },
        columns=list(COLUMNS),
    )
    return frame.sort_values(["merged_day", "change", "part"], ignore_index=True)


def _pipeline(in_main: np.ndarray, hours: float) -> np.ndarray:
    """When each change runs in production: the pipeline runs back to back, ``hours`` a run.

    Runs start every ``hours``; a change merged to ``main`` rides the next run to start and is
    deployed when that run ends (CodePipeline's default *superseded* mode batches the changes
    that arrive while a run is busy). A pipeline of 0 hours deploys at once.
    """
    if hours <= 0:
        return in_main.copy()
    return (np.ceil(in_main / hours - 1e-9) + 1.0) * hours


def _check_seed(seed: Any) -> int:
    if not isinstance(seed, numbers.Integral) or isinstance(seed, bool) or seed < 0:
        raise InputError(
            f"seed must be a whole number of 0 or more, not {seed!r}.",
            where="seed",
            hint="The same seed gives the same simulation: seed=7.",
        )
    return int(seed)


def simulate(strategy: str, team: Team | None = None, *, seed: int) -> pd.DataFrame:
    """Simulate ``team`` working under ``strategy``; return one row per merge.

    Deterministic: the same strategy, team and seed give the same frame. With one seed, every
    strategy gets the same changes (sizes, start times, files, reviews), so that differences
    between strategies come from the strategy alone. The model is described in this module's
    docstring.

    Args:
        strategy: ``"trunk-based"``, ``"github-flow"`` or ``"gitflow"``.
        team: The team; default ``Team()``.
        seed: Seed of the random numbers.

    Returns:
        The columns of :data:`COLUMNS`: ``change`` numbers the piece of work and ``part``/
        ``parts`` its slices (trunk-based splits a change into slices of at most
        ``batch_hours``; the others merge it whole); times ``*_day`` are working days since
        the start; ``conflict`` says whether the merge conflicted.

    Raises:
        InputError: An unknown strategy, a team that is not a :class:`Team`, a bad seed.
    """
    name = strategy_name(strategy)
    team = _check_team(team if team is not None else Team())
    seed = _check_seed(seed)
    work, touched = _team_work(team, seed)
    return _simulate(name, team, seed, work, touched)


def simulate_all(team: Team | None = None, *, seed: int) -> pd.DataFrame:
    """Run :func:`simulate` for every strategy on the same work; return the frames stacked."""
    team = _check_team(team if team is not None else Team())
    seed = _check_seed(seed)
    work, touched = _team_work(team, seed)
    return pd.concat(
        [_simulate(name, team, seed, work, touched) for name in STRATEGIES], ignore_index=True
    )


_NEEDED = ("strategy", "branch_age_days", "conflict", "integration_delay_days", "lead_time_days")


def _check_frame(frame: Any, columns: Sequence[str], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{what} needs a DataFrame from simulate() or simulate_all(), "
            f"not {type(frame).__name__}.",
            where="frame",
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"the frame has no column {', '.join(map(repr, missing))}.",
            where=f"{what}(frame)",
            hint="Pass the frame simulate() or simulate_all() returned.",
        )
    return frame


def compare(team: Team | None = None, *, seed: int) -> pd.DataFrame:
    """Simulate every strategy on the same work and return one row of measures per strategy.

    Returns:
        Indexed by strategy (in :data:`STRATEGIES` order), with columns ``merges``,
        ``median_branch_age_days``, ``conflict_rate`` (share of merges that conflicted),
        ``median_integration_delay_days``, ``median_lead_time_days``, ``p90_lead_time_days``
        and ``deploys_per_day`` (distinct production deployments within the simulated days,
        per day).
    """
    team = _check_team(team if team is not None else Team())
    frame = simulate_all(team, seed=seed)
    return summarize(frame, days=team.days)


def summarize(frame: pd.DataFrame, *, days: float | None = None) -> pd.DataFrame:
    """Reduce a frame of merges (one or several strategies) to :func:`compare`'s measures.

    Args:
        frame: From :func:`simulate` or :func:`simulate_all`.
        days: Working days simulated, for ``deploys_per_day``; default the span of the frame's
            ``created_day``, rounded up.
    """
    frame = _check_frame(frame, (*_NEEDED, "deployed_day", "created_day"), "summarize")
    span = days if days is not None else max(1.0, math.ceil(frame["created_day"].max()))
    grouped = frame.groupby("strategy", sort=False)
    table = pd.DataFrame(
        {
            "merges": grouped.size(),
            "median_branch_age_days": grouped["branch_age_days"].median(),
            "conflict_rate": grouped["conflict"].mean(),
            "median_integration_delay_days": grouped["integration_delay_days"].median(),
            "median_lead_time_days": grouped["lead_time_days"].median(),
            "p90_lead_time_days": grouped["lead_time_days"].quantile(0.9),
            "deploys_per_day": frame[frame["deployed_day"] <= span]
            .groupby("strategy", sort=False)["deployed_day"]
            .nunique()
            / span,
        }
    )
    table["deploys_per_day"] = table["deploys_per_day"].fillna(0.0)  # none deployed in time
    order = [s for s in STRATEGIES if s in table.index]
    table = table.loc[order + [s for s in table.index if s not in order]]
    table.index.name = "strategy"
    return table


def conflict_rate_by_age(frame: pd.DataFrame, bins: Sequence[float] = AGE_BINS_DAYS) -> pd.Series:
    """Return the share of merges that conflicted, per branch-age bucket.

    Args:
        frame: From :func:`simulate` (one strategy) or :func:`simulate_all` (pooled).
        bins: Bucket edges in days, left-closed: ``[0, 0.5)``, ``[0.5, 1)``, …

    Returns:
        Conflict rate per bucket, indexed by the buckets (``pd.cut`` intervals), in order; a
        bucket without merges is NaN.
    """
    frame = _check_frame(frame, ("branch_age_days", "conflict"), "conflict_rate_by_age")
    buckets = pd.cut(frame["branch_age_days"], list(bins), right=False)
    rates = frame["conflict"].astype(float).groupby(buckets, observed=False).mean()
    rates.index.name = "branch_age_days"
    rates.name = "conflict_rate"
    return rates


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _figure(width: float = 7.5, height: float = 4.0) -> tuple[Figure, Any]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    return fig, ax


def _strategies(frame: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(frame["strategy"]))
    return [s for s in STRATEGIES if s in present] + [s for s in present if s not in STRATEGIES]


def plot_branch_age(frame: pd.DataFrame, *, max_days: float = 6.0) -> Figure:
    """Plot the distribution of branch age per strategy: share of merges per quarter-day.

    Ages above ``max_days`` are gathered in the last bin.
    """
    frame = _check_frame(frame, ("strategy", "branch_age_days"), "plot_branch_age")
    fig, ax = _figure()
    edges = np.arange(0.0, max_days + 0.25, 0.25)
    for name in _strategies(frame):
        ages = frame.loc[frame["strategy"] == name, "branch_age_days"].clip(upper=max_days - 1e-9)
        weights = np.full(ages.size, 1.0 / max(ages.size, 1))
        style = {k: v for k, v in _STYLES.get(name, {}).items() if not k.startswith("marker")}
        ax.hist(
            ages,
            bins=edges,
            weights=weights,
            histtype="step",
            label=name,
            color=_COLORS.get(name),
            **style,
        )
    ax.set_title("How long branches live before they merge")
    ax.set_xlabel(f"branch age (working days; the last bin holds ≥ {max_days - 0.25:g})")
    ax.set_ylabel("share of merges")
    ax.legend(title="strategy")
    fig.tight_layout()
    return fig


def plot_conflicts_by_age(
    frame: pd.DataFrame, bins: Sequence[float] = AGE_BINS_DAYS, *, min_merges: int = 20
) -> Figure:
    """Plot the conflict rate per branch-age bucket, one line per strategy.

    A bucket holding fewer than ``min_merges`` of a strategy's merges is left out of its line:
    a rate over a handful of merges says nothing.
    """
    frame = _check_frame(frame, ("strategy", "branch_age_days", "conflict"), "plot")
    fig, ax = _figure()
    labels = [_bucket_label(a, b) for a, b in itertools.pairwise(bins)]
    x = np.arange(len(labels))
    for name in _strategies(frame):
        mine = frame[frame["strategy"] == name]
        rates = conflict_rate_by_age(mine, bins).to_numpy()
        counts = pd.cut(mine["branch_age_days"], list(bins), right=False).value_counts(sort=False)
        rates = np.where(counts.to_numpy() >= min_merges, rates, np.nan)
        ax.plot(x, rates * 100, label=name, color=_COLORS.get(name), **_STYLES.get(name, {}))
    ax.set_xticks(x, labels)
    ax.set_title("Merge conflicts grow with branch age")
    ax.set_xlabel("branch age (working days)")
    ax.set_ylabel("merges that conflicted (%)")
    ax.set_ylim(bottom=0)
    ax.legend(title="strategy")
    fig.tight_layout()
    return fig


def plot_lead_time(frame: pd.DataFrame) -> Figure:
    """Plot change lead time per strategy: box (quartiles, median) and whiskers (p5–p95)."""
    frame = _check_frame(frame, ("strategy", "lead_time_days"), "plot_lead_time")
    fig, ax = _figure()
    names = _strategies(frame)
    data = [frame.loc[frame["strategy"] == n, "lead_time_days"].to_numpy() for n in names]
    boxes = ax.boxplot(
        data,
        whis=(5, 95),
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "black", "linewidth": 1.5},
    )
    for patch, name in zip(boxes["boxes"], names, strict=True):
        patch.set_facecolor(_COLORS.get(name, "#999999"))
        patch.set_alpha(0.6)
    ax.set_xticks(np.arange(1, len(names) + 1), names)
    ax.set_title("Change lead time: commit to running in production")
    ax.set_xlabel("strategy")
    ax.set_ylabel("lead time (working days)")
    fig.tight_layout()
    return fig


def _bucket_label(low: float, high: float) -> str:
    return f"≥ {low:g}" if math.isinf(high) else f"{low:g}–{high:g}"
