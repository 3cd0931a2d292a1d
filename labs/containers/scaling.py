"""ECS service auto scaling: target tracking, stored in the emulator and simulated over a day.

**What the emulator stores** (moto 5.2.5, measured): ``RegisterScalableTarget`` (it checks that
the ECS service exists and refuses nothing else, not even ``MinCapacity`` above
``MaxCapacity``), ``PutScalingPolicy`` with ``TargetTrackingScaling`` (the configuration reads
back as written; ``ALBRequestCountPerTarget`` without the ``ResourceLabel`` AWS requires is
accepted; so is a policy on a target that was never registered) and, for an ECS policy, two
CloudWatch alarms named like the ones AWS creates — ``TargetTracking-<resource>-AlarmHigh-<uuid>``
(3 periods of 60 s, ``GreaterThanThreshold``) and ``…-AlarmLow-<uuid>`` (15 periods,
``LessThanThreshold``) — but always on ``AWS/ECS CPUUtilization`` and always with threshold 6,
whatever the metric and target. Putting a policy again under the same name leaves the old
alarms behind (this module deletes the policy first on the local target);
``DeleteScalingPolicy`` deletes its alarms; ``DeregisterScalableTarget`` keeps the target's
policies; ``DescribeScalingActivities`` and ``ListTagsForResource`` answer HTTP 500. Nothing
ever scales: no alarm is evaluated, no desired count changes.

**What the simulation implements** (:func:`simulate`, one step per simulated minute):

* The metric: ``ECSServiceAverageCPUUtilization`` — the tasks' average CPU, the served requests
  over what the running tasks can serve; or ``ALBRequestCountPerTarget`` — requests per minute
  per running task.
* The alarms target tracking creates and manages: scale out when the metric is above the target
  for 3 consecutive one-minute datapoints; scale in when it is below 90% of the target for 15
  consecutive datapoints. AWS documents that it scales in only once the metric is "sufficiently
  below the target value (usually more than 10% lower)" and scales out "as quickly as possible
  in proportion to the metric" (Application Auto Scaling user guide, "How target tracking
  scaling for Application Auto Scaling works",
  https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html);
  the 3 and 15 datapoints of 60 s are the shapes of the alarms the emulator creates, as AWS
  names them; the 90% threshold is our reading of "usually more than 10% lower".
* The adjustment: the new desired count is ``ceil(capacity × metric / target)`` — proportional,
  rounded up in both directions, because "Service Auto Scaling always behaves conservatively by
  rounding up or down" so as not to add too little or remove too much (ECS developer guide,
  "Use a target metric to scale Amazon ECS services",
  https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
  Clamped to ``[MinCapacity, MaxCapacity]``.
* Cooldowns (``ScaleOutCooldown``/``ScaleInCooldown``, 300 s by default for ECS services): after
  a scale-out, "the capacity added by the initiating scale-out activity is calculated as part
  of the desired capacity for the next scale-out" — during the cooldown the proportion is taken
  from the capacity *before* that scale-out, and only a larger result scales out again; after a
  scale-in, no other scale-in until the cooldown ends, but a scale-out may happen at once
  (``TargetTrackingScalingPolicyConfiguration`` in the Application Auto Scaling API reference).
* Tasks: a started task serves after ``task_start_minutes`` (Fargate pulls the image, starts
  the container and the ALB health check passes: 2 minutes here, a modelling choice); a
  removed task stops serving at once (deregistration delay ignored). Fargate bills running and
  starting tasks.
* Latency: each task is an M/M/1 queue (Poisson arrivals, exponential service at ``task_rps``
  requests per second): the 99th percentile of the waiting time is ``ln(100 ρ) / (μ (1 − ρ))``
  for a utilisation ρ — the textbook result ``P(W > t) = ρ e^(−μ(1−ρ)t)`` (Kleinrock, *Queueing
  Systems*, vol. 1, 1975; https://en.wikipedia.org/wiki/M/M/1_queue) — added to the service's
  healthy p99 (``labs.bookstore.LATENCY_BASELINES``). Requests beyond what the running tasks can
  serve in a minute wait for the next; a request waiting longer than the ALB's idle timeout
  (60 s) is counted at 60 s.

The loop runs once per minute (1,440 steps for a day): the desired count depends on the
alarms, which depend on the capacity the previous minutes had. The load curve, the costs and
the latency are computed for the whole day at once with numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import ClientError

from labs.bookstore.faults import LATENCY_BASELINES
from labs.errors import InputError
from labs.observability.published import client

__all__ = [
    "CPU_METRIC",
    "DIMENSION",
    "FARGATE_GB_HOUR_USD",
    "FARGATE_VCPU_HOUR_USD",
    "HIGH_DATAPOINTS",
    "LOW_DATAPOINTS",
    "LOW_THRESHOLD_RATIO",
    "METRICS",
    "REQUEST_METRIC",
    "ScalingResult",
    "TargetTracking",
    "Workload",
    "apply",
    "compare",
    "daily_load",
    "p99_ms",
    "plot_day",
    "remove",
    "resource_id",
    "simulate",
]

CPU_METRIC = "ECSServiceAverageCPUUtilization"
REQUEST_METRIC = "ALBRequestCountPerTarget"
METRICS = (CPU_METRIC, REQUEST_METRIC)
"""The predefined metrics this lab simulates (Application Auto Scaling ``PredefinedMetricType``)."""
DIMENSION = "ecs:service:DesiredCount"
"""The scalable dimension of an ECS service."""
HIGH_DATAPOINTS = 3
"""Consecutive one-minute datapoints above the target before target tracking scales out."""
LOW_DATAPOINTS = 15
"""Consecutive one-minute datapoints below the scale-in threshold before it scales in."""
LOW_THRESHOLD_RATIO = 0.9
"""Scale-in threshold as a share of the target ("usually more than 10% lower")."""
DEFAULT_COOLDOWN_S = 300
"""ScaleOutCooldown and ScaleInCooldown default for ECS services (seconds)."""
FARGATE_VCPU_HOUR_USD = 0.04048
"""Fargate Linux/x86 per vCPU-hour, us-east-1 (2026 price; check the current price)."""
FARGATE_GB_HOUR_USD = 0.004445
"""Fargate Linux/x86 per GB-hour, us-east-1 (2026 price; check the current price)."""
ALB_IDLE_TIMEOUT_S = 60.0
"""Longest a request waits in the model (the ALB's default idle timeout)."""


def resource_id(cluster: str, service: str) -> str:
    """Return Application Auto Scaling's ``ResourceId`` of an ECS service: ``service/<c>/<s>``."""
    return f"service/{cluster}/{service}"


def _whole(value: Any, name: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise InputError(f"{name} must be a whole number ≥ {low}, got {value!r}.", where=name)
    return int(value)


@dataclass(frozen=True)
class TargetTracking:
    """A target tracking scaling policy for an ECS service, with its scalable target's bounds.

    Attributes:
        target_value: ``TargetValue``: percent CPU, or requests per target per minute.
        metric: ``ECSServiceAverageCPUUtilization`` or ``ALBRequestCountPerTarget``.
        min_capacity: ``MinCapacity`` of the scalable target (tasks).
        max_capacity: ``MaxCapacity`` of the scalable target (tasks).
        scale_out_cooldown: ``ScaleOutCooldown`` in seconds (ECS default 300).
        scale_in_cooldown: ``ScaleInCooldown`` in seconds (ECS default 300).
        disable_scale_in: ``DisableScaleIn``.
    """

    target_value: float = 50.0
    metric: str = CPU_METRIC
    min_capacity: int = 2
    max_capacity: int = 20
    scale_out_cooldown: int = DEFAULT_COOLDOWN_S
    scale_in_cooldown: int = DEFAULT_COOLDOWN_S
    disable_scale_in: bool = False

    def __post_init__(self) -> None:
        """Refuse what Application Auto Scaling refuses, and targets that cannot work."""
        if self.metric not in METRICS:
            raise InputError(
                f"metric {self.metric!r} is not one this lab simulates.",
                where="metric",
                hint=f"Use {CPU_METRIC} or {REQUEST_METRIC}.",
            )
        value = self.target_value
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise InputError(
                f"target_value must be a positive number, got {value!r}.", where="target_value"
            )
        if self.metric == CPU_METRIC and value > 100:
            raise InputError(
                f"a CPU utilisation target is a percentage, got {value}.",
                where="target_value",
                hint="e.g. 50 for 50% CPU.",
            )
        low = _whole(self.min_capacity, "min_capacity")
        high = _whole(self.max_capacity, "max_capacity", 1)
        if low > high:
            raise InputError(
                f"MinCapacity {low} is above MaxCapacity {high}.",
                where="min_capacity",
                hint="Application Auto Scaling refuses it (the emulator does not).",
            )
        _whole(self.scale_out_cooldown, "scale_out_cooldown")
        _whole(self.scale_in_cooldown, "scale_in_cooldown")

    @property
    def label(self) -> str:
        """A short name: ``"CPU 50% · 2-20 tasks · cooldown out 300 s / in 300 s"``."""
        what = (
            f"CPU {self.target_value:g}%"
            if self.metric == CPU_METRIC
            else f"{self.target_value:g} req/target/min"
        )
        return (
            f"{what} · {self.min_capacity}-{self.max_capacity} tasks · cooldown out "
            f"{self.scale_out_cooldown} s / in {self.scale_in_cooldown} s"
        )

    def scalable_target_request(
        self, cluster: str, service: str, tags: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Return ``RegisterScalableTarget``'s arguments."""
        request: dict[str, Any] = {
            "ServiceNamespace": "ecs",
            "ResourceId": resource_id(cluster, service),
            "ScalableDimension": DIMENSION,
            "MinCapacity": self.min_capacity,
            "MaxCapacity": self.max_capacity,
        }
        if tags:
            request["Tags"] = dict(tags)
        return request

    def policy_request(
        self, name: str, cluster: str, service: str, *, resource_label: str | None = None
    ) -> dict[str, Any]:
        """Return ``PutScalingPolicy``'s arguments.

        Raises:
            InputError: ``ALBRequestCountPerTarget`` without ``resource_label``
                (``app/<alb>/<id>/targetgroup/<tg>/<id>``): AWS requires it, the emulator not.
        """
        spec: dict[str, Any] = {"PredefinedMetricType": self.metric}
        if self.metric == REQUEST_METRIC:
            if not resource_label:
                raise InputError(
                    "ALBRequestCountPerTarget needs a ResourceLabel naming the target group.",
                    where="resource_label",
                    hint="app/<load-balancer>/<id>/targetgroup/<target-group>/<id>: the ends of "
                    "the load balancer's and the target group's ARNs.",
                )
            spec["ResourceLabel"] = resource_label
        return {
            "PolicyName": name,
            "ServiceNamespace": "ecs",
            "ResourceId": resource_id(cluster, service),
            "ScalableDimension": DIMENSION,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": float(self.target_value),
                "PredefinedMetricSpecification": spec,
                "ScaleOutCooldown": self.scale_out_cooldown,
                "ScaleInCooldown": self.scale_in_cooldown,
                "DisableScaleIn": self.disable_scale_in,
            },
        }

    def alarms(self, cluster: str, service: str) -> pd.DataFrame:
        """Return the two alarms target tracking manages for the policy, as this lab models them."""
        if self.metric == CPU_METRIC:
            metric, statistic = "AWS/ECS CPUUtilization (ClusterName, ServiceName)", "Average"
        else:
            metric, statistic = "AWS/ApplicationELB RequestCountPerTarget (TargetGroup)", "Sum"
        base = f"TargetTracking-{resource_id(cluster, service)}"
        return pd.DataFrame(
            [
                {
                    "alarm": f"{base}-AlarmHigh-…",
                    "metric": metric,
                    "statistic": statistic,
                    "period (s)": 60,
                    "datapoints": f"{HIGH_DATAPOINTS} of {HIGH_DATAPOINTS}",
                    "condition": f"> {self.target_value:g}",
                    "action": "scale out",
                },
                {
                    "alarm": f"{base}-AlarmLow-…",
                    "metric": metric,
                    "statistic": statistic,
                    "period (s)": 60,
                    "datapoints": f"{LOW_DATAPOINTS} of {LOW_DATAPOINTS}",
                    "condition": f"< {LOW_THRESHOLD_RATIO * self.target_value:g}",
                    "action": "scale in" if not self.disable_scale_in else "(scale-in disabled)",
                },
            ]
        )


@dataclass(frozen=True)
class Workload:
    """How the service behaves under load.

    Attributes:
        service: The bookstore service (its healthy p99 is the latency floor).
        task_rps: Requests per second one task serves at 100% CPU.
        task_cpu: The task's CPU units (its Fargate size, for the cost).
        task_memory: The task's memory in MiB.
        task_start_minutes: Minutes from a scale-out to the new task serving.
    """

    service: str = "orders"
    task_rps: float = 50.0
    task_cpu: int = 256
    task_memory: int = 512
    task_start_minutes: int = 2

    def __post_init__(self) -> None:
        """Check the numbers."""
        if self.service not in LATENCY_BASELINES:
            raise InputError(
                f"unknown bookstore service {self.service!r}.",
                where="service",
                hint=f"One of {', '.join(LATENCY_BASELINES)}.",
            )
        if not isinstance(self.task_rps, int | float) or self.task_rps <= 0:
            raise InputError(f"task_rps must be positive, got {self.task_rps!r}.", where="task_rps")
        _whole(self.task_start_minutes, "task_start_minutes", 1)

    @property
    def task_hour_usd(self) -> float:
        """Fargate's price of one task-hour of this size (Linux/x86, us-east-1)."""
        return (
            self.task_cpu / 1024 * FARGATE_VCPU_HOUR_USD
            + self.task_memory / 1024 * FARGATE_GB_HOUR_USD
        )

    @property
    def base_p99_ms(self) -> float:
        """The service's healthy p99 (ms), with no queueing."""
        return LATENCY_BASELINES[self.service].p99_ms


def daily_load(
    *,
    peak_rps: float = 600.0,
    night_rps: float = 60.0,
    spike_at: str | None = "18:00",
    spike_factor: float = 1.0,
    spike_minutes: float = 30.0,
    noise: float = 0.04,
    seed: int = 7,
) -> pd.Series:
    """Return a day of the bookstore's traffic, requests per second for each minute (1,440 values).

    A quiet night, a morning rise, a lunch peak, the evening peak (the day's highest, at
    ``peak_rps``) and, at ``spike_at``, a newsletter that brings ``spike_factor`` × the traffic
    of the moment on top within two minutes, fading over ``spike_minutes``. Multiplicative noise
    (``noise``, log-normal) is seeded.

    Returns:
        A Series indexed by minute of the day (0 to 1439), named ``load_rps``, with the times
        (``"HH:MM"``) in ``attrs["time"]``.
    """
    if not 0 < night_rps < peak_rps:
        raise InputError(
            f"need 0 < night_rps < peak_rps, got {night_rps} and {peak_rps}.", where="peak_rps"
        )
    minute = np.arange(24 * 60, dtype=float)

    def bump(centre_h: float, width_min: float) -> np.ndarray:
        return np.exp(-0.5 * ((minute - centre_h * 60) / width_min) ** 2)

    shape = 0.55 * bump(10.0, 110) + 0.8 * bump(12.75, 60) + 1.0 * bump(20.5, 100)
    shape /= shape.max()
    load = night_rps + (peak_rps - night_rps) * shape
    if spike_at is not None:
        hours, minutes = (int(x) for x in spike_at.split(":"))
        start = hours * 60 + minutes
        after = minute - start
        rise = np.clip(after / 2.0, 0.0, 1.0)
        fade = np.where(after > 2, np.exp(-(after - 2) / spike_minutes), 1.0)
        load = load * (1.0 + spike_factor * rise * fade * (after >= 0))
    rng = np.random.default_rng(seed)
    load = load * rng.lognormal(0.0, noise, size=minute.size)
    series = pd.Series(load, index=pd.RangeIndex(1440, name="minute"), name="load_rps")
    series.attrs["time"] = [f"{int(m) // 60:02d}:{int(m) % 60:02d}" for m in minute]
    return series


def p99_ms(utilisation: Any, backlog_s: Any, workload: Workload) -> np.ndarray:
    """Return p99 latency (ms): the healthy p99 plus M/M/1 queueing and any backlog wait.

    Args:
        utilisation: Per-task utilisation ρ (0 to 1) for each minute.
        backlog_s: Seconds the oldest waiting request has waited (0 when none), each minute.
        workload: The service (``task_rps`` is the service rate μ).
    """
    rho = np.clip(np.asarray(utilisation, dtype=float), 0.0, 0.99)
    mu = workload.task_rps
    with np.errstate(divide="ignore", invalid="ignore"):
        wait = np.where(rho > 0.01, np.log(np.maximum(100.0 * rho, 1.0)) / (mu * (1.0 - rho)), 0.0)
    total_s = np.minimum(wait + np.asarray(backlog_s, dtype=float), ALB_IDLE_TIMEOUT_S)
    return workload.base_p99_ms + 1000.0 * total_s


@dataclass
class ScalingResult:
    """A day of target tracking, minute by minute.

    Attributes:
        policy: The policy simulated.
        workload: The service simulated.
        timeline: One row per minute: time, load_rps, desired, running, starting, cpu_pct,
            requests_per_target, metric, p99_ms, backlog (requests), high (scale-out alarm in
            ALARM), low (scale-in alarm in ALARM), event.
    """

    policy: TargetTracking
    workload: Workload
    timeline: pd.DataFrame = field(repr=False)

    def summary(self, bound_ms: float | None = None) -> dict[str, Any]:
        """Return the day's figures; with ``bound_ms``, the minutes whose p99 is above it."""
        t = self.timeline
        billed = (t["running"] + t["starting"]).sum() / 60.0
        row: dict[str, Any] = {
            "policy": self.policy.label,
            "p99 max (ms)": round(float(t["p99_ms"].max())),
            "p99 median (ms)": round(float(t["p99_ms"].median())),
        }
        if bound_ms is not None:
            row[f"minutes p99 > {bound_ms:g} ms"] = int((t["p99_ms"] > bound_ms).sum())
        row.update(
            {
                "mean CPU (%)": round(float(t["cpu_pct"].mean()), 1),
                "tasks min-max": f"{int(t['running'].min())}-{int(t['running'].max())}",
                "task-hours": round(float(billed), 1),
                "cost (USD/day)": round(float(billed * self.workload.task_hour_usd), 2),
                "scale-outs": int(t["event"].str.startswith("scale out").sum()),
                "scale-ins": int(t["event"].str.startswith("scale in").sum()),
            }
        )
        return row

    def events(self) -> pd.DataFrame:
        """Return the minutes in which the desired count changed."""
        t = self.timeline
        columns = ["time", "load_rps", "metric", "running", "desired", "event"]
        return t.loc[t["event"] != "", columns]


def _metric(policy: TargetTracking, cpu_pct: float, load_rps: float, running: int) -> float:
    if policy.metric == CPU_METRIC:
        return cpu_pct
    return load_rps * 60.0 / max(running, 1)


def simulate(
    policy: TargetTracking,
    load: pd.Series | Sequence[float],
    workload: Workload | None = None,
    *,
    initial: int | None = None,
) -> ScalingResult:
    """Simulate ``policy`` holding an ECS service at its target through ``load``, minute by minute.

    See the module docstring for the model and its sources.

    Args:
        policy: The target tracking policy and its capacity bounds.
        load: Requests per second, one value per minute (e.g. :func:`daily_load`).
        workload: The service; default :class:`Workload` (orders, 50 req/s per task).
        initial: Tasks running at minute 0; default what the first minute needs at the target,
            within the bounds.

    Returns:
        A :class:`ScalingResult`.
    """
    workload = workload or Workload()
    values = np.asarray(load, dtype=float)
    if values.ndim != 1 or values.size == 0 or not np.isfinite(values).all() or (values < 0).any():
        raise InputError(
            "load must be a sequence of requests per second (finite, ≥ 0), one per minute.",
            where="load",
        )
    times = (
        list(load.attrs["time"])
        if isinstance(load, pd.Series) and "time" in load.attrs
        else [f"{m // 60:02d}:{m % 60:02d}" for m in range(values.size)]
    )
    mu = workload.task_rps
    target = float(policy.target_value)
    if initial is None:
        if policy.metric == CPU_METRIC:
            need = math.ceil(values[0] / (mu * target / 100.0))
        else:
            need = math.ceil(values[0] * 60.0 / target)
        initial = need
    running = min(max(int(initial), policy.min_capacity), policy.max_capacity)
    desired = running
    starting: list[int] = []  # minute each starting task begins to serve
    backlog = 0.0
    above = below = 0
    last_out = last_in = -(10**9)
    base_before_out = desired
    n = values.size
    cols = {
        k: np.zeros(n)
        for k in ("desired", "running", "starting", "cpu", "rpt", "metric", "rho", "wait")
    }
    backlog_col = np.zeros(n)
    high = np.zeros(n, dtype=bool)
    low = np.zeros(n, dtype=bool)
    events = [""] * n
    out_cd = policy.scale_out_cooldown / 60.0
    in_cd = policy.scale_in_cooldown / 60.0
    for minute in range(n):
        ready = sum(1 for t in starting if t <= minute)
        if ready:
            starting = [t for t in starting if t > minute]
            running += ready
        capacity = running * mu * 60.0  # requests the running tasks can serve this minute
        demand = values[minute] * 60.0 + backlog
        served = min(demand, capacity)
        backlog = demand - served
        rho = demand / capacity if capacity else 1.0
        cpu = 100.0 * served / capacity if capacity else 100.0
        metric = _metric(policy, cpu, values[minute], running)
        above = above + 1 if metric > target else 0
        below = below + 1 if metric < LOW_THRESHOLD_RATIO * target else 0
        alarm_high, alarm_low = above >= HIGH_DATAPOINTS, below >= LOW_DATAPOINTS
        event = ""
        if alarm_high:
            cooling = minute - last_out < out_cd
            base = base_before_out if cooling else desired
            wanted = min(policy.max_capacity, math.ceil(base * metric / target - 1e-9))
            if wanted > desired:
                if not cooling:
                    base_before_out = desired
                event = f"scale out {desired} → {wanted}" + (
                    " (larger than the last, in its cooldown)" if cooling else ""
                )
                starting += [minute + workload.task_start_minutes] * (wanted - desired)
                desired, last_out = wanted, minute
        elif alarm_low and not policy.disable_scale_in and minute - last_in >= in_cd:
            wanted = max(policy.min_capacity, math.ceil(desired * metric / target - 1e-9))
            if wanted < desired:
                event = f"scale in {desired} → {wanted}"
                cut = desired - wanted
                cancel = min(cut, len(starting))  # tasks not yet serving go first
                starting = sorted(starting)[: len(starting) - cancel]
                running -= cut - cancel
                desired, last_in = wanted, minute
        cols["desired"][minute] = desired
        cols["running"][minute] = running
        cols["starting"][minute] = len(starting)
        cols["cpu"][minute] = cpu
        cols["rpt"][minute] = values[minute] * 60.0 / max(running, 1)
        cols["metric"][minute] = metric
        cols["rho"][minute] = rho
        cols["wait"][minute] = backlog / (running * mu) if running else ALB_IDLE_TIMEOUT_S
        backlog_col[minute] = backlog
        high[minute], low[minute] = alarm_high, alarm_low
        events[minute] = event
    timeline = pd.DataFrame(
        {
            "minute": np.arange(n),
            "time": times[:n],
            "load_rps": values.round(1),
            "desired": cols["desired"].astype(int),
            "running": cols["running"].astype(int),
            "starting": cols["starting"].astype(int),
            "cpu_pct": cols["cpu"].round(1),
            "requests_per_target": cols["rpt"].round(0),
            "metric": cols["metric"].round(1),
            "p99_ms": p99_ms(cols["rho"], cols["wait"], workload).round(0),
            "backlog": backlog_col.round(0),
            "high": high,
            "low": low,
            "event": events,
        }
    )
    return ScalingResult(policy, workload, timeline)


def compare(
    results: Mapping[str, ScalingResult] | Sequence[ScalingResult], bound_ms: float | None = None
) -> pd.DataFrame:
    """Return one row of :meth:`ScalingResult.summary` per result."""
    items = results.items() if isinstance(results, Mapping) else [(None, r) for r in results]
    rows = []
    for name, result in items:
        row = result.summary(bound_ms)
        if name is not None:
            row = {"name": name, **row}
        rows.append(row)
    return pd.DataFrame(rows)


def plot_day(
    result: ScalingResult, *, bound_ms: float | None = None, title: str | None = None
) -> Any:
    """Return a figure of the day: load, tasks, utilisation and p99 over 24 hours."""
    import matplotlib.pyplot as plt

    t = result.timeline
    hours = t["minute"] / 60.0
    fig, axes = plt.subplots(4, 1, figsize=(10, 9), sharex=True, layout="constrained")
    axes[0].plot(hours, t["load_rps"], color="tab:gray", lw=1)
    axes[0].set_ylabel("load (req/s)")
    axes[1].step(hours, t["desired"], where="post", label="desired", color="tab:orange")
    axes[1].step(hours, t["running"], where="post", label="serving", color="tab:blue")
    axes[1].set_ylabel("tasks")
    axes[1].legend(loc="upper left")
    policy = result.policy
    if policy.metric == CPU_METRIC:
        axes[2].plot(hours, t["cpu_pct"], color="tab:green", lw=1, label="CPU")
        axes[2].set_ylabel("CPU utilisation (%)")
        axes[2].set_ylim(0, 105)
    else:
        axes[2].plot(hours, t["requests_per_target"], color="tab:green", lw=1, label="req/target")
        axes[2].set_ylabel("requests per target (per min)")
    axes[2].axhline(policy.target_value, color="k", ls="--", lw=1, label="target")
    axes[2].axhline(
        LOW_THRESHOLD_RATIO * policy.target_value, color="k", ls=":", lw=1, label="scale-in below"
    )
    axes[2].legend(loc="upper left")
    axes[3].plot(hours, t["p99_ms"], color="tab:red", lw=1)
    if bound_ms is not None:
        axes[3].axhline(bound_ms, color="k", ls="--", lw=1, label=f"bound {bound_ms:g} ms")
        axes[3].legend(loc="upper left")
    axes[3].set_yscale("log")
    axes[3].set_ylabel("p99 latency (ms)")
    axes[3].set_xlabel("time of day (h)")
    axes[3].set_xticks(range(0, 25, 3))
    axes[0].set_title(title or f"Target tracking over a day: {policy.label}")
    return fig


# --------------------------------------------------------------------------------------------
# The emulator (or AWS)
# --------------------------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def apply(
    ctx: Any,
    policy: TargetTracking,
    *,
    cluster: str,
    service: str,
    name: str,
    resource_label: str | None = None,
    lab: str,
) -> dict[str, Any]:
    """Register the service as a scalable target and put ``policy`` on it; return what reads back.

    On the local target an existing policy of the same name is deleted first: the emulator
    would otherwise keep its alarms next to the new ones.

    Returns:
        ``{"target": …, "policy": …, "alarms": [...]}`` as ``DescribeScalableTargets``,
        ``DescribeScalingPolicies`` and ``DescribeAlarms`` return them.
    """
    aas = client(ctx, "application-autoscaling")
    rid = resource_id(cluster, service)
    request = policy.policy_request(name, cluster, service, resource_label=resource_label)
    aas.register_scalable_target(
        **policy.scalable_target_request(cluster, service, tags=ctx.tags(lab=lab))
    )
    if ctx.is_local:
        try:
            aas.delete_scaling_policy(
                PolicyName=name, ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIMENSION
            )
        except ClientError as exc:
            if _code(exc) not in ("ValidationException", "ObjectNotFoundException"):
                raise
    aas.put_scaling_policy(**request)
    target = aas.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[rid])[
        "ScalableTargets"
    ][0]
    policies = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)
    stored = next(p for p in policies["ScalingPolicies"] if p["PolicyName"] == name)
    names = [a["AlarmName"] for a in stored.get("Alarms", [])]
    alarms = (
        client(ctx, "cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"] if names else []
    )
    return {"target": target, "policy": stored, "alarms": alarms}


def remove(ctx: Any, *, cluster: str, service: str) -> list[str]:
    """Delete the service's scaling policies (and their alarms) and deregister it; safe to repeat.

    ``labs.cleanup`` has no Application Auto Scaling cleaner, and the emulator keeps a
    deregistered target's policies, so policies go first.

    Returns:
        What was removed, one line each.
    """
    aas = client(ctx, "application-autoscaling")
    rid = resource_id(cluster, service)
    removed = []
    for p in aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=rid)[
        "ScalingPolicies"
    ]:
        if p["ResourceId"] != rid:
            continue  # the emulator matches ResourceId as a substring
        aas.delete_scaling_policy(
            PolicyName=p["PolicyName"],
            ServiceNamespace="ecs",
            ResourceId=rid,
            ScalableDimension=p["ScalableDimension"],
        )
        removed.append(f"scaling policy {p['PolicyName']} (and its alarms)")
    try:
        aas.deregister_scalable_target(
            ServiceNamespace="ecs", ResourceId=rid, ScalableDimension=DIMENSION
        )
        removed.append(f"scalable target {rid}")
    except ClientError as exc:
        if _code(exc) not in ("ValidationException", "ObjectNotFoundException"):
            raise
    return removed
