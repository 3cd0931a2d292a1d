"""CloudWatch metrics: statistics and percentiles, resolution and retention, and metric math.

The emulator stores datapoints and answers ``GetMetricData`` for SampleCount, Sum, Average,
Minimum and Maximum, but fails on a percentile (HTTP 500) and answers a metric math
``Expression`` with an empty series — or, for an expression that is just an id, a copy of that
series (FACTS.md; measured with moto 5.2.5). :func:`get_metric_data` sends each query where it
can be answered right: standard statistics to the emulator, percentiles to the ledger of raw
values ``labs`` published (:mod:`labs.observability.published`), and expressions to
:func:`evaluate_expression`, which implements a documented subset of metric math. On the aws
target CloudWatch answers everything.

What the functions here follow:

* statistics and percentiles — "CloudWatch statistics definitions"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html):
  ``pNN`` is a nearest-rank percentile of the raw values; a percentile cannot be computed from a
  statistic set unless its SampleCount is 1 or its Minimum equals its Maximum;
* resolution and retention — ``MetricDatum.StorageResolution`` and ``MetricStat.Period`` in the
  API reference: a standard-resolution metric (60) is stored per minute, a high-resolution one (1)
  per second; periods of 1, 5, 10, 20 and 30 s only exist for high-resolution metrics; data with
  periods under 60 s is kept 3 hours, 60 s for 15 days, 300 s for 63 days and 3600 s for 455 days,
  so a query starting more than 3 hours, 15 days or 63 days ago needs a period that is a multiple
  of 60, 300 or 3600 s (:func:`period_problem`, :data:`RETENTION`);
* metric math — "Metric math syntax and functions"
  (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html): ids
  start with a lowercase letter; ``+ - * / ^`` between series and numbers; ``ABS``, ``FILL(m,
  value)``, and ``SUM``/``AVG``/``MIN``/``MAX`` of a series (a number) or of ``[m1, m2]`` (a
  series). Two series combine at the timestamps both have; a division by zero gives no datapoint.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.observability import published
from labs.observability.logs.syntax import syntax_error

__all__ = [
    "METRIC_MATH_URL",
    "RETENTION",
    "STANDARD_STATISTICS",
    "evaluate_expression",
    "expression_query",
    "get_metric_data",
    "metric_query",
    "percentile",
    "period_problem",
    "statistics",
]

METRIC_MATH_URL = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html"
)
STANDARD_STATISTICS = ("SampleCount", "Sum", "Average", "Minimum", "Maximum")
"""Statistics the emulator computes; percentiles (``p99``) it does not."""
RETENTION = pd.DataFrame(
    [
        ("< 60 s (high resolution only)", "3 hours"),
        ("60 s (1 minute)", "15 days"),
        ("300 s (5 minutes)", "63 days"),
        ("3600 s (1 hour)", "455 days (15 months)"),
    ],
    columns=["period of the datapoints", "available for"],
)
"""How long CloudWatch keeps datapoints of each period (GetMetricStatistics API reference)."""

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_ID = re.compile(r"^[a-z][A-Za-z0-9_]*$")
_HIGH_RES_PERIODS = (1, 5, 10, 20, 30)
_LANGUAGE = "metric math expression"


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float:
    """Return the nearest-rank ``q``-th percentile: the smallest value with q% at or below it."""
    array = np.sort(np.asarray(values, dtype=float))
    array = array[~np.isnan(array)]
    if array.size == 0:
        return math.nan
    if not 0 <= q <= 100:
        raise InputError(f"A percentile is from 0 to 100, got {q!r}.", where="q")
    rank = max(1, math.ceil(q / 100.0 * array.size))
    return float(array[rank - 1])


def statistics(
    values: Sequence[float] | np.ndarray, percentiles: Sequence[float] = (50, 90, 99)
) -> dict[str, float]:
    """Return CloudWatch's statistics of raw values: SampleCount, Sum, Average, Min, Max, pNN."""
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    out = {
        "SampleCount": float(array.size),
        "Sum": float(array.sum()),
        "Average": float(array.mean()) if array.size else math.nan,
        "Minimum": float(array.min()) if array.size else math.nan,
        "Maximum": float(array.max()) if array.size else math.nan,
    }
    for q in percentiles:
        out[f"p{q:g}"] = percentile(array, q)
    return out


def period_problem(period: int, *, high_resolution: bool, start: Any, now: Any) -> str | None:
    """Return why CloudWatch would return no data for ``period``, or None when it is fine.

    Follows ``MetricStat.Period``: 1, 5, 10, 20, 30 s need a high-resolution metric, other
    periods are multiples of 60; a start more than 3 hours, 15 days or 63 days before ``now``
    needs a multiple of 60, 300 or 3600 s (older finer data has expired).
    """
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        return f"Period must be a positive whole number of seconds, got {period!r}."
    if period < 60:
        if period not in _HIGH_RES_PERIODS:
            return f"A period under 60 s must be 1, 5, 10, 20 or 30 s, got {period}."
        if not high_resolution:
            return (
                f"A {period} s period needs a high-resolution metric (StorageResolution=1); "
                "this one is stored per minute."
            )
    elif period % 60:
        return f"A period of 60 s or more must be a multiple of 60, got {period}."
    age = pd.Timestamp(now) - pd.Timestamp(start)
    for limit, multiple, words in (
        (pd.Timedelta(days=63), 3600, "63 days"),
        (pd.Timedelta(days=15), 300, "15 days"),
        (pd.Timedelta(hours=3), 60, "3 hours"),
    ):
        if age > limit and period % multiple:
            return (
                f"The start is more than {words} ago: CloudWatch only keeps datapoints of "
                f"{multiple} s (or multiples) that old; period {period} s returns nothing."
            )
    return None


# --------------------------------------------------------------------------------------------
# Queries
# --------------------------------------------------------------------------------------------


def _check_id(query_id: Any) -> str:
    if not isinstance(query_id, str) or not _ID.match(query_id):
        raise InputError(
            f"Query id {query_id!r} is not valid.",
            where="Id",
            hint="Ids start with a lowercase letter, then letters, digits and _, e.g. 'errors'.",
        )
    return query_id


def metric_query(
    query_id: str,
    namespace: str,
    metric_name: str,
    dimensions: Mapping[str, str] | None = None,
    *,
    stat: str = "Average",
    period: int = 60,
    label: str | None = None,
    return_data: bool = True,
) -> dict[str, Any]:
    """Build one ``MetricDataQuery`` with a ``MetricStat`` (the ``GetMetricData`` shape)."""
    query: dict[str, Any] = {
        "Id": _check_id(query_id),
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in (dimensions or {}).items()],
            },
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": return_data,
    }
    if label:
        query["Label"] = label
    return query


def expression_query(query_id: str, expression: str, *, label: str | None = None) -> dict[str, Any]:
    """Build one ``MetricDataQuery`` with a metric math ``Expression``."""
    query: dict[str, Any] = {
        "Id": _check_id(query_id),
        "Expression": expression,
        "ReturnData": True,
    }
    if label:
        query["Label"] = label
    return query


def _utc(value: Any, where: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a point in time.", where=where) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def get_metric_data(
    ctx: Any, queries: Sequence[Mapping[str, Any]], start: Any, end: Any
) -> pd.DataFrame:
    """Run ``GetMetricData`` queries the way CloudWatch answers them; return one column per query.

    Locally: standard statistics from the emulator, percentiles from the ledger of published
    values, expressions evaluated by :func:`evaluate_expression` (module docstring). On the aws
    target: CloudWatch itself.

    Args:
        ctx: The workshop context.
        queries: ``MetricDataQuery`` dicts (see :func:`metric_query`, :func:`expression_query`).
        start: Start of the range (inclusive), simulated time locally.
        end: End of the range (exclusive).

    Returns:
        A frame indexed by period start (UTC), one column per query with ``ReturnData`` true,
        named by its ``Label`` or ``Id``; NaN where a period has no datapoint. ``attrs["sources"]``
        says who answered each id: ``"emulator"``, ``"ledger"``, ``"metric math"`` or
        ``"CloudWatch"``.
    """
    if not queries:
        raise InputError("Give at least one query.", where="queries")
    begin, finish = _utc(start, "start"), _utc(end, "end")
    if finish <= begin:
        raise InputError("end must be after start.", where="end")
    ids = [_check_id(q.get("Id")) for q in queries]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise InputError(f"Query id {duplicated[0]!r} is used twice.", where="Id")
    for q in queries:
        if ("MetricStat" in q) == ("Expression" in q):
            raise InputError(
                f"Query {q.get('Id')!r} needs exactly one of MetricStat and Expression.",
                where=f"{q.get('Id')}",
            )
    if ctx is not None and not ctx.is_local:
        series, sources = _from_cloudwatch(ctx, queries, begin, finish)
    else:
        series, sources = _locally(ctx, queries, begin, finish)
    columns = {}
    for q in queries:
        if q.get("ReturnData", True):
            columns[q.get("Label") or q["Id"]] = series[q["Id"]]
    frame = pd.DataFrame(columns)
    frame.index.name = "timestamp"
    frame = frame.sort_index()
    frame.attrs["sources"] = sources
    return frame


def _grid(begin: pd.Timestamp, finish: pd.Timestamp, period: int) -> pd.DatetimeIndex:
    step = pd.Timedelta(seconds=period)
    first = begin.floor(step)
    last = finish - pd.Timedelta(microseconds=1)
    return pd.date_range(first, last, freq=step, name="timestamp")


def _locally(
    ctx: Any, queries: Sequence[Mapping[str, Any]], begin: pd.Timestamp, finish: pd.Timestamp
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    series: dict[str, pd.Series] = {}
    sources: dict[str, str] = {}
    emulator_queries = []
    store = published.ledger(ctx) if ctx is not None else published.MetricStore()
    for q in queries:
        if "MetricStat" not in q:
            continue
        stat = q["MetricStat"]
        name = stat.get("Stat")
        period = int(stat.get("Period", 60))
        if name in STANDARD_STATISTICS and ctx is not None:
            emulator_queries.append(q)
            continue
        if name not in STANDARD_STATISTICS and not _PERCENTILE.match(str(name)):
            raise InputError(
                f"Query {q['Id']!r}: statistic {name!r} is not supported here.",
                where=f"{q['Id']}.MetricStat.Stat",
                hint="Use SampleCount, Sum, Average, Minimum, Maximum or a percentile such as p99.",
            )
        metric = stat["Metric"]
        grid = _grid(begin, finish, period)
        values = store.series(
            metric["Namespace"],
            metric["MetricName"],
            metric.get("Dimensions") or [],
            grid,
            period,
            name,
        )
        series[q["Id"]] = values.dropna()
        sources[q["Id"]] = "ledger"
    if emulator_queries:
        cloudwatch = published.client(ctx, "cloudwatch")
        for start_at in range(0, len(emulator_queries), 500):
            chunk = emulator_queries[start_at : start_at + 500]
            sent = [
                {"Id": q["Id"], "MetricStat": q["MetricStat"], "ReturnData": True} for q in chunk
            ]
            token = None
            collected: dict[str, list[tuple[Any, float]]] = {q["Id"]: [] for q in chunk}
            while True:
                kwargs: dict[str, Any] = {
                    "MetricDataQueries": sent,
                    "StartTime": begin.to_pydatetime(),
                    "EndTime": finish.to_pydatetime(),
                }
                if token:
                    kwargs["NextToken"] = token
                answer = cloudwatch.get_metric_data(**kwargs)
                for result in answer["MetricDataResults"]:
                    collected[result["Id"]].extend(
                        zip(result["Timestamps"], result["Values"], strict=True)
                    )
                token = answer.get("NextToken")
                if not token:
                    break
            for query_id, pairs in collected.items():
                index = pd.DatetimeIndex(
                    [pd.Timestamp(t).tz_convert("UTC") for t, _ in pairs], name="timestamp"
                )
                series[query_id] = pd.Series(
                    [v for _, v in pairs], index=index, dtype=float
                ).sort_index()
                sources[query_id] = "emulator"
    periods = [int(q["MetricStat"].get("Period", 60)) for q in queries if "MetricStat" in q]
    grid = _grid(begin, finish, min(periods)) if periods else None
    for q in queries:
        if "Expression" in q:
            series[q["Id"]] = evaluate_expression(q["Expression"], series, grid)
            sources[q["Id"]] = "metric math"
    return series, sources


def _from_cloudwatch(
    ctx: Any, queries: Sequence[Mapping[str, Any]], begin: pd.Timestamp, finish: pd.Timestamp
) -> tuple[dict[str, pd.Series], dict[str, str]]:
    cloudwatch = published.client(ctx, "cloudwatch")
    collected: dict[str, list[tuple[Any, float]]] = {q["Id"]: [] for q in queries}
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "MetricDataQueries": list(queries),
            "StartTime": begin.to_pydatetime(),
            "EndTime": finish.to_pydatetime(),
        }
        if token:
            kwargs["NextToken"] = token
        answer = cloudwatch.get_metric_data(**kwargs)
        for result in answer["MetricDataResults"]:
            collected[result["Id"]].extend(zip(result["Timestamps"], result["Values"], strict=True))
        token = answer.get("NextToken")
        if not token:
            break
    series = {}
    for query_id, pairs in collected.items():
        index = pd.DatetimeIndex([pd.Timestamp(t).tz_convert("UTC") for t, _ in pairs])
        series[query_id] = pd.Series([v for _, v in pairs], index=index, dtype=float).sort_index()
    return series, dict.fromkeys(collected, "CloudWatch")


# --------------------------------------------------------------------------------------------
# Metric math
# --------------------------------------------------------------------------------------------

_MATH_TOKEN = re.compile(
    r"(?P<ws>\s+)|(?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>[-+*/^(),\[\]])"
)
_FUNCTIONS = ("ABS", "FILL", "SUM", "AVG", "MIN", "MAX")


@dataclass(frozen=True)
class _MathTok:
    kind: str
    value: str
    pos: int


Value = pd.Series | float


class _MathParser:
    def __init__(
        self, text: str, series: Mapping[str, pd.Series], grid: pd.DatetimeIndex | None
    ) -> None:
        self.text = text
        self.series = series
        union = grid
        for s in series.values():
            union = s.index if union is None else union.union(s.index)
        self.grid = union if union is not None else pd.DatetimeIndex([])
        self.tokens: list[_MathTok] = []
        pos = 0
        while pos < len(text):
            found = _MATH_TOKEN.match(text, pos)
            if found is None:
                raise self.error(pos, f"Unexpected character {text[pos]!r}.")
            if found.lastgroup != "ws":
                self.tokens.append(_MathTok(found.lastgroup or "", found.group(), pos))
            pos = found.end()
        self.i = 0

    def error(self, pos: int, what: str, hint: str | None = None, width: int = 1) -> InputError:
        return syntax_error(_LANGUAGE, self.text, pos, what, hint=hint, width=width)

    def peek(self) -> _MathTok | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.value == value:
            self.i += 1
            return True
        return False

    def expect(self, value: str) -> None:
        if not self.take(value):
            tok = self.peek()
            raise self.error(tok.pos if tok else len(self.text), f"Expected {value!r}.")

    def parse(self) -> Value:
        if not self.tokens:
            raise self.error(0, "The expression is empty.", hint="e.g. 100 * errors / requests")
        value = self.additive()
        tok = self.peek()
        if tok is not None:
            raise self.error(tok.pos, f"Unexpected {tok.value!r}.", width=len(tok.value))
        return value

    def additive(self) -> Value:
        left = self.term()
        while (tok := self.peek()) is not None and tok.value in "+-":
            self.i += 1
            right = self.term()
            left = _combine(left, right, tok.value)
        return left

    def term(self) -> Value:
        left = self.power()
        while (tok := self.peek()) is not None and tok.value in "*/":
            self.i += 1
            right = self.power()
            left = _combine(left, right, tok.value)
        return left

    def power(self) -> Value:
        base = self.unary()
        if self.take("^"):
            return _combine(base, self.power(), "^")
        return base

    def unary(self) -> Value:
        if self.take("-"):
            return _combine(0.0, self.unary(), "-")
        if self.take("+"):
            return self.unary()
        return self.atom()

    def atom(self) -> Value:
        tok = self.peek()
        if tok is None:
            raise self.error(len(self.text), "The expression ends too early.")
        self.i += 1
        if tok.value == "(":
            value = self.additive()
            self.expect(")")
            return value
        if tok.kind == "number":
            return float(tok.value)
        if tok.kind == "name":
            if self.peek() is not None and self.peek().value == "(":  # type: ignore[union-attr]
                return self.function(tok)
            if tok.value not in self.series:
                known = ", ".join(sorted(self.series)) or "none"
                raise self.error(
                    tok.pos,
                    f"{tok.value!r} is not the id of a query in this request.",
                    hint=f"Ids available: {known}. Ids start with a lowercase letter.",
                    width=len(tok.value),
                )
            return self.series[tok.value]
        raise self.error(tok.pos, f"Unexpected {tok.value!r}.")

    def function(self, tok: _MathTok) -> Value:
        name = tok.value.upper()
        if name not in _FUNCTIONS:
            raise self.error(
                tok.pos,
                f"The function {tok.value!r} is not in the subset labs evaluates.",
                hint=f"labs evaluates {', '.join(_FUNCTIONS)}; CloudWatch has many more: "
                f"{METRIC_MATH_URL}",
                width=len(tok.value),
            )
        self.expect("(")
        if name in ("SUM", "AVG", "MIN", "MAX") and self.take("["):
            items = [self.additive()]
            while self.take(","):
                items.append(self.additive())
            self.expect("]")
            self.expect(")")
            frame = pd.concat([_as_series(v, items) for v in items], axis=1)
            reducer = {"SUM": "sum", "AVG": "mean", "MIN": "min", "MAX": "max"}[name]
            return getattr(frame, reducer)(axis=1, skipna=True)
        argument = self.additive()
        if name == "FILL":
            self.expect(",")
            fill = self.additive()
            self.expect(")")
            if not isinstance(argument, pd.Series) or isinstance(fill, pd.Series):
                raise self.error(tok.pos, "FILL takes a series and a number: FILL(m1, 0).")
            return argument.reindex(self.grid.union(argument.index)).fillna(fill)
        self.expect(")")
        if name == "ABS":
            return argument.abs() if isinstance(argument, pd.Series) else abs(argument)
        if not isinstance(argument, pd.Series):
            raise self.error(
                tok.pos, f"{name}() of a single value needs a series or a list [m1, m2]."
            )
        reducer = {"SUM": "sum", "AVG": "mean", "MIN": "min", "MAX": "max"}[name]
        return float(getattr(argument, reducer)())


def _as_series(value: Value, siblings: Sequence[Value]) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    index = next((s.index for s in siblings if isinstance(s, pd.Series)), pd.DatetimeIndex([]))
    return pd.Series(value, index=index, dtype=float)


def _combine(left: Value, right: Value, op: str) -> Value:
    if isinstance(left, pd.Series) and isinstance(right, pd.Series):
        left, right = left.align(right, join="inner")
    with np.errstate(divide="ignore", invalid="ignore"):
        if op == "+":
            result = left + right
        elif op == "-":
            result = left - right
        elif op == "*":
            result = left * right
        elif op == "/":
            if isinstance(right, pd.Series) or isinstance(left, pd.Series):
                result = left / right
            else:
                result = left / right if right else math.nan
        else:
            result = left**right
    if isinstance(result, pd.Series):
        result = result.astype(float)
        return result[np.isfinite(result.to_numpy())]
    return float(result)


def evaluate_expression(
    expression: str, series: Mapping[str, pd.Series], grid: pd.DatetimeIndex | None = None
) -> pd.Series:
    """Evaluate a metric math expression over time series (the subset in the module docstring).

    Args:
        expression: e.g. ``"100 * errors / requests"``.
        series: Query id -> series indexed by timestamp.
        grid: Every period of the query, for FILL (default: the timestamps of the inputs).

    Returns:
        The resulting series (a number is repeated at every timestamp of the inputs).

    Raises:
        InputError: The expression is not valid or outside the subset (offset and caret).
    """
    if not isinstance(expression, str):
        raise InputError(
            f"An expression is a string, got {type(expression).__name__}.", where="Expression"
        )
    parser = _MathParser(expression, series, grid)
    value = parser.parse()
    if isinstance(value, pd.Series):
        return value.sort_index()
    return pd.Series(value, index=parser.grid, dtype=float)
