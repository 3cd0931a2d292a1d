"""Amazon ECS rolling updates: how many tasks run, and when the circuit breaker trips.

The ECS scheduler replaces a service's tasks within two bounds of the desired count
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html):

* ``minimumHealthyPercent`` (default 100): at least ``ceil(desired × min / 100)`` tasks stay
  RUNNING and healthy — "This value is rounded up";
* ``maximumPercent`` (default 200): at most ``floor(desired × max / 100)`` tasks are RUNNING or
  PENDING — "This value is rounded down".

The deployment circuit breaker (``deploymentCircuitBreaker: {enable, rollback}``) fails a
deployment after a number of failed tasks: ``0.5 × desired count``, with "a minimum threshold of
3 and a maximum threshold of 200"; "when the result of the calculation is greater than the
minimum of 3, but smaller than the maximum of 200, the failure threshold is set to the
calculated threshold (rounded up)"
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html).
By default (``resetOnHealthyTask`` true) a task that gets healthy resets the failure count.

:class:`RollingUpdate` steps a rolling update minute by minute. Each minute the scheduler stops
old tasks down to the minimum healthy count, then starts new tasks up to the maximum; a started
task is healthy (or has failed) ``task_start_minutes`` later, and failed tasks are replaced.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from labs.errors import InputError

__all__ = [
    "CircuitBreaker",
    "RollingUpdate",
    "circuit_breaker_threshold",
    "task_limits",
]


def _count(value: object, name: str, *, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(f"{name} must be a whole number, got {value!r}.", where=name)
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InputError(f"{name} must be {span}, got {value}.", where=name)
    return int(value)


def circuit_breaker_threshold(desired_count: int) -> int:
    """Return how many failed tasks trip the ECS deployment circuit breaker.

    ``ceil(0.5 × desired_count)`` clamped to [3, 200]: desired 1 → 3, 6 → 3, 7 → 4, 400 → 200.
    """
    desired = _count(desired_count, "desired_count", low=0)
    return min(max(math.ceil(0.5 * desired), 3), 200)


def task_limits(
    desired_count: int, minimum_healthy_percent: int = 100, maximum_percent: int = 200
) -> tuple[int, int]:
    """Return ``(minimum healthy tasks, maximum tasks)`` for a rolling update.

    The minimum is rounded up and the maximum rounded down, as the ECS developer guide says:
    desired 4 at 50%/200% → (2, 8); desired 2 at 75% → a minimum of 2 ("the scheduler can't stop
    any tasks").

    Raises:
        InputError: For percentages out of range, or bounds that leave no room to replace a
            single task (the deployment could never progress).
    """
    desired = _count(desired_count, "desired_count", low=1)
    low = _count(minimum_healthy_percent, "minimumHealthyPercent", low=0, high=100)
    high = _count(maximum_percent, "maximumPercent", low=1)
    minimum = math.ceil(desired * low / 100)
    maximum = math.floor(desired * high / 100)
    if maximum < minimum:
        raise InputError(
            f"maximumPercent {high}% allows {maximum} tasks, fewer than the {minimum} that "
            f"minimumHealthyPercent {low}% keeps running.",
            where="maximumPercent",
            hint="maximumPercent must allow at least as many tasks as the minimum healthy.",
        )
    if minimum >= desired and maximum <= desired:
        raise InputError(
            f"With {desired} tasks, minimumHealthyPercent {low}% keeps all {minimum} running and "
            f"maximumPercent {high}% allows no extra task: ECS can neither stop an old task nor "
            "start a new one.",
            where="minimumHealthyPercent / maximumPercent",
            hint="Lower minimumHealthyPercent (e.g. 50) or raise maximumPercent (e.g. 200).",
        )
    return minimum, maximum


@dataclass(frozen=True)
class CircuitBreaker:
    """ECS ``deploymentCircuitBreaker``: fail (and optionally roll back) after failed tasks.

    Attributes:
        enable: Whether the circuit breaker watches the deployment.
        rollback: Whether a failed deployment rolls back to the last completed one.
        reset_on_healthy_task: A healthy task resets the failure count (ECS's default).
    """

    enable: bool = False
    rollback: bool = False
    reset_on_healthy_task: bool = True

    def to_api(self) -> dict[str, bool]:
        """Return ECS's ``deploymentCircuitBreaker`` dict."""
        return {"enable": self.enable, "rollback": self.rollback}


@dataclass
class RollingUpdate:
    """One ECS rolling update, stepped a minute at a time.

    Args:
        desired_count: The service's desired count.
        minimum_healthy_percent: ``minimumHealthyPercent``.
        maximum_percent: ``maximumPercent``.
        old_tasks: Healthy tasks of the version being replaced (default: the desired count).
        new_tasks: Healthy tasks already of the target version (a rollback starts with some).
        task_failure_rate: Probability that a started task fails instead of getting healthy.
        task_start_minutes: Minutes from start to healthy (or failed).
        breaker: The circuit breaker.
        rng: Random generator for task failures.
    """

    desired_count: int
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    old_tasks: int | None = None
    new_tasks: int = 0
    task_failure_rate: float = 0.0
    task_start_minutes: int = 1
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))

    def __post_init__(self) -> None:
        """Compute the bounds and the circuit breaker threshold."""
        self.minimum, self.maximum = task_limits(
            self.desired_count, self.minimum_healthy_percent, self.maximum_percent
        )
        if self.old_tasks is None:
            self.old_tasks = self.desired_count - self.new_tasks
        self.threshold = circuit_breaker_threshold(self.desired_count)
        self.pending: list[int] = []  # minute each pending task becomes healthy or fails
        self.failures = 0
        self.failed_total = 0
        self.tripped = False

    @property
    def done(self) -> bool:
        """True when every task runs the new version and the desired count is healthy."""
        return self.old_tasks == 0 and self.new_tasks == self.desired_count and not self.pending

    @property
    def running(self) -> int:
        """Tasks RUNNING or PENDING (what the cluster pays for)."""
        return int(self.old_tasks) + self.new_tasks + len(self.pending)

    @property
    def healthy(self) -> int:
        """Tasks serving traffic."""
        return int(self.old_tasks) + self.new_tasks

    def tick(self, minute: int) -> list[str]:
        """Advance to ``minute``: resolve started tasks, stop old ones, start new ones.

        Returns:
            What happened, one line each (empty when nothing did).
        """
        events: list[str] = []
        due = [t for t in self.pending if t <= minute]
        self.pending = [t for t in self.pending if t > minute]
        if due:
            failed = self.rng.random(len(due)) < self.task_failure_rate
            for task_failed in failed:  # per task, in start order (a handful, never per request)
                if task_failed:
                    self.failures += 1
                    self.failed_total += 1
                else:
                    self.new_tasks += 1
                    if self.breaker.reset_on_healthy_task:
                        self.failures = 0
            if (~failed).any():
                events.append(f"{int((~failed).sum())} new task(s) healthy")
            if failed.any():
                events.append(f"{int(failed.sum())} new task(s) failed to start")
            if self.breaker.enable and self.failures >= self.threshold:
                self.tripped = True
                events.append(
                    f"circuit breaker tripped: {self.failures} failed tasks "
                    f"(threshold {self.threshold})"
                )
                return events
        # Old tasks go as far down as the minimum healthy count allows ("the service scheduler
        # may stop two existing tasks to free up cluster capacity before starting two new
        # tasks"), then new tasks start up to the maximum.
        stop = max(0, min(int(self.old_tasks), self.healthy - self.minimum))
        if stop:
            self.old_tasks -= stop
            events.append(f"stopped {stop} old task(s)")
        needed = self.desired_count - self.new_tasks - len(self.pending)
        room = self.maximum - self.running
        start = max(0, min(needed, room))
        if start:
            self.pending += [minute + self.task_start_minutes] * start
            events.append(f"started {start} new task(s)")
        return events
