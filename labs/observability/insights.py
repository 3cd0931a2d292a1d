"""An Insights-style query engine over log events in pandas: a documented subset of Logs Insights.

The emulator accepts ``start_query`` but ignores ``filter`` and ``stats``: it returns raw events
(FACTS.md). :func:`query` runs the same query text over the events of a log group (a frame from
:func:`labs.observability.logs.read_events`), so a notebook can show the real query beside the
answer CloudWatch Logs Insights would give. The language is described in "CloudWatch Logs Insights
language query syntax"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html); this module
parses the subset below and refuses the rest with an :class:`~labs.errors.InputError` that names
the offset:

* commands separated by ``|``: ``fields``, ``display``, ``filter``, ``stats``, ``sort``, ``limit``;
* fields: the discovered ``@timestamp``, ``@message``, ``@logStream``, ``@log``, and every member
  of a JSON event, nested ones with dots (``user.id``) and array elements with their index
  (``items.0``); names with other characters in backticks (`` `foo-bar` ``); ``as`` aliases;
* ``filter``: ``= != < <= > >=`` between a field and a number or a quoted string, ``like``
  with a ``"substring"`` or a ``/regex/`` (``=~`` for regexes), ``not like``, ``in [..]``,
  ``ispresent(field)``, combined with ``and``, ``or``, ``not`` and parentheses. A comparison with
  a field the event lacks is false;
* ``stats``: ``count(*)``, ``count(field)``, ``count_distinct``, ``sum``, ``avg``, ``min``, ``max``,
  ``stddev`` and ``pct(field, N)`` (nearest rank), with ``as`` aliases, ``by`` fields and
  ``bin(period)`` (``30s``, ``5m``, ``1h``, ``1d``: ``@timestamp`` floored to the period);
* ``sort field [asc|desc], …`` (ascending when the order is left out — the syntax page does not
  say) and ``limit N``.

Without ``stats`` and ``fields`` the result holds ``@timestamp`` and ``@message``, like the
console. Results keep event time order unless sorted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.observability.logs.syntax import syntax_error

__all__ = ["QUERY_SYNTAX_URL", "Query", "events_table", "parse", "query"]

QUERY_SYNTAX_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax.html"
_LANGUAGE = "Logs Insights query"
_COMMANDS = ("fields", "display", "filter", "stats", "sort", "limit")
_UNSUPPORTED = ("parse", "dedup", "unmask", "pattern", "diff", "anomaly", "unnest", "filterIndex",
                "source", "lookup")  # fmt: skip
_AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "stddev", "pct")
_PERIOD_UNITS = {"s": "s", "m": "min", "h": "h", "d": "D"}
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<backtick>`[^`]*`)
  | (?P<period>\d+(?:s|m|h|d)\b)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[@A-Za-z_][@A-Za-z0-9_.]*)
  | (?P<op>=~|!=|<=|>=|=|<|>|\(|\)|\[|\]|,|\||\*)
  | (?P<regex>/(?:[^/\\]|\\.)+/)
    """,
    re.VERBOSE,
)


def _error(
    text: str, offset: int, what: str, hint: str | None = None, width: int = 1
) -> InputError:
    return syntax_error(_LANGUAGE, text, offset, what, hint=hint, width=width)


@dataclass(frozen=True)
class _Tok:
    kind: str
    value: str
    pos: int

    @property
    def word(self) -> str:
        return self.value.lower() if self.kind == "name" else ""


def _tokenize(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    while pos < len(text):
        # A /regex/ only right after like or =~; elsewhere / is an unexpected character.
        found = _TOKEN.match(text, pos)
        if found is None:
            raise _error(text, pos, f"Unexpected character {text[pos]!r}.")
        kind = found.lastgroup or ""
        after_match = bool(tokens) and (tokens[-1].word == "like" or tokens[-1].value == "=~")
        if kind == "regex" and not after_match:
            raise _error(text, pos, f"Unexpected character {text[pos]!r}.")
        if kind != "ws":
            tokens.append(_Tok(kind, found.group(), pos))
        pos = found.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # -- helpers ---------------------------------------------------------------------------
    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def at_pipe_or_end(self) -> bool:
        tok = self.peek()
        return tok is None or tok.value == "|"

    def pos(self) -> int:
        tok = self.peek()
        return tok.pos if tok else len(self.text)

    def fail(self, what: str, hint: str | None = None, tok: _Tok | None = None) -> InputError:
        where = tok.pos if tok else self.pos()
        width = len(tok.value) if tok else 1
        return _error(self.text, where, what, hint, width)

    def next(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.fail("The query ends too early.")
        self.i += 1
        return tok

    def take(self, value: str) -> bool:
        tok = self.peek()
        if tok and (tok.value == value or tok.word == value):
            self.i += 1
            return True
        return False

    def expect(self, value: str, what: str) -> _Tok:
        tok = self.peek()
        if tok is None or not (tok.value == value or tok.word == value):
            raise self.fail(f"Expected {value!r} {what}.", tok=tok)
        self.i += 1
        return tok

    def field_name(self) -> str:
        tok = self.next()
        if tok.kind == "backtick":
            return tok.value[1:-1]
        if tok.kind == "name" and tok.word not in ("and", "or", "not", "by", "as", "asc", "desc"):
            return tok.value
        raise self.fail(
            f"Expected a field name, found {tok.value!r}.",
            hint="Fields are written as they appear (status, @timestamp, user.id) or in "
            "backticks when they hold other characters (`foo-bar`).",
            tok=tok,
        )

    def alias(self) -> str | None:
        if self.take("as"):
            return self.field_name()
        return None

    # -- the query ---------------------------------------------------------------------------
    def query(self) -> list[_Command]:
        commands: list[_Command] = []
        if not self.tokens:
            raise _error(
                self.text, 0, "The query is empty.", hint="e.g. fields @timestamp, @message"
            )
        while True:
            tok = self.next()
            name = tok.word
            if name not in _COMMANDS:
                if tok.kind == "name" and name in {c.lower() for c in _UNSUPPORTED}:
                    raise self.fail(
                        f"The command {tok.value!r} is not in the subset labs runs.",
                        hint=f"labs runs {', '.join(_COMMANDS)}; run the full query on AWS.",
                        tok=tok,
                    )
                raise self.fail(
                    f"Expected a command, found {tok.value!r}.",
                    hint=f"Commands: {', '.join(_COMMANDS)} (separated by |).",
                    tok=tok,
                )
            commands.append(getattr(self, "c_" + name)(tok))
            if self.peek() is None:
                return commands
            if not self.take("|"):
                raise self.fail(
                    f"Unexpected {self.peek().value!r}: commands are separated by |.",  # type: ignore[union-attr]
                    tok=self.peek(),
                )

    def c_fields(self, tok: _Tok) -> _Command:
        items = []
        while True:
            name = self.field_name()
            items.append((name, self.alias()))
            if not self.take(","):
                break
        return _Command("fields", tok.pos, fields=tuple(items))

    def c_display(self, tok: _Tok) -> _Command:
        command = self.c_fields(tok)
        return _Command("display", tok.pos, fields=command.fields)

    def c_limit(self, tok: _Tok) -> _Command:
        number = self.next()
        if number.kind != "number" or not number.value.isdigit() or int(number.value) < 1:
            raise self.fail("limit takes a whole number of rows, e.g. limit 25.", tok=number)
        return _Command("limit", tok.pos, limit=min(int(number.value), 10_000))

    def c_sort(self, tok: _Tok) -> _Command:
        keys = []
        while True:
            name = self.field_name()
            descending = False
            if self.take("desc"):
                descending = True
            else:
                self.take("asc")
            keys.append((name, descending))
            if not self.take(","):
                break
        return _Command("sort", tok.pos, sort=tuple(keys))

    def c_stats(self, tok: _Tok) -> _Command:
        aggregates = [self.aggregate()]
        while self.take(","):
            aggregates.append(self.aggregate())
        groups: list[tuple[str, str | None, str | None]] = []
        if self.take("by"):
            while True:
                groups.append(self.group())
                if not self.take(","):
                    break
        return _Command("stats", tok.pos, aggregates=tuple(aggregates), groups=tuple(groups))

    def group(self) -> tuple[str, str | None, str | None]:
        tok = self.peek()
        if tok is not None and tok.word == "bin":
            self.next()
            self.expect("(", "after bin")
            period = self.next()
            if period.kind != "period":
                raise self.fail("bin() takes a period such as 30s, 5m, 1h or 1d.", tok=period)
            self.expect(")", "to close bin(")
            label = f"bin({period.value})"
            return label, period.value, self.alias()
        name = self.field_name()
        return name, None, self.alias()

    def aggregate(self) -> _Aggregate:
        tok = self.next()
        if tok.word not in _AGGREGATES:
            raise self.fail(
                f"Unknown or unsupported statistic {tok.value!r}.",
                hint=f"labs runs {', '.join(_AGGREGATES)}.",
                tok=tok,
            )
        self.expect("(", f"after {tok.value}")
        function = tok.word
        argument: str | None
        if self.take("*"):
            if function != "count":
                raise self.fail(f"{function}(*) is not valid; name a field.", tok=tok)
            argument = None
        else:
            argument = self.field_name()
        percentile = None
        if function == "pct":
            self.expect(",", "between the field and the percentile in pct(field, N)")
            number = self.next()
            if number.kind != "number" or not 0 <= float(number.value) <= 100:
                raise self.fail("pct() takes a percentile from 0 to 100.", tok=number)
            percentile = float(number.value)
        close = self.expect(")", f"to close {function}(")
        label = self.text[tok.pos : close.pos + 1]
        label = re.sub(r"\s+", " ", label)
        return _Aggregate(function, argument, percentile, self.alias() or label)

    def c_filter(self, tok: _Tok) -> _Command:
        return _Command("filter", tok.pos, condition=self.or_expr())

    def or_expr(self) -> _Expr:
        left = self.and_expr()
        while self.take("or"):
            right = self.and_expr()
            left = _Expr("or", (left, right))
        return left

    def and_expr(self) -> _Expr:
        left = self.not_expr()
        while self.take("and"):
            right = self.not_expr()
            left = _Expr("and", (left, right))
        return left

    def not_expr(self) -> _Expr:
        if self.take("not"):
            return _Expr("not", (self.not_expr(),))
        return self.primary()

    def primary(self) -> _Expr:
        if self.take("("):
            inner = self.or_expr()
            self.expect(")", "to close the parenthesis")
            return inner
        tok = self.peek()
        if tok is not None and tok.word in ("ispresent", "isempty", "isblank"):
            self.next()
            self.expect("(", f"after {tok.value}")
            name = self.field_name()
            self.expect(")", f"to close {tok.value}(")
            return _Expr(tok.word, (), field=name)
        if self.at_pipe_or_end():
            raise self.fail("Expected a condition.", hint="e.g. filter status >= 500")
        name = self.field_name()
        negate = self.take("not")
        op_tok = self.next()
        op = op_tok.word or op_tok.value
        if op in ("like", "=~"):
            value = self.next()
            if value.kind == "regex":
                try:
                    literal: Any = re.compile(value.value[1:-1])
                except re.error as exc:
                    raise self.fail(
                        f"This regular expression is not valid: {exc.msg}.", tok=value
                    ) from None
                kind = "regex"
            elif value.kind == "string" and op == "like":
                literal, kind = _unquote(value.value), "substring"
            else:
                raise self.fail(f'{op} takes a "substring" or a /regex/.', tok=value)
            expr = _Expr("match", (), field=name, literal=literal, kind=kind)
            return _Expr("not", (expr,)) if negate else expr
        if op == "in":
            self.expect("[", "after in")
            values = [self.value()]
            while self.take(","):
                values.append(self.value())
            self.expect("]", "to close the list")
            expr = _Expr("in", (), field=name, literal=tuple(values))
            return _Expr("not", (expr,)) if negate else expr
        if negate:
            raise self.fail("not goes before a condition, or before like/in.", tok=op_tok)
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise self.fail(
                f"Expected a comparison after {name}, found {op_tok.value!r}.",
                hint="Use = != < <= > >=, like, =~ or in.",
                tok=op_tok,
            )
        return _Expr("cmp", (), field=name, operator=op, literal=self.value())

    def value(self) -> Any:
        tok = self.next()
        if tok.kind == "number":
            return float(tok.value)
        if tok.kind == "string":
            return _unquote(tok.value)
        if tok.kind == "name" and tok.word in ("true", "false"):
            return tok.word == "true"
        raise self.fail(
            f"Expected a number or a quoted string, found {tok.value!r}.",
            hint='Quote text values: filter service = "payments".',
            tok=tok,
        )


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


@dataclass(frozen=True)
class _Aggregate:
    function: str
    argument: str | None
    percentile: float | None
    label: str


@dataclass(frozen=True)
class _Expr:
    op: str
    children: tuple[_Expr, ...] = ()
    field: str = ""
    literal: Any = None
    kind: str = ""
    operator: str = ""

    def mask(self, table: pd.DataFrame) -> pd.Series:
        if self.op == "and":
            return self.children[0].mask(table) & self.children[1].mask(table)
        if self.op == "or":
            return self.children[0].mask(table) | self.children[1].mask(table)
        if self.op == "not":
            return ~self.children[0].mask(table)
        column = (
            table[self.field]
            if self.field in table.columns
            else pd.Series([None] * len(table), index=table.index, dtype=object)
        )
        present = column.notna()
        if self.op == "ispresent":
            return present
        if self.op in ("isempty", "isblank"):
            text = column.astype(str).where(present, "")
            return ~present | (text.str.strip() == "" if self.op == "isblank" else text == "")
        if self.op == "match":
            text = column.where(present, "").astype(str)
            if self.kind == "regex":
                hit = text.map(lambda s: self.literal.search(s) is not None)
            else:
                hit = text.map(lambda s: self.literal in s)
            return (hit & present).astype(bool)
        if self.op == "in":
            return column.map(lambda v: any(_equal(v, x) for x in self.literal)).astype(bool)
        compare = _COMPARE[self.operator]
        return column.map(
            lambda v: v is not None and _not_nan(v) and compare(v, self.literal)
        ).astype(bool)


def _not_nan(value: Any) -> bool:
    return not (isinstance(value, float) and math.isnan(value))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _equal(value: Any, literal: Any) -> bool:
    if value is None or not _not_nan(value):
        return False
    if isinstance(literal, bool):
        return value is literal or str(value).lower() == str(literal).lower()
    if isinstance(literal, float):
        number = _as_number(value)
        return number is not None and number == literal
    return str(value) == literal


def _ordered(op: str) -> Callable[[Any, Any], bool]:
    def compare(value: Any, literal: Any) -> bool:
        if isinstance(literal, float):
            number = _as_number(value)
            return number is not None and _OPS[op](number, literal)
        return _OPS[op](str(value), str(literal))

    return compare


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": _equal,
    "!=": lambda v, x: not _equal(v, x),
    **{op: _ordered(op) for op in _OPS},
}


@dataclass(frozen=True)
class _Command:
    name: str
    pos: int
    fields: tuple[tuple[str, str | None], ...] = ()
    limit: int = 0
    sort: tuple[tuple[str, bool], ...] = ()
    aggregates: tuple[_Aggregate, ...] = ()
    groups: tuple[tuple[str, str | None, str | None], ...] = ()
    condition: _Expr | None = None


# --------------------------------------------------------------------------------------------
# Events as an Insights table
# --------------------------------------------------------------------------------------------


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            _flatten(inner, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def events_table(events: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
    """Return log events as Insights sees them: system fields plus the discovered JSON fields.

    Args:
        events: A frame with ``timestamp`` and ``message`` (``stream`` optional), e.g. from
            :func:`labs.observability.logs.read_events`.
        group: The log group name for ``@log`` (default: ``events.attrs["group"]``).
    """
    if not isinstance(events, pd.DataFrame) or not {"timestamp", "message"} <= set(events.columns):
        raise InputError(
            "events must be a DataFrame with 'timestamp' and 'message' columns.",
            where="events",
            hint="Use labs.observability.logs.read_events(ctx, group).",
        )
    rows = []
    for message in events["message"]:
        flat: dict[str, Any] = {}
        try:
            doc = json.loads(message)
        except (TypeError, ValueError):
            doc = None
        if isinstance(doc, dict):
            _flatten(doc, "", flat)
        rows.append(flat)
    discovered = pd.DataFrame(rows, index=events.index)
    table = pd.DataFrame(
        {
            "@timestamp": pd.to_datetime(events["timestamp"], utc=True),
            "@message": events["message"],
            "@logStream": events["stream"] if "stream" in events.columns else "",
            "@log": group or events.attrs.get("group", ""),
        },
        index=events.index,
    )
    discovered = discovered.drop(columns=[c for c in discovered.columns if c in table.columns])
    return pd.concat([table, discovered], axis=1).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Running a query
# --------------------------------------------------------------------------------------------


def _percentile(values: np.ndarray, q: float) -> float:
    values = np.sort(values[~np.isnan(values)])
    if values.size == 0:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * values.size))
    return float(values[rank - 1])


def _aggregate(frame: pd.DataFrame, agg: _Aggregate) -> float:
    if agg.function == "count":
        if agg.argument is None:
            return float(len(frame))
        return float(frame[agg.argument].notna().sum()) if agg.argument in frame else 0.0
    if agg.argument not in frame.columns:
        return math.nan
    column = frame[agg.argument]
    if agg.function == "count_distinct":
        return float(column.dropna().astype(str).nunique())
    numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    numbers = numbers[~np.isnan(numbers)]
    if numbers.size == 0:
        return math.nan
    if agg.function == "sum":
        return float(numbers.sum())
    if agg.function == "avg":
        return float(numbers.mean())
    if agg.function == "min":
        return float(numbers.min())
    if agg.function == "max":
        return float(numbers.max())
    if agg.function == "stddev":
        return float(numbers.std(ddof=1)) if numbers.size > 1 else 0.0
    assert agg.percentile is not None
    return _percentile(numbers, agg.percentile)


@dataclass(frozen=True)
class Query:
    """A parsed Logs Insights query (the subset in the module docstring).

    Attributes:
        text: The query as written: what ``logs.start_query`` would be given.
    """

    text: str
    commands: tuple[_Command, ...] = field(repr=False)

    def start_query_kwargs(self, group: str, start: Any, end: Any) -> dict[str, Any]:
        """The keyword arguments of ``logs.start_query`` that run this query for real."""
        return {
            "logGroupName": group,
            "startTime": int(pd.Timestamp(start).timestamp()),
            "endTime": int(pd.Timestamp(end).timestamp()),
            "queryString": self.text,
        }

    def run(self, events: pd.DataFrame, group: str | None = None) -> pd.DataFrame:
        """Run the query over log events (see :func:`events_table`) and return the results."""
        table = events if "@timestamp" in events.columns else events_table(events, group)
        shown: list[tuple[str, str | None]] | None = None
        aggregated = False
        for command in self.commands:
            if command.name == "filter":
                assert command.condition is not None
                table = table[command.condition.mask(table).to_numpy()]
            elif command.name in ("fields", "display"):
                shown = (
                    list(command.fields)
                    if command.name == "display" or shown is None
                    else (shown + list(command.fields))
                )
            elif command.name == "stats":
                table = self._stats(table, command)
                shown, aggregated = None, True
            elif command.name == "sort":
                table = self._sort(table, command, shown)
            elif command.name == "limit":
                table = table.head(command.limit)
        if not aggregated:
            chosen = shown or [("@timestamp", None), ("@message", None)]
            out = pd.DataFrame(index=table.index)
            for name, alias in chosen:
                out[alias or name] = table[name] if name in table.columns else None
            table = out
        return table.reset_index(drop=True)

    @staticmethod
    def _stats(table: pd.DataFrame, command: _Command) -> pd.DataFrame:
        keys: list[str] = []
        work = table.copy()
        for label, period, alias in command.groups:
            name = alias or label
            if period is not None:
                unit = _PERIOD_UNITS[period[-1]]
                work[name] = work["@timestamp"].dt.floor(f"{period[:-1]}{unit}")
            else:
                work[name] = work[label] if label in work.columns else None
            keys.append(name)
        counts = [a.label for a in command.aggregates if a.function in ("count", "count_distinct")]
        if not keys:
            row = {agg.label: _aggregate(work, agg) for agg in command.aggregates}
            return pd.DataFrame([row]).astype(dict.fromkeys(counts, "int64"))
        rows = []
        grouped = work.dropna(subset=keys).groupby(keys, sort=True, dropna=True)
        for values, part in grouped:
            values = values if isinstance(values, tuple) else (values,)
            row = dict(zip(keys, values, strict=True))
            row.update({agg.label: _aggregate(part, agg) for agg in command.aggregates})
            rows.append(row)
        frame = pd.DataFrame(rows, columns=[*keys, *(agg.label for agg in command.aggregates)])
        return frame.astype(dict.fromkeys(counts, "int64"))

    def _sort(
        self, table: pd.DataFrame, command: _Command, shown: list[tuple[str, str | None]] | None
    ) -> pd.DataFrame:
        aliases = {alias: name for name, alias in (shown or []) if alias}
        names, ascending = [], []
        for name, descending in command.sort:
            column = aliases.get(name, name)
            if column not in table.columns:
                raise _error(
                    self.text,
                    command.pos,
                    f"sort names {name!r}, which is not a field of the results here.",
                    hint=f"Fields available: {', '.join(map(str, table.columns[:12]))}.",
                )
            names.append(column)
            ascending.append(not descending)
        return table.sort_values(names, ascending=ascending, kind="stable", na_position="last")


def parse(text: str) -> Query:
    """Parse a Logs Insights query (the subset in the module docstring).

    Raises:
        InputError: Outside the subset, or not valid: the message names the offset with a caret.
    """
    if not isinstance(text, str):
        raise InputError(f"A query is a string, got {type(text).__name__}.", where="query")
    return Query(text, tuple(_Parser(text).query()))


def query(events: pd.DataFrame, text: str, group: str | None = None) -> pd.DataFrame:
    """Run Logs Insights query ``text`` over ``events`` and return the result as a DataFrame.

    Example::

        events = labs.observability.logs.read_events(ctx, "/labs/bookstore/requests")
        query(events, "filter status >= 500 | stats count(*) as errors by bin(5m), service")
    """
    return parse(text).run(events, group)
