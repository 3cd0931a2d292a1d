"""Derive the workshop's least-privilege IAM policy from the calls the series really makes.

Runs every ``solutions/NN_*.ipynb`` (or those named) on the local emulator with
``LABS_RECORD_CALLS`` set, so that every client made by ``ctx.client`` records the IAM actions
of its calls (``labs.iam``), then writes ``setup/iam/workshop-policy.json``: one statement per
service, actions sorted, covering exactly the recorded actions plus ``sts:GetCallerIdentity``
(the aws target's account check, made before a context exists) and what a real account checks
besides the call itself (:data:`IMPLIED`: ``iam:PassRole``, tags given on create, and
``iam:CreateServiceLinkedRole`` for the services that make one on first use).

Resources: ``*`` for reads and for actions that have no resource to scope (IAM evaluates
``List*``/``Describe*`` against ``*``, and the cleanup reads every bucket's and role's tags
to find the workshop's). Writes to S3 buckets and IAM roles are scoped to the workshop's
names, ``labs-…`` (``ctx.name``): https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
and https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html

Usage: ``python setup/iam/derive_policy.py [NOTEBOOK ...]`` (default: every solution), or
``--from-record FILE`` to rewrite the policy from an earlier recording without running anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "setup"))

from labs.iam import RECORD_ENV, read_actions  # noqa: E402

POLICY = Path(__file__).resolve().parent / "workshop-policy.json"
ALWAYS = ("sts:GetCallerIdentity",)
"""Actions made outside ``ctx.client``: the aws target's account check in ``labs.env``."""

_PASS_ROLE = ("iam:PassRole",)
IMPLIED: dict[str, tuple[str, ...]] = {
    # Calls that hand a role to a service need iam:PassRole on that role, which is no API call
    # of its own: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html
    "codebuild:CreateProject": _PASS_ROLE,
    "codepipeline:CreatePipeline": _PASS_ROLE,
    "codepipeline:UpdatePipeline": _PASS_ROLE,
    "codedeploy:CreateDeploymentGroup": _PASS_ROLE,
    "ecs:RegisterTaskDefinition": _PASS_ROLE,
    "ecs:CreateExpressGatewayService": _PASS_ROLE,
    "eks:CreateCluster": _PASS_ROLE,
    "eks:CreateNodegroup": _PASS_ROLE,
    "apprunner:CreateService": _PASS_ROLE,
    "cloudformation:CreateStack": _PASS_ROLE,
    # Tags given on create are authorised as a tagging action too ("tag on create"):
    # https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-tags.html
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_AddTags.html
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/supported-iam-actions-tagging.html
    "sqs:CreateQueue": ("sqs:TagQueue",),
    "elasticloadbalancing:CreateLoadBalancer": ("elasticloadbalancing:AddTags",),
    "elasticloadbalancing:CreateTargetGroup": ("elasticloadbalancing:AddTags",),
    "ssm:PutParameter": ("ssm:AddTagsToResource",),
    "sns:CreateTopic": ("sns:TagResource",),
    "ecr:CreateRepository": ("ecr:TagResource",),
    "ecs:CreateCluster": ("ecs:TagResource",),
    "ecs:CreateService": ("ecs:TagResource",),
    "iam:CreateRole": ("iam:TagRole",),
    "cloudwatch:PutMetricAlarm": ("cloudwatch:TagResource",),
    "cloudwatch:PutCompositeAlarm": ("cloudwatch:TagResource",),
}
"""Recorded action → actions a real account also checks for it, which no call records."""

SERVICE_LINKED_ROLES = (
    "apprunner.amazonaws.com",
    "ecs.amazonaws.com",
    "ecs.application-autoscaling.amazonaws.com",
    "eks.amazonaws.com",
    "eks-nodegroup.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
)
"""Services whose first use in an account creates their service-linked role, as the caller:
https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html"""

READ_VERBS = ("Batch", "Describe", "Get", "Head", "List", "Lookup", "Filter", "Search", "Validate")
"""Action name starts that only read (``BatchGet…``, ``Describe…``, ``List…``)."""

SCOPED: dict[str, list[str]] = {
    "s3": ["arn:aws:s3:::labs-*", "arn:aws:s3:::labs-*/*"],
    "iam": ["arn:aws:iam::*:role/*labs-*"],
}
"""Prefix → the workshop's resources that its writes are limited to (names from ctx.name)."""

IAM_ROLE_WRITES = {
    "AttachRolePolicy",
    "CreateRole",
    "DeleteRole",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "PassRole",
    "PutRolePolicy",
    "TagRole",
    "UntagRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
    "UpdateRoleDescription",
}


def _is_read(name: str) -> bool:
    return name.startswith(READ_VERBS) and not name.startswith("BatchDelete")


def _scoped(prefix: str, name: str) -> bool:
    """True when ``prefix:name`` is a write limited to the workshop's named resources."""
    if prefix == "iam":
        return name in IAM_ROLE_WRITES
    if prefix == "s3":  # every S3 write names its bucket; CreateBucket too
        return not _is_read(name)
    return False


def _sid(prefix: str, suffix: str = "") -> str:
    return "".join(part.capitalize() for part in prefix.replace("-", " ").split()) + suffix


def build_policy(actions: list[str]) -> dict:
    """Return the policy document covering exactly ``actions`` (plus :data:`ALWAYS`)."""
    wanted = set(actions) | set(ALWAYS)
    wanted |= {extra for action in set(wanted) for extra in IMPLIED.get(action, ())}
    by_service: dict[str, list[str]] = {}
    for action in sorted(wanted):
        prefix, name = action.split(":", 1)
        by_service.setdefault(prefix, []).append(name)
    statements = []
    for prefix in sorted(by_service):
        names = by_service[prefix]
        anywhere = [n for n in names if not _scoped(prefix, n)]
        scoped = [n for n in names if _scoped(prefix, n)]
        if anywhere:
            statements.append(
                {
                    "Sid": _sid(prefix),
                    "Effect": "Allow",
                    "Action": [f"{prefix}:{n}" for n in anywhere],
                    "Resource": "*",
                }
            )
        if scoped:
            statements.append(
                {
                    "Sid": _sid(prefix, "WorkshopResources"),
                    "Effect": "Allow",
                    "Action": [f"{prefix}:{n}" for n in scoped],
                    "Resource": SCOPED[prefix],
                }
            )
    if wanted & {"ecs:CreateCluster", "eks:CreateCluster", "apprunner:CreateService"}:
        statements.append(
            {
                "Sid": "ServiceLinkedRoles",
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole"],
                "Resource": "arn:aws:iam::*:role/aws-service-role/*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def policy_actions(policy: dict) -> set[str]:
    """Every action the policy allows (its statements' ``Action`` lists)."""
    found: set[str] = set()
    for statement in policy["Statement"]:
        action = statement["Action"]
        found.update([action] if isinstance(action, str) else action)
    return found


def record_series(notebooks: list[Path], record: Path) -> list[str]:
    """Run ``notebooks`` with the recorder on; return the names of those that passed."""
    from run_all import execute

    os.environ[RECORD_ENV] = str(record)
    passed = []
    for path in notebooks:
        _, run = execute(path)
        print(f"{run.notebook:<45} {run.seconds:7.1f} s  {'pass' if run.passed else run.error}")
        if run.passed:
            passed.append(run.notebook)
    return passed


def main(argv: list[str] | None = None) -> int:
    """Command line: ``derive_policy.py [--from-record FILE] [NOTEBOOK ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every solution")
    parser.add_argument("--from-record", type=Path, help="use this recording; run nothing")
    parser.add_argument("--keep-record", type=Path, help="also keep the recording here")
    args = parser.parse_args(argv)

    if args.from_record:
        actions = read_actions(args.from_record)
    else:
        notebooks = [p.resolve() for p in args.notebooks] or sorted(
            (ROOT / "solutions").glob("[0-9]*.ipynb")
        )
        with tempfile.TemporaryDirectory() as tmp:
            record = Path(tmp) / "calls.txt"
            passed = record_series(notebooks, record)
            actions = read_actions(record)
            if args.keep_record:
                args.keep_record.write_text("".join(f"{a}\n" for a in actions))
        failed = len(notebooks) - len(passed)
        print(f"Recorded {len(actions)} actions from {len(passed)} notebooks: {', '.join(passed)}")
        if failed:
            print(f"{failed} notebook(s) failed: the policy was not written.", file=sys.stderr)
            return 1
    policy = build_policy(actions)
    POLICY.write_text(json.dumps(policy, indent=2) + "\n")
    print(f"Wrote {POLICY.relative_to(ROOT)}: {len(policy_actions(policy))} actions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
