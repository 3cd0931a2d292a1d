"""Check the three input frames once and turn them into numpy arrays the metrics share.

Every problem becomes an :class:`~labs.errors.InputError` that names the frame, the column and
the row (the row's index label and its id), and says what to do. Nothing here modifies the
caller's frames: columns are read, converted into new arrays, and never written back.

Timestamps become ``int64`` nanoseconds since the epoch (UTC); ``change_ids`` is exploded once
into two aligned integer arrays (deployment position, change position) that every metric reuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError

__all__ = [
    "CHANGE_COLUMNS",
    "DEPLOYMENT_COLUMNS",
    "INCIDENT_COLUMNS",
    "NAT",
    "Prepared",
    "prepare",
    "to_utc_timestamp",
]

CHANGE_COLUMNS: tuple[str, ...] = ("change_id", "committed_at")
"""Columns ``changes`` must have."""
DEPLOYMENT_COLUMNS: tuple[str, ...] = (
    "deploy_id",
    "deployed_at",
    "change_ids",
    "rolled_back",
    "fixes_incident_id",
)
"""Columns ``deployments`` must have."""
INCIDENT_COLUMNS: tuple[str, ...] = (
    "incident_id",
    "created_at",
    "resolved_at",
    "caused_by_deploy_id",
)
"""Columns ``incidents`` must have."""

NAT: int = np.iinfo(np.int64).min
"""How a missing timestamp (``NaT``) looks as int64 nanoseconds."""

# A time of day followed by "Z" or a numeric offset; a bare date ("2024-01-01") has no zone.
_OFFSET_RE = r"\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass(frozen=True)
class Prepared:
    """The three frames, checked, as aligned numpy arrays (timestamps in int64 ns, UTC).

    Attributes:
        change_ids: The change ids, in the caller's row order.
        committed: Commit time of each change.
        deploy_ids: The deployment ids, in the caller's row order.
        deployed: Deployment time of each deployment.
        rolled_back: Whether each deployment was rolled back.
        fixes: Position of the incident each deployment fixes, -1 for none.
        ship_deploy: For every (deployment, change) pair in ``change_ids``: the deployment.
        ship_change: For the same pairs: the change's position in ``change_ids``.
        incident_ids: The incident ids, in the caller's row order.
        created: Creation time of each incident.
        resolved: Resolution time of each incident (``NAT`` while open).
        cause: Position of the deployment that caused each incident, -1 for none.
    """

    change_ids: np.ndarray
    committed: np.ndarray
    deploy_ids: np.ndarray
    deployed: np.ndarray
    rolled_back: np.ndarray
    fixes: np.ndarray
    ship_deploy: np.ndarray
    ship_change: np.ndarray
    incident_ids: np.ndarray
    created: np.ndarray
    resolved: np.ndarray
    cause: np.ndarray

    def data_bounds(self) -> tuple[int, int] | None:
        """Earliest and latest commit, deployment or incident-creation time; None when empty."""
        parts = [a for a in (self.committed, self.deployed, self.created) if len(a)]
        if not parts:
            return None
        return min(int(a.min()) for a in parts), max(int(a.max()) for a in parts)


def _row(frame: pd.DataFrame, position: int, id_column: str | None) -> str:
    label = frame.index[position]
    if id_column is None or id_column not in frame.columns:
        return f"row {label!r}"
    return f"row {label!r} ({id_column} {frame[id_column].iloc[position]!r})"


def _check_frame(frame: Any, name: str, expected: tuple[str, ...]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{name} must be a pandas DataFrame, not {type(frame).__name__}.",
            where=name,
            hint=f"Build it with pd.DataFrame(...) with columns {', '.join(expected)}.",
        )
    missing = [c for c in expected if c not in frame.columns]
    if missing:
        raise InputError(
            f"{name} has no column {missing[0]!r}"
            + (f" (also missing: {', '.join(map(repr, missing[1:]))})" if missing[1:] else "")
            + ".",
            where=f"{name}, column {missing[0]!r}",
            hint=f"{name} needs the columns {', '.join(expected)}; "
            f"it has {', '.join(map(str, frame.columns)) or 'none'}.",
        )
    return frame


def to_utc_timestamp(
    column: pd.Series,
    *,
    where: str,
    describe_row: Callable[[int], str] | None = None,
    allow_missing: bool = False,
) -> pd.Series:
    """Return a column as ``datetime64[ns, UTC]``, or raise naming the column and row.

    Accepts a tz-aware datetime column (any zone, converted to UTC), or ISO 8601 strings /
    datetime objects that each carry an offset (``Z`` or ``+01:00``). Naive timestamps are
    refused: their zone is unknowable, and guessing would shift lead times by hours.

    Args:
        column: The column to convert (not modified).
        where: Where the column is, for messages: ``"changes, column 'committed_at'"``.
        describe_row: Turns a row position into words (``"row 3 (change_id 'c3')"``); default
            names the index label.
        allow_missing: Whether missing values (``NaT``/``None``) are allowed.

    Returns:
        A new ``datetime64[ns, UTC]`` series with the same index.

    Raises:
        InputError: for naive, unparseable or (unless allowed) missing timestamps.
    """
    if describe_row is None:

        def describe_row(position: int) -> str:
            return f"row {column.index[position]!r}"

    hint_naive = (
        "Make the timestamps timezone-aware, e.g. pd.to_datetime(col, utc=True) when they are "
        "UTC, or col.dt.tz_localize('Europe/Paris') when they are local time."
    )
    dtype = column.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        out = column.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(dtype):
        raise InputError(
            "this column holds naive timestamps (no timezone).", where=where, hint=hint_naive
        )
    else:
        if isinstance(dtype, pd.StringDtype):
            text = column
        else:  # object: strings, datetime objects, or something wrong; checked per value
            text = column.map(
                lambda v: v.isoformat() if hasattr(v, "isoformat") and v is not pd.NaT else v
            )
            wrong = np.flatnonzero(
                text.map(lambda v: not isinstance(v, str)).to_numpy(dtype=bool)
                & column.notna().to_numpy()
            )
            if wrong.size:
                value = column.iloc[int(wrong[0])]
                raise InputError(
                    f"{type(value).__name__} {value!r} is not a timestamp.",
                    where=f"{where}, {describe_row(int(wrong[0]))}",
                    hint="Give timezone-aware timestamps or ISO 8601 strings with an offset.",
                )
            text = text.astype("str")
        present = text.notna().to_numpy()
        naive = present & ~text.str.contains(_OFFSET_RE, regex=True).fillna(True).to_numpy(bool)
        if naive.any():
            position = int(np.flatnonzero(naive)[0])
            raise InputError(
                f"{text.iloc[position]!r} is a timestamp without a timezone.",
                where=f"{where}, {describe_row(position)}",
                hint=hint_naive + " ISO strings need a 'Z' or '+00:00' suffix.",
            )
        try:
            out = pd.to_datetime(text, utc=True, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"a value is not an ISO 8601 timestamp ({exc}).",
                where=where,
                hint="Write timestamps like 2024-05-01T09:30:00Z.",
            ) from None
    out = out.dt.as_unit("ns")
    missing = out.isna().to_numpy()
    if not allow_missing and missing.any():
        position = int(np.flatnonzero(missing)[0])
        raise InputError(
            "a timestamp is missing.",
            where=f"{where}, {describe_row(position)}",
            hint="Every row needs this timestamp; drop the row or fill it in.",
        )
    return out


def _utc_ns(
    frame: pd.DataFrame, fname: str, col: str, id_col: str, *, allow_missing: bool = False
) -> np.ndarray:
    series = to_utc_timestamp(
        frame[col],
        where=f"{fname}, column {col!r}",
        describe_row=lambda position: _row(frame, position, id_col),
        allow_missing=allow_missing,
    )
    return series.to_numpy(dtype="datetime64[ns]").view(np.int64)


def _ids(frame: pd.DataFrame, fname: str, col: str) -> pd.Index:
    """The id column as an Index (its hash table is reused for lookups); ids must be unique."""
    values = frame[col]
    missing = values.isna().to_numpy()
    if missing.any():
        position = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"column {col!r} has a missing id.",
            where=f"{fname}, column {col!r}, {_row(frame, position, None)}",
            hint="Every row needs a unique id.",
        )
    index = pd.Index(values)
    if not index.is_unique:
        position = int(np.flatnonzero(index.duplicated())[0])
        raise InputError(
            f"id {values.iloc[position]!r} appears more than once in column {col!r}.",
            where=f"{fname}, column {col!r}, {_row(frame, position, None)}",
            hint="Ids must be unique; drop duplicate rows (frame.drop_duplicates(...)).",
        )
    return index


def _references(
    values: pd.Series,
    targets: pd.Index,
    *,
    frame: pd.DataFrame,
    fname: str,
    col: str,
    id_col: str,
    target_name: str,
) -> np.ndarray:
    """Positions in ``targets`` of each value; -1 where missing; raise on an unknown id."""
    present = values.notna().to_numpy()
    positions = np.full(len(values), -1, dtype=np.int64)
    if present.any():
        found = targets.get_indexer(values.to_numpy(dtype=object)[present])
        unknown = np.flatnonzero(found < 0)
        if unknown.size:
            position = int(np.flatnonzero(present)[unknown[0]])
            raise InputError(
                f"{col} names {values.iloc[position]!r}, which is not a known {target_name}.",
                where=f"{fname}, column {col!r}, {_row(frame, position, id_col)}",
                hint=f"Use an id that appears in the {target_name} frame, or None.",
            )
        positions[present] = found
    return positions


def _booleans(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A boolean column as a numpy bool array; raise naming the row of a non-boolean value."""
    values = frame[col]
    if pd.api.types.is_bool_dtype(values.dtype) and not values.isna().any():
        return values.to_numpy(dtype=bool)
    cells = values.to_numpy(dtype=object)
    ok = np.fromiter((isinstance(v, bool | np.bool_) for v in cells), dtype=bool, count=len(cells))
    if not ok.all():
        position = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"{col} must be True or False, not {cells[position]!r}.",
            where=f"deployments, column {col!r}, {_row(frame, position, 'deploy_id')}",
            hint=f"Fill missing values with False: deployments[{col!r}].fillna(False).",
        )
    return cells.astype(bool)


def prepare(changes: Any, deployments: Any, incidents: Any) -> Prepared:
    """Check the three frames and return them as aligned arrays.

    Args:
        changes: Frame with ``change_id`` and ``committed_at``.
        deployments: Frame with ``deploy_id``, ``deployed_at``, ``change_ids``, ``rolled_back``
            and ``fixes_incident_id``.
        incidents: Frame with ``incident_id``, ``created_at``, ``resolved_at`` and
            ``caused_by_deploy_id``.

    Returns:
        The checked data; the caller's frames are left as they were.

    Raises:
        InputError: naming the frame, column and row of the first problem found.
    """
    changes = _check_frame(changes, "changes", CHANGE_COLUMNS)
    deployments = _check_frame(deployments, "deployments", DEPLOYMENT_COLUMNS)
    incidents = _check_frame(incidents, "incidents", INCIDENT_COLUMNS)

    change_ids = _ids(changes, "changes", "change_id")
    committed = _utc_ns(changes, "changes", "committed_at", "change_id")
    deploy_ids = _ids(deployments, "deployments", "deploy_id")
    deployed = _utc_ns(deployments, "deployments", "deployed_at", "deploy_id")
    incident_ids = _ids(incidents, "incidents", "incident_id")
    created = _utc_ns(incidents, "incidents", "created_at", "incident_id")
    resolved = _utc_ns(incidents, "incidents", "resolved_at", "incident_id", allow_missing=True)

    early = (resolved != NAT) & (resolved < created)
    if early.any():
        position = int(np.flatnonzero(early)[0])
        raise InputError(
            f"incident {incident_ids[position]!r} is resolved before it was created "
            f"({pd.Timestamp(resolved[position], tz='UTC')} < "
            f"{pd.Timestamp(created[position], tz='UTC')}).",
            where=f"incidents, column 'resolved_at', {_row(incidents, position, 'incident_id')}",
            hint="Check the two timestamps (swapped columns? a timezone slip?).",
        )

    rolled_back = _booleans(deployments, "rolled_back")

    change_index, deploy_index, incident_index = change_ids, deploy_ids, incident_ids
    fixes = _references(
        deployments["fixes_incident_id"],
        incident_index,
        frame=deployments,
        fname="deployments",
        col="fixes_incident_id",
        id_col="deploy_id",
        target_name="incident",
    )
    cause = _references(
        incidents["caused_by_deploy_id"],
        deploy_index,
        frame=incidents,
        fname="incidents",
        col="caused_by_deploy_id",
        id_col="incident_id",
        target_name="deployment",
    )

    ship_deploy, ship_change = _explode_change_ids(deployments, change_index)
    return Prepared(
        change_ids=change_ids.to_numpy(),
        committed=committed,
        deploy_ids=deploy_ids.to_numpy(),
        deployed=deployed,
        rolled_back=rolled_back,
        fixes=fixes,
        ship_deploy=ship_deploy,
        ship_change=ship_change,
        incident_ids=incident_ids.to_numpy(),
        created=created,
        resolved=resolved,
        cause=cause,
    )


def _explode_change_ids(
    deployments: pd.DataFrame, change_index: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    """Explode ``change_ids`` once into (deployment position, change position) pairs."""
    cells = deployments["change_ids"].to_numpy(dtype=object)
    # One cheap pass to find cells that are not lists (a common slip: "c1,c2" as one string).
    kinds = np.fromiter(map(type, cells), dtype=object, count=len(cells))
    is_list = pd.Series(kinds, dtype=object).isin([list, tuple]).to_numpy().copy()
    if not is_list.all():  # rare: subclasses, Series; check those one by one
        odd = np.flatnonzero(~is_list)
        is_list[odd] = [isinstance(cells[i], list | tuple | np.ndarray | pd.Series) for i in odd]
    is_none = pd.isna(deployments["change_ids"]).to_numpy() & ~is_list
    bad = np.flatnonzero(~is_list & ~is_none)
    if bad.size:
        position = int(bad[0])
        raise InputError(
            f"change_ids must be a list of change ids, not {type(cells[position]).__name__} "
            f"{cells[position]!r}.",
            where=f"deployments, column 'change_ids', {_row(deployments, position, 'deploy_id')}",
            hint="Give each deployment a list, e.g. ['c1', 'c2'] (or [] when it ships none).",
        )
    if is_none.any():
        cells = cells.copy()
        for position in np.flatnonzero(is_none):
            cells[position] = []
    lengths = np.fromiter(map(len, cells), dtype=np.int64, count=len(cells))
    total = int(lengths.sum())
    flat = np.fromiter(itertools.chain.from_iterable(cells), dtype=object, count=total)
    ship_deploy = np.repeat(np.arange(len(cells), dtype=np.int64), lengths)
    ship_change = change_index.get_indexer(flat).astype(np.int64, copy=False)
    unknown = np.flatnonzero(ship_change < 0)
    if unknown.size:
        position = int(ship_deploy[unknown[0]])
        raise InputError(
            f"change_ids names {flat[unknown[0]]!r}, which is not a known change "
            f"(not in changes['change_id']).",
            where=f"deployments, column 'change_ids', {_row(deployments, position, 'deploy_id')}",
            hint="Every id in change_ids must appear in the changes frame; "
            "add the missing change or drop the id.",
        )
    return ship_deploy, ship_change
