"""An interactive deployment simulator: move a slider, watch a canary catch (or miss) a bad release.

:func:`simulate` is the pure function: it builds an ECS blue/green strategy from the settings —
all at once, a canary or a linear shift, with any percentage and interval CodeDeploy accepts for
a custom configuration — ships ``v2-bad`` with the error rate given, watched by one CloudWatch
alarm on the ``orders`` service's ``ErrorRate`` with the threshold given, and runs it as a **dry
run** of the deployment engine (``engine.run(None, ...)``: no emulator, the alarm evaluated in
memory, about 20 ms). :func:`deployment_simulator` returns the controls (ipywidgets); every change
re-runs :func:`simulate` and redraws the timeline and the summary line in place.

Displaying the simulator shows the controls *and* the result of the current settings as
ordinary cell outputs (a text line and a PNG figure). Those outputs are the same with or without
a live widget frontend — which is what nbval compares and what a rendered notebook shows — and a
live kernel replaces them in place (``update_display_data``) whenever a control moves.

What it mirrors:

* custom ECS deployment configurations, ``TimeBasedCanary`` and ``TimeBasedLinear`` with a
  percentage and an interval in minutes ("Create a deployment configuration with CodeDeploy",
  https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations-create.html;
  the percentage must be 1 to 99, as :class:`labs.deploy.configs.TrafficRouting` checks);
* the alarm that stops the deployment: ``ErrorRate`` (Average, 60 s), 2 of 2 datapoints above
  the threshold, missing data not breaching — lab 04's error alarm — with CodeDeploy stopping the
  deployment and rolling back on ``DEPLOYMENT_STOP_ON_ALARM``
  (https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-create-alarms.html).
"""

from __future__ import annotations

import base64
import io
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from labs.deploy import configs, engine, plots
from labs.deploy.configs import DeploymentConfig, TrafficRouting
from labs.deploy.engine import DeploymentResult
from labs.deploy.releases import Release
from labs.deploy.strategies import TrafficShift
from labs.errors import InputError, LabsError
from labs.observability.alarms import Alarm

__all__ = [
    "DEFAULTS",
    "STRATEGIES",
    "DeploymentSimulator",
    "Simulation",
    "SimulatorBox",
    "deployment_config",
    "deployment_simulator",
    "error_alarm",
    "simulate",
]

STRATEGIES: tuple[str, ...] = ("all-at-once", "canary", "linear")
"""The traffic-shifting strategies the simulator offers (ECS blue/green, CodeDeploy)."""
DEFAULTS: dict[str, Any] = {
    "strategy": "canary",
    "canary_percent": 10,
    "interval_minutes": 5,
    "error_rate": 0.25,
    "threshold": 1.0,
    "seed": 0,
}
"""The default settings: lab 04's canary (ECSCanary10Percent5Minutes) of ``v2-bad`` (25% errors)
watched by its 1% error alarm."""
MAX_INTERVAL_MINUTES = 60
"""The longest interval the simulator runs (AWS sets no maximum; a longer one only waits longer)."""
RELEASE = "v2-bad"
BASELINE = "v1"
_ROUTING_TYPES = {"canary": "TimeBasedCanary", "linear": "TimeBasedLinear"}


# --------------------------------------------------------------------------------------------
# The pure function
# --------------------------------------------------------------------------------------------


def _whole(value: Any, name: str, low: int, high: int, unit: str, hint: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not low <= value <= high
    ):
        raise InputError(
            f"{name} must be a whole number of {unit} from {low} to {high}, got {value!r}.",
            where=name,
            hint=hint,
        )
    return int(value)


def number_setting(value: Any, name: str, low: float, high: float, what: str, hint: str) -> float:
    """A simulator's numeric setting, checked: a finite real from ``low`` to ``high``.

    Raises:
        InputError: Naming the setting (``where=name``), what it must be and ``hint``.
    """
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real)
    if not ok or not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{name} must be {what}, got {value!r}.", where=name, hint=hint)
    return float(value)


def deployment_config(
    strategy: str, canary_percent: int, interval_minutes: int
) -> DeploymentConfig:
    """Return the ECS deployment configuration of the settings: predefined when one matches.

    ``canary`` 10%/5 min is ``CodeDeployDefault.ECSCanary10Percent5Minutes``; other settings make
    a custom configuration (``Canary20Percent10Minutes``, ``Linear25PercentEvery2Minutes``), as
    ``CreateDeploymentConfig`` would accept it. ``all-at-once`` ignores the percentage and the
    interval.

    Raises:
        InputError: For an unknown strategy, naming the choices.
    """
    if strategy not in STRATEGIES:
        raise InputError(
            f"strategy {strategy!r} is not one the simulator offers.",
            where="strategy",
            hint=f"One of {', '.join(repr(s) for s in STRATEGIES)}.",
        )
    if strategy == "all-at-once":
        return configs.get("CodeDeployDefault.ECSAllAtOnce")
    routing = TrafficRouting(_ROUTING_TYPES[strategy], canary_percent, interval_minutes)
    if strategy == "canary":
        name = f"Canary{canary_percent}Percent{interval_minutes}Minutes"
    else:
        name = f"Linear{canary_percent}PercentEvery{interval_minutes}Minutes"
    predefined = f"CodeDeployDefault.ECS{name}"
    try:
        known = configs.get(predefined)
    except InputError:
        return DeploymentConfig.custom(name, "ECS", traffic_routing=routing)
    return known


def error_alarm(threshold: float) -> Alarm:
    """Return the alarm that stops the deployment: orders' ``ErrorRate`` above ``threshold`` %.

    Lab 04's error alarm with another threshold: Average over 60 s, 2 of 2 datapoints,
    ``GreaterThanThreshold``, ``TreatMissingData=notBreaching``.
    """
    return Alarm(
        alarm_name="labs-simulator-orders-errors",
        alarm_description=f"orders: more than {threshold:g}% of requests fail",
        namespace="Bookstore",
        metric_name="ErrorRate",
        dimensions=[("Service", "orders")],
        statistic="Average",
        period=60,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        threshold=float(threshold),
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        unit="Percent",
    )


@dataclass(frozen=True)
class Simulation:
    """One dry run of the simulator: its settings, the configuration and the engine's result.

    Attributes:
        strategy: ``all-at-once``, ``canary`` or ``linear``.
        canary_percent: The traffic step in % (canary: the first step; linear: every step).
        interval_minutes: Minutes between steps.
        error_rate: Share of ``v2-bad``'s requests that fail (0 to 1).
        threshold: The error alarm's threshold, in % of requests.
        seed: The traffic's seed.
        config: The CodeDeploy configuration run.
        result: The engine's :class:`~labs.deploy.engine.DeploymentResult`.
    """

    strategy: str
    canary_percent: int
    interval_minutes: int
    error_rate: float
    threshold: float
    seed: int
    config: DeploymentConfig
    result: DeploymentResult

    @property
    def failed_requests(self) -> int:
        """The blast radius: requests that failed because of the release."""
        return int(self.result.figures()["failed_requests"])

    @property
    def users_affected(self) -> int:
        """Users who got at least one of those failures."""
        return int(self.result.users_affected)

    @property
    def stopped_at_minute(self) -> int | None:
        """Minute (since the deployment started) the alarm stopped it; None if it never did."""
        return self.result.detected_at_minute

    @property
    def rolled_back(self) -> bool:
        """True when CodeDeploy rolled the deployment back."""
        return self.result.status == "RolledBack"

    def describe_settings(self) -> str:
        """The settings in a few words, e.g. ``"canary 10% for 5 min, then 100%"``."""
        if self.strategy == "all-at-once":
            shift = "all at once"
        elif self.strategy == "canary":
            shift = f"canary {self.canary_percent}% for {self.interval_minutes} min, then 100%"
        else:
            shift = f"linear +{self.canary_percent}% every {self.interval_minutes} min"
        return (
            f"{shift} · {RELEASE} failing {100 * self.error_rate:g}% · "
            f"alarm: ErrorRate > {self.threshold:g}% for 2 of 2 min"
        )

    def summary(self) -> str:
        """One line: the settings, where the alarm stopped it, the blast radius, the rollback."""
        result = self.result
        failed = f"{self.failed_requests:,} failed requests ({self.users_affected:,} users)"
        if self.stopped_at_minute is not None:
            share = result.timeline.loc[result.timeline["phase"] == "deploying", "percent_new"]
            exposed = f"{share.max():.0f}%" if len(share) else "0%"
            what = (
                f"stopped at minute {self.stopped_at_minute} with {exposed} of the traffic on "
                f"{RELEASE}, "
                + (f"rolled back to {BASELINE}" if self.rolled_back else "not rolled back")
            )
        elif result.full_at_minute is not None:
            what = f"not stopped: 100% on {RELEASE} at minute {result.full_at_minute}, no rollback"
        else:
            what = f"{result.status}: {result.reason}"
        return f"{self.describe_settings()} → {what} · {failed}"

    def figure(self) -> Any:
        """The timeline: traffic on the release, error rate against the threshold, alarm state."""
        figure = plots.timeline(
            self.result, title=f"{self.result.strategy}: {self.result.status} (dry run)"
        )
        errors = figure.axes[1]
        errors.axhline(
            self.threshold, color="black", linestyle="--", linewidth=1,
            label=f"alarm threshold {self.threshold:g}%",
        )  # fmt: skip
        errors.legend(fontsize=8, loc="upper right")
        return figure

    def __repr__(self) -> str:
        """One line: the summary."""
        return f"<Simulation {self.summary()}>"


def simulate(
    strategy: str = DEFAULTS["strategy"],
    canary_percent: int = DEFAULTS["canary_percent"],
    interval_minutes: int = DEFAULTS["interval_minutes"],
    error_rate: float = DEFAULTS["error_rate"],
    threshold: float = DEFAULTS["threshold"],
    seed: int = DEFAULTS["seed"],
) -> Simulation:
    """Run one ECS blue/green deployment of ``v2-bad`` as a dry run and return what happened.

    Args:
        strategy: ``"all-at-once"``, ``"canary"`` or ``"linear"``.
        canary_percent: Traffic step in %, 1 to 99 (canary: the first step; linear: each step).
        interval_minutes: Minutes between the steps, 1 to :data:`MAX_INTERVAL_MINUTES`.
        error_rate: Share of ``v2-bad``'s requests that fail, a fraction from 0 to 1
            (0.25 = 25%, the bookstore's own ``v2-bad``).
        threshold: The error alarm's threshold in % of requests, above 0 and at most 100.
        seed: Seeds the traffic.

    Returns:
        A :class:`Simulation`.

    Raises:
        InputError: Naming the setting that is out of range.
    """
    percent = _whole(
        canary_percent, "canary_percent", 1, 99, "percent",
        "CodeDeploy shifts 1 to 99% in a step (100% at once is the all-at-once strategy).",
    )  # fmt: skip
    interval = _whole(
        interval_minutes, "interval_minutes", 1, MAX_INTERVAL_MINUTES, "minutes",
        "CodeDeploy's interval is at least 1 minute; the simulator runs up to an hour.",
    )  # fmt: skip
    rate = number_setting(
        error_rate, "error_rate", 0.0, 1.0, "a fraction from 0 to 1",
        "e.g. 0.02 for 2% of requests failing (0.25 is v2-bad's own).",
    )  # fmt: skip
    limit = number_setting(
        threshold, "threshold", 0.0, 100.0, "a percentage above 0 and at most 100",
        "The alarm watches ErrorRate in percent: 1.0 alarms above 1% of requests failing.",
    )  # fmt: skip
    if limit == 0:
        raise InputError(
            "threshold must be a percentage above 0, got 0.",
            where="threshold",
            hint="At 0 any single failed request would stop the deployment.",
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InputError(f"seed must be a whole number, got {seed!r}.", where="seed")
    config = deployment_config(strategy, percent, interval)
    result = engine.run(
        None,
        TrafficShift(config),
        release=Release(RELEASE, error_rate=rate),
        baseline=BASELINE,
        alarms=[error_alarm(limit)],
        seed=int(seed),
    )
    return Simulation(strategy, percent, interval, rate, limit, int(seed), config, result)


# --------------------------------------------------------------------------------------------
# The widget, and the display machinery the scaling simulator shares
# --------------------------------------------------------------------------------------------


def figure_bundle(figure: Any) -> dict[str, str]:
    """Render a matplotlib figure as a display bundle (PNG and its repr) and close it.

    Rendering here, not through the notebook's matplotlib backend, keeps the output the same in
    any kernel, and closing the figure keeps pyplot from showing it a second time.
    """
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return {
        "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
        "text/plain": repr(figure),
    }


class SimulatorBox(widgets.VBox):
    """Controls whose every change re-runs a simulation and redraws its result in place.

    Subclasses give the controls (``name -> widget``), how to turn their values into the
    simulation's keyword arguments, and the simulation function; the result must have
    ``summary()`` and ``figure()``.

    Attributes:
        simulation: The result of the current settings.
        summary: Its summary line (or the error message of settings that cannot run).
        runs: How many simulations ran (1 after construction).
    """

    label = "simulator"

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        run: Callable[..., Any],
        *,
        settings: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        header: str = "",
    ) -> None:
        """Lay out the controls, run the simulation once, and re-run it on every change."""
        children: list[widgets.Widget] = list(controls.values())
        if header:
            children.insert(0, widgets.HTML(header))
        super().__init__(children)
        self.controls = controls
        self._run = run
        self._settings = settings or (lambda values: values)
        self._handles: list[tuple[Any, Any]] = []
        self.simulation: Any = None
        self.summary = ""
        self.runs = 0
        self.refresh()
        for control in controls.values():
            control.observe(self._changed, names="value")

    def values(self) -> dict[str, Any]:
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _changed(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Run the simulation for the current settings and redraw every displayed result."""
        self.runs += 1
        try:
            self.simulation = self._run(**self._settings(self.values()))
            self.summary = self.simulation.summary()
        except LabsError as error:
            self.simulation, self.summary = None, str(error)
        if self._handles:
            figure = self._figure()
            for text, image in self._handles:
                text.update({"text/plain": self.summary}, raw=True)
                image.update(figure, raw=True)

    def _figure(self) -> dict[str, str]:
        if self.simulation is None:
            return {"text/plain": "(no figure: the settings cannot run)"}
        return figure_bundle(self.simulation.figure())

    def describe(self) -> str:
        """What a frontend without widgets shows instead of the controls (stable text)."""
        names = ", ".join(self.controls)
        return f"[{self.label}: controls {names} — move them in a live Jupyter kernel]"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.describe()
        return bundle

    def __repr__(self) -> str:
        """The stable description, never the controls' internals."""
        return self.describe()

    def _ipython_display_(self) -> None:
        """Show the controls, then the current result as ordinary outputs a change updates."""
        from IPython.display import display

        display(self._repr_mimebundle_(), raw=True)
        text = display({"text/plain": self.summary}, raw=True, display_id=True)
        image = display(self._figure(), raw=True, display_id=True)
        if text is not None and image is not None:  # None outside IPython: nothing to update
            self._handles.append((text, image))


def _slider_style() -> dict[str, Any]:
    return {"style": {"description_width": "150px"}, "layout": widgets.Layout(width="480px")}


class DeploymentSimulator(SimulatorBox):
    """The deployment simulator's controls; see :func:`deployment_simulator`."""

    label = "deployment simulator"

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
        common = {"continuous_update": False, **_slider_style()}
        controls: dict[str, widgets.ValueWidget] = {
            "strategy": widgets.Dropdown(
                options=[(s.replace("-", " "), s) for s in STRATEGIES],
                value=start["strategy"],
                description="strategy",
                **_slider_style(),
            ),
            "canary_percent": widgets.IntSlider(
                value=start["canary_percent"], min=1, max=99, description="traffic step (%)",
                **common,
            ),
            "interval_minutes": widgets.IntSlider(
                value=start["interval_minutes"], min=1, max=30, description="interval (min)",
                **common,
            ),
            "error_rate": widgets.FloatSlider(
                value=100 * start["error_rate"], min=0, max=50, step=0.5,
                description="v2-bad errors (%)", readout_format=".1f", **common,
            ),
            "threshold": widgets.FloatSlider(
                value=start["threshold"], min=0.1, max=10, step=0.1,
                description="alarm above (%)", readout_format=".1f", **common,
            ),
        }  # fmt: skip
        super().__init__(
            controls,
            simulate,
            settings=self._to_settings,
            header="<b>Deployment simulator</b> — ECS blue/green of v2-bad, dry runs of the "
            "deployment engine",
        )
        controls["strategy"].observe(self._strategy_changed, names="value")
        self._strategy_changed({"new": start["strategy"]})

    def _to_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        return {**values, "error_rate": round(values["error_rate"] / 100, 6), "seed": self.seed}

    def _strategy_changed(self, change: dict[str, Any]) -> None:
        fixed = change["new"] == "all-at-once"
        self.controls["canary_percent"].disabled = fixed
        self.controls["interval_minutes"].disabled = fixed


def deployment_simulator(**settings: Any) -> DeploymentSimulator:
    """Return the interactive deployment simulator, starting at ``settings`` (or the defaults).

    Controls: strategy (all at once, canary, linear), traffic step (%), interval (minutes), the
    bad release's error rate (%) and the error alarm's threshold (%). Every change runs
    :func:`simulate` (a dry run, about 20 ms) and redraws the timeline and the summary line.
    Display it (last line of a cell): the controls come first, then the result of the current
    settings — as plain outputs, identical with or without a live widget frontend.

    Args:
        settings: Any of :data:`DEFAULTS` (``error_rate`` as a fraction, as in
            :func:`simulate`).

    Raises:
        InputError: For an unknown or out-of-range setting.
    """
    return DeploymentSimulator(**settings)
