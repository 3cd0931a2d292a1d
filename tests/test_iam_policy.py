"""The IAM recorder (labs.iam) and the committed least-privilege policy it derived.

``setup/iam/workshop-policy.json`` is written by ``setup/iam/derive_policy.py`` from a run of the
whole series with ``LABS_RECORD_CALLS`` set. These tests check that the recorder records what
``ctx.client`` calls, in IAM form and once each; that the policy covers what a sample of the
series records here and now; that every action in it is a real one; and that a policy linter
(parliament, offline: it ships the Service Authorization Reference as data) finds nothing wrong.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import pytest

import labs.iam
from labs.cleanup import inventory
from labs.env import Workshop

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "setup" / "iam" / "workshop-policy.json"
sys.path.insert(0, str(ROOT / "setup" / "iam"))

from derive_policy import IMPLIED, build_policy, policy_actions  # noqa: E402

BOTO_NAMES = {
    "elasticloadbalancing": ("elbv2", "elb"),
    "appconfig": ("appconfig", "appconfigdata"),
    "tag": ("resourcegroupstaggingapi",),
}
"""IAM prefix → the boto3 clients whose operations it authorises, where the names differ."""

NOT_API_CALLS = {"iam:PassRole"}
"""IAM actions that are permissions only, checked when a call hands a role to a service."""


@pytest.fixture(scope="module")
def policy() -> dict:
    return json.loads(POLICY_PATH.read_text())


@pytest.fixture
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "calls.txt"
    monkeypatch.setenv(labs.iam.RECORD_ENV, str(path))
    return path


# --------------------------------------------------------------------------------------------
# (a) The recorder
# --------------------------------------------------------------------------------------------


def test_the_recorder_writes_each_call_once_in_iam_form(ctx: Workshop, record: Path) -> None:
    s3 = ctx.client("s3")
    s3.list_buckets()
    s3.list_buckets()
    ctx.client("s3").list_buckets()  # another client, same process: still one line
    ctx.client("elbv2").describe_load_balancers()
    ctx.client("cloudwatch").list_dashboards()
    ctx.client("logs").describe_log_groups()
    ctx.client("application-autoscaling").describe_scalable_targets(ServiceNamespace="ecs")
    assert record.read_text().splitlines() == [
        "s3:ListAllMyBuckets",
        "elasticloadbalancing:DescribeLoadBalancers",
        "cloudwatch:ListDashboards",
        "logs:DescribeLogGroups",
        "application-autoscaling:DescribeScalableTargets",
    ]


def test_a_failed_call_is_recorded_too(ctx: Workshop, record: Path) -> None:
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError):
        ctx.client("sqs").get_queue_url(QueueName="labs-no-such-queue")
    assert labs.iam.read_actions(record) == ["sqs:GetQueueUrl"]  # the policy must allow it


def test_nothing_is_recorded_without_the_variable(
    ctx: Workshop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(labs.iam.RECORD_ENV, raising=False)
    ctx.client("s3").list_buckets()
    assert list(tmp_path.iterdir()) == []


def test_processes_append_to_one_file_and_reading_deduplicates(ctx: Workshop, record: Path) -> None:
    code = (
        "import labs; ctx = labs.start(quiet=True); "
        "[ctx.client('ssm').describe_parameters() for _ in range(3)]; "
        "ctx.client('sts').get_caller_identity()"
    )
    runs = [subprocess.Popen([sys.executable, "-c", code], env=dict(os.environ)) for _ in range(3)]
    assert [p.wait(timeout=120) for p in runs] == [0, 0, 0]
    lines = record.read_text().splitlines()
    assert sorted(lines) == sorted(["ssm:DescribeParameters", "sts:GetCallerIdentity"] * 3)
    assert labs.iam.read_actions(record) == ["ssm:DescribeParameters", "sts:GetCallerIdentity"]


@pytest.mark.parametrize(
    ("client", "operation", "expected"),
    [
        ("elbv2", "ModifyListener", ("elasticloadbalancing:ModifyListener",)),
        ("cloudwatch", "PutMetricAlarm", ("cloudwatch:PutMetricAlarm",)),
        ("events", "PutRule", ("events:PutRule",)),
        ("codecommit", "GetBranch", ("codecommit:GetBranch",)),
        ("appconfigdata", "GetLatestConfiguration", ("appconfig:GetLatestConfiguration",)),
        ("resourcegroupstaggingapi", "GetResources", ("tag:GetResources",)),
        ("ecr", "GetAuthorizationToken", ("ecr:GetAuthorizationToken",)),
        ("s3", "ListBuckets", ("s3:ListAllMyBuckets",)),
        ("s3", "HeadObject", ("s3:GetObject",)),
        ("s3", "CopyObject", ("s3:GetObject", "s3:PutObject")),
        ("s3", "ListObjectsV2", ("s3:ListBucket",)),
    ],
)
def test_iam_names_of_operations(client: str, operation: str, expected: tuple[str, ...]) -> None:
    model = botocore.session.get_session().get_service_model(client)
    assert operation in model.operation_names
    assert labs.iam.iam_actions(model, operation) == expected


def test_labs_iam_is_on_floor_1() -> None:
    source = (ROOT / "labs" / "iam.py").read_text()
    assert "from labs" not in source and "import labs" not in source


# --------------------------------------------------------------------------------------------
# (b) The committed policy covers what the series records, and only real actions
# --------------------------------------------------------------------------------------------


def test_the_policy_covers_a_sample_of_the_series(
    ctx: Workshop, record: Path, policy: dict
) -> None:
    from run_all import execute

    inventory(ctx)  # every cleaner's listing calls, on every service the series uses
    _, run = execute(ROOT / "solutions" / "02_source_codecommit.ipynb")  # its kernel records too
    assert run.passed, run.error
    recorded = set(labs.iam.read_actions(record))
    assert len(recorded) > 40
    missing = recorded - policy_actions(policy)
    assert not missing, (
        f"the series now calls {sorted(missing)}, which setup/iam/workshop-policy.json does not "
        "allow: run setup/iam/derive_policy.py again"
    )


def test_the_policy_is_what_the_deriver_makes_of_its_actions(policy: dict) -> None:
    """Grouped by service, sorted, GetCallerIdentity in: rebuilding it changes nothing."""
    assert policy["Version"] == "2012-10-17"
    actions = policy_actions(policy) - {"iam:CreateServiceLinkedRole"}  # its own statement
    assert build_policy(sorted(actions)) == policy
    implied = {a for action in actions for a in IMPLIED.get(action, ())}
    assert implied <= actions
    assert "sts:GetCallerIdentity" in policy_actions(policy)
    for statement in policy["Statement"]:
        actions = statement["Action"]
        assert actions == sorted(actions)
        assert len({a.split(":")[0] for a in actions}) == 1, statement["Sid"]
        assert statement["Effect"] == "Allow"


def test_every_action_in_the_policy_is_a_real_iam_action(policy: dict) -> None:
    session = botocore.session.get_session()
    aliased: dict[str, set[str]] = {}
    for (prefix, _), names in labs.iam.ACTION_ALIASES.items():
        aliased.setdefault(prefix, set()).update(names)
    unknown = []
    for action in sorted(policy_actions(policy)):
        prefix, name = action.split(":")
        if action in NOT_API_CALLS or name in aliased.get(prefix, set()):
            continue
        operations: set[str] = set()
        for client in BOTO_NAMES.get(prefix, (prefix,)):
            model = session.get_service_model(client)
            assert labs.iam.iam_prefix(model) == prefix, client
            operations.update(model.operation_names)
        if name not in operations:
            unknown.append(action)
    assert not unknown, f"not an operation of the service: {unknown}"


def test_scoped_statements_name_only_workshop_resources(policy: dict) -> None:
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        if resources == "*" or statement["Sid"] == "ServiceLinkedRoles":
            continue
        assert all("labs-" in r for r in resources), statement["Sid"]


# --------------------------------------------------------------------------------------------
# (c) A policy linter
# --------------------------------------------------------------------------------------------


def test_parliament_finds_nothing_wrong(policy: dict) -> None:
    """parliament (offline) lints the policy; two kinds of finding are expected, both LOW.

    * ``RESOURCE_STAR``: reads, creates and most writes use ``Resource: "*"`` on purpose (the
      cleanup reads every resource's tags; names other than ``labs-…`` exist, such as
      ``/labs/bookstore/dev``); only S3 and IAM role writes are scoped.
    * ``UNKNOWN_ACTION`` for an action newer than parliament's copy of the Service
      Authorization Reference, but an operation of botocore's (ECS Express Mode, 2025).
    """
    from parliament import analyze_policy_string

    linted = analyze_policy_string(POLICY_PATH.read_text())
    session = botocore.session.get_session()
    problems = []
    for finding in linted.findings:
        if finding.issue == "RESOURCE_STAR":
            continue
        if finding.issue == "UNKNOWN_ACTION":
            prefix, name = finding.location["string"].split(":")
            if name in session.get_service_model(prefix).operation_names:
                continue
        problems.append(f"{finding.issue}: {finding.detail}")
    assert not problems, problems
