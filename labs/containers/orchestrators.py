"""Choose an orchestrator: ECS on Fargate, EKS, ECS Express Mode (App Runner's successor), Lambda.

:func:`table` compares them on what decides in practice — team size, control, cost at idle, the
unit that scales — and :func:`choose` turns a team's answers into a recommendation with its
reason. The rules are this workshop's rules of thumb, stated openly; the facts under them are
documented: EKS charges per cluster-hour for its control plane ($0.10 in standard support,
:data:`labs.containers.eks.EKS_CONTROL_PLANE_USD_HOUR`), ECS has no control-plane charge (you pay
for Fargate tasks or EC2 instances), App Runner is closed to new customers from 2026-04-30 and AWS
points new users to ECS Express Mode (:mod:`labs.containers.apprunner`), a Lambda invocation runs
for at most 15 minutes and Lambda charges nothing while idle.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from labs.containers.eks import EKS_CONTROL_PLANE_USD_HOUR
from labs.errors import InputError

__all__ = ["CONTROL_LEVELS", "Choice", "choose", "table"]

CONTROL_LEVELS = ("low", "medium", "high")
"""How much of the platform a team wants to control (and so to run)."""
PLATFORM_TEAM = 6
"""Rule of thumb: below this many engineers, nobody has time to run Kubernetes as well."""


def table() -> pd.DataFrame:
    """Return the choose-your-orchestrator table (one row per option)."""
    eks_month = EKS_CONTROL_PLANE_USD_HOUR["standard support"] * 730
    rows = [
        {
            "option": "ECS on Fargate",
            "team size": "any; 1-2 people can run it",
            "control": "medium: task definitions, services, deployments, scaling policies",
            "you run": "nothing below the task",
            "cost floor": "no control-plane charge; Fargate per vCPU-hour and GB-hour of tasks",
            "scales": "tasks (Application Auto Scaling)",
            "choose it when": "containers on AWS, no need for the Kubernetes API",
        },
        {
            "option": "EKS",
            "team size": f"a platform team ({PLATFORM_TEAM}+ engineers), or Kubernetes skills",
            "control": "high: the Kubernetes API, its ecosystem (Helm, operators, controllers)",
            "you run": "add-ons, node groups (or Fargate/Auto Mode), upgrades every version",
            "cost floor": f"${EKS_CONTROL_PLANE_USD_HOUR['standard support']:.2f} per "
            f"cluster-hour (≈ ${eks_month:.0f}/month) + nodes; "
            f"${EKS_CONTROL_PLANE_USD_HOUR['extended support']:.2f}/h in extended support",
            "scales": "pods (HPA) and nodes (Cluster Autoscaler, Karpenter, Auto Mode)",
            "choose it when": "you need Kubernetes: portability, its tooling, many teams on it",
        },
        {
            "option": "ECS Express Mode (App Runner for existing customers)",
            "team size": "1-3 people, no platform work wanted",
            "control": "low: an image, two roles, a few settings",
            "you run": "nothing; Express Mode creates the ALB, service and scaling for you",
            "cost floor": "the Fargate tasks and the load balancer it creates",
            "scales": "tasks, target tracking (CPU, memory or requests per target)",
            "choose it when": "one web service or API, fast; grow into plain ECS later",
        },
        {
            "option": "Lambda",
            "team size": "any",
            "control": "low: a function, its memory and timeout",
            "you run": "nothing",
            "cost floor": "zero at idle; per request and per GB-second",
            "scales": "concurrent invocations, automatically",
            "choose it when": "event-driven or spiky work in pieces of at most 15 minutes",
        },
    ]
    return pd.DataFrame(rows).set_index("option")


@dataclass(frozen=True)
class Choice:
    """A recommendation and why."""

    option: str
    reason: str


def choose(
    *,
    team_size: int,
    control: str = "medium",
    needs_kubernetes: bool = False,
    long_running: bool = True,
    idle_often: bool = False,
) -> Choice:
    """Recommend an orchestrator from a team's answers (this workshop's rules of thumb).

    Args:
        team_size: Engineers who would run it.
        control: ``low``, ``medium`` or ``high``: how much of the platform the team wants to
            control.
        needs_kubernetes: The Kubernetes API is a requirement (tools, portability, other teams).
        long_running: The work is a service that runs continuously (not events that finish
            within 15 minutes).
        idle_often: Traffic is zero for long stretches.
    """
    if isinstance(team_size, bool) or not isinstance(team_size, int) or team_size < 1:
        raise InputError(f"team_size must be a whole number ≥ 1, got {team_size!r}.")
    if control not in CONTROL_LEVELS:
        raise InputError(
            f"control must be one of {', '.join(CONTROL_LEVELS)}, got {control!r}.",
            where="control",
        )
    if not long_running:
        return Choice("Lambda", "the work comes as events that finish within 15 minutes")
    if needs_kubernetes:
        if team_size >= PLATFORM_TEAM:
            return Choice("EKS", "the Kubernetes API is a requirement and the team can run it")
        return Choice(
            "EKS",
            "the Kubernetes API is a requirement; with a small team, keep the cluster small "
            "(managed node groups or Auto Mode) and budget the upgrades",
        )
    if control == "high" and team_size >= PLATFORM_TEAM:
        return Choice("EKS", "a platform team that wants Kubernetes-level control")
    if idle_often and control == "low":
        return Choice("Lambda", "idle most of the time: pay nothing between requests")
    if control == "low" and team_size <= 3:
        return Choice(
            "ECS Express Mode",
            "a small team that wants one service up without platform work (App Runner only if "
            "you are an existing App Runner customer)",
        )
    return Choice("ECS on Fargate", "containers on AWS without running a control plane")
