"""What the CloudFormation resource type schemas say about updates and drift, offline.

Every CloudFormation resource type has a registry schema ("Resource type schema", CloudFormation
CLI user guide, https://docs.aws.amazon.com/cloudformation-cli/latest/userguide/resource-type-schema.html).
Two of its lists matter here:

* ``createOnlyProperties`` — changing one of these replaces the resource (the property's
  "Update requires: Replacement" in the Template Reference): a change set reports it with
  ``RequiresRecreation: Always``.
* ``writeOnlyProperties`` — values AWS accepts but never returns (a Lambda function's ``Code``):
  drift detection cannot compare them.

cfn-lint ships these schemas for every region, so nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

__all__ = ["create_only", "exists", "schema", "write_only"]


@lru_cache(maxsize=256)
def schema(resource_type: str, region: str = "us-east-1") -> dict[str, Any] | None:
    """Return the registry schema of ``resource_type`` as cfn-lint bundles it, or None."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    from cfnlint.schema._exceptions import ResourceNotFoundError

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except ResourceNotFoundError:
        return None


def exists(resource_type: str, region: str = "us-east-1") -> bool:
    """True when CloudFormation knows ``resource_type`` in ``region``."""
    return schema(resource_type, region) is not None


def _paths(resource_type: str, key: str) -> tuple[str, ...]:
    spec = schema(resource_type) or {}
    return tuple(p.removeprefix("/properties/") for p in spec.get(key, []) or [])


def create_only(resource_type: str) -> tuple[str, ...]:
    """Property paths whose change replaces the resource, e.g. ``("TableName", …)``.

    Nested paths keep their slashes (``"KeySchema/0"``); ``*`` stands for any list item.
    """
    return _paths(resource_type, "createOnlyProperties")


def write_only(resource_type: str) -> tuple[str, ...]:
    """Property paths AWS never returns (so drift detection cannot check them)."""
    return _paths(resource_type, "writeOnlyProperties")
