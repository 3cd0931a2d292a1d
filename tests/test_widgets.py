"""The interactive simulators of labs 04 and 09: pure functions, controls, and the static default.

Each simulator is a pure ``simulate(...)`` and a box of ipywidgets that re-runs it on every
change. What a notebook stores (and nbval compares) is the default path: the controls' stable
text and the default settings' summary line and figure, the same in every build.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import nbformat
import pytest

from labs.containers import scaling
from labs.containers import widgets as scaling_widgets
from labs.deploy import engine, releases
from labs.deploy import widgets as deploy_widgets
from labs.deploy.strategies import TrafficShift
from labs.errors import InputError

ROOT = Path(__file__).resolve().parent.parent


class _Handle:
    """Stands in for IPython's DisplayHandle: records the updates."""

    def __init__(self, shown: list[dict[str, Any]]) -> None:
        self.shown = shown
        self.updates: list[dict[str, Any]] = []

    def update(self, obj: dict[str, Any], raw: bool = False) -> None:
        assert raw
        self.updates.append(obj)


@pytest.fixture
def displayed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], _Handle | None]]:
    """Replace IPython's display with a recorder: (bundle, handle or None) per call."""
    import IPython.display

    calls: list[tuple[dict[str, Any], _Handle | None]] = []

    def fake_display(obj: dict[str, Any], raw: bool = False, display_id: Any = None) -> Any:
        assert raw, "the simulators display raw bundles only"
        handle = _Handle([obj]) if display_id else None
        calls.append((obj, handle))
        return handle

    monkeypatch.setattr(IPython.display, "display", fake_display)
    return calls


# --------------------------------------------------------------------------------------------
# Deployment simulator (lab 04)
# --------------------------------------------------------------------------------------------


def test_deployment_default_path_is_simulate_with_the_defaults() -> None:
    box = deploy_widgets.deployment_simulator()
    expected = deploy_widgets.simulate()
    assert box.runs == 1
    assert box.summary == expected.summary()
    got = box.simulation
    assert (got.failed_requests, got.stopped_at_minute, got.rolled_back) == (
        expected.failed_requests,
        expected.stopped_at_minute,
        expected.rolled_back,
    )
    assert got.stopped_at_minute == 3 and got.rolled_back
    assert got.config.name == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    assert "stopped at minute 3" in box.summary and "rolled back to v1" in box.summary


def test_deployment_defaults_are_lab_04s_canary_of_v2_bad() -> None:
    """Its own error rate at v2-bad's 25% gives exactly the engine's run of v2-bad."""
    lab = engine.run(
        None,
        TrafficShift("CodeDeployDefault.ECSCanary10Percent5Minutes"),
        release="v2-bad",
        alarms=[deploy_widgets.error_alarm(1.0)],
    )
    ours = deploy_widgets.simulate().result
    assert ours.figures() == lab.figures()
    assert ours.timeline.drop(columns=["time"]).equals(lab.timeline.drop(columns=["time"]))


def test_a_higher_error_rate_is_caught_earlier_and_fails_more_requests() -> None:
    box = deploy_widgets.deployment_simulator()
    box.controls["error_rate"].value = 2.0  # % on the slider
    slipped = box.simulation
    assert box.runs == 2 and slipped.error_rate == pytest.approx(0.02)
    box.controls["error_rate"].value = 25.0
    caught = box.simulation
    # 10% of traffic at 2% errors is 0.2% overall: the canary slips under the 1% alarm.
    assert slipped.stopped_at_minute > caught.stopped_at_minute
    assert "100% of the traffic" in slipped.summary()
    # All at once: the same exposure, so the blast radius follows the error rate.
    box.controls["strategy"].value = "all-at-once"
    box.controls["error_rate"].value = 5.0
    low = box.simulation.failed_requests
    box.controls["error_rate"].value = 25.0
    high = box.simulation.failed_requests
    assert high > 3 * low > 0


def test_a_lower_threshold_stops_the_deployment_earlier() -> None:
    box = deploy_widgets.deployment_simulator(threshold=3.0)
    loose = box.simulation
    box.controls["threshold"].value = 1.0
    tight = box.simulation
    assert tight.stopped_at_minute < loose.stopped_at_minute
    assert tight.failed_requests < loose.failed_requests


def test_the_blast_radius_scales_with_the_canary_percent() -> None:
    box = deploy_widgets.deployment_simulator()
    failed = {}
    for percent in (10, 20, 40):
        box.controls["canary_percent"].value = percent
        failed[percent] = box.simulation.failed_requests
        assert box.simulation.stopped_at_minute == 3
    assert failed[20] / failed[10] == pytest.approx(2, rel=0.2)
    assert failed[40] / failed[10] == pytest.approx(4, rel=0.2)


def test_custom_settings_make_a_custom_ecs_configuration() -> None:
    sim = deploy_widgets.simulate(canary_percent=20, interval_minutes=10)
    assert sim.config.name == "Canary20Percent10Minutes" and not sim.config.predefined
    assert sim.config.to_api()["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary",
        "timeBasedCanary": {"canaryPercentage": 20, "canaryInterval": 10},
    }
    linear = deploy_widgets.simulate("linear", 10, 1)
    assert linear.config.name == "CodeDeployDefault.ECSLinear10PercentEvery1Minutes"
    assert deploy_widgets.simulate("all-at-once").config.name == "CodeDeployDefault.ECSAllAtOnce"


def test_a_healthy_release_goes_all_the_way() -> None:
    sim = deploy_widgets.simulate(error_rate=0.0)
    assert sim.stopped_at_minute is None and not sim.rolled_back and sim.failed_requests == 0
    assert "not stopped: 100% on v2-bad at minute 6" in sim.summary()


def test_all_at_once_disables_the_step_controls() -> None:
    box = deploy_widgets.deployment_simulator()
    assert not box.controls["canary_percent"].disabled
    box.controls["strategy"].value = "all-at-once"
    assert box.controls["canary_percent"].disabled and box.controls["interval_minutes"].disabled
    box.controls["strategy"].value = "linear"
    assert not box.controls["interval_minutes"].disabled


def test_the_deployment_output_text_is_the_same_in_two_builds() -> None:
    first, second = deploy_widgets.deployment_simulator(), deploy_widgets.deployment_simulator()
    assert first.summary == second.summary
    assert repr(first) == repr(second) == first.describe()
    assert first._repr_mimebundle_()["text/plain"] == first.describe()
    assert "model_id" not in first.describe()
    view = first._repr_mimebundle_()["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == first.model_id


def test_displaying_shows_the_default_result_and_a_change_updates_it(displayed: list) -> None:
    box = deploy_widgets.deployment_simulator()
    box._ipython_display_()
    (controls, none), (text, text_handle), (image, image_handle) = displayed
    assert none is None and controls["text/plain"] == box.describe()
    assert "application/vnd.jupyter.widget-view+json" in controls
    assert text == {"text/plain": deploy_widgets.simulate().summary()}
    assert image["text/plain"] == "<Figure size 900x650 with 3 Axes>" and image["image/png"]
    box.controls["threshold"].value = 3.0
    assert text_handle.updates == [{"text/plain": deploy_widgets.simulate(threshold=3.0).summary()}]
    assert len(image_handle.updates) == 1 and image_handle.updates[0]["image/png"]


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"canary_percent": 0}, "canary_percent"),
        ({"canary_percent": 100}, "canary_percent"),
        ({"canary_percent": 150}, "canary_percent"),
        ({"canary_percent": 12.5}, "canary_percent"),
        ({"canary_percent": True}, "canary_percent"),
        ({"interval_minutes": 0}, "interval_minutes"),
        ({"interval_minutes": 61}, "interval_minutes"),
        ({"error_rate": 25}, "error_rate"),
        ({"error_rate": -0.1}, "error_rate"),
        ({"error_rate": math.nan}, "error_rate"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": -1.0}, "threshold"),
        ({"threshold": 101}, "threshold"),
        ({"strategy": "blue-green"}, "strategy"),
        ({"seed": "7"}, "seed"),
    ],
)
def test_invalid_deployment_settings_name_the_setting(settings: dict, where: str) -> None:
    with pytest.raises(InputError) as caught:
        deploy_widgets.simulate(**settings)
    assert caught.value.where == where and where in str(caught.value)
    with pytest.raises(InputError):
        deploy_widgets.deployment_simulator(**settings)


def test_the_deployment_simulator_refuses_unknown_settings() -> None:
    with pytest.raises(InputError) as caught:
        deploy_widgets.deployment_simulator(canary=20)
    assert caught.value.where == "canary"


def test_a_release_carries_its_own_error_rate() -> None:
    assert releases.Release("v2-bad").fault.error_rate == 0.25
    own = releases.Release("v2-bad", error_rate=0.02)
    assert own.fault.error_rate == 0.02 and own.fault.added_latency_ms == 400.0
    assert releases.get("v2-bad").error_rate is None
    for bad in (1.5, -0.1, True, "0.1", math.nan):
        with pytest.raises(InputError) as caught:
            releases.Release("v2", error_rate=bad)
        assert caught.value.where == "error_rate"


def test_the_engine_uses_a_releases_own_error_rate() -> None:
    strategy = TrafficShift("CodeDeployDefault.ECSAllAtOnce")
    healthy = engine.run(None, strategy, release=releases.Release("v2", error_rate=0.0))
    failing = engine.run(None, strategy, release=releases.Release("v2", error_rate=0.1))
    assert healthy.figures()["failed_requests"] == 0
    # No alarm: 100% of about 12,000 requests a minute fail at 10% from minute 1 to the end.
    per_minute = failing.timeline.query("minute >= 1 and phase == 'deploying'")
    rate = per_minute["failed_by_release"].sum() / per_minute["requests"].sum()
    assert rate == pytest.approx(0.1, abs=0.01)


# --------------------------------------------------------------------------------------------
# Scaling simulator (lab 09)
# --------------------------------------------------------------------------------------------


def test_scaling_default_path_is_simulate_with_the_defaults() -> None:
    box = scaling_widgets.scaling_simulator()
    expected = scaling_widgets.simulate()
    assert box.runs == 1 and box.summary == expected.summary()
    # ... which is lab 09's CPU 50% policy on its day.
    lab = scaling.simulate(
        scaling.TargetTracking(target_value=50, min_capacity=2, max_capacity=30),
        scaling.daily_load(),
    )
    assert box.simulation.figures() == lab.summary(bound_ms=1000)
    assert box.simulation.minutes_over == 2


def test_a_lower_target_buys_latency_with_money() -> None:
    box = scaling_widgets.scaling_simulator()
    default = box.simulation
    box.controls["target_value"].value = 40.0
    lower = box.simulation
    box.controls["target_value"].value = 70.0
    higher = box.simulation
    assert box.runs == 3
    assert lower.minutes_over <= default.minutes_over <= higher.minutes_over
    assert lower.minutes_over < higher.minutes_over
    assert lower.cost_usd > default.cost_usd > higher.cost_usd


def test_traffic_controls_change_the_day() -> None:
    box = scaling_widgets.scaling_simulator()
    default = box.simulation.figures()
    box.controls["spike_factor"].value = 0.0
    assert box.simulation.minutes_over == 0 and "no spike" in box.summary
    box.controls["spike_factor"].value = 1.0
    box.controls["peak_rps"].value = 1200.0
    assert box.simulation.figures()["task-hours"] > default["task-hours"]


def test_capacity_and_cooldown_controls_reach_the_policy() -> None:
    box = scaling_widgets.scaling_simulator()
    box.controls["capacity"].value = (24, 24)
    fixed = box.simulation.figures()
    assert fixed["tasks min-max"] == "24-24" and fixed["scale-outs"] == 0
    box.controls["capacity"].value = (2, 30)
    box.controls["scale_out_cooldown"].value = 60
    box.controls["scale_in_cooldown"].value = 600
    policy = box.simulation.policy
    assert (policy.min_capacity, policy.max_capacity) == (2, 30)
    assert (policy.scale_out_cooldown, policy.scale_in_cooldown) == (60, 600)


def test_the_scaling_output_text_is_the_same_in_two_builds(displayed: list) -> None:
    first, second = scaling_widgets.scaling_simulator(), scaling_widgets.scaling_simulator()
    first._ipython_display_()
    second._ipython_display_()
    texts = [bundle["text/plain"] for bundle, _ in displayed]
    assert texts[:3] == texts[3:]
    assert texts[0] == first.describe() and texts[1] == first.summary
    assert texts[2] == "<Figure size 1000x900 with 4 Axes>"


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"target_value": 0}, "target_value"),
        ({"target_value": 150}, "target_value"),
        ({"peak_rps": 50}, "peak_rps"),
        ({"peak_rps": 10_000}, "peak_rps"),
        ({"spike_factor": -1}, "spike_factor"),
        ({"min_capacity": 5, "max_capacity": 2}, "min_capacity"),
        ({"max_capacity": 0}, "max_capacity"),
        ({"scale_out_cooldown": -1}, "scale_out_cooldown"),
        ({"scale_in_cooldown": 1.5}, "scale_in_cooldown"),
        ({"seed": None}, "seed"),
    ],
)
def test_invalid_scaling_settings_name_the_setting(settings: dict, where: str) -> None:
    with pytest.raises(InputError) as caught:
        scaling_widgets.simulate(**settings)
    assert caught.value.where == where and where in str(caught.value)
    with pytest.raises(InputError):
        scaling_widgets.scaling_simulator(**settings)


# --------------------------------------------------------------------------------------------
# Headless, in a real kernel: what nbval compares
# --------------------------------------------------------------------------------------------


def _execute(source: list[str]) -> list[list[dict]]:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in source])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    return [cell.outputs for cell in nb.cells]


@pytest.mark.notebook
def test_headless_outputs_are_deterministic_text() -> None:
    cells = [
        "from labs.deploy.widgets import deployment_simulator\ndeployment_simulator()",
        "from labs.containers.widgets import scaling_simulator\nscaling_simulator()",
    ]
    runs = [_execute(cells), _execute(cells)]
    texts = [[[o["data"]["text/plain"] for o in outputs] for outputs in run] for run in runs]
    assert texts[0] == texts[1]
    for outputs, kind in zip(runs[0], ("deployment", "auto scaling"), strict=True):
        assert [o["output_type"] for o in outputs] == ["display_data"] * 3
        assert outputs[0]["data"]["text/plain"].startswith(f"[{kind} simulator: controls ")
        assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
        assert "image/png" in outputs[2]["data"]
    assert texts[0][0][1] == deploy_widgets.simulate().summary()
    assert texts[0][1][1] == scaling_widgets.simulate().summary()
