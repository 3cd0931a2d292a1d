"""CloudWatch Logs: filter patterns, log events on the simulated clock, metric filters.

The local emulator stores log groups, events and metric filters, but it matches only plain terms
(a JSON pattern matches every event), never runs a metric filter, and aggregates no Insights
query (FACTS.md). This package implements what CloudWatch Logs documents:

* :func:`matches` / :func:`compile_pattern` — the filter pattern syntax
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html);
* :func:`put_events`, :func:`read_events`, :func:`filter_log_events` — events written and read on
  the simulated clock, and ``FilterLogEvents`` with CloudWatch's matching;
* :class:`MetricFilter`, :func:`put_metric_filter`, :func:`apply_metric_filters` — metric filters
  stored in the emulator and turned into metrics as CloudWatch Logs would.

Insights-style queries are in :mod:`labs.observability.insights`.

Modules: :mod:`~labs.observability.logs.patterns` (the pattern language),
:mod:`~labs.observability.logs.events` (log groups and events),
:mod:`~labs.observability.logs.metric_filters` and :mod:`~labs.observability.logs.syntax` (the
caret errors every parser of :mod:`labs.observability` shares).
"""

from __future__ import annotations

from labs.observability.logs.events import (
    EVENT_COLUMNS,
    TIME_SHIFT_TAG,
    ensure_log_group,
    filter_log_events,
    put_events,
    read_events,
    time_shift,
)
from labs.observability.logs.metric_filters import (
    DATAPOINT_COLUMNS,
    MetricFilter,
    apply_metric_filters,
    metric_filter_datapoints,
    put_metric_filter,
)
from labs.observability.logs.patterns import (
    DOC_URL,
    FilterPattern,
    compile_pattern,
    matches,
    split_fields,
)

__all__ = [
    "DATAPOINT_COLUMNS",
    "DOC_URL",
    "EVENT_COLUMNS",
    "TIME_SHIFT_TAG",
    "FilterPattern",
    "MetricFilter",
    "apply_metric_filters",
    "compile_pattern",
    "ensure_log_group",
    "filter_log_events",
    "matches",
    "metric_filter_datapoints",
    "put_events",
    "put_metric_filter",
    "read_events",
    "split_fields",
    "time_shift",
]
