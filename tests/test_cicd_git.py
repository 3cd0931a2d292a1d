"""The bookstore's git repository (labs.cicd.git), CodeCommit (labs.cicd.codecommit), checks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest

from labs import cleanup
from labs.cicd import checks, codecommit
from labs.cicd.git import (
    BUILDSPEC,
    DEFAULT_AUTHOR,
    INITIAL_COMMIT_AT,
    MAIN,
    GitError,
    MergeConflict,
    Repo,
    bookstore_repo,
)
from labs.errors import CheckFailed, InputError

T0 = datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return bookstore_repo(path=tmp_path / "bookstore")


def _feature(repo: Repo, name: str, path: str, text: str, when: datetime) -> str:
    repo.branch(name)
    repo.checkout(name)
    sha = repo.commit(f"Change {path} on {name}", {path: text}, when=when)
    repo.checkout(MAIN)
    return sha


# --- bookstore_repo ---------------------------------------------------------------------------


def test_bookstore_repo_holds_the_package_the_buildspec_at_the_root_and_one_commit(
    repo: Repo,
) -> None:
    files = repo.files()
    assert BUILDSPEC in files and "README.md" in files and ".gitignore" in files
    assert "bookstore/__init__.py" in files and "bookstore/tests/test_orders.py" in files
    assert "bookstore/appspec.yaml" in files and "bookstore/Dockerfile" in files
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert repo.show(BUILDSPEC) == repo.show("bookstore/buildspec.yml")
    assert "BOOKSTORE_DIR" in repo.show(BUILDSPEC)
    log = repo.log()
    assert len(log) == 1
    assert log.loc[0, "committed_at"] == pd.Timestamp(INITIAL_COMMIT_AT)
    assert log.loc[0, "author"] == DEFAULT_AUTHOR[0]
    assert repo.current_branch == MAIN and repo.branches == [MAIN]
    assert repo.git("status", "--porcelain") == ""


def test_bookstore_repo_is_idempotent_and_keeps_later_commits(repo: Repo) -> None:
    sha = repo.commit("Add notes", {"NOTES.md": "notes\n"}, when=T0)
    again = bookstore_repo(path=repo.path)
    assert again.path == repo.path
    assert again.head == sha
    assert len(again.log()) == 2


def test_bookstore_repo_reset_starts_over(repo: Repo) -> None:
    first = repo.head
    repo.commit("Add notes", {"NOTES.md": "notes\n"}, when=T0)
    fresh = bookstore_repo(path=repo.path, reset=True)
    assert fresh.head == first
    assert len(fresh.log()) == 1


def test_bookstore_repo_defaults_to_the_workshop_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABS_WORKSHOP_DIR", str(tmp_path / "ws"))
    made = bookstore_repo()
    assert made.path == (tmp_path / "ws" / "bookstore").resolve()


def test_first_commit_sha_is_the_same_anywhere(tmp_path: Path, repo: Repo) -> None:
    other = bookstore_repo(path=tmp_path / "elsewhere" / "copy")
    assert other.head == repo.head
    assert len(repo.head) == 40


def test_commits_are_deterministic_whatever_the_machine_git_config_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = bookstore_repo(path=tmp_path / "a")
    sha_a = first.commit("Same change", {"x.txt": "x\n"}, when=T0)
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Someone Else\n[commit]\n\tgpgSign = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Intruder")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2001-01-01T00:00:00Z")
    second = bookstore_repo(path=tmp_path / "b")
    sha_b = second.commit("Same change", {"x.txt": "x\n"}, when=T0)
    assert second.log().loc[1, "sha"] == first.log().loc[1, "sha"]
    assert sha_a == sha_b
    assert second.log().loc[0, "author"] == DEFAULT_AUTHOR[0]


def test_bookstore_repo_refuses_a_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "occupied"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    with pytest.raises(InputError, match="not a git repository") as info:
        bookstore_repo(path=folder)
    assert "reset=True" in str(info.value)
    assert (folder / "precious.txt").read_text() == "keep me"


def test_bookstore_repo_rebuilds_a_half_made_repository(tmp_path: Path) -> None:
    folder = tmp_path / "half"
    folder.mkdir()
    (folder / ".git").mkdir()  # a crash between `git init` and the first commit
    made = bookstore_repo(path=folder)
    assert len(made.log()) == 1


# --- Repo: commit, branch, merge, log ---------------------------------------------------------


def test_commit_writes_and_deletes_files_and_returns_the_head(repo: Repo) -> None:
    sha = repo.commit("Add a doc", {"docs/a.md": "a\n", "docs/b.md": "b\n"}, when=T0)
    assert sha == repo.head
    assert repo.show("docs/a.md") == "a\n"
    repo.commit("Remove b", {"docs/b.md": None}, when=T0 + timedelta(hours=1))
    assert "docs/b.md" not in repo.files()
    assert repo.show("docs/b.md", "HEAD~1") == "b\n"


def test_commit_takes_naive_dates_as_utc_and_converts_others(repo: Repo) -> None:
    repo.commit("naive", {"a": "1"}, when=datetime(2026, 2, 1, 12, 0))
    paris = timezone(timedelta(hours=1))
    repo.commit("aware", {"a": "2"}, when=datetime(2026, 2, 1, 14, 0, tzinfo=paris))
    times = repo.log()["committed_at"]
    assert str(times.dt.tz) == "UTC"
    assert list(times[:2]) == [
        pd.Timestamp("2026-02-01 13:00", tz="UTC"),
        pd.Timestamp("2026-02-01 12:00", tz="UTC"),
    ]


def test_commit_errors_say_what_and_what_to_do(repo: Repo) -> None:
    with pytest.raises(GitError, match="Nothing to commit") as info:
        repo.commit("nothing", when=T0)
    assert "allow_empty" in str(info.value)
    empty = repo.commit("an empty commit", when=T0, allow_empty=True)
    assert empty == repo.head
    with pytest.raises(InputError, match="not a path inside the repository"):
        repo.commit("escape", {"../outside.txt": "x"}, when=T0)
    with pytest.raises(InputError, match="not a path inside"):
        repo.commit("git internals", {".git/config": "x"}, when=T0)
    with pytest.raises(InputError, match="message is empty"):
        repo.commit("  ", {"a": "b"}, when=T0)
    with pytest.raises(InputError, match="must be a datetime"):
        repo.commit("when", {"a": "b"}, when="2026-01-01")  # type: ignore[arg-type]


def test_branch_commit_merge_and_log(repo: Repo) -> None:
    start = repo.head
    tip = _feature(repo, "feature/x", "x.txt", "x\n", T0)
    assert repo.branches == ["feature/x", MAIN]
    assert repo.current_branch == MAIN
    assert not repo.is_ancestor(tip, MAIN)
    merge = repo.merge("feature/x", when=T0 + timedelta(hours=2))
    assert merge == repo.head
    assert repo.is_ancestor(tip, MAIN)
    log = repo.log()
    assert list(log.columns) == ["sha", "author", "committed_at", "message"]
    assert list(log["message"]) == [
        "Merge branch 'feature/x'",
        "Change x.txt on feature/x",
        "Add the bookstore: catalog, orders and payments services",
    ]
    assert log["committed_at"].is_monotonic_decreasing
    assert list(repo.log(first_parent=True)["sha"]) == [merge, start]
    assert repo.rev_parse("HEAD^2") == tip  # a real merge commit: two parents
    stat = repo.diff_stat("HEAD^1")
    assert stat.to_dict("records") == [{"path": "x.txt", "added": 1, "deleted": 0}]


def test_merge_can_fast_forward_when_asked(repo: Repo) -> None:
    tip = _feature(repo, "feature/ff", "ff.txt", "ff\n", T0)
    assert repo.merge("feature/ff", when=T0, fast_forward=True) == tip


def test_merge_conflict_is_aborted_and_names_the_files(repo: Repo) -> None:
    _feature(repo, "a", "README.md", "# A\n", T0)
    _feature(repo, "b", "README.md", "# B\n", T0 + timedelta(minutes=5))
    repo.merge("a", when=T0 + timedelta(hours=1))
    before = repo.head
    with pytest.raises(MergeConflict) as info:
        repo.merge("b", when=T0 + timedelta(hours=2))
    assert info.value.files == ["README.md"]
    assert info.value.branch == "b"
    assert "README.md" in str(info.value) and "aborted" in str(info.value)
    assert repo.head == before
    assert repo.git("status", "--porcelain") == ""
    assert repo.show("README.md") == "# A\n"


def test_merges_are_deterministic(tmp_path: Path) -> None:
    shas = []
    for name in ("one", "two"):
        r = bookstore_repo(path=tmp_path / name)
        _feature(r, "f", "f.txt", "f\n", T0)
        shas.append(r.merge("f", when=T0 + timedelta(hours=1)))
    assert shas[0] == shas[1]


def test_repo_errors_name_what_is_wrong(tmp_path: Path, repo: Repo) -> None:
    with pytest.raises(InputError, match="is not a directory"):
        Repo(tmp_path / "missing")
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(InputError, match="not the top folder of a git repository"):
        Repo(plain)
    with pytest.raises(InputError, match="not the top folder"):
        Repo(repo.path / "bookstore")
    with pytest.raises(GitError, match="no branch called 'nope'") as info:
        repo.checkout("nope")
    assert "main" in str(info.value)  # the hint lists the branches there are
    repo.branch("dup")
    with pytest.raises(GitError, match="exists already"):
        repo.branch("dup")
    with pytest.raises(GitError, match="names no commit"):
        repo.rev_parse("v9.9.9")
    with pytest.raises(GitError, match=r"no file 'nothing\.txt'"):
        repo.show("nothing.txt")
    with pytest.raises(GitError, match="names no commit"):
        repo.merge("ghost", when=T0)
    with pytest.raises(GitError, match="`git frobnicate` failed") as info:
        repo.git("frobnicate")
    assert "frobnicate" in str(info.value) and "is not a git command" in str(info.value)


# --- the check of exercise 1 ------------------------------------------------------------------


def test_merged_check_fails_until_the_branch_is_merged_with_a_commit_of_its_own(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(CheckFailed, match="no branch called"):
        checks.merged(repo, "feature/changelog")
    repo.branch("feature/changelog")
    with pytest.raises(CheckFailed, match="no commit of its own"):
        checks.merged(repo, "feature/changelog")
    repo.checkout("feature/changelog")
    repo.commit("Start a changelog", {"CHANGELOG.md": "# Changelog\n"}, when=T0)
    with pytest.raises(CheckFailed, match="not merged"):
        checks.merged(repo, "feature/changelog")
    repo.checkout(MAIN)
    _feature(repo, "other", "other.txt", "o\n", T0)
    repo.merge("other", when=T0 + timedelta(hours=1))
    repo.merge("feature/changelog", when=T0 + timedelta(hours=2))
    checks.merged(repo, "feature/changelog")
    out = capsys.readouterr().out
    assert out.startswith("✔") and "1 commit(s) of its own" in out


def test_merged_check_rejects_a_fast_forward(repo: Repo) -> None:
    _feature(repo, "ff", "ff.txt", "ff\n", T0)
    repo.merge("ff", when=T0, fast_forward=True)
    with pytest.raises(CheckFailed, match="fast-forwarded"):
        checks.merged(repo, "ff")


# --- CodeCommit on the emulator ---------------------------------------------------------------


@pytest.fixture
def repository_name(ctx) -> Iterator[str]:
    name = ctx.name(f"test-cc-{datetime.now().strftime('%H%M%S%f')}")
    yield name
    codecommit.delete_repository(ctx, name)


def test_create_repository_is_idempotent_tagged_and_in_the_ledger(ctx, repository_name) -> None:
    made = codecommit.create_repository(ctx, repository_name, lab="02", description="test")
    again = codecommit.create_repository(ctx, repository_name, lab="02")
    assert again["repositoryId"] == made["repositoryId"]
    assert made["repositoryName"] == repository_name
    assert made["Arn"].endswith(f":{repository_name}")
    entries = [e for e in cleanup.ledger(ctx, "codecommit") if e["name"] == repository_name]
    assert entries and entries[0]["tags"] == {"workshop": "devops-on-aws-labs", "lab": "02"}
    found = cleanup.inventory(ctx, services="codecommit")
    assert repository_name in set(found["name"])


def test_delete_repository_is_safe_to_repeat(ctx, repository_name) -> None:
    codecommit.create_repository(ctx, repository_name, lab="02")
    assert codecommit.delete_repository(ctx, repository_name) is True
    assert codecommit.delete_repository(ctx, repository_name) is False
    assert not [e for e in cleanup.ledger(ctx, "codecommit") if e["name"] == repository_name]


def test_repository_names_are_validated(ctx) -> None:
    for bad in ("", "has space", "x" * 101, "ends.git", "ünïcode"):
        with pytest.raises(InputError, match="not a valid CodeCommit repository name"):
            codecommit.create_repository(ctx, bad, lab="02")


def test_probe_measures_what_the_emulator_does(ctx, repository_name) -> None:
    codecommit.create_repository(ctx, repository_name, lab="02")
    table = codecommit.probe(ctx, repository_name).set_index("operation")["result"]
    assert table["CreateRepository"] == "works"
    assert table["GetRepository"] == "works"
    assert table["DeleteRepository"] == "works"
    for missing in (
        "ListRepositories",
        "ListTagsForResource",
        "ListBranches",
        "PutFile",
        "CreateApprovalRuleTemplate",
        "PutRepositoryTriggers",
    ):
        assert table[missing].startswith("not implemented"), missing
    assert table["git clone / push"].startswith("not served")


def test_attempt_reports_a_gap_instead_of_raising(
    ctx, repository_name, capsys: pytest.CaptureFixture[str]
) -> None:
    codecommit.create_repository(ctx, repository_name, lab="02")
    cc = ctx.client("codecommit")
    assert (
        codecommit.attempt(ctx, cc.list_branches, "the branches", repositoryName=repository_name)
        is None
    )
    assert (
        "does not implement ListBranches; on AWS it returns the branches" in capsys.readouterr().out
    )
    got = codecommit.attempt(ctx, cc.get_repository, "x", repositoryName=repository_name)
    assert got is not None and "ResponseMetadata" not in got
    assert codecommit.attempt(ctx, cc.get_repository, "x", repositoryName="labs-none") is None
    assert "RepositoryDoesNotExistException" in capsys.readouterr().out
    assert codecommit.delete_approval_rule_template(ctx, "labs-none") is False


# --- builders for a real account --------------------------------------------------------------


def test_approval_rule_template_has_the_aws_format() -> None:
    pool = ["arn:aws:sts::123456789012:assumed-role/CodeCommitReview/*"]
    content = codecommit.approval_rule_template(approvals=2, pool=pool, branches=["main"])
    assert content == {
        "Version": "2018-11-08",
        "DestinationReferences": ["refs/heads/main"],
        "Statements": [
            {"Type": "Approvers", "NumberOfApprovalsNeeded": 2, "ApprovalPoolMembers": pool}
        ],
    }
    assert json.loads(json.dumps(content)) == content
    anyone = codecommit.approval_rule_template(approvals=1, branches=())
    assert "DestinationReferences" not in anyone
    assert "ApprovalPoolMembers" not in anyone["Statements"][0]
    with pytest.raises(InputError, match="at least 1"):
        codecommit.approval_rule_template(approvals=0)
    with pytest.raises(InputError, match="not an approval pool member"):
        codecommit.approval_rule_template(pool=["Mary"])
    assert codecommit.approval_rule_template(pool=["CodeCommitApprovers:123456789012:Mary"])


def test_repository_trigger_shape_and_validation() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:pushes"
    trigger = codecommit.repository_trigger("t", topic, events=["updateReference"], branches=[])
    assert trigger == {
        "name": "t",
        "destinationArn": topic,
        "branches": [],
        "events": ["updateReference"],
    }
    with pytest.raises(InputError, match="not valid trigger events"):
        codecommit.repository_trigger("t", topic, events=["all", "createReference"])
    with pytest.raises(InputError, match="not valid trigger events"):
        codecommit.repository_trigger("t", topic, events=["push"])
    with pytest.raises(InputError, match="SNS topic or Lambda function"):
        codecommit.repository_trigger("t", "arn:aws:sqs:us-east-1:123456789012:q")
    function = "arn:aws:lambda:us-east-1:123456789012:function:on-push"
    lines = codecommit.trigger_commands(
        "repo",
        [codecommit.repository_trigger("l", function)],
        region="us-east-1",
        account_id="123456789012",
    )
    assert lines[0].startswith("aws lambda add-permission --function-name on-push")
    assert "--principal codecommit.amazonaws.com" in lines[0]
    assert any(line.startswith("aws codecommit put-repository-triggers") for line in lines)


def test_git_remote_codecommit_urls_and_commands() -> None:
    assert codecommit.grc_url("repo", "us-east-2") == "codecommit::us-east-2://repo"
    assert (
        codecommit.grc_url("repo", "eu-west-1", profile="dev") == "codecommit::eu-west-1://dev@repo"
    )
    lines = codecommit.grc_commands("repo", "us-east-2", local_path="/src/bookstore")
    assert lines[0] == "python -m pip install git-remote-codecommit"
    assert "git -C /src/bookstore push codecommit main" in lines
    assert "git clone codecommit::us-east-2://repo repo-clone" in lines


def test_codeconnections_builders() -> None:
    lines = codecommit.connection_commands("gh", provider="GitLab")
    assert lines[0].startswith("aws codeconnections create-connection --provider-type GitLab")
    with pytest.raises(InputError, match="not a CodeConnections provider"):
        codecommit.connection_commands("gh", provider="SourceForge")
    action = codecommit.connection_source_action("arn:x", "org/repo")
    assert action["actionTypeId"]["provider"] == "CodeStarSourceConnection"
    assert action["configuration"] == {
        "ConnectionArn": "arn:x",
        "FullRepositoryId": "org/repo",
        "BranchName": "main",
    }
    with pytest.raises(InputError, match="owner/repository"):
        codecommit.connection_source_action("arn:x", "repo")
