"""X-Ray filter expressions — a documented subset — evaluated by ``labs`` over the segments.

The local emulator answers ``GetTraceSummaries`` with a ``FilterExpression`` with HTTP 500 ("Not
implemented yet"), so ``labs`` parses and evaluates the expressions itself, with the semantics
of the X-Ray developer guide ("Using filter expressions"). Supported:

=================================== =======================================================
Construct                           Meaning
=================================== =======================================================
``ok`` ``error`` ``fault``          The trace's response was 2xx / 4xx / 5xx / 429 (the
``throttle``                        **root** segment: "simple keywords only find issues at
                                    the trace level"); ``partial``: a segment is in progress.
                                    Alone, with ``!``, or ``= true`` / ``!= false``.
``responsetime`` ``duration``       Seconds: the root segment's duration; the whole trace's
                                    (root start to the last end). ``=`` ``!=`` ``<`` ``<=``
                                    ``>`` ``>=`` and a number.
``http.status``                     The root segment's response status, as a number.
``http.url`` ``http.method``        The root segment's request, as strings: ``=`` ``!=``
``http.useragent`` ``http.clientip`` ``CONTAINS`` ``BEGINSWITH`` ``ENDSWITH`` and a
``user``                            "quoted string"; ``user``: any segment's user field.
``annotation.key``                  Any segment or subsegment's annotation ``key``
``annotation[key]``                 (string, number or boolean, compared by type; alone it
                                    tests ``true``). Not inside ``service()``/``edge()``.
``service("name") {filter}``        The trace has a segment from service ``name`` for which
``service() {filter}``              ``filter`` holds (keywords apply to that segment);
                                    without braces: the trace reaches the service.
``edge("a", "b") {filter}``         The trace has a call from ``a`` to ``b`` for which
                                    ``filter`` holds (keywords apply to the call as ``a``
                                    recorded it: its subsegment's duration and status).
``AND`` ``OR`` ``!`` ``( )``        Combinations; two expressions side by side mean AND (the
                                    guide's ``ok !partial duration <3``). ``!`` binds tightest,
                                    then AND, then OR.
=================================== =======================================================

Not supported (an error says so): the ``id()`` function, ``rootcause``/``fault.rootcause`` and
other keywords the guide lists beyond these. A comparison with a missing value (a trace with no
HTTP status, a missing annotation) is false, ``!=`` included.

Errors name the column where the expression went wrong.

Evaluation is vectorised: each construct is a boolean Series over a table — traces, segments
(inside ``service()``), calls (inside ``edge()``) or annotations — combined with pandas.

Filter expressions: https://docs.aws.amazon.com/xray/latest/devguide/xray-console-filters.html
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError
from labs.observability.tracing.documents import _is_root, micros, segments
from labs.observability.tracing.graph import calls_frame, classify

__all__ = [
    "KEYWORDS",
    "FilterExpression",
    "FilterExpressionError",
    "filter_segments",
    "matching_traces",
    "parse_filter",
    "summarize_traces",
    "trace_summaries",
]


class FilterExpressionError(InputError):
    """A filter expression that cannot be parsed: the message shows where, with a caret."""


KEYWORDS: dict[str, str] = {
    "ok": "boolean",
    "error": "boolean",
    "fault": "boolean",
    "throttle": "boolean",
    "partial": "boolean",
    "responsetime": "number",
    "duration": "number",
    "http.status": "number",
    "http.url": "string",
    "http.method": "string",
    "http.useragent": "string",
    "http.clientip": "string",
    "user": "string",
}
"""The keywords of the subset and their type (plus ``annotation.<key>``, of any type)."""

_NOT_IN_SUBSET = {
    "id",
    "inferred",
    "rootcause",
    "fault.rootcause",
    "error.rootcause",
    "responsetime.rootcause",
    "group",
    "coverage",
    "ec2.instanceid",
    "ec2.availabilityzone",
    "cloud.resourcearn",
}
_NUMBER_OPS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_STRING_OPS = ("=", "!=", "CONTAINS", "BEGINSWITH", "ENDSWITH")

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?![\w.]))
      | (?P<op>!=|<=|>=|==|=|<|>)
      | (?P<bang>!)
      | (?P<punct>[(){},:])
      | (?P<word>annotation\[[^\]]*\]|[A-Za-z_][\w.]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # string, number, op, bang, punct, word, end
    text: str
    pos: int
    value: Any = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] == '"' and not re.match(r'"(?:[^"\\]|\\.)*"', text[pos:]):
            raise _error(text, pos, 'this string has no closing quote (").')
        found = _TOKEN.match(text, pos)
        if found is None:
            raise _error(text, pos, f"unexpected character {text[pos]!r}.")
        kind = found.lastgroup or ""
        chunk = found.group()
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", chunk[1:-1])
            tokens.append(_Token(kind, chunk, pos, value))
        elif kind == "number":
            tokens.append(_Token(kind, chunk, pos, float(chunk)))
        elif kind == "op" and chunk == "==":
            raise _error(text, pos, "'==' is not an X-Ray operator.", "Use a single '='.")
        elif kind != "ws":
            tokens.append(_Token(kind, chunk, pos))
        pos = found.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _error(text: str, pos: int, what: str, hint: str | None = None) -> FilterExpressionError:
    caret = f"\n    {text}\n    {' ' * pos}^"
    return FilterExpressionError(
        what + caret,
        where=f"filter expression, column {pos + 1}",
        hint=hint
        or "Supported: ok, error, fault, throttle, partial, responsetime, duration, "
        'http.status, http.url, http.method, user, annotation.KEY, service("name") { … }, '
        'edge("a", "b") { … }, AND, OR, !, ( ).',
    )


# -- syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Or:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _And:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class _Not:
    item: Any


@dataclass(frozen=True)
class _Compare:
    keyword: str  # a KEYWORDS key, or "annotation.<key>"
    op: str | None  # None: a bare boolean test
    value: Any
    pos: int


@dataclass(frozen=True)
class _Service:
    name: str | None
    inner: Any
    pos: int


@dataclass(frozen=True)
class _Edge:
    source: str
    destination: str
    inner: Any
    pos: int


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.scope = "trace"  # "trace", "service" or "edge"

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, what: str, token: _Token | None = None, hint: str | None = None) -> None:
        raise _error(self.text, (token or self.tok).pos, what, hint)

    def describe(self, token: _Token) -> str:
        return "the end of the expression" if token.kind == "end" else repr(token.text)

    def take(self, kind: str, text: str | None = None, what: str = "") -> _Token:
        token = self.tok
        if token.kind != kind or (text is not None and token.text != text):
            self.fail(f"expected {what or repr(text)} but found {self.describe(token)}.")
        self.i += 1
        return token

    def parse(self) -> Any:
        if self.tok.kind == "end":
            self.fail("the expression is empty.")
        tree = self.parse_or()
        if self.tok.kind != "end":
            self.fail(f"unexpected {self.describe(self.tok)}; expected AND, OR or the end.")
        return tree

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.upper() in words

    def parse_or(self) -> Any:
        items = [self.parse_and()]
        while self.is_word("OR"):
            self.i += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else _Or(tuple(items))

    def starts_unary(self) -> bool:
        token = self.tok
        if token.kind == "bang" or (token.kind == "punct" and token.text == "("):
            return True
        return token.kind == "word" and token.text.upper() not in ("AND", "OR")

    def parse_and(self) -> Any:
        items = [self.parse_unary()]
        while True:
            if self.is_word("AND"):
                self.i += 1
                items.append(self.parse_unary())
            elif self.starts_unary():  # side by side: AND, as in the guide's examples
                items.append(self.parse_unary())
            else:
                break
        return items[0] if len(items) == 1 else _And(tuple(items))

    def parse_unary(self) -> Any:
        if self.tok.kind == "bang":
            self.i += 1
            return _Not(self.parse_unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.i += 1
            inner = self.parse_or()
            self.take("punct", ")", "')' to close the parenthesis")
            return inner
        if self.tok.kind != "word":
            self.fail(f"expected a keyword but found {self.describe(self.tok)}.")
        word = self.tok.text
        lowered = word.lower()
        if lowered in ("service", "edge"):
            return self.parse_complex(lowered)
        if word.upper() in ("AND", "OR"):
            self.fail(f"{word.upper()} needs an expression on its left.")
        return self.parse_comparison()

    def parse_complex(self, kind: str) -> Any:
        start = self.tok
        if self.scope != "trace":
            self.fail(f"{kind}() cannot be used inside service() or edge().", start)
        self.i += 1
        self.take("punct", "(", f"'(' after {kind}")
        names: list[str] = []
        while self.tok.kind == "string":
            names.append(self.tok.value)
            self.i += 1
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                if self.tok.kind != "string":
                    self.fail(
                        f"expected a quoted service name but found {self.describe(self.tok)}."
                    )
            else:
                break
        if self.tok.kind == "word" and self.tok.text.lower() == "id":
            self.fail(
                "the id() function is not supported by this subset.",
                hint='Name the service in quotes: service("payments").',
            )
        self.take(
            "punct",
            ")",
            f"')' to close {kind}("
            + (" — names are quoted strings" if self.tok.kind == "word" else ""),
        )
        if kind == "service" and len(names) > 1:
            self.fail("service() takes one name.", start)
        if kind == "edge" and len(names) != 2:
            self.fail('edge() takes two quoted names: edge("caller", "callee").', start)
        inner = None
        if self.tok.kind == "punct" and self.tok.text == "{":
            self.i += 1
            if self.tok.kind == "punct" and self.tok.text == "}":
                self.fail("the braces are empty: put a filter inside, or remove them.")
            self.scope = kind
            inner = self.parse_or()
            self.scope = "trace"
            self.take("punct", "}", "'}' to close the braces")
        if kind == "service":
            return _Service(names[0] if names else None, inner, start.pos)
        return _Edge(names[0], names[1], inner, start.pos)

    def parse_comparison(self) -> _Compare:
        token = self.tok
        word = token.text
        lowered = word.lower()
        if lowered.startswith("annotation.") or lowered.startswith("annotation["):
            key = word[len("annotation.") :] if lowered.startswith("annotation.") else word[11:-1]
            if not re.fullmatch(r"\w+", key):
                self.fail("an annotation key is letters, digits and underscores.", token)
            if self.scope != "trace":
                self.fail(
                    "annotations cannot be used inside service() or edge() (X-Ray does "
                    "not allow it).",
                    token,
                )
            keyword, kind = f"annotation.{key}", "any"
        elif lowered in KEYWORDS:
            keyword, kind = lowered, KEYWORDS[lowered]
        elif lowered in _NOT_IN_SUBSET:
            self.fail(f"{word!r} is an X-Ray keyword this subset does not support.", token)
        else:
            self.fail(f"unknown keyword {word!r}.", token)
        self.i += 1
        op_token = self.tok
        op = None
        if op_token.kind == "op":
            op = op_token.text
        elif op_token.kind == "word" and op_token.text.upper() in _STRING_OPS:
            op = op_token.text.upper()
        if op is None:
            if kind in ("boolean", "any"):
                return _Compare(keyword, None, True, token.pos)
            self.fail(
                f"{word} needs an operator and a value, e.g. "
                + ("responsetime > 1" if kind == "number" else f'{word} = "…"')
                + ".",
                op_token,
            )
        self.i += 1
        value_token = self.tok
        value = self.literal(value_token)
        self.check_types(word, kind, op, op_token, value, value_token)
        self.i += 1
        return _Compare(keyword, op, value, token.pos)

    def literal(self, token: _Token) -> Any:
        if token.kind in ("string", "number"):
            return token.value
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            return token.text.lower() == "true"
        self.fail(
            f'expected a value (a number, a "quoted string", true or false) but found '
            f"{self.describe(token)}."
        )
        return None

    def check_types(
        self, word: str, kind: str, op: str, op_token: _Token, value: Any, value_token: _Token
    ) -> None:
        is_bool = isinstance(value, bool)
        is_number = isinstance(value, float) and not is_bool
        is_string = isinstance(value, str)
        if kind == "boolean":
            if op not in ("=", "!="):
                self.fail(f"{word} is true or false: compare it with = or !=.", op_token)
            if not is_bool:
                self.fail(f"{word} is compared with true or false.", value_token)
        elif kind == "number":
            if op not in _NUMBER_OPS:
                self.fail(f"{op} compares strings; {word} is a number.", op_token)
            if not is_number:
                self.fail(
                    f"{word} is a number: compare it with a number, e.g. {word} > 1.", value_token
                )
        elif kind == "string":
            if op not in _STRING_OPS:
                self.fail(
                    f"{word} is a string: use =, !=, CONTAINS, BEGINSWITH or ENDSWITH.", op_token
                )
            if not is_string:
                self.fail(
                    f'{word} is a string: put the value in double quotes, e.g. "…".', value_token
                )
        else:  # annotation: any type, with the operators of the value's type
            if is_string and op not in _STRING_OPS:
                self.fail(f"{op} compares numbers; the value is a string.", op_token)
            if is_number and op not in _NUMBER_OPS:
                self.fail(f"{op} compares strings; the value is a number.", op_token)
            if is_bool and op not in ("=", "!="):
                self.fail(f"{op} cannot compare true/false.", op_token)


# -- evaluation -------------------------------------------------------------------------------


class FilterExpression:
    """A parsed filter expression; :meth:`evaluate` tells which traces of a frame match.

    Args:
        text: The expression, e.g. ``'service("payments") { fault }'``.

    Raises:
        FilterExpressionError: The expression is not valid (the message names the column).
    """

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise FilterExpressionError(
                f"A filter expression is a string, got {type(text).__name__}.",
                where="filter expression",
            )
        self.text = text
        self.tree = _Parser(text).parse()

    def __repr__(self) -> str:
        return f"FilterExpression({self.text!r})"

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Return a boolean Series indexed by trace id: does each trace of ``frame`` match?"""
        tables = _Tables(frame)
        values = _evaluate(self.tree, tables.traces, tables)
        return pd.Series(values, index=tables.traces.index, name="matches")


def parse_filter(text: str) -> FilterExpression:
    """Parse an X-Ray filter expression (the supported subset: see the module docstring)."""
    return FilterExpression(text)


def matching_traces(frame: pd.DataFrame, expression: str | FilterExpression) -> list[str]:
    """Return the ids of the traces in ``frame`` that ``expression`` matches, in time order."""
    parsed = expression if isinstance(expression, FilterExpression) else parse_filter(expression)
    matches = parsed.evaluate(frame)
    return list(matches.index[matches.to_numpy()])


def filter_segments(frame: pd.DataFrame, expression: str | FilterExpression) -> pd.DataFrame:
    """Return the rows of ``frame`` that belong to traces ``expression`` matches."""
    keep = matching_traces(frame, expression)
    return frame[frame["trace_id"].isin(keep)].reset_index(drop=True)


class _Tables:
    """The tables an expression is evaluated over, built once per frame."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        segs = frame[frame["kind"] == "segment"].copy()
        self.segments = _with_fields(segs, latency="duration_ms")
        roots = segs[_is_root(frame).loc[segs.index]]
        roots = roots.sort_values("start", kind="stable").drop_duplicates("trace_id")
        ends = frame.groupby("trace_id", sort=False)["end"].max()
        partial = frame.groupby("trace_id", sort=False)["in_progress"].any()
        traces = _with_fields(roots.copy(), latency="duration_ms").set_index("trace_id")
        traces["duration"] = (micros(ends.reindex(traces.index)) - micros(traces["start"])) / 1e6
        traces["partial"] = partial.reindex(traces.index).fillna(False).astype(bool)
        order = frame.drop_duplicates("trace_id")["trace_id"]
        self.traces = traces.reindex([t for t in order if t in traces.index])
        self._calls: pd.DataFrame | None = None
        self._annotations: pd.DataFrame | None = None

    @property
    def calls(self) -> pd.DataFrame:
        if self._calls is None:
            self._calls = _with_fields(calls_frame(self.frame), latency="latency_ms")
        return self._calls

    @property
    def annotations(self) -> pd.DataFrame:
        if self._annotations is None:
            rows = [
                (trace, key, value)
                for trace, notes in zip(
                    self.frame["trace_id"], self.frame["annotations"], strict=True
                )
                if isinstance(notes, dict)
                for key, value in notes.items()
            ]
            self._annotations = pd.DataFrame(rows, columns=["trace_id", "key", "value"])
        return self._annotations


def _with_fields(rows: pd.DataFrame, *, latency: str) -> pd.DataFrame:
    """Add the keyword columns (responsetime, ok, error, …) to a table of segments or calls."""
    flags = classify(rows["status"], rows["error"], rows["fault"], rows["throttle"])
    code = pd.to_numeric(rows["status"], errors="coerce")
    two_xx = ((code >= 200) & (code < 300)).fillna(False).astype(bool)
    has_status = code.notna()
    rows["f.ok"] = np.where(has_status, two_xx, flags["ok"])
    rows["f.error"] = flags["error"].to_numpy()
    rows["f.fault"] = flags["fault"].to_numpy()
    rows["f.throttle"] = flags["throttle"].to_numpy()
    rows["f.partial"] = rows["in_progress"].astype(bool).to_numpy()
    rows["f.responsetime"] = (rows[latency] / 1000.0).to_numpy()
    rows["f.duration"] = rows["f.responsetime"]
    rows["f.http.status"] = code.to_numpy(dtype=float, na_value=np.nan)
    rows["f.http.url"] = rows["url"].to_numpy()
    rows["f.http.method"] = rows["method"].to_numpy()
    rows["f.http.useragent"] = rows["user_agent"].to_numpy() if "user_agent" in rows else None
    rows["f.http.clientip"] = rows["client_ip"].to_numpy() if "client_ip" in rows else None
    rows["f.user"] = rows["user"].to_numpy() if "user" in rows else None
    return rows


def _compare(values: pd.Series, op: str, value: Any) -> np.ndarray:
    """Compare a column with a literal; a missing value never matches."""
    if isinstance(value, bool):
        present = values.notna()
        if op is None or op == "=":
            return (present & (values == value)).to_numpy(dtype=bool)
        return (present & (values != value)).to_numpy(dtype=bool)
    if isinstance(value, float):
        numbers = pd.to_numeric(values, errors="coerce")
        return _NUMBER_OPS[op](numbers, value).fillna(False).to_numpy(
            dtype=bool
        ) & numbers.notna().to_numpy(dtype=bool)
    present = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    text = values.where(present, "").astype(str)
    if op == "=":
        result = text == value
    elif op == "!=":
        result = text != value
    elif op == "CONTAINS":
        result = text.str.contains(value, regex=False)
    elif op == "BEGINSWITH":
        result = text.str.startswith(value)
    else:
        result = text.str.endswith(value)
    return result.to_numpy(dtype=bool) & present


def _evaluate(node: Any, table: pd.DataFrame, tables: _Tables) -> np.ndarray:
    """Evaluate ``node`` over the rows of ``table``; a boolean array aligned with them."""
    if isinstance(node, _Or):
        return np.logical_or.reduce([_evaluate(n, table, tables) for n in node.items])
    if isinstance(node, _And):
        return np.logical_and.reduce([_evaluate(n, table, tables) for n in node.items])
    if isinstance(node, _Not):
        return ~_evaluate(node.item, table, tables)
    if isinstance(node, _Service | _Edge):
        rows = tables.segments if isinstance(node, _Service) else tables.calls
        if isinstance(node, _Service):
            mask = (
                np.ones(len(rows), dtype=bool)
                if node.name is None
                else (rows["name"] == node.name).to_numpy(dtype=bool)
            )
        else:
            mask = (
                (rows["caller"] == node.source) & (rows["callee"] == node.destination)
            ).to_numpy(dtype=bool)
        if node.inner is not None and len(rows):
            mask = mask & _evaluate(node.inner, rows, tables)
        hits = set(rows["trace_id"][mask])
        return table.index.isin(hits) if table is tables.traces else np.zeros(len(table), bool)
    assert isinstance(node, _Compare)
    if node.keyword.startswith("annotation."):
        notes = tables.annotations
        key = node.keyword[len("annotation.") :]
        chosen = notes[notes["key"] == key]
        values = chosen["value"]
        if isinstance(node.value, bool) or node.op is None:
            typed = values.map(lambda v: isinstance(v, bool))
        elif isinstance(node.value, float):
            typed = values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool))
        else:
            typed = values.map(lambda v: isinstance(v, str))
        typed = typed.to_numpy(dtype=bool)
        hit = typed & _compare(values.where(typed, None), node.op or "=", node.value)
        return table.index.isin(set(chosen["trace_id"][hit]))
    if node.keyword == "user" and table is tables.traces:  # any segment's user
        segs = tables.segments
        hit = _compare(segs["f.user"], node.op or "=", node.value)
        return table.index.isin(set(segs["trace_id"][hit]))
    column = table[f"f.{node.keyword}"]
    return _compare(column, node.op or "=", node.value)


# -- trace summaries --------------------------------------------------------------------------

SUMMARY_COLUMNS = [
    "trace_id",
    "start",
    "entry_point",
    "method",
    "url",
    "status",
    "response_time_s",
    "duration_s",
    "has_error",
    "has_fault",
    "has_throttle",
    "is_partial",
    "services",
]


def summarize_traces(frame: pd.DataFrame) -> pd.DataFrame:
    """Return one row per trace, as X-Ray's ``TraceSummary`` describes it.

    ``response_time_s``: the root segment's duration; ``duration_s``: from the root segment's
    start to the last end; ``has_error``/``has_fault``: the root segment has a 4xx/5xx;
    ``has_throttle``: a segment has a 429; ``is_partial``: a segment is in progress;
    ``services``: the services the trace reached.
    TraceSummary: https://docs.aws.amazon.com/xray/latest/api/API_TraceSummary.html
    """
    tables = _Tables(frame)
    traces = tables.traces
    throttled = tables.segments.groupby("trace_id")["f.throttle"].any()
    reached = tables.segments.groupby("trace_id")["name"].agg(lambda s: ", ".join(sorted(set(s))))
    summary = pd.DataFrame(
        {
            "trace_id": traces.index,
            "start": pd.to_datetime(
                micros(traces["start"]).astype("int64").to_numpy(), unit="us", utc=True
            ),
            "entry_point": traces["name"].to_numpy(),
            "method": traces["method"].to_numpy(),
            "url": traces["url"].to_numpy(),
            "status": traces["status"].to_numpy(),
            "response_time_s": traces["f.responsetime"].to_numpy(),
            "duration_s": traces["duration"].to_numpy(),
            "has_error": traces["f.error"].to_numpy(),
            "has_fault": traces["f.fault"].to_numpy(),
            "has_throttle": throttled.reindex(traces.index).fillna(False).to_numpy(dtype=bool),
            "is_partial": traces["partial"].to_numpy(),
            "services": reached.reindex(traces.index).to_numpy(),
        }
    )
    return summary[SUMMARY_COLUMNS].reset_index(drop=True)


def trace_summaries(
    ctx: Any, start: Any, end: Any, filter_expression: str | None = None
) -> pd.DataFrame:
    """Return the summaries of the traces that started in ``[start, end]``, optionally filtered.

    What ``GetTraceSummaries`` with a ``FilterExpression`` returns on AWS, computed by ``labs``
    from the segment documents (the emulator cannot filter: FACTS.md).
    """
    if filter_expression is not None:
        parsed = parse_filter(filter_expression)  # a bad expression fails before any call
    frame = segments(ctx, start, end)
    if filter_expression is not None:
        frame = filter_segments(frame, parsed)
    return summarize_traces(frame)
