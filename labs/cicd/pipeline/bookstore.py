"""The bookstore's pipeline, its smoke test, its release file, and a day of commits to run.

* :func:`bookstore_pipeline` — Source (CodeCommit ``labs-bookstore``, branch ``main``) → Build
  (CodeBuild ``labs-bookstore-build``: the repository's ``buildspec.yml``, unit tests and
  package) → Deploy (CodeDeploy ECS blue/green of the build artifact).
* :data:`SMOKE_TEST_BUILDSPEC` — a test buildspec that runs the *built* bookstore (the build
  artifact, without its unit tests) and sends it a request per service: what a Test stage adds.
* :func:`release_json` — the ``bookstore/release.json`` a commit uses to choose its release's
  behaviour (:mod:`labs.cicd.pipeline.actions` explains how the Deploy action reads it).
* :func:`lean_buildspec` — a buildspec without its install phase (the build image already has
  what ``install`` would get): builds take about a second instead of three, for a day of
  commits.
* :func:`day_of_commits` — a working day of real commits on ``main`` by three developers,
  seeded: most add a line to ``CHANGELOG.md`` (what matters to the pipeline is when they
  arrive), one adds a failing unit test that the next commit fixes, one switches the release
  to ``v2-bad`` and is reverted (``git revert``'s message) within the hour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import yaml

from labs.cicd.git import GitError, Repo
from labs.cicd.pipeline.model import (
    PipelineDefinition,
    Stage,
    build_action,
    deploy_action,
    source_action,
    test_action,
)
from labs.errors import InputError

__all__ = [
    "DAY_PLAN_COLUMNS",
    "DEVELOPERS",
    "RELEASE_PATH",
    "SMOKE_TEST_BUILDSPEC",
    "DayCommit",
    "bookstore_pipeline",
    "day_of_commits",
    "day_plan",
    "lean_buildspec",
    "release_json",
    "smoke_test_action",
]

RELEASE_PATH = "bookstore/release.json"
"""Where a commit says which release it is (the Deploy action reads it from the build)."""

DEVELOPERS: tuple[tuple[str, str], ...] = (
    ("Amara Okafor", "amara@bookstore.example"),
    ("Bruno Costa", "bruno@bookstore.example"),
    ("Chen Wei", "chen@bookstore.example"),
)
"""The bookstore team: (name, email) of the developers committing during the day."""

SMOKE_TEST_BUILDSPEC = """\
# Smoke test of the built bookstore: run what the build packaged (no unit tests in it) and
# send one request to the catalog and one order through orders and payments.
version: 0.2
phases:
  build:
    commands:
      - |
        python - <<'PY'
        from bookstore import WsgiClient, make_bookstore
        store = make_bookstore()
        books = WsgiClient(store.catalog).get("/books")
        print("GET /books ->", books.status)
        assert books.status == 200, books.status
        order = WsgiClient(store.orders).post(
            "/orders", {"book_id": "accelerate", "quantity": 1, "customer_id": "smoke-test"}
        )
        print("POST /orders ->", order.status)
        assert order.status == 201, order.status
        PY
"""
"""A CodeBuild test buildspec for the build artifact: one request per service, which must work."""

_MESSAGES = (
    "Show the number of copies in stock on each book",
    "Log the request id of every order",
    "Explain the 402 answer of payments in its body",
    "Sort GET /books by title",
    "Answer unknown books with a JSON 404",
    "Document the payments approval limit",
    "Time out catalog lookups from orders after 2 s",
    "Name the failing field in every 400 answer",
    "Count orders per customer in the logs",
    "Add the book's year to GET /books/{id}",
    "Cache the catalog's book list for 30 s",
    "Tidy the README's run instructions",
)

_FAILING_TEST = '''\
"""Gift cards pay for orders (work in progress)."""


def test_a_gift_card_pays_for_the_whole_order():
    balance_cents, order_cents = 2_500, 3_000
    assert balance_cents >= order_cents, "a gift card should cover the whole order"
'''

_FIXED_TEST = '''\
"""Gift cards pay for orders, up to their balance."""


def test_a_gift_card_pays_for_the_order_up_to_its_balance():
    balance_cents, order_cents = 2_500, 3_000
    paid = min(balance_cents, order_cents)
    assert (paid, order_cents - paid) == (2_500, 500)
'''

DAY_PLAN_COLUMNS = ["commit", "time", "author", "message", "kind"]


def release_json(version: str, notes: str = "") -> str:
    """The text of ``bookstore/release.json`` for ``version`` (see :mod:`.actions`)."""
    import json

    return json.dumps({"version": version, "notes": notes}, indent=2) + "\n"


def lean_buildspec(text: str) -> str:
    """``text`` (a buildspec) without its ``install`` phase, with a comment saying so."""
    data = yaml.safe_load(text)
    data.get("phases", {}).pop("install", None)
    header = (
        "# The repository's buildspec.yml without its install phase: this build image already\n"
        "# has pytest, so there is nothing to install (a build takes ~1 s instead of ~3 s).\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, width=100)


def smoke_test_action(ctx: Any, *, name: str = "SmokeTest", run_order: int = 1) -> Any:
    """The Test action that runs :data:`SMOKE_TEST_BUILDSPEC` on the build artifact."""
    return test_action(
        name,
        project=ctx.name("bookstore-smoke-test"),
        inputs="BuildArtifact",
        buildspec=SMOKE_TEST_BUILDSPEC,
        run_order=run_order,
    )


def bookstore_pipeline(ctx: Any, *, execution_mode: str = "SUPERSEDED") -> PipelineDefinition:
    """The bookstore's pipeline: Source → Build → Deploy (see the module docstring).

    The Build action passes the commit to the build (``COMMIT_ID`` from
    ``#{SourceVariables.CommitId}``) and sets ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1``: the local
    build runs on this machine's Python, whose Jupyter and pytest plugins a CodeBuild image
    would not have (loading them takes seconds).
    """
    return PipelineDefinition(
        name=ctx.name("bookstore-pipeline"),
        execution_mode=execution_mode,
        stages=(
            Stage("Source", [source_action(repository=ctx.name("bookstore"))]),
            Stage(
                "Build",
                [
                    build_action(
                        "Build",
                        project=ctx.name("bookstore-build"),
                        namespace="BuildVariables",
                        env={
                            "COMMIT_ID": "#{SourceVariables.CommitId}",
                            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
                        },
                    )
                ],
            ),
            Stage(
                "Deploy",
                [
                    deploy_action(
                        "Deploy",
                        application=ctx.name("bookstore-ecs"),
                        deployment_group=ctx.name("bookstore-ecs-group"),
                    )
                ],
            ),
        ),
    )


@dataclass(frozen=True)
class DayCommit:
    """One commit of :func:`day_of_commits`."""

    commit: str
    time: pd.Timestamp
    author: str
    message: str
    kind: str

    def pair(self) -> tuple[str, pd.Timestamp]:
        """``(commit, time)``, as :meth:`Pipeline.run_commits` takes it."""
        return self.commit, self.time


def _read(repo: Repo, path: str) -> str | None:
    try:
        return repo.show(path)
    except GitError:
        return None


def day_of_commits(
    repo: Repo,
    day: str = "2026-01-07",
    *,
    commits: int = 12,
    broken: int = 3,
    bad: int = 7,
    seed: int = 72,
    developers: Sequence[tuple[str, str]] = DEVELOPERS,
) -> list[DayCommit]:
    """Commit a working day of changes to the repository's current branch (see module doc).

    Commits start at 09:00 UTC on ``day``. Each gap to the next commit is, seeded, either a
    quick follow-up (1 to 4 minutes: several pushes in a row) or 20 to 75 minutes; the fix of
    the failing test comes 25 to 40 minutes after it, the revert of the bad release 35 to 50.

    Args:
        repo: The repository (its current branch gets the commits).
        day: The date (UTC).
        commits: How many commits, fix and revert included.
        broken: Index of the commit that adds a failing test (the next one fixes it).
        bad: Index of the commit that switches the release to ``v2-bad`` (the next reverts it).
        seed: Seeds the times and authors.
        developers: (name, email) of the developers.

    Returns:
        The commits, in order: :class:`DayCommit` (``commit`` is the full SHA).
    """
    special = {broken, broken + 1, bad, bad + 1}
    if len(special) != 4 or min(special) < 0 or max(special) >= commits:
        raise InputError(
            f"broken={broken} and bad={bad} need their next commit too, within {commits} commits "
            "and without overlapping.",
            hint="e.g. commits=12, broken=3, bad=7.",
        )
    rng = np.random.default_rng(seed)  # the times
    who = np.random.default_rng([seed, 1])  # the authors
    when = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=9)
    changelog = _read(repo, "CHANGELOG.md") or "# Changelog\n\n"
    release_before = _read(repo, RELEASE_PATH)
    out: list[DayCommit] = []
    messages = iter(_MESSAGES * (1 + commits // len(_MESSAGES)))
    author = developers[0]
    bad_sha = bad_subject = ""
    for index in range(commits):
        if index not in (broken + 1, bad + 1):
            author = developers[int(who.integers(len(developers)))]
        files: dict[str, str | None]
        if index == broken:
            message, kind = "Test that gift cards pay for orders", "adds a failing test"
            files = {"bookstore/tests/test_gift_cards.py": _FAILING_TEST}
        elif index == broken + 1:
            message, kind = "Fix the gift card test: a card pays up to its balance", "fixes it"
            files = {"bookstore/tests/test_gift_cards.py": _FIXED_TEST}
        elif index == bad:
            message, kind = "Batch the stock lookups of orders", "bad release (v2-bad)"
            notes = "orders: stock lookups in batches"
            files = {RELEASE_PATH: release_json("v2-bad", notes)}
        elif index == bad + 1:
            message = f'Revert "{bad_subject}"\n\nThis reverts commit {bad_sha}.'
            kind = "reverts it"
            files = {RELEASE_PATH: release_before}
        else:
            message, kind = next(messages), "change"
            changelog += f"- {message} ({author[0]})\n"
            files = {"CHANGELOG.md": changelog}
        sha = repo.commit(message, files, when=when.to_pydatetime(), author=author)
        if index == bad:
            bad_sha, bad_subject = sha, message
        out.append(DayCommit(sha, when, author[0], message.splitlines()[0], kind))
        if index == broken:
            gap = rng.integers(25, 41)
        elif index == bad:
            gap = rng.integers(35, 51)
        elif rng.random() < 0.3:
            gap = rng.integers(1, 5)
        else:
            gap = rng.integers(20, 76)
        when = when + pd.Timedelta(minutes=int(gap))
    return out


def day_plan(day: Sequence[DayCommit]) -> pd.DataFrame:
    """The day's commits as a table: commit, time, author, message, kind."""
    return pd.DataFrame(
        [{c: getattr(d, c) for c in DAY_PLAN_COLUMNS} for d in day], columns=DAY_PLAN_COLUMNS
    )
