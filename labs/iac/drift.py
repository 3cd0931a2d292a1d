"""Drift detection: compare what a stack's template declares with what the resources really are.

CloudFormation's drift detection ("Detect unmanaged configuration changes to stacks and
resources with drift detection", CloudFormation User Guide,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-drift.html)
reads each resource's live configuration through its service's API and compares it with the
*expected* configuration: the template's properties with the stack's parameter values filled
in. Only properties the template sets explicitly are compared. Each resource gets a status:

* ``IN_SYNC`` — every declared property matches;
* ``MODIFIED`` — some differ; ``PropertyDifferences`` lists each as ``PropertyPath``
  (``/VersioningConfiguration/Status``), ``ExpectedValue``, ``ActualValue`` and
  ``DifferenceType``: ``NOT_EQUAL`` (the value differs), ``REMOVE`` (the property is gone from
  the live resource), ``ADD`` (a value was added to a list, such as a tag);
* ``DELETED`` — the resource no longer exists;
* ``NOT_CHECKED`` — drift detection does not support the type (here: any type
  :mod:`labs.iac.live` cannot read, and anything the emulator never created).

The local emulator has no drift detection (``DetectStackDrift`` answers HTTP 500), so
:func:`detect` implements it on the local target with a reader per resource type
(:func:`labs.iac.live.read`: S3 buckets, DynamoDB tables, SQS queues, SNS topics, SSM
parameters, CloudWatch Logs log groups, IAM roles and Lambda functions), and on the aws target
calls the real ``DetectStackDrift`` and returns its answer in the same frame. Values are
compared as CloudFormation does: numbers and their text form are equal (``45`` and
``"45"``), lists of tags or attribute definitions in any order are equal, an IAM policy
document equals the same policy written with a one-item list, and tags
CloudFormation adds itself (``aws:*``, the stack's own tags) are ignored.
"""

from __future__ import annotations

import ast
import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from labs.env import Workshop
from labs.errors import LabsError
from labs.iac import live as live_
from labs.iac import schema
from labs.iac.errors import StackRefused
from labs.iac.intrinsics import (
    UNRESOLVED,
    Scope,
    active_resources,
    condition_values,
    parameter_values,
    resolve,
)
from labs.iac.live import SUPPORTED_TYPES, Live
from labs.iac.templates import load

__all__ = [
    "DIFFERENCE_COLUMNS",
    "DRIFT_COLUMNS",
    "STATUSES",
    "SUPPORTED_TYPES",
    "compare",
    "detect",
    "differences",
    "stack_drift_status",
]

DRIFT_COLUMNS = ["logical_id", "resource_type", "physical_id", "status", "differences"]
DIFFERENCE_COLUMNS = [
    "logical_id",
    "resource_type",
    "property_path",
    "expected",
    "actual",
    "difference_type",
]
STATUSES = ("IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED")
_POLICY_KEYS = frozenset({"AssumeRolePolicyDocument", "PolicyDocument"})
_LIST_KEYS = ("Key", "AttributeName", "PolicyName", "Endpoint", "Name", "Id")


# --------------------------------------------------------------------------------------------
# Comparison (pure)
# --------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """The string CloudFormation puts in ExpectedValue/ActualValue."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _canon(value: Any) -> str:
    """A scalar's comparable form: ``45 == "45" == 45.0``, ``True == "true"``."""
    text = _text(value)
    if text in ("True", "TRUE", "False", "FALSE"):
        return text.lower()
    try:
        number = float(text)
    except ValueError:
        return text
    if number.is_integer() and "e" not in text.lower():
        return str(int(number))
    return text


def _normalize_policy(value: Any) -> Any:
    """An IAM policy in a canonical form: one-item lists are scalars, lists are sorted."""
    if isinstance(value, str):
        text = urllib.parse.unquote(value)
        try:
            parsed = json.loads(text)
        except ValueError:
            # The emulator returns an inline policy created by a stack as a Python repr.
            try:
                parsed = ast.literal_eval(text) if text.startswith("{") else value
            except (ValueError, SyntaxError):
                return value
        return _normalize_policy(parsed) if isinstance(parsed, dict | list) else value
    if isinstance(value, dict):
        return {k: _normalize_policy(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        items = [_normalize_policy(v) for v in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
    return _canon(value)


def _has_unresolved(value: Any) -> bool:
    if value is UNRESOLVED:
        return True
    if isinstance(value, dict):
        return any(_has_unresolved(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unresolved(v) for v in value)
    return False


def _diff(path: str, kind: str, expected: Any, actual: Any) -> dict[str, str]:
    return {
        "PropertyPath": path,
        "ExpectedValue": _text(expected),
        "ActualValue": _text(actual),
        "DifferenceType": kind,
    }


def _list_key(expected: list[Any], actual: list[Any]) -> str | None:
    items = expected + actual
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _LIST_KEYS:
        if all(key in i for i in items):
            return key
    return None


def _compare_value(path: str, expected: Any, actual: Any) -> list[dict[str, str]]:
    if expected is UNRESOLVED:
        return []
    if path.rsplit("/", 1)[-1] in _POLICY_KEYS:
        if _has_unresolved(expected):
            return []
        if _normalize_policy(expected) != _normalize_policy(actual):
            return [_diff(path, "NOT_EQUAL", expected, actual)]
        return []
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key, value in expected.items():
            if key not in actual:
                if not _has_unresolved(value):
                    out.append(_diff(f"{path}/{key}", "REMOVE", value, None))
                continue
            out.extend(_compare_value(f"{path}/{key}", value, actual[key]))
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        return _compare_list(path, expected, actual)
    if isinstance(expected, dict | list) or isinstance(actual, dict | list):
        if _has_unresolved(expected):
            return []
        return [_diff(path, "NOT_EQUAL", expected, actual)]
    if _canon(expected) != _canon(actual):
        return [_diff(path, "NOT_EQUAL", expected, actual)]
    return []


def _compare_list(path: str, expected: list[Any], actual: list[Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    key = _list_key(expected, actual)
    if key is not None:
        by_key = {_canon(item[key]): (j, item) for j, item in enumerate(actual)}
        matched = set()
        for i, item in enumerate(expected):
            found = by_key.get(_canon(item[key]))
            if found is None:
                out.append(_diff(f"{path}/{i}", "REMOVE", item, None))
            else:
                matched.add(found[0])
                out.extend(_compare_value(f"{path}/{i}", item, found[1]))
        for j, item in enumerate(actual):
            if j not in matched:
                out.append(_diff(f"{path}/{j}", "ADD", None, item))
        return out
    if all(not isinstance(v, dict | list) for v in expected + actual):
        remaining = [_canon(a) for a in actual]
        for i, item in enumerate(expected):
            if item is UNRESOLVED:
                continue
            if _canon(item) in remaining:
                remaining.remove(_canon(item))
            else:
                out.append(_diff(f"{path}/{i}", "REMOVE", item, None))
        extra = list(remaining)
        for j, item in enumerate(actual):
            if _canon(item) in extra:
                extra.remove(_canon(item))
                out.append(_diff(f"{path}/{j}", "ADD", None, item))
        return out
    for i in range(max(len(expected), len(actual))):
        if i >= len(actual):
            out.append(_diff(f"{path}/{i}", "REMOVE", expected[i], None))
        elif i >= len(expected):
            out.append(_diff(f"{path}/{i}", "ADD", None, actual[i]))
        else:
            out.extend(_compare_value(f"{path}/{i}", expected[i], actual[i]))
    return out


def _drop_managed_tags(
    expected: Any, actual: Any, stack_tags: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Tags CloudFormation adds itself (``aws:*``, the stack's tags) are not drift."""
    declared = {str(t.get("Key")) for t in expected or [] if isinstance(t, dict)}
    return [
        t
        for t in actual or []
        if not str(t.get("Key", "")).startswith("aws:")
        and not (
            str(t.get("Key")) not in declared
            and stack_tags.get(str(t.get("Key"))) == t.get("Value")
        )
    ]


def compare(
    expected: Mapping[str, Any],
    live: Live | Mapping[str, Any],
    *,
    skip: tuple[str, ...] = (),
    stack_tags: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """Compare declared properties with a live configuration; return PropertyDifferences.

    Args:
        expected: The resolved properties the template declares.
        live: What the resource really is (a :class:`Live`, or a dict of properties: then
            every property in it counts as known).
        skip: Properties never compared (write-only ones, such as a function's ``Code``).
        stack_tags: The stack's own tags, which CloudFormation propagates to resources.

    Returns:
        One dict per difference with ``PropertyPath``, ``ExpectedValue``, ``ActualValue`` and
        ``DifferenceType``, as ``DescribeStackResourceDrifts`` gives them; empty when in sync.
    """
    if not isinstance(live, Live):
        live = Live(dict(live), frozenset(live))
    out = []
    for prop, value in expected.items():
        if prop in skip or prop not in live.known or value is UNRESOLVED:
            continue
        path = f"/{prop}"
        if prop not in live.properties:
            if not _has_unresolved(value):
                out.append(_diff(path, "REMOVE", value, None))
            continue
        actual = live.properties[prop]
        if prop == "Tags" and isinstance(actual, list):
            actual = _drop_managed_tags(value, actual, stack_tags or {})
        out.extend(_compare_value(path, value, actual))
    return out


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def _stack(ctx: Workshop, stack_name: str) -> dict[str, Any]:
    cfn = ctx.client("cloudformation")
    try:
        return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":
            raise StackRefused(
                f"There is no stack called {stack_name!r}.",
                hint="Deploy it first (labs.iac.deploy), or check the name with "
                "labs.iac.stacks.list_stacks(ctx).",
            ) from None
        raise


def _template_of(ctx: Workshop, stack_name: str) -> dict[str, Any]:
    body = ctx.client("cloudformation").get_template(StackName=stack_name)["TemplateBody"]
    return load(body if isinstance(body, str) else dict(body), name=stack_name)


def detect(ctx: Workshop, stack_name: str) -> pd.DataFrame:
    """Detect drift on every resource of a stack, as CloudFormation's DetectStackDrift does.

    Args:
        ctx: The workshop context.
        stack_name: The stack to check.

    Returns:
        One row per resource the template declares for this stack (resources whose condition
        is false are left out), in template order, with columns logical_id, resource_type,
        physical_id, status (``IN_SYNC``, ``MODIFIED``, ``DELETED``, ``NOT_CHECKED``) and
        differences (a list of ``PropertyDifference`` dicts; empty unless MODIFIED).
        :func:`differences` flattens them into one row per property.

    Raises:
        StackRefused: There is no such stack.
    """
    if not ctx.is_local:
        return _detect_aws(ctx, stack_name)
    stack = _stack(ctx, stack_name)
    template = _template_of(ctx, stack_name)
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", []) or []}
    declared_params = set(template.get("Parameters", {}) or {})
    given = {k: v for k, v in given.items() if k in declared_params}
    cfn = ctx.client("cloudformation")
    listed = live_.stack_resources(ctx, stack)
    resources = template["Resources"]
    exports = {
        e["Name"]: e["Value"]
        for page in cfn.get_paginator("list_exports").paginate()
        for e in page.get("Exports", [])
    }

    def ref(logical_id: str) -> Any:
        found = listed.get(logical_id)
        return found.physical_id if found else UNRESOLVED

    def get_att(logical_id: str, attribute: str) -> Any:
        found = listed.get(logical_id)
        if not found:
            return UNRESOLVED
        return live_.get_att(ctx, found.resource_type, found.physical_id, attribute)

    scope = Scope(
        parameters=parameter_values(template, given),
        mappings=template.get("Mappings", {}) or {},
        region=ctx.region,
        account_id=ctx.account_id,
        stack_name=stack["StackName"],
        stack_id=stack["StackId"],
        ref=ref,
        get_att=get_att,
        import_value=lambda name: exports.get(name, UNRESOLVED),
    )
    scope.conditions = condition_values(template, scope)
    stack_tags = {t["Key"]: t["Value"] for t in stack.get("Tags", []) or []}
    rows = []
    for logical_id in active_resources(template, scope.conditions):
        rtype = resources[logical_id]["Type"]
        found = listed.get(logical_id)
        physical = found.physical_id if found else ""
        row = {
            "logical_id": logical_id,
            "resource_type": rtype,
            "physical_id": physical,
            "status": "NOT_CHECKED",
            "differences": [],
        }
        if found is not None and rtype in SUPPORTED_TYPES:
            declared = resolve(resources[logical_id].get("Properties", {}) or {}, scope)
            try:
                live = live_.read(ctx, rtype, physical, declared)
            except live_.Gone:
                row["status"] = "DELETED"
            else:
                diffs = compare(
                    declared,
                    live,
                    skip=tuple(p for p in schema.write_only(rtype) if "/" not in p),
                    stack_tags=stack_tags,
                )
                row["status"] = "MODIFIED" if diffs else "IN_SYNC"
                row["differences"] = diffs
        rows.append(row)
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def _detect_aws(ctx: Workshop, stack_name: str, *, timeout_s: float = 600) -> pd.DataFrame:
    """Run the real DetectStackDrift, wait for it, and return the same frame as locally."""
    cfn = ctx.client("cloudformation")
    stack = _stack(ctx, stack_name)
    detection = cfn.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"]
    deadline = time.monotonic() + timeout_s
    while True:
        status = cfn.describe_stack_drift_detection_status(StackDriftDetectionId=detection)
        if status["DetectionStatus"] != "DETECTION_IN_PROGRESS":
            break
        if time.monotonic() > deadline:
            raise LabsError(
                f"Drift detection on {stack_name} did not finish in {timeout_s:.0f} s.",
                hint="Look at the stack's drift status in the CloudFormation console.",
            )
        time.sleep(3)
    if status["DetectionStatus"] == "DETECTION_FAILED" and not status.get(
        "DriftedStackResourceCount"
    ):
        reason = status.get("DetectionStatusReason", "")
        if "not supported" not in reason.lower():
            raise LabsError(f"Drift detection on {stack_name} failed: {reason}")
    drifts: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"StackName": stack_name}
    while True:  # DescribeStackResourceDrifts has a NextToken but no boto3 paginator
        page = cfn.describe_stack_resource_drifts(**kwargs)
        for found in page.get("StackResourceDrifts", []):
            drifts[found["LogicalResourceId"]] = found
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    template = _template_of(ctx, stack_name)
    order = list(template["Resources"])
    listed = cfn.list_stack_resources(StackName=stack["StackName"])["StackResourceSummaries"]
    rows = []
    for resource in sorted(
        listed,
        key=lambda r: (
            order.index(r["LogicalResourceId"]) if r["LogicalResourceId"] in order else len(order)
        ),
    ):
        drift = drifts.get(resource["LogicalResourceId"], {})
        rows.append(
            {
                "logical_id": resource["LogicalResourceId"],
                "resource_type": resource["ResourceType"],
                "physical_id": resource.get("PhysicalResourceId", ""),
                "status": drift.get("StackResourceDriftStatus", "NOT_CHECKED"),
                "differences": [
                    {
                        k: d.get(k, "")
                        for k in ("PropertyPath", "ExpectedValue", "ActualValue", "DifferenceType")
                    }
                    for d in drift.get("PropertyDifferences", []) or []
                ],
            }
        )
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def differences(drift: pd.DataFrame) -> pd.DataFrame:
    """Flatten a :func:`detect` frame: one row per drifted property (or deleted resource)."""
    rows = []
    for row in drift.itertuples(index=False):
        if row.status == "DELETED":
            rows.append(
                {
                    "logical_id": row.logical_id,
                    "resource_type": row.resource_type,
                    "property_path": "",
                    "expected": "(the resource)",
                    "actual": "(deleted)",
                    "difference_type": "DELETED",
                }
            )
        for d in row.differences:
            rows.append(
                {
                    "logical_id": row.logical_id,
                    "resource_type": row.resource_type,
                    "property_path": d["PropertyPath"],
                    "expected": d["ExpectedValue"],
                    "actual": d["ActualValue"],
                    "difference_type": d["DifferenceType"],
                }
            )
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def stack_drift_status(drift: pd.DataFrame) -> str:
    """Return the stack's status: ``DRIFTED`` if any resource drifted, else ``IN_SYNC``.

    ``NOT_CHECKED`` when no resource could be checked, as CloudFormation reports it.
    """
    statuses = set(drift["status"])
    if statuses & {"MODIFIED", "DELETED"}:
        return "DRIFTED"
    if statuses and statuses <= {"NOT_CHECKED"}:
        return "NOT_CHECKED"
    return "IN_SYNC"
