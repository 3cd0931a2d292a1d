"""Deploy, update, preview and delete CloudFormation stacks — the same code on both targets.

Every deploy here goes the way a careful pipeline goes: lint the template with cfn-lint, create
or update the stack, wait for it with CloudFormation's waiters, and then **report what was
really created**. That last step matters on the local emulator, which silently skips resource
types it does not implement (``AWS::CloudWatch::Alarm`` among them, FACTS.md) and still says
``CREATE_COMPLETE``: :func:`resource_report` compares the template's resources (with its
conditions evaluated) with the stack's resources and names each one the emulator skipped.

What the emulator does not do, and ``labs.iac`` does in its place on the local target (on AWS,
CloudFormation does it and these functions only read its answer):

* **Change sets.** The emulator describes every change without ``Replacement``, ``Scope`` or
  ``Details``, and treats a change set without ``ChangeSetType`` as a new stack (AWS's
  default is ``UPDATE``). :func:`create_change_set` always names the type, and describes the
  changes with :func:`labs.iac.changesets.preview`.
* **Exports in use.** "After another stack imports an output value, you can't delete the stack
  that is exporting the output value or modify the exported output value" (``Fn::ImportValue``,
  Template Reference). The emulator lets both happen and has no ``ListImports``;
  :func:`delete` and the updates here refuse with AWS's own messages, and :func:`importers`
  finds the importing stacks.
* **Resources deleted by hand.** Deleting a stack whose resource was already deleted fails in
  the emulator; AWS treats that resource as deleted. :func:`delete` does the same.
* **Properties accepted but not applied.** The emulator ignores some declared properties (an S3
  bucket's ``VersioningConfiguration``, a table's point-in-time recovery) and misses updates
  that come through a mapping or a parameter. Right after each deploy, a drift check finds
  them; each is reported (``Deployment.emulator_gaps``) and applied through the service's API
  when :func:`labs.iac.live.apply` knows how, so that later drift is real drift.
* **Resources dropped on update.** Updating a type the emulator cannot update (a DynamoDB
  table, a log group) removes it from the stack's resource list although it still exists; a
  small ledger (:func:`labs.iac.live.stack_resources`) keeps track of it, and :func:`delete`
  deletes it with the stack, as AWS would.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError, WaiterError
from botocore.parsers import ResponseParserError

from labs.env import Workshop
from labs.iac import changesets, live
from labs.iac.errors import StackRefused, TemplateError
from labs.iac.intrinsics import (
    Scope,
    active_resources,
    condition_values,
    parameter_values,
    references,
    resolve,
)
from labs.iac.linter import require_clean
from labs.iac.templates import load

__all__ = [
    "EVENT_COLUMNS",
    "REPORT_COLUMNS",
    "ChangeSet",
    "Deployment",
    "create_change_set",
    "delete",
    "delete_change_set",
    "delete_stacks",
    "deploy",
    "events",
    "execute_change_set",
    "exports",
    "importers",
    "list_stacks",
    "outputs",
    "resource_report",
    "status",
]

REPORT_COLUMNS = ["logical_id", "resource_type", "condition", "physical_id", "status"]
EVENT_COLUMNS = ["step", "logical_id", "resource_type", "status", "reason"]
GAP_COLUMNS = ["logical_id", "resource_type", "property_path", "expected", "actual", "applied"]
CREATED = "created"
SKIPPED = "skipped by the emulator"
LOST = "created (the emulator lost track of it in an update)"
_GONE_STATUSES = ("DELETE_COMPLETE",)
_CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")


@dataclass
class Deployment:
    """What a create or update did.

    Attributes:
        stack_name: The stack.
        action: ``CREATE``, ``UPDATE`` or ``NO_CHANGE``.
        status: The stack's status afterwards (``CREATE_COMPLETE`` …).
        outputs: ``{OutputKey: OutputValue}``.
        resources: :func:`resource_report`: every template resource and what became of it.
        lint: cfn-lint's findings (warnings included) for the template deployed.
        emulator_gaps: Local target only: declared properties the emulator accepted but did
            not apply (found by a drift check right after the deploy), and whether
            ``labs.iac`` applied them as CloudFormation would (``applied``).
    """

    stack_name: str
    action: str
    status: str
    outputs: dict[str, str]
    resources: pd.DataFrame
    lint: pd.DataFrame = field(default_factory=pd.DataFrame)
    emulator_gaps: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GAP_COLUMNS))

    @property
    def skipped(self) -> list[str]:
        """Logical ids of the resources the emulator skipped (always empty on AWS)."""
        return list(self.resources.loc[self.resources["status"] == SKIPPED, "logical_id"])

    def summary(self) -> str:
        """The lines :func:`deploy` prints."""
        report = self.resources
        created = int(report["status"].isin([CREATED, LOST]).sum())
        lines = [
            f"{self.stack_name}: {self.status}"
            + (" (no changes to deploy)" if self.action == "NO_CHANGE" else ""),
            f"  {created} of {len(report)} template resources exist in the stack.",
        ]
        conditional = report[report["status"].str.startswith("not created")]
        for row in conditional.itertuples():
            lines.append(f"  {row.logical_id} ({row.resource_type}): {row.status}.")
        skipped = report[report["status"] == SKIPPED]
        if not skipped.empty:
            names = ", ".join(f"{r.logical_id} ({r.resource_type})" for r in skipped.itertuples())
            lines.append(
                f"  ⚠ The emulator skipped {len(skipped)} resource(s) that AWS would create: "
                f"{names}."
            )
        lost = report[report["status"] == LOST]
        if not lost.empty:
            names = ", ".join(f"{r.logical_id} ({r.resource_type})" for r in lost.itertuples())
            lines.append(
                f"  ⚠ The emulator stopped listing {names} after updating it (AWS would not); "
                "labs.iac keeps track of it."
            )
        gaps = self.emulator_gaps
        for row in gaps.itertuples():
            done = "labs applied it, as CloudFormation would" if row.applied else "not applied"
            lines.append(
                f"  ⚠ The emulator ignored {row.logical_id} {row.property_path} "
                f"= {row.expected}: {done}."
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Deployment {self.stack_name} {self.action} {self.status}>"


@dataclass
class ChangeSet:
    """A change set: a preview of an update, not yet executed.

    Attributes:
        name: The change set's name.
        stack_name: The stack it would update.
        arn: Its id (an ARN).
        status: ``CREATE_COMPLETE`` (ready), or ``FAILED`` (e.g. nothing to change).
        reason: Why it failed, when it did.
        changes: One row per resource change (:data:`labs.iac.changesets.CHANGE_COLUMNS`).
        template: The template it would deploy.
        parameters: The parameter values it would deploy with.
    """

    name: str
    stack_name: str
    arn: str
    status: str
    reason: str
    changes: pd.DataFrame
    template: dict[str, Any]
    parameters: dict[str, Any]

    def __repr__(self) -> str:
        return f"<ChangeSet {self.name} on {self.stack_name}: {len(self.changes)} change(s)>"


# --------------------------------------------------------------------------------------------
# Reading stacks
# --------------------------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")).strip()


def _describe(ctx: Workshop, stack_name: str) -> dict[str, Any] | None:
    try:
        stacks = ctx.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        if _code(exc) == "ValidationError" and "does not exist" in _message(exc):
            return None
        raise
    live = [s for s in stacks if s["StackStatus"] not in _GONE_STATUSES]
    return live[0] if live else None


def status(ctx: Workshop, stack_name: str) -> str | None:
    """Return a stack's status (``CREATE_COMPLETE`` …), or None when there is no such stack."""
    stack = _describe(ctx, stack_name)
    return stack["StackStatus"] if stack else None


def list_stacks(ctx: Workshop) -> pd.DataFrame:
    """Return the stacks that exist: name, status and the ``lab`` tag."""
    rows = []
    for page in ctx.client("cloudformation").get_paginator("describe_stacks").paginate():
        for stack in page.get("Stacks", []):
            if stack["StackStatus"] in _GONE_STATUSES:
                continue
            tags = {t["Key"]: t["Value"] for t in stack.get("Tags", []) or []}
            rows.append(
                {
                    "stack": stack["StackName"],
                    "status": stack["StackStatus"],
                    "lab": tags.get("lab", ""),
                }
            )
    return pd.DataFrame(rows, columns=["stack", "status", "lab"])


def outputs(ctx: Workshop, stack_name: str) -> dict[str, str]:
    """Return a stack's outputs as ``{OutputKey: OutputValue}``."""
    stack = _describe(ctx, stack_name)
    if stack is None:
        raise StackRefused(f"There is no stack called {stack_name!r}.")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []}


def _template(ctx: Workshop, stack_name: str) -> dict[str, Any]:
    body = ctx.client("cloudformation").get_template(StackName=stack_name)["TemplateBody"]
    return load(body if isinstance(body, str) else dict(body), name=stack_name)


def _given(stack: Mapping[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
    declared = set(template.get("Parameters", {}) or {})
    return {
        p["ParameterKey"]: p["ParameterValue"]
        for p in stack.get("Parameters", []) or []
        if p["ParameterKey"] in declared
    }


def _scope(
    ctx: Workshop, stack_name: str, template: Mapping[str, Any], given: Mapping[str, Any] | None
) -> Scope:
    scope = Scope(
        parameters=parameter_values(template, given),
        mappings=template.get("Mappings", {}) or {},
        region=ctx.region,
        account_id=ctx.account_id,
        stack_name=stack_name,
    )
    scope.conditions = condition_values(template, scope)
    return scope


def resource_report(
    ctx: Workshop,
    stack_name: str,
    template: str | Path | Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Compare a template's resources with the resources the stack really has.

    Args:
        ctx: The workshop context.
        stack_name: The deployed stack.
        template: The template to compare with; default the stack's own.
        parameters: Its parameter values; default the stack's.

    Returns:
        One row per template resource: logical_id, resource_type, condition (its
        ``Condition``, or empty), physical_id and status — ``created``, ``not created:
        condition X is false``, ``skipped by the emulator`` (a resource AWS would create that
        the local emulator silently left out) or ``created (the emulator lost track of it in
        an update)`` (it exists; the emulator no longer lists it, ``labs.iac`` still does).
    """
    stack = _describe(ctx, stack_name)
    if stack is None:
        raise StackRefused(f"There is no stack called {stack_name!r}.")
    tpl = _template(ctx, stack_name) if template is None else load(template)
    given = _given(stack, tpl) if parameters is None else dict(parameters)
    scope = _scope(ctx, stack_name, tpl, given)
    active = set(active_resources(tpl, scope.conditions))
    listed = live.stack_resources(ctx, stack)
    rows = []
    for logical_id, resource in tpl["Resources"].items():
        condition = str(resource.get("Condition", "") or "")
        found = listed.get(logical_id)
        if found is not None:
            state = LOST if found.lost else CREATED
        elif logical_id not in active:
            state = f"not created: condition {condition} is false"
        elif ctx.is_local:
            state = SKIPPED
        else:
            state = "missing from the stack"
        rows.append(
            {
                "logical_id": logical_id,
                "resource_type": resource["Type"],
                "condition": condition,
                "physical_id": found.physical_id if found else "",
                "status": state,
            }
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def events(ctx: Workshop, stack_name: str) -> pd.DataFrame:
    """Return a stack's events as a timeline, oldest first, without the raw times and ids.

    Each row is one event: step (1, 2, …), logical_id, resource_type, status and reason. On
    AWS there is an event per resource and status (``CREATE_IN_PROGRESS``, then
    ``CREATE_COMPLETE``…); the local emulator records only the stack's own events.
    """
    cfn = ctx.client("cloudformation")
    found = [
        e
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack_name)
        for e in page.get("StackEvents", [])
    ]
    found.sort(key=lambda e: e["Timestamp"])
    rows = [
        {
            "step": i,
            "logical_id": e.get("LogicalResourceId", ""),
            "resource_type": e.get("ResourceType", ""),
            "status": e.get("ResourceStatus", ""),
            "reason": e.get("ResourceStatusReason", "") or "",
        }
        for i, e in enumerate(found, start=1)
    ]
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


def exports(ctx: Workshop) -> pd.DataFrame:
    """Return every exported output value in the region: name, value, exporting stack."""
    rows = []
    for page in ctx.client("cloudformation").get_paginator("list_exports").paginate():
        for export in page.get("Exports", []):
            stack_id = export.get("ExportingStackId", "")
            rows.append(
                {
                    "name": export["Name"],
                    "value": export["Value"],
                    "exporting_stack": stack_id.split(":stack/")[-1].split("/")[0],
                }
            )
    return pd.DataFrame(rows, columns=["name", "value", "exporting_stack"])


def _import_names(ctx: Workshop, stack: Mapping[str, Any], template: Mapping[str, Any]) -> set[str]:
    """The export names a stack's template imports (with its parameters filled in)."""
    scope = _scope(ctx, stack["StackName"], template, _given(stack, template))
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"Fn::ImportValue"}:
                name = resolve(value["Fn::ImportValue"], scope)
                if isinstance(name, str):
                    names.add(name)
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(template.get("Resources", {}))
    walk(template.get("Outputs", {}))
    return names


def importers(ctx: Workshop, export_name: str) -> list[str]:
    """Return the names of the stacks that import ``export_name`` (``ListImports``).

    On AWS this is ``ListImports``; the emulator does not implement it, so locally every
    stack's template is read and its ``Fn::ImportValue`` names resolved.
    """
    cfn = ctx.client("cloudformation")
    if not ctx.is_local:
        try:
            pages = cfn.get_paginator("list_imports").paginate(ExportName=export_name)
            return sorted({name for page in pages for name in page.get("Imports", [])})
        except ClientError as exc:
            if _code(exc) == "ValidationError":  # "… is not imported by any stack."
                return []
            raise
    found = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for stack in page.get("Stacks", []):
            if stack["StackStatus"] in _GONE_STATUSES:
                continue
            try:
                template = _template(ctx, stack["StackName"])
            except (ClientError, TemplateError):
                continue
            if export_name in _import_names(ctx, stack, template):
                found.append(stack["StackName"])
    return sorted(found)


def _exports_of(ctx: Workshop, stack_name: str) -> dict[str, str]:
    frame = exports(ctx)
    mine = frame[frame["exporting_stack"] == stack_name]
    return dict(zip(mine["name"], mine["value"], strict=True))


# --------------------------------------------------------------------------------------------
# Deploying
# --------------------------------------------------------------------------------------------


def _parameters(given: Mapping[str, Any] | None) -> list[dict[str, str]]:
    out = []
    for key, value in (given or {}).items():
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        out.append({"ParameterKey": key, "ParameterValue": text})
    return out


def _wait(ctx: Workshop, waiter: str, **kwargs: Any) -> None:
    config = {"Delay": 1, "MaxAttempts": 30} if ctx.is_local else {"Delay": 5, "MaxAttempts": 360}
    ctx.client("cloudformation").get_waiter(waiter).wait(WaiterConfig=config, **kwargs)


def _failure_reason(ctx: Workshop, stack_name: str) -> str:
    try:
        frame = events(ctx, stack_name)
    except ClientError:
        return ""
    failed = frame[frame["status"].str.contains("FAILED") & (frame["reason"] != "")]
    return str(failed["reason"].iloc[0]) if not failed.empty else ""


def _guard_exports(
    ctx: Workshop,
    stack_name: str,
    new_template: Mapping[str, Any] | None,
    new_parameters: Mapping[str, Any] | None = None,
    changes: pd.DataFrame | None = None,
) -> None:
    """Refuse, as CloudFormation does, to delete or change an export another stack imports.

    ``new_template`` None means the stack is being deleted.
    """
    current = _exports_of(ctx, stack_name)
    if not current:
        return
    before: dict[str, Any] = {}
    kept: dict[str, Any] = {}
    if new_template is not None:
        old = _template(ctx, stack_name)
        for target, tpl, given in (
            (before, old, None),
            (kept, new_template, new_parameters),
        ):
            scope = _scope(ctx, stack_name, tpl, given)
            scope.ref = lambda lid: f"<Ref {lid}>"
            scope.get_att = lambda lid, attr: f"<GetAtt {lid}.{attr}>"
            for output in (tpl.get("Outputs", {}) or {}).values():
                if "Export" in output:
                    target[str(resolve(output["Export"].get("Name"), scope))] = output
    replaced: set[str] = set()
    if changes is not None and not changes.empty:
        replaced = set(
            changes.loc[changes["replacement"].isin(["True", "Conditional"]), "logical_id"]
        )
    ids = frozenset((new_template or {}).get("Resources", {}))
    for name in current:
        users = importers(ctx, name)
        if not users:
            continue
        if name not in kept:
            verb = "deleted"
        elif kept[name].get("Value") != before.get(name, {}).get("Value") or any(
            lid in replaced for lid, _ in references(kept[name].get("Value"), ids)
        ):
            verb = "updated"
        else:
            continue
        raise StackRefused(
            f"Export {name} cannot be {verb} as it is in use by {', '.join(users)}.",
            where=stack_name,
            hint="This is CloudFormation's rule for cross-stack references: first change or "
            f"delete the importing stack(s) ({', '.join(users)}) so that they no longer use "
            "Fn::ImportValue on it.",
        )


def deploy(
    ctx: Workshop,
    stack_name: str,
    template: str | Path | Mapping[str, Any],
    *,
    parameters: Mapping[str, Any] | None = None,
    lab: str | None = None,
    lint: bool = True,
    quiet: bool = False,
) -> Deployment:
    """Create a stack, or update it when it exists; wait; report what was really created.

    Args:
        ctx: The workshop context.
        stack_name: The stack's name (fixed names make a notebook re-runnable).
        template: YAML or JSON text, a file path, or a template dict.
        parameters: Parameter values; the template's defaults fill the rest.
        lab: The lab tagging the stack (``ctx.tags(lab=...)``), so ``labs.cleanup`` finds it.
        lint: Lint with cfn-lint first and refuse a template with errors (default True).
        quiet: Do not print the summary.

    Returns:
        A :class:`Deployment`; its ``resources`` names anything the emulator skipped.

    Raises:
        TemplateError: The template is not readable, has errors cfn-lint finds, or its
            parameters are wrong; nothing was deployed.
        StackRefused: CloudFormation refused or failed the operation (the reason is given),
            or the update would change an export another stack imports.
    """
    tpl = load(template)
    findings = require_clean(template, name=stack_name) if lint else pd.DataFrame()
    parameter_values(tpl, parameters)  # fail early, with a clear message, on bad parameters
    cfn = ctx.client("cloudformation")
    body = json.dumps(tpl)
    common: dict[str, Any] = {
        "StackName": stack_name,
        "TemplateBody": body,
        "Parameters": _parameters(parameters),
        "Capabilities": list(_CAPABILITIES),
        "Tags": ctx.tags(lab=lab).as_list(),
    }
    existing = _describe(ctx, stack_name)
    if existing is not None and existing["StackStatus"] in (
        "ROLLBACK_COMPLETE",
        "REVIEW_IN_PROGRESS",
        "CREATE_FAILED",
    ):
        delete(ctx, stack_name, quiet=True)  # AWS allows only deletion from these states
        existing = None
    if existing is None:
        action = "CREATE"
        try:
            cfn.create_stack(**common)
            _wait(ctx, "stack_create_complete", StackName=stack_name)
        except (ClientError, WaiterError) as exc:
            reason = (
                _message(exc) if isinstance(exc, ClientError) else _failure_reason(ctx, stack_name)
            )
            if ctx.is_local and _describe(ctx, stack_name) is not None:
                delete(ctx, stack_name, quiet=True)  # the emulator leaves it half-created
            raise StackRefused(
                f"Creating stack {stack_name} failed: {reason or exc}",
                where=stack_name,
                hint="Read the reason; fix the template or the parameters and deploy again.",
            ) from None
    else:
        action = "UPDATE"
        if ctx.is_local:
            old = _template(ctx, stack_name)
            changes = changesets.preview(
                old,
                tpl,
                old_parameters=_given(existing, old),
                new_parameters=parameters,
                region=ctx.region,
                account_id=ctx.account_id,
                stack_name=stack_name,
            )
            _guard_exports(ctx, stack_name, tpl, parameters, changes)
            unchanged = old == tpl and parameter_values(
                old, _given(existing, old)
            ) == parameter_values(tpl, parameters)
            if unchanged:  # AWS answers "No updates are to be performed"; the emulator updates
                return _finish(ctx, stack_name, "NO_CHANGE", tpl, parameters, findings, quiet)
        try:
            cfn.update_stack(**common)
            _wait(ctx, "stack_update_complete", StackName=stack_name)
        except ClientError as exc:
            if "No updates are to be performed" in _message(exc):
                action = "NO_CHANGE"
            else:
                raise StackRefused(
                    f"Updating stack {stack_name} failed: {_message(exc)}", where=stack_name
                ) from None
        except WaiterError:
            raise StackRefused(
                f"Updating stack {stack_name} failed: {_failure_reason(ctx, stack_name)}",
                where=stack_name,
                hint="CloudFormation rolled the stack back; events(ctx, stack) shows why.",
            ) from None
    return _finish(ctx, stack_name, action, tpl, parameters, findings, quiet)


def _finish(
    ctx: Workshop,
    stack_name: str,
    action: str,
    template: Mapping[str, Any],
    parameters: Mapping[str, Any] | None,
    findings: pd.DataFrame,
    quiet: bool,
) -> Deployment:
    stack = _describe(ctx, stack_name)
    assert stack is not None
    if ctx.is_local:
        scope = _scope(ctx, stack_name, template, _given(stack, template))
        live.remember(ctx, stack, set(active_resources(template, scope.conditions)))
    gaps = _complete_locally(ctx, stack_name) if ctx.is_local else None
    result = Deployment(
        stack_name=stack_name,
        action=action,
        status=stack["StackStatus"],
        outputs={o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", []) or []},
        resources=resource_report(ctx, stack_name, template, _given(stack, template) or parameters),
        lint=findings,
    )
    if gaps is not None:
        result.emulator_gaps = gaps
    if not quiet:
        print(result.summary())
    return result


def _complete_locally(ctx: Workshop, stack_name: str) -> pd.DataFrame:
    """Find what the emulator did not apply, right after a deploy, and apply what we can.

    Nothing has touched the stack since the deploy, so any drift now is the emulator's gap,
    not an out-of-band change: each one is reported, and applied through the service's API
    when ``labs.iac`` knows how (so that later drift detection shows only real drift).
    """
    from labs.iac import drift  # drift reads stacks; imported here to keep the floors simple

    found = drift.differences(drift.detect(ctx, stack_name))
    found = found[found["difference_type"] != "DELETED"]
    rows = []
    if found.empty:
        return pd.DataFrame(rows, columns=GAP_COLUMNS)
    physical = resource_report(ctx, stack_name).set_index("logical_id")["physical_id"]
    template = _template(ctx, stack_name)
    stack = _describe(ctx, stack_name)
    scope = _scope(ctx, stack_name, template, _given(stack or {}, template))
    done: dict[str, dict[str, bool]] = {}
    for row in found.itertuples():
        prop = row.property_path.strip("/").split("/")[0]
        if prop not in done.setdefault(row.logical_id, {}):
            raw = template["Resources"][row.logical_id].get("Properties", {}).get(prop)
            done[row.logical_id][prop] = live.apply(
                ctx, row.resource_type, physical[row.logical_id], prop, resolve(raw, scope)
            )
        applied = done[row.logical_id][prop]
        rows.append(
            {
                "logical_id": row.logical_id,
                "resource_type": row.resource_type,
                "property_path": row.property_path,
                "expected": row.expected,
                "actual": row.actual,
                "applied": applied,
            }
        )
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


# --------------------------------------------------------------------------------------------
# Change sets
# --------------------------------------------------------------------------------------------


def create_change_set(
    ctx: Workshop,
    stack_name: str,
    template: str | Path | Mapping[str, Any],
    *,
    name: str = "preview",
    parameters: Mapping[str, Any] | None = None,
    lint: bool = True,
) -> ChangeSet:
    """Create a change set for an update of an existing stack and describe its changes.

    A change set with the same name is replaced, so a notebook can run this again.

    Args:
        ctx: The workshop context.
        stack_name: The existing stack to update.
        template: The new template.
        name: The change set's name.
        parameters: The update's parameter values (defaults fill the rest).
        lint: Lint the template first and refuse errors.

    Returns:
        A :class:`ChangeSet` whose ``changes`` frame has a row per resource with its
        ``action`` and, for ``Modify``, ``replacement`` (``True``/``Conditional``/``False``).
    """
    tpl = load(template)
    if lint:
        require_clean(template, name=stack_name)
    stack = _describe(ctx, stack_name)
    if stack is None:
        raise StackRefused(
            f"There is no stack called {stack_name!r} to make a change set for.",
            hint="Deploy it first; a change set previews an update of an existing stack.",
        )
    cfn = ctx.client("cloudformation")
    delete_change_set(ctx, stack_name, name)
    created = cfn.create_change_set(
        StackName=stack_name,
        ChangeSetName=name,
        ChangeSetType="UPDATE",  # named explicitly: the emulator's default is CREATE
        TemplateBody=json.dumps(tpl),
        Parameters=_parameters(parameters),
        Capabilities=list(_CAPABILITIES),
        Tags=[{"Key": t["Key"], "Value": t["Value"]} for t in stack.get("Tags", []) or []],
    )
    arn = created["Id"]
    with contextlib.suppress(WaiterError):  # FAILED ("didn't contain changes") is read below
        _wait(ctx, "change_set_create_complete", ChangeSetName=arn, StackName=stack_name)
    described = cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name)
    if ctx.is_local:
        old = _template(ctx, stack_name)
        changes = changesets.preview(
            old,
            tpl,
            old_parameters=_given(stack, old),
            new_parameters=parameters,
            region=ctx.region,
            account_id=ctx.account_id,
            stack_name=stack_name,
        )
    else:
        found = list(described.get("Changes", []))
        token = described.get("NextToken")
        while token:
            more = cfn.describe_change_set(ChangeSetName=arn, StackName=stack_name, NextToken=token)
            found += more.get("Changes", [])
            token = more.get("NextToken")
        changes = changesets.from_aws(found)
    return ChangeSet(
        name=name,
        stack_name=stack_name,
        arn=arn,
        status=described.get("Status", ""),
        reason=described.get("StatusReason", "") or "",
        changes=changes,
        template=tpl,
        parameters=dict(parameters or {}),
    )


def delete_change_set(ctx: Workshop, stack_name: str, name: str) -> bool:
    """Delete a change set (not executed); True when there was one to delete."""
    cfn = ctx.client("cloudformation")
    try:
        summaries = cfn.list_change_sets(StackName=stack_name).get("Summaries", [])
    except ClientError:
        return False
    gone = False
    for summary in summaries:
        if summary["ChangeSetName"] == name:
            cfn.delete_change_set(ChangeSetName=summary["ChangeSetId"], StackName=stack_name)
            gone = True
    return gone


def execute_change_set(ctx: Workshop, change_set: ChangeSet, *, quiet: bool = False) -> Deployment:
    """Execute a change set, wait for the update, and report what the stack now has.

    Raises:
        StackRefused: The change set cannot be executed (it failed, or would change an
            export another stack imports).
    """
    if change_set.status != "CREATE_COMPLETE":
        raise StackRefused(
            f"Change set {change_set.name} cannot be executed: "
            f"{change_set.reason or change_set.status}",
            where=change_set.stack_name,
        )
    if ctx.is_local:
        _guard_exports(
            ctx,
            change_set.stack_name,
            change_set.template,
            change_set.parameters,
            change_set.changes,
        )
    cfn = ctx.client("cloudformation")
    cfn.execute_change_set(ChangeSetName=change_set.arn, StackName=change_set.stack_name)
    try:
        _wait(ctx, "stack_update_complete", StackName=change_set.stack_name)
    except WaiterError:
        raise StackRefused(
            f"The update failed: {_failure_reason(ctx, change_set.stack_name)}",
            where=change_set.stack_name,
        ) from None
    return _finish(
        ctx,
        change_set.stack_name,
        "UPDATE",
        change_set.template,
        change_set.parameters,
        pd.DataFrame(),
        quiet,
    )


# --------------------------------------------------------------------------------------------
# Deleting
# --------------------------------------------------------------------------------------------


def delete(ctx: Workshop, stack_name: str, *, quiet: bool = False) -> str:
    """Delete a stack and wait; refuse, as CloudFormation does, while its exports are in use.

    Returns:
        ``"deleted"``, or ``"already gone"`` when there was no such stack (so it is safe to
        run twice).

    Raises:
        StackRefused: Another stack imports one of this stack's exports (AWS's message:
            "Export … cannot be deleted as it is in use by …"), or the deletion failed.
    """
    stack = _describe(ctx, stack_name)
    if stack is None:
        if not quiet:
            print(f"{stack_name}: already gone")
        return "already gone"
    cfn = ctx.client("cloudformation")
    if ctx.is_local:
        _guard_exports(ctx, stack_name, None)
        for resource in live.forget(ctx, stack):
            live.remove(ctx, resource.resource_type, resource.physical_id)
        try:
            cfn.delete_stack(StackName=stack["StackId"])
        except (ClientError, ResponseParserError):
            # A resource deleted out of band: the emulator gives up on it, and AWS would
            # treat it as deleted. The stack is gone either way when nothing is listed.
            if _describe(ctx, stack_name) is not None:
                raise
            left = exports(ctx)
            left = left[left["exporting_stack"] == stack_name]
            if not left.empty:
                print(
                    f"⚠ The emulator kept {len(left)} export(s) of the deleted stack "
                    f"{stack_name} (one of its resources had been deleted by hand); "
                    "labs.cleanup.cleanup(ctx, reset_local=True) resets the emulator."
                )
    else:
        cfn.delete_stack(StackName=stack["StackId"])
        try:
            _wait(ctx, "stack_delete_complete", StackName=stack["StackId"])
        except WaiterError:
            raise StackRefused(
                f"Deleting stack {stack_name} failed: {_failure_reason(ctx, stack['StackId'])}",
                where=stack_name,
            ) from None
    if not quiet:
        print(f"{stack_name}: DELETE_COMPLETE")
    return "deleted"


def delete_stacks(ctx: Workshop, names: Iterable[str]) -> int:
    """Delete stacks in the order given (importers first), quietly; return how many went.

    For a notebook's fresh start: stacks left over from an earlier run are removed, and
    stacks that are not there are fine.
    """
    return sum(delete(ctx, name, quiet=True) == "deleted" for name in names)
