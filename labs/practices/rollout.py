"""AppConfig deployment strategies on the simulated clock, rolled back by a CloudWatch alarm.

The local emulator has no AppConfig environments, deployment strategies or deployments
(FACTS.md). This module implements what the AppConfig user guide documents about them
("Working with deployment strategies",
https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy.html,
and "Monitoring deployments for automatic rollback",
https://docs.aws.amazon.com/appconfig/latest/userguide/monitoring-deployments.html):

* **Growth type.** *Linear*: the share of targets grows by the growth factor G per step —
  G, 2G, ... up to 100%. *Exponential*: ``G*(2^N)`` — G, 2G, 4G, ... capped at 100%.
* **Deployment duration** is split evenly between the steps, and a step takes effect at the end
  of its interval, as the guide's linear timeline shows: a 10-hour deployment with 20% linear
  growth is at 0% at 0 h, 20% at 2 h, ... 100% at 10 h. (The API reference's wording of
  ``GrowthType`` — "initially makes the configuration available to 20 percent" — would start one
  step earlier; we follow the user guide's table.) A duration of 0 deploys to 100% at once.
* **Final bake time**: after 100%, AppConfig keeps watching the alarms for this long before the
  deployment is ``COMPLETE``.
* **Rollback**: "if one or more CloudWatch alarms go into the ``ALARM`` or
  ``INSUFFICIENT_DATA`` state during a deployment" — while deploying or baking — AppConfig rolls
  the configuration back to the previous version (state ``ROLLED_BACK``). Here every target is
  back on the previous version from the next minute.
* The predefined strategies of "Using predefined deployment strategies"
  (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy-predefined.html)
  are in :data:`PREDEFINED`.

:func:`simulate_rollout` runs a deployment minute by minute on a
:class:`labs.observability.clock.SimClock`: the share of requests that get the new
configuration follows the strategy, each minute's requests and failures are drawn with a seeded
numpy generator (Poisson arrivals, binomial failures per version), the error rate is the alarm's
metric, and :func:`labs.observability.alarms.evaluate` decides the alarm's state each minute
(period, M out of N, missing data) — the same evaluator the alarm runner uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.observability import alarms as alarm_rules
from labs.observability.alarms import ALARM, INSUFFICIENT_DATA, Alarm
from labs.observability.clock import SimClock

__all__ = [
    "GROWTH_TYPES",
    "PREDEFINED",
    "STRATEGIES_URL",
    "DeploymentStrategy",
    "RolloutResult",
    "error_rate_alarm",
    "plot_rollouts",
    "simulate_rollout",
]

STRATEGIES_URL = "https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy.html"
GROWTH_TYPES = ("LINEAR", "EXPONENTIAL")
"""AppConfig's growth types (``GrowthType``)."""

DEPLOYING, BAKING, COMPLETE, ROLLED_BACK = "DEPLOYING", "BAKING", "COMPLETE", "ROLLED_BACK"
BEFORE = "(previous version)"
_SECONDS = np.arange(60) / 60.0


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number, got {value!r}.", where=name)
    if not low <= value <= high:
        raise InputError(
            f"{name} must be between {low:g} and {high:g} (CreateDeploymentStrategy), got {value}.",
            where=name,
        )
    return value


@dataclass(frozen=True)
class DeploymentStrategy:
    """An AppConfig deployment strategy, with the limits of ``CreateDeploymentStrategy``.

    Attributes:
        name: ``Name`` (1 to 64 characters).
        deployment_duration_minutes: ``DeploymentDurationInMinutes`` (0 to 1440).
        growth_factor: ``GrowthFactor``, the step percentage (1 to 100).
        growth_type: ``GrowthType``: ``"LINEAR"`` (default) or ``"EXPONENTIAL"``.
        final_bake_time_minutes: ``FinalBakeTimeInMinutes`` (0 to 1440).
    """

    name: str
    deployment_duration_minutes: int
    growth_factor: float
    growth_type: str = "LINEAR"
    final_bake_time_minutes: int = 0

    def __post_init__(self) -> None:
        """Validate as the API does."""
        if not isinstance(self.name, str) or not 1 <= len(self.name) <= 64:
            raise InputError(f"Name must have 1 to 64 characters, got {self.name!r}.", where="name")
        _number(self.deployment_duration_minutes, "deployment_duration_minutes", 0, 1440)
        _number(self.growth_factor, "growth_factor", 1, 100)
        _number(self.final_bake_time_minutes, "final_bake_time_minutes", 0, 1440)
        if self.growth_type not in GROWTH_TYPES:
            raise InputError(
                f"GrowthType is LINEAR or EXPONENTIAL, got {self.growth_type!r}.",
                where="growth_type",
            )

    def percentages(self) -> list[float]:
        """The share of targets after each step: G, 2G, ... (linear) or G, 2G, 4G, ... (exp.)."""
        g = float(self.growth_factor)
        out: list[float] = []
        k = 1
        while not out or out[-1] < 100:
            value = k * g if self.growth_type == "LINEAR" else g * 2 ** (k - 1)
            out.append(min(100.0, value))
            k += 1
        return out

    def steps(self) -> pd.DataFrame:
        """The timeline: one row per step with the minute it takes effect and its percentage.

        Steps share the deployment duration evenly and each takes effect at the end of its
        interval (the user guide's linear example: 0% at 0 h, 20% at 2 h, ..., 100% at 10 h).
        """
        pct = self.percentages()
        interval = self.deployment_duration_minutes / len(pct)
        return pd.DataFrame(
            {
                "step": range(1, len(pct) + 1),
                "minute": [interval * (k + 1) for k in range(len(pct))],
                "percent": pct,
            }
        )

    def percent_at(self, minutes: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """The share of targets (0 to 100) on the new version ``minutes`` after the start."""
        steps = self.steps()
        t = np.atleast_1d(np.asarray(minutes, dtype=float))
        index = np.searchsorted(steps["minute"].to_numpy(), t, side="right")
        levels = np.concatenate([[0.0], steps["percent"].to_numpy()])
        return levels[index]

    @property
    def total_minutes(self) -> float:
        """Deployment duration plus final bake time."""
        return float(self.deployment_duration_minutes + self.final_bake_time_minutes)

    def create_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``appconfig.create_deployment_strategy`` for this strategy."""
        return {
            "Name": self.name,
            "DeploymentDurationInMinutes": int(self.deployment_duration_minutes),
            "GrowthFactor": float(self.growth_factor),
            "GrowthType": self.growth_type,
            "FinalBakeTimeInMinutes": int(self.final_bake_time_minutes),
            "ReplicateTo": "NONE",
        }


PREDEFINED: Mapping[str, DeploymentStrategy] = {
    s.name: s
    for s in (
        DeploymentStrategy("AppConfig.AllAtOnce", 0, 100, "LINEAR", 10),
        DeploymentStrategy("AppConfig.Linear50PercentEvery30Seconds", 1, 50, "LINEAR", 1),
        DeploymentStrategy("AppConfig.Linear20PercentEvery6Minutes", 30, 20, "LINEAR", 30),
        DeploymentStrategy("AppConfig.Canary10Percent20Minutes", 20, 10, "EXPONENTIAL", 10),
    )
}
"""AppConfig's predefined strategies, as the user guide describes them (bake times included)."""


def error_rate_alarm(
    name: str = "labs-flags-error-rate",
    *,
    threshold: float = 2.0,
    evaluation_periods: int = 3,
    datapoints_to_alarm: int = 2,
) -> Alarm:
    """A CloudWatch alarm on the bookstore's error rate (%), one-minute periods, M of N.

    ``ErrorRate`` (Percent) in the ``Bookstore`` namespace, ``Average`` above ``threshold`` in
    ``datapoints_to_alarm`` of ``evaluation_periods`` minutes; missing data is ``missing``.
    """
    return Alarm(
        alarm_name=name,
        metric_name="ErrorRate",
        namespace="Bookstore",
        period=60,
        evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        statistic="Average",
        dimensions=(("Service", "orders"),),
        treat_missing_data="missing",
    )


@dataclass(frozen=True)
class RolloutResult:
    """What a simulated AppConfig deployment did, minute by minute.

    Attributes:
        strategy: The strategy's name.
        state: ``COMPLETE`` or ``ROLLED_BACK``.
        rolled_back_at: The minute (since the start) the alarm triggered the rollback, or None.
        max_percent: The largest share of targets that received the new version.
        failed_new: Failed requests among those served the new version.
        timeline: One row per minute: ``minute``, ``timestamp`` (simulated, period start),
            ``deployment_state``, ``percent_new``, ``requests``, ``errors``, ``new_requests``,
            ``new_errors``, ``error_rate_pct``, ``alarm_state``.
    """

    strategy: str
    state: str
    rolled_back_at: float | None
    max_percent: float
    failed_new: int
    timeline: pd.DataFrame

    def __repr__(self) -> str:
        """One line: what happened."""
        if self.state == ROLLED_BACK:
            what = (
                f"ROLLED_BACK at minute {self.rolled_back_at:g}, after reaching "
                f"{self.max_percent:g}% of targets"
            )
        else:
            what = f"COMPLETE after {self.timeline.attrs.get('total_minutes', 0):g} minutes"
        return f"{self.strategy}: {what}; {self.failed_new} failed requests on the new version"


def simulate_rollout(
    strategy: DeploymentStrategy | str,
    *,
    new_error_rate: float,
    alarm: Alarm | None = None,
    old_error_rate: float = 0.005,
    requests_per_minute: float = 600.0,
    warmup_minutes: int = 10,
    after_minutes: int = 5,
    seed: int = 0,
    clock: SimClock | None = None,
) -> RolloutResult:
    """Deploy a configuration with an AppConfig strategy over simulated minutes, watching an alarm.

    Before minute 0 every request gets the previous configuration (``warmup_minutes``, so the
    alarm has data and is ``OK`` when the deployment starts). From minute 0 the share of
    requests that get the new configuration follows :meth:`DeploymentStrategy.percent_at`;
    during the deployment and its bake time the alarm is evaluated every minute with
    :func:`labs.observability.alarms.evaluate` over its evaluation range (N + 2 periods), and a
    state of ``ALARM`` or ``INSUFFICIENT_DATA`` rolls the deployment back: from the next minute
    every request gets the previous configuration again.

    Args:
        strategy: A :class:`DeploymentStrategy` or the name of a predefined one.
        new_error_rate: Fraction of requests that fail with the new configuration (0 to 1).
        alarm: The alarm AppConfig watches (``Average`` of the error rate in %); default
            :func:`error_rate_alarm`. Its ``Period`` must be 60 seconds.
        old_error_rate: Fraction of requests that fail with the previous configuration.
        requests_per_minute: Mean arrivals per minute (Poisson).
        warmup_minutes: Minutes of the previous version before the start.
        after_minutes: Minutes simulated after the deployment ends (or rolls back).
        seed: Seed of the numpy generator: same seed, same run.
        clock: The simulated clock the timeline's timestamps come from; default a fresh
            :class:`~labs.observability.clock.SimClock` (it starts at its epoch).
    """
    if isinstance(strategy, str):
        if strategy not in PREDEFINED:
            raise InputError(
                f"No predefined strategy {strategy!r}.",
                where="strategy",
                hint=f"Use one of {', '.join(PREDEFINED)}, or a DeploymentStrategy(...).",
            )
        strategy = PREDEFINED[strategy]
    for name, rate in (("new_error_rate", new_error_rate), ("old_error_rate", old_error_rate)):
        _number(rate, name, 0, 1)
    _number(requests_per_minute, "requests_per_minute", 1, 1e7)
    alarm = alarm or error_rate_alarm()
    if alarm.period != 60:
        raise InputError(
            f"The simulation runs in one-minute periods; the alarm's period is {alarm.period} s.",
            where="alarm.period",
            hint="Use an alarm with period=60.",
        )
    clock = clock or SimClock()
    rng = np.random.default_rng(seed)
    width = alarm_rules.default_evaluation_range(alarm.evaluation_periods)
    m = alarm.datapoints_to_alarm or alarm.evaluation_periods
    treatment = alarm.effective_treat_missing_data
    end = math.ceil(strategy.total_minutes)
    history: list[float] = []
    rows: list[dict[str, Any]] = []
    state = INSUFFICIENT_DATA
    rolled_back_at: float | None = None
    minute = -int(warmup_minutes)
    stop = end + int(after_minutes)
    start = clock.now
    while minute < stop:
        if minute < 0:
            phase = BEFORE
        elif rolled_back_at is not None:
            phase = ROLLED_BACK
        elif minute < strategy.deployment_duration_minutes:
            phase = DEPLOYING
        elif minute < strategy.total_minutes:
            phase = BAKING
        else:
            phase = COMPLETE
        # The share of this minute's requests on the new version: the strategy's percentage
        # averaged over the minute's seconds (a 30-second step counts for half the minute).
        percent = (
            0.0
            if phase in (BEFORE, ROLLED_BACK)
            else float(strategy.percent_at(minute + _SECONDS).mean())
        )
        requests = int(rng.poisson(requests_per_minute))
        new_requests = int(rng.binomial(requests, percent / 100.0))
        new_errors = int(rng.binomial(new_requests, new_error_rate))
        old_errors = int(rng.binomial(requests - new_requests, old_error_rate))
        errors = new_errors + old_errors
        rate = 100.0 * errors / requests if requests else float("nan")
        history.append(rate)
        state = alarm_rules.evaluate(
            history[-width:],
            threshold=alarm.threshold,
            comparison_operator=alarm.comparison_operator,
            evaluation_periods=alarm.evaluation_periods,
            datapoints_to_alarm=m,
            treat_missing_data=treatment,
            current_state=state,
        )
        rows.append(
            {
                "minute": minute,
                "timestamp": start + pd.Timedelta(minutes=minute),
                "deployment_state": phase,
                "percent_new": percent,
                "requests": requests,
                "errors": errors,
                "new_requests": new_requests,
                "new_errors": new_errors,
                "error_rate_pct": rate,
                "alarm_state": state,
            }
        )
        if phase in (DEPLOYING, BAKING) and state in (ALARM, INSUFFICIENT_DATA):
            rolled_back_at = float(minute + 1)  # evaluated at the end of this minute
            stop = minute + 1 + int(after_minutes)
        minute += 1
    clock.now = max(clock.now, start + pd.Timedelta(minutes=stop))
    timeline = pd.DataFrame(rows)
    timeline.attrs["total_minutes"] = strategy.total_minutes
    return RolloutResult(
        strategy=strategy.name,
        state=ROLLED_BACK if rolled_back_at is not None else COMPLETE,
        rolled_back_at=rolled_back_at,
        max_percent=float(timeline["percent_new"].max()),
        failed_new=int(timeline["new_errors"].sum()),
        timeline=timeline,
    )


def plot_rollouts(
    results: Sequence[RolloutResult], *, alarm: Alarm | None = None, title: str = ""
) -> Any:
    """Draw rollouts on shared axes: share of targets on the new version, and the error rate.

    Returns:
        The matplotlib figure (end the cell with ``plt.show()``).
    """
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, layout="constrained")
    for result in results:
        t = result.timeline
        label = f"{result.strategy.removeprefix('AppConfig.')}: {result.state}"
        (line,) = top.step(t["minute"], t["percent_new"], where="post", label=label)
        bottom.step(t["minute"], t["error_rate_pct"], where="post", color=line.get_color())
        if result.rolled_back_at is not None:
            for ax in (top, bottom):
                ax.axvline(
                    result.rolled_back_at, color=line.get_color(), linestyle=":", linewidth=1
                )
    if alarm is not None:
        bottom.axhline(alarm.threshold, color="black", linestyle="--", linewidth=1,
                       label=f"alarm threshold {alarm.threshold:g}%")  # fmt: skip
        bottom.legend(fontsize=8, loc="upper right")
    top.set(ylabel="targets on the new version (%)", ylim=(-5, 105))
    top.set_title(title or "AppConfig deployments on the simulated clock")
    bottom.set(xlabel="minutes since the deployment started (simulated)", ylabel="error rate (%)")
    for ax in (top, bottom):
        ax.axvline(0, color="grey", linewidth=0.8)
        ax.grid(alpha=0.3)
    top.legend(fontsize=8, loc="upper right", title="strategy (dotted: rollback)", title_fontsize=8)
    return fig
