"""The game day: a fault detected by the alarm, mitigated by rollback or by a flag, recorded."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import pytest

from labs.bookstore import FaultSwitch
from labs.errors import InputError
from labs.observability.alarms import ALARM, OK, Alarm
from labs.practices import gameday, incidents
from labs.practices.gameday import GameDay

SERVICES = ["cloudwatch", "logs", "sns", "sqs", "elbv2", "ecs", "iam", "codedeploy"]
ERRORS = Alarm(
    alarm_name="labs-test-payments-errors",
    namespace="Bookstore",
    metric_name="ErrorRate",
    dimensions=[("Service", "payments")],
    statistic="Average",
    period=60,
    evaluation_periods=3,
    datapoints_to_alarm=2,
    threshold=1.0,
    comparison_operator="GreaterThanThreshold",
    treat_missing_data="notBreaching",
    unit="Percent",
)


def flag_document(enabled: bool) -> dict:
    return {
        "version": "1",
        "flags": {"new_checkout": {"name": "New checkout"}},
        "values": {"new_checkout": {"enabled": enabled}},
    }


def release_game_day(ctx=None, alarm=ERRORS, *, rollback_after: int = 9, **kwargs) -> GameDay:
    """The lab's first round: v2-bad all at once, the alarm pages, a person rolls back."""
    day = GameDay(ctx, alarms=[alarm if ctx is None else alarm.alarm_name], incident_id="GD-T1",
                  title="payments v2-bad", **kwargs)  # fmt: skip
    day.advance(5)
    day.deploy("v2-bad")
    day.advance_until_alarm(max_minutes=10)
    day.advance(4)
    day.acknowledge("Sam")
    day.advance(rollback_after - 4)
    day.note("payments v2-bad answers 500 in the logs", actor="Sam", role="on-call engineer")
    day.rollback(actor="Sam")
    day.advance_until_ok(max_minutes=10)
    day.advance(1)
    day.resolve("Alex")
    return day


@pytest.fixture(scope="module")
def day() -> GameDay:
    return release_game_day()


def test_the_release_starts_the_impact_and_the_alarm_detects_it(day):
    t = day.timeline()
    history = day.history
    deploy_minute = 5
    first_bad = history.loc[history["failed_by_fault"] > 0, "minute"].min()
    assert first_bad == deploy_minute + 1  # the replacement task set is healthy a minute later
    assert t.started == day.start + pd.Timedelta(minutes=first_bad)
    # 2 of 3 datapoints above 1%: the alarm fires at the end of the second bad minute
    assert t.detected == t.started + pd.Timedelta(minutes=2)
    detected = next(e for e in t.events if e.kind == "detected")
    assert detected.actor == ERRORS.alarm_name and detected.role == "monitoring"
    assert history.loc[history["minute"] == first_bad + 1, "alarm"].item() == ALARM
    assert history.loc[history["minute"] == first_bad, "alarm"].item() == OK
    assert t.caused_by_deploy_id == "GD-T1-deploy-1"


def test_the_rollback_restores_the_error_rate_and_the_alarm_returns_to_ok(day):
    t = day.timeline()
    history = day.history
    minute = lambda stamp: int((stamp - day.start) / pd.Timedelta(minutes=1))  # noqa: E731
    after = history[history["minute"] >= minute(t.mitigated)]
    before = history[
        (history["minute"] >= minute(t.started)) & (history["minute"] < minute(t.mitigated))
    ]
    assert (after["failed_by_fault"] == 0).all() and (after["errors"] == 0).all()
    assert (before["error_rate_pct"] > 20).all()  # v2-bad fails a quarter of requests
    assert (after["error_rate_pct"] < ERRORS.threshold).all()
    assert day.alarm_states() == {ERRORS.alarm_name: OK}
    # the original task set was gone (termination wait over): a new deployment of v1, 1 min
    rollback_at = next(e.at for e in t.events if e.text.startswith("rollback deployment"))
    assert t.mitigated == rollback_at + pd.Timedelta(minutes=1)
    mitigated = next(e for e in t.events if e.kind == "mitigated")
    assert (mitigated.actor, mitigated.role) == ("Sam", "on-call engineer")
    assert "back to OK" in t.events[-2].text and t.events[-1].kind == "resolved"


def test_the_timeline_times_and_figures_are_hand_checkable(day):
    t = day.timeline()
    assert incidents.response_times(t).iloc[0].to_dict() | {} == {
        "incident_id": "GD-T1",
        "started": t.started,
        "time_to_detect_min": 2.0,
        "time_to_acknowledge_min": 4.0,
        "time_to_restore_min": 2 + 4 + 5 + 1,  # detect, ack, diagnose, 1 min to shift back
        "time_to_resolve_min": 2 + 4 + 5 + 1 + 2 + 1,  # alarm OK 2 min later, then resolve
    }
    deployments = day.deployments()
    assert list(deployments["kind"]) == ["release", "rollback"]
    assert list(deployments["version"]) == ["v2-bad", "v1"]
    assert list(deployments["rolled_back"]) == [True, False]
    # the rollback is still in its termination wait: v2-bad's task set is kept 5 minutes more
    assert list(deployments["status"]) == ["Succeeded", "InProgress"]
    assert deployments["fixes_incident_id"].tolist()[1] == "GD-T1"
    impact = day.impact()
    fails = day.history["failed_by_fault"].sum()
    assert impact["failed_requests"] == fails > 0
    assert 0 < impact["users_affected"] <= fails
    assert incidents.severity(impact["users_affected_pct"], "core degraded") == "SEV2"


def test_the_same_seed_gives_the_same_game_day(day):
    again = release_game_day()
    pd.testing.assert_frame_equal(again.history.drop(columns="time"),
                                  day.history.drop(columns="time"))  # fmt: skip
    assert (
        again.timeline()
        .frame()
        .drop(columns="at")
        .equals(day.timeline().frame().drop(columns="at"))
    )


def test_a_rollback_during_the_deployment_reroutes_at_once():
    quick = GameDay(None, alarms=[ERRORS], incident_id="GD-T2")
    quick.advance(2)
    quick.deploy("v2-bad")
    quick.advance_until_alarm()
    quick.acknowledge("Sam")
    quick.rollback(actor="Sam")  # the original task set still runs: reroute
    rows = quick.advance(1)
    assert rows["serving"].item() == "v1 100%"
    t_mitigated = quick.events().query("kind == 'mitigated'")["at"].item()
    assert t_mitigated == quick.now - pd.Timedelta(minutes=1)
    assert quick.deployments()["status"].tolist() == ["Stopped", "InProgress"]
    quick.advance(1)
    assert quick.deployments()["status"].tolist()[-1] == "Succeeded"


def test_a_flag_turned_on_injects_the_fault_and_turned_off_mitigates_it():
    day = GameDay(None, alarms=[ERRORS], baseline="v2", incident_id="GD-T3",
                  flag_faults={"new_checkout": FaultSwitch(error_rate=0.2)})  # fmt: skip
    day.advance(3)
    assert day.apply_flags(flag_document(True), actor="Robin") == {"new_checkout": 1.0}
    assert day.advance(1)["serving"].item() == "v2+new_checkout 100%"
    day.advance_until_alarm()
    day.acknowledge("Sam")
    day.advance(1)
    assert day.apply_flags(flag_document(False), actor="Sam", role="on-call engineer") == {
        "new_checkout": 0.0
    }
    day.advance_until_ok()
    day.resolve("Sam", role="on-call engineer")
    t = day.timeline()
    assert t.caused_by_deploy_id is None  # a flag change is not a deployment
    assert t.started == day.start + pd.Timedelta(minutes=3)
    mitigated = next(e for e in t.events if e.kind == "mitigated")
    assert "flag new_checkout off" in mitigated.text
    assert t.mitigated == t.acknowledged + pd.Timedelta(minutes=1)
    history = day.history
    assert (history.loc[history["minute"] >= 3 + 2 + 1 + 1, "failed_by_fault"] == 0).all()


def test_a_split_exposes_its_share_of_users():
    doc = {
        "version": "1",
        "flags": {"new_checkout": {"name": "New checkout"}},
        "values": {"new_checkout": {"_variants": [
            {"name": "on", "enabled": True, "rule": "(split pct::30 by::$userId)"},
            {"name": "off", "enabled": False},
        ]}},
    }  # fmt: skip
    day = GameDay(None, flag_faults={"new_checkout": FaultSwitch(error_rate=1.0)}, users=5_000)
    share = day.apply_flags(doc, actor="Robin")["new_checkout"]
    assert share == pytest.approx(0.30, abs=0.03)
    served = day.advance(1)["serving"].item()
    assert served.startswith("v1 70%") or served.startswith("v1 71%") or "v1 69%" in served
    assert (
        gameday.flag_exposure({"version": "1", "flags": {}, "values": {}}, "x", day.user_contexts())
        == 0
    )


def test_game_day_mistakes_are_refused_with_a_hint():
    paths = {"a": FaultSwitch(error_rate=0.1), "b": FaultSwitch(0.1)}
    day = GameDay(None, alarms=[ERRORS], minutes=10, flag_faults=paths)
    with pytest.raises(InputError, match="Unknown version 'v9'"):
        day.deploy("v9")
    with pytest.raises(InputError, match="Nothing to roll back"):
        day.rollback(actor="Sam")
    with pytest.raises(InputError, match="Nothing to acknowledge"):
        day.acknowledge("Sam")
    with pytest.raises(InputError, match="not mitigated"):
        day.resolve("Alex")
    both = {"version": "1", "flags": {"a": {"name": "A"}, "b": {"name": "B"}},
            "values": {"a": {"enabled": True}, "b": {"enabled": True}}}  # fmt: skip
    with pytest.raises(InputError, match="two flagged code paths"):
        day.apply_flags(both, actor="Robin")
    with pytest.raises(InputError, match="reserved 10 simulated minutes"):
        day.advance(11)
    day.deploy("v2")
    with pytest.raises(InputError, match="still in progress"):
        day.deploy("v2-bad")
    with pytest.raises(InputError, match="did not happen within 3"):
        day.advance_until_alarm(max_minutes=3)  # v2 is healthy: no alarm
    with pytest.raises(InputError, match="needs Alarm objects"):
        GameDay(None, alarms=["a-name"])
    with pytest.raises(InputError, match="no service"):
        GameDay(None, service="search")
    with pytest.raises(InputError, match="not an ECS configuration"):
        GameDay(None, config="CodeDeployDefault.LambdaAllAtOnce")

    class RealAccount:
        is_local = False

    with pytest.raises(InputError, match="dry run"):
        GameDay(RealAccount())


def test_a_slow_release_starts_an_incident_that_only_a_latency_alarm_detects():
    p99 = replace(ERRORS, alarm_name="labs-test-payments-p99", metric_name="Latency",
                  statistic=None, extended_statistic="p99", threshold=500.0, unit=None)  # fmt: skip
    day = GameDay(None, alarms=[ERRORS, p99])
    day.deploy("v2-slow")
    day.advance_until_alarm()
    assert day.alarm_states() == {ERRORS.alarm_name: OK, p99.alarm_name: ALARM}
    t = day.events().set_index("kind")
    assert "0 failed" in t.loc["started", "text"]
    assert t.loc["detected", "actor"] == p99.alarm_name
    assert t.loc["detected", "at"] - t.loc["started", "at"] == pd.Timedelta(minutes=2)
    assert day.impact()["failed_requests"] == 0


def test_a_custom_fault_switch_can_be_the_bad_release():
    day = GameDay(None, alarms=[ERRORS], faults={"v3-timeouts": FaultSwitch(error_rate=0.5)})
    day.deploy("v3-timeouts")
    day.advance_until_alarm()
    assert day.serving() == {"v3-timeouts": 100.0}
    assert day.is_faulty("v3-timeouts") and not day.is_faulty("v1")
    assert gameday.combine(FaultSwitch(0.5, 100), FaultSwitch(0.5, 50)) == FaultSwitch(0.75, 150)


def test_the_request_logs_are_the_real_services_answering_with_the_versions_served(day):
    logs = gameday.request_logs(day)
    assert logs.equals(gameday.request_logs(day))  # seeded: the same lines every time
    lines = pd.json_normalize([json.loads(m) for m in logs["message"]])
    assert set(lines["service"]) == {"catalog", "orders", "payments"}
    t = day.timeline()
    during = (logs["timestamp"] >= t.started) & (logs["timestamp"] < t.mitigated)
    payments = lines["service"] == "payments"
    assert set(lines.loc[payments & during.to_numpy(), "version"]) == {"v2-bad"}
    assert set(lines.loc[payments & ~during.to_numpy(), "version"]) == {"v1"}
    bad = lines[payments & (lines["status"] == 500)]
    assert len(bad) > 0 and bad["error"].str.contains("injected fault").all()
    assert ((lines["service"] == "orders") & (lines["status"] == 502)).sum() == len(bad)
    assert logs["timestamp"].is_monotonic_increasing
    assert logs["stream"].isin(["catalog/v1", "orders/v1", "payments/v1", "payments/v2-bad"]).all()


def test_the_game_day_on_the_emulator_matches_its_dry_run_and_cleans_up(private_workshop):
    import labs
    from labs.cleanup import cleanup
    from labs.deploy import aws_resources
    from labs.observability import logs, tracing

    ctx = labs.start(quiet=True)
    topic, queue = gameday.ensure_pager(ctx, lab="13")
    alarm = replace(ERRORS, alarm_actions=[topic], ok_actions=[topic])
    cloudwatch = ctx.client("cloudwatch")
    cloudwatch.put_metric_alarm(**alarm.to_put_kwargs(), Tags=ctx.tags(lab="13").as_list())
    real = release_game_day(ctx, alarm)
    dry = release_game_day(None, alarm)
    pd.testing.assert_frame_equal(real.history.drop(columns="time"),
                                  dry.history.drop(columns="time"))  # fmt: skip
    state = cloudwatch.describe_alarms(AlarmNames=[alarm.alarm_name])["MetricAlarms"][0]
    assert state["StateValue"] == OK
    pages = gameday.read_pages(ctx, queue)
    assert list(pages["new_state"]) == ["OK", "ALARM", "OK"]
    assert pages.loc[1, "changed_at"] == real.timeline().detected
    codedeploy = ctx.client("codedeploy")
    ids = real.deployments()["codedeploy_id"].tolist()
    info = [codedeploy.get_deployment(deploymentId=i)["deploymentInfo"] for i in ids]
    assert [i["deploymentConfigName"] for i in info] == [gameday.DEFAULT_CONFIG] * 2
    assert not info[0]["autoRollbackConfiguration"]["enabled"]
    assert not info[0]["overrideAlarmConfiguration"]["enabled"]
    assert "rollback to payments v1" in info[1]["description"]
    assert real.listener_weights() == {"v1": 100, "v2-bad": 0}
    assert real.created_network and dry.listener_weights() is None
    written = gameday.write_logs(ctx, gameday.request_logs(real), tags=ctx.tags(lab="13"))
    assert written["events"].sum() > 0
    t = real.timeline()
    errors = logs.filter_log_events(ctx, gameday.LOG_GROUP, "{ $.status >= 500 }",
                                    start=real.start, end=real.now)  # fmt: skip
    assert len(errors) > 0 and errors["timestamp"].between(t.started, t.mitigated).all()
    store = gameday.trace_sample(ctx, real, orders=20, minutes=3)
    segments = tracing.segments(ctx, *store.window)
    assert not tracing.running()
    assert segments["trace_id"].nunique() == 20
    for _ in range(2):  # the cleanup can run twice
        removed = cleanup(ctx, lab="13", services=SERVICES, verbose=False)
        assert not (removed["action"] == "failed").any()
        aws_resources.delete_network(ctx)
    assert not cloudwatch.describe_alarms(AlarmNames=[alarm.alarm_name])["MetricAlarms"]
    assert not ctx.client("logs").describe_log_groups(logGroupNamePrefix=gameday.LOG_GROUP)[
        "logGroups"
    ]
