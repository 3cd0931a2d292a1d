"""Tests for AppConfig deployment strategies and the simulated rollout with alarm rollback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labs.errors import InputError
from labs.observability import alarms
from labs.observability.clock import EPOCH, SimClock
from labs.practices.rollout import (
    PREDEFINED,
    DeploymentStrategy,
    error_rate_alarm,
    plot_rollouts,
    simulate_rollout,
)


@pytest.mark.parametrize(
    ("growth_type", "factor", "expected"),
    [
        ("LINEAR", 20, [20, 40, 60, 80, 100]),
        ("LINEAR", 30, [30, 60, 90, 100]),
        ("LINEAR", 100, [100]),
        ("EXPONENTIAL", 2, [2, 4, 8, 16, 32, 64, 100]),  # the API reference's G*(2^N) example
        ("EXPONENTIAL", 10, [10, 20, 40, 80, 100]),
        ("EXPONENTIAL", 50, [50, 100]),
    ],
)
def test_growth_types(growth_type, factor, expected):
    strategy = DeploymentStrategy("s", 60, factor, growth_type)
    assert strategy.percentages() == expected


def test_the_user_guide_linear_timeline():
    """10 hours, 20% linear: 0% at 0 h, 20% at 2 h, 40% at 4 h, ... 100% at 10 h."""
    strategy = DeploymentStrategy("ten-hours", 600, 20, "LINEAR")
    steps = strategy.steps()
    assert steps["minute"].tolist() == [120, 240, 360, 480, 600]
    hours = np.array([0, 1.99, 2, 4, 6, 8, 9.99, 10, 12]) * 60
    assert strategy.percent_at(hours).tolist() == [0, 0, 20, 40, 60, 80, 80, 100, 100]


def test_exponential_steps_share_the_duration_evenly():
    canary = PREDEFINED["AppConfig.Canary10Percent20Minutes"]
    assert canary.steps()["minute"].tolist() == [4, 8, 12, 16, 20]
    assert canary.percent_at([3.9, 4, 11, 12, 20]).tolist() == [0, 10, 20, 40, 100]


def test_all_at_once_is_at_100_percent_from_the_start():
    assert PREDEFINED["AppConfig.AllAtOnce"].percent_at(0).tolist() == [100]


def test_predefined_strategies_as_documented():
    expected = {
        "AppConfig.AllAtOnce": (0, 100, "LINEAR", 10),
        "AppConfig.Linear50PercentEvery30Seconds": (1, 50, "LINEAR", 1),
        "AppConfig.Linear20PercentEvery6Minutes": (30, 20, "LINEAR", 30),
        "AppConfig.Canary10Percent20Minutes": (20, 10, "EXPONENTIAL", 10),
    }
    for name, (duration, factor, kind, bake) in expected.items():
        s = PREDEFINED[name]
        assert (s.deployment_duration_minutes, s.growth_factor, s.growth_type) == (
            duration,
            factor,
            kind,
        )
        assert s.final_bake_time_minutes == bake
    linear = PREDEFINED["AppConfig.Linear20PercentEvery6Minutes"]
    assert linear.steps()["minute"].tolist() == [6, 12, 18, 24, 30]  # "20% every six minutes"
    assert linear.create_kwargs()["GrowthType"] == "LINEAR"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"growth_factor": 0.5}, "growth_factor"),
        ({"growth_factor": 101}, "growth_factor"),
        ({"deployment_duration_minutes": 1441}, "deployment_duration_minutes"),
        ({"final_bake_time_minutes": -1}, "final_bake_time_minutes"),
        ({"growth_type": "STEP"}, "growth_type"),
        ({"name": ""}, "name"),
    ],
)
def test_strategy_limits_are_the_apis(kwargs, field):
    base = {"name": "s", "deployment_duration_minutes": 10, "growth_factor": 20}
    with pytest.raises(InputError) as caught:
        DeploymentStrategy(**{**base, **kwargs})
    assert caught.value.where == field


def test_a_healthy_configuration_completes():
    result = simulate_rollout("AppConfig.Canary10Percent20Minutes", new_error_rate=0.005, seed=1)
    assert result.state == "COMPLETE" and result.rolled_back_at is None
    t = result.timeline
    assert t["percent_new"].max() == 100
    assert set(t.loc[t["minute"] >= 0, "alarm_state"]) == {"OK"}
    states = t.set_index("minute")["deployment_state"]
    assert states[0] == "DEPLOYING" and states[20] == "BAKING" and states[30] == "COMPLETE"
    assert "COMPLETE after 30 minutes" in repr(result)


def test_a_bad_configuration_is_rolled_back_before_it_reaches_everyone():
    result = simulate_rollout("AppConfig.Canary10Percent20Minutes", new_error_rate=0.10, seed=1)
    assert result.state == "ROLLED_BACK"
    t = result.timeline.set_index("minute")
    first_alarm = t.index[(t["alarm_state"] == "ALARM") & (t.index >= 0)][0]
    assert result.rolled_back_at == first_alarm + 1
    assert result.max_percent < 100
    after = t.loc[result.rolled_back_at :]
    assert (after["percent_new"] == 0).all() and (after["deployment_state"] == "ROLLED_BACK").all()
    assert result.failed_new == int(t["new_errors"].sum())
    assert "ROLLED_BACK at minute" in repr(result)


def test_the_alarm_states_are_those_of_the_alarm_evaluator():
    alarm = error_rate_alarm(threshold=2.0)
    result = simulate_rollout("AppConfig.AllAtOnce", new_error_rate=0.02, alarm=alarm, seed=3)
    t = result.timeline
    ends = t["timestamp"] + pd.Timedelta(minutes=1)
    series = pd.Series(t["error_rate_pct"].to_numpy(), index=pd.DatetimeIndex(ends))
    expected = alarms.evaluate_series(alarm, series)["state"].tolist()
    assert t["alarm_state"].tolist() == expected


def test_insufficient_data_during_the_deployment_also_rolls_back():
    """A single breaching datapoint with M = 2 leaves the alarm INSUFFICIENT_DATA (missing
    data treated as missing); AppConfig rolls back on INSUFFICIENT_DATA too."""
    result = simulate_rollout("AppConfig.AllAtOnce", new_error_rate=0.5, warmup_minutes=0, seed=0)
    first = result.timeline.iloc[0]
    assert first["alarm_state"] == "INSUFFICIENT_DATA"
    assert result.state == "ROLLED_BACK" and result.rolled_back_at == 1


def test_a_short_bake_time_can_miss_a_bad_configuration():
    result = simulate_rollout(
        "AppConfig.Linear50PercentEvery30Seconds", new_error_rate=0.03, seed=1
    )
    assert result.state == "COMPLETE"
    t = result.timeline.set_index("minute")
    assert t.loc[0, "percent_new"] == 25  # 0% for 30 s, then 50% for 30 s
    assert (t.loc[t.index >= 2, "alarm_state"] == "ALARM").any()  # the alarm fires too late


def test_same_seed_same_run_and_the_clock_moves():
    clock = SimClock()
    a = simulate_rollout("AppConfig.Canary10Percent20Minutes", new_error_rate=0.1, seed=7,
                         clock=clock)  # fmt: skip
    b = simulate_rollout("AppConfig.Canary10Percent20Minutes", new_error_rate=0.1, seed=7)
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    assert a.timeline["timestamp"].iloc[0] == EPOCH - pd.Timedelta(minutes=10)
    assert clock.now > EPOCH


def test_bad_arguments():
    with pytest.raises(InputError, match="predefined"):
        simulate_rollout("AppConfig.Nope", new_error_rate=0.1)
    with pytest.raises(InputError):
        simulate_rollout("AppConfig.AllAtOnce", new_error_rate=1.5)
    five_minutes = error_rate_alarm()
    five_minutes = alarms.Alarm(**{**five_minutes.__dict__, "period": 300})
    with pytest.raises(InputError, match="one-minute"):
        simulate_rollout("AppConfig.AllAtOnce", new_error_rate=0.1, alarm=five_minutes)


def test_plot_has_title_and_labels():
    import matplotlib

    matplotlib.use("Agg")
    results = [
        simulate_rollout(name, new_error_rate=0.1, seed=1)
        for name in ("AppConfig.AllAtOnce", "AppConfig.Canary10Percent20Minutes")
    ]
    fig = plot_rollouts(results, alarm=error_rate_alarm())
    top, bottom = fig.axes
    assert top.get_title() and bottom.get_xlabel().startswith("minutes")
    assert bottom.get_ylabel() == "error rate (%)"
