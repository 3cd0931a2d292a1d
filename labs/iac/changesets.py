"""Preview an update as a CloudFormation change set: what is added, modified, replaced, removed.

A change set is CloudFormation's dry run of a stack update ("Update CloudFormation stacks using
change sets", CloudFormation User Guide,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets.html).
For every resource it says the ``Action`` (``Add``, ``Modify``, ``Remove``) and, for a
modification, whether the resource is **replaced** — created anew and the old one deleted, with
a new physical id and, for a table or a bucket, without its data. The rules
(``ResourceChange`` and ``ResourceChangeDetail`` in the API reference):

* each changed property is a detail with ``Target.RequiresRecreation``: ``Always`` when the
  resource type cannot change it in place (the schema's ``createOnlyProperties``; "Update
  requires: Replacement" in the Template Reference), ``Never`` otherwise;
* ``Evaluation`` is ``Static`` when the new value is known now, ``Dynamic`` when it depends on
  a resource that is itself being replaced (its ``Ref``/``Fn::GetAtt`` will change);
* ``Replacement`` is ``True`` if some detail is ``Always`` and ``Static``, ``Conditional`` if
  ``Always`` only with ``Dynamic`` evaluation (or ``Conditionally``), ``False`` otherwise — the
  change with the most impact wins.

The local emulator stores change sets but describes every change without ``Replacement``,
``Scope`` or ``Details``; :func:`preview` computes them from the two templates as above, and
:func:`labs.iac.stacks.create_change_set` uses it on the local target and AWS's own answer on
the aws target, in the same frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from labs.iac import schema
from labs.iac.intrinsics import (
    Scope,
    active_resources,
    condition_values,
    parameter_values,
    references,
    resolve,
)

__all__ = ["CHANGE_COLUMNS", "details_table", "from_aws", "preview", "replacement_of"]

CHANGE_COLUMNS = [
    "action",
    "logical_id",
    "resource_type",
    "replacement",
    "scope",
    "properties",
    "details",
]
_IMPACT = {"Always": 2, "Conditionally": 1, "Never": 0}


def _scope(
    template: Mapping[str, Any],
    given: Mapping[str, Any] | None,
    *,
    region: str,
    account_id: str,
    stack_name: str,
) -> tuple[Scope, list[str]]:
    params = parameter_values(template, given)
    scope = Scope(
        parameters=params,
        mappings=template.get("Mappings", {}) or {},
        region=region,
        account_id=account_id,
        stack_name=stack_name,
        ref=lambda lid: f"<Ref {lid}>",
        get_att=lambda lid, attr: f"<GetAtt {lid}.{attr}>",
        import_value=lambda name: f"<ImportValue {name}>",
    )
    scope.conditions = condition_values(template, scope)
    return scope, active_resources(template, scope.conditions)


def _recreation(resource_type: str, prop: str, old: Any, new: Any) -> str:
    paths = schema.create_only(resource_type)
    if prop in paths:
        return "Always"
    nested = [p for p in paths if p.startswith(prop + "/")]
    if not nested:
        return "Never"
    for path in nested:
        parts = path.split("/")[1:]
        if "*" in parts:
            return "Conditionally"
        if _at(old, parts) != _at(new, parts):
            return "Always"
    return "Never"


def _at(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def replacement_of(details: list[dict[str, Any]]) -> str:
    """Return ``True``/``Conditional``/``False`` from change details, as CloudFormation does."""
    if any(
        d["Target"]["RequiresRecreation"] == "Always" and d["Evaluation"] == "Static"
        for d in details
    ):
        return "True"
    if any(d["Target"]["RequiresRecreation"] in ("Always", "Conditionally") for d in details):
        return "Conditional"
    return "False"


def _attribute(prop: str) -> str:
    return "Tags" if prop == "Tags" else "Properties"


def _param_refs(raw: Any, names: set[str]) -> set[str]:
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            if set(v) == {"Ref"} and v["Ref"] in names:
                found.add(v["Ref"])
            elif set(v) == {"Fn::Sub"}:
                text = v["Fn::Sub"][0] if isinstance(v["Fn::Sub"], list) else v["Fn::Sub"]
                found.update(n for n in names if "${" + n + "}" in str(text))
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(raw)
    return found


def preview(
    old_template: Mapping[str, Any],
    new_template: Mapping[str, Any],
    *,
    old_parameters: Mapping[str, Any] | None = None,
    new_parameters: Mapping[str, Any] | None = None,
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stack_name: str = "stack",
) -> pd.DataFrame:
    """Compute the changes a stack update would make, as a change set describes them.

    Args:
        old_template: The stack's current template (long form, e.g. from ``templates.load``).
        new_template: The template of the update.
        old_parameters: The stack's current parameter values (defaults fill the rest).
        new_parameters: The update's parameter values.
        region: ``AWS::Region`` for both templates.
        account_id: ``AWS::AccountId``.
        stack_name: ``AWS::StackName``.

    Returns:
        One row per changed resource, in template order (removals last): action (``Add``,
        ``Modify``, ``Remove``), logical_id, resource_type, replacement (``True``,
        ``Conditional``, ``False``; empty unless Modify), scope (``Properties``, ``Tags``),
        properties (the changed property names, with ``(replaced)`` on those that force a
        replacement) and details (``ResourceChangeDetail`` dicts, as the API returns them).
    """
    common = {"region": region, "account_id": account_id, "stack_name": stack_name}
    old_scope, old_active = _scope(old_template, old_parameters, **common)
    new_scope, new_active = _scope(new_template, new_parameters, **common)
    old_res = old_template.get("Resources", {})
    new_res = new_template.get("Resources", {})
    changed_params = {
        name
        for name in set(old_scope.parameters) | set(new_scope.parameters)
        if old_scope.parameters.get(name) != new_scope.parameters.get(name)
    }

    rows: dict[str, dict[str, Any]] = {}
    details: dict[str, list[dict[str, Any]]] = {}
    for lid in new_active:
        rtype = new_res[lid]["Type"]
        if lid not in old_active or old_res[lid]["Type"] != rtype:
            rows[lid] = {"action": "Add", "logical_id": lid, "resource_type": rtype}
            continue
        found = []
        old_props = old_res[lid].get("Properties", {}) or {}
        new_props = new_res[lid].get("Properties", {}) or {}
        for prop in list(new_props) + [p for p in old_props if p not in new_props]:
            before = resolve(old_props.get(prop), old_scope)
            after = resolve(new_props.get(prop), new_scope)
            if before == after:
                continue
            detail: dict[str, Any] = {
                "Target": {
                    "Attribute": _attribute(prop),
                    "Name": prop,
                    "RequiresRecreation": _recreation(rtype, prop, before, after),
                },
                "Evaluation": "Static",
                "ChangeSource": "DirectModification",
            }
            causes = _param_refs(new_props.get(prop), changed_params)
            if old_props.get(prop) == new_props.get(prop) and causes:
                detail["ChangeSource"] = "ParameterReference"
                detail["CausingEntity"] = ", ".join(sorted(causes))
            found.append(detail)
        if found:
            rows[lid] = {"action": "Modify", "logical_id": lid, "resource_type": rtype}
            details[lid] = found
    for lid in old_active:
        if lid not in new_active or new_res[lid]["Type"] != old_res[lid]["Type"]:
            rows[f"{lid}#remove"] = {
                "action": "Remove",
                "logical_id": lid,
                "resource_type": old_res[lid]["Type"],
            }

    _add_dynamic(rows, details, new_res, new_active, old_active)
    position = {lid: i for i, lid in enumerate(new_active)}
    ordered = sorted(
        rows.items(),
        key=lambda item: (item[1]["action"] == "Remove", position.get(item[1]["logical_id"], 0)),
    )
    out = []
    for key, row in ordered:
        found = details.get(key, [])
        modify = row["action"] == "Modify"
        out.append(
            {
                **row,
                "replacement": replacement_of(found) if modify else "",
                "scope": ", ".join(sorted({d["Target"]["Attribute"] for d in found})),
                "properties": ", ".join(_describe(d) for d in _unique(found)),
                "details": found,
            }
        )
    return pd.DataFrame(out, columns=CHANGE_COLUMNS)


def _add_dynamic(
    rows: dict[str, dict[str, Any]],
    details: dict[str, list[dict[str, Any]]],
    new_res: Mapping[str, Any],
    new_active: list[str],
    old_active: list[str],
) -> None:
    """Add ``Dynamic`` details for properties that refer to a resource being replaced."""
    ids = frozenset(new_active)
    while True:
        replaced = {
            lid
            for lid, found in details.items()
            if replacement_of(found) in ("True", "Conditional")
        }
        added = False
        for lid in new_active:
            if lid not in old_active or rows.get(lid, {}).get("action") == "Add":
                continue
            rtype = new_res[lid]["Type"]
            props = new_res[lid].get("Properties", {}) or {}
            have = {(d["Target"]["Name"], d.get("CausingEntity")) for d in details.get(lid, [])}
            for prop, raw in props.items():
                for ref_id, how in sorted(references(raw, ids)):
                    if ref_id not in replaced or ref_id == lid:
                        continue
                    cause = ref_id if how == "Ref" else f"{ref_id}.{how}"
                    if (prop, cause) in have:
                        continue
                    recreation = "Always" if prop in schema.create_only(rtype) else "Never"
                    details.setdefault(lid, []).append(
                        {
                            "Target": {
                                "Attribute": _attribute(prop),
                                "Name": prop,
                                "RequiresRecreation": recreation,
                            },
                            "Evaluation": "Dynamic",
                            "ChangeSource": "ResourceReference"
                            if how == "Ref"
                            else "ResourceAttribute",
                            "CausingEntity": cause,
                        }
                    )
                    have.add((prop, cause))
                    rows.setdefault(
                        lid, {"action": "Modify", "logical_id": lid, "resource_type": rtype}
                    )
                    added = True
        if not added:
            return


def _unique(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for d in found:
        name = d["Target"]["Name"]
        if (
            name not in seen
            or _IMPACT[d["Target"]["RequiresRecreation"]]
            > _IMPACT[seen[name]["Target"]["RequiresRecreation"]]
        ):
            seen[name] = d
    return list(seen.values())


def _describe(detail: dict[str, Any]) -> str:
    name = detail["Target"]["Name"]
    recreation = detail["Target"]["RequiresRecreation"]
    if recreation == "Always":
        return f"{name} (replaced)" if detail["Evaluation"] == "Static" else f"{name} (may be)"
    if recreation == "Conditionally":
        return f"{name} (may be)"
    return name


def from_aws(changes: list[dict[str, Any]]) -> pd.DataFrame:
    """Turn ``DescribeChangeSet``'s ``Changes`` into the frame :func:`preview` returns."""
    out = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        found = [d for d in rc.get("Details", []) if "Target" in d]
        for d in found:
            d["Target"].setdefault("RequiresRecreation", "Never")
            d.setdefault("Evaluation", "Static")
        out.append(
            {
                "action": rc.get("Action", ""),
                "logical_id": rc.get("LogicalResourceId", ""),
                "resource_type": rc.get("ResourceType", ""),
                "replacement": rc.get("Replacement", "") if rc.get("Action") == "Modify" else "",
                "scope": ", ".join(sorted(rc.get("Scope", []))),
                "properties": ", ".join(
                    _describe(d) for d in _unique(found) if d["Target"].get("Name")
                ),
                "details": found,
            }
        )
    return pd.DataFrame(out, columns=CHANGE_COLUMNS)


def details_table(changes: pd.DataFrame) -> pd.DataFrame:
    """Flatten a change set's details: one row per changed property of each resource.

    Columns: logical_id, action, property, requires_recreation (``Never``, ``Conditionally``,
    ``Always``), evaluation (``Static``, ``Dynamic``), change_source and causing_entity — the
    fields of ``ResourceChangeDetail`` that decide ``Replacement``. Added and removed resources
    have one row with an empty property.
    """
    rows = []
    for change in changes.itertuples(index=False):
        if not change.details:
            rows.append(
                {
                    "logical_id": change.logical_id,
                    "action": change.action,
                    "property": "",
                    "requires_recreation": "",
                    "evaluation": "",
                    "change_source": "",
                    "causing_entity": "",
                }
            )
        for detail in change.details:
            rows.append(
                {
                    "logical_id": change.logical_id,
                    "action": change.action,
                    "property": detail["Target"].get("Name", ""),
                    "requires_recreation": detail["Target"].get("RequiresRecreation", ""),
                    "evaluation": detail.get("Evaluation", ""),
                    "change_source": detail.get("ChangeSource", ""),
                    "causing_entity": detail.get("CausingEntity", "") or "",
                }
            )
    columns = [
        "logical_id",
        "action",
        "property",
        "requires_recreation",
        "evaluation",
        "change_source",
        "causing_entity",
    ]
    return pd.DataFrame(rows, columns=columns)
