"""Evaluate a template's parameters, conditions and intrinsic functions, as CloudFormation does.

The change-set preview, the skipped-resources report and the drift detector all need to know
what a template *means* for a stack: which parameter values apply, which conditions hold (so
which resources exist at all), and what each property resolves to. This module does that for
templates in the long JSON form (:func:`labs.iac.templates.load` gives that form), following
the CloudFormation Template Reference: "Parameters", "Conditions", "Pseudo parameters" and
"Intrinsic function reference"
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).

What a reference to a *resource* resolves to is the caller's business (a :class:`Scope` takes
two callables): a physical id read from the stack for drift detection, a symbolic placeholder
for a change-set preview. A value that cannot be known — a ``!GetAtt`` of something the
emulator cannot report, ``Fn::Cidr`` — resolves to :data:`UNRESOLVED`, and a property holding
it is left out of any comparison rather than guessed.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labs.iac.errors import TemplateError

__all__ = [
    "NO_VALUE",
    "UNRESOLVED",
    "Scope",
    "active_resources",
    "condition_values",
    "parameter_values",
    "references",
    "resolve",
]


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name

    def __deepcopy__(self, memo: dict[int, Any]) -> _Sentinel:
        return self


UNRESOLVED: Any = _Sentinel("UNRESOLVED")
"""A value that cannot be known here (it is never compared, never shown as a difference)."""

NO_VALUE: Any = _Sentinel("AWS::NoValue")
"""``Ref: AWS::NoValue``: the property (or list item) is removed."""

_SUB_VAR = re.compile(r"\$\{([^}]*)\}")
_LIST_TYPES = ("CommaDelimitedList", "List<")


@dataclass
class Scope:
    """What a template's references resolve to for one stack.

    Attributes:
        parameters: Parameter values (from :func:`parameter_values`).
        conditions: Condition values (from :func:`condition_values`); filled in lazily.
        mappings: The template's ``Mappings``.
        region: ``AWS::Region``.
        account_id: ``AWS::AccountId``.
        stack_name: ``AWS::StackName``.
        stack_id: ``AWS::StackId``.
        ref: Resolves ``Ref`` of a resource (its logical id); default :data:`UNRESOLVED`.
        get_att: Resolves ``Fn::GetAtt`` (logical id, attribute); default :data:`UNRESOLVED`.
        import_value: Resolves ``Fn::ImportValue`` (an export name); default UNRESOLVED.
    """

    parameters: Mapping[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    mappings: Mapping[str, Any] = field(default_factory=dict)
    region: str = "us-east-1"
    account_id: str = "123456789012"
    stack_name: str = "stack"
    stack_id: str = ""
    ref: Callable[[str], Any] | None = None
    get_att: Callable[[str, str], Any] | None = None
    import_value: Callable[[str], Any] | None = None

    def pseudo(self, name: str) -> Any:
        """Return a pseudo parameter's value (``AWS::Region`` …), or raise KeyError."""
        partition = "aws-cn" if self.region.startswith("cn-") else "aws"
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id
            or f"arn:{partition}:cloudformation:{self.region}:{self.account_id}:stack/"
            f"{self.stack_name}/00000000-0000-0000-0000-000000000000",
            "AWS::Partition": partition,
            "AWS::URLSuffix": "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        return values[name]


def parameter_values(
    template: Mapping[str, Any], given: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return every parameter's value: the one given, else its ``Default``.

    List types (``CommaDelimitedList``, ``List<…>``) become Python lists, as ``Ref`` returns them.

    Raises:
        TemplateError: A parameter has no value, a value outside ``AllowedValues``, or a
            given name the template does not declare.
    """
    given = dict(given or {})
    declared = template.get("Parameters", {}) or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise TemplateError(
            f"Parameter {unknown[0]!r} is not declared in the template.",
            where="Parameters",
            hint=f"The template declares: {', '.join(declared) or 'no parameters'}.",
        )
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            value = given[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(
                f"Parameter {name!r} has no value and no Default.",
                where=f"Parameters.{name}",
                hint="Pass it, e.g. parameters={" + repr(name) + ": '...'}.",
            )
        kind = str(spec.get("Type", "String"))
        if kind.startswith(_LIST_TYPES) and isinstance(value, str):
            value = [v.strip() for v in value.split(",")] if value else []
        allowed = spec.get("AllowedValues")
        if allowed is not None:
            items = value if isinstance(value, list) else [value]
            bad = [v for v in items if str(v) not in [str(a) for a in allowed]]
            if bad:
                raise TemplateError(
                    f"Parameter {name!r} is {bad[0]!r}, which is not one of its AllowedValues.",
                    where=f"Parameters.{name}",
                    hint=f"Use one of {list(allowed)}.",
                )
        values[name] = value
    return values


def _scalar_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def condition_values(template: Mapping[str, Any], scope: Scope) -> dict[str, bool]:
    """Evaluate every condition in ``Conditions`` (they may refer to each other).

    Raises:
        TemplateError: A condition refers to an unknown condition, loops, or cannot be
            evaluated from parameters, mappings and pseudo parameters alone.
    """
    declared = template.get("Conditions", {}) or {}
    done: dict[str, bool] = {}
    visiting: set[str] = set()

    def named(name: str) -> bool:
        if name in done:
            return done[name]
        if name not in declared:
            raise TemplateError(
                f"Condition {name!r} is not declared.",
                where="Conditions",
                hint=f"Declared conditions: {', '.join(declared) or 'none'}.",
            )
        if name in visiting:
            raise TemplateError(f"Condition {name!r} refers to itself.", where="Conditions")
        visiting.add(name)
        done[name] = evaluate(declared[name], name)
        visiting.discard(name)
        return done[name]

    def evaluate(expr: Any, name: str) -> bool:
        if isinstance(expr, dict) and len(expr) == 1:
            ((key, arg),) = expr.items()
            if key == "Condition":
                return named(str(arg))
            if key == "Fn::Equals":
                left, right = (resolve(v, inner) for v in arg)
                if left is UNRESOLVED or right is UNRESOLVED:
                    raise TemplateError(
                        "A condition can only use parameters, mappings and pseudo parameters.",
                        where=f"Conditions.{name}",
                    )
                return _scalar_text(left) == _scalar_text(right)
            if key == "Fn::Not":
                return not evaluate(arg[0], name)
            if key == "Fn::And":
                return all(evaluate(a, name) for a in arg)
            if key == "Fn::Or":
                return any(evaluate(a, name) for a in arg)
        if isinstance(expr, bool):
            return expr
        raise TemplateError(
            f"Condition {name!r} is not built from Fn::Equals, Fn::And, Fn::Or, Fn::Not or "
            "Condition.",
            where=f"Conditions.{name}",
        )

    inner = Scope(
        parameters=scope.parameters,
        mappings=scope.mappings,
        region=scope.region,
        account_id=scope.account_id,
        stack_name=scope.stack_name,
        stack_id=scope.stack_id,
    )
    for condition in declared:
        named(condition)
    return done


def active_resources(template: Mapping[str, Any], conditions: Mapping[str, bool]) -> list[str]:
    """Return the logical ids of the resources whose ``Condition`` holds (or that have none)."""
    out = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        condition = resource.get("Condition")
        if condition is None or conditions.get(str(condition), False):
            out.append(logical_id)
    return out


def resolve(value: Any, scope: Scope) -> Any:
    """Resolve every intrinsic function in ``value`` for ``scope``.

    Returns the value with functions replaced by their results; ``AWS::NoValue`` removes a
    property or list item; what cannot be known is :data:`UNRESOLVED` in place.
    """
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" or (key.startswith("Fn::") and key != "Fn::Transform"):
                return _function(key, arg, scope)
        out = {}
        for k, v in value.items():
            r = resolve(v, scope)
            if r is not NO_VALUE:
                out[k] = r
        return out
    if isinstance(value, list):
        return [r for r in (resolve(v, scope) for v in value) if r is not NO_VALUE]
    return value


def _ref(name: str, scope: Scope) -> Any:
    if name in scope.parameters:
        return scope.parameters[name]
    if name.startswith("AWS::"):
        try:
            return scope.pseudo(name)
        except KeyError:
            raise TemplateError(f"Unknown pseudo parameter {name!r}.") from None
    return scope.ref(name) if scope.ref is not None else UNRESOLVED


def _function(key: str, arg: Any, scope: Scope) -> Any:
    if key == "Ref":
        return _ref(str(arg), scope)
    if key == "Fn::If":
        condition, when_true, when_false = arg
        return resolve(when_true if scope.conditions.get(condition) else when_false, scope)
    if key == "Fn::GetAtt":
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical_id, attribute = (resolve(a, scope) for a in arg)
        if scope.get_att is None or UNRESOLVED in (logical_id, attribute):
            return UNRESOLVED
        return scope.get_att(str(logical_id), str(attribute))
    if key == "Fn::Sub":
        return _sub(arg, scope)
    if key == "Fn::ImportValue":
        name = resolve(arg, scope)
        if name is UNRESOLVED or scope.import_value is None:
            return UNRESOLVED
        return scope.import_value(str(name))
    args = resolve(arg, scope)
    if _contains_unresolved(args):
        return UNRESOLVED
    if key == "Fn::Join":
        delimiter, items = args
        return str(delimiter).join(_scalar_text(i) for i in items)
    if key == "Fn::Select":
        index, items = args
        return items[int(index)]
    if key == "Fn::Split":
        delimiter, text = args
        return str(text).split(str(delimiter))
    if key == "Fn::FindInMap":
        name, top, second = args[:3]
        try:
            return scope.mappings[name][top][second]
        except KeyError:
            if len(args) > 3 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                return args[3]["DefaultValue"]
            raise TemplateError(
                f"Fn::FindInMap found no {name}.{top}.{second}.",
                where=f"Mappings.{name}",
                hint="Check the mapping's keys and the value the lookup uses.",
            ) from None
    if key == "Fn::Base64":
        return base64.b64encode(str(args).encode()).decode()
    if key == "Fn::GetAZs":
        region = args or scope.region
        return [f"{region}{zone}" for zone in "abc"]
    if key == "Fn::ToJsonString":
        return json.dumps(args, separators=(",", ":"))
    if key == "Fn::Length":
        return len(args)
    if key in ("Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not", "Condition"):
        return UNRESOLVED  # condition functions inside Resources (Rules): not needed here
    return UNRESOLVED  # Fn::Cidr, Fn::Transform, language extensions: not evaluated


def _contains_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(_contains_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_unresolved(v) for v in value)
    return False


def _sub(arg: Any, scope: Scope) -> Any:
    if isinstance(arg, list):
        text, variables = arg[0], resolve(arg[1], scope) if len(arg) > 1 else {}
    else:
        text, variables = arg, {}
    unresolved = False

    def replace(match: re.Match[str]) -> str:
        nonlocal unresolved
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            value = (
                scope.get_att(logical_id, attribute) if scope.get_att is not None else UNRESOLVED
            )
        else:
            value = _ref(name, scope)
        if value is UNRESOLVED or _contains_unresolved(value):
            unresolved = True
            return ""
        if isinstance(value, list):
            return ",".join(_scalar_text(v) for v in value)
        return _scalar_text(value)

    result = _SUB_VAR.sub(replace, str(text))
    return UNRESOLVED if unresolved else result


def references(value: Any, resource_ids: set[str] | frozenset[str]) -> set[tuple[str, str]]:
    """Return the resources ``value`` refers to, as ``(logical id, how)`` pairs.

    ``how`` is ``"Ref"`` or the attribute name of a ``Fn::GetAtt`` (also inside ``Fn::Sub``).
    Only names in ``resource_ids`` count (parameters and pseudo parameters are not resources).
    """
    found: set[tuple[str, str]] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if len(v) == 1:
                ((key, arg),) = v.items()
                if key == "Ref" and isinstance(arg, str) and arg in resource_ids:
                    found.add((arg, "Ref"))
                    return
                if key == "Fn::GetAtt":
                    parts = arg.split(".", 1) if isinstance(arg, str) else arg
                    if parts and parts[0] in resource_ids:
                        found.add((str(parts[0]), str(parts[1]) if len(parts) > 1 else ""))
                    return
                if key == "Fn::Sub":
                    text = arg[0] if isinstance(arg, list) else arg
                    local = set(arg[1]) if isinstance(arg, list) and len(arg) > 1 else set()
                    for name in _SUB_VAR.findall(str(text)):
                        if name.startswith("!") or name in local:
                            continue
                        logical_id, _, attribute = name.partition(".")
                        if logical_id in resource_ids:
                            found.add((logical_id, attribute or "Ref"))
                    if isinstance(arg, list) and len(arg) > 1:
                        walk(arg[1])
                    return
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found
