"""*Check your work* for the orchestration lab (ECS, EKS, App Runner).

Each check judges an answer by what it does — a task definition by ECS's Fargate rules, a
scaling policy by a simulated day, a rolling update by the pods it keeps available — and prints
one ``✔`` line (:func:`labs.checks.passed`) or raises :class:`labs.errors.CheckFailed` with what
was expected, what was found and a hint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labs.checks import answered, exercise, passed
from labs.containers import ecs, eks, scaling
from labs.errors import CheckFailed, InputError

__all__ = [
    "BROKEN_TASK_DEFINITION",
    "P99_BOUND_MS",
    "ROLLOUT_REPLICAS",
    "daily_budget_usd",
    "full_capacity_rollout",
    "policy_holds_p99",
    "task_definition_fixed",
]

BROKEN_TASK_DEFINITION: dict[str, Any] = {
    "family": "labs-bookstore-orders",
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "bridge",
    "cpu": "0.5 vCPU",
    "memory": "512",
    "containerDefinitions": [
        {
            "name": "orders",
            "image": "bookstore:v1",
            "essential": True,
            "memory": 1024,
            "portMappings": [{"containerPort": 8080, "hostPort": 80}],
            "environment": [{"name": "BOOKSTORE_VERSION", "value": "v1"}],
        }
    ],
}
"""A task definition with four mistakes for Fargate (network mode, task size, the container's
memory, the host port)."""

P99_BOUND_MS = 1000.0
"""Exercise 2: p99 must stay at or under this in every minute of the simulated day."""
DAILY_BUDGET_USD = 4.50
"""Exercise 2: what a day of the orders service may cost on Fargate at most."""
ROLLOUT_REPLICAS = 4
"""Exercise 3: replicas of the orders Deployment."""
ROLLOUT_MINUTES = 3
"""Exercise 3: the rollout must be complete by this minute."""
ROLLOUT_MAX_PODS = 6
"""Exercise 3: never more pods than this (150% of the replicas)."""


def daily_budget_usd() -> float:
    """Return Exercise 2's budget (USD per day)."""
    return DAILY_BUDGET_USD


def _said(exc: InputError) -> str:
    return f"{exc.where}: {exc.what}" if exc.where else exc.what


@exercise("09", 1)
def task_definition_fixed(answer: Any, original: Mapping[str, Any] | None = None) -> None:
    """Pass when the task definition is valid for Fargate and still runs the same container.

    It must keep the family, the container's name, image and port 8080, keep 0.5 vCPU, and use
    the smallest memory Fargate allows with 0.5 vCPU.
    """
    original = BROKEN_TASK_DEFINITION if original is None else original
    definition = answered(answer, "Your fixed task definition")
    if not isinstance(definition, Mapping):
        raise CheckFailed(
            "a task definition is a dict, as register_task_definition takes it.",
            found=type(definition).__name__,
        )
    try:
        checked = ecs.validate_task_definition(definition)
    except InputError as exc:
        raise CheckFailed(
            "ECS would refuse this task definition.", found=_said(exc), hint=exc.hint
        ) from None
    want = original["containerDefinitions"][0]
    got = checked["containerDefinitions"][0]
    if checked["family"] != original["family"] or got.get("name") != want["name"]:
        raise CheckFailed(
            "the family or the container's name changed.",
            expected=f"family {original['family']}, container {want['name']}",
            found=f"family {checked['family']}, container {got.get('name')}",
        )
    if got.get("image") != want["image"]:
        raise CheckFailed(
            "the container runs another image.", expected=want["image"], found=got.get("image")
        )
    ports = [m.get("containerPort") for m in got.get("portMappings") or []]
    if 8080 not in ports:
        raise CheckFailed(
            "the container no longer maps port 8080 (the ALB's target group sends traffic there).",
            found=ports or "no port mappings",
        )
    cpu = ecs.parse_cpu(original["cpu"])
    if int(checked["cpu"]) != cpu:
        raise CheckFailed(
            "the task's CPU changed.",
            expected=f"{cpu} CPU units ({cpu / 1024:g} vCPU)",
            found=f"{checked['cpu']} CPU units",
            hint="Keep the CPU; fix the memory instead.",
        )
    smallest = ecs.fargate_memory_values(cpu)[0]
    if int(checked["memory"]) != smallest:
        raise CheckFailed(
            "the task's memory is valid but not the smallest Fargate allows with this CPU.",
            expected=f"{smallest} MiB",
            found=f"{checked['memory']} MiB",
            hint="ecs.fargate_memory_values(cpu) lists what Fargate accepts, smallest first.",
        )
    passed(
        f"the task definition is valid for Fargate: {checked['cpu']} CPU units with "
        f"{checked['memory']} MiB, network mode {checked['networkMode']}, container "
        f"{got['name']} on port 8080"
    )


@exercise("09", 2)
def policy_holds_p99(
    answer: Any,
    *,
    bound_ms: float = P99_BOUND_MS,
    budget_usd: float = DAILY_BUDGET_USD,
    load: Any = None,
) -> scaling.ScalingResult:
    """Pass when the policy keeps p99 ≤ ``bound_ms`` every minute of the day within the budget.

    The day is :func:`labs.containers.scaling.daily_load` (seeded) unless ``load`` is given; the
    service is the default :class:`~labs.containers.scaling.Workload`.

    Returns:
        The simulation, for a plot.
    """
    policy = answered(answer, "Your scaling policy")
    if not isinstance(policy, scaling.TargetTracking):
        raise CheckFailed(
            "the answer is not a scaling.TargetTracking policy.",
            found=type(policy).__name__,
            hint="e.g. scaling.TargetTracking(target_value=..., min_capacity=..., ...)",
        )
    day = scaling.daily_load() if load is None else load
    result = scaling.simulate(policy, day)
    t = result.timeline
    summary = result.summary(bound_ms)
    over = t[t["p99_ms"] > bound_ms]
    if len(over):
        worst = t.loc[t["p99_ms"].idxmax()]
        raise CheckFailed(
            f"p99 goes above {bound_ms:g} ms in {len(over)} minute(s) of the day.",
            expected=f"p99 ≤ {bound_ms:g} ms in every minute",
            found=f"p99 {worst['p99_ms']:.0f} ms at {worst['time']} with {worst['running']} "
            f"tasks serving (first at {over.iloc[0]['time']})",
            hint="Capacity arrives minutes after a jump in load: keep more headroom (a lower "
            "target) so the tasks already running absorb it.",
        )
    cost = summary["cost (USD/day)"]
    if cost > budget_usd:
        raise CheckFailed(
            "p99 holds, but the day costs more than the budget.",
            expected=f"at most ${budget_usd:.2f} per day",
            found=f"${cost:.2f} per day ({summary['task-hours']} task-hours)",
            hint="Less headroom (a higher target), or fewer tasks at night (min_capacity).",
        )
    passed(
        f"{policy.label}: p99 at most {summary['p99 max (ms)']} ms all day (bound "
        f"{bound_ms:g} ms) for ${cost:.2f} per day (budget ${budget_usd:.2f})"
    )
    return result


@exercise("09", 3)
def full_capacity_rollout(
    answer: Any,
    *,
    replicas: int = ROLLOUT_REPLICAS,
    minutes: int = ROLLOUT_MINUTES,
    max_pods: int = ROLLOUT_MAX_PODS,
) -> None:
    """Pass when ``{"maxSurge": …, "maxUnavailable": …}`` keeps every replica available.

    The rolling update of ``replicas`` pods must never have fewer than ``replicas`` available,
    must be complete by ``minutes``, and must never run more than ``max_pods`` pods.
    """
    settings = answered(answer, "Your rolling update settings")
    if not isinstance(settings, Mapping) or set(settings) != {"maxSurge", "maxUnavailable"}:
        raise CheckFailed(
            "the answer is a dict with exactly maxSurge and maxUnavailable.",
            found=settings,
            hint='e.g. {"maxSurge": "25%", "maxUnavailable": "25%"}',
        )
    try:
        frame = eks.rolling_update(replicas, settings["maxSurge"], settings["maxUnavailable"])
    except InputError as exc:
        raise CheckFailed(
            "Kubernetes would refuse these settings.", found=_said(exc), hint=exc.hint
        ) from None
    low = int(frame["available"].min())
    if low < replicas:
        dip = frame.loc[frame["available"].idxmin()]
        raise CheckFailed(
            "the rollout takes pods out of service.",
            expected=f"{replicas} pods available at every minute",
            found=f"{low} available at minute {int(dip['minute'])}",
            hint="maxUnavailable is how many pods may be missing: what must it be?",
        )
    done = int(frame["minute"].iloc[-1])
    if done > minutes:
        raise CheckFailed(
            "full capacity holds, but the rollout is too slow.",
            expected=f"complete by minute {minutes}",
            found=f"complete at minute {done}",
            hint="maxSurge is how many new pods may start at once.",
        )
    most = int(frame["total"].max())
    if most > max_pods:
        raise CheckFailed(
            "the rollout runs more pods than the cluster has room for.",
            expected=f"at most {max_pods} pods at any time",
            found=f"{most} pods",
            hint="Lower maxSurge.",
        )
    passed(
        f"maxSurge {settings['maxSurge']}, maxUnavailable {settings['maxUnavailable']}: "
        f"{replicas} pods available throughout, at most {most} pods, complete at minute {done}"
    )
