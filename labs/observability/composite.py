"""Composite alarms: an ``AlarmRule`` over other alarms' states, evaluated as CloudWatch does.

The emulator has no composite alarms: ``PutCompositeAlarm`` fails with HTTP 500 (FACTS.md).
This module implements the rule language of ``PutCompositeAlarm``
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html)
and "Creating a composite alarm" in the CloudWatch user guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html):

* functions ``ALARM(name)``, ``OK(name)`` and ``INSUFFICIENT_DATA(name)`` are TRUE when the named
  alarm (a name or an alarm ARN, with or without double quotes) is in that state;
* ``TRUE`` and ``FALSE`` are constants, for testing a rule and its actions;
* ``AND``, ``OR``, ``NOT`` and parentheses combine them (``NOT`` binds tightest, then ``AND``, then
  ``OR``: the guide does not state the precedence; this is the usual one);
* at most 100 child alarms and 500 elements (child alarms, TRUE/FALSE, and a pair of parentheses
  counting as one), and at least one child alarm or TRUE/FALSE; at most 10,240 characters.

A composite alarm is in ALARM when its rule is TRUE and OK when it is FALSE; it starts in
INSUFFICIENT_DATA until its first evaluation. On a change it delivers its actions — SNS topics
get a notification — like the metric alarm runner (:mod:`labs.observability.alarm_runner`).
Every mistake in a rule is an :class:`~labs.errors.InputError` naming the offset, with a caret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from labs.errors import InputError
from labs.observability.alarms import ALARM, INSUFFICIENT_DATA, OK, STATES
from labs.observability.logs.syntax import syntax_error
from labs.observability.published import client

__all__ = [
    "CompositeAlarm",
    "Rule",
    "alarm_arn",
    "evaluate_rule",
    "parse_rule",
    "put_composite_alarm",
]

_LANGUAGE = "alarm rule"
_MAX_CHILDREN = 100
_MAX_ELEMENTS = 500
_MAX_LENGTH = 10_240
_FUNCTIONS = {"ALARM": ALARM, "OK": OK, "INSUFFICIENT_DATA": INSUFFICIENT_DATA}
_TOKEN = re.compile(
    r'(?P<ws>\s+)|(?P<lpar>\()|(?P<rpar>\))|(?P<string>"(?:[^"\\]|\\.)*")|(?P<word>[^\s()"]+)'
)
_ARN = re.compile(r"^arn:[^:]+:cloudwatch:[^:]*:[^:]*:alarm:(?P<name>.+)$")


def _error(
    text: str, offset: int, what: str, hint: str | None = None, width: int = 1
) -> InputError:
    return syntax_error(_LANGUAGE, text, offset, what, hint=hint, width=width)


@dataclass(frozen=True)
class _Node:
    kind: str  # "state" | "const" | "not" | "and" | "or"
    state: str = ""
    alarm: str = ""
    value: bool = False
    children: tuple[_Node, ...] = ()

    def evaluate(self, states: Mapping[str, str]) -> bool:
        if self.kind == "state":
            return states[self.alarm] == self.state
        if self.kind == "const":
            return self.value
        if self.kind == "not":
            return not self.children[0].evaluate(states)
        if self.kind == "and":
            return all(c.evaluate(states) for c in self.children)
        return any(c.evaluate(states) for c in self.children)

    def text(self) -> str:
        if self.kind == "state":
            return f'{next(k for k, v in _FUNCTIONS.items() if v == self.state)}("{self.alarm}")'
        if self.kind == "const":
            return "TRUE" if self.value else "FALSE"
        if self.kind == "not":
            return f"NOT {self.children[0].text()}"
        joined = f" {self.kind.upper()} ".join(
            f"({c.text()})" if c.kind in ("and", "or") else c.text() for c in self.children
        )
        return joined


@dataclass(frozen=True)
class Rule:
    """A parsed ``AlarmRule``.

    Attributes:
        text: The rule as written.
        alarms: The child alarms it names (alarm names; ARNs are reduced to the name), in order.
    """

    text: str
    alarms: tuple[str, ...]
    _root: _Node = field(repr=False, compare=False)

    def evaluate(self, states: Mapping[str, str]) -> bool:
        """Return the rule's value given each child alarm's state.

        Raises:
            InputError: A child alarm has no state in ``states``, or an unknown state.
        """
        missing = [a for a in self.alarms if a not in states]
        if missing:
            raise InputError(
                f"The rule names alarm {missing[0]!r}, but no state was given for it.",
                where="states",
                hint="Pass every child alarm's state, e.g. from describe_alarms.",
            )
        for name in self.alarms:
            if states[name] not in STATES:
                raise InputError(
                    f"Alarm {name!r} has the unknown state {states[name]!r}.",
                    where=f"states[{name!r}]",
                    hint=f"States are {', '.join(STATES)}.",
                )
        return self._root.evaluate(states)

    def explain(self) -> str:
        """The rule re-written with explicit parentheses, showing how it groups."""
        return self._root.text()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        if text.count('"') % 2:
            raise _error(text, text.rfind('"'), "This quoted alarm name is never closed.")
        pos = 0
        while pos < len(text):
            found = _TOKEN.match(text, pos)
            if found is None:  # pragma: no cover - the pattern matches any character
                raise _error(text, pos, f"Unexpected character {text[pos]!r}.")
            if found.lastgroup == "string" and not found.group().endswith('"'):
                raise _error(text, pos, "This quoted alarm name is never closed.")
            if found.lastgroup != "ws":
                self.tokens.append((found.lastgroup or "", found.group(), pos))
            pos = found.end()
        self.i = 0
        self.children: list[str] = []
        self.elements = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def fail(self, what: str, hint: str | None = None) -> InputError:
        tok = self.peek()
        where, width = (tok[2], len(tok[1])) if tok else (len(self.text), 1)
        return _error(self.text, where, what, hint, width)

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "word" and tok[1] == word:
            self.i += 1
            return True
        return False

    def parse(self) -> _Node:
        if not self.tokens:
            raise _error(
                self.text,
                0,
                "The rule is empty: it needs at least one child alarm, TRUE or FALSE.",
                hint='e.g. ALARM("orders-errors") OR ALARM("payments-errors")',
            )
        node = self.or_expr()
        if self.peek() is not None:
            raise self.fail(
                f"Unexpected {self.peek()[1]!r}: join conditions with AND or OR.",  # type: ignore[index]
            )
        return node

    def or_expr(self) -> _Node:
        nodes = [self.and_expr()]
        while self.keyword("OR"):
            nodes.append(self.and_expr())
        return nodes[0] if len(nodes) == 1 else _Node("or", children=tuple(nodes))

    def and_expr(self) -> _Node:
        nodes = [self.not_expr()]
        while self.keyword("AND"):
            nodes.append(self.not_expr())
        return nodes[0] if len(nodes) == 1 else _Node("and", children=tuple(nodes))

    def not_expr(self) -> _Node:
        if self.keyword("NOT"):
            return _Node("not", children=(self.not_expr(),))
        return self.primary()

    def primary(self) -> _Node:
        tok = self.peek()
        if tok is None:
            raise self.fail(
                "The rule ends too early: expected a condition.",
                hint='A condition is ALARM("name"), OK("name"), INSUFFICIENT_DATA("name"), '
                "TRUE or FALSE.",
            )
        kind, value, pos = tok
        if kind == "lpar":
            self.i += 1
            self.elements += 1
            node = self.or_expr()
            close = self.peek()
            if close is None or close[0] != "rpar":
                raise self.fail(f"Expected ')' to close the parenthesis opened at offset {pos}.")
            self.i += 1
            return node
        if kind == "word" and value in ("TRUE", "FALSE"):
            self.i += 1
            self.elements += 1
            return _Node("const", value=value == "TRUE")
        if kind == "word" and value in _FUNCTIONS:
            self.i += 1
            opened = self.peek()
            if opened is None or opened[0] != "lpar":
                raise self.fail(f"Expected '(' after {value}.", hint=f'e.g. {value}("my-alarm")')
            self.i += 1
            name_tok = self.peek()
            if name_tok is None or name_tok[0] not in ("string", "word"):
                raise self.fail(f"Expected an alarm name or ARN inside {value}( ).")
            self.i += 1
            name = name_tok[1]
            if name_tok[0] == "string":
                name = re.sub(r"\\(.)", r"\1", name[1:-1])
            if not name:
                raise _error(self.text, name_tok[2], "The alarm name is empty.")
            closing = self.peek()
            if closing is None or closing[0] != "rpar":
                raise self.fail(f"Expected ')' to close {value}(.")
            self.i += 1
            arn = _ARN.match(name)
            alarm = arn.group("name") if arn else name
            if alarm not in self.children:
                self.children.append(alarm)
            self.elements += 1
            return _Node("state", state=_FUNCTIONS[value], alarm=alarm)
        if kind == "word" and value.upper() in (*_FUNCTIONS, "TRUE", "FALSE", "AND", "OR", "NOT"):
            raise self.fail(
                f"{value!r} must be written in capitals: {value.upper()}.",
            )
        raise self.fail(
            f"Expected a condition, found {value!r}.",
            hint='Conditions are ALARM("name"), OK("name"), INSUFFICIENT_DATA("name"), TRUE, '
            "FALSE; combine them with AND, OR, NOT and parentheses.",
        )


def parse_rule(text: str) -> Rule:
    """Parse a composite alarm's ``AlarmRule`` (syntax in the module docstring).

    Raises:
        InputError: The rule is not valid; the message names the offset and shows a caret.
    """
    if not isinstance(text, str):
        raise InputError(
            f"An alarm rule is a string, got {type(text).__name__}.", where="AlarmRule"
        )
    if len(text) > _MAX_LENGTH:
        raise _error(text, _MAX_LENGTH, f"An AlarmRule is at most {_MAX_LENGTH} characters long.")
    parser = _Parser(text)
    root = parser.parse()
    if len(parser.children) > _MAX_CHILDREN:
        raise InputError(
            f"The rule names {len(parser.children)} alarms; at most {_MAX_CHILDREN} are allowed.",
            where="AlarmRule",
        )
    if parser.elements > _MAX_ELEMENTS:
        raise InputError(
            f"The rule has {parser.elements} elements; at most {_MAX_ELEMENTS} are allowed.",
            where="AlarmRule",
            hint="Elements are child alarms, TRUE/FALSE and pairs of parentheses.",
        )
    return Rule(text, tuple(parser.children), root)


def evaluate_rule(rule: str | Rule, states: Mapping[str, str]) -> bool:
    """Return whether ``rule`` is TRUE given each child alarm's state (name -> state).

    Example:
        >>> evaluate_rule('ALARM("a") AND (OK("b") OR NOT INSUFFICIENT_DATA("c"))',
        ...               {"a": "ALARM", "b": "ALARM", "c": "OK"})
        True
    """
    parsed = rule if isinstance(rule, Rule) else parse_rule(rule)
    return parsed.evaluate(states)


@dataclass
class CompositeAlarm:
    """A composite alarm, evaluated by ``labs`` on the simulated clock (see the module docstring).

    Args:
        alarm_name: ``AlarmName``.
        alarm_rule: ``AlarmRule``.
        alarm_description: ``AlarmDescription``.
        alarm_actions: ARNs notified on a change to ALARM (SNS topics are delivered locally).
        ok_actions: ARNs notified on a change to OK.
        insufficient_data_actions: ARNs notified on a change to INSUFFICIENT_DATA.
        actions_enabled: ``ActionsEnabled`` (default True).

    Attributes:
        state: The current state (INSUFFICIENT_DATA until the first evaluation).
        history: One dict per state change: time, old and new state, reason.
        notifications: One dict per action delivered (or not).
    """

    alarm_name: str
    alarm_rule: str
    alarm_description: str | None = None
    alarm_actions: Sequence[str] = ()
    ok_actions: Sequence[str] = ()
    insufficient_data_actions: Sequence[str] = ()
    actions_enabled: bool = True
    state: str = INSUFFICIENT_DATA
    history: list[dict[str, Any]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Parse the rule now, so a mistake shows where it was made."""
        if not isinstance(self.alarm_name, str) or not 1 <= len(self.alarm_name) <= 255:
            raise InputError(f"AlarmName {self.alarm_name!r} is not valid.", where="AlarmName")
        self.rule = parse_rule(self.alarm_rule)

    def to_put_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``cloudwatch.put_composite_alarm``."""
        kwargs: dict[str, Any] = {
            "AlarmName": self.alarm_name,
            "AlarmRule": self.alarm_rule,
            "ActionsEnabled": self.actions_enabled,
        }
        if self.alarm_description:
            kwargs["AlarmDescription"] = self.alarm_description
        for key, actions in (
            ("AlarmActions", self.alarm_actions),
            ("OKActions", self.ok_actions),
            ("InsufficientDataActions", self.insufficient_data_actions),
        ):
            if actions:
                kwargs[key] = list(actions)
        return kwargs

    def evaluate(self, states: Mapping[str, str], at: Any, ctx: Any | None = None) -> str:
        """Evaluate the rule on the child alarms' ``states`` at simulated time ``at``.

        On a change of state it records the change and delivers the new state's actions: with a
        context, SNS topics receive a JSON notification (fields of CloudWatch's alarm
        notification, with ``AlarmRule``); other targets, and dry runs, are recorded as not
        delivered.

        Returns:
            The new state.
        """
        when = pd.Timestamp(at)
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        value = self.rule.evaluate(states)
        new = ALARM if value else OK
        if new != self.state:
            shown = ", ".join(f"{a}={states[a]}" for a in self.rule.alarms) or "no child alarm"
            reason = f"AlarmRule evaluated to {'TRUE' if value else 'FALSE'} ({shown})."
            previous, self.state = self.state, new
            self.history.append(
                {"time": when, "old_state": previous, "new_state": new, "reason": reason}
            )
            if self.actions_enabled:
                targets = {
                    ALARM: self.alarm_actions,
                    OK: self.ok_actions,
                    INSUFFICIENT_DATA: self.insufficient_data_actions,
                }[new]
                for target in targets:
                    self._deliver(ctx, target, previous, new, reason, when)
        return self.state

    def _deliver(
        self, ctx: Any, target: str, previous: str, new: str, reason: str, when: pd.Timestamp
    ) -> None:
        row: dict[str, Any] = {
            "time": when,
            "state": new,
            "target": target,
            "delivered": False,
            "message_id": None,
            "note": "",
        }
        if ctx is None:
            row["note"] = "dry run: nothing is sent"
        elif target.startswith("arn:") and target.split(":")[2] == "sns":
            message = {
                "AlarmName": self.alarm_name,
                "AlarmDescription": self.alarm_description,
                "AWSAccountId": ctx.account_id,
                "NewStateValue": new,
                "NewStateReason": reason,
                "StateChangeTime": when.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                "Region": ctx.region,
                "AlarmArn": alarm_arn(ctx, self.alarm_name),
                "OldStateValue": previous,
                "AlarmRule": self.alarm_rule,
            }
            subject = f'{new}: "{self.alarm_name}" in {ctx.region}'[:100]
            answer = client(ctx, "sns").publish(
                TopicArn=target, Subject=subject, Message=json.dumps(message)
            )
            row.update(delivered=True, message_id=answer["MessageId"])
        else:
            row["note"] = "only SNS actions are delivered locally"
        self.notifications.append(row)

    def timeline(self, states: pd.DataFrame, ctx: Any | None = None) -> pd.DataFrame:
        """Evaluate at every row of ``states`` (index: time; a column per child alarm).

        Returns:
            ``states`` with the columns ``rule`` (True/False) and ``composite`` (the state).
        """
        missing = [a for a in self.rule.alarms if a not in states.columns]
        if missing:
            raise InputError(
                f"states has no column for alarm {missing[0]!r}.",
                where="states",
                hint="One column per child alarm named in the rule, one row per time.",
            )
        out = states.copy()
        values, composite = [], []
        for when, row in states.iterrows():
            snapshot = {a: row[a] for a in self.rule.alarms}
            values.append(self.rule.evaluate(snapshot))
            composite.append(self.evaluate(snapshot, when, ctx))
        out["rule"] = values
        out["composite"] = composite
        return out

    def history_frame(self) -> pd.DataFrame:
        """The state changes so far."""
        return pd.DataFrame(self.history, columns=["time", "old_state", "new_state", "reason"])


def alarm_arn(ctx: Any, name: str) -> str:
    """The ARN CloudWatch gives an alarm called ``name`` in ``ctx``'s account and region."""
    return f"arn:aws:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"


def put_composite_alarm(
    ctx: Any, alarm: CompositeAlarm, tags: Mapping[str, str] | None = None
) -> str:
    """Create the composite alarm in CloudWatch, or report that the emulator cannot.

    Returns:
        ``"created"``; or, on the local emulator, which has no composite alarms, a sentence saying
        so (``labs`` evaluates the alarm instead: :meth:`CompositeAlarm.evaluate`).
    """
    kwargs = alarm.to_put_kwargs()
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    try:
        client(ctx, "cloudwatch").put_composite_alarm(**kwargs)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if ctx.is_local and status == 500:
            return (
                "the emulator has no composite alarms (PutCompositeAlarm: HTTP 500); "
                "labs evaluates it"
            )
        raise
    return "created"
