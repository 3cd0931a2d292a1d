"""Incidents as data: timeline validation, severity matrix, response times, DORA, postmortems."""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from labs import dora
from labs.errors import CheckFailed, InputError
from labs.practices import incident_checks, incidents
from labs.practices.incidents import ActionItem

T0 = pd.Timestamp("2026-02-03T10:00:00Z")


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def events(
    started: float = 0,
    detected: float = 4,
    acknowledged: float = 7,
    mitigated: float = 15,
    resolved: float = 30,
) -> list[dict]:
    return [
        {"at": at(-1), "kind": "note", "actor": "pipeline", "role": "automation",
         "text": "deployment of payments v7 started"},
        {"at": at(started), "kind": "started", "actor": "payments v7", "role": "system",
         "text": "charges fail"},
        {"at": at(detected), "kind": "detected", "actor": "payments-errors", "role": "monitoring",
         "text": "alarm"},
        {"at": at(acknowledged), "kind": "acknowledged", "actor": "Sam",
         "role": "on-call engineer", "text": "paged"},
        {"at": at(mitigated), "kind": "mitigated", "actor": "Sam", "role": "on-call engineer",
         "text": "rolled back"},
        {"at": at(resolved), "kind": "resolved", "actor": "Alex", "role": "incident commander",
         "text": "closed"},
    ]  # fmt: skip


def make(incident_id: str = "INC-1", **times: float) -> incidents.Timeline:
    return incidents.timeline(
        incident_id, "payments v7 fails", events(**times), service="payments",
        caused_by_deploy_id="deploy-7",
    )  # fmt: skip


# -- the timeline ------------------------------------------------------------------------------


def test_a_timeline_keeps_its_events_and_times():
    t = make()
    assert [e.kind for e in t.events] == [
        "note", "started", "detected", "acknowledged", "mitigated", "resolved",
    ]  # fmt: skip
    assert t.started == at(0) and t.resolved == at(30)
    frame = t.frame()
    assert list(frame["since_start"]) == [
        "-00:01:00", "+00:00:00", "+00:04:00", "+00:07:00", "+00:15:00", "+00:30:00",
    ]  # fmt: skip
    assert t.people() == ["Alex", "Sam"]
    assert t.durations() == {
        "time_to_detect": pd.Timedelta(minutes=4),
        "time_to_acknowledge": pd.Timedelta(minutes=3),
        "time_to_restore": pd.Timedelta(minutes=15),
        "time_to_resolve": pd.Timedelta(minutes=30),
    }


def test_a_timeline_accepts_a_dataframe_and_naive_times_as_utc():
    frame = pd.DataFrame(events())
    frame["at"] = frame["at"].dt.tz_localize(None)
    t = incidents.timeline("INC-2", "title", frame)
    assert t.started == at(0)


def test_events_out_of_time_order_are_refused_naming_the_event():
    rows = events()
    rows[3], rows[4] = rows[4], rows[3]  # mitigated listed before acknowledged
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert error.value.where == "event 4 (acknowledged)"
    assert "time order" in error.value.what


def test_resolved_before_detected_is_refused_naming_resolved():
    rows = [
        {"at": at(0), "kind": "started", "actor": "x", "role": "system"},
        {"at": at(2), "kind": "resolved", "actor": "Alex", "role": "incident commander"},
        {"at": at(3), "kind": "detected", "actor": "alarm", "role": "monitoring"},
        {"at": at(4), "kind": "acknowledged", "actor": "Sam", "role": "on-call engineer"},
        {"at": at(5), "kind": "mitigated", "actor": "Sam", "role": "on-call engineer"},
    ]
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert error.value.where == "event 1 (resolved)"
    assert "'resolved' at 2026-02-03T10:02:00Z comes before 'detected'" in error.value.what


def test_resolved_before_detected_when_listed_in_lifecycle_order_is_out_of_order():
    with pytest.raises(InputError) as error:
        make(detected=20, acknowledged=21, mitigated=22, resolved=10)
    assert error.value.where == "event 5 (resolved)"


def test_mitigated_before_detected_is_refused():
    rows = events(detected=10, acknowledged=11, mitigated=5)
    rows = sorted(rows, key=lambda r: r["at"])
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert error.value.where == "event 2 (mitigated)"
    assert "'mitigated'" in error.value.what and "'detected'" in error.value.what


def test_an_automatic_mitigation_may_come_before_the_acknowledgement():
    rows = sorted(events(detected=2, acknowledged=6, mitigated=3), key=lambda r: r["at"])
    t = incidents.timeline("INC-1", "t", rows)
    assert t.mitigated < t.acknowledged


def test_an_unknown_actor_role_is_refused_naming_the_event():
    rows = events()
    rows[3]["role"] = "hero"
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert error.value.where == "event 3 (acknowledged)"
    assert "'hero'" in error.value.what and "on-call engineer" in error.value.hint


def test_a_missing_lifecycle_event_is_refused_naming_it():
    rows = [r for r in events() if r["kind"] != "acknowledged"]
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert "no 'acknowledged' event" in error.value.what


def test_a_lifecycle_event_twice_is_refused():
    rows = events()
    rows.insert(3, dict(rows[2], at=at(5)))
    rows.sort(key=lambda r: r["at"])
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert "second 'detected'" in error.value.what


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"kind": "fixed"}, "Unknown event kind"),
        ({"actor": ""}, "no 'actor'"),
        ({"at": "soon"}, "not a point in time"),
        ({"at": None}, "no 'at'"),
    ],
)
def test_malformed_events_are_refused(change, expected):
    rows = events()
    rows[2].update(change)
    with pytest.raises(InputError) as error:
        incidents.timeline("INC-1", "t", rows)
    assert expected in str(error.value)
    assert "event 2" in error.value.where


def test_a_note_needs_text_and_an_incident_needs_a_proper_id():
    rows = events()
    rows[0]["text"] = " "
    with pytest.raises(InputError, match="note needs a text"):
        incidents.timeline("INC-1", "t", rows)
    with pytest.raises(InputError, match="not an incident id"):
        incidents.timeline("INC 1", "t", events())
    with pytest.raises(InputError, match="list of events"):
        incidents.timeline("INC-1", "t", "started")


# -- severity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pct", "functionality", "expected"),
    [
        (100, "core down", "SEV1"),
        (50, "core degraded", "SEV1"),
        (49.9, "core degraded", "SEV2"),
        (10, "core degraded", "SEV2"),
        (9.99, "core degraded", "SEV3"),
        (1, "core down", "SEV2"),
        (0.99, "core down", "SEV3"),
        (0, "core down", "SEV3"),
        (100, "non-core degraded", "SEV3"),
        (5, "non-core degraded", "SEV4"),
        (100, "cosmetic", "SEV4"),
    ],
)
def test_severity_follows_the_impact_matrix(pct, functionality, expected):
    assert incidents.severity(pct, functionality) == expected


def test_the_matrix_never_gets_less_severe_with_more_users_or_more_important_functions():
    numbers = incidents.impact_matrix().map(lambda s: int(s[-1])).to_numpy()
    assert (numbers[:-1] <= numbers[1:]).all()  # fewer users: same or less severe
    assert (numbers[:, :-1] <= numbers[:, 1:]).all()  # less important: same or less severe
    assert numbers.shape == (4, 4)


@pytest.mark.parametrize(
    ("pct", "functionality", "message"),
    [
        (0.3 * 1000, "core down", "percentage from 0 to 100"),
        (-1, "core down", "percentage from 0 to 100"),
        ("10", "core down", "number from 0 to 100"),
        (10, "broken", "Unknown functionality"),
    ],
)
def test_severity_refuses_bad_inputs(pct, functionality, message):
    with pytest.raises(InputError, match=message):
        incidents.severity(pct, functionality)


# -- response times ----------------------------------------------------------------------------


def test_response_times_and_their_means_are_hand_computed():
    one = make("INC-1", detected=4, acknowledged=7, mitigated=15, resolved=30)
    two = make("INC-2", detected=10, acknowledged=12, mitigated=25, resolved=40)
    times = incidents.response_times([one, two])
    assert list(times["time_to_detect_min"]) == [4.0, 10.0]
    assert list(times["time_to_acknowledge_min"]) == [3.0, 2.0]
    assert list(times["time_to_restore_min"]) == [15.0, 25.0]
    means = incidents.mean_times([one, two])
    assert means.loc["MTTD", "minutes"] == 7.0
    assert means.loc["MTTA", "minutes"] == 2.5
    assert means.loc["MTTR", "minutes"] == 20.0  # restore: mitigated - started
    assert means.loc["mean time to resolve", "minutes"] == 35.0
    assert (means["incidents"] == 2).all()
    assert "mitigated − started" in means.loc["MTTR", "measures"]


def test_means_refuse_duplicates_and_non_timelines():
    with pytest.raises(InputError, match="appears twice"):
        incidents.mean_times([make("INC-1"), make("INC-1")])
    with pytest.raises(InputError, match="not a Timeline"):
        incidents.mean_times([make(), {"incident_id": "x"}])
    with pytest.raises(InputError, match="No timelines"):
        incidents.mean_times([])


def test_dora_recovery_time_is_the_median_time_to_restore_of_deployment_caused_incidents():
    def later(hours: int, **times: float) -> list[dict]:
        return [dict(e, at=e["at"] + pd.Timedelta(hours=hours)) for e in events(**times)]

    a = incidents.timeline("INC-A", "a", events(mitigated=12), caused_by_deploy_id="d1")
    b = incidents.timeline(
        "INC-B", "b", later(2, mitigated=40, resolved=50), caused_by_deploy_id="d3"
    )
    # a flag flip: not caused by a deployment, so DORA leaves it out
    c = incidents.timeline("INC-C", "c", later(4, mitigated=90, resolved=100))
    deployments = pd.DataFrame(
        {
            "deploy_id": ["d1", "d2", "d3", "d4"],
            "deployed_at": [at(-1), at(13), at(119), at(160)],
            "rolled_back": [True, False, True, False],
            "fixes_incident_id": [None, "INC-A", None, "INC-B"],
        }
    )
    changes, deploys, incident_frame = incidents.dora_frames([a, b, c], deployments)
    assert list(incident_frame["created_at"]) == [a.started, b.started, c.started]
    assert list(incident_frame["resolved_at"]) == [a.mitigated, b.mitigated, c.mitigated]
    assert changes.empty and deploys["change_ids"].isna().all()
    report = dora.metrics(changes, deploys, incident_frame)
    assert report.recovery_time.value == pytest.approx((12 + 40) / 2 / 60)  # hours, median
    assert report.recovery_time.n == 2
    with pytest.raises(InputError, match="no column 'rolled_back'"):
        incidents.dora_frames([a], deployments.drop(columns="rolled_back"))


# -- action items and postmortems --------------------------------------------------------------


def good_items(t: incidents.Timeline) -> list[ActionItem]:
    due = t.resolved.normalize() + pd.Timedelta(days=14)
    return [
        ActionItem("Attach the payments error alarm to the deployment group", "payments team",
                   due, "deployment configuration", "mitigate"),
        ActionItem("Ship payments releases with a ten percent canary", "release engineering",
                   due, "pipeline", "prevent"),
        {"title": "Alarm on payment faults per version within one minute", "owner":
         "observability team", "due": due + pd.Timedelta(days=7), "component": "alarm",
         "kind": "detect"},
    ]  # fmt: skip


def test_action_item_rules_one_by_one():
    t = make()
    ok = good_items(t)[0]
    assert incidents.action_item_problems(ok, resolved=t.resolved) == []
    cases = {
        "owner": ActionItem(ok.title, "Sam", ok.due, ok.component, ok.kind),
        "is not after": ActionItem(ok.title, ok.owner, t.resolved, ok.component, ok.kind),
        "not a date": ActionItem(ok.title, ok.owner, "someday", ok.component, ok.kind),
        "component": ActionItem(ok.title, ok.owner, ok.due, "people", ok.kind),
        "kind": ActionItem(ok.title, ok.owner, ok.due, ok.component, "hope"),
        "four words": ActionItem("Fix it", ok.owner, ok.due, ok.component, ok.kind),
        "more care": ActionItem("Engineers must be more careful with releases", ok.owner,
                                ok.due, ok.component, ok.kind),
    }  # fmt: skip
    for expected, item in cases.items():
        problems = incidents.action_item_problems(item, resolved=t.resolved)
        assert len(problems) == 1 and expected in problems[0], (expected, problems)
    assert len(incidents.action_item_problems(
        {"title": "Double-check it", "owner": "Sam", "due": None, "component": "x", "kind": "y"},
        resolved=t.resolved,
    )) == 6  # fmt: skip
    with pytest.raises(InputError, match="no field 'who'"):
        incidents.action_item({"who": "Sam"})


def test_check_action_items_names_the_item_and_refuses_people():
    t = make()
    items = good_items(t)
    assert all(isinstance(i.due, pd.Timestamp) for i in incidents.check_action_items(items, t))
    bad = copy.copy(items)
    bad[1] = ActionItem("Remember to watch the dashboard after releases", "platform team",
                        items[0].due, "dashboard", "detect")  # fmt: skip
    with pytest.raises(InputError) as error:
        incidents.check_action_items(bad, t)
    assert error.value.where.startswith("action item 1")
    assert "'remember to'" in error.value.what
    named = [ActionItem("Pair Sam with a reviewer on payments releases", "payments team",
                        items[0].due, "pipeline", "prevent")]  # fmt: skip
    with pytest.raises(InputError, match=r"names a person \(Sam\)"):
        incidents.check_action_items(named, t)
    with pytest.raises(InputError, match="changes nothing"):
        incidents.check_action_items([], t)


def postmortem_parts(t: incidents.Timeline) -> dict:
    return {
        "severity": "SEV2",
        "summary": "A payments release failed a quarter of charges until it was rolled back.",
        "impact": ["3,000 users met a failed checkout."],
        "contributing_factors": ["The deployment group watched no alarm."],
        "five_whys": [
            ("Why did checkouts fail?", "payments v7 answered 500 to a quarter of charges."),
            ("Why did v7 reach every user?", "It was deployed all at once."),
            ("Why all at once?", "The pipeline's default configuration is AllAtOnce."),
            ("Why did nothing stop it?", "No alarm was attached to the deployment group."),
            ("Why was none attached?", "The template of the group predates alarms."),
        ],
        "action_items": good_items(t),
        "what_went_well": ["The page reached the on-call engineer in under a minute."],
    }


def test_a_postmortem_has_every_section_in_order_and_its_timeline_in_time_order():
    t = make()
    document = incidents.postmortem(t, **postmortem_parts(t))
    text = document.markdown()
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [*incidents.POSTMORTEM_SECTIONS, "What went well"]
    assert text.startswith("# Postmortem — INC-1: payments v7 fails\n")
    table = text.split("## Timeline")[1].split("## Contributing factors")[0]
    rows = [line for line in table.splitlines() if line.startswith("| 2026")]
    assert [r.split(" | ")[2] for r in rows] == [e.kind for e in t.events]
    assert [r.split(" | ")[1] for r in rows] == list(t.frame()["since_start"])
    assert "| on-call engineer |" in table and "Sam" not in text and "Alex" not in text
    assert "payments-errors (monitoring)" in table
    assert "Time to detect: 4 min; to acknowledge: 3 min; to restore: 15 min" in text
    assert "(14 days after)" in text and "2026-02-17T00:00:00Z" in text
    assert text.count("\n1. **Why did checkouts fail?**") == 1
    assert text == incidents.postmortem(t, **postmortem_parts(t)).markdown()  # deterministic


def test_a_postmortem_refuses_blame_and_missing_parts():
    t = make()
    parts = postmortem_parts(t)
    with pytest.raises(InputError) as error:
        incidents.postmortem(t, **{**parts, "summary": "Sam deployed a broken release."})
    assert error.value.where == "summary" and "'Sam'" in error.value.what
    with pytest.raises(InputError, match="five"):
        incidents.postmortem(t, **{**parts, "five_whys": parts["five_whys"][:4]})
    with pytest.raises(InputError, match="Unknown severity"):
        incidents.postmortem(t, **{**parts, "severity": "P1"})
    with pytest.raises(InputError, match="at least 1 contributing"):
        incidents.postmortem(t, **{**parts, "contributing_factors": []})
    careless = ActionItem("Be more careful", "payments team", t.resolved, "code", "prevent")
    items = [*parts["action_items"][:2], careless]
    with pytest.raises(InputError) as error:
        incidents.postmortem(t, **{**parts, "action_items": items})
    assert error.value.where.startswith("action item 2")


def test_a_postmortem_is_written_under_the_workshop_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABS_WORKSHOP_DIR", str(tmp_path / "ws"))
    t = make()
    document = incidents.postmortem(t, **postmortem_parts(t))
    path = document.write()
    assert path == tmp_path / "ws" / "postmortems" / "INC-1.md"
    assert path.read_text(encoding="utf-8") == document.markdown()
    assert document.write(tmp_path / "elsewhere").parent == tmp_path / "elsewhere"


# -- the lab's checks --------------------------------------------------------------------------


def test_severity_check_both_ways():
    with pytest.raises(CheckFailed):
        incident_checks.severity_answers(None)
    right = {"A": "SEV1", "B": "SEV2", "C": "SEV3", "D": "SEV3"}
    incident_checks.severity_answers(right)
    with pytest.raises(CheckFailed) as error:
        incident_checks.severity_answers({**right, "D": "SEV4"})
    assert "situation D" in str(error.value) and "few users" in error.value.hint
    with pytest.raises(CheckFailed):
        incident_checks.severity_answers({"A": "SEV1"})


def test_mttr_check_both_ways_and_says_which_duration_was_averaged():
    events_frame = incident_checks.past_incidents()
    assert len(incident_checks.past_incidents()["incident_id"].unique()) == 3
    with pytest.raises(CheckFailed):
        incident_checks.mttr_answer(None)
    incident_checks.mttr_answer((28 + 63 + 13) / 3, events_frame)  # hand-computed
    with pytest.raises(CheckFailed) as error:
        incident_checks.mttr_answer((78 + 138 + 45) / 3)  # resolved - started
    assert "time to resolve" in error.value.hint
    with pytest.raises(CheckFailed) as error:
        incident_checks.mttr_answer((21 + 35 + 8) / 3)  # mitigated - detected
    assert "from detection" in error.value.hint
    with pytest.raises(CheckFailed) as error:
        incident_checks.mttr_answer((28 + 63 + 13) / 3 * 60)
    assert "seconds" in error.value.hint


def test_action_items_check_both_ways():
    t = make()
    with pytest.raises(CheckFailed):
        incident_checks.action_items_answer(None, t)
    incident_checks.action_items_answer(good_items(t), t)
    with pytest.raises(CheckFailed, match="at least 3"):
        incident_checks.action_items_answer(good_items(t)[:2], t)
    blameful = [*good_items(t)[:2],
                ActionItem("Sam should pay more attention to alarms", "payments team",
                           good_items(t)[0].due, "alarm", "detect")]  # fmt: skip
    with pytest.raises(CheckFailed) as error:
        incident_checks.action_items_answer(blameful, t)
    assert "pay more attention" in str(error.value) and "Sam" in str(error.value)
