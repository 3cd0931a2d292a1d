"""The AWS CDK in a notebook: synthesize in-process, read the cloud assembly, nag, deploy.

``app.synth()`` runs the CDK's Node.js core through jsii, in this process: no ``cdk`` CLI and no
network are needed ("Synthesize", AWS CDK Developer Guide,
https://docs.aws.amazon.com/cdk/v2/guide/configure-synth.html). What it writes is a *cloud
assembly*: a folder with ``manifest.json`` (the stacks, their dependencies and what each
needs from the bootstrap stack) and one CloudFormation template per stack. :func:`synth` reads
that folder — ``manifest.json`` itself, as reading ``asm.manifest`` through jsii fails
(FACTS.md) — into a :class:`Synthesis`.

Stacks here are *environment-agnostic* (no ``env=``): nothing is looked up in an account, and
the templates use ``AWS::Region`` and ``AWS::AccountId`` where they need them.

cdk-nag 3 runs as a CDK *validation plugin* (``Validations.of(app).add_plugins(...)``; its
``Aspects`` API from 2.x breaks synthesis). :func:`new_app` sets the context
``@aws-cdk/core:failSynthOnValidationErrors`` to false, so that findings do not abort
synthesis with a report printed to the console: :func:`findings` reads them from the report
file instead, with each acknowledged finding and its reason (:func:`acknowledge`).

:func:`deploy` deploys the synthesized templates with :func:`labs.iac.stacks.deploy` — lint,
create or update, and the report of what the emulator skipped — in dependency order, after
checking the bootstrap version parameter the templates' ``BootstrapVersion`` parameter reads.
On the local emulator :func:`bootstrap` creates that parameter; on AWS, ``cdk bootstrap``
creates it (with the assets bucket and the deployment roles) and ``cdk deploy`` is the usual
way to deploy — the templates here use no assets, so CloudFormation can deploy them as they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pandas as pd

from labs import emulator
from labs.env import Workshop
from labs.errors import InputError, LabsError
from labs.iac.runtime import prepare_jsii

__all__ = [
    "BOOTSTRAP_PARAMETER",
    "FINDING_COLUMNS",
    "StackArtifact",
    "Synthesis",
    "acknowledge",
    "bootstrap",
    "deploy",
    "destroy",
    "findings",
    "new_app",
    "prepare_jsii",
    "resource_counts",
    "synth",
    "unbootstrap",
]

BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
"""The SSM parameter ``cdk bootstrap`` writes; every synthesized template checks it (≥ 6)."""

BOOTSTRAP_VERSION = "30"
"""The version :func:`bootstrap` records on the emulator (current bootstrap templates are 2x–3x)."""

FINDING_COLUMNS = ["rule", "status", "construct_path", "description", "reason"]
NAG_PACK = "AwsSolutions"
_FAIL_SYNTH = "@aws-cdk/core:failSynthOnValidationErrors"


# --------------------------------------------------------------------------------------------
# Apps and synthesis
# --------------------------------------------------------------------------------------------


def new_app(name: str, *, nag: bool = False, outdir: str | Path | None = None) -> cdk.App:
    """Return a CDK app that synthesizes into a fresh folder, optionally checked by cdk-nag.

    Args:
        name: A short name for the app; its cloud assembly goes to
            ``.workshop/cdk.out/<name>`` (emptied first).
        nag: Add cdk-nag's ``AwsSolutions`` pack as a validation plugin.
        outdir: Where to write the cloud assembly instead.

    The app does not add the ``AWS::CDK::Metadata`` resource (``analytics_reporting=False``),
    does not record stack traces, and leaves out the CDK's built-in CloudFormation validation
    plugin (``builtin_cloud_formation_validation=False``): the labs lint every synthesized
    template with cfn-lint instead, and the plugin costs seconds on the first synthesis.
    """
    folder = Path(outdir) if outdir else emulator.workshop_dir() / "cdk.out" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    app = cdk.App(
        outdir=str(folder),
        analytics_reporting=False,
        stack_traces=False,
        builtin_cloud_formation_validation=False,
        context={_FAIL_SYNTH: False},
    )
    if nag:
        from cdk_nag import AwsSolutionsChecks

        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


@dataclass
class StackArtifact:
    """One stack of a cloud assembly.

    Attributes:
        artifact_id: Its id in ``manifest.json`` (the construct id of the stack).
        stack_name: The CloudFormation stack name.
        template: The synthesized template.
        depends_on: Stack names this stack needs deployed first (cross-stack references).
        uses_assets: True when the stack needs files or images published by ``cdk deploy``.
    """

    artifact_id: str
    stack_name: str
    template: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    uses_assets: bool = False


@dataclass
class Synthesis:
    """A cloud assembly read back from its folder.

    Attributes:
        outdir: The folder ``app.synth()`` wrote.
        manifest: ``manifest.json``.
        stacks: The stacks by name, in an order that deploys dependencies first.
        findings: Validation plugin findings (cdk-nag), see :func:`findings`.
    """

    outdir: Path
    manifest: dict[str, Any]
    stacks: dict[str, StackArtifact]
    findings: pd.DataFrame

    def template(self, stack_name: str) -> dict[str, Any]:
        """Return the template of ``stack_name``."""
        if stack_name not in self.stacks:
            raise InputError(
                f"The app has no stack called {stack_name!r}.",
                hint=f"Its stacks are {list(self.stacks)}.",
            )
        return self.stacks[stack_name].template

    def __repr__(self) -> str:
        return f"<Synthesis {list(self.stacks)}: {len(self.findings)} finding(s)>"


def synth(app: cdk.App) -> Synthesis:
    """Synthesize ``app`` in-process and read its cloud assembly from the output folder.

    Returns:
        A :class:`Synthesis` with every stack's template in deployment order.
    """
    assembly = app.synth()
    outdir = Path(assembly.directory)
    manifest = json.loads((outdir / "manifest.json").read_text())
    artifacts = manifest.get("artifacts", {})
    found: dict[str, StackArtifact] = {}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        props = artifact.get("properties", {})
        template = json.loads((outdir / props["templateFile"]).read_text())
        found[artifact_id] = StackArtifact(
            artifact_id=artifact_id,
            stack_name=props.get("stackName", artifact_id),
            template=template,
            depends_on=[d for d in artifact.get("dependencies", []) if d in artifacts],
            uses_assets=_uses_assets(outdir, artifacts, artifact),
        )
    for stack in found.values():
        stack.depends_on = [found[d].stack_name for d in stack.depends_on if d in found]
    ordered = _deploy_order(found.values())
    return Synthesis(
        outdir=outdir,
        manifest=manifest,
        stacks={s.stack_name: s for s in ordered},
        findings=findings(outdir),
    )


def _uses_assets(outdir: Path, artifacts: Mapping[str, Any], artifact: Mapping[str, Any]) -> bool:
    for dep in artifact.get("dependencies", []):
        dep_artifact = artifacts.get(dep, {})
        if dep_artifact.get("type") != "cdk:asset-manifest":
            continue
        path = outdir / dep_artifact.get("properties", {}).get("file", "")
        if path.is_file():
            assets = json.loads(path.read_text())
            files = [  # the stack's own template is listed as a file asset too
                f
                for f in assets.get("files", {}).values()
                if not str(f.get("source", {}).get("path", "")).endswith(".template.json")
            ]
            if files or assets.get("dockerImages"):
                return True
    return False


def _deploy_order(stacks: Iterable[StackArtifact]) -> list[StackArtifact]:
    pending = {s.stack_name: s for s in stacks}
    ordered: list[StackArtifact] = []
    while pending:
        ready = [s for s in pending.values() if all(d not in pending for d in s.depends_on)]
        if not ready:
            raise LabsError(f"The stacks {sorted(pending)} depend on each other in a cycle.")
        for stack in ready:
            ordered.append(stack)
            del pending[stack.stack_name]
    return ordered


def resource_counts(template: Mapping[str, Any]) -> pd.DataFrame:
    """Count a template's resources by type, most numerous first."""
    counts = pd.Series(
        [r["Type"] for r in template.get("Resources", {}).values()], dtype="str"
    ).value_counts()
    frame = counts.rename_axis("resource_type").reset_index(name="count")
    return frame.sort_values(["count", "resource_type"], ascending=[False, True]).reset_index(
        drop=True
    )


# --------------------------------------------------------------------------------------------
# cdk-nag
# --------------------------------------------------------------------------------------------


def acknowledge(construct: Any, rule: str, reason: str) -> None:
    """Acknowledge (suppress) a cdk-nag rule on a construct and its children, with a reason.

    Args:
        construct: The construct the finding is on (or a parent, such as the stack).
        rule: The rule id, e.g. ``"AwsSolutions-S1"``.
        reason: Why this is acceptable here — it is kept in the validation report.

    Raises:
        InputError: The reason is missing or too short to tell a reviewer anything.
    """
    if len(reason.strip()) < 20:
        raise InputError(
            f"The reason for acknowledging {rule} is too short: {reason!r}.",
            hint="Say why the finding does not apply here, so that a reviewer can agree.",
        )
    rule_id = rule if "::" in rule else f"{NAG_PACK}::{rule}"
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


def findings(outdir: str | Path) -> pd.DataFrame:
    """Read the validation report of a cloud assembly: one row per finding and construct.

    Returns:
        Columns rule (``AwsSolutions-S1``…), status (``open``, or ``acknowledged`` with its
        reason), construct_path (``Stack/Bucket/Resource``), description and reason; sorted by
        status, rule and path. Empty when no validation plugin ran or nothing was found.
    """
    path = Path(outdir) / "validation-report.json"
    rows = []
    if path.is_file():
        report = json.loads(path.read_text())
        for plugin in report.get("pluginReports", []):
            for status, key in (("open", "violations"), ("acknowledged", "suppressedViolations")):
                for violation in plugin.get(key, []) or []:
                    for construct in violation.get("violatingConstructs", []):
                        rows.append(
                            {
                                "rule": violation.get("ruleName", ""),
                                "status": status,
                                "construct_path": construct.get("constructPath", ""),
                                "description": violation.get("description", ""),
                                "reason": violation.get("reason", "") or "",
                            }
                        )
    frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
    if frame.empty:
        return frame
    return (
        frame.drop_duplicates()
        .sort_values(["status", "rule", "construct_path"], ascending=[False, True, True])
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------------------------
# Deploying
# --------------------------------------------------------------------------------------------


def bootstrap(ctx: Workshop, *, lab: str | None = None) -> str:
    """Make sure the CDK bootstrap version parameter exists; return its value.

    On the local emulator the parameter is created (what ``cdk bootstrap`` would leave behind
    that the templates need). On AWS nothing is created: run ``cdk bootstrap`` once per account
    and region if it is missing.

    Raises:
        LabsError: On the aws target, when the account and region are not bootstrapped.
    """
    ssm = ctx.client("ssm")
    try:
        return str(ssm.get_parameter(Name=BOOTSTRAP_PARAMETER)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        if not ctx.is_local:
            raise LabsError(
                f"This account and region are not bootstrapped for the CDK "
                f"({BOOTSTRAP_PARAMETER} is missing).",
                hint=f"Run `npx aws-cdk@2 bootstrap aws://{ctx.account_id}/{ctx.region}` once, "
                "then deploy again.",
            ) from None
    ssm.put_parameter(
        Name=BOOTSTRAP_PARAMETER,
        Value=BOOTSTRAP_VERSION,
        Type="String",
        Description="CDK bootstrap version (created by labs.iac.cdk on the emulator)",
        Tags=ctx.tags(lab=lab).as_list(),
    )
    return BOOTSTRAP_VERSION


def unbootstrap(ctx: Workshop) -> bool:
    """On the local emulator, delete the bootstrap version parameter; True if it was there.

    On AWS nothing is deleted: the ``CDKToolkit`` stack (bucket, repository, roles and this
    parameter) serves every CDK app in the account and region.
    """
    if not ctx.is_local:
        return False
    ssm = ctx.client("ssm")
    try:
        ssm.delete_parameter(Name=BOOTSTRAP_PARAMETER)
    except ssm.exceptions.ParameterNotFound:
        return False
    return True


def deploy(
    ctx: Workshop,
    synthesis: Synthesis,
    *,
    lab: str | None = None,
    stacks: Iterable[str] | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Deploy synthesized stacks in dependency order, each with the skipped-resources report.

    Args:
        ctx: The workshop context.
        synthesis: What :func:`synth` returned.
        lab: The lab tagging the stacks.
        stacks: Only these stack names (default all), still in dependency order.
        quiet: Do not print each stack's report.

    Returns:
        ``{stack name: labs.iac.stacks.Deployment}``.

    Raises:
        LabsError: A stack needs assets published (``cdk deploy`` does that; these labs do
            not), or the aws target is not bootstrapped.
    """
    from labs.iac import stacks as cfn_stacks

    chosen = list(synthesis.stacks) if stacks is None else list(stacks)
    with_assets = [n for n in chosen if synthesis.stacks[n].uses_assets]
    if with_assets:
        raise LabsError(
            f"{', '.join(with_assets)} need(s) assets (files or images) published first.",
            hint="Deploy them with `npx aws-cdk@2 deploy`, which publishes assets; "
            "labs.iac.cdk.deploy deploys templates only.",
        )
    bootstrap(ctx, lab=lab)
    results = {}
    for name in synthesis.stacks:
        if name in chosen:
            results[name] = cfn_stacks.deploy(
                ctx, name, synthesis.stacks[name].template, lab=lab, quiet=quiet
            )
    return results


def destroy(ctx: Workshop, synthesis: Synthesis, *, quiet: bool = False) -> list[str]:
    """Delete an app's stacks in reverse dependency order (``cdk destroy``); safe to repeat."""
    from labs.iac import stacks as cfn_stacks

    names = list(reversed(list(synthesis.stacks)))
    for name in names:
        cfn_stacks.delete(ctx, name, quiet=quiet)
    return names
