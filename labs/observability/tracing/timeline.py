"""One trace's timeline: a waterfall of its segments and subsegments, as the X-Ray console shows.

Rows are in call order — each segment followed by its subsegments, each remote call followed by
the segment of the service that answered it — and each bar runs from the entity's start to its
end, in milliseconds since the trace started.
Trace details: https://docs.aws.amazon.com/xray/latest/devguide/xray-console-traces.html
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from labs.errors import InputError
from labs.observability.tracing.documents import micros
from labs.observability.tracing.graph import classify

__all__ = ["timeline", "waterfall"]

_COLORS = {"orders": "#4575b4", "catalog": "#66bd63", "payments": "#f46d43"}
_OTHER = "#999999"


def timeline(frame: pd.DataFrame, trace_id: str) -> pd.DataFrame:
    """Return the rows of one trace in waterfall order, with offsets in ms and a depth.

    Columns: ``depth`` (0 for the entry segment), ``label`` (indented name), ``kind``,
    ``service``, ``name``, ``namespace``, ``start_ms`` and ``end_ms`` (since the trace
    started), ``duration_ms``, ``status``, ``fault``, ``error``, ``annotations``.

    Raises:
        InputError: ``trace_id`` is not in ``frame``.
    """
    rows = frame[frame["trace_id"] == trace_id]
    if rows.empty:
        sample = ", ".join(frame["trace_id"].drop_duplicates().head(3))
        raise InputError(
            f"There is no trace {trace_id!r} in this frame.",
            where="trace_id",
            hint=f"Pick one of the frame's trace ids, e.g. {sample}." if sample else None,
        )
    flags = classify(rows["status"], rows["error"], rows["fault"], rows["throttle"])
    rows = rows.assign(fault=flags["fault"], error=flags["error"])
    children: dict[Any, list[int]] = {}
    ids = set(rows["id"])
    roots = []
    for index, parent in zip(rows.index, rows["parent_id"], strict=True):
        if parent in ids:
            children.setdefault(parent, []).append(index)
        else:
            roots.append(index)
    order: list[tuple[int, int]] = []

    def visit(index: int, depth: int) -> None:
        order.append((index, depth))
        kids = sorted(children.get(rows.at[index, "id"], []), key=lambda i: rows.at[i, "start"])
        for kid in kids:
            visit(kid, depth + 1)

    for root in sorted(roots, key=lambda i: rows.at[i, "start"]):
        visit(root, 0)
    starts, ends = micros(rows["start"]), micros(rows["end"])
    t0 = starts.min()
    picked = rows.loc[[i for i, _ in order]].copy()
    picked["depth"] = [d for _, d in order]
    picked["start_ms"] = (starts.loc[picked.index] - t0) / 1000.0
    picked["end_ms"] = (ends.loc[picked.index] - t0) / 1000.0
    picked["label"] = [
        "  " * depth
        + (f"{name} ({version})" if kind == "segment" and isinstance(version, str) else name)
        if kind == "segment"
        else "  " * depth + f"↳ {name}"
        for depth, name, kind, version in zip(
            picked["depth"], picked["name"], picked["kind"], picked["version"], strict=True
        )
    ]
    columns = [
        "depth",
        "label",
        "kind",
        "service",
        "name",
        "namespace",
        "start_ms",
        "end_ms",
        "duration_ms",
        "status",
        "fault",
        "error",
        "annotations",
    ]
    return picked[columns].reset_index(drop=True)


def waterfall(
    frame: pd.DataFrame, trace_id: str, *, ax: Any = None, title: str | None = None
) -> Figure:
    """Draw one trace as a waterfall: a bar per segment and subsegment, in call order.

    Segments are solid, subsegments lighter; bars are coloured by the service that recorded
    them; faults (5xx) have a red edge and errors (4xx) an orange one. Each bar is labelled
    with its duration.

    Args:
        frame: A segments frame holding the trace.
        trace_id: The trace to draw.
        ax: Axes to draw on; a new figure when omitted.
        title: The title; one naming the trace's entry point and duration when omitted.

    Returns:
        The figure.
    """
    rows = timeline(frame, trace_id)
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.4))
    else:
        fig = ax.figure
    span = max(float(rows["end_ms"].max()), 1.0)
    for y, row in enumerate(rows.itertuples(index=False)):
        color = _COLORS.get(row.service, _OTHER)
        edge = "#d73027" if row.fault else "#fdae61" if row.error else color
        ax.barh(
            y,
            row.end_ms - row.start_ms,
            left=row.start_ms,
            height=0.6,
            color=color,
            alpha=1.0 if row.kind == "segment" else 0.45,
            edgecolor=edge,
            linewidth=2.0 if (row.fault or row.error) else 0.5,
        )
        status = "" if pd.isna(row.status) else f" · {int(row.status)}"
        ax.text(
            row.end_ms + span * 0.01,
            y,
            f"{row.duration_ms:,.1f} ms{status}",
            va="center",
            fontsize=8,
        )
    # left-aligned and indented with em spaces, so that one sees which entity is inside which
    labels = [
        "\u2003" * depth + label.strip()
        for depth, label in zip(rows["depth"], rows["label"], strict=True)
    ]
    ax.set_yticks(range(len(rows)), labels, fontsize=9)
    widest = max(len(label) for label in labels)
    ax.tick_params(axis="y", pad=5.6 * widest)
    for tick in ax.get_yticklabels():
        tick.set_horizontalalignment("left")
    ax.invert_yaxis()
    ax.set_xlim(0, span * 1.18)
    ax.set_xlabel("milliseconds since the trace started (simulated clock)")
    ax.set_ylabel("segment / ↳ subsegment")
    entry = rows.iloc[0]
    ax.set_title(
        title
        or f"Timeline of one trace: {entry['name']} answered in {entry['duration_ms']:,.0f} ms"
    )
    services = [s for s in _COLORS if s in set(rows["service"])]
    ax.legend(
        handles=[Patch(color=_COLORS[s], label=s) for s in services],
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        title="recorded by",
    )
    ax.grid(axis="x", alpha=0.3)
    return fig
