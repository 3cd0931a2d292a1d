"""Deployment strategies and how each one moves traffic and capacity, minute by minute.

A strategy is a small frozen description (:class:`TrafficShift`, :class:`InPlace`,
:class:`EcsRolling`). Its :meth:`~Strategy.rollout` returns a *rollout*: a state machine the
deployment engine steps once per simulated minute, which answers with a :class:`Tick` — the share
of traffic on the new version, the share that finds no healthy target, the capacity running, and
what happened. A rollback is another rollout (:meth:`~Strategy.rollback`) that starts from
wherever the failed one stopped.

What each strategy does, and the AWS behaviour it follows:

* :class:`TrafficShift` — CodeDeploy's ECS blue/green and Lambda traffic shifting. ECS: a
  replacement task set is created at full size (100% extra capacity), traffic moves to it on the
  configuration's schedule (``DeploymentConfig.traffic_schedule()``: all at once, canary, linear)
  by changing the ALB listener's target-group weights, and the original task set is terminated
  ``termination_wait_minutes`` after the last shift. Lambda: the alias weights move on the same
  schedule; Lambda needs no extra capacity. A rollback reroutes all traffic to the original at
  once. (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html,
  https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html)
* :class:`InPlace` — CodeDeploy EC2/on-premises in-place: instances are taken out of service in
  batches of ``DeploymentConfig.instance_batches(n)``; the deployment fails as soon as going on
  would leave fewer healthy instances than the minimum, and succeeds only if at least the
  minimum (and at least one) instance was deployed to
  (https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html). A rollback is
  an in-place deployment of the last good revision to every instance, those running the failed
  revision first.
* :class:`EcsRolling` — the ECS rolling update (not CodeDeploy): ``minimumHealthyPercent``,
  ``maximumPercent`` and the deployment circuit breaker (:mod:`labs.deploy.rolling`).

Timing assumptions (not published by AWS, chosen to be typical): an ECS task is healthy a minute
after it starts; an EC2 batch takes ``minutes_per_batch`` (2) minutes from deregistration to
registration; CodeDeploy waits ``install_timeout_minutes`` (5) for a replacement task set to get
healthy before it fails the deployment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labs.deploy import configs
from labs.deploy.configs import DeploymentConfig
from labs.deploy.releases import Release
from labs.deploy.rolling import CircuitBreaker, RollingUpdate, task_limits
from labs.errors import InputError

__all__ = [
    "EcsRolling",
    "InPlace",
    "Rollout",
    "Strategy",
    "Tick",
    "TrafficShift",
]

IN_PROGRESS, SUCCEEDED, FAILED = "InProgress", "Succeeded", "Failed"


@dataclass
class Tick:
    """What a rollout does in one minute.

    Attributes:
        percent_new: Share of the served traffic on the version this rollout deploys (0 to
            100); in a rollback, that is the version being restored.
        unavailable_pct: Share of all traffic that finds no healthy target (0 to 100).
        capacity_pct: Tasks or instances running (starting ones included), % of the desired.
        healthy_pct: Tasks or instances in service (serving traffic), % of the desired.
        events: What happened this minute, one line each.
    """

    percent_new: float
    unavailable_pct: float = 0.0
    capacity_pct: float = 100.0
    healthy_pct: float = 100.0
    events: list[str] = field(default_factory=list)


class Rollout:
    """A deployment in progress; the engine calls :meth:`tick` once per simulated minute.

    Attributes:
        status: ``InProgress``, ``Succeeded`` or ``Failed``.
        reason: Why it failed (empty otherwise).
        full_minute: The minute the rollout was complete on the new version — all traffic
            shifted, every instance or the desired count of tasks on it — or None.
    """

    def __init__(self) -> None:
        """Start in progress."""
        self.status = IN_PROGRESS
        self.reason = ""
        self.full_minute: int | None = None
        self.stopped = False

    def tick(self, minute: int) -> Tick:  # pragma: no cover - interface
        """Advance to ``minute`` (0 = the deployment's start) and say what the minute looks like."""
        raise NotImplementedError

    def _fail(self, reason: str) -> None:
        self.status, self.reason = FAILED, reason

    def stop(self) -> None:
        """Stop without rolling back: start nothing new, leave traffic where it is."""
        self.stopped = True


def _config(config: str | DeploymentConfig) -> DeploymentConfig:
    return config if isinstance(config, DeploymentConfig) else configs.get(config)


def _short(name: str) -> str:
    return name.removeprefix("CodeDeployDefault.")


class Strategy:
    """Base class of the strategies; see the module docstring."""

    platform: str = ""
    uses_codedeploy: bool = True

    @property
    def label(self) -> str:  # pragma: no cover - interface
        """A short name for tables and plots."""
        raise NotImplementedError

    def rollout(self, release: Release, rng: np.random.Generator) -> Rollout:  # pragma: no cover
        """Return the rollout of ``release``."""
        raise NotImplementedError

    def rollback(
        self, failed: Rollout, baseline: Release, rng: np.random.Generator
    ) -> Rollout:  # pragma: no cover
        """Return the rollout that puts ``baseline`` back, starting where ``failed`` stopped."""
        raise NotImplementedError

    def longest_minutes(self) -> int:  # pragma: no cover
        """An upper bound of the deployment's length, to reserve simulated time."""
        raise NotImplementedError


# --------------------------------------------------------------------------------------------
# ECS blue/green and Lambda: traffic shifting
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrafficShift(Strategy):
    """CodeDeploy traffic shifting: ECS blue/green behind an ALB, or a Lambda alias.

    Args:
        config: An ECS or Lambda deployment configuration (name or object).
        desired_count: Tasks in each ECS task set.
        termination_wait_minutes: ECS: minutes the original task set runs after the last shift
            (``terminationWaitTimeInMinutes``); rollback is still possible meanwhile.
        task_start_minutes: ECS: minutes for a replacement task to get healthy.
        install_timeout_minutes: ECS: minutes CodeDeploy waits for the replacement task set.
    """

    config: str | DeploymentConfig = "CodeDeployDefault.ECSCanary10Percent5Minutes"
    desired_count: int = 6
    termination_wait_minutes: int = 5
    task_start_minutes: int = 1
    install_timeout_minutes: int = 5

    def __post_init__(self) -> None:
        """Check the configuration shifts traffic."""
        config = _config(self.config)
        if config.traffic_routing is None:
            raise InputError(
                f"{config.name} is an EC2/on-premises configuration: it does not shift traffic.",
                where="config",
                hint="Use InPlace(config=...) for it, or an ECS/Lambda configuration here.",
            )
        object.__setattr__(self, "config", config)

    @property
    def deployment_config(self) -> DeploymentConfig:
        """The configuration object."""
        assert isinstance(self.config, DeploymentConfig)
        return self.config

    @property
    def platform(self) -> str:  # type: ignore[override]
        """``ECS`` or ``Lambda``."""
        return self.deployment_config.compute_platform

    @property
    def label(self) -> str:
        """e.g. ``"ECS blue/green · ECSCanary10Percent5Minutes"``."""
        kind = "ECS blue/green" if self.platform == "ECS" else "Lambda"
        return f"{kind} · {_short(self.deployment_config.name)}"

    def longest_minutes(self) -> int:
        """Install, every shift, the termination wait, and room for a rollback."""
        last = self.deployment_config.traffic_schedule()[-1][0]
        return self.install_timeout_minutes + last + self.termination_wait_minutes + 5

    def rollout(self, release: Release, rng: np.random.Generator) -> Rollout:
        """Shift traffic to ``release`` on the configuration's schedule."""
        return _ShiftRollout(self, release, rng)

    def rollback(self, failed: Rollout, baseline: Release, rng: np.random.Generator) -> Rollout:
        """Reroute all traffic to the original at once, then remove the replacement."""
        assert isinstance(failed, _ShiftRollout)
        return _RerouteRollout(self, failed.capacity)


class _ShiftRollout(Rollout):
    def __init__(self, spec: TrafficShift, release: Release, rng: np.random.Generator) -> None:
        super().__init__()
        self.spec, self.release, self.rng = spec, release, rng
        self.schedule = spec.deployment_config.traffic_schedule()
        self.ecs = spec.platform == "ECS"
        self.ready_minute: int | None = None if self.ecs else 0
        self.healthy = 0
        self.pending = 0
        self.percent = 0.0
        self.capacity = 100.0

    def _provision(self, minute: int, events: list[str]) -> None:
        n = self.spec.desired_count
        if minute == 0:
            self.pending = n
            events.append(
                f"replacement task set created: starting {n} tasks of {self.release.version}"
            )
            return
        if minute % self.spec.task_start_minutes:
            return
        failed = int((self.rng.random(self.pending) < self.release.task_failure_rate).sum())
        self.healthy += self.pending - failed
        self.pending = failed  # failed tasks are started again
        if failed:
            events.append(f"{failed} replacement task(s) failed to start")
        if self.healthy == n:
            self.ready_minute = minute
            events.append("replacement task set healthy")
        elif minute >= self.spec.install_timeout_minutes:
            self._fail(
                f"the replacement task set did not get healthy in "
                f"{self.spec.install_timeout_minutes} minutes ({self.healthy}/{n} tasks)"
            )
            events.append("deployment failed: replacement task set not healthy")

    def tick(self, minute: int) -> Tick:
        events: list[str] = []
        if self.ready_minute is None and self.status == IN_PROGRESS:
            self._provision(minute, events)
        if self.ecs:
            self.capacity = 200.0 if self.status != SUCCEEDED else 100.0
        if self.ready_minute is not None and self.status == IN_PROGRESS and not self.stopped:
            elapsed = minute - self.ready_minute
            target = max(p for t, p in self.schedule if t <= elapsed) if elapsed >= 0 else 0
            if target != self.percent:
                self.percent = float(target)
                events.append(f"traffic shifted: {target}% to {self.release.version}")
            if self.percent >= 100 and self.full_minute is None:
                self.full_minute = minute
            wait = self.spec.termination_wait_minutes if self.ecs else 0
            if self.full_minute is not None and minute >= self.full_minute + wait:
                self.status = SUCCEEDED
                if self.ecs:
                    self.capacity = 100.0
                    events.append("original task set terminated")
        return Tick(self.percent, 0.0, self.capacity, 100.0, events)


class _RerouteRollout(Rollout):
    def __init__(self, spec: TrafficShift, capacity: float) -> None:
        super().__init__()
        self.spec, self.capacity, self.step = spec, capacity, 0

    def tick(self, minute: int) -> Tick:
        events = []
        if self.step == 0:
            where = "original task set" if self.spec.platform == "ECS" else "original version"
            events.append(f"rollback: all traffic rerouted to the {where}")
        if self.step >= 1 or self.spec.platform != "ECS":
            if self.spec.platform == "ECS" and self.capacity > 100:
                events.append("replacement task set terminated")
            self.capacity = 100.0
            self.status = SUCCEEDED
        self.step += 1
        return Tick(100.0, 0.0, self.capacity, 100.0, events)


# --------------------------------------------------------------------------------------------
# EC2/on-premises: in-place
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InPlace(Strategy):
    """CodeDeploy EC2/on-premises in-place deployment behind a load balancer.

    Args:
        config: A Server deployment configuration (``CodeDeployDefault.OneAtATime``,
            ``HalfAtATime``, ``AllAtOnce`` or a custom one).
        instances: Instances in the deployment group.
        minutes_per_batch: Minutes an instance is out of service while the revision installs.
    """

    config: str | DeploymentConfig = "CodeDeployDefault.HalfAtATime"
    instances: int = 6
    minutes_per_batch: int = 2

    platform = "Server"

    def __post_init__(self) -> None:
        """Check the configuration deploys to instances, and that it can deploy at all."""
        config = _config(self.config)
        if config.minimum_healthy_hosts is None:
            raise InputError(
                f"{config.name} is an {config.compute_platform} configuration: it shifts "
                "traffic, it does not deploy to instances in place.",
                where="config",
                hint="Use TrafficShift(config=...) for it.",
            )
        config.instance_batches(self.instances)  # raises when no instance can be taken out
        object.__setattr__(self, "config", config)

    @property
    def deployment_config(self) -> DeploymentConfig:
        """The configuration object."""
        assert isinstance(self.config, DeploymentConfig)
        return self.config

    @property
    def label(self) -> str:
        """e.g. ``"EC2 in-place · HalfAtATime"``."""
        return f"EC2 in-place · {_short(self.deployment_config.name)}"

    def longest_minutes(self) -> int:
        """Twice the batches (deployment and a rollback), and a margin."""
        batches = len(self.deployment_config.instance_batches(self.instances))
        return 2 * batches * self.minutes_per_batch + 5

    def rollout(self, release: Release, rng: np.random.Generator) -> Rollout:
        """Deploy ``release`` to the instances in batches."""
        versions = ["old"] * self.instances
        return _InPlaceRollout(self, release, rng, versions, list(range(self.instances)))

    def rollback(self, failed: Rollout, baseline: Release, rng: np.random.Generator) -> Rollout:
        """Redeploy the last good revision to every instance, the failed revision's first.

        (CodeDeploy redeploys the last good revision to the deployment group; the order of the
        instances is the engine's choice.)
        """
        assert isinstance(failed, _InPlaceRollout)
        # Instances caught installing the release are out of service: they go first (that
        # restores capacity soonest), then those serving the release, then the untouched ones.
        mapping = {"old": "old", "new": "bad", "deploying": "failed", "failed": "failed"}
        state = [mapping[s] for s in failed.state]
        rank = {"failed": 0, "bad": 1, "old": 2}
        order = sorted(range(self.instances), key=lambda i: (rank[state[i]], i))
        return _InPlaceRollout(self, baseline, rng, state, order, rollback=True)


class _InPlaceRollout(Rollout):
    """Each instance is ``old`` (the revision before), ``new`` (this rollout's revision),
    ``bad`` (a rollback: still on the failed revision), ``deploying`` or ``failed``."""

    def __init__(
        self,
        spec: InPlace,
        release: Release,
        rng: np.random.Generator,
        state: list[str],
        order: list[int],
        *,
        rollback: bool = False,
    ) -> None:
        super().__init__()
        self.spec, self.release, self.rng = spec, release, rng
        self.state = list(state)
        self.rollback = rollback
        n = spec.instances
        healthy = spec.deployment_config.minimum_healthy_hosts
        assert healthy is not None
        self.required = healthy.healthy_required(n)
        sizes = spec.deployment_config.instance_batches(n)
        bounds = np.cumsum([0, *sizes])
        self.batches = [order[bounds[i] : bounds[i + 1]] for i in range(len(sizes))]
        self.batch = -1
        self.batch_end = 0
        self.succeeded_count = 0

    def _in_service(self, i: int) -> bool:
        return self.state[i] in ("old", "new", "bad")

    def _finish_batch(self, events: list[str]) -> None:
        instances = self.batches[self.batch]
        failed = self.rng.random(len(instances)) < self.release.task_failure_rate
        for i, bad in zip(instances, failed, strict=True):
            self.state[i] = "failed" if bad else "new"
        ok = int((~failed).sum())
        self.succeeded_count += ok
        text = f"batch {self.batch + 1}: {ok} instance(s) back in service on {self.release.version}"
        events.append(text + (f", {int(failed.sum())} failed" if failed.any() else ""))

    def _next_batch(self, minute: int, events: list[str]) -> None:
        nxt = self.batch + 1
        needed = max(self.required, 1)
        if nxt == len(self.batches):
            if self.succeeded_count >= needed:
                self.status = SUCCEEDED
            else:
                self._fail(
                    f"only {self.succeeded_count} of {self.spec.instances} instances were deployed "
                    f"to; {needed} needed"
                )
                events.append("deployment failed: too few instances deployed to")
            return
        healthy = sum(self._in_service(i) for i in range(self.spec.instances))
        left = healthy - sum(self._in_service(i) for i in self.batches[nxt])
        if left < self.required:
            self._fail(
                f"deploying batch {nxt + 1} would leave {left} healthy instance(s), below the "
                f"minimum of {self.required}"
            )
            events.append("deployment failed: minimum healthy hosts")
            return
        self.batch, self.batch_end = nxt, minute + self.spec.minutes_per_batch
        for i in self.batches[nxt]:
            self.state[i] = "deploying"
        events.append(
            f"batch {nxt + 1}/{len(self.batches)}: {len(self.batches[nxt])} instance(s) out of "
            f"service, installing {self.release.version}"
        )

    def tick(self, minute: int) -> Tick:
        events: list[str] = []
        if self.status == IN_PROGRESS and minute >= self.batch_end:
            if self.batch >= 0 and any(
                self.state[i] == "deploying" for i in self.batches[self.batch]
            ):
                self._finish_batch(events)
            if not self.stopped:
                self._next_batch(minute, events)
        on_target = sum(s == "new" or (self.rollback and s == "old") for s in self.state)
        serving = sum(self._in_service(i) for i in range(self.spec.instances))
        percent = 100.0 * on_target / serving if serving else 0.0
        if not self.rollback and self.full_minute is None and all(s == "new" for s in self.state):
            self.full_minute = minute  # every instance in service on the release
        healthy = 100.0 * serving / self.spec.instances
        return Tick(percent, 0.0 if serving else 100.0, 100.0, healthy, events)


# --------------------------------------------------------------------------------------------
# ECS rolling update
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EcsRolling(Strategy):
    """An Amazon ECS rolling update with its bounds and circuit breaker.

    Args:
        desired_count: The service's desired count.
        minimum_healthy_percent: ``minimumHealthyPercent`` (default 100).
        maximum_percent: ``maximumPercent`` (default 200).
        circuit_breaker: ``deploymentCircuitBreaker``.
        task_start_minutes: Minutes from a task's start to healthy (or failed).
    """

    desired_count: int = 6
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    circuit_breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    task_start_minutes: int = 1

    platform = "ECS rolling"
    uses_codedeploy = False

    def __post_init__(self) -> None:
        """Check the bounds leave room to replace tasks."""
        task_limits(self.desired_count, self.minimum_healthy_percent, self.maximum_percent)

    @property
    def label(self) -> str:
        """e.g. ``"ECS rolling · min 100% max 200%"``."""
        return f"ECS rolling · min {self.minimum_healthy_percent}% max {self.maximum_percent}%"

    def deployment_configuration(
        self, alarm_names: list[str], alarm_rollback: bool
    ) -> dict[str, Any]:
        """Return ECS's ``deploymentConfiguration`` for ``update_service``."""
        config: dict[str, Any] = {
            "minimumHealthyPercent": self.minimum_healthy_percent,
            "maximumPercent": self.maximum_percent,
            "deploymentCircuitBreaker": self.circuit_breaker.to_api(),
        }
        if alarm_names:
            config["alarms"] = {
                "alarmNames": alarm_names,
                "enable": True,
                "rollback": alarm_rollback,
            }
        return config

    def longest_minutes(self) -> int:
        """Enough rounds to replace every task twice (deployment and rollback), and a margin."""
        minimum, maximum = task_limits(
            self.desired_count, self.minimum_healthy_percent, self.maximum_percent
        )
        per_round = max(1, maximum - minimum)
        rounds = math.ceil(self.desired_count / per_round) + 1
        return 2 * rounds * (self.task_start_minutes + 1) + 10

    def rollout(self, release: Release, rng: np.random.Generator) -> Rollout:
        """Replace the tasks with tasks of ``release``."""
        update = RollingUpdate(
            self.desired_count,
            self.minimum_healthy_percent,
            self.maximum_percent,
            task_failure_rate=release.task_failure_rate,
            task_start_minutes=self.task_start_minutes,
            breaker=self.circuit_breaker,
            rng=rng,
        )
        return _RollingRollout(update, release)

    def rollback(self, failed: Rollout, baseline: Release, rng: np.random.Generator) -> Rollout:
        """A new rolling deployment back to the last completed task definition."""
        assert isinstance(failed, _RollingRollout)
        update = RollingUpdate(
            self.desired_count,
            self.minimum_healthy_percent,
            self.maximum_percent,
            old_tasks=failed.update.new_tasks,
            new_tasks=int(failed.update.old_tasks),
            task_failure_rate=baseline.task_failure_rate,
            task_start_minutes=self.task_start_minutes,
            breaker=CircuitBreaker(),
            rng=rng,
        )
        return _RollingRollout(update, baseline, rollback=True)


class _RollingRollout(Rollout):
    def __init__(self, update: RollingUpdate, release: Release, *, rollback: bool = False) -> None:
        super().__init__()
        self.update, self.release, self.rollback = update, release, rollback

    def tick(self, minute: int) -> Tick:
        events: list[str] = []
        u = self.update
        if self.status == IN_PROGRESS and not self.stopped:
            events = [f"{e} ({self.release.version})" if "task" in e else e for e in u.tick(minute)]
            if u.tripped:
                self._fail(
                    f"the deployment circuit breaker tripped after {u.failures} failed tasks "
                    f"(threshold {u.threshold})"
                )
            elif u.done:
                self.status = SUCCEEDED
        healthy = u.healthy
        percent = 100.0 * u.new_tasks / healthy if healthy else 0.0
        if not self.rollback and u.done and self.full_minute is None:
            self.full_minute = minute  # the desired count of tasks, all on the release
        unavailable = 0.0 if healthy else 100.0
        running = 100.0 * u.running / u.desired_count
        return Tick(percent, unavailable, running, 100.0 * healthy / u.desired_count, events)
