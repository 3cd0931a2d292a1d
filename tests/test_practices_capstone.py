"""Tests for the capstone: service profiles, the candidate grid, evaluate, recommend, checks."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from labs.deploy import engine
from labs.deploy.rolling import CircuitBreaker
from labs.deploy.strategies import EcsRolling, InPlace, TrafficShift
from labs.errors import CheckFailed, InputError
from labs.practices import capstone, capstone_checks
from labs.practices.capstone import (
    BAD_RELEASES,
    CANDIDATES,
    FRAME_COLUMNS,
    PROFILES,
    RELEASES,
    SUMMARY_COLUMNS,
    ServiceProfile,
)

P = "CodeDeployDefault."
PICKS = {
    "catalog": "ECS rolling 100/200",
    "orders": "ECSCanary10Percent5Minutes",
    "payments": "ECSCanary10Percent15Minutes",
}


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    """The full grid of every profile, evaluated once for the module (about 3 s)."""
    return {service: capstone.evaluate(profile) for service, profile in PROFILES.items()}


# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------


def test_the_three_bookstore_services_have_profiles():
    assert list(PROFILES) == ["catalog", "orders", "payments"]
    for service, profile in PROFILES.items():
        assert profile.service == service
        assert profile.bound > 0 and profile.task_hour_usd > 0
    frame = capstone.profiles_frame()
    assert list(frame.index) == list(PROFILES)
    assert frame.loc["payments", "bound (bad requests)"] == PROFILES["payments"].bound


def test_profile_alarms_follow_the_profile():
    payments = PROFILES["payments"]
    errors, latency = payments.alarms()
    assert payments.alarm_names == ["labs-capstone-payments-errors", "labs-capstone-payments-p99"]
    assert errors.metric_name == "ErrorRate" and errors.threshold == payments.error_alarm_pct
    assert latency.extended_statistic == "p99" and latency.threshold == payments.latency_alarm_ms
    assert {a.period for a in payments.alarms()} == {300}
    assert errors.dimensions == (("Service", "payments"),)
    kwargs = errors.to_put_kwargs()
    assert kwargs["EvaluationPeriods"] == 2 and kwargs["DatapointsToAlarm"] == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"service": "shipping"}, "service"),
        ({"bound": -1}, "bound"),
        ({"bound": 1.5}, "bound"),
        ({"tasks": 0}, "tasks"),
        ({"min_capacity_pct": 120}, "min_capacity_pct"),
        ({"background_error_rate": 2.0}, "background_error_rate"),
        ({"alarm_period_s": 45}, "Period"),
        ({"alarm_datapoints": 3}, "DatapointsToAlarm"),
    ],
)
def test_a_bad_profile_is_refused_naming_the_field(change, field):
    with pytest.raises(InputError) as error:
        PROFILES["orders"].with_(**change)
    assert field in (error.value.where or "")


# --------------------------------------------------------------------------------------------
# Candidates
# --------------------------------------------------------------------------------------------


def test_the_grid_sizes_every_candidate_for_the_profile():
    payments = PROFILES["payments"]
    strategies = capstone.grid(payments)
    assert list(strategies) == list(CANDIDATES)
    canary = strategies["ECSCanary10Percent5Minutes"]
    assert isinstance(canary, TrafficShift) and canary.desired_count == payments.tasks
    assert canary.deployment_config.name == f"{P}ECSCanary10Percent5Minutes"
    rolling = strategies["ECS rolling 50/100"]
    assert isinstance(rolling, EcsRolling)
    assert (rolling.desired_count, rolling.minimum_healthy_percent, rolling.maximum_percent) == (
        payments.tasks, 50, 100,
    )  # fmt: skip
    assert rolling.circuit_breaker == CircuitBreaker(enable=True, rollback=True)
    in_place = strategies["HalfAtATime"]
    assert isinstance(in_place, InPlace) and in_place.instances == payments.tasks
    families = {capstone._family(s.label) for s in strategies.values()}
    assert families == {"blue/green", "rolling", "in-place"}


def test_specs_accept_prefixes_custom_rolling_lambda_and_strategy_objects():
    orders = PROFILES["orders"]
    assert capstone.strategy_for(f"{P}ECSAllAtOnce", orders) == capstone.strategy_for(
        "ECSAllAtOnce", orders
    )
    custom = capstone.strategy_for("ECS rolling 75/125", orders)
    assert (custom.minimum_healthy_percent, custom.maximum_percent) == (75, 125)
    assert capstone.strategy_for("LambdaCanary10Percent5Minutes", orders).platform == "Lambda"
    mine = TrafficShift(f"{P}ECSCanary10Percent15Minutes", desired_count=3)
    assert capstone.strategy_for(mine, orders) is mine
    assert capstone.candidate_name(mine) == mine.label
    assert capstone.candidate_name(f"{P}OneAtATime") == "OneAtATime"


@pytest.mark.parametrize("spec", ["ECSCanary10Percent5Minute", "blue-green", 42, None])
def test_an_unknown_spec_is_refused_with_the_names_it_knows(spec):
    with pytest.raises(InputError) as error:
        capstone.strategy_for(spec, PROFILES["orders"])
    assert "CANDIDATES" in error.value.hint
    if spec == "ECSCanary10Percent5Minute":
        assert "ECSCanary10Percent5Minutes" in error.value.what


def test_a_candidate_listed_twice_is_refused():
    with pytest.raises(InputError, match="twice"):
        capstone.grid("orders", ["ECSAllAtOnce", f"{P}ECSAllAtOnce"])


# --------------------------------------------------------------------------------------------
# Measuring: slow requests, escape, extra capacity
# --------------------------------------------------------------------------------------------


def test_a_good_release_has_no_slow_requests():
    result = capstone.deploy(None, "orders", "ECSAllAtOnce", release="v2")
    assert capstone.slow_requests(result, PROFILES["orders"]) == 0


def test_slow_requests_are_the_requests_the_slow_release_answered():
    """v2-slow adds 900 ms: above the 800 ms objective every request it answers is slow."""
    orders = PROFILES["orders"]
    result = capstone.deploy(None, orders, "ECSCanary10Percent5Minutes", release="v2-slow")
    timeline = result.timeline[result.timeline["minute"] >= 0]
    answered = (timeline["requests"] * timeline["percent_new"] / 100).sum()
    baseline_slow = capstone._share_slower("orders", 0.0, orders.latency_objective_ms)
    assert capstone.slow_requests(result, orders) == pytest.approx(
        answered * (1 - baseline_slow), abs=1
    )
    row = capstone.measure(result, orders)
    assert row["failed_requests"] == 0
    assert row["bad_requests"] == row["slow_requests"] > 2_000
    # With a generous objective, the same run harms nobody.
    relaxed = orders.with_(latency_objective_ms=60_000)
    assert capstone.slow_requests(result, relaxed) == 0


def test_the_share_slower_is_the_log_normal_tail():
    """The baseline's p99 is, by construction, exceeded by 1% of requests."""
    from labs.bookstore.faults import LATENCY_BASELINES

    for service, baseline in LATENCY_BASELINES.items():
        assert capstone._share_slower(service, 0.0, baseline.p99_ms) == pytest.approx(0.01)
        assert capstone._share_slower(service, 0.0, baseline.median_ms) == pytest.approx(0.5)
    assert capstone._share_slower("orders", 900.0, 800.0) == 1.0


def test_a_bad_release_that_finishes_before_the_alarm_has_escaped():
    payments = PROFILES["payments"]  # 5-minute alarms: HalfAtATime finishes first
    result = capstone.deploy(None, payments, "HalfAtATime", release="v2-bad")
    assert result.status == "Succeeded"
    assert capstone.measure(result, payments)["escaped"] is True
    rolled_back = capstone.deploy(None, payments, "ECSCanary10Percent15Minutes", release="v2-bad")
    assert capstone.measure(rolled_back, payments)["escaped"] is False


def test_extra_capacity_of_blue_green_rolling_and_in_place():
    orders = PROFILES["orders"]
    canary = capstone.deploy(None, orders, "ECSCanary10Percent5Minutes")
    # Six extra tasks from minute 0 until the original task set goes at minute 11.
    extra = capstone.extra_capacity(canary, orders)
    assert extra["extra_task_hours"] == pytest.approx(6 * 11 / 60)
    assert extra["extra_cost_usd"] == pytest.approx(6 * 11 / 60 * orders.task_hour_usd)
    rolling = capstone.deploy(None, orders, "ECS rolling 100/200")
    assert capstone.extra_capacity(rolling, orders)["extra_task_hours"] == pytest.approx(0.1)
    for spec in ("OneAtATime", "ECS rolling 50/100"):
        result = capstone.deploy(None, orders, spec)
        assert capstone.extra_capacity(result, orders)["extra_cost_usd"] == 0


# --------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------


def test_evaluate_returns_one_row_per_candidate_and_release(frames):
    frame = frames["orders"]
    assert list(frame.columns) == FRAME_COLUMNS
    assert len(frame) == len(CANDIDATES) * len(RELEASES)
    assert set(frame["release"]) == set(RELEASES)
    assert (frame["bad_requests"] == frame["failed_requests"] + frame["slow_requests"]).all()
    good = frame[frame["release"] == "v2"]
    assert (good["bad_requests"][good["candidate"] != "AllAtOnce"] == 0).all()


def test_evaluate_is_deterministic_for_a_seed(frames):
    names = ["ECSCanary10Percent5Minutes", "ECS rolling 100/200", "HalfAtATime"]
    again = capstone.evaluate(PROFILES["orders"], names, seed=0)
    expected = frames["orders"][frames["orders"]["candidate"].isin(names)].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected)
    other = capstone.evaluate(PROFILES["orders"], names, seed=1)
    assert not other["failed_requests"].equals(again["failed_requests"])


def test_evaluate_agrees_with_the_engine():
    orders = PROFILES["orders"]
    frame = capstone.evaluate(orders, ["ECSAllAtOnce"], releases=["v2-bad"])
    direct = engine.run(
        None, TrafficShift(f"{P}ECSAllAtOnce", desired_count=orders.tasks), release="v2-bad",
        alarms=orders.alarms(), service="orders", requests_per_second=orders.requests_per_second,
        users=orders.users,
    )  # fmt: skip
    assert frame.loc[0, "failed_requests"] == direct.figures()["failed_requests"]
    assert frame.loc[0, "status"] == direct.status == "RolledBack"


def test_evaluate_takes_a_mapping_of_names_and_refuses_bad_releases():
    frame = capstone.evaluate("orders", {"mine": "ECS rolling 75/125"}, releases=["v2"])
    assert frame["candidate"].tolist() == ["mine"]
    with pytest.raises(InputError):
        capstone.evaluate("orders", ["ECSAllAtOnce"], releases="v2")
    with pytest.raises(InputError):
        capstone.evaluate("shipping")


# --------------------------------------------------------------------------------------------
# summarize and recommend
# --------------------------------------------------------------------------------------------


def test_summarize_takes_the_worst_case_and_orders_by_the_rule(frames):
    summary = capstone.summarize(frames["orders"], PROFILES["orders"])
    assert list(summary.columns) == SUMMARY_COLUMNS
    assert len(summary) == len(CANDIDATES)
    runs = frames["orders"]
    for _, row in summary.iterrows():
        mine = runs[runs["candidate"] == row["candidate"]]
        assert row["worst_bad_requests"] == mine["bad_requests"].max()
        good = mine[mine["release"] == "v2"].iloc[0]
        assert row["time_to_100_min"] == good["time_to_100_min"] or math.isnan(
            good["time_to_100_min"]
        )
    eligible = summary["eligible"].tolist()
    assert eligible == sorted(eligible, reverse=True)  # every eligible candidate comes first
    times = summary.loc[summary["eligible"], "time_to_100_min"].tolist()
    assert times == sorted(times)
    in_place = summary.set_index("candidate").loc["AllAtOnce"]
    assert not in_place["delivers"] and "does not reach 100%" in in_place["verdict"]


def test_an_escaped_bad_release_has_an_unbounded_blast_radius(frames):
    summary = capstone.summarize(frames["payments"], PROFILES["payments"]).set_index("candidate")
    assert math.isinf(summary.loc["HalfAtATime", "worst_bad_requests"])
    assert "escaped" in summary.loc["HalfAtATime", "verdict"]
    assert not summary.loc["HalfAtATime", "within_bound"]


def test_the_recommendations_of_the_case_study(frames):
    for service, profile in PROFILES.items():
        rec = capstone.recommend(frames[service], profile)
        assert rec.candidate == PICKS[service], rec.reason
        assert rec.meets and rec.service == service
        assert rec.strategy == capstone.strategy_for(PICKS[service], profile).label


def test_every_recommendation_respects_its_bound_and_floor(frames):
    for service, profile in PROFILES.items():
        for bound in (500, 2_000, 10_000, 50_000, 200_000):
            for floor in (0.0, 90.0, 100.0):
                strict = profile.with_(bound=bound, min_capacity_pct=floor)
                rec = capstone.recommend(frames[service], strict)
                summary = rec.summary.set_index("candidate")
                if rec.candidate is None:
                    assert not summary["eligible"].any()
                    continue
                pick = summary.loc[rec.candidate]
                assert pick["worst_bad_requests"] <= bound
                assert pick["min_capacity_pct"] >= floor and pick["delivers"]
                fastest = summary.loc[summary["eligible"], "time_to_100_min"].min()
                assert pick["time_to_100_min"] == fastest


def test_ties_on_speed_go_to_the_cheaper_candidate(frames):
    rec = capstone.recommend(frames["catalog"], PROFILES["catalog"])
    summary = rec.summary.set_index("candidate")
    assert summary.loc["ECSAllAtOnce", "eligible"]
    assert summary.loc["ECSAllAtOnce", "time_to_100_min"] == rec.evidence["time_to_100_min"]
    assert summary.loc["ECSAllAtOnce", "extra_cost_usd"] > rec.evidence["extra_cost_usd"]
    assert "cheaper in extra capacity" in rec.reason


def test_a_bound_nobody_meets_gives_no_pick_and_says_so(frames):
    strict = PROFILES["payments"].with_(bound=300)
    rec = capstone.recommend(frames["payments"], strict)
    assert rec.candidate is None and rec.strategy is None and not rec.meets
    assert "no strategy meets the bound of 300 bad requests" in rec.reason
    assert "1,435" in rec.reason and "ECSCanary10Percent15Minutes" in rec.reason
    assert str(rec).startswith("payments: no strategy meets the bound")
    table = capstone.recommendation_table([rec])
    assert table.loc["payments", "recommendation"] == "no strategy meets the bound"


def test_a_floor_nobody_meets_within_the_bound_is_named(frames):
    # catalog with a tiny bound and an impossible floor: the bound leaves some, the floor none.
    profile = PROFILES["orders"].with_(bound=3_000, min_capacity_pct=100.0)
    frame = frames["orders"][frames["orders"]["family"] != "blue/green"]
    rec = capstone.recommend(frame, profile.with_(bound=10_000))
    assert rec.candidate is None
    assert "no strategy meets every constraint" in rec.reason and "OneAtATime" in rec.reason


def test_recommend_refuses_a_frame_without_the_service_or_the_good_release(frames):
    with pytest.raises(InputError, match="no runs of payments"):
        capstone.recommend(frames["orders"], PROFILES["payments"])
    bad_only = frames["orders"][frames["orders"]["release"] != "v2"]
    with pytest.raises(InputError, match="good release"):
        capstone.recommend(bad_only, PROFILES["orders"])
    with pytest.raises(InputError):
        capstone.recommend(pd.DataFrame({"x": [1]}), PROFILES["orders"])


def test_the_recommendation_table_and_the_plot(frames):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = {s: capstone.recommend(frames[s], p) for s, p in PROFILES.items()}
    table = capstone.recommendation_table(recs.values())
    assert list(table.index) == list(PROFILES)
    assert table.loc["orders", "recommendation"] == PICKS["orders"]
    assert table.loc["payments", "bound"] == PROFILES["payments"].bound
    summaries = {s: r.summary for s, r in recs.items()}
    fig = capstone.plot_tradeoffs(summaries, recs)
    assert len(fig.axes) == 3
    assert all(ax.get_yscale() == "log" for ax in fig.axes)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def test_choices_within_bounds_passes_on_choices_within_every_bound(capsys):
    capstone_checks.choices_within_bounds(dict(PICKS))
    printed = capsys.readouterr().out
    assert printed.count("✔") == 3 and "payments: ECSCanary10Percent15Minutes" in printed


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (None, "no answer yet"),
        ("ECSAllAtOnce", "a dict"),
        ({"catalog": "ECSAllAtOnce"}, "missing"),
        ({**PICKS, "shipping": "ECSAllAtOnce"}, "unknown"),
        ({**PICKS, "orders": "ECSCanary10Percent5Minute"}, "orders"),
        ({**PICKS, "catalog": "AllAtOnce"}, "does not deliver"),
    ],
)
def test_choices_within_bounds_fails_with_a_message(answer, words):
    with pytest.raises(CheckFailed) as error:
        capstone_checks.choices_within_bounds(answer)
    assert words in str(error.value)


def test_a_choice_over_its_bound_names_the_service_the_measure_and_the_bound():
    with pytest.raises(CheckFailed) as error:
        capstone_checks.choices_within_bounds({**PICKS, "payments": "ECSCanary10Percent5Minutes"})
    message = str(error.value)
    assert "payments" in message and "1,800" in message
    assert "3,917 bad requests on v2-bad" in message


def test_an_escaped_choice_says_it_escaped():
    with pytest.raises(CheckFailed) as error:
        capstone_checks.choices_within_bounds({**PICKS, "payments": "HalfAtATime"})
    assert "escaped" in str(error.value) and "payments" in str(error.value)


def test_extra_capacity_cost_check(capsys):
    orders = PROFILES["orders"]
    result = capstone.deploy(None, orders, "ECSCanary10Percent5Minutes")
    cost = capstone.extra_capacity(result, orders)["extra_cost_usd"]
    capstone_checks.extra_capacity_cost(cost, result, orders)
    assert "✔" in capsys.readouterr().out
    for wrong, hint in ((1.1, "task-hours"), (cost * 60, "divide by 60"), (0.5, "Sum")):
        with pytest.raises(CheckFailed) as error:
            capstone_checks.extra_capacity_cost(wrong, result, orders)
        assert hint in str(error.value)
    with pytest.raises(CheckFailed, match="no answer yet"):
        capstone_checks.extra_capacity_cost(None, result, orders)


# --------------------------------------------------------------------------------------------
# On the emulator
# --------------------------------------------------------------------------------------------


def test_a_pick_on_the_emulator_matches_its_dry_run_and_cleans_up(private_workshop):
    import labs
    from labs.cleanup import cleanup
    from labs.deploy import aws_resources

    ctx = labs.start(quiet=True)
    orders = PROFILES["orders"]
    real = capstone.deploy(ctx, orders, "ECSCanary10Percent5Minutes", release="v2-bad")
    dry = capstone.deploy(None, orders, "ECSCanary10Percent5Minutes", release="v2-bad")
    assert capstone.measure(real, orders) == capstone.measure(dry, orders)
    cloudwatch = ctx.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmNames=orders.alarm_names)["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(orders.alarm_names)
    tags = cloudwatch.list_tags_for_resource(ResourceARN=alarms[0]["AlarmArn"])["Tags"]
    assert {"Key": "lab", "Value": "14"} in tags
    info = ctx.client("codedeploy").get_deployment(deploymentId=real.deployment_id)
    assert info["deploymentInfo"]["deploymentConfigName"] == f"{P}ECSCanary10Percent5Minutes"
    assert real.rollback_deployment_id is not None
    for _ in range(2):  # the cleanup can run twice
        removed = cleanup(ctx, lab="14", verbose=False)
        assert not (removed["action"] == "failed").any()
        aws_resources.delete_network(ctx)
    assert not cloudwatch.describe_alarms(AlarmNames=orders.alarm_names)["MetricAlarms"]


def test_bad_releases_are_the_three_bad_ones():
    assert BAD_RELEASES == ("v2-bad", "v2-crash", "v2-slow")
    assert all(capstone._is_bad(r) for r in BAD_RELEASES) and not capstone._is_bad("v2")
    assert isinstance(PROFILES["orders"], ServiceProfile)
