"""The capstone: choose a deployment strategy per bookstore service, with the evidence.

A case study on the deployment engine (:mod:`labs.deploy.engine`). Each bookstore service has a
:class:`ServiceProfile` stated as data — its traffic, users, tasks, an illustrative price of a
task-hour, the alarms watching it, its latency objective, and the **blast-radius bound**: the most
*bad requests* the team accepts when a bad release ships. Then:

1. :func:`grid` sizes the candidate strategies for a profile (:data:`CANDIDATES`): the predefined
   CodeDeploy ECS blue/green configurations (all at once, canary, linear), ECS rolling updates
   (``minimumHealthyPercent``/``maximumPercent`` variants, circuit breaker with rollback) and
   CodeDeploy in-place deployments (``OneAtATime``, ``HalfAtATime``, ``AllAtOnce``).
2. :func:`evaluate` runs every candidate with a good release (``v2``) and the bad ones
   (``v2-bad``, ``v2-crash``, ``v2-slow``) as dry runs (``ctx=None``: milliseconds each) and
   returns a tidy frame: one row per candidate and release (:data:`FRAME_COLUMNS`).
3. :func:`summarize` turns it into one row per candidate — time to 100% on the good release,
   worst-case blast radius over every release, worst rollback time, extra capacity cost, least
   capacity in service — and :func:`recommend` applies the documented rule (:data:`RULE`).
4. :func:`deploy` ships a pick for real on the emulator (CodeDeploy application, deployment group
   and deployments, the ALB listener's weights, the ECS service), with the profile's alarms
   created by :func:`ensure_alarms`.

**Bad requests.** A request is *bad* when it fails because of the release (its errors, or a 503
when no healthy target is left) or when it is slower than the service's latency objective because
of the release — the "good request / bad request" counting of a request-based service level
objective (CloudWatch Application Signals, "Service level objectives (SLOs)",
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-ServiceLevelObjectives.html).
Failed requests come from the engine (:func:`labs.deploy.metrics.figures`). Slow requests are
*estimated* from the timeline: requests the release answered (its share of the served traffic,
minute by minute, less the ones that failed) times the probability that the release's latency
model (the service's log-normal baseline plus the release's added latency) exceeds the objective,
less the baseline's own probability. A bad release that is still serving traffic when the run
ends — it reached 100% before any alarm fired, and CodeDeploy only watches alarms while it
deploys — has **escaped**: its blast radius has no bound, and counts as infinite.

**Extra capacity cost** is the task-minutes run above the desired count during the good
deployment (blue/green runs a full second task set until the original is terminated; a rolling
update with ``maximumPercent`` above 100 starts extra tasks) priced at the profile's
``task_hour_usd`` — an illustrative assumption, not an AWS price (Fargate bills vCPU and memory
per second: https://aws.amazon.com/fargate/pricing/).

Sources: CodeDeploy deployment configurations,
https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html; ECS
rolling updates, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html;
CloudWatch alarm evaluation,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from labs.bookstore.faults import LATENCY_BASELINES, SERVICES
from labs.deploy import configs, engine
from labs.deploy.releases import get as get_release
from labs.deploy.rolling import CircuitBreaker
from labs.deploy.strategies import EcsRolling, InPlace, Strategy, TrafficShift
from labs.errors import InputError
from labs.observability.alarms import Alarm

__all__ = [
    "BAD_RELEASES",
    "CANDIDATES",
    "FRAME_COLUMNS",
    "GOOD_RELEASE",
    "LAB",
    "PROFILES",
    "RELEASES",
    "RULE",
    "SUMMARY_COLUMNS",
    "Recommendation",
    "ServiceProfile",
    "candidate_name",
    "deploy",
    "ensure_alarms",
    "evaluate",
    "extra_capacity",
    "grid",
    "measure",
    "plot_tradeoffs",
    "profiles_frame",
    "recommend",
    "recommendation_table",
    "slow_requests",
    "strategy_for",
    "summarize",
]

LAB = "14"
"""The ``lab`` tag of what the capstone creates in the emulator."""
GOOD_RELEASE = "v2"
"""The release that should go all the way."""
BAD_RELEASES: tuple[str, ...] = ("v2-bad", "v2-crash", "v2-slow")
"""Releases that should not: errors and latency; a container that never starts; latency only."""
RELEASES: tuple[str, ...] = (GOOD_RELEASE, *BAD_RELEASES)
"""What :func:`evaluate` runs every candidate with, by default."""

CANDIDATES: tuple[str, ...] = (
    "ECSAllAtOnce",
    "ECSLinear10PercentEvery1Minutes",
    "ECSLinear10PercentEvery3Minutes",
    "ECSCanary10Percent5Minutes",
    "ECSCanary10Percent15Minutes",
    "ECS rolling 100/200",
    "ECS rolling 100/150",
    "ECS rolling 50/100",
    "OneAtATime",
    "HalfAtATime",
    "AllAtOnce",
)
"""The candidate grid: CodeDeploy ECS blue/green configurations, ECS rolling updates
(``minimumHealthyPercent/maximumPercent``), CodeDeploy in-place configurations."""

RULE = (
    "1. Keep the candidates that deliver a good release: v2 reaches 100% and succeeds.\n"
    "2. Keep those whose worst-case blast radius — the most bad requests over every release "
    "evaluated, infinite if a bad release escaped — is at most the service's bound.\n"
    "3. Keep those that never take capacity in service below the service's floor.\n"
    "4. Pick the fastest to 100% on the good release; break ties by the lower extra capacity "
    "cost, then the smaller blast radius, then the name.\n"
    "5. If no candidate is left, say so — no strategy meets the bound — instead of picking one."
)
"""The recommendation rule :func:`recommend` applies, in words."""

FRAME_COLUMNS = [
    "service", "candidate", "strategy", "family", "release", "status", "failed_requests",
    "slow_requests", "bad_requests", "escaped", "users_affected", "time_to_100_min",
    "time_to_detect_min", "time_to_rollback_min", "peak_extra_capacity_pct", "min_capacity_pct",
    "extra_task_hours", "extra_cost_usd", "duration_min",
]  # fmt: skip
"""Columns of :func:`evaluate`'s frame, one row per candidate and release."""

SUMMARY_COLUMNS = [
    "candidate", "strategy", "family", "time_to_100_min", "worst_bad_requests", "worst_release",
    "worst_users_affected", "worst_detect_min", "worst_rollback_min", "extra_cost_usd",
    "extra_task_hours", "min_capacity_pct", "delivers", "within_bound", "above_floor",
    "eligible", "verdict",
]  # fmt: skip
"""Columns of :func:`summarize`'s frame, one row per candidate, in the rule's order."""

_ROLLING = re.compile(r"^ECS rolling (\d+)/(\d+)$")
_PREFIX = "CodeDeployDefault."


# --------------------------------------------------------------------------------------------
# Service profiles
# --------------------------------------------------------------------------------------------


def _number(value: Any, name: str, *, low: float = 0.0, integer: bool = False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        what = "a whole number" if integer else "a number"
        raise InputError(f"{name} must be {what}, got {value!r}.", where=name)
    if value < low:
        raise InputError(f"{name} must be at least {low:g}, got {value!r}.", where=name)


@dataclass(frozen=True)
class ServiceProfile:
    """What a bookstore service is like, and what its team accepts: the capstone's input.

    Attributes:
        service: The bookstore service (``catalog``, ``orders`` or ``payments``).
        requests_per_second: Its traffic.
        users: Active users (to count those affected by failures).
        tasks: Tasks (or instances, for in-place) serving it: the desired count.
        task_hour_usd: What one task-hour costs, in USD — an illustrative assumption.
        bound: The blast-radius bound: the most bad requests (failed, or slower than
            ``latency_objective_ms``) acceptable when a bad release ships.
        min_capacity_pct: The capacity floor: tasks in service never below this share of the
            desired count during a deployment or a rollback.
        latency_objective_ms: A request slower than this is a bad request.
        error_alarm_pct: The error alarm's threshold: ``ErrorRate`` above this (%).
        latency_alarm_ms: The latency alarm's threshold: p99 ``Latency`` above this (ms).
        alarm_period_s: Both alarms' ``Period`` (seconds).
        alarm_evaluation_periods: Both alarms' ``EvaluationPeriods`` (N).
        alarm_datapoints: Both alarms' ``DatapointsToAlarm`` (M).
        background_error_rate: Failures whatever the version (0 to 1): the alarm must sit above.
        description: One line for people.
    """

    service: str
    requests_per_second: float
    users: int
    tasks: int
    task_hour_usd: float
    bound: int
    min_capacity_pct: float
    latency_objective_ms: float
    error_alarm_pct: float = 1.0
    latency_alarm_ms: float = 600.0
    alarm_period_s: int = 60
    alarm_evaluation_periods: int = 2
    alarm_datapoints: int = 2
    background_error_rate: float = 0.0
    description: str = ""

    def __post_init__(self) -> None:
        """Check every field, naming it, so a typo fails here and not deep in a simulation."""
        if self.service not in SERVICES:
            raise InputError(
                f"The bookstore has no service {self.service!r}.",
                where="service",
                hint=f"Use one of {', '.join(SERVICES)}.",
            )
        _number(self.requests_per_second, "requests_per_second", low=1e-9)
        _number(self.users, "users", low=1, integer=True)
        _number(self.tasks, "tasks", low=1, integer=True)
        _number(self.task_hour_usd, "task_hour_usd")
        _number(self.bound, "bound", integer=True)
        _number(self.min_capacity_pct, "min_capacity_pct")
        if self.min_capacity_pct > 100:
            raise InputError(
                f"min_capacity_pct is a share of the desired count, at most 100, got "
                f"{self.min_capacity_pct!r}.",
                where="min_capacity_pct",
            )
        _number(self.latency_objective_ms, "latency_objective_ms", low=1e-9)
        _number(self.background_error_rate, "background_error_rate")
        if self.background_error_rate > 1:
            raise InputError(
                f"background_error_rate is a fraction from 0 to 1, got "
                f"{self.background_error_rate!r}.",
                where="background_error_rate",
            )
        self.alarms()  # the alarm settings validate as PutMetricAlarm would

    def alarms(self) -> list[Alarm]:
        """The service's two CloudWatch alarms: error rate and p99 latency.

        Named ``labs-capstone-<service>-errors`` and ``-p99``, on the bookstore's metrics
        (namespace ``Bookstore``, dimension ``Service``), ``TreatMissingData=notBreaching``.
        """
        common = {
            "namespace": "Bookstore",
            "dimensions": (("Service", self.service),),
            "period": self.alarm_period_s,
            "evaluation_periods": self.alarm_evaluation_periods,
            "datapoints_to_alarm": self.alarm_datapoints,
            "comparison_operator": "GreaterThanThreshold",
            "treat_missing_data": "notBreaching",
        }
        window = f"{self.alarm_datapoints} of {self.alarm_evaluation_periods} x "
        window += f"{self.alarm_period_s} s"
        return [
            Alarm(
                alarm_name=f"labs-capstone-{self.service}-errors",
                alarm_description=f"{self.service}: ErrorRate above {self.error_alarm_pct:g}% "
                f"({window})",
                metric_name="ErrorRate",
                statistic="Average",
                threshold=float(self.error_alarm_pct),
                unit="Percent",
                **common,
            ),
            Alarm(
                alarm_name=f"labs-capstone-{self.service}-p99",
                alarm_description=f"{self.service}: p99 latency above {self.latency_alarm_ms:g} "
                f"ms ({window})",
                metric_name="Latency",
                extended_statistic="p99",
                threshold=float(self.latency_alarm_ms),
                **common,
            ),
        ]

    @property
    def alarm_names(self) -> list[str]:
        """The names of :meth:`alarms`."""
        return [a.alarm_name for a in self.alarms()]

    def with_(self, **changes: Any) -> ServiceProfile:
        """Return a copy with some fields changed (``profile.with_(bound=100)``)."""
        return replace(self, **changes)


PROFILES: Mapping[str, ServiceProfile] = MappingProxyType(
    {
        "catalog": ServiceProfile(
            service="catalog",
            requests_per_second=600.0,
            users=50_000,
            tasks=12,
            task_hour_usd=0.02,
            bound=150_000,
            min_capacity_pct=50.0,
            latency_objective_ms=500.0,
            latency_alarm_ms=250.0,
            description="browsing: most traffic, cheap small tasks; a failed page is retried, "
            "so the team accepts a short full exposure",
        ),
        "orders": ServiceProfile(
            service="orders",
            requests_per_second=200.0,
            users=20_000,
            tasks=6,
            task_hour_usd=0.05,
            bound=3_000,
            min_capacity_pct=100.0,
            latency_objective_ms=800.0,
            latency_alarm_ms=600.0,
            description="checkout: every bad request is a lost order; no capacity to spare",
        ),
        "payments": ServiceProfile(
            service="payments",
            requests_per_second=40.0,
            users=5_000,
            tasks=4,
            task_hour_usd=0.10,
            bound=1_800,
            min_capacity_pct=100.0,
            latency_objective_ms=800.0,
            latency_alarm_ms=500.0,
            alarm_period_s=300,
            background_error_rate=0.002,
            description="money: little traffic, big tasks; its alarms look at 5-minute periods "
            "(2 of 2), so they take longer to fire",
        ),
    }
)
"""The case study's three profiles, by service (read-only; change one with ``with_``)."""


def profiles_frame(profiles: Mapping[str, ServiceProfile] | Iterable[ServiceProfile] = PROFILES):
    """Return the profiles as a table, one row per service, for display."""
    items = profiles.values() if isinstance(profiles, Mapping) else profiles
    rows = []
    for p in items:
        rows.append(
            {
                "service": p.service,
                "requests/s": p.requests_per_second,
                "users": p.users,
                "tasks": p.tasks,
                "$/task-hour (illustrative)": p.task_hour_usd,
                "bound (bad requests)": p.bound,
                "capacity floor (%)": p.min_capacity_pct,
                "latency objective (ms)": p.latency_objective_ms,
                "alarms": f"errors > {p.error_alarm_pct:g}%, p99 > {p.latency_alarm_ms:g} ms; "
                f"{p.alarm_datapoints} of {p.alarm_evaluation_periods} x {p.alarm_period_s} s",
            }
        )
    return pd.DataFrame(rows).set_index("service")


def _profile(profile: Any) -> ServiceProfile:
    if isinstance(profile, ServiceProfile):
        return profile
    if isinstance(profile, str) and profile in PROFILES:
        return PROFILES[profile]
    raise InputError(
        f"Expected a ServiceProfile (or a service name), got {profile!r}.",
        where="profile",
        hint=f"Use capstone.PROFILES[name], name one of {', '.join(PROFILES)}.",
    )


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------


def _unknown(spec: Any) -> InputError:
    suggestions = []
    if isinstance(spec, str):
        suggestions = difflib.get_close_matches(spec.removeprefix(_PREFIX), CANDIDATES, n=2)
    closest = f" Did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return InputError(
        f"{spec!r} is not a strategy the capstone knows.{closest}",
        where="strategy spec",
        hint=f"Use a name from capstone.CANDIDATES ({', '.join(CANDIDATES)}), any predefined "
        "CodeDeploy configuration name, 'ECS rolling <min>/<max>', or a strategy object "
        "(TrafficShift, InPlace, EcsRolling).",
    )


def strategy_for(spec: str | Strategy, profile: ServiceProfile | str) -> Strategy:
    """Return the strategy a spec names, sized for the profile's tasks.

    Args:
        spec: A name from :data:`CANDIDATES`; any predefined CodeDeploy configuration, with or
            without the ``CodeDeployDefault.`` prefix (ECS and Lambda ones shift traffic,
            EC2/on-premises ones deploy in place); ``"ECS rolling <min>/<max>"`` for an ECS
            rolling update with those ``minimumHealthyPercent``/``maximumPercent`` and the
            circuit breaker with rollback; or a strategy object, used as it is.
        profile: The service profile (its ``tasks`` is the desired count or instance count).

    Raises:
        InputError: For a spec it does not know, with the closest names.
    """
    profile = _profile(profile)
    if isinstance(spec, Strategy):
        return spec
    if not isinstance(spec, str):
        raise _unknown(spec)
    rolling = _ROLLING.match(spec.strip())
    if rolling:
        low, high = int(rolling.group(1)), int(rolling.group(2))
        return EcsRolling(profile.tasks, low, high, CircuitBreaker(enable=True, rollback=True))
    try:
        config = configs.get(_PREFIX + spec.strip().removeprefix(_PREFIX))
    except InputError:
        raise _unknown(spec) from None
    if config.compute_platform == "Server":
        return InPlace(config, instances=profile.tasks)
    return TrafficShift(config, desired_count=profile.tasks)


def candidate_name(spec: str | Strategy) -> str:
    """The name a spec goes by in tables: the spec without prefix, or a strategy's label."""
    if isinstance(spec, Strategy):
        return spec.label
    return spec.strip().removeprefix(_PREFIX)


_FAMILIES = {"ECS blue/green": "blue/green", "ECS rolling": "rolling", "EC2 in-place": "in-place",
             "Lambda": "Lambda"}  # fmt: skip


def _family(label: str) -> str:
    """The family of a strategy from its label: blue/green, rolling, in-place or Lambda."""
    return next((f for prefix, f in _FAMILIES.items() if label.startswith(prefix)), "other")


def grid(
    profile: ServiceProfile | str, candidates: Iterable[str | Strategy] | None = None
) -> dict[str, Strategy]:
    """Return the candidate strategies for a profile, by name (default: :data:`CANDIDATES`)."""
    profile = _profile(profile)
    specs = CANDIDATES if candidates is None else candidates
    if isinstance(specs, str | Strategy):
        specs = [specs]
    out: dict[str, Strategy] = {}
    for spec in specs:
        name = candidate_name(spec)
        if name in out:
            raise InputError(f"The candidate {name!r} is listed twice.", where="candidates")
        out[name] = strategy_for(spec, profile)
    if not out:
        raise InputError("No candidates to evaluate.", where="candidates")
    return out


# --------------------------------------------------------------------------------------------
# Measuring a run
# --------------------------------------------------------------------------------------------


def _share_slower(service: str, added_ms: float, objective_ms: float) -> float:
    """P(latency > objective) for the service's log-normal baseline plus ``added_ms``."""
    mu, sigma = LATENCY_BASELINES[service].lognormal_params()
    room = objective_ms - added_ms
    if room <= 0:
        return 1.0
    return 0.5 * math.erfc((math.log(room) - mu) / (sigma * math.sqrt(2.0)))


def slow_requests(result: engine.DeploymentResult, profile: ServiceProfile) -> int:
    """Estimate the requests a run's release answered slower than the latency objective.

    The release's answered requests are, minute by minute from the deployment's start, its share
    of the served traffic less the ones that failed; each is slower than the objective with the
    probability of the release's latency model, less the baseline's (which the release did not
    cause). Rounded to a whole number; see the module docstring.
    """
    fault = get_release(result.release).fault
    extra = _share_slower(profile.service, fault.added_latency_ms, profile.latency_objective_ms)
    extra -= _share_slower(profile.service, 0.0, profile.latency_objective_ms)
    if extra <= 0:
        return 0
    timeline = result.timeline[result.timeline["minute"] >= 0]
    served = (timeline["requests"] - timeline["unavailable"]) * timeline["percent_new"] / 100.0
    answered = served * (1.0 - fault.error_rate) * (1.0 - profile.background_error_rate)
    return round(float(answered.sum()) * extra)


def extra_capacity(result: engine.DeploymentResult, profile: ServiceProfile) -> dict[str, float]:
    """Extra capacity a run used: task-hours above the desired count, and what they cost.

    Each timeline minute from the deployment's start counts ``max(capacity_pct - 100, 0) / 100
    x tasks`` task-minutes; the cost is the task-hours times ``profile.task_hour_usd``.

    Returns:
        ``{"extra_task_hours": …, "extra_cost_usd": …}``.
    """
    timeline = result.timeline[result.timeline["minute"] >= 0]
    extra = (timeline["capacity_pct"] - 100.0).clip(lower=0.0) / 100.0 * profile.tasks
    hours = float(extra.sum()) / 60.0
    return {"extra_task_hours": hours, "extra_cost_usd": hours * profile.task_hour_usd}


def _is_bad(version: str) -> bool:
    release = get_release(version)
    return release.task_failure_rate > 0 or not release.fault.is_healthy


def measure(
    result: engine.DeploymentResult, profile: ServiceProfile, candidate: str | None = None
) -> dict[str, Any]:
    """Return one run's row of :data:`FRAME_COLUMNS` (the evidence the capstone compares).

    Adds to the engine's figures (:func:`labs.deploy.metrics.figures`) the slow and bad requests,
    whether a bad release escaped (still serving when the run ended), and the extra capacity.
    """
    figures = result.figures()
    slow = slow_requests(result, profile)
    strategy = result.strategy
    escaped = _is_bad(result.release) and float(result.timeline["percent_new"].iloc[-1]) > 0
    return {
        "service": profile.service,
        "candidate": candidate or strategy,
        "strategy": strategy,
        "family": _family(strategy),
        "release": result.release,
        "status": result.status,
        "failed_requests": figures["failed_requests"],
        "slow_requests": slow,
        "bad_requests": figures["failed_requests"] + slow,
        "escaped": bool(escaped),
        "users_affected": figures["users_affected"],
        "time_to_100_min": figures["time_to_100_min"],
        "time_to_detect_min": figures["time_to_detect_min"],
        "time_to_rollback_min": figures["time_to_rollback_min"],
        "peak_extra_capacity_pct": figures["peak_extra_capacity_pct"],
        "min_capacity_pct": figures["min_capacity_pct"],
        **extra_capacity(result, profile),
        "duration_min": figures["duration_min"],
    }


# --------------------------------------------------------------------------------------------
# Running: dry grid, real picks
# --------------------------------------------------------------------------------------------


def deploy(
    ctx: Any | None,
    profile: ServiceProfile | str,
    spec: str | Strategy,
    *,
    release: str = GOOD_RELEASE,
    seed: int = 0,
    lab: str = LAB,
) -> engine.DeploymentResult:
    """Ship ``release`` of the profile's service with a strategy; a dry run without a context.

    With a context, the profile's alarms are created first (:func:`ensure_alarms`) and the
    engine writes the deployment to the emulator: VPC, ALB and target groups, ECS cluster and
    service, CodeDeploy application, deployment group and deployments, tagged ``lab=14``.
    """
    profile = _profile(profile)
    strategy = strategy_for(spec, profile)
    alarms: list[str | Alarm] = list(profile.alarms())
    if ctx is not None:
        alarms = list(ensure_alarms(ctx, profile, lab=lab))
    return engine.run(
        ctx, strategy, release=release, baseline="v1", alarms=alarms, seed=seed,
        service=profile.service, requests_per_second=profile.requests_per_second,
        background_error_rate=profile.background_error_rate, users=profile.users, lab=lab,
    )  # fmt: skip


def ensure_alarms(ctx: Any, profile: ServiceProfile | str, *, lab: str = LAB) -> list[str]:
    """Create (or overwrite) the profile's two CloudWatch alarms, tagged; return their names."""
    profile = _profile(profile)
    cloudwatch = ctx.client("cloudwatch")
    for alarm in profile.alarms():
        cloudwatch.put_metric_alarm(**alarm.to_put_kwargs(), Tags=ctx.tags(lab=lab).as_list())
    return profile.alarm_names


def evaluate(
    profile: ServiceProfile | str,
    candidates: Iterable[str | Strategy] | Mapping[str, str | Strategy] | None = None,
    *,
    seed: int = 0,
    releases: Sequence[str] = RELEASES,
) -> pd.DataFrame:
    """Run every candidate with every release as a dry run; one row per candidate and release.

    Args:
        profile: The service profile (traffic, users, tasks, alarms).
        candidates: Strategy specs (see :func:`strategy_for`), or a mapping name -> spec;
            default every name in :data:`CANDIDATES`.
        seed: Seeds the traffic and task failures; every run of the grid uses the same seed,
            so candidates meet the same traffic and the frame is the same on every call.
        releases: The releases to ship (default :data:`RELEASES`: ``v2`` and the bad ones).

    Returns:
        A frame with :data:`FRAME_COLUMNS`.
    """
    profile = _profile(profile)
    if isinstance(candidates, Mapping):
        named = {str(k): strategy_for(v, profile) for k, v in candidates.items()}
    else:
        named = grid(profile, candidates)
    if isinstance(releases, str) or not releases:
        raise InputError(
            "releases must be a list of release labels, e.g. ['v2', 'v2-bad'].", where="releases"
        )
    rows = []
    for name, strategy in named.items():
        for version in releases:
            result = deploy(None, profile, strategy, release=version, seed=seed)
            rows.append(measure(result, profile, name))
    return pd.DataFrame(rows, columns=FRAME_COLUMNS)


# --------------------------------------------------------------------------------------------
# The rule
# --------------------------------------------------------------------------------------------


def _rows_for(frame: pd.DataFrame, profile: ServiceProfile) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or "service" not in frame.columns:
        raise InputError(
            "Expected the frame capstone.evaluate(...) returns.",
            where="frame",
            hint="frame = capstone.evaluate(profile)",
        )
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"The frame lacks the columns {missing}.", where="frame")
    rows = frame[frame["service"] == profile.service]
    if rows.empty:
        raise InputError(
            f"The frame has no runs of {profile.service}.",
            where="frame",
            hint=f"Evaluate this profile: capstone.evaluate(PROFILES[{profile.service!r}]).",
        )
    if GOOD_RELEASE not in set(rows["release"]):
        raise InputError(
            f"The frame has no run of the good release {GOOD_RELEASE}: time to 100% and the "
            "capacity cost come from it.",
            where="frame",
            hint=f"Evaluate with releases including {GOOD_RELEASE!r}.",
        )
    return rows


def _nanmax(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.max()) if len(values) else math.nan


def summarize(frame: pd.DataFrame, profile: ServiceProfile | str) -> pd.DataFrame:
    """Return one row per candidate with the evidence the rule uses, in the rule's order.

    Columns (:data:`SUMMARY_COLUMNS`): time to 100% and extra capacity cost of the good release;
    the worst-case blast radius (most bad requests over every release; ``inf`` if a bad release
    escaped), the release that caused it and its users affected; the slowest detection and
    rollback; the least capacity in service over every run; whether the candidate delivers the
    good release, stays within the bound and above the capacity floor; ``eligible`` (all three)
    and a ``verdict`` in words. Eligible candidates come first, fastest first (:data:`RULE`).
    """
    profile = _profile(profile)
    rows = _rows_for(frame, profile)
    out = []
    for name, runs in rows.groupby("candidate", sort=False):
        good = runs[runs["release"] == GOOD_RELEASE].iloc[0]
        radius = runs["bad_requests"].astype(float).where(~runs["escaped"], math.inf)
        worst = runs.loc[radius.idxmax()]
        worst_radius = float(radius.max())
        delivers = good["status"] == "Succeeded" and not math.isnan(good["time_to_100_min"])
        within = worst_radius <= profile.bound
        floor = float(runs["min_capacity_pct"].min())
        above = floor >= profile.min_capacity_pct
        if not delivers:
            verdict = f"{GOOD_RELEASE} does not reach 100% ({good['status']})"
        elif math.isinf(worst_radius):
            verdict = (
                f"{worst['release']} escaped: still serving when the run ended, no alarm "
                "stopped it in time"
            )
        elif not within:
            verdict = (
                f"blast radius {worst_radius:,.0f} bad requests on {worst['release']} > bound "
                f"{profile.bound:,}"
            )
        elif not above:
            verdict = f"capacity drops to {floor:.0f}% < floor {profile.min_capacity_pct:.0f}%"
        else:
            verdict = "eligible"
        out.append(
            {
                "candidate": name,
                "strategy": good["strategy"],
                "family": good["family"],
                "time_to_100_min": float(good["time_to_100_min"]),
                "worst_bad_requests": worst_radius,
                "worst_release": worst["release"],
                "worst_users_affected": int(runs["users_affected"].max()),
                "worst_detect_min": _nanmax(runs["time_to_detect_min"]),
                "worst_rollback_min": _nanmax(runs["time_to_rollback_min"]),
                "extra_cost_usd": float(good["extra_cost_usd"]),
                "extra_task_hours": float(good["extra_task_hours"]),
                "min_capacity_pct": floor,
                "delivers": bool(delivers),
                "within_bound": bool(within),
                "above_floor": bool(above),
                "eligible": bool(delivers and within and above),
                "verdict": verdict,
            }
        )
    summary = pd.DataFrame(out, columns=SUMMARY_COLUMNS)
    summary["_ineligible"] = ~summary["eligible"]
    summary["_time"] = summary["time_to_100_min"].fillna(math.inf)
    summary = summary.sort_values(
        ["_ineligible", "_time", "extra_cost_usd", "worst_bad_requests", "candidate"],
        kind="stable",
    )
    return summary.drop(columns=["_ineligible", "_time"]).reset_index(drop=True)


@dataclass(frozen=True)
class Recommendation:
    """What :func:`recommend` says for one service, and why.

    Attributes:
        service: The service.
        candidate: The pick's name, or None when no strategy meets every constraint.
        strategy: The pick's label (e.g. ``"ECS blue/green · ECSCanary10Percent5Minutes"``).
        reason: Why, in a sentence or two.
        bound: The blast-radius bound it was held to.
        evidence: The pick's summary row (with no pick: the closest candidate's).
        summary: Every candidate's summary (:func:`summarize`).
    """

    service: str
    candidate: str | None
    strategy: str | None
    reason: str
    bound: int
    evidence: dict[str, Any] = field(default_factory=dict)
    summary: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    @property
    def meets(self) -> bool:
        """True when a strategy meets every constraint."""
        return self.candidate is not None

    def __str__(self) -> str:
        """One line for people."""
        if self.candidate is None:
            return f"{self.service}: {self.reason}"
        return f"{self.service}: {self.candidate} — {self.reason}"


def _radius(value: float) -> str:
    return "escaped (unbounded)" if math.isinf(value) else f"{value:,.0f}"


def recommend(frame: pd.DataFrame, profile: ServiceProfile | str) -> Recommendation:
    """Apply :data:`RULE` to a profile's runs and return the pick, with the evidence.

    Among the candidates that deliver the good release, keep the worst-case blast radius within
    ``profile.bound`` and never take capacity below ``profile.min_capacity_pct``, the fastest to
    100% wins; ties go to the lower extra capacity cost, then the smaller blast radius, then the
    name. When none is left the answer says *no strategy meets the bound* (``candidate`` None),
    with the closest candidate and what would have to change — never a pick that breaks the
    bound.

    Args:
        frame: :func:`evaluate`'s frame (it may hold several services).
        profile: The service's profile: its bound and capacity floor.
    """
    profile = _profile(profile)
    summary = summarize(frame, profile)
    eligible = summary[summary["eligible"]]
    if not eligible.empty:
        pick = eligible.iloc[0].to_dict()
        ties = eligible[eligible["time_to_100_min"] == pick["time_to_100_min"]]
        tie = ""
        if len(ties) > 1:
            others = ", ".join(ties["candidate"].iloc[1:])
            tie = f"; as fast as {others}, but cheaper in extra capacity"
            if (ties["extra_cost_usd"] == pick["extra_cost_usd"]).sum() > 1:
                tie = f"; as fast and as cheap as {others}, with a smaller or equal blast radius"
        reason = (
            f"fastest to 100% ({pick['time_to_100_min']:g} min) of the {len(eligible)} of "
            f"{len(summary)} candidates within the bound of {profile.bound:,} bad requests and "
            f"the {profile.min_capacity_pct:.0f}% capacity floor; worst case "
            f"{_radius(pick['worst_bad_requests'])} bad requests ({pick['worst_release']}){tie}"
        )
        return Recommendation(
            profile.service, pick["candidate"], pick["strategy"], reason, profile.bound, pick,
            summary,
        )  # fmt: skip
    delivering = summary[summary["delivers"]]
    pool = delivering if not delivering.empty else summary
    closest = pool.sort_values(["worst_bad_requests", "candidate"], kind="stable").iloc[0]
    within = summary[summary["delivers"] & summary["within_bound"]]
    if within.empty:
        reason = (
            f"no strategy meets the bound of {profile.bound:,} bad requests: the smallest "
            f"worst-case blast radius is {_radius(closest['worst_bad_requests'])} "
            f"({closest['candidate']}, on {closest['worst_release']}). Loosen the bound, detect "
            "faster (alarms with shorter periods), or try a smaller first traffic step."
        )
    else:
        names = ", ".join(within["candidate"])
        closest = within.iloc[0]
        reason = (
            f"no strategy meets every constraint: {names} stay within the bound of "
            f"{profile.bound:,} bad requests but take capacity below the "
            f"{profile.min_capacity_pct:.0f}% floor. Lower the floor or add candidates that "
            "keep full capacity."
        )
    return Recommendation(
        profile.service, None, None, reason, profile.bound, closest.to_dict(), summary
    )


def recommendation_table(recommendations: Iterable[Recommendation]) -> pd.DataFrame:
    """Return one row per service: the pick and its evidence, ready to show."""
    rows = []
    for rec in recommendations:
        ev = rec.evidence
        rows.append(
            {
                "service": rec.service,
                "recommendation": rec.candidate or "no strategy meets the bound",
                "strategy": rec.strategy or "—",
                "time to 100% (min)": ev.get("time_to_100_min", math.nan),
                "worst blast radius (bad requests)": ev.get("worst_bad_requests", math.nan),
                "bound": rec.bound,
                "worst release": ev.get("worst_release", ""),
                "users with a failure (worst run)": ev.get("worst_users_affected", 0),
                "rollback (min, worst)": ev.get("worst_rollback_min", math.nan),
                "extra capacity ($/deployment)": ev.get("extra_cost_usd", math.nan),
                "min capacity (%)": ev.get("min_capacity_pct", math.nan),
            }
        )
    return pd.DataFrame(rows).set_index("service")


# --------------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------------

_FAMILY_COLOURS = {
    "blue/green": "#4575b4",
    "rolling": "#1a9850",
    "in-place": "#d73027",
    "Lambda": "#984ea3",
}
_MARKERS = "osD^v<>pXh*P"


def plot_tradeoffs(
    summaries: Mapping[str, pd.DataFrame],
    recommendations: Mapping[str, Recommendation] | None = None,
    profiles: Mapping[str, ServiceProfile] = PROFILES,
) -> Any:
    """Draw, per service, each candidate's worst-case blast radius against its time to 100%.

    One panel per service (log scale for bad requests), the bound as a dashed line, the pick
    circled; a candidate whose bad release escaped is drawn at the top, one that never
    delivers the good release is left out. Colours are families, markers candidates.

    Returns:
        The matplotlib figure (end the cell with ``plt.show()``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    names: list[str] = []
    for summary in summaries.values():
        names += [n for n in summary["candidate"] if n not in names]
    order = {n: i for i, n in enumerate(CANDIDATES)}
    names.sort(key=lambda n: order.get(n, len(order)))
    markers = {n: _MARKERS[i % len(_MARKERS)] for i, n in enumerate(names)}
    fig, axes = plt.subplots(
        1, len(summaries), figsize=(4.1 * len(summaries) + 2.6, 4.2), squeeze=False
    )
    families: dict[str, str] = {}
    for ax, (service, summary) in zip(axes[0], summaries.items(), strict=True):
        shown = summary[summary["delivers"]]
        finite = shown.loc[np.isfinite(shown["worst_bad_requests"]), "worst_bad_requests"]
        bound = profiles[service].bound if service in profiles else None
        top = max([*finite.tolist(), bound or 1, 1]) * 4
        bottom = max(min([*finite.tolist(), bound or top]) / 3, 0.5)
        for _, row in shown.iterrows():
            y = row["worst_bad_requests"] if math.isfinite(row["worst_bad_requests"]) else top
            families[row["family"]] = _FAMILY_COLOURS.get(row["family"], "grey")
            ax.scatter(
                row["time_to_100_min"], max(y, 1), marker=markers[row["candidate"]],
                color=_FAMILY_COLOURS.get(row["family"], "grey"), s=45, zorder=3,
            )  # fmt: skip
        if bound is not None:
            ax.axhline(max(bound, 1), color="black", linestyle="--", linewidth=0.9)
            ax.annotate(
                f"bound {bound:,}", (0.98, max(bound, 1) * 0.92),
                xycoords=("axes fraction", "data"), ha="right", va="top", fontsize=7,
            )  # fmt: skip
        if (~np.isfinite(shown["worst_bad_requests"])).any():
            ax.annotate(
                "escaped", (0.02, top), xycoords=("axes fraction", "data"), fontsize=7,
                va="bottom",
            )  # fmt: skip
        rec = (recommendations or {}).get(service)
        if rec is not None and rec.candidate is not None:
            y = rec.evidence["worst_bad_requests"]
            ax.scatter(
                rec.evidence["time_to_100_min"], max(y if math.isfinite(y) else top, 1), s=260,
                facecolors="none", edgecolors="black", linewidths=1.4, zorder=4,
            )  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(bottom=bottom, top=top * 3)
        pick = rec.candidate if rec is not None and rec.candidate else "none"
        ax.set_title(f"{service} (pick: {pick})", fontsize=9)
        ax.set_xlabel("minutes to 100% on v2 (simulated)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("worst-case bad requests (log scale)")
    handles = [
        Line2D([], [], marker=markers[n], linestyle="", color="dimgrey", label=n) for n in names
    ]
    handles += [
        Line2D([], [], marker="s", linestyle="", color=c, label=f"family: {f}")
        for f, c in families.items()
    ]
    handles.append(
        Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="black",
               markersize=11, label="the pick")
    )  # fmt: skip
    fig.legend(handles=handles, loc="center right", fontsize=7, frameon=False)
    fig.suptitle("Speed against blast radius, per service: every candidate, worst release")
    fig.tight_layout(rect=(0, 0, 1 - 2.5 / fig.get_figwidth(), 1))
    return fig
