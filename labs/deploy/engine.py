"""The deployment engine: runs a deployment to completion on the simulated clock.

:func:`run` ships a release of the bookstore with a strategy (:mod:`labs.deploy.strategies`)
and, minute by simulated minute:

1. steps the strategy's rollout: how much traffic the new version gets, how much capacity runs;
2. writes that to the emulator where AWS would: the ALB listener's target-group weights for ECS
   blue/green (read back after every change), the ECS service's task definition for a rolling
   update;
3. sends the minute's requests through the traffic simulator (:mod:`labs.observability.traffic`)
   and publishes them as CloudWatch metrics;
4. evaluates the deployment's alarms with the alarm runner, which writes their state and
   notifies their SNS topics;
5. acts as CodeDeploy (or ECS) would: a deployment whose alarm is in ALARM stops
   (``DEPLOYMENT_STOP_ON_ALARM``); one that cannot install fails (``DEPLOYMENT_FAILURE``, or the
   ECS circuit breaker); with automatic rollback for that event, a **new deployment of the last
   good revision** rolls it back (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html).

The CodeDeploy application, deployment group and deployments exist in the emulator, but the
emulator never progresses a deployment (it stays ``Created``, FACTS.md): the
:class:`DeploymentResult` is the truth. Without a context (``ctx=None``) the same run happens as
a *dry run*: no emulator, alarms (``Alarm`` objects) evaluated in memory; handy to compare many
configurations quickly.

Modelling choices where AWS documents no behaviour: a deployment stopped without rollback leaves
traffic where the stop found it (EC2 instances keep the revision they got, which is documented;
for ECS and Lambda it is the worst case), and the engine then watches ``watch_minutes`` more
minutes; rollback deployments do not watch alarms (the alarm is still in ALARM from the failed
deployment's data).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from labs.deploy import aws_resources, releases
from labs.deploy.releases import Release
from labs.deploy.strategies import (
    FAILED,
    SUCCEEDED,
    EcsRolling,
    InPlace,
    Rollout,
    Strategy,
    Tick,
    TrafficShift,
)
from labs.errors import InputError
from labs.observability.alarm_runner import AlarmRunner
from labs.observability.alarms import ALARM, INSUFFICIENT_DATA, OK, Alarm
from labs.observability.clock import SimClock
from labs.observability.published import MetricStore, client
from labs.observability.traffic import (
    NAMESPACE,
    UNAVAILABLE,
    TrafficSimulator,
    VersionBehaviour,
    publish,
)

__all__ = ["DEFAULT_AUTO_ROLLBACK", "STATUSES", "DeploymentResult", "run"]

DEFAULT_AUTO_ROLLBACK = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
"""Automatic rollback events the engine uses unless told otherwise."""
STATUSES = ("Succeeded", "RolledBack", "Stopped", "Failed")
"""What a run ends as: deployed; rolled back automatically; stopped by an alarm and left as it
was (no automatic rollback); failed (and not rolled back)."""
NO_ALARMS = "no alarms"
TIMELINE_COLUMNS = [
    "minute", "time", "phase", "percent_new", "requests", "errors", "error_rate_pct", "p99_ms",
    "failed_by_release", "unavailable", "alarm_state", "capacity_pct", "healthy_pct",
    "listener_weights", "event",
]  # fmt: skip


@dataclass
class DeploymentResult:
    """How a deployment went.

    Attributes:
        strategy: The strategy's label, e.g. ``"ECS blue/green · ECSCanary10Percent5Minutes"``.
        release: The version deployed.
        baseline: The last good version (what a rollback restores).
        status: ``Succeeded``, ``RolledBack``, ``Stopped`` or ``Failed``.
        reason: Why, in a sentence.
        deployment_id: The deployment's id (CodeDeploy's; for ECS rolling, the engine's).
        rollback_deployment_id: The id of the rollback deployment, if one ran.
        deployment_status: The first deployment's own final status (``Succeeded``, ``Stopped``,
            ``Failed``).
        timeline: One row per simulated minute (see :data:`TIMELINE_COLUMNS`); ``minute`` counts
            from the deployment's start (negative: traffic before it).
        alarm_history: The alarm state changes.
        notifications: The alarm actions delivered.
        users_affected: Users who got at least one failure caused by the release (or a 503).
        target: ``"local"`` (emulator), ``"dry run"`` or ``"aws"``.
        started: Simulated time the deployment started.
        full_at_minute: Minute the rollout was complete on the release: all traffic shifted,
            every instance or task on it (None if never).
        detected_at_minute: Minute the alarm or the failure stopped the deployment (None if not).
        restored_at_minute: Minute the rollback had all traffic back on the baseline.
        finished_at_minute: Minute the deployment, or its rollback, finished (or stopped).
    """

    strategy: str
    release: str
    baseline: str
    status: str
    reason: str
    deployment_id: str | None
    rollback_deployment_id: str | None
    deployment_status: str
    timeline: pd.DataFrame
    alarm_history: pd.DataFrame = field(default_factory=pd.DataFrame)
    notifications: pd.DataFrame = field(default_factory=pd.DataFrame)
    users_affected: int = 0
    target: str = "local"
    started: pd.Timestamp | None = None
    full_at_minute: int | None = None
    detected_at_minute: int | None = None
    restored_at_minute: int | None = None
    finished_at_minute: int | None = None

    def figures(self) -> dict[str, Any]:
        """Blast radius, time to full rollout, time to detect and roll back, extra capacity."""
        from labs.deploy.metrics import figures

        return figures(self)

    def __repr__(self) -> str:
        """One line: strategy, release, status."""
        return f"<DeploymentResult {self.strategy}: {self.release} {self.status}>"

    def summary(self) -> str:
        """A few lines for people."""
        lines = [
            f"{self.strategy}: {self.release} (baseline {self.baseline}) -> {self.status}",
            f"  {self.reason}",
            f"  deployment {self.deployment_id} ({self.deployment_status})",
        ]
        if self.rollback_deployment_id:
            lines.append(f"  rollback deployment {self.rollback_deployment_id} (Succeeded)")
        return "\n".join(lines)


def _combined(states: Sequence[str]) -> str:
    if not states:
        return NO_ALARMS
    if ALARM in states:
        return ALARM
    return OK if all(s == OK for s in states) else INSUFFICIENT_DATA


class _Emulator:
    """What the engine writes to the emulator for one run (nothing in a dry run)."""

    def __init__(
        self,
        ctx: Any | None,
        strategy: Strategy,
        alarms: list[str],
        auto: tuple[str, ...],
        seed: int = 0,
        lab: str = aws_resources.LAB,
    ) -> None:
        self.ctx, self.strategy, self.alarms, self.auto = ctx, strategy, alarms, auto
        self.lab = lab
        self._rng = np.random.default_rng([seed, 2])
        self.lb = None
        self.ecs: dict[str, str] | None = None
        self.target = None
        self.colours = ("blue", "green")  # (original, replacement)
        self.weights: tuple[int, int] | None = None
        self._ids = 0

    def prepare(self) -> None:
        if self.ctx is None:
            return
        network = aws_resources.ensure_network(self.ctx, lab=self.lab)
        ecs_shift = isinstance(self.strategy, TrafficShift) and self.strategy.platform == "ECS"
        if ecs_shift or isinstance(self.strategy, InPlace):
            self.lb = aws_resources.ensure_load_balancer(self.ctx, network, lab=self.lab)
        if ecs_shift or isinstance(self.strategy, EcsRolling):
            self.ecs = aws_resources.ensure_ecs(self.ctx, network, self.lb, lab=self.lab)
        if self.strategy.uses_codedeploy:
            self.target = aws_resources.ensure_codedeploy(
                self.ctx, self.strategy, alarms=self.alarms, auto_rollback=self.auto,
                lb=self.lb, ecs_names=self.ecs, lab=self.lab,
            )  # fmt: skip
        if ecs_shift:
            now = aws_resources.listener_weights(self.ctx, self.lb)
            # The target group with the traffic is the original; the other gets the release.
            self.colours = ("blue", "green") if now["blue"] >= now["green"] else ("green", "blue")
            self.set_share(0.0)

    def deploy(self, release: Release, baseline: Release, description: str) -> str:
        if isinstance(self.strategy, EcsRolling):
            if self.ctx is not None:
                aws_resources.update_ecs_service(
                    self.ctx, self.ecs, self.strategy, release.version, self.alarms,
                    "DEPLOYMENT_STOP_ON_ALARM" in self.auto, lab=self.lab,
                )  # fmt: skip
            # ECS names a service deployment ecs-svc/<19 digits>; the emulator makes none on
            # update_service, so the engine makes the id (seeded, so runs repeat).
            return f"ecs-svc/{int(self._rng.integers(10**18, 2**63 - 1))}"
        if self.ctx is None:
            self._ids += 1
            return f"d-DRYRUN{self._ids:04d}"
        return aws_resources.create_deployment(
            self.ctx, self.target, self.strategy, release, baseline, alarms=self.alarms,
            auto_rollback=self.auto, description=description, lab=self.lab,
        )  # fmt: skip

    def set_share(self, percent: float) -> str:
        """ECS blue/green: put ``percent`` on the replacement target group; return the weights."""
        if self.lb is None or not (
            isinstance(self.strategy, TrafficShift) and self.strategy.platform == "ECS"
        ):
            return ""
        new = round(percent)
        wanted = (100 - new, new)
        if wanted != self.weights:
            original, replacement = self.colours
            read = aws_resources.set_listener_weights(
                self.ctx, self.lb, {original: wanted[0], replacement: wanted[1]}
            )
            got = (read[original], read[replacement])
            if got != wanted:
                raise RuntimeError(f"listener weights read back {got}, not {wanted}")
            self.weights = wanted
        return f"{self.colours[0]}={self.weights[0]} {self.colours[1]}={self.weights[1]}"


def _alarm_names(ctx: Any | None, alarms: Sequence[str | Alarm]) -> list[str]:
    if ctx is None and any(not isinstance(a, Alarm) for a in alarms):
        raise InputError(
            "A dry run (ctx=None) evaluates alarms in memory and needs Alarm objects.",
            where="alarms",
            hint="Pass labs.observability.alarms.Alarm(...) definitions, or a context.",
        )
    return [a.alarm_name if isinstance(a, Alarm) else str(a) for a in alarms]


def _definitions(ctx: Any | None, alarms: Sequence[str | Alarm]) -> list[Alarm]:
    named = [a for a in alarms if not isinstance(a, Alarm)]
    found: list[Alarm] = [a for a in alarms if isinstance(a, Alarm)]
    if named:
        described = client(ctx, "cloudwatch").describe_alarms(AlarmNames=named)["MetricAlarms"]
        found += [Alarm.from_describe(a) for a in described]
    return found


def run(
    ctx: Any | None,
    strategy: Strategy,
    *,
    release: str | Release = "v2",
    baseline: str | Release = "v1",
    alarms: Sequence[str | Alarm] = (),
    auto_rollback: Sequence[str] = DEFAULT_AUTO_ROLLBACK,
    seed: int = 0,
    service: str = "orders",
    requests_per_second: float = 200.0,
    background_error_rate: float = 0.0,
    users: int = 20_000,
    warmup_minutes: int = 3,
    watch_minutes: int = 10,
    settle_minutes: int = 2,
    lab: str = aws_resources.LAB,
) -> DeploymentResult:
    """Run a deployment of ``release`` with ``strategy`` to completion; see the module docstring.

    Args:
        ctx: The workshop context; ``None`` for a dry run (no emulator).
        strategy: :class:`~labs.deploy.strategies.TrafficShift`,
            :class:`~labs.deploy.strategies.InPlace` or :class:`~labs.deploy.strategies.EcsRolling`.
        release: The version to deploy, e.g. ``"v2"`` or ``"v2-bad"``, or a
            :class:`~labs.deploy.releases.Release` (one with an ``error_rate`` of its own fails
            that share of its requests instead of what its label's fault switch says).
        baseline: The version running now: the last good revision a rollback redeploys.
        alarms: Alarm names in CloudWatch (or ``Alarm`` objects for a dry run); at most 10.
        auto_rollback: ``autoRollbackConfiguration.events``; empty for no automatic rollback.
            For an ECS rolling update, ``DEPLOYMENT_STOP_ON_ALARM`` sets the ECS alarms'
            ``rollback`` and the circuit breaker's own ``rollback`` flag decides for failures.
        seed: Seeds the traffic and the task failures.
        service: The bookstore service receiving the traffic.
        requests_per_second: Traffic to the service.
        background_error_rate: Failures whatever the version (0 to 1).
        users: Active users, to count those affected.
        warmup_minutes: Minutes of traffic on the baseline before the deployment starts.
        watch_minutes: Minutes simulated after a deployment stops or fails without rollback.
        settle_minutes: Minutes simulated after a deployment or rollback completes.
        lab: The ``lab`` tag of the resources created in the emulator (default ``"04"``).

    Returns:
        The :class:`DeploymentResult`.
    """
    if ctx is not None and not ctx.is_local:
        from labs.deploy import aws_follow

        return aws_follow.run(
            ctx, strategy, release=release, baseline=baseline, alarms=alarms,
            auto_rollback=auto_rollback,
        )  # fmt: skip
    if not isinstance(strategy, Strategy):
        raise InputError(
            f"strategy must be a deployment strategy, got {type(strategy).__name__}.",
            where="strategy",
            hint="e.g. TrafficShift('CodeDeployDefault.ECSCanary10Percent5Minutes').",
        )
    for name, value in (("warmup_minutes", warmup_minutes), ("watch_minutes", watch_minutes),
                        ("settle_minutes", settle_minutes)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(
                f"{name} must be a whole number of minutes, got {value!r}.", where=name
            )
    deployment = _Run(
        ctx, strategy, releases.get(release), releases.get(baseline), alarms, tuple(auto_rollback),
        seed=seed, service=service, requests_per_second=requests_per_second,
        background_error_rate=background_error_rate, users=users, lab=lab,
    )  # fmt: skip
    return deployment.run(warmup_minutes, watch_minutes, settle_minutes)


class _Run:
    """One deployment, stepped a simulated minute at a time."""

    def __init__(
        self,
        ctx: Any | None,
        strategy: Strategy,
        new: Release,
        old: Release,
        alarms: Sequence[str | Alarm],
        auto: tuple[str, ...],
        *,
        seed: int,
        service: str,
        requests_per_second: float,
        background_error_rate: float,
        users: int,
        lab: str,
    ) -> None:
        self.ctx, self.strategy, self.new, self.old, self.auto = ctx, strategy, new, old, auto
        self.names = _alarm_names(ctx, alarms)
        aws_resources.validate(self.names, auto)
        behaviours = {}
        for release in (old, new):
            if release.error_rate is not None:
                # A release with an error rate of its own, not its label's fault switch.
                plain = VersionBehaviour.for_bookstore(service, release.version)
                behaviours[release.version] = replace(plain, error_rate=release.fault.error_rate)
        if strategy.platform == "Lambda" and new.task_failure_rate:
            # A Lambda version that crashes at start fails its invocations: an error rate.
            plain = behaviours.get(new.version) or VersionBehaviour.for_bookstore(
                service, new.version
            )
            rate = max(plain.error_rate, new.task_failure_rate)
            behaviours[new.version] = replace(plain, error_rate=rate)
        self.sim = TrafficSimulator(
            service, requests_per_second=requests_per_second, seed=seed,
            background_error_rate=background_error_rate, users=users, behaviours=behaviours,
        )  # fmt: skip
        self.store = MetricStore() if ctx is None else None
        self.runner = (
            AlarmRunner(ctx, list(alarms) if ctx is None else self.names, store=self.store)
            if self.names
            else None
        )
        self.bake = 0
        if isinstance(strategy, EcsRolling) and self.names:
            # ECS watches the alarms for a bake time after the rollout, "computed ... based on
            # the alarm configuration": here, the longest Period x EvaluationPeriods.
            self.bake = max(
                math.ceil(a.period * a.evaluation_periods / 60) for a in _definitions(ctx, alarms)
            )
        self.emulator = _Emulator(ctx, strategy, self.names, auto, seed, lab)
        self.task_rng = np.random.default_rng([seed, 1])
        self.rollback_on_failure = (
            strategy.circuit_breaker.rollback
            if isinstance(strategy, EcsRolling)
            else "DEPLOYMENT_FAILURE" in auto
        )
        self.rows: list[dict[str, Any]] = []
        self.phase = "before"
        self.current: Rollout | None = None
        self.current_start = 0
        self.deployment_id: str | None = None
        self.rollback_id: str | None = None
        self.status = self.reason = self.deployment_status = ""
        self.end_minute: int | None = None
        self.baked_from: int | None = None
        self.marks: dict[str, int | None] = dict.fromkeys(
            ("full", "detected", "restored", "finished")
        )
        self.carry: list[str] = []

    def run(self, warmup: int, watch: int, settle: int) -> DeploymentResult:
        self.watch, self.settle = watch, settle
        limit = warmup + self.strategy.longest_minutes() + self.bake + watch + settle + 15
        self.clock = SimClock.reserve(self.ctx, warmup + limit)
        started = self.clock.minute(warmup)
        self.emulator.prepare()
        for minute in range(-warmup, limit):
            self._minute(minute)
            if self.end_minute is not None and minute + 1 >= self.end_minute:
                break
        else:
            self.status = self.status or "Failed"
            self.deployment_status = self.deployment_status or "Failed"
            self.reason = self.reason or (
                f"the deployment did not finish in {limit} minutes: tasks keep failing and, "
                "without the circuit breaker, ECS keeps retrying (the old tasks keep serving)"
            )
        runner = self.runner
        return DeploymentResult(
            strategy=self.strategy.label,
            release=self.new.version,
            baseline=self.old.version,
            status=self.status,
            reason=self.reason,
            deployment_id=self.deployment_id,
            rollback_deployment_id=self.rollback_id,
            deployment_status=self.deployment_status,
            timeline=pd.DataFrame(self.rows, columns=TIMELINE_COLUMNS),
            alarm_history=runner.history_frame() if runner else pd.DataFrame(),
            notifications=runner.notifications_frame() if runner else pd.DataFrame(),
            users_affected=self.sim.users_affected([self.new.version, UNAVAILABLE]),
            target="local" if self.ctx is not None else "dry run",
            started=started,
            full_at_minute=self.marks["full"],
            detected_at_minute=self.marks["detected"],
            restored_at_minute=self.marks["restored"],
            finished_at_minute=self.marks["finished"],
        )

    def _minute(self, minute: int) -> None:
        """Step the rollout, write it back, send the minute's traffic, evaluate, decide."""
        events, self.carry = self.carry, []
        if minute == 0:
            self.deployment_id = self.emulator.deploy(
                self.new, self.old, f"bookstore {self.new.version}"
            )
            events.append(f"deployment of {self.new.version} started")
            self.current, self.phase = self.strategy.rollout(self.new, self.task_rng), "deploying"
        current = self.current
        tick = current.tick(minute - self.current_start) if current is not None else Tick(0.0)
        events += tick.events
        restoring = self.rollback_id is not None
        share = (
            0.0
            if current is None
            else (100.0 - tick.percent_new if restoring else tick.percent_new)
        )
        served = 1.0 - tick.unavailable_pct / 100.0
        weights = {
            self.old.version: served * (100.0 - share) / 100.0,
            self.new.version: served * share / 100.0,
            UNAVAILABLE: tick.unavailable_pct / 100.0,
        }
        listener = self.emulator.set_share(share)
        period = self.sim.step(self.clock.now, {k: v for k, v in weights.items() if v > 0})
        if self.ctx is not None:
            publish(self.ctx, period)
        else:
            self.store.add(NAMESPACE, period.metric_data())
        self.clock.advance(period.period_s)
        states = list(self.runner.evaluate(self.clock.now)["state"]) if self.runner else []
        alarm_state = _combined(states)
        firing = [n for n, s in zip(self.names, states, strict=True) if s == ALARM]
        if firing and self.phase == "deploying":
            events.append(f"alarm {', '.join(firing)} in ALARM: deployment stopped")
        index = {v: i for i, v in enumerate(period.versions)}
        new_index, gone = index.get(self.new.version), index.get(UNAVAILABLE)
        self.rows.append(
            {
                "minute": minute,
                "time": period.timestamp,
                "phase": self.phase,
                "percent_new": share,
                "requests": period.total_requests,
                "errors": period.total_errors,
                "error_rate_pct": 100.0 * period.total_errors / max(period.total_requests, 1),
                "p99_ms": period.percentiles()["p99"],
                "failed_by_release": 0
                if new_index is None
                else int(period.fault_errors[new_index]),
                "unavailable": 0 if gone is None else int(period.errors[gone]),
                "alarm_state": alarm_state,
                "capacity_pct": tick.capacity_pct,
                "healthy_pct": tick.healthy_pct,
                "listener_weights": listener,
                "event": "; ".join(events),
            }
        )
        full = None if current is None else current.full_minute
        if self.marks["full"] is None and self.phase == "deploying" and full is not None:
            self.marks["full"] = full + self.current_start
        if self.phase == "rolling back" and self.marks["restored"] is None and share == 0:
            self.marks["restored"] = minute if not tick.unavailable_pct else None
        self._decide(minute + 1, firing, share)

    def _decide(self, nxt: int, firing: list[str], share: float) -> None:
        """Act as CodeDeploy or ECS would at the end of a minute; effects start at ``nxt``."""
        current = self.current
        if self.phase == "deploying":
            assert current is not None
            if current.status == FAILED or firing:
                self._stop(nxt, firing, share)
            elif current.status == SUCCEEDED and self.bake and self.baked_from is None:
                self.baked_from = nxt
                self.carry.append(
                    f"all tasks replaced: bake time, alarms watched for {self.bake} min"
                )
            elif current.status == SUCCEEDED and (
                not self.bake or nxt >= self.baked_from + self.bake  # type: ignore[operator]
            ):
                self.status = self.deployment_status = "Succeeded"
                self.reason = f"all traffic on {self.new.version}"
                self._finish("complete", nxt, self.settle)
        elif self.phase == "rolling back" and current is not None:
            if current.status == FAILED:
                self.status = "Failed"
                self.reason += f"; the rollback failed too: {current.reason}"
                self._finish("stopped", nxt, self.watch)
            elif current.status == SUCCEEDED:
                self.status = "RolledBack"
                self.carry.append(
                    f"rollback deployment succeeded: {self.old.version} serves all traffic"
                )
                if self.marks["restored"] is None:
                    self.marks["restored"] = nxt
                self._finish("rolled back", nxt, self.settle)

    def _stop(self, nxt: int, firing: list[str], share: float) -> None:
        """The deployment fails or an alarm stops it: roll back, or leave it as it is."""
        current = self.current
        assert current is not None
        self.marks["detected"] = nxt
        if current.status == FAILED:
            event, self.deployment_status = "DEPLOYMENT_FAILURE", "Failed"
            why, roll = current.reason, self.rollback_on_failure
        else:
            event, self.deployment_status = "DEPLOYMENT_STOP_ON_ALARM", "Stopped"
            why = f"alarm {', '.join(firing)} went to ALARM"
            roll = "DEPLOYMENT_STOP_ON_ALARM" in self.auto
            current.stop()
        if roll:
            self.rollback_id = self.emulator.deploy(
                self.old, self.new, f"rollback of {self.deployment_id}"
            )
            self.carry.append(f"{event}: rollback deployment of {self.old.version} started")
            self.reason = (
                f"{why}; {event} rolled back to {self.old.version} with deployment "
                f"{self.rollback_id}"
            )
            self.current = self.strategy.rollback(current, self.old, self.task_rng)
            self.current_start, self.phase = nxt, "rolling back"
        else:
            self.status = "Failed" if current.status == FAILED else "Stopped"
            self.reason = (
                f"{why}; no automatic rollback for {event}, so {share:.0f}% of the traffic "
                f"stays on {self.new.version}"
            )
            self._finish("stopped", nxt, self.watch)

    def _finish(self, phase: str, nxt: int, extra: int) -> None:
        self.phase, self.end_minute, self.marks["finished"] = phase, nxt + extra, nxt
