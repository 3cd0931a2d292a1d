"""Tests of ``labs.dora.history`` (phases, and a history written to git plus records) and of
``labs.dora.checks`` (lab 01's *Check your work* cells)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from labs import dora
from labs.dora import checks, history
from labs.errors import CheckFailed, InputError

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture(scope="module")
def bookstore() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return dora.bookstore_history()


@pytest.fixture(scope="module")
def written(
    tmp_path_factory: pytest.TempPathFactory, bookstore: tuple[pd.DataFrame, ...]
) -> dora.HistoryFiles:
    return dora.write_history(tmp_path_factory.mktemp("history") / "dora-history", *bookstore)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


def _read_back(files: dora.HistoryFiles) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    changes = dora.from_git(files.repo)
    no_changes, deployments, incidents = dora.from_records(files.records)
    assert no_changes.empty  # changes come from git only
    return changes, deployments, incidents


# ---------------------------------------------------------------------------------------------
# simulate_phases and the bookstore's history
# ---------------------------------------------------------------------------------------------


def test_simulate_phases_is_deterministic_for_a_seed() -> None:
    a = dora.simulate_phases([(20, 2), (10, 8)], seed=4)
    b = dora.simulate_phases([(20, 2), (10, 8)], seed=4)
    c = dora.simulate_phases([(20, 2), (10, 8)], seed=5)
    for x, y in zip(a, b, strict=True):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0].equals(c[0])


def test_simulate_phases_ships_each_phase_in_its_batch_size() -> None:
    changes, deployments, incidents = dora.simulate_phases(
        [(20, 2), (15, 10)], seed=1, start="2024-01-01T00:00:00Z"
    )
    dora.metrics(changes, deployments, incidents)  # valid input: no InputError
    boundary = pd.Timestamp("2024-01-21T00:00:00Z")
    regular = deployments[deployments["fixes_incident_id"].isna()]
    sizes = regular["change_ids"].map(len)
    before = sizes[regular["deployed_at"] <= boundary]
    after = sizes[regular["deployed_at"] > boundary]
    assert set(before) == {2}
    # The first deployment of phase 2 also carries the commit phase 1 left undeployed (if any).
    assert set(after.iloc[1:]) == {10}
    assert after.iloc[0] in (10, 11)
    hotfixes = deployments[deployments["fixes_incident_id"].notna()]
    assert set(hotfixes["change_ids"].map(len)) <= {1}


def test_simulate_phases_leaves_only_the_last_phase_tail_undeployed() -> None:
    changes, deployments, _ = dora.simulate_phases([(10, 7), (10, 7), (10, 7)], seed=2)
    shipped = {c for ids in deployments["change_ids"] for c in ids}
    undeployed = changes.loc[~changes["change_id"].isin(shipped)]
    last_start = pd.Timestamp("2024-01-21T00:00:00Z")
    assert (undeployed["committed_at"] >= last_start).all()
    assert len(undeployed) < 7


def test_simulate_phases_renumbers_ids_in_time_order() -> None:
    changes, deployments, incidents = dora.simulate_phases([(15, 3), (15, 12)], seed=3)
    regular = changes[~changes["change_id"].str.startswith("fix-")]
    assert regular["change_id"].tolist() == [f"c{k + 1:05d}" for k in range(len(regular))]
    assert deployments["deploy_id"].tolist() == [f"d{k + 1:04d}" for k in range(len(deployments))]
    assert incidents["incident_id"].tolist() == [f"i{k + 1:04d}" for k in range(len(incidents))]
    assert deployments["deployed_at"].is_monotonic_increasing
    assert str(changes["committed_at"].dtype) == "datetime64[ns, UTC]"
    assert incidents["caused_by_deploy_id"].isin(deployments["deploy_id"]).all()


def test_one_phase_is_simulate_history_with_a_derived_seed() -> None:
    changes, deployments, incidents = dora.simulate_phases([(30, 4)], seed=9)
    report = dora.metrics(changes, deployments, incidents)
    assert report.deployment_frequency.value is not None
    assert set(deployments.loc[deployments["fixes_incident_id"].isna(), "change_ids"].map(len)) == {
        4
    }


@pytest.mark.parametrize(
    ("phases", "message"),
    [
        ([], "phases is empty"),
        ([(10, 0)], "item 1"),
        ([(10, 2), (5,)], "item 2"),
        ([(10.5, 2)], "item 1"),
    ],
)
def test_simulate_phases_rejects_bad_phases(phases: list, message: str) -> None:
    with pytest.raises(InputError, match=message):
        dora.simulate_phases(phases)


def test_simulate_phases_rejects_a_naive_start() -> None:
    with pytest.raises(InputError, match="has no timezone"):
        dora.simulate_phases([(5, 2)], start="2024-01-01")


def test_the_bookstore_regresses_in_the_planted_week(bookstore: tuple[pd.DataFrame, ...]) -> None:
    week = history.bookstore_regression_week()
    assert week == pd.Timestamp("2026-07-20T00:00:00Z") and week.day_name() == "Monday"
    by_week = dora.weekly(*bookstore)
    lead = by_week["lead_time_hours"]
    # Every week before is Elite (< 24 h); the planted week is the first that is not.
    assert (lead[lead.index < week] < 24).all()
    assert lead[week] > 24
    assert lead[lead > 24].index[0] == week
    assert (
        by_week.loc[week, "change_fail_rate"]
        > by_week.loc[: week - pd.Timedelta(days=1), "change_fail_rate"].max()
    )


# ---------------------------------------------------------------------------------------------
# write_history: git and records
# ---------------------------------------------------------------------------------------------


@needs_git
def test_round_trip_gives_the_same_metrics(
    bookstore: tuple[pd.DataFrame, ...], written: dora.HistoryFiles
) -> None:
    changes, deployments, incidents = _read_back(written)
    assert len(changes) == len(bookstore[0])
    assert repr(dora.metrics(changes, deployments, incidents)) == repr(dora.metrics(*bookstore))
    pd.testing.assert_frame_equal(
        dora.weekly(changes, deployments, incidents), dora.weekly(*bookstore)
    )


@needs_git
def test_git_holds_one_commit_per_change_at_its_time(
    bookstore: tuple[pd.DataFrame, ...], written: dora.HistoryFiles
) -> None:
    changes = dora.from_git(written.repo)
    pd.testing.assert_frame_equal(changes, written.changes)
    simulated = bookstore[0]
    assert changes["committed_at"].tolist() == simulated["committed_at"].tolist()
    assert written.shas.loc[simulated["change_id"]].tolist() == changes["change_id"].tolist()
    log = _git(written.repo, "log", "--format=%an <%ae>|%cn|%at|%ct|%s", "-3").splitlines()
    for line in log:
        author, committer, authored, committed, subject = line.split("|")
        assert author == history.DEFAULT_AUTHOR and committer == "Bookstore Team"
        assert authored == committed
        assert subject.split(": ")[0] in ("catalog", "orders", "payments")
    assert _git(written.repo, "status", "--porcelain") == ""  # the working tree is checked out
    assert _git(written.repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"
    june = (written.repo / "catalog" / "changes" / "2026-06.md").read_text().splitlines()
    assert june[0] == "# catalog: changes in 2026-06" and june[2].startswith("- c00001: ")
    assert sorted(p.name for p in (written.repo / "orders" / "changes").iterdir()) == [
        "2026-06.md",
        "2026-07.md",
        "2026-08.md",
    ]


@needs_git
def test_hotfix_commits_name_the_incident_they_fix(
    bookstore: tuple[pd.DataFrame, ...], written: dora.HistoryFiles
) -> None:
    subjects = _git(written.repo, "log", "--format=%s").splitlines()
    fixes = [s for s in subjects if "hotfix for incident i" in s]
    deployments = bookstore[1]
    assert len(fixes) == deployments["fixes_incident_id"].notna().sum() > 0
    assert all("(fix-" in s for s in fixes)


@needs_git
def test_records_hold_deployments_and_incidents_with_shas(written: dora.HistoryFiles) -> None:
    lines = [json.loads(x) for x in written.records.read_text(encoding="utf-8").splitlines()]
    kinds = [r["type"] for r in lines]
    assert "change" not in kinds
    assert kinds == sorted(kinds)  # deployments first, then incidents
    shas = set(written.changes["change_id"])
    shipped = [c for r in lines if r["type"] == "deployment" for c in r["change_ids"]]
    assert shipped and all(c in shas for c in shipped)
    assert all(len(c) == 40 for c in shipped)


@needs_git
def test_rewriting_is_deterministic_and_idempotent(
    tmp_path: Path, bookstore: tuple[pd.DataFrame, ...], written: dora.HistoryFiles
) -> None:
    folder = tmp_path / "again"
    first = dora.write_history(folder, *bookstore)
    head = _git(first.repo, "rev-parse", "HEAD")
    second = dora.write_history(folder, *bookstore)  # replaces the first one
    assert _git(second.repo, "rev-parse", "HEAD") == head
    assert _git(second.repo, "rev-list", "--count", "HEAD").strip() == str(len(bookstore[0]))
    assert first.changes["change_id"].tolist() == written.changes["change_id"].tolist()
    assert second.records.read_bytes() == written.records.read_bytes()


@needs_git
def test_shas_ignore_the_users_git_identity_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = dora.simulate_history(days=5, seed=1, batch_size=2)
    plain = dora.write_history(tmp_path / "plain", *frames)
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Someone Else\n\temail = else@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Another Person")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00Z")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    other = dora.write_history(tmp_path / "other", *frames)
    assert other.changes["change_id"].tolist() == plain.changes["change_id"].tolist()


@needs_git
def test_fractional_seconds_are_dropped_as_git_does(tmp_path: Path) -> None:
    changes, deployments, incidents = dora.simulate_history(days=3, seed=2, batch_size=2)
    changes = changes.assign(committed_at=changes["committed_at"] + pd.Timedelta(milliseconds=700))
    files = dora.write_history(tmp_path / "h", changes, deployments, incidents)
    read = dora.from_git(files.repo)
    pd.testing.assert_frame_equal(read, files.changes)
    assert (read["committed_at"].dt.microsecond == 0).all()


@needs_git
def test_an_empty_history_is_an_empty_repository(tmp_path: Path) -> None:
    changes, deployments, incidents = dora.from_records([])
    files = dora.write_history(tmp_path / "empty", changes, deployments, incidents)
    assert dora.from_git(files.repo).empty
    assert files.records.read_text() == ""


def test_a_folder_of_someone_elses_files_is_refused_and_kept(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="did not write; nothing was deleted"):
        dora.write_history(folder, *dora.simulate_history(days=2, seed=0))
    assert (folder / "notes.txt").read_text() == "keep me"


def test_bad_frames_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    changes, deployments, incidents = dora.simulate_history(days=5, seed=0, batch_size=2)
    deployments.loc[0, "change_ids"] = ["no-such-change"]
    with pytest.raises(InputError, match="no-such-change"):
        dora.write_history(tmp_path / "h", changes, deployments, incidents)
    assert not (tmp_path / "h").exists()


def test_a_malformed_author_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Name <email>"):
        dora.write_history(tmp_path / "h", *dora.simulate_history(days=2), author="nobody")


# ---------------------------------------------------------------------------------------------
# labs.dora.checks
# ---------------------------------------------------------------------------------------------


def _lead_time_case() -> tuple[str, pd.DataFrame, pd.DataFrame, float, float]:
    changes = pd.DataFrame(
        {
            "change_id": pd.Series(["a1b2c3d4e5", "ffff"], dtype="str"),
            "committed_at": pd.to_datetime(["2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z"]),
        }
    )
    deployments = pd.DataFrame(
        {
            "deploy_id": ["d1", "d2"],
            "deployed_at": pd.to_datetime(["2026-06-01T13:30:00Z", "2026-06-02T10:00:00Z"]),
            "change_ids": [["a1b2c3d4e5", "ffff"], ["a1b2c3d4e5"]],
            "rolled_back": [True, False],
            "fixes_incident_id": [None, None],
        }
    )
    return "a1b2c3d4e5", changes, deployments, 3.5, 24.0


def test_lead_time_check_passes_on_the_first_deployment(capsys: pytest.CaptureFixture) -> None:
    change, changes, deployments, first, _ = _lead_time_case()
    checks.lead_time_of_change(first, change, changes, deployments)
    assert capsys.readouterr().out.startswith("✔ the lead time of change a1b2c3d: 3.50 hours")


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (None, "no answer yet"),
        ("soon", "a number of hours"),
        (24.0, "last deployment"),
        (210.0, "minutes"),
        (-3.5, "sign"),
        (5.0, "earliest deployed_at"),
    ],
)
def test_lead_time_check_fails_with_a_useful_hint(answer: object, hint: str) -> None:
    change, changes, deployments, _, _ = _lead_time_case()
    with pytest.raises(CheckFailed, match=hint):
        checks.lead_time_of_change(answer, change, changes, deployments)


TEAM = {
    "deployments_per_day": 1 / 14,
    "lead_time_hours": 240.0,
    "change_fail_rate": 0.18,
    "recovery_hours": 3.0,
}
TEAM_TIERS = {
    "Change lead time": "Medium",
    "Deployment frequency": "Medium",
    "Change fail rate": "High",
    "Failed deployment recovery time": "High",
}


def test_team_tiers_check_passes_on_the_right_tiers(capsys: pytest.CaptureFixture) -> None:
    checks.team_tiers(dict(TEAM_TIERS), TEAM)
    assert capsys.readouterr().out.startswith("✔ the team's tiers: Change lead time Medium")


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (None, "no answer yet"),
        ("High", "a dict"),
        ({"Change lead time": "Medium"}, "missing"),
        ({**TEAM_TIERS, "Change fail rate": "Great"}, "one of"),
        ({**TEAM_TIERS, "Change fail rate": "Medium"}, "nearest"),
        ({**TEAM_TIERS, "Deployment frequency": "High"}, "days between deployments"),
    ],
)
def test_team_tiers_check_fails_with_what_is_wrong(answer: object, message: str) -> None:
    with pytest.raises(CheckFailed, match=message):
        checks.team_tiers(answer, TEAM)


def _batch_by_week(deployments: pd.DataFrame) -> pd.Series:
    sizes = deployments["change_ids"].map(len)
    return sizes.groupby(checks.week_of(deployments["deployed_at"])).mean()


def test_regression_check_passes_on_the_planted_week(
    bookstore: tuple[pd.DataFrame, ...], capsys: pytest.CaptureFixture
) -> None:
    deployments = bookstore[1]
    checks.regression("2026-07-22", _batch_by_week(deployments), deployments)  # any day of it
    out = capsys.readouterr().out
    assert out.startswith("✔ the week the team regressed: 2026-07-20")
    assert "from about 3 to 20" in out


def test_regression_check_accepts_a_naive_index(bookstore: tuple[pd.DataFrame, ...]) -> None:
    deployments = bookstore[1]
    batches = _batch_by_week(deployments)
    batches.index = batches.index.tz_localize(None)
    checks.regression(pd.Timestamp("2026-07-20", tz="UTC"), batches, deployments)


@pytest.mark.parametrize(
    ("week", "batches", "message"),
    [
        (None, "right", "no answer yet"),
        ("not a date", "right", "a date in the week"),
        ("2026-07-13", "right", "Look later"),
        ("2026-08-03", "right", "Look earlier"),
        ("2026-07-20", None, "no answer yet"),
        ("2026-07-20", "list", "a pandas Series"),
        ("2026-07-20", "without hotfixes", "hotfixes too"),
        ("2026-07-20", "by day", "one value per week"),
    ],
)
def test_regression_check_fails_on_wrong_answers(
    bookstore: tuple[pd.DataFrame, ...], week: object, batches: object, message: str
) -> None:
    deployments = bookstore[1]
    right = _batch_by_week(deployments)
    answer = {
        "right": right,
        None: None,
        "list": right.tolist(),
        "without hotfixes": _batch_by_week(deployments[deployments["fixes_incident_id"].isna()]),
        "by day": deployments["change_ids"]
        .map(len)
        .groupby(deployments["deployed_at"].dt.floor("D"))
        .mean(),
    }[batches]
    with pytest.raises(CheckFailed, match=message):
        checks.regression(week, answer, deployments)


def test_week_of_is_the_iso_monday_in_utc() -> None:
    utc = pd.Series(pd.to_datetime(["2026-07-26T23:59:59Z", "2026-07-27T00:00:00Z"]))
    assert [d.strftime("%Y-%m-%d") for d in checks.week_of(utc)] == ["2026-07-20", "2026-07-27"]
    # Monday 01:00 in Paris (+02:00 in July) is Sunday 23:00 UTC: the week before.
    paris = pd.Series(pd.to_datetime(["2026-07-20T01:00:00"])).dt.tz_localize("Europe/Paris")
    assert checks.week_of(paris)[0] == pd.Timestamp("2026-07-13T00:00:00Z")
    naive = pd.DatetimeIndex(["2026-07-22T12:00:00"])  # taken as UTC
    assert checks.week_of(naive)[0] == pd.Timestamp("2026-07-20T00:00:00Z")
    assert np.all(checks.week_of(utc).day_of_week == 0)
