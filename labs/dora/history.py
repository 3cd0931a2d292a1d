"""A delivery history made real: simulated commits become git commits, events become records.

Two halves:

* **Simulating a history with phases** — :func:`simulate_phases` runs
  :func:`labs.dora.simulate_history` (the seeded model documented in :mod:`labs.dora.simulate`)
  once per *phase* of a team's life, each with its own batch size, and joins the phases into one
  history. :func:`bookstore_history` is the bookstore team's 90 days, with a planted regression
  (:data:`BOOKSTORE_PHASES`) that lab 01 asks learners to find.
* **Writing it down** — :func:`write_history` turns the ``changes`` frame into a real git
  repository (one commit per change, committed at its ``committed_at``) and writes the
  deployments and incidents as JSON-lines records (:mod:`labs.dora.sources` documents the
  format), with every change id replaced by its commit SHA. Reading the folder back with
  :func:`labs.dora.from_git` and :func:`labs.dora.from_records` gives the same metrics as the
  frames it was written from.

The repository is written by one ``git fast-import`` process
(https://git-scm.com/docs/git-fast-import) rather than one ``git commit`` per change: a 90-day
history of ~700 commits takes a fraction of a second instead of several seconds. Author,
committer, dates and file contents are all fixed by the inputs, so the same frames always give
the same commit SHAs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd

from labs.dora.calculate import TimeLike
from labs.dora.simulate import simulate_history
from labs.dora.sources import to_records
from labs.dora.validate import prepare, to_utc_timestamp
from labs.errors import InputError

__all__ = [
    "BOOKSTORE_PHASES",
    "BOOKSTORE_START",
    "HistoryFiles",
    "bookstore_history",
    "bookstore_regression_week",
    "simulate_phases",
    "write_history",
]

BOOKSTORE_START = "2026-06-01T00:00:00Z"
"""The first day of the bookstore's simulated history (a Monday)."""

BOOKSTORE_PHASES: tuple[tuple[int, int], ...] = ((49, 3), (14, 20), (27, 3))
"""The bookstore team's 90 days as ``(days, batch_size)`` phases.

Seven weeks of small batches (3 commits a deployment); then two weeks in which the team, busy
with a large refactoring, batches its work into a release of 20 commits at a time; then back to
batches of 3 for the remaining 27 days.
"""

BOOKSTORE_SEED = 7
"""The seed of the bookstore's history."""

MARKER = ".labs-dora-history"
"""The file that marks a folder as written by :func:`write_history` (so that it may be replaced)."""

REPO_DIR = "bookstore"
"""The git repository's folder inside the history folder."""

RECORDS_FILE = "records.jsonl"
"""The deployment and incident records' file inside the history folder."""

DEFAULT_AUTHOR = "Bookstore Team <team@bookstore.example>"
"""Author and committer of every commit :func:`write_history` makes."""

_SERVICES = ("catalog", "orders", "payments")
_SUMMARIES = (
    "tidy request validation",
    "add a unit test",
    "refactor the handler",
    "update a dependency",
    "improve a log message",
    "tune the cache",
    "fix an edge case",
)


def _phase_seed(seed: int, phase: int) -> int:
    """A seed for one phase, derived from the history's seed (phases never share a stream)."""
    return int(np.random.SeedSequence([seed, phase]).generate_state(1)[0])


def _check_phases(phases: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    checked = []
    for number, phase in enumerate(phases, start=1):
        ok = (
            isinstance(phase, tuple | list)
            and len(phase) == 2
            and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in phase)
            and phase[0] >= 1
            and phase[1] >= 1
        )
        if not ok:
            raise InputError(
                f"phase {phase!r} is not a pair of whole numbers (days, batch_size), both ≥ 1.",
                where=f"argument 'phases', item {number}",
                hint="Write phases like [(49, 3), (14, 20), (27, 3)].",
            )
        checked.append((int(phase[0]), int(phase[1])))
    if not checked:
        raise InputError(
            "phases is empty.",
            where="argument 'phases'",
            hint="Give at least one (days, batch_size) pair.",
        )
    return checked


def simulate_phases(
    phases: Sequence[tuple[int, int]],
    *,
    seed: int = 0,
    start: TimeLike = "2024-01-01T00:00:00Z",
    commits_per_day: float = 8.0,
    change_failure_probability: float = 0.03,
    pipeline_hours: float = 1.0,
    diagnosis_hours_per_change: float = 0.5,
    hotfix_share: float = 0.5,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Simulate one team through phases of different batch sizes, as one history.

    Each phase is :func:`labs.dora.simulate_history` (the model in :mod:`labs.dora.simulate`)
    over its own days, with its own batch size and a seed derived from ``seed`` and the phase's
    position; the team's other parameters are the same throughout. Where phases meet:

    * Commits a phase leaves undeployed (its unfinished last batch) ride along with the next
      phase's first regular deployment, as a real team's would; they keep their commit times, so
      their lead times are long. (That deployment's failure draw is not redone.) Commits left at
      the end of the last phase stay undeployed, as in :func:`~labs.dora.simulate_history`.
    * Ids are renumbered over the whole history, in time order, with the same conventions as
      :func:`~labs.dora.simulate_history`: ``c00001``, ``fix-0001``, ``d0001``, ``i0001``.

    Args:
        phases: ``(days, batch_size)`` pairs, in order.
        seed: Seed of the whole history; the same seed gives the same history.
        start: The first day of the first phase (tz-aware datetime or ISO string with offset).
        commits_per_day: Mean commits per day (Poisson), in every phase.
        change_failure_probability: Chance that one change breaks production.
        pipeline_hours: Mean time from a batch's last commit to production.
        diagnosis_hours_per_change: Median restore time per change in a failed deployment.
        hotfix_share: Share of incidents fixed by a hotfix deployment instead of a rollback.

    Returns:
        ``(changes, deployments, incidents)`` as :func:`~labs.dora.simulate_history` returns
        them, over ``sum(days)`` days.

    Raises:
        InputError: naming the phase or argument that is out of range.

    Example:
        >>> changes, deployments, incidents = simulate_phases([(30, 2), (30, 15)], seed=1)
    """
    checked = _check_phases(phases)
    origin = pd.Timestamp(start)
    if origin.tzinfo is None:
        raise InputError(
            f"start={start!r} has no timezone.",
            where="argument 'start'",
            hint="Write it like '2024-01-01T00:00:00Z'.",
        )
    changes_parts, deploy_parts, incident_parts = [], [], []
    carried: list[str] = []  # undeployed commits waiting for the next phase's first deployment
    offset = origin
    for k, (days, batch_size) in enumerate(checked):
        c, d, i = simulate_history(
            days=days,
            seed=_phase_seed(seed, k),
            batch_size=batch_size,
            commits_per_day=commits_per_day,
            change_failure_probability=change_failure_probability,
            pipeline_hours=pipeline_hours,
            diagnosis_hours_per_change=diagnosis_hours_per_change,
            hotfix_share=hotfix_share,
            start=offset,
        )
        tag = f"p{k}:"
        c = c.assign(change_id=tag + c["change_id"])
        ids = [[tag + x for x in cell] for cell in d["change_ids"]]
        regular = d["fixes_incident_id"].isna().to_numpy()
        if carried and regular.any():
            first = int(np.flatnonzero(regular)[0])  # deployments are sorted by time
            ids[first] = carried + ids[first]
            carried = []
        d = d.assign(
            deploy_id=tag + d["deploy_id"],
            change_ids=pd.Series(ids, index=d.index, dtype=object),
            fixes_incident_id=tag + d["fixes_incident_id"],
        )
        i = i.assign(
            incident_id=tag + i["incident_id"],
            caused_by_deploy_id=tag + i["caused_by_deploy_id"],
        )
        shipped = set(chain.from_iterable(d["change_ids"]))
        carried += [cid for cid in c["change_id"] if cid not in shipped]
        changes_parts.append(c)
        deploy_parts.append(d)
        incident_parts.append(i)
        offset += pd.Timedelta(days=days)
    return _renumber(
        pd.concat(changes_parts, ignore_index=True),
        pd.concat(deploy_parts, ignore_index=True),
        pd.concat(incident_parts, ignore_index=True),
    )


def _renumber(
    changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Give phase-tagged ids the plain, time-ordered ids :func:`simulate_history` uses."""
    changes = changes.sort_values("committed_at", kind="stable", ignore_index=True)
    deployments = deployments.sort_values("deployed_at", kind="stable", ignore_index=True)
    incidents = incidents.sort_values("created_at", kind="stable", ignore_index=True)

    is_fix = changes["change_id"].str.contains(":fix-", regex=False).to_numpy()
    new_change = np.empty(len(changes), dtype=object)
    new_change[~is_fix] = [f"c{k + 1:05d}" for k in range(int((~is_fix).sum()))]
    new_change[is_fix] = [f"fix-{k + 1:04d}" for k in range(int(is_fix.sum()))]
    change_map = dict(zip(changes["change_id"], new_change, strict=True))
    deploy_map = {old: f"d{k + 1:04d}" for k, old in enumerate(deployments["deploy_id"])}
    incident_map = {old: f"i{k + 1:04d}" for k, old in enumerate(incidents["incident_id"])}

    changes = changes.assign(change_id=pd.Series(new_change, dtype="str"))
    deployments = deployments.assign(
        deploy_id=deployments["deploy_id"].map(deploy_map).astype("str"),
        change_ids=pd.Series(
            [[change_map[x] for x in cell] for cell in deployments["change_ids"]], dtype=object
        ),
        fixes_incident_id=deployments["fixes_incident_id"].map(incident_map).astype("str"),
    )
    incidents = incidents.assign(
        incident_id=incidents["incident_id"].map(incident_map).astype("str"),
        caused_by_deploy_id=incidents["caused_by_deploy_id"].map(deploy_map).astype("str"),
    )
    return changes, deployments, incidents


def bookstore_history(
    seed: int = BOOKSTORE_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The bookstore team's 90 days from 2026-06-01, with a planted regression.

    :func:`simulate_phases` over :data:`BOOKSTORE_PHASES` with the default team of
    :func:`labs.dora.simulate_history` (8 commits a day, 3% of changes break production,
    a 1-hour pipeline, 30 minutes of diagnosis per change in a failed deployment, half of the
    incidents fixed by a hotfix): small batches, then two weeks of batches of 20 from the
    Monday :func:`bookstore_regression_week` returns, then small batches again.

    Args:
        seed: Seed of the history; the default is the one lab 01 uses.

    Returns:
        ``(changes, deployments, incidents)`` as :func:`labs.dora.simulate_history` returns them.
    """
    return simulate_phases(BOOKSTORE_PHASES, seed=seed, start=BOOKSTORE_START)


def bookstore_regression_week() -> pd.Timestamp:
    """The Monday (00:00 UTC) on which the bookstore team started shipping in large batches."""
    days_before = BOOKSTORE_PHASES[0][0]
    return pd.Timestamp(BOOKSTORE_START) + pd.Timedelta(days=days_before)


# ---------------------------------------------------------------------------------------------
# Writing a history into git and records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class HistoryFiles:
    """What :func:`write_history` wrote, and the frames it wrote, with commit SHAs as ids.

    Attributes:
        folder: The history's folder.
        repo: The git repository (``folder / "bookstore"``), branch ``main``, one commit per
            change; :func:`labs.dora.from_git` reads it.
        records: The JSON-lines file of deployments and incidents (``folder / "records.jsonl"``);
            :func:`labs.dora.from_records` reads it.
        changes: The changes as written: ``change_id`` is each commit's full SHA, in commit order.
        deployments: The deployments as written: ``change_ids`` hold commit SHAs.
        incidents: The incidents as written.
        shas: The original change id → commit SHA.
    """

    folder: Path
    repo: Path
    records: Path
    changes: pd.DataFrame = field(repr=False)
    deployments: pd.DataFrame = field(repr=False)
    incidents: pd.DataFrame = field(repr=False)
    shas: pd.Series = field(repr=False)


def _git_env(author: str, when: int) -> dict[str, str]:
    """Environment for git: no user or system config; ``author`` and ``when`` as identity and date.

    The commits themselves take author, committer and dates from the fast-import stream; this
    fixes what git records elsewhere (the reflog) and keeps the user's configuration out.
    """
    name, email = author[:-1].split(" <", 1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k == "GIT_EXEC_PATH"}
    date = f"{when} +0000"
    env.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
            "GIT_TERMINAL_PROMPT": "0",
        }
    )
    return env


def _run_git(args: list[str], env: dict[str, str], *, stdin: bytes | None = None) -> str:
    try:
        done = subprocess.run(
            ["git", *args], input=stdin, capture_output=True, env=env, check=False
        )
    except FileNotFoundError:
        raise InputError(
            "git is not installed (no 'git' command on PATH).",
            hint="Install git (the environment doctor checks for it) and run the cell again.",
        ) from None
    if done.returncode != 0:
        raise InputError(
            f"git {args[0]} failed: {done.stderr.decode(errors='replace').strip()}",
            where=" ".join(["git", *args[:3]]),
            hint="Run the cell again; if it fails twice, delete the history folder by hand.",
        )
    return done.stdout.decode()


def _clear(folder: Path) -> None:
    """Remove a previous history; refuse to touch a folder write_history did not make."""
    if folder.exists() and not folder.is_dir():
        raise InputError(
            f"{str(folder)!r} is a file, not a folder.",
            where=str(folder),
            hint="Pass the path of a folder for the history (it is created if missing).",
        )
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise InputError(
                f"{str(folder)!r} already holds files that write_history did not write; "
                "nothing was deleted.",
                where=str(folder),
                hint="Pass an empty or new folder, e.g. labs.emulator.workshop_dir() / "
                "'dora-history'.",
            )
        shutil.rmtree(folder)


def _messages(changes: pd.DataFrame, deployments: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(service, commit message, changelog line) for every change, in frame order."""
    fixes: dict[str, str] = {}
    for ids, incident in zip(
        deployments["change_ids"], deployments["fixes_incident_id"], strict=True
    ):
        if isinstance(incident, str):
            fixes.update(dict.fromkeys(_map_ids(ids, None), incident))
    out = []
    for k, change_id in enumerate(changes["change_id"]):
        service = _SERVICES[k % len(_SERVICES)]
        if change_id in fixes:
            summary = f"hotfix for incident {fixes[change_id]}"
        else:
            summary = _SUMMARIES[k % len(_SUMMARIES)]
        out.append((service, f"{service}: {summary} ({change_id})", f"- {change_id}: {summary}"))
    return out


def _fast_import_stream(
    seconds: np.ndarray, messages: list[tuple[str, str, str]], author: str
) -> bytes:
    """The fast-import stream: one commit per change on refs/heads/main.

    Each commit appends its line to ``<service>/changes/<YYYY-MM>.md``, the service's changelog
    for the month (UTC) of the commit. Monthly files keep every blob small, so the stream — and
    the time to write it — grows linearly with the number of commits.
    """
    months = pd.to_datetime(seconds, unit="s", utc=True).strftime("%Y-%m")
    changelog: dict[tuple[str, str], list[str]] = {}
    parts: list[bytes] = []
    for mark, ((service, message, line), when, month) in enumerate(
        zip(messages, seconds.tolist(), months, strict=True), start=1
    ):
        lines = changelog.setdefault((service, month), [f"# {service}: changes in {month}", ""])
        lines.append(line)
        body = ("\n".join(lines) + "\n").encode()
        msg = (message + "\n").encode()
        parts.append(
            b"commit refs/heads/main\n"
            + f"mark :{mark}\n".encode()
            + f"author {author} {when} +0000\n".encode()
            + f"committer {author} {when} +0000\n".encode()
            + f"data {len(msg)}\n".encode()
            + msg
            + f"M 100644 inline {service}/changes/{month}.md\n".encode()
            + f"data {len(body)}\n".encode()
            + body
            + b"\n"
        )
    parts.append(b"done\n")
    return b"".join(parts)


def write_history(
    folder: str | os.PathLike[str],
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    author: str = DEFAULT_AUTHOR,
) -> HistoryFiles:
    """Write a delivery history as a real git repository plus JSON-lines deployment records.

    What it writes in ``folder`` (deleted first if an earlier call wrote it, so running it again
    recreates exactly the same repository):

    * ``bookstore/`` — a git repository, branch ``main``, with **one commit per change**, oldest
      first, authored and committed by ``author`` at the change's ``committed_at`` (whole seconds,
      UTC; git keeps no fractions). Each commit adds a line to the month's changelog of one of the
      bookstore's services (``catalog/changes/2026-06.md``, ``orders/…``, ``payments/…``); its
      message names the change's original id, and hotfixes name the incident they fix. One
      ``git fast-import`` process (https://git-scm.com/docs/git-fast-import) makes all the
      commits, without any user or system git configuration, so the SHAs depend on the inputs
      alone.
    * ``records.jsonl`` — the deployments, then the incidents, as :func:`labs.dora.to_records`
      writes them (format in :mod:`labs.dora.sources`), with every change id replaced by its
      commit SHA. Changes are not repeated there: they come from git.

    Args:
        folder: Where to write (created if missing). A non-empty folder that an earlier call did
            not write is refused, never deleted.
        changes: As for :func:`labs.dora.metrics`.
        deployments: As for :func:`labs.dora.metrics`.
        incidents: As for :func:`labs.dora.metrics`.
        author: ``"Name <email>"`` of every commit.

    Returns:
        A :class:`HistoryFiles` naming the repository and records file, with the frames as
        written (change ids replaced by SHAs).

    Raises:
        InputError: for frames :func:`labs.dora.metrics` would refuse, a folder that holds
            someone else's files, or git missing or failing.

    Example:
        >>> files = write_history(tmp / "history", *bookstore_history())  # doctest: +SKIP
        >>> metrics(from_git(files.repo), *from_records(files.records)[1:])  # doctest: +SKIP
    """
    prepare(changes, deployments, incidents)  # refuse bad frames before touching the disk
    if not isinstance(author, str) or not author.endswith(">") or " <" not in author:
        raise InputError(
            f"author={author!r} is not of the form 'Name <email>'.",
            where="argument 'author'",
            hint="Write it like 'Bookstore Team <team@bookstore.example>'.",
        )
    folder = Path(folder)
    committed = to_utc_timestamp(changes["committed_at"], where="changes, column 'committed_at'")
    order = np.argsort(committed.to_numpy(dtype="datetime64[ns]").view(np.int64), kind="stable")
    ordered = changes.iloc[order].reset_index(drop=True)
    seconds = committed.to_numpy(dtype="datetime64[ns]").view(np.int64)[order] // 10**9

    _clear(folder)
    repo = folder / REPO_DIR
    repo.mkdir(parents=True)
    (folder / MARKER).write_text(
        "Written by labs.dora.write_history; deleted and rewritten each time it runs.\n"
    )
    env = _git_env(author, int(seconds[-1]) if len(seconds) else 0)
    _run_git(["init", "-q", "-b", "main", str(repo)], env)
    shas: list[str] = []
    if len(ordered):
        stream = _fast_import_stream(seconds, _messages(ordered, deployments), author)
        _run_git(
            ["-C", str(repo), "fast-import", "--quiet", "--date-format=raw"], env, stdin=stream
        )
        _run_git(["-C", str(repo), "reset", "-q", "--hard", "main"], env)
        shas = _run_git(["-C", str(repo), "rev-list", "--reverse", "main"], env).split()

    sha_of = pd.Series(shas, index=pd.Index(ordered["change_id"], dtype="str"), dtype="str")
    written_changes = ordered.assign(
        change_id=pd.Series(shas, dtype="str"),
        committed_at=pd.Series(pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns")),
    )
    mapping = sha_of.to_dict()
    written_deployments = deployments.assign(
        change_ids=pd.Series(
            [_map_ids(cell, mapping) for cell in deployments["change_ids"]],
            index=deployments.index,
            dtype=object,
        )
    )
    records = to_records(written_changes, written_deployments, incidents)
    path = folder / RECORDS_FILE
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            if record["type"] != "change":
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return HistoryFiles(
        folder=folder,
        repo=repo,
        records=path,
        changes=written_changes,
        deployments=written_deployments,
        incidents=incidents,
        shas=sha_of,
    )


def _map_ids(cell: object, mapping: dict[str, str] | None) -> list[str]:
    """The ids of one ``change_ids`` cell (None/NaN: none), mapped through ``mapping`` if given."""
    if cell is None or not isinstance(cell, Iterable) or isinstance(cell, str):
        return []
    ids = [str(x) for x in cell]
    return ids if mapping is None else [mapping[x] for x in ids]
