"""Infrastructure as code: CloudFormation templates, stacks, change sets, drift; the CDK.

The functions a notebook calls most are here; the modules hold the rest:

* ``labs.iac.templates`` — read YAML (short forms ``!Ref``, ``!GetAtt``, ``!Sub`` …) or JSON
  templates into the long JSON form (:func:`load`), with errors that name the line;
* ``labs.iac.linter`` — cfn-lint in-process (:func:`lint`), the gate before every deploy;
* ``labs.iac.stacks`` — :func:`deploy`, change sets, exports and imports, :func:`delete`, and
  the report of what the local emulator skipped;
* ``labs.iac.changesets`` — a change set's ``Replacement`` and details, computed from templates;
* ``labs.iac.drift`` — drift detection (``labs.iac.drift.detect(ctx, stack)``);
* ``labs.iac.intrinsics``, ``labs.iac.schema`` — what a template means, what a type allows;
* ``labs.iac.samples`` — the bookstore's templates; ``labs.iac.checks`` — the labs' checks;
* ``labs.iac.cdk`` (synthesis, cdk-nag, deploying a CDK app) and ``labs.iac.monitored`` (the
  ``MonitoredService`` construct) — the CDK lab; they import ``aws_cdk``, which takes seconds,
  so only that lab imports them.
"""

from __future__ import annotations

import importlib
from typing import Any

from labs.iac.errors import StackRefused, TemplateError
from labs.iac.linter import lint
from labs.iac.runtime import prepare_jsii
from labs.iac.stacks import (
    create_change_set,
    delete,
    deploy,
    events,
    execute_change_set,
    exports,
    importers,
    outputs,
    resource_report,
)
from labs.iac.templates import load, numbered

prepare_jsii()  # before any module of the package imports aws_cdk

__all__ = [
    "StackRefused",
    "TemplateError",
    "create_change_set",
    "delete",
    "deploy",
    "events",
    "execute_change_set",
    "exports",
    "importers",
    "lint",
    "load",
    "numbered",
    "outputs",
    "prepare_jsii",
    "resource_report",
]

_SUBMODULES = {
    "cdk",
    "changesets",
    "checks",
    "drift",
    "errors",
    "intrinsics",
    "linter",
    "live",
    "monitored",
    "runtime",
    "samples",
    "schema",
    "stacks",
    "templates",
}


def __getattr__(name: str) -> Any:
    """Import ``labs.iac.<name>`` on first use (``labs.iac.checks``, ``labs.iac.cdk`` …)."""
    if name in _SUBMODULES:
        return importlib.import_module(f"labs.iac.{name}")
    raise AttributeError(f"module 'labs.iac' has no attribute {name!r}")
