"""Read CloudFormation templates: YAML with the short intrinsic forms, or JSON, into plain dicts.

CloudFormation accepts two syntaxes for an intrinsic function in YAML: the full form
(``Fn::GetAtt: [Queue, Arn]``) and the short form with a YAML tag (``!GetAtt Queue.Arn``).
PyYAML does not know those tags, so :func:`load` reads them with a loader of its own and turns
every short form into the long JSON form the CloudFormation API, cfn-lint and the rest of
``labs.iac`` understand — the same document the template would be in JSON. The rules mirror
"Intrinsic function reference" in the CloudFormation Template Reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html):

* ``!Ref X`` becomes ``{"Ref": "X"}`` and ``!Condition C`` becomes ``{"Condition": "C"}``;
* ``!GetAtt Res.Attr`` becomes ``{"Fn::GetAtt": ["Res", "Attr"]}`` (split at the first dot);
* every other tag ``!Name`` becomes ``{"Fn::Name": value}``, its value read as the scalar,
  list or mapping written after it. YAML allows one tag per node, so a short form cannot take
  another short form directly: write ``Fn::ImportValue: !Sub "${Env}-queue"``, as the
  reference's own examples do.

Two things YAML would otherwise do silently are errors here, as CloudFormation rejects them:
a key written twice in the same mapping, and an unknown tag. Dates stay text, so
``AWSTemplateFormatVersion: 2010-09-09`` is the string CloudFormation expects. Every error is a
:class:`~labs.iac.errors.TemplateError` that names the line.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from labs.iac.errors import TemplateError

__all__ = ["SHORT_FORMS", "load", "numbered", "resources", "to_json", "to_yaml"]

SHORT_FORMS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    "!GetAtt": "Fn::GetAtt",
    "!Sub": "Fn::Sub",
    "!Join": "Fn::Join",
    "!Select": "Fn::Select",
    "!Split": "Fn::Split",
    "!If": "Fn::If",
    "!Equals": "Fn::Equals",
    "!And": "Fn::And",
    "!Or": "Fn::Or",
    "!Not": "Fn::Not",
    "!FindInMap": "Fn::FindInMap",
    "!Base64": "Fn::Base64",
    "!Cidr": "Fn::Cidr",
    "!GetAZs": "Fn::GetAZs",
    "!ImportValue": "Fn::ImportValue",
    "!Transform": "Fn::Transform",
    "!ToJsonString": "Fn::ToJsonString",
    "!Length": "Fn::Length",
    "!ForEach": "Fn::ForEach",
    "!Contains": "Fn::Contains",
    "!EachMemberEquals": "Fn::EachMemberEquals",
    "!EachMemberIn": "Fn::EachMemberIn",
    "!RefAll": "Fn::RefAll",
    "!ValueOf": "Fn::ValueOf",
    "!ValueOfAll": "Fn::ValueOfAll",
}
"""Every YAML short form CloudFormation accepts, and the key of its long form."""

_SECTIONS = (
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
)


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader with CloudFormation's tags, no timestamps and no duplicate keys."""


# Dates stay strings: "2010-09-09" is the template format version, not a date.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _where(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"


def _short_form(loader: _Loader, tag: str, node: yaml.Node) -> dict[str, Any]:
    long = SHORT_FORMS[tag]
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag == "!GetAtt":
            resource, dot, attribute = str(value).partition(".")
            if not dot or not resource or not attribute:
                raise _NodeError(
                    node,
                    f"!GetAtt needs 'Resource.Attribute', found {value!r}.",
                    "Write e.g. !GetAtt OrdersQueue.Arn.",
                )
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        if tag in ("!Ref", "!Condition"):
            raise _NodeError(node, f"{tag} takes one name, not a list.", f"Write {tag} Name.")
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {long: value}


def _unknown_tag(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    tag = node.tag if node.tag.startswith("!") else f"!{suffix}"
    close = difflib.get_close_matches(tag, list(SHORT_FORMS), n=1, cutoff=0.6)
    hint = (
        f"Did you mean {close[0]}?"
        if close
        else "CloudFormation's short forms are " + ", ".join(list(SHORT_FORMS)[:13]) + ", …"
    )
    raise _NodeError(node, f"Unknown tag {tag}.", hint)


class _NodeError(Exception):
    def __init__(self, node: yaml.Node, what: str, hint: str | None = None) -> None:
        super().__init__(what)
        self.node, self.what, self.hint = node, what, hint


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: dict[Any, yaml.Node] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool):
            raise _NodeError(key_node, "A mapping key must be a plain name.")
        if key in seen:
            first = seen[key].start_mark.line + 1
            raise _NodeError(
                key_node,
                f"Key {key!r} appears twice in the same mapping (first on line {first}).",
                "CloudFormation rejects duplicate keys; YAML alone would keep the last one "
                "silently. Remove or rename one of them.",
            )
        seen[key] = key_node
    return {
        loader.construct_object(k, deep=True): loader.construct_object(v, deep=True)
        for k, v in node.value
    }


for _tag in SHORT_FORMS:
    _Loader.add_constructor(_tag, lambda loader, node, _t=_tag: _short_form(loader, _t, node))
_Loader.add_multi_constructor("!", _unknown_tag)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(source: str | Path | Mapping[str, Any], *, name: str | None = None) -> dict[str, Any]:
    """Read a template (YAML with short forms, or JSON) into a dict in the long JSON form.

    Args:
        source: The template text, a path to a ``.yaml``/``.yml``/``.json`` file, or a dict
            (returned as a deep copy, so a caller can change the result freely).
        name: What to call the template in error messages; default the file name or
            ``"template"``.

    Returns:
        The template with every short form (``!Ref``, ``!GetAtt``, ``!Sub``…) in its long form.

    Raises:
        TemplateError: The text is not valid YAML/JSON, uses an unknown tag or a duplicate key,
            or is not a template (no ``Resources`` mapping); the message names the line.
    """
    if isinstance(source, Mapping):
        template = copy.deepcopy(dict(source))
        _check_shape(template, name or "template")
        return template
    text, label = _read(source, name)
    if text.lstrip().startswith("{"):
        try:
            template = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TemplateError(
                f"This is not valid JSON: {exc.msg}.",
                where=f"{label}, line {exc.lineno}, column {exc.colno}",
                hint=_near(text, exc.lineno),
            ) from None
    else:
        template = _load_yaml(text, label)
    if not isinstance(template, dict):
        raise TemplateError(
            f"A template is a mapping of sections, not {type(template).__name__}.",
            where=label,
            hint="Start with 'AWSTemplateFormatVersion: \"2010-09-09\"' and 'Resources:'.",
        )
    _check_shape(template, label)
    return template


def _read(source: str | Path, name: str | None) -> tuple[str, str]:
    if not isinstance(source, (str, Path)):
        raise TemplateError(
            f"A template is text, a path or a dict, not {type(source).__name__}.",
            where=name or "template",
            hint="Pass the YAML/JSON text, a Path to the file, or the template as a dict.",
        )
    if isinstance(source, Path) or (
        "\n" not in source and source.endswith((".yaml", ".yml", ".json", ".template"))
    ):
        path = Path(source)
        if not path.is_file():
            raise TemplateError(f"There is no template file at {str(path)!r}.")
        return path.read_text(encoding="utf-8"), name or path.name
    if not isinstance(source, str):
        raise TemplateError(f"A template is text, a path or a dict, not {type(source).__name__}.")
    return source, name or "template"


def _near(text: str, line: int) -> str | None:
    lines = text.splitlines()
    if 1 <= line <= len(lines):
        return f"Line {line} reads: {lines[line - 1].strip()!r}"
    return None


def _load_yaml(text: str, label: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except _NodeError as exc:
        line = exc.node.start_mark.line + 1
        raise TemplateError(
            exc.what, where=f"{label}, {_where(exc.node)}", hint=exc.hint or _near(text, line)
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(filter(None, [exc.context, exc.problem])) or "invalid YAML"
        where = f"{label}, line {mark.line + 1}, column {mark.column + 1}" if mark else label
        hint = _near(text, mark.line + 1) if mark else None
        if "\\t" in problem or "tab" in problem.lower():
            hint = "YAML indents with spaces, never tabs. " + (hint or "")
        raise TemplateError(f"This is not valid YAML: {problem}.", where=where, hint=hint) from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"This is not valid YAML: {exc}.", where=label) from None


def _check_shape(template: dict[str, Any], label: str) -> None:
    unknown = [k for k in template if k not in _SECTIONS]
    if unknown:
        raise TemplateError(
            f"Unknown top-level section {unknown[0]!r}.",
            where=label,
            hint="A template's sections are " + ", ".join(_SECTIONS) + ". Check the spelling "
            "and the indentation (a resource indented too little becomes a section).",
        )
    resources_ = template.get("Resources")
    if not isinstance(resources_, dict) or not resources_:
        raise TemplateError(
            "A template needs a 'Resources' section with at least one resource.",
            where=label,
        )
    for logical_id, resource in resources_.items():
        if not isinstance(resource, dict) or "Type" not in resource:
            raise TemplateError(
                f"Resource {logical_id!r} has no 'Type'.",
                where=f"{label}, Resources.{logical_id}",
                hint="Every resource needs e.g. 'Type: AWS::SQS::Queue'.",
            )


def resources(template: Mapping[str, Any]) -> dict[str, str]:
    """Return ``{logical id: resource type}`` for every resource a template declares."""
    return {lid: str(res.get("Type")) for lid, res in template.get("Resources", {}).items()}


def to_json(template: Mapping[str, Any]) -> str:
    """Return a template as the JSON text the CloudFormation API takes (indented, stable)."""
    return json.dumps(template, indent=2, default=str)


def to_yaml(template: Mapping[str, Any]) -> str:
    """Return a template as block-style YAML in the long form (keys in template order)."""
    return yaml.safe_dump(dict(template), sort_keys=False, default_flow_style=False, width=100)


def numbered(text: str, *, start: int = 1, end: int | None = None) -> str:
    """Return ``text`` with line numbers, as cfn-lint's findings refer to them.

    Args:
        text: The template text.
        start: The first line to show (1-based).
        end: The last line to show; default the last line.
    """
    lines = text.splitlines()
    end = len(lines) if end is None else min(end, len(lines))
    width = len(str(end))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(start, end + 1))
