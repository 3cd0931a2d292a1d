"""*Check your work* for the capstone: a strategy per service, and the price of blue/green.

Each check prints ``✔`` lines when the answer is right and otherwise raises
:class:`labs.errors.CheckFailed` with what was expected, what was found and a hint — also when
the exercise has not been answered yet (its variable still ``None``). Choices are judged by what
they do: the check ships every bad release with each chosen strategy on the deployment engine
(dry runs) and measures the blast radius, as :mod:`labs.practices.capstone` defines it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from labs.checks import answered, exercise, passed
from labs.errors import CheckFailed, InputError
from labs.practices import capstone
from labs.practices.capstone import GOOD_RELEASE, PROFILES, ServiceProfile

__all__ = ["choices_within_bounds", "extra_capacity_cost"]


def _over(row: Mapping[str, Any], runs: Any) -> str:
    """How a candidate's worst release hurt: bad requests split into failed and slow."""
    worst = runs[runs["release"] == row["worst_release"]].iloc[0]
    if math.isinf(row["worst_bad_requests"]):
        return (
            f"{row['worst_release']} escaped: no alarm stopped it before it reached the traffic, "
            f"and it was still serving when the run ended ({worst['bad_requests']:,} bad "
            "requests by then, and counting)"
        )
    return (
        f"{row['worst_bad_requests']:,.0f} bad requests on {row['worst_release']} "
        f"({worst['failed_requests']:,} failed + {worst['slow_requests']:,} too slow)"
    )


@exercise("14", 2)
def choices_within_bounds(
    answer: Any,
    profiles: Mapping[str, ServiceProfile] = PROFILES,
    *,
    seed: int = 0,
) -> None:
    """Check a strategy per service: every bad release stays within that service's bound.

    ``answer`` maps each service to a strategy spec (a name from ``capstone.CANDIDATES``, a
    CodeDeploy configuration name, ``"ECS rolling <min>/<max>"`` or a strategy object). Each
    choice ships ``v2`` and every bad release (``v2-bad``, ``v2-crash``, ``v2-slow``) on the
    engine with the service's traffic and alarms; its worst-case blast radius must be at most the
    service's bound, and the good release must still reach 100%. The capacity floor is the
    learner's to weigh: a choice below it passes, with a note.
    """
    what = "your strategy per service"
    chosen = answered(
        answer, what, hint='Set choices = {"catalog": ..., "orders": ..., "payments": ...}.'
    )
    if not isinstance(chosen, Mapping):
        raise CheckFailed(
            what,
            expected="a dict: service name -> strategy spec",
            found=type(chosen).__name__,
            hint='e.g. {"catalog": "ECS rolling 100/200", "orders": "ECSAllAtOnce", ...}',
        )
    unknown = [s for s in chosen if s not in profiles]
    missing = [s for s in profiles if s not in chosen]
    if unknown or missing:
        raise CheckFailed(
            f"{what}: one choice for each service",
            expected=f"the keys {list(profiles)}",
            found=f"the keys {list(chosen)}"
            + (f" (unknown: {unknown})" if unknown else "")
            + (f" (missing: {missing})" if missing else ""),
            hint="Service names are lower case, as in capstone.PROFILES.",
        )
    lines, failures = [], []
    for service, profile in profiles.items():
        spec = chosen[service]
        try:
            capstone.strategy_for(spec, profile)  # an unknown spec fails here, with a hint
            name = capstone.candidate_name(spec)
            frame = capstone.evaluate(profile, {name: spec}, seed=seed)
        except InputError as exc:
            raise CheckFailed(
                f"{service}: {exc.what}", hint=exc.hint or "Use a name from capstone.CANDIDATES."
            ) from None
        row = capstone.summarize(frame, profile).iloc[0]
        if not row["delivers"]:
            good = frame[frame["release"] == GOOD_RELEASE].iloc[0]
            raise CheckFailed(
                f"{service}: {name} does not deliver the good release {GOOD_RELEASE}",
                expected=f"{GOOD_RELEASE} at 100% of the traffic, Succeeded",
                found=f"{good['status']}",
                hint="A strategy that takes every instance out at once is an outage even for a "
                "good release: the alarm rolls it back.",
            )
        if not row["within_bound"]:
            failures.append((service, name, row, frame))
            continue
        note = ""
        if not row["above_floor"]:
            note = (
                f" (note: capacity dips to {row['min_capacity_pct']:.0f}%, below the team's "
                f"{profile.min_capacity_pct:.0f}% floor)"
            )
        lines.append(
            f"{service}: {name} — worst case {row['worst_bad_requests']:,.0f} bad requests "
            f"({row['worst_release']}), within the bound of {profile.bound:,}; {GOOD_RELEASE} at "
            f"100% after {row['time_to_100_min']:g} min{note}"
        )
    if failures:
        service, name, row, frame = failures[0]
        others = [
            f"{s} ({r['worst_release']} escaped)"
            if math.isinf(r["worst_bad_requests"])
            else f"{s} ({r['worst_bad_requests']:,.0f} > {profiles[s].bound:,})"
            for s, _, r, _ in failures[1:]
        ]
        hint = (
            "Expose fewer requests while the alarms detect: a smaller first traffic step "
            "(canary, linear) that lasts longer than the alarms need to fire. "
            f"capstone.summarize(capstone.evaluate(PROFILES[{service!r}]), PROFILES[{service!r}]) "
            "compares every candidate."
        )
        if others:
            hint = f"Also over the bound: {'; '.join(others)}. " + hint
        raise CheckFailed(
            f"{service}: the blast radius of {name} is over the bound",
            expected=f"at most {profiles[service].bound:,} bad requests (the bound of {service})",
            found=_over(row, frame),
            hint=hint,
        )
    for line in lines:
        passed(line)


@exercise("14", 1)
def extra_capacity_cost(
    answer: Any, result: Any, profile: ServiceProfile, *, rel: float = 0.01
) -> None:
    """Check the extra capacity cost (USD) of one deployment, computed from its timeline.

    The expected value is :func:`labs.practices.capstone.extra_capacity`: every minute from the
    deployment's start counts ``max(capacity_pct - 100, 0) / 100 x tasks`` task-minutes, priced
    at ``profile.task_hour_usd`` per task-hour.
    """
    what = f"the extra capacity cost of this {profile.service} deployment"
    value = answered(answer, what, hint="Set extra_cost to a number of US dollars.")
    try:
        found = float(value)
    except (TypeError, ValueError):
        raise CheckFailed(
            what, expected="a number of US dollars", found=f"{value!r} ({type(value).__name__})"
        ) from None
    expected = capstone.extra_capacity(result, profile)
    cost, hours = expected["extra_cost_usd"], expected["extra_task_hours"]
    if math.isclose(found, cost, rel_tol=rel, abs_tol=1e-9):
        passed(
            f"{what}: ${found:.4f} ({hours:.2f} extra task-hours at "
            f"${profile.task_hour_usd:g}/task-hour)"
        )
        return
    hint = (
        "Sum max(capacity_pct - 100, 0) / 100 x tasks over the timeline's minutes from 0 on "
        "(task-minutes), divide by 60 (task-hours) and multiply by the price of a task-hour."
    )
    if math.isclose(found, hours, rel_tol=rel):
        hint = "That is the task-hours: multiply them by profile.task_hour_usd."
    elif math.isclose(found, cost * 60, rel_tol=rel):
        hint = "That counts task-minutes as task-hours: divide by 60."
    elif math.isclose(found, cost / profile.tasks, rel_tol=rel):
        hint = "capacity_pct is a share of the desired count: multiply by profile.tasks."
    raise CheckFailed(what, expected=f"${cost:.4f} (±{rel:.0%})", found=f"${found:.4f}", hint=hint)
