"""An interactive auto scaling simulator: a day of target tracking, redrawn as you move a slider.

:func:`simulate` is the pure function: it builds the day's traffic (:func:`scaling.daily_load`
with the peak and the 18:00 newsletter spike given) and a target tracking policy on the ECS
service's average CPU (:class:`scaling.TargetTracking`: target value, ``MinCapacity`` /
``MaxCapacity``, ``ScaleOutCooldown`` / ``ScaleInCooldown``), runs :func:`scaling.simulate` over
the 1,440 minutes (about 10 ms) and returns the day with a one-line summary: the worst p99, the
minutes above the 1,000 ms budget of lab 09, the tasks, the Fargate cost and the scaling
activity. :func:`scaling_simulator` returns the controls (ipywidgets); every change re-runs
:func:`simulate` and redraws the day's figure and the summary in place.

Displaying it shows the controls and the current settings' result as ordinary cell outputs, the
same with or without a live widget frontend (see :class:`labs.deploy.widgets.SimulatorBox`).
The rules simulated, and their sources, are those of :mod:`labs.containers.scaling`
("How target tracking scaling for Application Auto Scaling works",
https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html;
"Use a target metric to scale Amazon ECS services",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import pandas as pd

from labs.containers import scaling
from labs.deploy.widgets import SimulatorBox, number_setting
from labs.errors import InputError

__all__ = [
    "BOUND_MS",
    "DEFAULTS",
    "ScalingSimulation",
    "ScalingSimulator",
    "scaling_simulator",
    "simulate",
]

BOUND_MS = 1000.0
"""The p99 budget the summary counts minutes against (lab 09's exercise)."""
NIGHT_RPS = 60.0
"""The night's traffic (:func:`scaling.daily_load`'s default); the peak must be above it."""
MAX_PEAK_RPS = 5000.0
"""The highest peak the simulator accepts (requests per second)."""
MAX_SPIKE_FACTOR = 5.0
"""The largest newsletter spike, as a multiple of the traffic of the moment."""
DEFAULTS: dict[str, Any] = {
    "target_value": 50.0,
    "peak_rps": 600.0,
    "spike_factor": 1.0,
    "min_capacity": 2,
    "max_capacity": 30,
    "scale_out_cooldown": scaling.DEFAULT_COOLDOWN_S,
    "scale_in_cooldown": scaling.DEFAULT_COOLDOWN_S,
    "seed": 7,
}
"""The default settings: lab 09's CPU 50% policy (2-30 tasks, 300 s cooldowns) on its day."""


@dataclass(frozen=True)
class ScalingSimulation:
    """One simulated day: the settings, the traffic and the policy's result.

    Attributes:
        peak_rps: The evening peak, requests per second.
        spike_factor: The 18:00 spike, a multiple of the traffic of the moment (0: none).
        seed: The traffic noise's seed.
        load: The day's traffic, requests per second per minute.
        result: :class:`scaling.ScalingResult` (its ``policy`` holds the policy's settings).
    """

    peak_rps: float
    spike_factor: float
    seed: int
    load: pd.Series
    result: scaling.ScalingResult

    @property
    def policy(self) -> scaling.TargetTracking:
        """The target tracking policy simulated."""
        return self.result.policy

    def figures(self) -> dict[str, Any]:
        """The day's figures (:meth:`scaling.ScalingResult.summary` against :data:`BOUND_MS`)."""
        return self.result.summary(bound_ms=BOUND_MS)

    @property
    def minutes_over(self) -> int:
        """Minutes whose p99 is above :data:`BOUND_MS`."""
        return int(self.figures()[f"minutes p99 > {BOUND_MS:g} ms"])

    @property
    def cost_usd(self) -> float:
        """The day's Fargate cost (USD)."""
        return float(self.figures()["cost (USD/day)"])

    def summary(self) -> str:
        """One line: the settings, then p99, minutes over budget, tasks, cost, scaling activity."""
        f = self.figures()
        spike = f"spike ×{1 + self.spike_factor:g} at 18:00" if self.spike_factor else "no spike"
        return (
            f"{self.policy.label} · peak {self.peak_rps:g} req/s, {spike} → p99 max "
            f"{f['p99 max (ms)']:,} ms, {self.minutes_over} min above {BOUND_MS:,.0f} ms · "
            f"tasks {f['tasks min-max']} · {f['task-hours']:g} task-hours, "
            f"${f['cost (USD/day)']:.2f}/day · {f['scale-outs']} scale-outs, "
            f"{f['scale-ins']} scale-ins"
        )

    def figure(self) -> Any:
        """The day: load, tasks, CPU against the target, p99 against the budget."""
        return scaling.plot_day(self.result, bound_ms=BOUND_MS)

    def __repr__(self) -> str:
        """One line: the summary."""
        return f"<ScalingSimulation {self.summary()}>"


def simulate(
    target_value: float = DEFAULTS["target_value"],
    peak_rps: float = DEFAULTS["peak_rps"],
    spike_factor: float = DEFAULTS["spike_factor"],
    min_capacity: int = DEFAULTS["min_capacity"],
    max_capacity: int = DEFAULTS["max_capacity"],
    scale_out_cooldown: int = DEFAULTS["scale_out_cooldown"],
    scale_in_cooldown: int = DEFAULTS["scale_in_cooldown"],
    seed: int = DEFAULTS["seed"],
) -> ScalingSimulation:
    """Simulate a day of target tracking on the orders service's average CPU.

    Args:
        target_value: ``TargetValue``: the CPU utilisation to hold, in % (above 0, at most 100).
        peak_rps: The evening peak in requests per second (above the night's 60, at most
            :data:`MAX_PEAK_RPS`).
        spike_factor: The 18:00 newsletter brings this multiple of the traffic of the moment on
            top (0 to :data:`MAX_SPIKE_FACTOR`; 1 doubles it).
        min_capacity: ``MinCapacity`` (tasks).
        max_capacity: ``MaxCapacity`` (tasks, at least ``min_capacity``).
        scale_out_cooldown: ``ScaleOutCooldown`` in seconds.
        scale_in_cooldown: ``ScaleInCooldown`` in seconds.
        seed: Seeds the traffic's noise.

    Returns:
        A :class:`ScalingSimulation`.

    Raises:
        InputError: Naming the setting that is out of range.
    """
    peak = number_setting(
        peak_rps, "peak_rps", NIGHT_RPS + 1, MAX_PEAK_RPS,
        f"requests per second above the night's {NIGHT_RPS:g} and at most {MAX_PEAK_RPS:g}",
        "e.g. 600 (lab 09's day).",
    )  # fmt: skip
    spike = number_setting(
        spike_factor, "spike_factor", 0.0, MAX_SPIKE_FACTOR,
        f"a multiple from 0 to {MAX_SPIKE_FACTOR:g}",
        "0: no spike; 1: the newsletter doubles the traffic at 18:00.",
    )  # fmt: skip
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputError(f"seed must be a whole number, got {seed!r}.", where="seed")
    policy = scaling.TargetTracking(
        target_value=target_value,
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        scale_out_cooldown=scale_out_cooldown,
        scale_in_cooldown=scale_in_cooldown,
    )
    load = scaling.daily_load(peak_rps=peak, spike_factor=spike, seed=int(seed))
    return ScalingSimulation(peak, spike, int(seed), load, scaling.simulate(policy, load))


class ScalingSimulator(SimulatorBox):
    """The auto scaling simulator's controls; see :func:`scaling_simulator`."""

    label = "auto scaling simulator"

    def __init__(self, **settings: Any) -> None:
        """Build the controls at ``settings`` (default :data:`DEFAULTS`)."""
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise InputError(
                f"unknown setting(s) {', '.join(sorted(unknown))}.",
                where=sorted(unknown)[0],
                hint=f"Settings: {', '.join(DEFAULTS)}.",
            )
        start = {**DEFAULTS, **settings}
        simulate(**start)  # refuses bad settings before any widget exists
        self.seed = start["seed"]
        style = {"style": {"description_width": "170px"}, "layout": widgets.Layout(width="500px")}
        common = {"continuous_update": False, **style}
        controls: dict[str, widgets.ValueWidget] = {
            "target_value": widgets.FloatSlider(
                value=start["target_value"], min=10, max=95, step=5, readout_format=".0f",
                description="target CPU (%)", **common,
            ),
            "peak_rps": widgets.FloatSlider(
                value=start["peak_rps"], min=100, max=2000, step=50, readout_format=".0f",
                description="evening peak (req/s)", **common,
            ),
            "spike_factor": widgets.FloatSlider(
                value=start["spike_factor"], min=0, max=3, step=0.25,
                description="18:00 spike (× traffic)", **common,
            ),
            "capacity": widgets.IntRangeSlider(
                value=(start["min_capacity"], start["max_capacity"]), min=1, max=60,
                description="tasks min-max", **common,
            ),
            "scale_out_cooldown": widgets.IntSlider(
                value=start["scale_out_cooldown"], min=0, max=900, step=30,
                description="scale-out cooldown (s)", **common,
            ),
            "scale_in_cooldown": widgets.IntSlider(
                value=start["scale_in_cooldown"], min=0, max=1800, step=60,
                description="scale-in cooldown (s)", **common,
            ),
        }  # fmt: skip
        super().__init__(
            controls,
            simulate,
            settings=self._to_settings,
            header="<b>Auto scaling simulator</b> — target tracking on the orders service's "
            "CPU over a simulated day",
        )

    def _to_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        low, high = values.pop("capacity")
        return {**values, "min_capacity": int(low), "max_capacity": int(high), "seed": self.seed}


def scaling_simulator(**settings: Any) -> ScalingSimulator:
    """Return the interactive auto scaling simulator, starting at ``settings`` (or the defaults).

    Controls: the CPU target (%), the evening peak (req/s), the 18:00 spike (× the traffic of
    the moment), the tasks' min-max (``MinCapacity``/``MaxCapacity``) and the two cooldowns (s).
    Every change runs :func:`simulate` (about 10 ms) and redraws the day and its summary line.
    Display it (last line of a cell): the controls, then the result of the current settings as
    plain outputs — identical with or without a live widget frontend.

    Args:
        settings: Any of :data:`DEFAULTS`.

    Raises:
        InputError: For an unknown or out-of-range setting.
    """
    return ScalingSimulator(**settings)
