"""Target tracking auto scaling: the policy, the simulated day, the emulator (lab 09)."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from labs.containers import orchestration_checks as checks
from labs.containers import scaling
from labs.errors import CheckFailed, InputError

LAB = "t09"
WORK = scaling.Workload()  # 50 requests per second per task, tasks serve 2 minutes after start


def _steady(rps: float, minutes: int = 60) -> np.ndarray:
    return np.full(minutes, float(rps))


def _step(before: float, after: float, at: int, minutes: int) -> np.ndarray:
    load = np.full(minutes, float(before))
    load[at:] = after
    return load


# --------------------------------------------------------------------------------------------
# The policy
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"metric": "P99Latency"}, "metric"),
        ({"target_value": 120}, "target_value"),
        ({"target_value": 0}, "target_value"),
        ({"target_value": True}, "target_value"),
        ({"min_capacity": 5, "max_capacity": 4}, "min_capacity"),
        ({"min_capacity": -1}, "min_capacity"),
        ({"max_capacity": 0}, "max_capacity"),
        ({"scale_out_cooldown": -60}, "scale_out_cooldown"),
        ({"scale_in_cooldown": 1.5}, "scale_in_cooldown"),
    ],
)
def test_policies_that_application_auto_scaling_refuses_are_refused(kwargs, where) -> None:
    with pytest.raises(InputError) as caught:
        scaling.TargetTracking(**kwargs)
    assert caught.value.where == where


def test_a_request_count_target_above_100_is_fine() -> None:
    policy = scaling.TargetTracking(1500, metric=scaling.REQUEST_METRIC)
    assert "1500 req/target/min" in policy.label


def test_the_requests_are_what_the_api_takes() -> None:
    policy = scaling.TargetTracking(60, min_capacity=3, max_capacity=12, scale_out_cooldown=60)
    target = policy.scalable_target_request("c", "s", tags={"lab": "09"})
    assert target == {
        "ServiceNamespace": "ecs",
        "ResourceId": "service/c/s",
        "ScalableDimension": "ecs:service:DesiredCount",
        "MinCapacity": 3,
        "MaxCapacity": 12,
        "Tags": {"lab": "09"},
    }
    request = policy.policy_request("p", "c", "s")
    config = request["TargetTrackingScalingPolicyConfiguration"]
    assert request["PolicyType"] == "TargetTrackingScaling"
    assert config["TargetValue"] == 60.0 and config["ScaleOutCooldown"] == 60
    assert config["ScaleInCooldown"] == 300  # the ECS default
    assert config["PredefinedMetricSpecification"] == {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    }


def test_request_count_per_target_needs_a_resource_label() -> None:
    policy = scaling.TargetTracking(1000, metric=scaling.REQUEST_METRIC)
    with pytest.raises(InputError) as caught:
        policy.policy_request("p", "c", "s")
    assert caught.value.where == "resource_label"
    label = "app/alb/0123456789abcdef/targetgroup/tg/0123456789abcdef"
    spec = policy.policy_request("p", "c", "s", resource_label=label)[
        "TargetTrackingScalingPolicyConfiguration"
    ]["PredefinedMetricSpecification"]
    assert spec == {"PredefinedMetricType": "ALBRequestCountPerTarget", "ResourceLabel": label}


def test_the_modelled_alarms() -> None:
    alarms = scaling.TargetTracking(50).alarms("c", "s")
    assert list(alarms["datapoints"]) == ["3 of 3", "15 of 15"]
    assert list(alarms["condition"]) == ["> 50", "< 45"]
    assert list(alarms["alarm"].str.startswith("TargetTracking-service/c/s-Alarm")) == [True] * 2
    disabled = scaling.TargetTracking(50, disable_scale_in=True).alarms("c", "s")
    assert disabled["action"].iloc[1] == "(scale-in disabled)"


# --------------------------------------------------------------------------------------------
# The load curve and the latency model
# --------------------------------------------------------------------------------------------


def test_the_daily_load_is_seeded_and_shaped() -> None:
    day = scaling.daily_load()
    assert len(day) == 1440 and day.index[0] == 0 and day.index[-1] == 1439
    assert day.equals(scaling.daily_load())
    assert not day.equals(scaling.daily_load(seed=8))
    assert day.attrs["time"][0] == "00:00" and day.attrs["time"][-1] == "23:59"
    quiet = scaling.daily_load(spike_at=None, noise=0.0)
    assert quiet.max() == pytest.approx(600.0) and 19 <= quiet.idxmax() / 60 <= 22
    assert quiet.min() >= 60.0
    spiked = scaling.daily_load(noise=0.0)
    assert spiked[18 * 60 + 2] == pytest.approx(2 * quiet[18 * 60 + 2])
    assert spiked[18 * 60 - 1] == pytest.approx(quiet[18 * 60 - 1])
    with pytest.raises(InputError):
        scaling.daily_load(peak_rps=50, night_rps=60)


def test_p99_grows_with_utilisation_and_backlog() -> None:
    rho = np.linspace(0.0, 0.99, 50)
    p99 = scaling.p99_ms(rho, np.zeros_like(rho), WORK)
    assert p99[0] == WORK.base_p99_ms
    assert (np.diff(p99) >= 0).all()
    # M/M/1: P(W > t) = rho exp(-mu (1 - rho) t), so t99 = ln(100 rho) / (mu (1 - rho))
    assert scaling.p99_ms([0.5], [0.0], WORK)[0] == pytest.approx(
        WORK.base_p99_ms + 1000 * math.log(50) / (50 * 0.5)
    )
    assert scaling.p99_ms([0.5], [2.0], WORK)[0] == pytest.approx(
        scaling.p99_ms([0.5], [0.0], WORK)[0] + 2000
    )
    assert scaling.p99_ms([1.0], [1e6], WORK)[0] == WORK.base_p99_ms + 60_000  # ALB timeout


def test_a_task_hour_costs_what_fargate_charges() -> None:
    assert WORK.task_hour_usd == pytest.approx(0.25 * 0.04048 + 0.5 * 0.004445)
    with pytest.raises(InputError):
        scaling.Workload(service="search")


# --------------------------------------------------------------------------------------------
# The simulation: target tracking's documented behaviour
# --------------------------------------------------------------------------------------------


def test_fixed_capacity_never_changes() -> None:
    result = scaling.simulate(scaling.TargetTracking(50, min_capacity=8, max_capacity=8),
                              scaling.daily_load())  # fmt: skip
    t = result.timeline
    assert (t["desired"] == 8).all() and (t["running"] == 8).all() and (t["event"] == "").all()
    assert result.summary()["task-hours"] == 8 * 24


def test_scale_out_after_three_minutes_above_target_in_proportion() -> None:
    # 4 tasks serve 200 req/s: 50% CPU. At minute 10 the load goes to 300 req/s: 75% CPU.
    policy = scaling.TargetTracking(50, min_capacity=1, max_capacity=50)
    t = scaling.simulate(policy, _step(100, 150, 10, 40), initial=4).timeline
    assert t.loc[9, "cpu_pct"] == pytest.approx(50.0)
    changes = t[t["event"] != ""]
    first = changes.iloc[0]
    assert first["minute"] == 12  # datapoints at 10, 11, 12 above the target
    assert first["desired"] == math.ceil(4 * 75 / 50) == 6
    # the new tasks serve task_start_minutes (2) later
    assert t.loc[13, "running"] == 4 and t.loc[14, "running"] == 6
    assert t.loc[20, "cpu_pct"] == pytest.approx(50.0)


def test_scale_in_waits_fifteen_minutes_below_ninety_percent_and_rounds_up() -> None:
    policy = scaling.TargetTracking(50, min_capacity=2, max_capacity=50, scale_in_cooldown=300)
    t = scaling.simulate(policy, _step(500, 180, 5, 60), initial=20).timeline
    # 180 req/s on 20 tasks: 18% CPU, below 45% from minute 5
    ins = t[t["event"].str.startswith("scale in")]
    assert ins.iloc[0]["minute"] == 5 + 14
    assert ins.iloc[0]["desired"] == math.ceil(20 * 18 / 50) == 8
    assert t.loc[ins.iloc[0]["minute"], "running"] == 8  # removed tasks stop at once
    # 180 req/s on 8 tasks is 45%: not below 90% of the target, so it stays
    assert len(ins) == 1 and t["running"].iloc[-1] == 8


def test_scale_in_respects_the_cooldown_and_the_minimum() -> None:
    policy = scaling.TargetTracking(50, min_capacity=3, max_capacity=50, scale_in_cooldown=1800)
    falling = np.linspace(1000, 20, 240)
    t = scaling.simulate(policy, falling, initial=40).timeline
    ins = list(t.loc[t["event"].str.startswith("scale in"), "minute"])
    assert len(ins) >= 3
    assert all(b - a >= 30 for a, b in itertools.pairwise(ins))
    assert t["running"].min() >= 3
    fast = scaling.simulate(replace(policy, scale_in_cooldown=60), falling, initial=40).timeline
    assert (fast["event"].str.startswith("scale in")).sum() > len(ins)
    assert fast["running"].min() == 3 and fast["running"].iloc[-1] == 3  # never below the minimum


def test_disable_scale_in_keeps_capacity() -> None:
    policy = scaling.TargetTracking(50, min_capacity=1, max_capacity=50, disable_scale_in=True)
    t = scaling.simulate(policy, _steady(20, 120), initial=20).timeline
    assert (t["running"] == 20).all()
    assert t["low"].any()  # the alarm is in ALARM, nothing happens


def test_max_capacity_caps_and_cpu_caps_the_proportion() -> None:
    policy = scaling.TargetTracking(50, min_capacity=1, max_capacity=7)
    t = scaling.simulate(policy, _step(100, 1000, 5, 60), initial=4).timeline
    first = t[t["event"] != ""].iloc[0]
    assert first["desired"] == 7  # ceil(4 × 100 / 50) = 8, capped at 7
    assert t["desired"].max() == 7
    assert t["backlog"].iloc[-1] > 0 and t["p99_ms"].iloc[-1] == WORK.base_p99_ms + 60_000


def test_during_the_scale_out_cooldown_only_a_larger_need_scales_out() -> None:
    load = _step(100, 150, 5, 60)
    load[20:] = 400  # a second jump while the first scale-out's cooldown runs
    policy = scaling.TargetTracking(50, min_capacity=1, max_capacity=50, scale_out_cooldown=1800)
    long = scaling.simulate(policy, load, initial=4)
    outs = long.timeline[long.timeline["event"].str.startswith("scale out")]
    assert "in its cooldown" in outs.iloc[1]["event"]
    # the second computes from the capacity before the first (4), not from 6: ceil(4 × m / 50)
    second = outs.iloc[1]
    assert second["desired"] == math.ceil(4 * second["metric"] / 50)


def test_a_cooldown_shorter_than_a_task_start_overshoots() -> None:
    load = _step(100, 150, 5, 40)
    args = {"min_capacity": 1, "max_capacity": 50}
    slow = scaling.Workload(task_start_minutes=5)
    eager = scaling.simulate(
        scaling.TargetTracking(50, scale_out_cooldown=0, **args), load, slow, initial=4
    )
    patient = scaling.simulate(
        scaling.TargetTracking(50, scale_out_cooldown=600, **args), load, slow, initial=4
    )
    assert eager.timeline["desired"].max() > patient.timeline["desired"].max() == 6


def test_request_count_per_target_tracks_requests() -> None:
    policy = scaling.TargetTracking(1200, metric=scaling.REQUEST_METRIC, min_capacity=1,
                                    max_capacity=50)  # fmt: skip
    t = scaling.simulate(policy, _step(100, 200, 5, 40), initial=5).timeline
    # 200 req/s = 12,000 req/min over 5 targets = 2,400 per target: twice the target
    assert t[t["event"] != ""].iloc[0]["desired"] == 10
    assert t["requests_per_target"].iloc[-1] == 1200


def test_the_initial_capacity_meets_the_first_minute_at_the_target() -> None:
    t = scaling.simulate(scaling.TargetTracking(50, max_capacity=100), _steady(210)).timeline
    assert t["running"].iloc[0] == math.ceil(210 / 25)


def test_bad_load_is_refused() -> None:
    for load in ([], [1.0, -2.0], [float("nan")], [[1.0]]):
        with pytest.raises(InputError):
            scaling.simulate(scaling.TargetTracking(), load)


def test_summaries_and_comparisons() -> None:
    day = scaling.daily_load()
    results = {
        "50": scaling.simulate(scaling.TargetTracking(50, max_capacity=30), day),
        "70": scaling.simulate(scaling.TargetTracking(70, max_capacity=30), day),
    }
    table = scaling.compare(results, bound_ms=1000)
    assert list(table["name"]) == ["50", "70"]
    assert table.loc[0, "cost (USD/day)"] > table.loc[1, "cost (USD/day)"]
    assert table.loc[0, "minutes p99 > 1000 ms"] < table.loc[1, "minutes p99 > 1000 ms"]
    t = results["50"].timeline
    billed = (t["running"] + t["starting"]).sum() / 60
    assert table.loc[0, "task-hours"] == round(billed, 1)
    events = results["50"].events()
    assert (events["event"] != "").all() and len(events) == (t["event"] != "").sum()
    assert isinstance(scaling.compare(list(results.values())), pd.DataFrame)


def test_a_day_takes_milliseconds() -> None:
    import time

    day = scaling.daily_load()
    started = time.perf_counter()
    scaling.simulate(scaling.TargetTracking(50, max_capacity=30), day)
    assert time.perf_counter() - started < 0.5


def test_the_day_plot_has_four_labelled_panels() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = scaling.simulate(scaling.TargetTracking(50, max_capacity=30), scaling.daily_load())
    fig = scaling.plot_day(result, bound_ms=1000)
    assert len(fig.axes) == 4 and fig.axes[0].get_title()
    assert all(ax.get_ylabel() for ax in fig.axes) and fig.axes[3].get_xlabel()
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The exercise's check, both ways
# --------------------------------------------------------------------------------------------


def test_the_p99_check(capsys) -> None:
    for answer, message in (
        (None, "no answer"),
        ("CPU 40%", "not a scaling.TargetTracking"),
        (scaling.TargetTracking(70, max_capacity=30), "p99 goes above"),
        (scaling.TargetTracking(50, min_capacity=24, max_capacity=24), "costs more"),
        (scaling.TargetTracking(30, max_capacity=30), "costs more"),
    ):
        with pytest.raises(CheckFailed, match=message):
            checks.policy_holds_p99(answer)
    result = checks.policy_holds_p99(scaling.TargetTracking(40, max_capacity=30))
    assert capsys.readouterr().out.startswith("✔")
    assert result.timeline["p99_ms"].max() <= checks.P99_BOUND_MS
    assert checks.daily_budget_usd() == 4.50


# --------------------------------------------------------------------------------------------
# On the emulator
# --------------------------------------------------------------------------------------------


def test_apply_stores_the_policy_without_leaking_alarms_and_remove_is_idempotent(ctx) -> None:
    import labs.cleanup
    from labs.containers import ecs

    cluster = ctx.name("t09-scaling")
    ecs_client = ctx.client("ecs")
    cw = ctx.client("cloudwatch")
    prefix = f"TargetTracking-{scaling.resource_id(cluster, 'svc')}"
    try:
        ecs.ensure_cluster(ctx, cluster, lab=LAB)
        arn = ecs.register_task_definition(
            ctx, ecs.bookstore_task_definition(family=ctx.name("t09-scaling")), lab=LAB
        )
        ecs_client.create_service(
            cluster=cluster, serviceName="svc", taskDefinition=arn, desiredCount=2,
            launchType="FARGATE", tags=ctx.tags(lab=LAB).as_list("key", "value"),
        )  # fmt: skip
        policy = scaling.TargetTracking(55, min_capacity=2, max_capacity=9)
        for _ in range(2):
            stored = scaling.apply(ctx, policy, cluster=cluster, service="svc", name="p", lab=LAB)
        assert stored["target"]["MinCapacity"] == 2 and stored["target"]["MaxCapacity"] == 9
        config = stored["policy"]["TargetTrackingScalingPolicyConfiguration"]
        assert config["TargetValue"] == 55.0
        names = sorted(a["AlarmName"] for a in stored["alarms"])
        assert [n.split("-Alarm")[1][:4] for n in names] == ["High", "Low-"]
        assert len(cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]) == 2
        removed = scaling.remove(ctx, cluster=cluster, service="svc")
        assert len(removed) == 2
        assert cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"] == []
        assert scaling.remove(ctx, cluster=cluster, service="svc") == []
    finally:
        scaling.remove(ctx, cluster=cluster, service="svc")
        labs.cleanup.cleanup(ctx, services=["ecs", "cloudwatch"], lab=LAB)
    assert labs.cleanup.inventory(ctx, services=["ecs", "cloudwatch"], lab=LAB).empty
