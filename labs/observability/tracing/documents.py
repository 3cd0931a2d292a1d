"""Segment documents: fetched from X-Ray and flattened into one row per segment and subsegment.

X-Ray's read side is two calls: ``GetTraceSummaries`` finds the traces of a time window and
``BatchGetTraces`` returns their segment documents (at most 5 trace ids a call). The local
emulator stores the documents faithfully but computes almost nothing from them (FACTS.md, and
measured with moto 5.2.5): its summaries have ``ResponseTime`` always 1, a ``Duration`` cut to
whole seconds, empty ``Http``/``Annotations``/``ServiceIds``; a ``FilterExpression`` answers
HTTP 500 "Not implemented yet"; ``GetServiceGraph`` and ``GetTraceGraph`` return no services;
and a document put twice is stored twice. So ``labs`` reads only the documents and computes the
rest itself, as X-Ray would: :func:`segments_frame` here, then the service graph
(:mod:`.graph`) and filter expressions (:mod:`.filters`).

Documents: https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
GetTraceSummaries: https://docs.aws.amazon.com/xray/latest/api/API_GetTraceSummaries.html
BatchGetTraces: https://docs.aws.amazon.com/xray/latest/api/API_BatchGetTraces.html
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.observability.tracing.sdk import to_epoch

__all__ = [
    "BATCH_GET_LIMIT",
    "SEGMENT_COLUMNS",
    "fetch_documents",
    "in_window",
    "segments",
    "segments_frame",
    "trace_ids",
]

BATCH_GET_LIMIT = 5
"""Most trace ids ``BatchGetTraces`` takes in one call (API reference: 1 to 5 items)."""

SEGMENT_COLUMNS = [
    "trace_id",
    "id",
    "parent_id",
    "kind",
    "name",
    "service",
    "segment_id",
    "namespace",
    "start",
    "end",
    "duration_ms",
    "method",
    "url",
    "user_agent",
    "client_ip",
    "status",
    "error",
    "fault",
    "throttle",
    "in_progress",
    "traced",
    "user",
    "version",
    "annotations",
]
"""Columns of a segments frame (see :func:`segments_frame`)."""

_WINDOW_MARGIN_S = 1.0  # the emulator compares trace times strictly and whole seconds only


def trace_ids(ctx: Any, start: Any, end: Any) -> list[str]:
    """Return the ids of the traces X-Ray has between ``start`` and ``end`` (GetTraceSummaries).

    The request asks for one second more on each side (the emulator compares whole seconds,
    strictly); :func:`segments` keeps the traces whose root segment starts in the window.
    """
    low, high = to_epoch(start, "start"), to_epoch(end, "end")
    if high < low:
        raise InputError("end is before start.", where="end", hint="Swap the two times.")
    xray = ctx.client("xray")
    ids: list[str] = []
    pages = xray.get_paginator("get_trace_summaries").paginate(
        StartTime=low - _WINDOW_MARGIN_S, EndTime=high + _WINDOW_MARGIN_S
    )
    for page in pages:
        ids.extend(summary["Id"] for summary in page.get("TraceSummaries", []))
    return list(dict.fromkeys(ids))


def fetch_documents(ctx: Any, ids: Iterable[str]) -> list[str]:
    """Return the segment documents (JSON strings) of the traces ``ids`` (BatchGetTraces)."""
    wanted = list(dict.fromkeys(ids))
    xray = ctx.client("xray")
    documents: list[str] = []
    for first in range(0, len(wanted), BATCH_GET_LIMIT):
        chunk = wanted[first : first + BATCH_GET_LIMIT]
        for page in xray.get_paginator("batch_get_traces").paginate(TraceIds=chunk):
            for trace in page.get("Traces", []):
                documents.extend(segment["Document"] for segment in trace.get("Segments", []))
    return documents


def segments(ctx: Any, start: Any, end: Any) -> pd.DataFrame:
    """Return every segment and subsegment of the traces that started in ``[start, end]``.

    Fetches the window's traces from X-Ray (``GetTraceSummaries`` then ``BatchGetTraces``),
    flattens them with :func:`segments_frame` and keeps the traces whose root segment started
    in the window.

    Args:
        ctx: The workshop context.
        start: Start of the window (epoch seconds, ISO string or Timestamp).
        end: End of the window.
    """
    frame = segments_frame(fetch_documents(ctx, trace_ids(ctx, start, end)))
    return in_window(frame, start, end)


def in_window(frame: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """Keep the traces of ``frame`` whose root segment started in ``[start, end]``."""
    low, high = to_epoch(start, "start"), to_epoch(end, "end")
    roots = frame[(frame["kind"] == "segment") & _is_root(frame)]
    first = roots.groupby("trace_id")["start"].min()
    keep = first[(first >= low) & (first <= high)].index
    return frame[frame["trace_id"].isin(keep)].reset_index(drop=True)


def micros(seconds: pd.Series) -> pd.Series:
    """Return epoch seconds as whole microseconds (float, NaN kept): exact differences."""
    return np.rint(seconds.astype(float) * 1_000_000)


def _is_root(frame: pd.DataFrame) -> pd.Series:
    """True for rows whose parent is not in their trace (the entry point of the trace)."""
    known = set(zip(frame["trace_id"], frame["id"], strict=True))
    parents = zip(frame["trace_id"], frame["parent_id"], strict=True)
    return pd.Series([(t, p) not in known for t, p in parents], index=frame.index, dtype=bool)


def segments_frame(documents: Iterable[str | dict[str, Any]]) -> pd.DataFrame:
    """Flatten segment documents into one row per segment and subsegment.

    Embedded subsegments (a segment's ``subsegments``, at any depth) and subsegments sent on
    their own (``"type": "subsegment"`` with ``trace_id`` and ``parent_id``) become rows alike.
    A document stored twice counts once (the last copy of each ``(trace_id, id)`` wins, and a
    complete document replaces an in-progress one).

    Columns (:data:`SEGMENT_COLUMNS`): ``trace_id``; ``id``; ``parent_id`` (the caller's
    subsegment for a segment, the enclosing entity for a subsegment; None for a trace's root);
    ``kind`` (``segment``/``subsegment``); ``name``; ``service`` and ``segment_id`` (the segment
    the row belongs to); ``namespace`` (``remote``, ``aws``, ``local`` or None); ``start`` and
    ``end`` (epoch seconds); ``duration_ms``; the HTTP request ``method``, ``url``,
    ``user_agent``, ``client_ip`` and response ``status``; the flags ``error`` (4xx), ``fault``
    (5xx), ``throttle`` (429) and ``in_progress``; ``traced`` (a call to an instrumented
    service); ``user``; ``version`` (the segment's ``service.version``); ``annotations`` (dict).

    Raises:
        InputError: A document is not JSON or lacks ``id``, ``trace_id`` (for a segment or a
            subsegment sent on its own), ``name`` or ``start_time``.
    """
    rows: list[dict[str, Any]] = []
    for number, raw in enumerate(documents):
        doc = _load(raw, number)
        top_kind = "subsegment" if doc.get("type") == "subsegment" else "segment"
        _flatten(doc, doc.get("trace_id"), doc.get("parent_id"), top_kind, None, rows, number)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=_DTYPES.get(c, object)) for c in SEGMENT_COLUMNS})
    frame = pd.DataFrame(rows)
    # a complete copy replaces an in-progress one; the last copy of a document wins
    frame = frame.sort_values("in_progress", ascending=False, kind="stable")
    frame = frame.drop_duplicates(["trace_id", "id"], keep="last").sort_index()
    frame = _resolve_owners(frame)
    # whole microseconds first, so that a duration does not depend on where the epoch is
    frame["duration_ms"] = (micros(frame["end"]) - micros(frame["start"])) / 1000.0
    order = frame.groupby("trace_id", sort=False)["start"].transform("min")
    frame = frame.assign(_t=order).sort_values(["_t", "trace_id", "start"], kind="stable")
    return frame.drop(columns="_t").reset_index(drop=True)[SEGMENT_COLUMNS]


_DTYPES = {"start": float, "end": float, "duration_ms": float}


def _load(raw: str | dict[str, Any], number: int) -> dict[str, Any]:
    where = f"segment document {number}"
    if isinstance(raw, dict):
        doc = raw
    else:
        try:
            doc = json.loads(raw)
        except (TypeError, json.JSONDecodeError) as exc:
            raise InputError(f"The document is not valid JSON: {exc}.", where=where) from None
    if not isinstance(doc, dict):
        raise InputError("A segment document is a JSON object.", where=where)
    for key in ("id", "name", "start_time"):
        if key not in doc:
            raise InputError(
                f"The document has no {key!r}.",
                where=where,
                hint="See the required fields in the X-Ray segment document reference.",
            )
    if "trace_id" not in doc:
        raise InputError("The document has no 'trace_id'.", where=where)
    return doc


def _flatten(
    entity: dict[str, Any],
    trace_id: str | None,
    parent_id: str | None,
    kind: str,
    owner: dict[str, Any] | None,
    rows: list[dict[str, Any]],
    number: int,
) -> None:
    """Append ``entity`` and its embedded subsegments to ``rows``."""
    for key in ("id", "name", "start_time"):
        if key not in entity:
            raise InputError(f"A subsegment has no {key!r}.", where=f"segment document {number}")
    request = (entity.get("http") or {}).get("request") or {}
    response = (entity.get("http") or {}).get("response") or {}
    status = response.get("status")
    end = entity.get("end_time")
    row = {
        "trace_id": trace_id,
        "id": entity["id"],
        "parent_id": parent_id,
        "kind": kind,
        "name": entity["name"],
        "service": owner["name"] if owner else (entity["name"] if kind == "segment" else None),
        "segment_id": owner["id"] if owner else (entity["id"] if kind == "segment" else None),
        "namespace": entity.get("namespace"),
        "start": float(entity["start_time"]),
        "end": float(end) if end is not None else np.nan,
        "method": request.get("method"),
        "url": request.get("url"),
        "user_agent": request.get("user_agent"),
        "client_ip": request.get("client_ip"),
        "status": int(status) if status is not None else None,
        "error": bool(entity.get("error", False)),
        "fault": bool(entity.get("fault", False)),
        "throttle": bool(entity.get("throttle", False)),
        "in_progress": bool(entity.get("in_progress", False)) or end is None,
        "traced": bool(request.get("traced", False)),
        "user": entity.get("user"),
        "version": (entity.get("service") or {}).get("version") if kind == "segment" else None,
        "annotations": dict(entity.get("annotations") or {}),
    }
    rows.append(row)
    segment = owner if owner is not None else (entity if kind == "segment" else None)
    for child in entity.get("subsegments") or []:
        _flatten(child, trace_id, entity["id"], "subsegment", segment, rows, number)


def _resolve_owners(frame: pd.DataFrame) -> pd.DataFrame:
    """Fill ``segment_id`` of subsegments sent on their own; then ``service`` and ``version``."""
    if frame["segment_id"].isna().any():
        owner: dict[tuple[str, str], str] = {}
        parent: dict[tuple[str, str], str] = {}
        for trace, ident, par, seg in zip(
            frame["trace_id"], frame["id"], frame["parent_id"], frame["segment_id"], strict=True
        ):
            if isinstance(seg, str):
                owner[(trace, ident)] = seg
            parent[(trace, ident)] = par
        resolved = []
        for trace, ident, seg in zip(
            frame["trace_id"], frame["id"], frame["segment_id"], strict=True
        ):
            key, hops = (trace, ident), 0
            while not isinstance(seg, str) and key in parent and hops < 64:
                key = (trace, parent[key])
                seg = owner.get(key)
                hops += 1
            resolved.append(seg if isinstance(seg, str) else None)
        frame["segment_id"] = resolved
    segs = frame[frame["kind"] == "segment"]
    keys = list(zip(segs["trace_id"], segs["id"], strict=True))
    names = dict(zip(keys, segs["name"], strict=True))
    versions = dict(zip(keys, segs["version"], strict=True))
    owners = list(zip(frame["trace_id"], frame["segment_id"], strict=True))
    frame["service"] = [names.get(key) for key in owners]
    frame["version"] = [versions.get(key) for key in owners]
    frame["status"] = frame["status"].astype("Int64")
    return frame
