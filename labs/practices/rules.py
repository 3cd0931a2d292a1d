"""AWS AppConfig's rule language for multi-variant feature flags: parse, evaluate, split.

A *variant rule* is a prefix expression in parentheses that takes context values as input and
gives ``true`` or ``false`` ("Defining rules for multi-variant feature flags",
https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-multi-variant-feature-flags-rules-operators.html):

========================  =====================================================================
Operands                  ``"a string"`` (double quotes, ``\\"`` and ``\\\\`` escapes), integers
                          (``-7``, ``42``), floats (``3.14``, ``1.234e-5``), timestamps in the
                          W3C date-time formats (``2012-03-04T05:06:07-08:00``, ``2024-01``),
                          ``true``/``false``, context values ``$key``, lists ``["a", "b"]``
Comparison                ``(eq $state "Virginia")``, ``gt``, ``gte``, ``lt``, ``lte``
Logical                   ``(and e1 e2 ...)``, ``(or e1 e2 ...)``, ``(not e)``
Custom                    ``(begins_with $state "A")``, ``(ends_with $email "amazon.com")``,
                          ``(contains $promoCode "WIN")``, ``(in $userId ["123", "456"])``,
                          ``(matches in::$greeting pattern::"h.*y")``,
                          ``(exists key::"country")``,
                          ``(split pct::10 by::$userId seed::"abc")``
========================  =====================================================================

Variants are evaluated **in order** and the first whose rule matches is returned; the last,
the *default* variant, has no rule ("Understanding multi-variant feature flag rules",
https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-multi-variant-feature-flags-rules.html).

**The split hash.** ``split`` is true "for a given percentage of traffic based on a consistent
hash of the provided context value". AWS does not publish its hash function, so this module
uses a documented, stable one: the first 8 bytes of SHA-256 of ``salt + "\\x1f" + value``,
read as an unsigned 64-bit integer ``u``; the value is in the split when
``u < pct/100 * 2**64`` (its *bucket*, ``100 * u / 2**64``, is below ``pct``). The salt is
``seed::`` when given (the same id splits the same way in every flag, profile and account, as
the guide says of ``seed``), otherwise the flag's key (the guide's "*locally* consistent":
consistent within the flag, different across flags). **The bucket a given id lands in differs
from AWS's**; the documented semantics hold: the same id always gets the same answer, a split
of ``pct`` takes ``pct`` percent of ids, raising ``pct`` only adds ids (so a gradual rollout
keeps its earlier users), and ordered variants that split on the same value and seed share one
hash space — ``A: pct::20, B: pct::25`` gives A 20%, B 5%, the default 75%.

Choices where the guide is silent, each tested:

* **Types.** Context values reach the AppConfig Agent as HTTP header text
  (``Context: key=value``), so a context value is converted to the type of the literal it is
  compared with: ``(gt $age 65)`` compares ``"70"`` as the number 70, ``(eq $beta true)`` reads
  ``"true"``, a timestamp literal parses the context value as a W3C date-time. A value that
  cannot be converted makes the comparison false. Strings compare by code point.
* **Missing context.** A comparison, ``in``, ``matches``, ``split`` or string operator on a
  missing context key is false (so ``(not ...)`` of it is true); ``exists`` is the way to test
  for a key.
* **``and``/``or``** take two or more operands (the guide shows two), ``not`` exactly one.
* **``matches``** searches for the pattern anywhere in the value (Python :func:`re.search`), as
  JSON Schema's ``pattern`` does; anchor it with ``^...$`` for a full match.
* A ``timestamp`` without a time zone is UTC.

Malformed rules raise :class:`RuleError`, which names the character offset and draws a caret
under it.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from labs.errors import InputError

__all__ = [
    "COMPARISONS",
    "OPERATORS",
    "OPERATORS_URL",
    "RULES_URL",
    "Rule",
    "RuleError",
    "bucket",
    "buckets",
    "in_split",
    "parse_rule",
    "rule_mask",
    "rule_matches",
]

OPERATORS_URL = (
    "https://docs.aws.amazon.com/appconfig/latest/userguide/"
    "appconfig-creating-multi-variant-feature-flags-rules-operators.html"
)
RULES_URL = (
    "https://docs.aws.amazon.com/appconfig/latest/userguide/"
    "appconfig-creating-multi-variant-feature-flags-rules.html"
)

COMPARISONS = ("eq", "gt", "gte", "lt", "lte")
"""The comparison operators."""
OPERATORS: tuple[str, ...] = (
    *COMPARISONS,
    "and",
    "or",
    "not",
    "begins_with",
    "ends_with",
    "contains",
    "in",
    "matches",
    "exists",
    "split",
)
"""Every operator of the rule language, in the guide's order."""

_MAX_RULE = 16384  # "rule": {"type": "string", "maxLength": 16384} in the FeatureFlags schema
_TWO_64 = 2**64
_MISSING: Any = object()  # a context key that is not there


class RuleError(InputError):
    """A variant rule that cannot be parsed: what is wrong, at which character, with a caret.

    Attributes:
        rule: The rule text.
        position: The character offset (0-based) the error points at.
        problem: The problem alone, without the caret drawing.
    """

    def __init__(
        self, problem: str, rule: str, position: int, *, where: str | None = None, hint: str = ""
    ) -> None:
        self.rule = rule
        self.position = max(0, min(position, len(rule)))
        self.problem = problem
        place = f"character {self.position}"
        super().__init__(
            f"{problem}\n{_caret(rule, self.position)}",
            where=f"{where}, {place}" if where else f"rule, {place}",
            hint=hint or f"The rule language is described at {OPERATORS_URL}",
        )

    def located(self, where: str) -> RuleError:
        """Return the same error, placed at ``where`` (e.g. a JSON path in a flag document)."""
        return RuleError(self.problem, self.rule, self.position, where=where, hint=self.hint or "")


def _caret(rule: str, position: int) -> str:
    """The line of ``rule`` holding ``position``, and a caret under that character."""
    start = rule.rfind("\n", 0, position) + 1
    end = rule.find("\n", position)
    line = rule[start : end if end >= 0 else len(rule)]
    return f"    {line}\n    {' ' * (position - start)}^"


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ATOM_END = re.compile(r"[\s()\[\]\",]")
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_TIMESTAMP = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<h>\d{2}):(?P<mi>\d{2})(:(?P<s>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?"
)


@dataclass(frozen=True)
class _Token:
    kind: str  # ( ) [ ] , string number word named context
    text: str
    pos: int
    value: Any = None


def _tokens(rule: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(rule)
    while i < n:
        ch = rule[i]
        if ch.isspace():
            i += 1
        elif ch in "()[],":
            out.append(_Token(ch, ch, i))
            i += 1
        elif ch == '"':
            value, end = _string(rule, i)
            out.append(_Token("string", rule[i:end], i, value))
            i = end
        elif ch == "$":
            match = _KEY.match(rule, i + 1)
            if not match:
                raise RuleError(
                    "'$' must be followed by the name of a context key, e.g. $userId.", rule, i
                )
            out.append(_Token("context", rule[i : match.end()], i, match.group()))
            i = match.end()
        elif ch.isalpha() or ch == "_":
            match = _WORD.match(rule, i)
            assert match is not None
            end = match.end()
            if rule.startswith("::", end):
                out.append(_Token("named", rule[i : end + 2], i, match.group()))
                i = end + 2
            else:
                out.append(_Token("word", match.group(), i, match.group()))
                i = end
        elif ch.isdigit() or (ch in "+-." and i + 1 < n and (rule[i + 1].isdigit() or ch != ".")):
            match = _ATOM_END.search(rule, i)
            end = match.start() if match else n
            out.append(_Token("number", rule[i:end], i))
            i = end
        else:
            raise RuleError(f"Unexpected character {ch!r}.", rule, i)
    return out


def _string(rule: str, start: int) -> tuple[str, int]:
    """Read the double-quoted string starting at ``start``; return its value and end offset."""
    chars: list[str] = []
    i = start + 1
    while i < len(rule):
        ch = rule[i]
        if ch == "\\" and i + 1 < len(rule):
            chars.append({"n": "\n", "t": "\t"}.get(rule[i + 1], rule[i + 1]))
            i += 2
        elif ch == '"':
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    raise RuleError("This string is never closed: a '\"' is missing.", rule, start)


def _number_literal(token: _Token, rule: str) -> _Literal:
    text = token.text
    if _INT.fullmatch(text):
        return _Literal(int(text), "number", token.pos)
    if _FLOAT.fullmatch(text):
        return _Literal(float(text), "number", token.pos)
    if _TIMESTAMP.fullmatch(text):
        stamp = _parse_timestamp(text)
        if stamp is None:
            raise RuleError(f"{text!r} is not a real date or time.", rule, token.pos)
        return _Literal(stamp, "timestamp", token.pos)
    raise RuleError(
        f"{text!r} is neither a number nor a W3C timestamp.",
        rule,
        token.pos,
        hint="Numbers look like -7, 42, 3.14 or 1.234e-5; timestamps like 2024-01, 2024-01-31 or "
        "2012-03-04T05:06:07-08:00. Text goes in double quotes.",
    )


def _parse_timestamp(text: str) -> datetime | None:
    """A W3C date-time (https://www.w3.org/TR/NOTE-datetime) as an aware datetime, or None."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if not match:
        return None
    g = match.groupdict()
    try:
        stamp = datetime(
            int(g["y"]),
            int(g["mo"]),
            int(g["d"] or 1),
            int(g["h"] or 0),
            int(g["mi"] or 0),
            int(g["s"] or 0),
            round(float(g["f"] or 0) * 1_000_000),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    tz = g["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        offset = sign * (int(tz[1:3]) * 60 + int(tz[4:6]))
        stamp = stamp - timedelta(minutes=offset)
    return stamp


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Literal:
    value: Any
    kind: str  # string | number | timestamp | bool
    pos: int


@dataclass(frozen=True)
class _Context:
    key: str
    pos: int


@dataclass(frozen=True)
class _List:
    items: tuple[_Literal, ...]
    pos: int


@dataclass(frozen=True)
class _Call:
    op: str
    args: tuple[Any, ...]
    named: Mapping[str, Any]
    pos: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # compiled regex, split threshold


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = _tokens(rule)
        self.i = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.error("The rule ends too early.", len(self.rule))
        self.i += 1
        return token

    def error(self, problem: str, pos: int, hint: str = "") -> RuleError:
        return RuleError(problem, self.rule, pos, hint=hint)

    def parse(self) -> _Call:
        first = self.peek()
        if first is None:
            raise self.error(
                "The rule is empty.",
                0,
                'Write an expression in parentheses, e.g. (eq $plan "premium").',
            )
        if first.kind != "(":
            raise self.error(
                f"A rule is an expression in parentheses; it starts with {first.text!r}.",
                first.pos,
                'Write e.g. (eq $plan "premium") — operator first, then its operands.',
            )
        node = self.call()
        extra = self.peek()
        if extra is not None:
            raise self.error(
                f"Unexpected {extra.text!r} after the end of the rule.",
                extra.pos,
                "A rule is one expression: combine several with (and ...) or (or ...).",
            )
        return node

    def call(self) -> _Call:
        opening = self.take()
        assert opening.kind == "("
        token = self.peek()
        if token is None or token.kind != "word":
            raise self.error(
                "Expected an operator after '('.",
                token.pos if token else len(self.rule),
                f"Operators: {', '.join(OPERATORS)}.",
            )
        self.i += 1
        op = token.value
        if op not in OPERATORS:
            close = difflib.get_close_matches(op, OPERATORS, n=1)
            raise self.error(
                f"Unknown operator {op!r}.",
                token.pos,
                (f"Did you mean {close[0]!r}? " if close else "")
                + f"Operators: {', '.join(OPERATORS)}.",
            )
        args: list[Any] = []
        named: dict[str, tuple[Any, int]] = {}
        while True:
            token = self.peek()
            if token is None:
                raise self.error(
                    f"The '(' at character {opening.pos} is never closed: a ')' is missing.",
                    len(self.rule),
                )
            if token.kind == ")":
                self.i += 1
                break
            if token.kind == "named":
                self.i += 1
                if token.value in named:
                    raise self.error(f"{token.value}:: is given twice.", token.pos)
                named[token.value] = (self.operand(), token.pos)
            else:
                args.append(self.operand())
        return _check_call(self, op, args, named, opening.pos)

    def operand(self) -> Any:
        token = self.peek()
        if token is None:
            raise self.error("The rule ends where an operand was expected.", len(self.rule))
        if token.kind == "(":
            return self.call()
        self.i += 1
        if token.kind == "string":
            return _Literal(token.value, "string", token.pos)
        if token.kind == "number":
            return _number_literal(token, self.rule)
        if token.kind == "context":
            return _Context(token.value, token.pos)
        if token.kind == "word":
            if token.value in ("true", "false"):
                return _Literal(token.value == "true", "bool", token.pos)
            if token.value in OPERATORS:
                raise self.error(
                    f"The operator {token.value!r} must open its own expression: "
                    f"({token.value} ...).",
                    token.pos,
                )
            raise self.error(
                f"{token.value!r} is not an operand.",
                token.pos,
                'Text goes in double quotes ("premium"); context values start with $ ($plan).',
            )
        if token.kind == "[":
            return self.list(token)
        raise self.error(f"Unexpected {token.text!r}.", token.pos)

    def list(self, opening: _Token) -> _List:
        items: list[_Literal] = []
        while True:
            token = self.peek()
            if token is None:
                raise self.error(
                    f"The '[' at character {opening.pos} is never closed: a ']' is missing.",
                    len(self.rule),
                )
            self.i += 1
            if token.kind == "]":
                return _List(tuple(items), opening.pos)
            if token.kind == ",":
                continue
            if token.kind == "string":
                items.append(_Literal(token.value, "string", token.pos))
            elif token.kind == "number":
                items.append(_number_literal(token, self.rule))
            elif token.kind == "word" and token.value in ("true", "false"):
                items.append(_Literal(token.value == "true", "bool", token.pos))
            else:
                raise self.error(
                    f"A list holds constants only; found {token.text!r}.",
                    token.pos,
                    'e.g. (in $userId ["123", "456"]).',
                )


def _is_value(node: Any) -> bool:
    return isinstance(node, _Literal | _Context | _Call)


def _check_call(
    parser: _Parser, op: str, args: list[Any], named: dict[str, tuple[Any, int]], pos: int
) -> _Call:
    """Check the operands of one operator (count, kinds, named arguments) and build the node."""
    err = parser.error
    allowed_named = {
        "matches": ("in", "pattern"),
        "exists": ("key",),
        "split": ("pct", "by", "seed"),
    }
    wanted = allowed_named.get(op, ())
    for name, (_, npos) in named.items():
        if name not in wanted:
            raise err(
                f"{op} takes no {name}:: argument"
                + (f"; it takes {', '.join(w + '::' for w in wanted)}." if wanted else "."),
                npos,
            )
    if op in allowed_named and args:
        first = args[0]
        example = {
            "matches": '(matches in::$greeting pattern::"h.*y")',
            "exists": '(exists key::"country")',
            "split": "(split pct::10 by::$userId)",
        }[op]
        raise err(f"{op} takes named arguments only, e.g. {example}.", _pos(first))
    extra: dict[str, Any] = {}

    def need(count: int, what: str) -> None:
        if len(args) != count:
            where = _pos(args[count]) if len(args) > count else pos
            raise err(f"{op} takes {what}; it was given {len(args)}.", where)

    if op in COMPARISONS or op in ("begins_with", "ends_with", "contains"):
        need(2, "two operands")
        for a in args:
            if isinstance(a, _List):
                raise err(f"{op} compares single values, not a list.", a.pos)
        if op not in COMPARISONS:
            for a in args:
                if isinstance(a, _Literal) and a.kind != "string":
                    raise err(f"{op} works on text; {a.value!r} is not a string.", a.pos)
    elif op in ("and", "or"):
        if len(args) < 2:
            raise err(f"{op} takes two or more expressions; it was given {len(args)}.", pos)
        for a in args:
            _need_boolean(parser, op, a)
    elif op == "not":
        need(1, "one expression")
        _need_boolean(parser, op, args[0])
    elif op == "in":
        need(2, "a value and a list")
        if isinstance(args[0], _List):
            raise err("in tests a single value against a list; the value comes first.", pos)
        if not isinstance(args[1], _List):
            raise err(
                "The second operand of in must be a list of constants.",
                _pos(args[1]),
                'e.g. (in $userId ["123", "456"]).',
            )
    elif op == "matches":
        for name in ("in", "pattern"):
            if name not in named:
                raise err(
                    f'matches needs {name}::, e.g. (matches in::$greeting pattern::"h.*y").', pos
                )
        pattern, ppos = named["pattern"]
        if not (isinstance(pattern, _Literal) and pattern.kind == "string"):
            raise err("pattern:: must be a regular expression in double quotes.", ppos)
        try:
            extra["regex"] = re.compile(pattern.value)
        except re.error as exc:
            raise err(f"pattern:: is not a valid regular expression: {exc}.", pattern.pos) from None
        if isinstance(named["in"][0], _List):
            raise err("in:: takes a single value, not a list.", named["in"][1])
    elif op == "exists":
        if "key" not in named:
            raise err('exists needs key::, e.g. (exists key::"country").', pos)
        key, kpos = named["key"]
        if not (isinstance(key, _Literal) and key.kind == "string"):
            raise err('key:: names a context key in double quotes, e.g. key::"country".', kpos)
    elif op == "split":
        for name in ("pct", "by"):
            if name not in named:
                raise err(f"split needs {name}::, e.g. (split pct::10 by::$userId).", pos)
        pct, ppos = named["pct"]
        if not (isinstance(pct, _Literal) and pct.kind == "number"):
            raise err("pct:: must be a number from 0 to 100.", ppos)
        if not 0 <= pct.value <= 100:
            raise err(f"pct:: must be between 0 and 100, got {pct.value}.", pct.pos)
        by, bpos = named["by"]
        if not isinstance(by, _Context):
            raise err("by:: must be a context value, e.g. by::$userId.", bpos)
        if "seed" in named:
            seed, spos = named["seed"]
            if not (isinstance(seed, _Literal) and seed.kind == "string"):
                raise err('seed:: must be a string in double quotes, e.g. seed::"abc".', spos)
        extra["threshold"] = _threshold(pct.value)
    return _Call(op, tuple(args), {k: v for k, (v, _) in named.items()}, pos, extra)


def _need_boolean(parser: _Parser, op: str, node: Any) -> None:
    if isinstance(node, _Call | _Context):
        return
    if isinstance(node, _Literal) and node.kind == "bool":
        return
    raise parser.error(
        f"{op} combines true/false expressions; {_describe(node)} is not one.", _pos(node)
    )


def _describe(node: Any) -> str:
    if isinstance(node, _Literal):
        return repr(node.value)
    if isinstance(node, _List):
        return "a list"
    return "this"


def _pos(node: Any) -> int:
    return int(node.pos)


# --------------------------------------------------------------------------------------------
# The split hash
# --------------------------------------------------------------------------------------------


def _threshold(pct: float) -> int:
    """The integer T such that ``u < T`` exactly when ``u < pct/100 * 2**64`` (u an integer)."""
    return math.ceil(Fraction(str(pct)) * _TWO_64 / 100)


def _salt(seed: str | None, flag: str | None) -> str:
    return f"seed\x1f{seed}" if seed is not None else f"flag\x1f{flag or ''}"


def _key_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _hash64(salt: str, value: Any) -> int:
    digest = hashlib.sha256(f"{salt}\x1f{_key_text(value)}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _hash64_many(salt: str, values: Sequence[Any]) -> np.ndarray:
    base = hashlib.sha256(f"{salt}\x1f".encode())  # the salt is hashed once, then copied
    digests = []
    for value in values:
        h = base.copy()
        h.update(_key_text(value).encode())
        digests.append(h.digest()[:8])
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(np.uint64)


def bucket(value: Any, *, seed: str | None = None, flag: str | None = None) -> float:
    """Return the bucket, in [0, 100), that ``split`` puts ``value`` in.

    ``(split pct::P by::$key ...)`` is true for a value exactly when its bucket is below ``P``.
    The hash is SHA-256 (see the module docstring): stable on every machine and Python version,
    but **not the one AWS uses** — the bucket of a given id differs from AWS's, the semantics
    (stability, proportions, monotone growth with ``pct``) are the same.

    Args:
        value: The value of the ``by::`` context key, e.g. a user id.
        seed: The rule's ``seed::``; with a seed the bucket is the same in every flag.
        flag: The flag key, used as the salt when there is no seed ("locally consistent").
    """
    return 100.0 * _hash64(_salt(seed, flag), value) / _TWO_64


def buckets(values: Any, *, seed: str | None = None, flag: str | None = None) -> np.ndarray:
    """Return :func:`bucket` of many values at once, as a float array (one hash per value)."""
    items = list(values)
    return _hash64_many(_salt(seed, flag), items).astype(np.float64) * (100.0 / _TWO_64)


def in_split(
    values: Any, pct: float, *, seed: str | None = None, flag: str | None = None
) -> np.ndarray:
    """Return, for many values at once, whether ``(split pct::pct by::$key)`` holds for each.

    The vectorised path of ``split``: one SHA-256 per value, then an exact integer comparison
    with the threshold ``pct/100 * 2**64`` in numpy. Missing values (None, NaN) are never in the
    split.
    """
    if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 100:
        raise InputError(f"pct must be a number from 0 to 100, got {pct!r}.", where="pct")
    items = list(values)
    present = np.array([not _is_missing(v) for v in items], dtype=bool)
    out = np.zeros(len(items), dtype=bool)
    if pct <= 0 or not present.any():
        return out
    if pct >= 100:
        return present
    keep = [v for v, p in zip(items, present, strict=True) if p]
    hashes = _hash64_many(_salt(seed, flag), keep)
    out[present] = hashes < np.uint64(_threshold(pct))
    return out


def _is_missing(value: Any) -> bool:
    if value is None or value is _MISSING or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


# --------------------------------------------------------------------------------------------
# Evaluation, one context at a time
# --------------------------------------------------------------------------------------------


def _to_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return None if isinstance(value, float) and math.isnan(value) else value
    if isinstance(value, str):
        text = value.strip()
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
    return None


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _to_timestamp(value: Any) -> datetime | None:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        return _parse_timestamp(value)
    return None


def _to_string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "number": _to_number,
    "bool": _to_bool,
    "timestamp": _to_timestamp,
    "string": _to_string,
}


def _kind_of(value: Any) -> str | None:
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | float | np.integer | np.floating):
        return "number"
    if isinstance(value, datetime):
        return "timestamp"
    if isinstance(value, str):
        return "string"
    return None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
}


class _Evaluator:
    def __init__(self, context: Mapping[str, Any], flag: str | None) -> None:
        self.context = context
        self.flag = flag

    def value(self, node: Any) -> Any:
        if isinstance(node, _Literal):
            return node.value
        if isinstance(node, _Context):
            value = self.context.get(node.key, _MISSING)
            return _MISSING if _is_missing(value) else value
        return self.truth(node)

    def truth(self, node: Any) -> bool:
        if not isinstance(node, _Call):
            value = self.value(node)
            return _to_bool(value) is True
        op, args, named = node.op, node.args, node.named
        if op == "and":
            return all(self.truth(a) for a in args)
        if op == "or":
            return any(self.truth(a) for a in args)
        if op == "not":
            return not self.truth(args[0])
        if op in COMPARISONS:
            pair = self.pair(args[0], args[1])
            return pair is not None and _COMPARE[op](*pair)
        if op in ("begins_with", "ends_with", "contains"):
            pair = self.pair(args[0], args[1], kind="string")
            if pair is None:
                return False
            text, part = pair
            if op == "begins_with":
                return text.startswith(part)
            return text.endswith(part) if op == "ends_with" else part in text
        if op == "in":
            value = self.value(args[0])
            if value is _MISSING:
                return False
            for item in args[1].items:
                converted = _CONVERT[item.kind](value)
                if converted is not None and converted == item.value:
                    return True
            return False
        if op == "matches":
            text = _to_string(self.value(named["in"]))
            return text is not None and node.extra["regex"].search(text) is not None
        if op == "exists":
            return named["key"].value in self.context and not _is_missing(
                self.context[named["key"].value]
            )
        if op == "split":
            value = self.value(named["by"])
            if value is _MISSING:
                return False
            seed = named["seed"].value if "seed" in named else None
            return _hash64(_salt(seed, self.flag), value) < node.extra["threshold"]
        raise AssertionError(op)  # pragma: no cover - every operator is handled above

    def pair(self, left: Any, right: Any, kind: str | None = None) -> tuple[Any, Any] | None:
        """The two operands converted to one type (the literal's), or None if impossible."""
        a, b = self.value(left), self.value(right)
        if a is _MISSING or b is _MISSING:
            return None
        if kind is None:
            kind = (
                right.kind
                if isinstance(right, _Literal)
                else left.kind
                if isinstance(left, _Literal)
                else _kind_of(a)
            )
        if kind is None:
            return None
        a, b = _CONVERT[kind](a), _CONVERT[kind](b)
        if a is None or b is None:
            return None
        return a, b


# --------------------------------------------------------------------------------------------
# Evaluation over a DataFrame (one row per context), vectorised
# --------------------------------------------------------------------------------------------


class _Vectorised:
    def __init__(self, frame: pd.DataFrame, flag: str | None) -> None:
        self.frame = frame
        self.flag = flag
        self.n = len(frame)

    def column(self, key: str) -> pd.Series | None:
        return self.frame[key] if key in self.frame.columns else None

    def truth(self, node: Any) -> np.ndarray:
        if not isinstance(node, _Call):
            if isinstance(node, _Literal):
                return np.full(self.n, node.value is True)
            return self.converted(node, "bool")[0] == True  # noqa: E712 - elementwise
        op, args, named = node.op, node.args, node.named
        if op == "and":
            return np.logical_and.reduce([self.truth(a) for a in args])
        if op == "or":
            return np.logical_or.reduce([self.truth(a) for a in args])
        if op == "not":
            return ~self.truth(args[0])
        if op == "split":
            seed = named["seed"].value if "seed" in named else None
            column = self.column(named["by"].key)
            if column is None:
                return np.zeros(self.n, dtype=bool)
            pct = named["pct"].value
            return in_split(column.tolist(), pct, seed=seed, flag=self.flag)
        if op == "exists":
            column = self.column(named["key"].value)
            return np.zeros(self.n, dtype=bool) if column is None else column.notna().to_numpy()
        if op in COMPARISONS and all(isinstance(a, _Literal | _Context) for a in args):
            kind = next((a.kind for a in reversed(args) if isinstance(a, _Literal)), None)
            if kind is not None:
                (a, a_ok), (b, b_ok) = (self.converted(x, kind) for x in args)
                ok = a_ok & b_ok
                out = np.zeros(self.n, dtype=bool)
                if ok.any():
                    out[ok] = _COMPARE[op](a[ok], b[ok])
                return out
        if op in ("begins_with", "ends_with", "contains", "matches") and all(
            isinstance(a, _Literal | _Context) for a in (*args, *named.values())
        ):
            if op == "matches":
                text_node, regex = named["in"], node.extra["regex"]
            else:
                text_node, part = args
                if not isinstance(part, _Literal):
                    return self.rowwise(node)
                regex = re.compile(
                    {"begins_with": "^", "ends_with": "", "contains": ""}[op]
                    + re.escape(part.value)
                    + ("\\Z" if op == "ends_with" else "")
                )
            text, ok = self.converted(text_node, "string")
            out = np.zeros(self.n, dtype=bool)
            if ok.any():
                search = regex.search
                out[ok] = [search(t) is not None for t in text[ok]]
            return out
        if op == "in" and isinstance(args[0], _Context | _Literal):
            out = np.zeros(self.n, dtype=bool)
            for item in args[1].items:
                values, ok = self.converted(args[0], item.kind)
                if ok.any():
                    hit = np.zeros(self.n, dtype=bool)
                    hit[ok] = values[ok] == item.value
                    out |= hit
            return out
        return self.rowwise(node)

    def converted(self, node: Any, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Values of a literal or context column converted to ``kind``, and where that worked."""
        if isinstance(node, _Literal):
            value = _CONVERT[kind](node.value)
            return np.full(self.n, value, dtype=object), np.full(self.n, value is not None)
        column = self.column(node.key)
        if column is None:
            return np.full(self.n, None, dtype=object), np.zeros(self.n, dtype=bool)
        if kind == "number" and pd.api.types.is_numeric_dtype(column.dtype):
            if pd.api.types.is_bool_dtype(column.dtype):
                return column.to_numpy(dtype=object), np.zeros(self.n, dtype=bool)
            values = column.to_numpy(dtype=float, na_value=np.nan)
            return values, ~np.isnan(values)
        if kind == "string" and (
            pd.api.types.is_string_dtype(column.dtype) or column.dtype == object
        ):
            values = column.to_numpy(dtype=object)
            ok = np.array([isinstance(v, str) for v in values], dtype=bool)
            return values, ok
        convert = _CONVERT[kind]
        values = np.array(
            [convert(v) if not _is_missing(v) else None for v in column], dtype=object
        )
        return values, np.array([v is not None for v in values], dtype=bool)

    def rowwise(self, node: _Call) -> np.ndarray:
        records = self.frame.to_dict("records")
        return np.array(
            [
                _Evaluator({k: v for k, v in r.items() if not _is_missing(v)}, self.flag).truth(
                    node
                )
                for r in records
            ],
            dtype=bool,
        )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A parsed variant rule: ``parse_rule(text)``; evaluate it with :meth:`matches`.

    Attributes:
        text: The rule as written.
    """

    text: str
    _tree: _Call = field(repr=False, compare=False)

    def matches(self, context: Mapping[str, Any] | None = None, *, flag: str | None = None) -> bool:
        """Return whether the rule holds for one context (see :func:`rule_matches`)."""
        return _Evaluator(context or {}, flag).truth(self._tree)

    def mask(self, contexts: pd.DataFrame, *, flag: str | None = None) -> np.ndarray:
        """Return, for a frame with one context per row, whether the rule holds for each row."""
        return _Vectorised(contexts, flag).truth(self._tree)


@lru_cache(maxsize=2048)
def _parse_cached(text: str) -> Rule:
    return Rule(text, _Parser(text).parse())


def parse_rule(rule: str) -> Rule:
    """Parse a variant rule; raise :class:`RuleError` (with a caret) when it is malformed.

    Args:
        rule: The rule text, e.g. ``'(and (eq $plan "premium") (split pct::50 by::$userId))'``.

    Raises:
        RuleError: Naming what is wrong and the character offset, drawn with a caret.
        InputError: ``rule`` is not a string, or longer than the schema's 16,384 characters.
    """
    if not isinstance(rule, str):
        raise InputError(
            f"A rule is a string, got {type(rule).__name__}.",
            where="rule",
            hint="e.g. '(eq $plan \"premium\")'",
        )
    if len(rule) > _MAX_RULE:
        raise InputError(
            f"A rule has at most {_MAX_RULE} characters (the FeatureFlags schema); this one has "
            f"{len(rule)}.",
            where="rule",
        )
    return _parse_cached(rule)


def rule_matches(
    rule: str | Rule, context: Mapping[str, Any] | None = None, *, flag: str | None = None
) -> bool:
    """Return whether one variant rule holds for one request context.

    Implements the operators of "Defining rules for multi-variant feature flags"
    (:data:`OPERATORS_URL`); the module docstring lists the choices made where the guide is
    silent (types, missing keys, ``matches``) and the split hash.

    Args:
        rule: The rule text (or a parsed :class:`Rule`).
        context: The request context, e.g. ``{"userId": "u42", "plan": "premium"}``.
        flag: The flag key the rule belongs to: the salt of ``split`` without ``seed::``.

    Raises:
        RuleError: The rule is malformed (the message names the character and shows a caret).

    Example:
        >>> rule = '(and (eq $plan "premium") (gte $age 18))'
        >>> rule_matches(rule, {"plan": "premium", "age": "30"})
        True
    """
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    if context is not None and not isinstance(context, Mapping):
        raise InputError(
            f"The context is a mapping of keys to values, got {type(context).__name__}.",
            where="context",
            hint='e.g. {"userId": "u42", "plan": "premium"}',
        )
    return parsed.matches(context or {}, flag=flag)


def rule_mask(rule: str | Rule, contexts: pd.DataFrame, *, flag: str | None = None) -> np.ndarray:
    """Return :func:`rule_matches` for every row of ``contexts`` at once (vectorised).

    Each column is a context key; a missing value (NaN, None) is a key the context does not
    have. Comparisons, string operators, ``in``, ``exists`` and ``split`` are evaluated column
    by column with numpy; the result equals :func:`rule_matches` row by row.
    """
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    if not isinstance(contexts, pd.DataFrame):
        raise InputError(
            "contexts must be a DataFrame with one context per row, got "
            f"{type(contexts).__name__}.",
            where="contexts",
        )
    return parsed.mask(contexts, flag=flag)
