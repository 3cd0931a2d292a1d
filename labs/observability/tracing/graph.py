"""The service graph, computed from segment documents as X-Ray computes its trace map.

The local emulator's ``GetServiceGraph`` always answers an empty list (FACTS.md), so ``labs``
builds the graph from the traces themselves, the way X-Ray describes it: every service that
sends segments is a node; the client that sent the first request is a node; every call a
service records as a ``remote`` (or ``aws``) subsegment is a request on the edge from the
caller to the service that answered it — the service whose segment names that subsegment as
its ``parent_id``, or, for a downstream that sends no segments, a node named after the
subsegment. Edge statistics follow X-Ray's ``EdgeStatistics``: ``OkCount`` (2xx), errors (4xx,
``ErrorStatistics``, including throttles, 429), faults (5xx, ``FaultStatistics``) and response
times — measured, as X-Ray does, **from the caller's side**: the duration of the caller's
subsegment, which includes the network; for the client edge, the entry segment's duration.

Percentiles are linear interpolation between the closest ranks (``numpy.percentile``'s
default, and pandas' ``quantile``).

EdgeStatistics: https://docs.aws.amazon.com/xray/latest/api/API_EdgeStatistics.html
Trace map: https://docs.aws.amazon.com/xray/latest/devguide/xray-console-servicemap.html
"""

from __future__ import annotations

from collections import deque
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, FancyArrowPatch, Patch, Wedge

from labs.errors import InputError
from labs.observability.tracing.documents import _is_root, segments

__all__ = [
    "CLIENT",
    "EDGE_COLUMNS",
    "calls_frame",
    "classify",
    "draw_service_map",
    "edges_from_segments",
    "service_graph",
    "service_nodes",
]

CLIENT = "client"
"""Name of the node that stands for whoever sent the requests that start traces."""

EDGE_COLUMNS = [
    "caller",
    "callee",
    "requests",
    "ok",
    "errors",
    "faults",
    "throttles",
    "error_rate",
    "fault_rate",
    "p50_ms",
    "p99_ms",
    "mean_ms",
]
"""Columns of :func:`edges_from_segments` and :func:`service_graph`."""

_CALL_COLUMNS = [
    "trace_id",
    "caller",
    "callee",
    "call_id",
    "start",
    "end",
    "latency_ms",
    "method",
    "url",
    "status",
    "in_progress",
    "error",
    "fault",
    "throttle",
    "ok",
]
_REQUIRED = {"trace_id", "id", "parent_id", "kind", "name", "service", "namespace", "status"}


def _check_frame(frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or not set(frame.columns) >= _REQUIRED:
        missing = sorted(_REQUIRED - set(getattr(frame, "columns", [])))
        raise InputError(
            f"Expected a segments frame; missing columns {missing}.",
            hint="Build one with tracing.segments(ctx, start, end) or tracing.segments_frame().",
        )
    return frame


def classify(status: pd.Series, error: pd.Series, fault: pd.Series, throttle: pd.Series) -> dict:
    """Classify requests as X-Ray does: fault (5xx), throttle (429), error (4xx), ok (the rest).

    The flags a segment or subsegment carries count as well as its HTTP status. A fault is not
    also an error; a throttle is also an error (X-Ray counts 429 under ``ErrorStatistics``).

    Returns:
        Boolean Series ``ok``, ``error``, ``fault`` and ``throttle``.
    """
    code = pd.to_numeric(status, errors="coerce")
    is_fault = (fault.astype(bool) | (code >= 500).fillna(False)).astype(bool)
    is_throttle = (throttle.astype(bool) | (code == 429).fillna(False)).astype(bool) & ~is_fault
    is_error = (
        (error.astype(bool) | ((code >= 400) & (code < 500)).fillna(False)).astype(bool)
        | is_throttle
    ) & ~is_fault
    return {
        "ok": ~(is_fault | is_error),
        "error": is_error,
        "fault": is_fault,
        "throttle": is_throttle,
    }


def calls_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per request on an edge: the client's requests and every downstream call.

    Columns: ``trace_id``, ``caller``, ``callee``, ``call_id`` (the caller's subsegment, or the
    entry segment for the client), ``start``, ``end``, ``latency_ms`` (caller's view),
    ``method``, ``url``, ``status``, ``in_progress`` and the classification ``ok``, ``error``,
    ``fault``, ``throttle`` (:func:`classify`).
    """
    frame = _check_frame(frame)
    if frame.empty:
        return pd.DataFrame(columns=_CALL_COLUMNS)
    segs = frame[frame["kind"] == "segment"]
    remote = frame[(frame["kind"] == "subsegment") & frame["namespace"].isin(["remote", "aws"])]
    answered = segs[["trace_id", "parent_id", "name"]].rename(
        columns={"parent_id": "id", "name": "callee"}
    )
    answered = answered.dropna(subset=["id"]).drop_duplicates(["trace_id", "id"])
    downstream = remote.merge(answered, on=["trace_id", "id"], how="left")
    downstream["callee"] = downstream["callee"].fillna(downstream["name"])
    downstream["caller"] = downstream["service"]
    roots = segs[_is_root(frame).loc[segs.index]].copy()
    roots["caller"] = CLIENT
    roots["callee"] = roots["name"]
    columns = [
        "trace_id",
        "caller",
        "callee",
        "id",
        "start",
        "end",
        "duration_ms",
        "method",
        "url",
        "status",
        "in_progress",
        "error",
        "fault",
        "throttle",
    ]
    calls = pd.concat([roots[columns], downstream[columns]], ignore_index=True)
    calls = calls.rename(columns={"id": "call_id", "duration_ms": "latency_ms"})
    flags = classify(calls["status"], calls["error"], calls["fault"], calls["throttle"])
    for name, values in flags.items():
        calls[name] = values.to_numpy()
    return calls.sort_values(["start", "trace_id"], kind="stable").reset_index(drop=True)


def _stats(rows: pd.DataFrame, keys: list[str], latency: str) -> pd.DataFrame:
    grouped = rows.groupby(keys, sort=False)
    table = grouped.agg(
        requests=("trace_id", "size"),
        ok=("ok", "sum"),
        errors=("error", "sum"),
        faults=("fault", "sum"),
        throttles=("throttle", "sum"),
        mean_ms=(latency, "mean"),
    )
    table["p50_ms"] = grouped[latency].quantile(0.50)
    table["p99_ms"] = grouped[latency].quantile(0.99)
    table["error_rate"] = table["errors"] / table["requests"]
    table["fault_rate"] = table["faults"] / table["requests"]
    for column in ("p50_ms", "p99_ms", "mean_ms"):
        table[column] = table[column].astype(float).round(3)
    for column in ("error_rate", "fault_rate"):
        table[column] = table[column].round(4)
    return table.reset_index()


def _depths(edges: pd.DataFrame) -> dict[str, int]:
    """Breadth-first depth of every node from the client (unreached nodes after the rest)."""
    children: dict[str, list[str]] = {}
    for caller, callee in zip(edges["caller"], edges["callee"], strict=True):
        children.setdefault(caller, []).append(callee)
    depth = {CLIENT: 0}
    queue = deque([CLIENT])
    while queue:
        node = queue.popleft()
        for child in sorted(children.get(node, [])):
            if child not in depth:
                depth[child] = depth[node] + 1
                queue.append(child)
    deepest = max(depth.values(), default=0)
    for node in sorted(set(edges["caller"]) | set(edges["callee"])):
        depth.setdefault(node, deepest + 1)
    return depth


def edges_from_segments(frame: pd.DataFrame) -> pd.DataFrame:
    """Return the service graph's edges computed from a segments frame.

    One row per (caller, callee), client edges first, then by depth from the client:
    ``requests``, ``ok`` (2xx), ``errors`` (4xx, throttles included), ``faults`` (5xx),
    ``throttles`` (429), ``error_rate`` and ``fault_rate`` (fractions of ``requests``), and the
    caller-side latency ``p50_ms``, ``p99_ms`` and ``mean_ms``.
    """
    calls = calls_frame(frame)
    if calls.empty:
        return pd.DataFrame({column: [] for column in EDGE_COLUMNS})
    edges = _stats(calls, ["caller", "callee"], "latency_ms")
    depth = _depths(edges)
    edges["_d"] = edges["caller"].map(depth)
    edges = edges.sort_values(["_d", "caller", "callee"], kind="stable").drop(columns="_d")
    return edges[EDGE_COLUMNS].reset_index(drop=True)


def service_nodes(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per service (segments it sent): the same statistics as an edge.

    Latency is the service's own segment duration (what it took to answer, calls included).
    """
    frame = _check_frame(frame)
    segs = frame[frame["kind"] == "segment"].copy()
    if segs.empty:
        return pd.DataFrame(columns=["service", *EDGE_COLUMNS[2:]])
    for name, values in classify(
        segs["status"], segs["error"], segs["fault"], segs["throttle"]
    ).items():
        segs[name] = values.to_numpy()
    nodes = _stats(segs, ["name"], "duration_ms").rename(columns={"name": "service"})
    return nodes[["service", *EDGE_COLUMNS[2:]]].sort_values("service").reset_index(drop=True)


def service_graph(
    ctx: Any, start: Any, end: Any, *, filter_expression: str | None = None
) -> pd.DataFrame:
    """Return the edges of the service graph of the traces that started in ``[start, end]``.

    What X-Ray's ``GetServiceGraph`` summarises (the emulator's returns nothing): the window's
    traces are read with ``GetTraceSummaries`` and ``BatchGetTraces`` and the edges computed
    with :func:`edges_from_segments`. With ``filter_expression``, only the traces it matches
    count, as when a filter is applied to the trace map in the X-Ray console (see
    :mod:`.filters` for the subset of the language supported).

    Args:
        ctx: The workshop context.
        start: Start of the window (epoch seconds, ISO string or Timestamp).
        end: End of the window.
        filter_expression: An X-Ray filter expression, or None for every trace.

    Returns:
        The edges (:data:`EDGE_COLUMNS`).
    """
    frame = segments(ctx, start, end)
    if filter_expression is not None:
        from labs.observability.tracing.filters import filter_segments

        frame = filter_segments(frame, filter_expression)
    return edges_from_segments(frame)


_OK, _ERROR, _FAULT, _THROTTLE = "#1a9850", "#fdae61", "#d73027", "#7b3294"


def draw_service_map(
    edges: pd.DataFrame,
    *,
    slow_ms: float = 500.0,
    ax: Any = None,
    title: str = "Service map",
) -> Figure:
    """Draw the service graph: nodes with X-Ray's health ring, edges labelled with their stats.

    Each node's ring shows how the requests it received ended — green ok, orange errors (4xx),
    red faults (5xx), purple throttled — as the X-Ray trace map does. Each edge is an arrow
    from caller to callee, as thick as its share of requests, red when its p99 is above
    ``slow_ms``, labelled with requests, error and fault rates and p50/p99 latency.

    Args:
        edges: Edges from :func:`service_graph` or :func:`edges_from_segments`.
        slow_ms: The p99 (ms) above which an edge is drawn red.
        ax: Axes to draw on; a new figure when omitted.
        title: The figure title.

    Returns:
        The figure.
    """
    missing = {
        "caller",
        "callee",
        "requests",
        "p50_ms",
        "p99_ms",
        "error_rate",
        "fault_rate",
    } - set(getattr(edges, "columns", []))
    if missing:
        raise InputError(
            f"Expected the edges of a service graph; missing columns {sorted(missing)}.",
            hint="Pass what tracing.service_graph(ctx, start, end) returns.",
        )
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 4.8))
    else:
        fig = ax.figure
    depth = _depths(edges)
    levels: dict[int, list[str]] = {}
    for node in sorted(depth, key=lambda n: (depth[n], n)):
        levels.setdefault(depth[node], []).append(node)
    position = {}
    for level, names in levels.items():
        for i, name in enumerate(names):
            position[name] = (level * 4.0, (len(names) - 1) / 2.0 * 2.6 - i * 2.6)
    radius = 0.55
    inbound = edges.groupby("callee")[["requests", "ok", "errors", "faults", "throttles"]].sum()
    top = max(float(edges["requests"].max()), 1.0)
    for row in edges.itertuples(index=False):
        (x1, y1), (x2, y2) = position[row.caller], position[row.callee]
        slow = row.p99_ms > slow_ms
        color = _FAULT if slow else "#555555"
        arrow = FancyArrowPatch(
            (x1, y1),
            (x2, y2),
            arrowstyle="-|>",
            mutation_scale=14,
            shrinkA=30,
            shrinkB=30,
            linewidth=1.0 + 4.0 * row.requests / top,
            color=color,
            zorder=1,
        )
        ax.add_patch(arrow)
        label = (
            f"{row.requests} req · {row.error_rate:.0%} errors · {row.fault_rate:.0%} faults\n"
            f"p50 {row.p50_ms:,.0f} ms · p99 {row.p99_ms:,.0f} ms"
        )
        # the label sits beside the arrow, on the outer side of the fan of edges
        dx, dy = x2 - x1, y2 - y1
        length = max(float(np.hypot(dx, dy)), 1e-9)
        nx, ny = -dy / length, dx / length
        if (dy < 0 and ny > 0) or (dy >= 0 and ny < 0):
            nx, ny = -nx, -ny
        ax.text(
            (x1 + x2) / 2 + 0.45 * nx,
            (y1 + y2) / 2 + 0.45 * ny,
            label,
            ha="center",
            va="top" if dy < 0 else "bottom",
            fontsize=8,
            color=color,
            fontweight="bold" if slow else "normal",
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.85},
            zorder=3,
        )
    for name, (x, y) in position.items():
        if name in inbound.index and inbound.loc[name, "requests"] > 0:
            counts = inbound.loc[name]
            parts = [
                (counts["ok"], _OK),
                (counts["errors"] - counts["throttles"], _ERROR),
                (counts["faults"], _FAULT),
                (counts["throttles"], _THROTTLE),
            ]
            angle = 90.0
            for count, color in parts:
                sweep = 360.0 * float(count) / float(counts["requests"])
                if sweep > 0:
                    ax.add_patch(
                        Wedge(
                            (x, y), radius, angle, angle + sweep, width=0.14, color=color, zorder=2
                        )
                    )
                angle += sweep
            ax.add_patch(Circle((x, y), radius - 0.14, color="white", zorder=2))
        else:
            ax.add_patch(Circle((x, y), radius, color="#dddddd", zorder=2))
        ax.text(x, y, name, ha="center", va="center", fontsize=9, zorder=4)
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(min(ys) - 1.4, max(ys) + 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title)
    ax.legend(
        handles=[
            Patch(color=_OK, label="ok (2xx)"),
            Patch(color=_ERROR, label="error (4xx)"),
            Patch(color=_FAULT, label="fault (5xx)"),
            Patch(color=_THROTTLE, label="throttled (429)"),
            Line2D([], [], color=_FAULT, linewidth=2.5, label=f"edge with p99 > {slow_ms:g} ms"),
        ],
        loc="lower center",
        bbox_to_anchor=(0.5, -0.12),
        ncol=5,
        fontsize=8,
        frameon=False,
    )
    return fig
