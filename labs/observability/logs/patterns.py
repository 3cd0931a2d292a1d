"""CloudWatch Logs filter patterns: parse one, then match it against log event messages.

The local emulator only understands plain terms, and a JSON pattern such as
``{ $.status >= 500 }`` matches *every* event there (FACTS.md). This module implements the
syntax as documented in "Filter pattern syntax for metric filters, subscription filters, filter
log events, and Live Tail"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html), so that
``labs.observability.logs.filter_log_events`` and the metric filters give CloudWatch's answer.

Four kinds of pattern, told apart by their first character:

* **Terms** (unstructured events), case sensitive: ``ERROR`` (the message contains ``ERROR``,
  anywhere: it matches ``ERRORCODE`` too), ``ERROR Exception`` (all terms), ``"Failed to
  process"`` (an exact phrase; terms with characters other than letters, digits and ``_`` must be
  quoted), ``ERROR -ARGUMENTS`` (``-`` excludes a term), ``?ERROR ?WARN`` (``?`` makes a pattern of
  OR terms). The empty pattern matches everything.
* **Regular expressions** between ``%`` signs: ``%AUTHORIZED%`` (found anywhere, so it matches
  ``UNAUTHORIZED`` too). Only letters, digits, the symbols ``_ # = @ / ; , - :`` and the operators
  ``^ $ ? [ ] { } | \\ * + .`` are allowed — no parentheses — and at most two per pattern.
* **JSON** between braces: ``{ SELECTOR OPERATOR VALUE }`` where the selector starts at ``$`` and
  walks ``.name`` members and ``[N]`` array elements (``$.objectList[1].id``). ``=`` and ``!=``
  compare strings (``*`` at the start or end of the value is a wildcard: ``*Event``, ``Event*``; in
  the middle it is a literal ``*``), numbers, or a ``%regex%``; ``<  >  <=  >=`` compare numbers.
  ``IS NULL``, ``NOT EXISTS``, ``IS TRUE`` and ``IS FALSE`` test a member's presence and value
  (``EXISTS`` is accepted too, as the opposite of ``NOT EXISTS``; the guide's own way to say it is
  ``= *``). Conditions combine with ``&&`` and ``||`` and parentheses; ``&&`` binds tighter. A
  selector that points to an object or an array never matches, with ``=`` or ``!=``.
* **Space-delimited** between brackets: ``[ip, user, ..., status_code = 5*, bytes > 1000]``. The
  message is split on spaces, text between ``[ ]`` or ``" "`` being one field; each name takes one
  field, ``...`` any number of them, and without ``...`` the counts must be equal. A field may
  carry conditions joined with ``&&`` and ``||`` (``[w1=ERROR || w1=WARN, w2]``). Matched fields
  are extracted as ``$name`` and ``$1``, ``$2``, … for metric filters.

Ambiguities and the choices made here (the guide is silent on them): mixing ``?term`` with plain
or ``-`` terms is refused; a number on the right of ``=`` (``{ $.status = 500 }``) matches the JSON
number numerically (``500.0`` too) and the JSON string with the same text (``"500"``); a condition
in a space-delimited pattern may name another field of the same pattern, but not a name the
pattern does not declare; booleans and ``null`` are not value nodes, so ``=`` and ``!=`` never
match them (use ``IS TRUE`` or ``IS NULL``).

Every mistake is an :class:`~labs.errors.InputError` naming the offset, with a caret.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from labs.errors import InputError
from labs.observability.logs.syntax import syntax_error

__all__ = ["DOC_URL", "FilterPattern", "compile_pattern", "matches"]

DOC_URL = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"
"""The guide page this module implements."""

Kind = Literal["all", "terms", "regex", "json", "delimited"]

_LANGUAGE = "filter pattern"
_MISSING = object()
_BARE_TERM = re.compile(r"[A-Za-z0-9_]+")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[A-Za-z0-9_\-]+")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGEX_ALLOWED = re.compile(r"[A-Za-z0-9_#=@/;,\-:^$?\[\]{}|\\*+.]")
_MAX_REGEX = 2
_MAX_LENGTH = 1024
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">")


def _error(
    text: str, offset: int, what: str, hint: str | None = None, width: int = 1
) -> InputError:
    return syntax_error(_LANGUAGE, text, offset, what, hint=hint, width=width)


# --------------------------------------------------------------------------------------------
# Values: strings with wildcards, numbers, regular expressions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    """A value on the right of an operator: ``text`` as written, and how it compares."""

    text: str
    kind: Literal["string", "number", "regex"]
    number: float = math.nan
    regex: re.Pattern[str] | None = None

    def string_test(self) -> Callable[[str], bool]:
        """A predicate on a string: equality with ``*`` wildcards at either end, or a regex."""
        if self.kind == "regex":
            assert self.regex is not None
            return lambda s: self.regex.search(s) is not None  # type: ignore[union-attr]
        if self.kind == "number":
            return lambda s: s == self.text
        text = self.text
        if text == "*" or text == "**":
            return lambda s: True
        lead, trail = text.startswith("*"), text.endswith("*")
        core = text[1 if lead else 0 : len(text) - 1 if trail else len(text)]
        if lead and trail:
            return lambda s: core in s
        if lead:
            return lambda s: s.endswith(core)
        if trail:
            return lambda s: s.startswith(core)
        return lambda s: s == core

    def required_substring(self) -> str | None:
        """Text that must appear verbatim in a JSON message for ``=`` to match, if any."""
        if self.kind != "string":
            return None
        core = self.text.strip("*")
        if core and "*" not in core and re.fullmatch(r"[A-Za-z0-9_.\-]+", core):
            return core
        return None


def _compile_regex(text: str, body: str, offset: int) -> re.Pattern[str]:
    """Validate a ``%regex%`` body against the documented character set and compile it."""
    if not body:
        raise _error(text, offset, "The regular expression between % signs is empty.")
    for i, char in enumerate(body):
        if char in "()":
            raise _error(
                text,
                offset + 1 + i,
                "Parentheses are not supported in filter pattern regular expressions.",
                hint="CloudWatch Logs cannot define subpatterns with ( ); rewrite without them, "
                "e.g. %gray|grey% instead of %gr(a|e)y%.",
            )
        if not _REGEX_ALLOWED.fullmatch(char):
            raise _error(
                text,
                offset + 1 + i,
                f"The character {char!r} is not allowed in a filter pattern regular expression.",
                hint="Regexes may use letters, digits, _ # = @ / ; , - : and the operators "
                "^ $ ? [ ] { } | \\ * + . only (see the 'Supported regular expressions' section of "
                f"{DOC_URL}).",
            )
    try:
        return re.compile(body)
    except re.error as exc:
        position = offset + 1 + (exc.pos or 0)
        raise _error(text, position, f"This regular expression is not valid: {exc.msg}.") from None


# --------------------------------------------------------------------------------------------
# A cursor over the pattern text
# --------------------------------------------------------------------------------------------


class _Cursor:
    def __init__(self, text: str, pos: int = 0, end: int | None = None) -> None:
        self.text = text
        self.pos = pos
        self.end = len(text) if end is None else end
        self.regexes = 0

    def skip_ws(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip_ws()
        return self.pos >= self.end

    def startswith(self, token: str) -> bool:
        self.skip_ws()
        return self.text.startswith(token, self.pos) and self.pos + len(token) <= self.end

    def take(self, token: str) -> bool:
        if self.startswith(token):
            self.pos += len(token)
            return True
        return False

    def keyword(self, word: str) -> bool:
        """Take ``word`` (any case) when it stands alone (not followed by a name character)."""
        self.skip_ws()
        chunk = self.text[self.pos : self.pos + len(word)]
        after = self.text[self.pos + len(word) : self.pos + len(word) + 1]
        if chunk.upper() == word and not (after.isalnum() or after == "_"):
            self.pos += len(word)
            return True
        return False

    def error(self, what: str, hint: str | None = None, at: int | None = None) -> InputError:
        return _error(self.text, self.pos if at is None else at, what, hint)

    def quoted(self) -> str:
        """Read a double-quoted string at the cursor (``\\"`` and ``\\\\`` escape)."""
        start = self.pos
        assert self.text[self.pos] == '"'
        self.pos += 1
        out = []
        while self.pos < self.end:
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < self.end and self.text[self.pos + 1] in '"\\':
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if char == '"':
                self.pos += 1
                return "".join(out)
            out.append(char)
            self.pos += 1
        raise _error(self.text, start, "This quoted string is never closed.", 'Add the closing ".')

    def regex(self) -> tuple[str, re.Pattern[str]]:
        start = self.pos
        close = self.text.find("%", start + 1, self.end)
        if close < 0:
            raise _error(
                self.text, start, "This regular expression is never closed.", "End it with %."
            )
        self.regexes += 1
        if self.regexes > _MAX_REGEX:
            raise _error(
                self.text,
                start,
                f"A filter pattern can hold at most {_MAX_REGEX} regular expressions.",
                hint="CloudWatch Logs' quota; combine them with | inside one %…%.",
            )
        body = self.text[start + 1 : close]
        compiled = _compile_regex(self.text, body, start)
        self.pos = close + 1
        return body, compiled

    def operator(self) -> str | None:
        self.skip_ws()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        return None

    def literal(self, stops: str, *, context: str) -> _Literal:
        """Read the value after an operator: ``"quoted"``, ``%regex%``, a number or a bare word."""
        self.skip_ws()
        start = self.pos
        if self.pos >= self.end or self.text[self.pos] in stops:
            raise self.error(
                f"Expected a value after the operator {context}.",
                hint='Write a number, a word, a "quoted string" or a %regex%.',
            )
        char = self.text[self.pos]
        if char == '"':
            return _Literal(self.quoted(), "string")
        if char == "%":
            body, compiled = self.regex()
            return _Literal(body, "regex", regex=compiled)
        while self.pos < self.end:
            char = self.text[self.pos]
            if char.isspace() or char in stops:
                break
            if self.text.startswith("&&", self.pos) or self.text.startswith("||", self.pos):
                break
            if char in '"$@\\' or not char.isascii():
                raise self.error(
                    f"The character {char!r} must be inside a double-quoted value.",
                    hint=f'Quote the whole value, e.g. "{self.text[start : self.pos]}{char}…".',
                )
            self.pos += 1
        word = self.text[start : self.pos]
        if _NUMBER.fullmatch(word):
            return _Literal(word, "number", number=float(word))
        return _Literal(word, "string")


# --------------------------------------------------------------------------------------------
# Term patterns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Term:
    text: str
    mode: Literal["and", "not", "or"]


def _parse_terms(text: str) -> tuple[_Term, ...]:
    cursor = _Cursor(text)
    terms: list[_Term] = []
    first_modes: dict[str, int] = {}
    while not cursor.at_end():
        start = cursor.pos
        mode: Literal["and", "not", "or"] = "and"
        if cursor.text[cursor.pos] == "-":
            mode = "not"
            cursor.pos += 1
            cursor.skip_ws()
        elif cursor.text[cursor.pos] == "?":
            mode = "or"
            cursor.pos += 1
        if cursor.pos >= cursor.end:
            raise cursor.error(f"Expected a term after {text[start]!r}.")
        char = cursor.text[cursor.pos]
        if char == '"':
            word = cursor.quoted()
        else:
            found = _BARE_TERM.match(cursor.text, cursor.pos)
            if found is None or (
                found.end() < cursor.end
                and not cursor.text[found.end()].isspace()
                and cursor.text[found.end()] != '"'
            ):
                bad = cursor.pos if found is None else found.end()
                end = bad
                while end < cursor.end and not cursor.text[end].isspace():
                    end += 1
                raise _error(
                    text,
                    bad,
                    f"The character {text[bad]!r} in a term must be inside double quotes.",
                    hint=f"Terms with characters other than letters, digits and _ are quoted: "
                    f'"{text[cursor.pos : end]}".',
                )
            word = found.group()
            cursor.pos = found.end()
        terms.append(_Term(word, mode))
        first_modes.setdefault(mode, start)
    if "or" in first_modes and len(first_modes) > 1:
        other = min(v for k, v in first_modes.items() if k != "or")
        raise _error(
            text,
            other,
            "A pattern of ?terms (OR) cannot also hold plain or -excluded terms.",
            hint="Write every term with ? (?ERROR ?WARN), or none of them (ERROR -WARN).",
        )
    return tuple(terms)


def _terms_matcher(terms: tuple[_Term, ...]) -> Callable[[str], bool]:
    if terms and terms[0].mode == "or":
        words = [t.text for t in terms]
        return lambda m: any(w in m for w in words)
    required = [t.text for t in terms if t.mode == "and"]
    excluded = [t.text for t in terms if t.mode == "not"]
    return lambda m: all(w in m for w in required) and not any(w in m for w in excluded)


# --------------------------------------------------------------------------------------------
# JSON patterns
# --------------------------------------------------------------------------------------------

Selector = tuple[str | int, ...]


def _parse_selector(cursor: _Cursor) -> tuple[Selector, str]:
    cursor.skip_ws()
    start = cursor.pos
    if cursor.pos >= cursor.end or cursor.text[cursor.pos] != "$":
        raise cursor.error(
            "Expected a selector starting with $ (the root of the JSON event).",
            hint="e.g. { $.status = 500 } or { $.users[0].id = 2 }",
        )
    cursor.pos += 1
    parts: list[str | int] = []
    while cursor.pos < cursor.end:
        char = cursor.text[cursor.pos]
        if char == ".":
            found = _IDENT.match(cursor.text, cursor.pos + 1)
            if found is None:
                raise cursor.error(
                    "Expected a member name after '.'.",
                    hint="Names are letters, digits, - and _; array elements are [N].",
                    at=cursor.pos + 1,
                )
            parts.append(found.group())
            cursor.pos = found.end()
        elif char == "[":
            close = cursor.text.find("]", cursor.pos)
            inside = cursor.text[cursor.pos + 1 : close] if close > 0 else ""
            if close < 0 or not inside.strip().isdigit():
                raise cursor.error(
                    "Expected an array index such as [0].",
                    hint="Array elements are written [NUMBER] after a member: $.users[0].",
                )
            parts.append(int(inside))
            cursor.pos = close + 1
        else:
            break
    if not parts:
        raise cursor.error(
            "A selector needs at least one member after $.",
            hint="e.g. $.eventType",
            at=start + 1,
        )
    return tuple(parts), cursor.text[start : cursor.pos]


def _resolve(doc: Any, selector: Selector) -> Any:
    node = doc
    for part in selector:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return _MISSING
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return _MISSING
            node = node[part]
    return node


def _value_text(node: Any) -> str | None:
    """The text a string comparison sees: strings and numbers only (value nodes)."""
    if isinstance(node, str):
        return node
    if isinstance(node, bool) or node is None:
        return None
    if isinstance(node, int):
        return str(node)
    if isinstance(node, float):
        return repr(node)
    return None


def _is_number(node: Any) -> bool:
    return isinstance(node, int | float) and not isinstance(node, bool)


_NUMERIC = {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class _Condition:
    selector: Selector
    text: str
    test: Callable[[Any], bool]
    required: str | None = None  # substring that must be in the raw message for a match


def _json_condition(cursor: _Cursor) -> _Condition:
    selector, sel_text = _parse_selector(cursor)
    start = cursor.pos
    if cursor.keyword("IS"):
        if cursor.keyword("NULL"):
            return _Condition(selector, sel_text + " IS NULL", lambda n: n is None)
        if cursor.keyword("TRUE"):
            return _Condition(selector, sel_text + " IS TRUE", lambda n: n is True)
        if cursor.keyword("FALSE"):
            return _Condition(selector, sel_text + " IS FALSE", lambda n: n is False)
        raise cursor.error("Expected NULL, TRUE or FALSE after IS.")
    if cursor.keyword("NOT"):
        if cursor.keyword("EXISTS"):
            return _Condition(selector, sel_text + " NOT EXISTS", lambda n: n is _MISSING)
        raise cursor.error(
            "Expected EXISTS after NOT.", hint="e.g. { $.SomeOtherObject NOT EXISTS }"
        )
    if cursor.keyword("EXISTS"):
        return _Condition(selector, sel_text + " EXISTS", lambda n: n is not _MISSING)
    op = cursor.operator()
    if op is None:
        raise cursor.error(
            f"Expected an operator after {sel_text}.",
            hint="Use = != < > <= >=, or IS NULL, IS TRUE, IS FALSE, NOT EXISTS.",
            at=start if cursor.pos == start else None,
        )
    cursor.skip_ws()
    value_at = cursor.pos
    literal = cursor.literal(")}", context=op)
    if op in _NUMERIC:
        if literal.kind != "number":
            raise _error(
                cursor.text,
                value_at,
                f"The operator {op} compares numbers, but {literal.text!r} is not a number.",
                hint="Use = or != to compare strings (with * wildcards), or write a number.",
            )
        compare, number = _NUMERIC[op], literal.number
        return _Condition(
            selector,
            f"{sel_text} {op} {literal.text}",
            lambda n: _is_number(n) and compare(n, number),
        )

    if literal.kind == "number":
        number, written = literal.number, literal.text

        def equal(n: Any) -> bool:
            if _is_number(n):
                return n == number
            return isinstance(n, str) and n == written

    else:
        test = literal.string_test()

        def equal(n: Any) -> bool:
            text = _value_text(n)
            return text is not None and test(text)

    if op == "=":
        return _Condition(
            selector, f"{sel_text} = {literal.text}", equal, required=literal.required_substring()
        )

    def different(n: Any) -> bool:
        return _value_text(n) is not None and not equal(n)

    return _Condition(selector, f"{sel_text} != {literal.text}", different)


@dataclass(frozen=True)
class _Node:
    op: Literal["and", "or", "cond"]
    children: tuple[_Node, ...] = ()
    condition: _Condition | None = None

    def evaluate(self, doc: Any) -> bool:
        if self.op == "cond":
            assert self.condition is not None
            return self.condition.test(_resolve(doc, self.condition.selector))
        if self.op == "and":
            return all(c.evaluate(doc) for c in self.children)
        return any(c.evaluate(doc) for c in self.children)

    def required(self) -> set[str]:
        """Substrings every matching message must contain (a conservative prefilter)."""
        if self.op == "cond":
            assert self.condition is not None
            found = {self.condition.required} if self.condition.required else set()
            # Every test but NOT EXISTS needs the member, so its name appears in the text as
            # "name" (JSON writes such names verbatim: letters, digits, - and _ are never escaped).
            last = self.condition.selector[-1]
            if not self.condition.text.endswith(" NOT EXISTS") and isinstance(last, str):
                found.add(f'"{last}"')
            return found
        if self.op == "and":
            return set().union(*(c.required() for c in self.children))
        sets = [c.required() for c in self.children]
        return set.intersection(*sets) if sets else set()


def _json_or(cursor: _Cursor) -> _Node:
    nodes = [_json_and(cursor)]
    while cursor.take("||"):
        nodes.append(_json_and(cursor))
    return nodes[0] if len(nodes) == 1 else _Node("or", tuple(nodes))


def _json_and(cursor: _Cursor) -> _Node:
    nodes = [_json_unary(cursor)]
    while cursor.take("&&"):
        nodes.append(_json_unary(cursor))
    return nodes[0] if len(nodes) == 1 else _Node("and", tuple(nodes))


def _json_unary(cursor: _Cursor) -> _Node:
    cursor.skip_ws()
    if cursor.take("("):
        open_at = cursor.pos - 1
        node = _json_or(cursor)
        if not cursor.take(")"):
            raise cursor.error(
                "Expected ')' to close the parenthesis.",
                hint=f"The parenthesis opened at offset {open_at} is not closed.",
            )
        return node
    return _Node("cond", condition=_json_condition(cursor))


def _parse_json(text: str, start: int, end: int) -> _Node:
    cursor = _Cursor(text, start + 1, end)
    if cursor.at_end():
        raise _error(
            text, start + 1, "This JSON pattern has no condition.", "e.g. { $.status = 500 }"
        )
    node = _json_or(cursor)
    if not cursor.at_end():
        raise cursor.error(
            "Unexpected text here: conditions are joined with && or ||.",
            hint='e.g. { $.status >= 500 && $.service = "payments" }',
        )
    return node


# --------------------------------------------------------------------------------------------
# Space-delimited patterns
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FieldCondition:
    name: str
    op: str
    literal: _Literal

    def test(self, value: str) -> bool:
        lit = self.literal
        if self.op in _NUMERIC:
            number = _to_number(value)
            return number is not None and _NUMERIC[self.op](number, lit.number)
        if lit.kind == "number":
            number = _to_number(value)
            equal = (number == lit.number) if number is not None else value == lit.text
        else:
            equal = lit.string_test()(value)
        return equal if self.op == "=" else not equal


def _to_number(value: str) -> float | None:
    return float(value) if _NUMBER.fullmatch(value) else None


@dataclass(frozen=True)
class _Item:
    """One comma-separated item: ``...``, or a named field with optional conditions."""

    name: str | None  # None for "..."
    clauses: tuple[tuple[_FieldCondition, ...], ...] = ()  # OR of ANDs

    @property
    def names(self) -> set[str]:
        return {c.name for clause in self.clauses for c in clause}

    def test(self, fields: Mapping[str, str]) -> bool:
        if not self.clauses:
            return True
        return any(all(c.test(fields[c.name]) for c in clause) for clause in self.clauses)


def _parse_delimited(text: str, start: int, end: int) -> tuple[_Item, ...]:
    cursor = _Cursor(text, start + 1, end)
    items: list[_Item] = []
    if cursor.at_end():
        raise cursor.error(
            "This space-delimited pattern names no field.", "e.g. [ip, user, status]"
        )
    while True:
        cursor.skip_ws()
        item_at = cursor.pos
        if cursor.pos >= cursor.end or cursor.text[cursor.pos] == ",":
            # An empty item is a field without a name: the guide's [..., status_code=4*,] has
            # one after status_code (extracted only as $N).
            items.append(_Item(""))
        elif cursor.take("..."):
            items.append(_Item(None))
        else:
            clauses: list[list[_FieldCondition]] = [[]]
            first_name: str | None = None
            while True:
                cursor.skip_ws()
                found = _FIELD_NAME.match(cursor.text, cursor.pos)
                if found is None or found.start() >= cursor.end:
                    raise cursor.error(
                        "Expected a field name (or ...).",
                        hint="Name every field, e.g. [ip, user, timestamp, request, status].",
                    )
                name = found.group()
                cursor.pos = found.end()
                first_name = first_name or name
                op = cursor.operator()
                if op is not None:
                    cursor.skip_ws()
                    value_at = cursor.pos
                    literal = cursor.literal(",]", context=op)
                    if op in _NUMERIC and literal.kind != "number":
                        raise _error(
                            text,
                            value_at,
                            f"The operator {op} compares numbers, but {literal.text!r} is not one.",
                        )
                    clauses[-1].append(_FieldCondition(name, op, literal))
                elif name != first_name or clauses[-1]:
                    raise cursor.error(f"Expected an operator after {name}.")
                if cursor.take("&&"):
                    continue
                if cursor.take("||"):
                    clauses.append([])
                    continue
                break
            if any(not clause for clause in clauses) and len(clauses) > 1:
                raise _error(text, item_at, "Every side of || needs a condition.")
            items.append(_Item(first_name, tuple(tuple(c) for c in clauses if c)))
        if cursor.pos >= cursor.end and items[-1].name == "":
            break
        if not cursor.take(","):
            if not cursor.at_end():
                raise cursor.error("Expected ',' between fields.", hint="e.g. [ip, user, status]")
            break
    declared = [i.name for i in items if i.name]
    seen: set[str] = set()
    for item in items:
        if item.name and item.name in seen:
            raise _error(
                text, text.find(item.name, start), f"The field name {item.name!r} is used twice."
            )
        if item.name:
            seen.add(item.name)
    for item in items:
        unknown = sorted(item.names - set(declared))
        if unknown:
            raise _error(
                text,
                text.find(unknown[0], start),
                f"The condition names {unknown[0]!r}, which is not a field of this pattern.",
                hint="A condition can test any field the pattern names; add the field, or fix "
                "the name.",
            )
    return tuple(items)


def split_fields(message: str) -> list[str]:
    """Split a message into space-delimited fields; ``[…]`` and ``"…"`` are one field each.

    The brackets and quotes themselves are not part of the field, as in the guide's example,
    where ``[10/Oct/2000:13:25:15 -0700]`` is extracted as ``10/Oct/2000:13:25:15 -0700``.
    """
    fields, i, n = [], 0, len(message)
    while i < n:
        char = message[i]
        if char.isspace():
            i += 1
            continue
        if char in '["':
            close = message.find("]" if char == "[" else '"', i + 1)
            if close < 0:
                fields.append(message[i + 1 :])
                break
            fields.append(message[i + 1 : close])
            i = close + 1
            continue
        j = i
        while j < n and not message[j].isspace():
            j += 1
        fields.append(message[i:j])
        i = j
    return fields


def _bind(items: Sequence[_Item], tokens: Sequence[str]) -> Iterable[dict[str, str]]:
    """Every way the items can take the tokens (``...`` takes any number), in order."""

    def walk(i: int, t: int, bound: dict[str, str]) -> Iterable[dict[str, str]]:
        if i == len(items):
            if t == len(tokens):
                yield dict(bound)
            return
        item = items[i]
        if item.name is None:
            for k in range(t, len(tokens) + 1):
                yield from walk(i + 1, k, bound)
            return
        if t >= len(tokens):
            return
        if not item.name:  # a field without a name takes one token
            yield from walk(i + 1, t + 1, bound)
            return
        bound[item.name] = tokens[t]
        own = not item.clauses or item.names == {item.name}
        if not own or item.test(bound):
            yield from walk(i + 1, t + 1, bound)
        del bound[item.name]

    if all(item.name is not None for item in items) and len(items) != len(tokens):
        return iter(())
    return walk(0, 0, {})


# --------------------------------------------------------------------------------------------
# The compiled pattern
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterPattern:
    """A parsed CloudWatch Logs filter pattern; see the module docstring for the syntax.

    Build one with :func:`compile_pattern`. ``matches`` tests one message, ``match_many`` a batch
    (a boolean array), and ``extract`` returns the fields a metric filter can publish.

    Attributes:
        text: The pattern as written.
        kind: ``"all"`` (empty), ``"terms"``, ``"regex"``, ``"json"`` or ``"delimited"``.
    """

    text: str
    kind: Kind
    _test: Callable[[str], bool] = field(repr=False, compare=False)
    _json: _Node | None = field(default=None, repr=False, compare=False)
    _items: tuple[_Item, ...] = field(default=(), repr=False, compare=False)
    _required: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def matches(self, message: str) -> bool:
        """Return True when ``message`` matches this pattern, as CloudWatch Logs decides."""
        if not isinstance(message, str):
            raise InputError(
                f"A log event message is a string, got {type(message).__name__}.",
                where="message",
            )
        return self._test(message)

    def match_many(self, messages: Iterable[str]) -> np.ndarray:
        """Return a boolean array: which of ``messages`` match (fast path for many events)."""
        items = messages if isinstance(messages, list | tuple) else list(messages)
        test, required = self._test, self._required
        if required:
            return np.fromiter(
                (all(r in m for r in required) and test(m) for m in items), bool, len(items)
            )
        return np.fromiter((test(m) for m in items), bool, len(items))

    def extract(self, message: str) -> dict[str, Any] | None:
        """Return what a match extracts, or None when ``message`` does not match.

        * Space-delimited patterns: ``{"$name": value, …, "$1": first field, …}`` (strings).
        * JSON patterns: the parsed event (resolve ``$.selectors`` in it with :meth:`value_of`).
        * Other patterns extract nothing: ``{}``.
        """
        if self.kind == "delimited":
            tokens = split_fields(message)
            for bound in _bind(self._items, tokens):
                if all(item.test(bound) for item in self._items if item.name):
                    out: dict[str, Any] = {f"${k}": v for k, v in bound.items()}
                    out.update({f"${i}": v for i, v in enumerate(tokens, start=1)})
                    return out
            return None
        if self.kind == "json":
            doc = _load(message)
            if doc is _MISSING or self._json is None or not self._json.evaluate(doc):
                return None
            return {"$": doc}
        return {} if self._test(message) else None

    @staticmethod
    def value_of(reference: str, extracted: Mapping[str, Any]) -> Any:
        """Resolve ``$.selector`` (JSON) or ``$name`` (space-delimited) in :meth:`extract`'s result.

        Returns the value, or None when the event has no such member or field.
        """
        if reference.startswith(("$.", "$[")):
            doc = extracted.get("$", _MISSING)
            if doc is _MISSING:
                return None
            cursor = _Cursor(reference)
            selector, _ = _parse_selector(cursor)
            if not cursor.at_end():
                raise cursor.error("Unexpected text after the selector.")
            value = _resolve(doc, selector)
            return None if value is _MISSING else value
        return extracted.get(reference)


def _load(message: str) -> Any:
    try:
        return json.loads(message)
    except (ValueError, RecursionError):
        return _MISSING


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> FilterPattern:
    """Parse a CloudWatch Logs filter pattern once; reuse the result for many events.

    Raises:
        InputError: The pattern is not valid; the message names the offset and shows a caret.
    """
    if not isinstance(pattern, str):
        raise InputError(
            f"A filter pattern is a string, got {type(pattern).__name__}.",
            where="pattern",
            hint='e.g. "ERROR" or "{ $.status >= 500 }"',
        )
    if len(pattern) > _MAX_LENGTH:
        raise _error(
            pattern, _MAX_LENGTH, f"A filter pattern is at most {_MAX_LENGTH} characters long."
        )
    stripped = pattern.strip()
    if not stripped:
        return FilterPattern(pattern, "all", lambda m: True)
    first = len(pattern) - len(pattern.lstrip())
    last = len(pattern.rstrip()) - 1
    if pattern[first] == "{":
        if pattern[last] != "}":
            raise _error(
                pattern, last + 1, "A JSON pattern must end with '}'.", "e.g. { $.status = 500 }"
            )
        node = _parse_json(pattern, first, last)

        def test_json(message: str) -> bool:
            doc = _load(message)
            return doc is not _MISSING and node.evaluate(doc)

        return FilterPattern(pattern, "json", test_json, node, (), tuple(sorted(node.required())))
    if pattern[first] == "[":
        if pattern[last] != "]":
            raise _error(pattern, last + 1, "A space-delimited pattern must end with ']'.")
        items = _parse_delimited(pattern, first, last)

        def test_delimited(message: str) -> bool:
            tokens = split_fields(message)
            return any(
                all(item.test(b) for item in items if item.name) for b in _bind(items, tokens)
            )

        return FilterPattern(pattern, "delimited", test_delimited, None, items)
    if pattern[first] == "%":
        cursor = _Cursor(pattern, first)
        _, compiled = cursor.regex()
        if not cursor.at_end():
            raise cursor.error(
                "A regular expression pattern stands alone: nothing may follow the closing %.",
                hint="Put everything inside one %…%, or use terms without %.",
            )
        return FilterPattern(pattern, "regex", lambda m: compiled.search(m) is not None)
    terms = _parse_terms(pattern)
    return FilterPattern(pattern, "terms", _terms_matcher(terms))


def matches(pattern: str, message: str) -> bool:
    """Return True when the log event ``message`` matches the filter ``pattern``.

    Implements the documented syntax (module docstring; guide:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).

    Example:
        >>> matches("{ $.status >= 500 }", '{"status": 502}')
        True
        >>> matches("ERROR -Exiting", "Exiting with ERRORCODE: -1")
        False

    Raises:
        InputError: The pattern is not valid (the message shows where, with a caret).
    """
    return compile_pattern(pattern).matches(message)
