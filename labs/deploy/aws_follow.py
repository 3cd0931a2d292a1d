"""The aws target: the real CodeDeploy deploys, and the engine only follows it.

**Not tested here** (the workshop's tests run offline, on the emulator). On a real account the
deployment engine does not simulate anything: CodeDeploy shifts the traffic, CloudWatch
evaluates the alarms and CodeDeploy rolls back. :func:`run` creates a deployment in an existing
deployment group (``labs-bookstore-<platform>-group``, which needs a real ECS service, Lambda
function or EC2 fleet behind it: see lab 09) and :func:`follow` polls ``GetDeployment`` until the
deployment ends, turning what it saw into a :class:`~labs.deploy.engine.DeploymentResult`. Its
timeline has one row per poll and no traffic figures: read them from CloudWatch.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pandas as pd

from labs.deploy import releases
from labs.deploy.engine import DeploymentResult
from labs.deploy.releases import Release
from labs.deploy.strategies import Strategy
from labs.errors import InputError

__all__ = ["follow", "run"]

_DONE = ("Succeeded", "Failed", "Stopped")


def run(
    ctx: Any,
    strategy: Strategy,
    *,
    release: str | Release,
    baseline: str | Release,
    alarms: Sequence[Any] = (),
    auto_rollback: Sequence[str] = (),
) -> DeploymentResult:
    """Create a real CodeDeploy deployment of ``release`` and follow it to the end."""
    from labs.deploy import aws_resources

    if not strategy.uses_codedeploy:
        raise InputError(
            "On the aws target, an ECS rolling update is ECS's own: use update_service and watch "
            "describe_services; the engine follows CodeDeploy deployments only.",
            where="strategy",
        )
    new, old = releases.get(release), releases.get(baseline)
    slug = {"ECS": "ecs", "Lambda": "lambda", "Server": "ec2"}[strategy.platform]
    target = aws_resources.CodeDeployTarget(
        ctx.name(f"bookstore-{slug}"), ctx.name(f"bookstore-{slug}-group"), strategy.platform
    )
    cd = ctx.client("codedeploy")
    try:
        cd.get_deployment_group(
            applicationName=target.application, deploymentGroupName=target.group
        )
    except cd.exceptions.ClientError as exc:  # DeploymentGroupDoesNotExistException, …
        raise InputError(
            f"There is no deployment group {target.group} in application {target.application}.",
            where="CodeDeploy",
            hint="Create the real service and its deployment group first (lab 09 shows how); "
            "compare strategies with a dry run (ctx=None) at no cost.",
        ) from exc
    names = [a if isinstance(a, str) else a.alarm_name for a in alarms]
    deployment_id = aws_resources.create_deployment(
        ctx, target, strategy, new, old, alarms=names, auto_rollback=auto_rollback
    )
    return follow(ctx, deployment_id, strategy=strategy.label, baseline=old.version)


def follow(
    ctx: Any,
    deployment_id: str,
    *,
    strategy: str = "",
    baseline: str = "",
    poll_seconds: float = 15.0,
    timeout_minutes: float = 120.0,
) -> DeploymentResult:
    """Poll a real deployment until it ends; return what was seen.

    Statuses map as the engine's: ``Succeeded``; ``RolledBack`` when ``rollbackInfo`` names a
    rollback deployment; otherwise ``Stopped`` or ``Failed``.
    """
    cd = ctx.client("codedeploy")
    started = time.monotonic()
    rows = []
    info: dict[str, Any] = {}
    while time.monotonic() - started < timeout_minutes * 60:
        info = cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        overview = info.get("deploymentOverview", {})
        rows.append(
            {
                "minute": (time.monotonic() - started) / 60,
                "time": pd.Timestamp.now(tz="UTC"),
                "status": info["status"],
                **{k.lower(): v for k, v in overview.items()},
            }
        )
        if info["status"] in _DONE:
            break
        time.sleep(poll_seconds)
    rollback = info.get("rollbackInfo", {}) or {}
    status = info.get("status", "InProgress")
    final = "RolledBack" if rollback.get("rollbackDeploymentId") else status
    error = (info.get("errorInformation") or {}).get("message", "")
    return DeploymentResult(
        strategy=strategy or info.get("deploymentConfigName", ""),
        release=info.get("description", ""),
        baseline=baseline,
        status=final,
        reason=error or rollback.get("rollbackMessage", "") or f"CodeDeploy reports {status}",
        deployment_id=deployment_id,
        rollback_deployment_id=rollback.get("rollbackDeploymentId"),
        deployment_status=status,
        timeline=pd.DataFrame(rows),
        target="aws",
    )
