"""A seeded model of a team's delivery history, to see how batch size moves the DORA metrics.

The model (every random draw comes from ``numpy.random.default_rng(seed)``, so a seed always
gives the same history):

1. **Commits.** Each day the team lands ``Poisson(commits_per_day)`` commits at uniformly random
   times of the day (whole seconds, UTC).
2. **Batches.** Commits are deployed in batches of ``batch_size`` consecutive commits: a batch
   starts its pipeline when its last commit lands and reaches production after an exponential
   pipeline time (mean ``pipeline_hours``), never before the previous deployment. Commits of an
   unfinished last batch, and batches that would ship after the ``days`` horizon, stay
   undeployed.
3. **Failures.** Each change breaks production independently with probability
   ``change_failure_probability``, so a deployment of *b* changes fails with probability
   ``1 − (1 − p)^b`` — bigger batches fail more often.
4. **Incidents.** Every failed deployment opens an incident after an exponential detection
   delay (mean 10 minutes). Restoring service takes a log-normal time (σ = 0.5) whose median is
   ``diagnosis_hours_per_change × b``: the more changes shipped together, the longer it takes
   to find the one that broke.
5. **Recovery.** With probability ``hotfix_share`` the team rolls forward: a fix commit lands
   part-way through the incident and a *hotfix deployment* (``fixes_incident_id`` set, one
   change, never failing) resolves it. Otherwise the failed deployment is rolled back
   (``rolled_back=True``) when the incident is resolved; its changes are not shipped again
   (a simplification: they already count as deployed). A fix for an incident near the end may
   land just after the horizon.

Small batches therefore give shorter lead times (a commit waits for fewer others), a lower
change fail rate and faster recovery — DORA's finding that "working in small batches" improves
both throughput and stability (https://dora.dev/capabilities/working-in-small-batches/).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from labs.dora.calculate import TimeLike
from labs.errors import InputError

__all__ = ["simulate_history"]

_S = 10**9  # nanoseconds per second
_HOUR_S = 3_600
_DETECTION_MEAN_S = 600.0


def _check(ok: bool, name: str, value: object, need: str) -> None:
    if not ok:
        raise InputError(
            f"{name}={value!r} is out of range: it must be {need}.",
            where=f"argument {name!r}",
            hint=f"Pass {name} {need}.",
        )


def simulate_history(
    *,
    days: int = 90,
    seed: int = 0,
    batch_size: int = 5,
    commits_per_day: float = 8.0,
    change_failure_probability: float = 0.03,
    pipeline_hours: float = 1.0,
    diagnosis_hours_per_change: float = 0.5,
    hotfix_share: float = 0.5,
    start: TimeLike = "2024-01-01T00:00:00Z",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate a team's commits, deployments and incidents (the model is in the module docstring).

    Args:
        days: Length of the history in days.
        seed: Seed of the random generator; the same seed gives the same history.
        batch_size: Commits shipped per deployment.
        commits_per_day: Mean commits per day (Poisson).
        change_failure_probability: Chance that one change breaks production.
        pipeline_hours: Mean time from a batch's last commit to production (exponential).
        diagnosis_hours_per_change: Median restore time per change in the failed deployment.
        hotfix_share: Share of incidents fixed by a hotfix deployment instead of a rollback.
        start: The first day (tz-aware datetime or ISO string with offset).

    Returns:
        ``(changes, deployments, incidents)`` in the shape :func:`labs.dora.metrics` takes,
        each sorted by time, timestamps ``datetime64[ns, UTC]``. Ids are ``c00001`` (commits),
        ``fix-0001`` (hotfix commits), ``d0001`` (deployments) and ``i0001`` (incidents).

    Raises:
        InputError: naming the argument that is out of range.

    Example:
        >>> small = metrics(*simulate_history(batch_size=1, seed=7))  # doctest: +SKIP
        >>> large = metrics(*simulate_history(batch_size=20, seed=7))  # doctest: +SKIP
    """
    _check(isinstance(days, int) and days >= 1, "days", days, "a whole number ≥ 1")
    _check(
        isinstance(batch_size, int) and batch_size >= 1,
        "batch_size",
        batch_size,
        "a whole number ≥ 1",
    )
    _check(commits_per_day > 0, "commits_per_day", commits_per_day, "> 0")
    _check(
        0 <= change_failure_probability <= 1,
        "change_failure_probability",
        change_failure_probability,
        "between 0 and 1",
    )
    _check(pipeline_hours >= 0, "pipeline_hours", pipeline_hours, "≥ 0")
    _check(
        diagnosis_hours_per_change > 0,
        "diagnosis_hours_per_change",
        diagnosis_hours_per_change,
        "> 0",
    )
    _check(0 <= hotfix_share <= 1, "hotfix_share", hotfix_share, "between 0 and 1")
    origin = pd.Timestamp(start)
    if origin.tzinfo is None:
        raise InputError(
            f"start={start!r} has no timezone.",
            where="argument 'start'",
            hint="Write it like '2024-01-01T00:00:00Z'.",
        )
    t0 = int(origin.tz_convert("UTC").as_unit("ns").value) // _S  # seconds since the epoch
    horizon = t0 + days * 24 * _HOUR_S
    rng = np.random.default_rng(seed)

    # 1. Commits: Poisson per day, uniform within the day, whole seconds.
    per_day = rng.poisson(commits_per_day, size=days)
    day_of = np.repeat(np.arange(days, dtype=np.int64), per_day)
    commit_s = np.sort(t0 + day_of * 86_400 + rng.integers(0, 86_400, size=day_of.size))
    n_commits = commit_s.size

    # 2. Batches of consecutive commits; sequential deployments.
    n_batches = n_commits // batch_size
    last_commit = commit_s[batch_size - 1 :: batch_size][:n_batches]
    pipeline = np.round(rng.exponential(pipeline_hours * _HOUR_S, size=n_batches)).astype(np.int64)
    deploy_s = np.maximum.accumulate(last_commit + pipeline) if n_batches else last_commit
    keep = deploy_s <= horizon
    n_deploys = int(keep.sum())  # deploy_s is sorted, so the kept ones come first
    deploy_s = deploy_s[:n_deploys]

    # 3. Failures: any of the b changes breaking fails the deployment.
    p_fail = 1.0 - (1.0 - change_failure_probability) ** batch_size
    failed = rng.random(n_deploys) < p_fail
    failed_at = np.flatnonzero(failed)

    # 4. Incidents: detection delay, then a restore time growing with the batch size.
    n_inc = failed_at.size
    detect = np.round(rng.exponential(_DETECTION_MEAN_S, size=n_inc)).astype(np.int64)
    median_restore_s = diagnosis_hours_per_change * batch_size * _HOUR_S
    restore = np.round(
        rng.lognormal(mean=math.log(median_restore_s), sigma=0.5, size=n_inc)
    ).astype(np.int64)
    created_s = deploy_s[failed_at] + detect
    resolved_s = created_s + np.maximum(restore, 1)

    # 5. Recovery: hotfix (roll forward) or rollback.
    hotfix = rng.random(n_inc) < hotfix_share
    fix_share_of_incident = rng.uniform(0.25, 0.75, size=n_inc)
    rolled_back = np.zeros(n_deploys, dtype=bool)
    rolled_back[failed_at[~hotfix]] = True
    fix_inc = np.flatnonzero(hotfix)  # incidents (by position) fixed by a hotfix
    fix_commit_s = created_s[fix_inc] + np.round(
        fix_share_of_incident[fix_inc] * (resolved_s[fix_inc] - created_s[fix_inc])
    ).astype(np.int64)
    fix_deploy_s = resolved_s[fix_inc]

    # Ids. Incidents in creation order; deployments (regular + hotfix) in time order.
    inc_order = np.argsort(created_s, kind="stable")
    inc_rank = np.empty(n_inc, dtype=np.int64)
    inc_rank[inc_order] = np.arange(n_inc)
    incident_ids = np.array([f"i{k + 1:04d}" for k in range(n_inc)], dtype=object)

    all_deploy_s = np.concatenate([deploy_s, fix_deploy_s])
    dep_order = np.argsort(all_deploy_s, kind="stable")
    dep_rank = np.empty(all_deploy_s.size, dtype=np.int64)
    dep_rank[dep_order] = np.arange(all_deploy_s.size)
    deploy_ids = np.array([f"d{k + 1:04d}" for k in range(all_deploy_s.size)], dtype=object)

    commit_ids = np.array([f"c{k + 1:05d}" for k in range(n_commits)], dtype=object)
    fix_ids = np.array([f"fix-{k + 1:04d}" for k in range(fix_inc.size)], dtype=object)
    shipped = commit_ids[: n_deploys * batch_size].reshape(n_deploys, batch_size).tolist()
    all_change_ids = shipped + [[fid] for fid in fix_ids]
    fixes = np.concatenate(
        [np.full(n_deploys, None, dtype=object), incident_ids[inc_rank[fix_inc]]]
    )

    def utc(seconds: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns"))

    changes = pd.DataFrame(
        {
            "change_id": pd.Series(np.concatenate([commit_ids, fix_ids]), dtype="str"),
            "committed_at": utc(np.concatenate([commit_s, fix_commit_s])),
        }
    )
    changes = changes.sort_values("committed_at", kind="stable", ignore_index=True)

    deployments = pd.DataFrame(
        {
            "deploy_id": pd.Series(deploy_ids[dep_rank], dtype="str"),
            "deployed_at": utc(all_deploy_s),
            "change_ids": pd.Series(all_change_ids, dtype=object),
            "rolled_back": np.concatenate([rolled_back, np.zeros(fix_inc.size, dtype=bool)]),
            "fixes_incident_id": pd.Series(fixes, dtype="str"),
        }
    )
    deployments = deployments.sort_values("deployed_at", kind="stable", ignore_index=True)

    incidents = pd.DataFrame(
        {
            "incident_id": pd.Series(incident_ids[inc_rank], dtype="str"),
            "created_at": utc(created_s),
            "resolved_at": utc(resolved_s),
            "caused_by_deploy_id": pd.Series(deploy_ids[dep_rank[failed_at]], dtype="str"),
        }
    )
    incidents = incidents.sort_values("created_at", kind="stable", ignore_index=True)
    return changes, deployments, incidents
