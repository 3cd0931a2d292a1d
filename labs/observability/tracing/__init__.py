"""Distributed tracing with AWS X-Ray: the bookstore traced, the service graph, filter expressions.

What the local emulator leaves undone for X-Ray (FACTS.md; measured with moto 5.2.5) ``labs``
does from the segment documents, with X-Ray's documented semantics:

=================================== =========================================================
Module                              What it holds
=================================== =========================================================
:mod:`.sdk`                         the X-Ray SDK on a simulated clock with seeded ids
                                    (:class:`SimRecorder`, :class:`TraceClock`,
                                    :class:`SeededIds`) and the emitter that uploads segments
                                    with ``PutTraceSegments`` (:class:`XRayApiEmitter`)
:mod:`.instrument`                  the bookstore's services as traced HTTP servers on
                                    127.0.0.1 (:class:`TracedBookstore`,
                                    :class:`XRayMiddleware`, :class:`TracedClient`)
:mod:`.documents`                   reading traces back (``GetTraceSummaries``,
                                    ``BatchGetTraces``) into a segments frame
:mod:`.graph`                       the service graph: edges with requests, error and fault
                                    rates, p50/p99 latency; the service map figure
:mod:`.filters`                     X-Ray filter expressions (a documented subset), trace
                                    summaries
:mod:`.timeline`                    one trace's waterfall
=================================== =========================================================

Example:
    >>> from labs.observability import tracing
    >>> with tracing.TracedBookstore(ctx) as store:          # doctest: +SKIP
    ...     store.send_orders(100)
    >>> tracing.service_graph(ctx, *store.window)              # doctest: +SKIP
"""

from __future__ import annotations

from labs.observability.tracing.documents import (
    SEGMENT_COLUMNS,
    fetch_documents,
    in_window,
    segments,
    segments_frame,
    trace_ids,
)
from labs.observability.tracing.filters import (
    KEYWORDS,
    FilterExpression,
    FilterExpressionError,
    filter_segments,
    matching_traces,
    parse_filter,
    summarize_traces,
    trace_summaries,
)
from labs.observability.tracing.graph import (
    CLIENT,
    EDGE_COLUMNS,
    calls_frame,
    classify,
    draw_service_map,
    edges_from_segments,
    service_graph,
    service_nodes,
)
from labs.observability.tracing.instrument import (
    NETWORK_MS,
    WORK_MEDIAN_MS,
    Hook,
    RequestInfo,
    TracedBookstore,
    TracedClient,
    XRayMiddleware,
    parse_trace_header,
    running,
    stop_all,
)
from labs.observability.tracing.sdk import (
    MemoryEmitter,
    SeededIds,
    SimRecorder,
    TraceClock,
    XRayApiEmitter,
    to_epoch,
)
from labs.observability.tracing.timeline import timeline, waterfall

__all__ = [
    "CLIENT",
    "EDGE_COLUMNS",
    "KEYWORDS",
    "NETWORK_MS",
    "SEGMENT_COLUMNS",
    "WORK_MEDIAN_MS",
    "FilterExpression",
    "FilterExpressionError",
    "Hook",
    "MemoryEmitter",
    "RequestInfo",
    "SeededIds",
    "SimRecorder",
    "TraceClock",
    "TracedBookstore",
    "TracedClient",
    "XRayApiEmitter",
    "XRayMiddleware",
    "calls_frame",
    "classify",
    "draw_service_map",
    "edges_from_segments",
    "fetch_documents",
    "filter_segments",
    "in_window",
    "matching_traces",
    "parse_filter",
    "parse_trace_header",
    "running",
    "segments",
    "segments_frame",
    "service_graph",
    "service_nodes",
    "stop_all",
    "summarize_traces",
    "timeline",
    "to_epoch",
    "trace_ids",
    "trace_summaries",
    "waterfall",
]
