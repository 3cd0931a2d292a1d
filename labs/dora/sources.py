"""Where DORA data comes from: a git repository's history, and JSON-lines pipeline records.

**Git** — :func:`from_git` reads commits with ``git log``; each commit is a change whose id is
the full SHA and whose time is the *committer* date (when the commit landed on the branch),
in UTC.

**Records** — the workshop's pipeline executor appends one JSON object per line to a file as
things happen; :func:`from_records` reads such a file back into the three frames
:func:`labs.dora.metrics` takes, and :func:`to_records` writes them. One object per line,
``type`` first::

    {"type": "change", "change_id": "c1", "committed_at": "2024-05-01T09:00:00Z"}
    {"type": "deployment", "deploy_id": "d1", "deployed_at": "2024-05-01T10:00:00Z",
     "change_ids": ["c1"], "rolled_back": false, "fixes_incident_id": null}
    {"type": "incident", "incident_id": "i1", "created_at": "2024-05-01T10:05:00Z",
     "resolved_at": "2024-05-01T10:45:00Z", "caused_by_deploy_id": "d1"}

(each record is on one line in the file; the deployment is wrapped here to fit).

=========== ======================= ======== =================================================
type        field                   required meaning
=========== ======================= ======== =================================================
change      ``change_id``           yes      unique id (a commit SHA)
change      ``committed_at``        yes      ISO 8601 with an offset (``Z`` or ``+02:00``)
deployment  ``deploy_id``           yes      unique id
deployment  ``deployed_at``         yes      when it reached production, ISO 8601 with offset
deployment  ``change_ids``          no       list of change ids shipped; default ``[]``
deployment  ``rolled_back``         no       ``true``/``false``; default ``false``
deployment  ``fixes_incident_id``   no       the incident this unplanned fix is for; ``null``
incident    ``incident_id``         yes      unique id
incident    ``created_at``          yes      ISO 8601 with offset
incident    ``resolved_at``         no       ISO 8601 with offset; ``null`` while open
incident    ``caused_by_deploy_id`` no       the deployment that caused it; ``null`` if unknown
=========== ======================= ======== =================================================

Blank lines are skipped. Other fields are kept as extra columns. Records may come in any order;
ids are checked against each other when the frames reach :func:`labs.dora.metrics`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labs.dora.validate import (
    CHANGE_COLUMNS,
    DEPLOYMENT_COLUMNS,
    INCIDENT_COLUMNS,
    prepare,
    to_utc_timestamp,
)
from labs.errors import InputError

__all__ = ["from_git", "from_records", "to_records"]

_REQUIRED: dict[str, tuple[str, ...]] = {
    "change": ("change_id", "committed_at"),
    "deployment": ("deploy_id", "deployed_at"),
    "incident": ("incident_id", "created_at"),
}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "change": {},
    "deployment": {"change_ids": None, "rolled_back": False, "fixes_incident_id": None},
    "incident": {"resolved_at": None, "caused_by_deploy_id": None},
}
_COLUMNS: dict[str, tuple[str, ...]] = {
    "change": CHANGE_COLUMNS,
    "deployment": DEPLOYMENT_COLUMNS,
    "incident": INCIDENT_COLUMNS,
}
_TIMES: dict[str, tuple[str, ...]] = {
    "change": ("committed_at",),
    "deployment": ("deployed_at",),
    "incident": ("created_at", "resolved_at"),
}
_ID: dict[str, str] = {"change": "change_id", "deployment": "deploy_id", "incident": "incident_id"}


def _git(args: list[str], repo: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise InputError(
            "git is not installed (no 'git' command on PATH).",
            where=str(repo),
            hint="Install git, or build the changes frame yourself.",
        ) from None


def from_git(repo_path: str | os.PathLike[str], *, ref: str = "HEAD") -> pd.DataFrame:
    """Read a git repository's commits as DORA changes, oldest first.

    Runs ``git log --format=%H %ct`` in the repository: ``change_id`` is the full commit SHA
    and ``committed_at`` the committer date (seconds since the epoch, so exactly UTC). The
    committer date, not the author date, is when a change landed — what lead time measures from.

    Args:
        repo_path: A directory inside a git working tree (or a bare repository).
        ref: The branch, tag or commit whose history to read.

    Returns:
        A DataFrame with ``change_id`` (str) and ``committed_at`` (``datetime64[ns, UTC]``),
        empty for a repository without commits.

    Raises:
        InputError: naming the path when it is not a git repository, or the ref when git
            cannot read it.
    """
    repo = Path(repo_path)
    empty = pd.DataFrame(
        {
            "change_id": pd.Series([], dtype="str"),
            "committed_at": pd.Series([], dtype="datetime64[ns, UTC]"),
        }
    )
    if not repo.is_dir():
        raise InputError(
            f"{str(repo)!r} is not a directory.",
            where=str(repo),
            hint="Pass the path of a git working tree (the folder holding .git).",
        )
    probe = _git(["rev-parse", "--git-dir"], repo)
    if probe.returncode != 0:
        raise InputError(
            f"{str(repo)!r} is not a git repository.",
            where=str(repo),
            hint=f"Run `git init` there, or pass another path. git said: {probe.stderr.strip()}",
        )
    log = _git(["log", "--reverse", "--format=%H %ct", ref, "--"], repo)
    if log.returncode != 0:
        has_head = _git(["rev-parse", "--verify", "--quiet", "HEAD"], repo).returncode == 0
        if ref == "HEAD" and not has_head:
            return empty
        raise InputError(
            f"git could not read the history of {ref!r}: {log.stderr.strip()}",
            where=f"{repo}, ref {ref!r}",
            hint="Check the branch or commit name with `git branch -a` / `git log`.",
        )
    lines = log.stdout.split()
    if not lines:
        return empty
    parts = np.array(lines, dtype=object).reshape(-1, 2)
    seconds = parts[:, 1].astype(np.int64)
    return pd.DataFrame(
        {
            "change_id": pd.Series(parts[:, 0], dtype="str"),
            "committed_at": pd.to_datetime(seconds, unit="s", utc=True).as_unit("ns"),
        }
    )


def _read_lines(path: Path) -> list[tuple[str, Any]]:
    if not path.is_file():
        raise InputError(
            f"no such file: {str(path)!r}.",
            where=str(path),
            hint="Check the path; the pipeline executor writes the file on its first run.",
        )
    records: list[tuple[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append((f"{path}, line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise InputError(
                    f"this line is not valid JSON ({exc.msg}, column {exc.colno}).",
                    where=f"{path}, line {number}",
                    hint="Each line must be one JSON object, like "
                    '{"type": "change", "change_id": "c1", "committed_at": "…Z"}.',
                ) from None
    return records


def from_records(
    path_or_records: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Read JSON-lines DORA records into ``(changes, deployments, incidents)`` frames.

    The record format is described in this module's docstring (:mod:`labs.dora.sources`).

    Args:
        path_or_records: A path to a JSON-lines file, or an iterable of records (dicts) —
            the parsed lines.

    Returns:
        Three DataFrames with the columns :func:`labs.dora.metrics` expects (plus any extra
        fields), in record order; timestamps are ``datetime64[ns, UTC]`` and optional ids are
        ``str`` columns with NaN for ``null``.

    Raises:
        InputError: naming the file and line (or record number) of a record that is not a JSON
            object, has an unknown ``type``, lacks a required field, has a timestamp without
            an offset, or has a field of the wrong kind.
    """
    if isinstance(path_or_records, str | os.PathLike):
        located = _read_lines(Path(path_or_records))
    else:
        located = [(f"record {i}", r) for i, r in enumerate(path_or_records, start=1)]

    rows: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _REQUIRED}
    where: dict[str, list[str]] = {kind: [] for kind in _REQUIRED}
    for place, record in located:
        if not isinstance(record, Mapping):
            raise InputError(
                f"a record must be a JSON object, not {type(record).__name__}.",
                where=place,
                hint='Write one object per line: {"type": "change", …}.',
            )
        kind = record.get("type")
        if kind not in _REQUIRED:
            raise InputError(
                f"unknown record type {kind!r}.",
                where=f"{place}, field 'type'",
                hint="'type' must be 'change', 'deployment' or 'incident'.",
            )
        missing = [f for f in _REQUIRED[kind] if record.get(f) is None]
        if missing:
            raise InputError(
                f"a {kind} record needs the field {missing[0]!r}.",
                where=f"{place}, field {missing[0]!r}",
                hint=f"{kind} records need {', '.join(_REQUIRED[kind])}.",
            )
        row = {**_DEFAULTS[kind], **{k: v for k, v in record.items() if k != "type"}}
        if kind == "deployment":
            _check_deployment_fields(row, place)
        rows[kind].append(row)
        where[kind].append(place)

    frames = tuple(
        _frame(kind, rows[kind], where[kind]) for kind in ("change", "deployment", "incident")
    )
    return frames  # type: ignore[return-value]


def _check_deployment_fields(row: dict[str, Any], place: str) -> None:
    ids = row["change_ids"]
    if ids is None:
        row["change_ids"] = []
    elif not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(
            f"change_ids must be a list of change ids (strings), not {ids!r}.",
            where=f"{place}, field 'change_ids'",
            hint='Write "change_ids": ["c1", "c2"] (or [] when the deployment ships none).',
        )
    if not isinstance(row["rolled_back"], bool):
        raise InputError(
            f"rolled_back must be true or false, not {row['rolled_back']!r}.",
            where=f"{place}, field 'rolled_back'",
            hint='Write "rolled_back": false (JSON booleans are lower case, unquoted).',
        )


def _frame(kind: str, rows: list[dict[str, Any]], places: list[str]) -> pd.DataFrame:
    columns = list(_COLUMNS[kind])
    extras = list(dict.fromkeys(k for row in rows for k in row if k not in columns))
    data: dict[str, Any] = {c: [row.get(c) for row in rows] for c in columns + extras}
    frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    for column in columns + extras:
        values = data[column]
        if column in _TIMES[kind]:
            frame[column] = to_utc_timestamp(
                pd.Series(values, dtype=object),
                where=f"{kind} records, field {column!r}",
                describe_row=lambda i: f"{places[i]} ({_ID[kind]} {rows[i][_ID[kind]]!r})",
                allow_missing=column == "resolved_at",
            )
        elif column == "change_ids":
            frame[column] = pd.Series(values, dtype=object)
        elif column == "rolled_back":
            frame[column] = pd.Series(values, dtype=bool)
        elif column in columns:
            frame[column] = pd.Series(values, dtype="str")
        else:
            frame[column] = pd.Series(values)
    return frame


def _iso(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(t) else t.isoformat().replace("+00:00", "Z") for t in series]


def to_records(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    path: str | os.PathLike[str] | None = None,
) -> list[dict[str, Any]]:
    """Turn the three frames into DORA records, and write them as JSON lines if given a path.

    The inverse of :func:`from_records`: ``from_records(to_records(c, d, i))`` gives back equal
    frames. The frames are checked as :func:`labs.dora.metrics` checks them first, so a file
    this writes always reads back.

    Args:
        changes: As for :func:`labs.dora.metrics`.
        deployments: As for :func:`labs.dora.metrics`.
        incidents: As for :func:`labs.dora.metrics`.
        path: Where to write the JSON-lines file (overwritten); ``None`` writes nothing.

    Returns:
        The records: changes, then deployments, then incidents, each in frame order.
    """
    prepare(changes, deployments, incidents)
    records: list[dict[str, Any]] = []
    for kind, frame in (("change", changes), ("deployment", deployments), ("incident", incidents)):
        columns = _COLUMNS[kind]
        values: dict[str, list[Any]] = {}
        for column in columns:
            series = frame[column]
            if column in _TIMES[kind]:
                values[column] = _iso(
                    to_utc_timestamp(series, where=f"{kind}s, {column!r}", allow_missing=True)
                )
            elif column == "change_ids":
                values[column] = [
                    [] if v is None or (np.ndim(v) == 0 and pd.isna(v)) else [str(i) for i in v]
                    for v in series
                ]
            elif column == "rolled_back":
                values[column] = [bool(v) for v in series]
            else:
                values[column] = [None if pd.isna(v) else str(v) for v in series]
        for i in range(len(frame)):
            records.append({"type": kind, **{c: values[c][i] for c in columns}})
    if path is not None:
        with Path(path).open("w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return records
