"""Tests for the deployment engine: schedules, rollbacks, ECS rolling math, emulator write-backs."""

from __future__ import annotations

import io
import uuid
import zipfile

import pandas as pd
import pytest

from labs.deploy import aws_resources, configs, engine, metrics
from labs.deploy.checks import reference_failed_requests
from labs.deploy.rolling import (
    CircuitBreaker,
    RollingUpdate,
    circuit_breaker_threshold,
    task_limits,
)
from labs.deploy.strategies import EcsRolling, InPlace, TrafficShift
from labs.errors import InputError
from labs.observability.alarms import Alarm

P = "CodeDeployDefault."
SHIFT_CONFIGS = [n for n in configs.all_predefined()["name"] if ".ECS" in n or ".Lambda" in n]
ERRORS = Alarm(
    "labs-test-dry-errors", "ErrorRate", "Bookstore", 60, 2, 1.0, "GreaterThanThreshold",
    statistic="Average", dimensions=[("Service", "orders")],
)  # fmt: skip


def _during(result: engine.DeploymentResult) -> pd.DataFrame:
    return result.timeline[result.timeline["minute"] >= 0]


# --------------------------------------------------------------------------------------------
# Every configuration follows its schedule and ends at 100% on a good release
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIFT_CONFIGS)
def test_traffic_shifting_follows_the_schedule(name: str):
    result = engine.run(None, TrafficShift(name), release="v2")
    assert result.status == "Succeeded" and result.deployment_status == "Succeeded"
    during = _during(result)
    ready = 1 if ".ECS" in name else 0  # ECS: the replacement task set starts first
    schedule = dict(configs.get(name).traffic_schedule())
    expected, share = [], 0
    for minute in during["minute"]:
        share = schedule.get(minute - ready, share) if minute >= ready else 0
        expected.append(float(share))
    assert list(during["percent_new"]) == expected
    assert during["percent_new"].iloc[-1] == 100
    assert result.full_at_minute == ready + max(schedule)
    extra = result.figures()["peak_extra_capacity_pct"]
    assert extra == (100.0 if ".ECS" in name else 0.0)


@pytest.mark.parametrize(
    ("name", "batches"),
    [(f"{P}OneAtATime", [1] * 6), (f"{P}HalfAtATime", [3, 3]), (f"{P}AllAtOnce", [6])],
)
def test_in_place_deploys_in_batches(name: str, batches: list[int]):
    result = engine.run(None, InPlace(name, instances=6), release="v2")
    assert result.status == "Succeeded"
    events = " ".join(result.timeline["event"])
    for i, size in enumerate(batches, start=1):
        assert f"batch {i}/{len(batches)}: {size} instance(s) out of service" in events
    assert _during(result)["percent_new"].iloc[-1] == 100
    figures = result.figures()
    assert figures["min_capacity_pct"] == pytest.approx(100 * (6 - batches[0]) / 6)
    assert figures["time_to_100_min"] == 2 * len(batches)
    if name.endswith("AllAtOnce"):  # every instance out of service at once: a real outage
        assert figures["failed_requests"] == _during(result)["unavailable"].sum() > 0


@pytest.mark.parametrize(
    ("low", "high", "peak", "dip"),
    [(100, 200, 100.0, 100.0), (50, 100, 0.0, 50.0), (100, 150, 50.0, 100.0)],
)
def test_ecs_rolling_capacity_follows_min_and_max_percent(
    low: int, high: int, peak: float, dip: float
):
    result = engine.run(None, EcsRolling(6, low, high), release="v2")
    assert result.status == "Succeeded"
    assert _during(result)["percent_new"].iloc[-1] == 100
    figures = result.figures()
    assert figures["peak_extra_capacity_pct"] == peak
    assert figures["min_capacity_pct"] == dip


# --------------------------------------------------------------------------------------------
# ECS rolling update math
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("desired", "threshold"),
    [(0, 3), (1, 3), (6, 3), (7, 4), (8, 4), (10, 5), (399, 200), (400, 200)],
)
def test_circuit_breaker_threshold(desired: int, threshold: int):
    # 0.5 x desired, rounded up, clamped to [3, 200]: 7 -> 3.5 -> 4.
    assert circuit_breaker_threshold(desired) == threshold


def test_task_limits_round_as_the_ecs_guide_says():
    assert task_limits(4, 50, 200) == (2, 8)
    assert task_limits(2, 75, 200) == (2, 4)  # "the scheduler can't stop any tasks"
    assert task_limits(3, 100, 150) == (3, 4)  # 4.5 rounded down
    with pytest.raises(InputError, match="neither stop"):
        task_limits(6, 100, 100)
    with pytest.raises(InputError):
        task_limits(6, 120, 200)


def test_rolling_update_never_exceeds_the_bounds():
    update = RollingUpdate(6, 50, 150)
    for minute in range(10):
        update.tick(minute)
        assert update.running <= 9 and update.healthy >= 3
    assert update.done


@pytest.mark.parametrize(
    ("breaker", "status"),
    [(CircuitBreaker(True, True), "RolledBack"), (CircuitBreaker(True, False), "Failed")],
)
def test_circuit_breaker_fails_a_release_whose_tasks_crash(breaker: CircuitBreaker, status: str):
    result = engine.run(None, EcsRolling(6, circuit_breaker=breaker), release="v2-crash")
    assert result.status == status and result.deployment_status == "Failed"
    assert "circuit breaker tripped after 6 failed tasks (threshold 3)" in result.reason
    assert _during(result)["healthy_pct"].min() == 100  # the old tasks kept serving


def test_without_the_circuit_breaker_a_crashing_release_never_finishes():
    result = engine.run(None, EcsRolling(6), release="v2-crash", watch_minutes=0)
    assert result.status == "Failed" and "keeps retrying" in result.reason


# --------------------------------------------------------------------------------------------
# Rollbacks (dry runs)
# --------------------------------------------------------------------------------------------


def test_alarm_during_canary_rolls_back_with_a_new_deployment():
    result = engine.run(None, TrafficShift(f"{P}ECSCanary10Percent5Minutes"), release="v2-bad",
                        alarms=[ERRORS])  # fmt: skip
    assert result.status == "RolledBack" and result.deployment_status == "Stopped"
    assert result.rollback_deployment_id not in (None, result.deployment_id)
    assert "DEPLOYMENT_STOP_ON_ALARM" in result.reason and "v1" in result.reason
    during = _during(result)
    assert during["percent_new"].max() == 10 and during["percent_new"].iloc[-1] == 0
    figures = result.figures()
    assert figures["time_to_detect_min"] == 2 and figures["time_to_rollback_min"] == 0
    expected = 2 * 60 * 200 * 0.10 * 0.25  # two minutes of 10% of 200 req/s at 25% errors
    assert figures["failed_requests"] == pytest.approx(expected, rel=0.15)
    assert 0 < figures["users_affected"] <= figures["failed_requests"]


def test_canary_limits_the_blast_radius_compared_with_all_at_once():
    canary, all_at_once = (
        engine.run(None, TrafficShift(P + c), release="v2-bad", alarms=[ERRORS]).figures()
        for c in ("ECSCanary10Percent5Minutes", "ECSAllAtOnce")
    )
    assert all_at_once["failed_requests"] > 5 * canary["failed_requests"]


def test_deployment_failure_rolls_back_in_place():
    result = engine.run(None, InPlace(f"{P}HalfAtATime"), release="v2-crash")
    assert result.status == "RolledBack" and result.deployment_status == "Failed"
    assert "DEPLOYMENT_FAILURE" in result.reason
    assert _during(result)["healthy_pct"].iloc[-1] == 100


def test_no_automatic_rollback_stops_and_leaves_traffic_where_it_was():
    result = engine.run(None, TrafficShift(f"{P}ECSCanary10Percent5Minutes"), release="v2-bad",
                        alarms=[ERRORS], auto_rollback=(), watch_minutes=6)  # fmt: skip
    assert result.status == "Stopped" and result.rollback_deployment_id is None
    stopped = _during(result)
    assert (stopped["percent_new"].tail(6) == 10).all()
    assert "no automatic rollback for DEPLOYMENT_STOP_ON_ALARM" in result.reason
    failed = engine.run(None, TrafficShift(f"{P}ECSAllAtOnce"), release="v2-crash",
                        auto_rollback=("DEPLOYMENT_STOP_ON_ALARM",))  # fmt: skip
    assert failed.status == "Failed" and failed.deployment_status == "Failed"


def test_lambda_release_that_crashes_fails_its_invocations_and_rolls_back():
    result = engine.run(None, TrafficShift(f"{P}LambdaCanary10Percent5Minutes"), release="v2-crash",
                        alarms=[ERRORS])  # fmt: skip
    assert result.status == "RolledBack"
    assert result.figures()["failed_requests"] > 0


def test_runs_are_deterministic_per_seed():
    a, b, c = (
        engine.run(None, InPlace(), release="v2-bad", alarms=[ERRORS], seed=s) for s in (3, 3, 4)
    )
    pd.testing.assert_frame_equal(a.timeline, b.timeline)
    assert not a.timeline["requests"].equals(c.timeline["requests"])


def test_expected_failed_requests_of_a_linear_rollout():
    name = f"{P}LambdaLinear10PercentEvery1Minute"
    assert reference_failed_requests(name, 200, 0.25) == pytest.approx(12_000 * 0.25 * 4.5)
    result = engine.run(None, TrafficShift(name), release="v2-bad")
    before = result.timeline[result.timeline["minute"].between(0, result.full_at_minute - 1)]
    assert before["failed_by_release"].sum() == pytest.approx(13_500, rel=0.03)


def test_bad_input_is_refused():
    with pytest.raises(InputError, match="at most 10 alarms"):
        engine.run(None, InPlace(), alarms=[ERRORS] * 11)
    with pytest.raises(InputError, match="Unknown automatic rollback event"):
        engine.run(None, InPlace(), auto_rollback=("ON_FRIDAYS",))
    with pytest.raises(InputError, match="Alarm objects"):
        engine.run(None, InPlace(), alarms=["by-name"])
    with pytest.raises(InputError, match="does not shift traffic"):
        TrafficShift(f"{P}HalfAtATime")
    with pytest.raises(InputError, match="in place"):
        InPlace(f"{P}ECSAllAtOnce")


def test_compare_builds_one_row_per_run():
    runs = {
        c: engine.run(None, TrafficShift(P + c), release="v2")
        for c in ("ECSAllAtOnce", "LambdaAllAtOnce")
    }
    table = metrics.compare(runs)
    assert list(table.columns) == metrics.COMPARISON_COLUMNS
    assert list(table["strategy"]) == list(runs)


# --------------------------------------------------------------------------------------------
# On the emulator: CodeDeploy objects, ALB weights, ECS service, alarms
# --------------------------------------------------------------------------------------------


@pytest.fixture
def error_alarm(ctx):
    name = f"labs-test-errors-{uuid.uuid4().hex[:8]}"
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(**{**ERRORS.to_put_kwargs(), "AlarmName": name})
    try:
        yield name
    finally:
        cloudwatch.delete_alarms(AlarmNames=[name])


def test_canary_on_the_emulator_writes_weights_and_rolls_back(ctx, error_alarm):
    strategy = TrafficShift(f"{P}ECSCanary10Percent5Minutes")
    result = engine.run(ctx, strategy, release="v2-bad", alarms=[error_alarm])
    assert result.status == "RolledBack"
    # The listener's weights, read back from the emulator after every change.
    during = _during(result)
    weights = during["listener_weights"].str.extract(r"(\w+)=(\d+) (\w+)=(\d+)")
    assert (weights[3].astype(int) == during["percent_new"].round()).all()
    assert set(during["percent_new"]) == {0.0, 10.0}
    original = weights[0].iloc[0]
    lb = aws_resources.ensure_load_balancer(ctx, aws_resources.ensure_network(ctx))
    assert aws_resources.listener_weights(ctx, lb)[original] == 100
    # Both deployments exist in CodeDeploy: the rollback redeploys v1's revision.
    cd = ctx.client("codedeploy")
    first = cd.get_deployment(deploymentId=result.deployment_id)["deploymentInfo"]
    rollback = cd.get_deployment(deploymentId=result.rollback_deployment_id)["deploymentInfo"]
    assert first["deploymentConfigName"] == f"{P}ECSCanary10Percent5Minutes"
    assert first["overrideAlarmConfiguration"]["alarms"] == [{"name": error_alarm}]
    assert "bookstore" in first["revision"]["appSpecContent"]["content"]
    v1 = aws_resources.task_definition(ctx, "v1")
    assert v1 in rollback["revision"]["appSpecContent"]["content"]
    state = ctx.client("cloudwatch").describe_alarms(AlarmNames=[error_alarm])["MetricAlarms"][0]
    assert state["StateValue"] == "OK"  # recovered after the rollback
    assert result.alarm_history["new_state"].tolist()[-2:] == ["ALARM", "OK"]


def test_rolling_update_on_the_emulator_points_the_service_at_the_release(ctx):
    strategy = EcsRolling(6, 100, 200, CircuitBreaker(True, True))
    good = engine.run(ctx, strategy, release="v2")
    assert good.status == "Succeeded" and good.deployment_id.startswith("ecs-svc/")
    ecs = ctx.client("ecs")
    service = ecs.describe_services(cluster=ctx.name("bookstore"), services=["bookstore-rolling"])
    described = service["services"][0]
    assert described["taskDefinition"] == aws_resources.task_definition(ctx, "v2")
    assert described["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True, "rollback": True,
    }  # fmt: skip


def test_in_place_on_the_emulator_ships_an_s3_bundle(ctx):
    result = engine.run(ctx, InPlace(f"{P}AllAtOnce", instances=2), release="v2")
    info = ctx.client("codedeploy").get_deployment(deploymentId=result.deployment_id)
    location = info["deploymentInfo"]["revision"]["s3Location"]
    body = ctx.client("s3").get_object(Bucket=location["bucket"], Key=location["key"])["Body"]
    names = zipfile.ZipFile(io.BytesIO(body.read())).namelist()
    assert "appspec.yml" in names and "bookstore/faults.py" in names
