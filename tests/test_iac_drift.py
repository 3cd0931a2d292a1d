"""Drift detection: every supported type in sync, modified out of band, and deleted.

Each case deploys a one-resource stack (two for Lambda, which needs its role) on the session's
emulator, checks it is ``IN_SYNC``, changes it through the service's own API as someone in the
console would, checks the ``PropertyDifferences``, deletes it out of band and checks
``DELETED``. The pure comparison rules and the aws-target path (with botocore's Stubber) are
tested at the end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from botocore.stub import Stubber

from labs.iac import drift, stacks
from labs.iac.drift import DRIFT_COLUMNS, Live, compare
from labs.iac.intrinsics import UNRESOLVED
from labs.iac.live import SUPPORTED_TYPES

ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _queue_url(ctx: Any, name: str) -> str:
    return ctx.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]


@dataclass
class Case:
    """A drift case: the resource, an out-of-band change and the differences it makes."""

    resource_type: str
    properties: Callable[[str], dict[str, Any]]
    modify: Callable[[Any, str], None]
    expected: set[tuple[str, str, str, str]]  # (path, type, expected, actual)
    delete: Callable[[Any, str], None]
    extra: Callable[[str], dict[str, Any]] | None = None


CASES = {
    "bucket": Case(
        "AWS::S3::Bucket",
        lambda n: {
            "BucketName": n,
            "VersioningConfiguration": {"Status": "Enabled"},
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "Tags": [{"Key": "app", "Value": "bookstore"}],
        },
        lambda ctx, n: (
            ctx.client("s3").put_bucket_versioning(
                Bucket=n, VersioningConfiguration={"Status": "Suspended"}
            ),
            ctx.client("s3").put_bucket_encryption(
                Bucket=n,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
                },
            ),
            ctx.client("s3").put_bucket_tagging(
                Bucket=n,
                Tagging={
                    "TagSet": [
                        {"Key": "app", "Value": "bookstore"},
                        {"Key": "owner", "Value": "console"},
                    ]
                },
            ),
        ),
        {
            ("/VersioningConfiguration/Status", "NOT_EQUAL", "Enabled", "Suspended"),
            (
                "/BucketEncryption/ServerSideEncryptionConfiguration/0/"
                "ServerSideEncryptionByDefault/SSEAlgorithm",
                "NOT_EQUAL",
                "AES256",
                "aws:kms",
            ),
            ("/Tags/1", "ADD", "null", '{"Key":"owner","Value":"console"}'),
        },
        lambda ctx, n: ctx.client("s3").delete_bucket(Bucket=n),
    ),
    "table": Case(
        "AWS::DynamoDB::Table",
        lambda n: {
            "TableName": n,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "isbn", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "isbn", "KeyType": "HASH"}],
        },
        lambda ctx, n: ctx.client("dynamodb").update_table(
            TableName=n,
            BillingMode="PROVISIONED",
            ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        ),
        {("/BillingMode", "NOT_EQUAL", "PAY_PER_REQUEST", "PROVISIONED")},
        lambda ctx, n: ctx.client("dynamodb").delete_table(TableName=n),
    ),
    "queue": Case(
        "AWS::SQS::Queue",
        lambda n: {"QueueName": n, "VisibilityTimeout": 45, "DelaySeconds": 0},
        lambda ctx, n: ctx.client("sqs").set_queue_attributes(
            QueueUrl=_queue_url(ctx, n), Attributes={"VisibilityTimeout": "120"}
        ),
        {("/VisibilityTimeout", "NOT_EQUAL", "45", "120")},
        lambda ctx, n: ctx.client("sqs").delete_queue(QueueUrl=_queue_url(ctx, n)),
    ),
    "topic": Case(
        "AWS::SNS::Topic",
        lambda n: {"TopicName": n, "DisplayName": "Bookstore alerts"},
        lambda ctx, n: ctx.client("sns").set_topic_attributes(
            TopicArn=f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{n}",
            AttributeName="DisplayName",
            AttributeValue="Changed in the console",
        ),
        {("/DisplayName", "NOT_EQUAL", "Bookstore alerts", "Changed in the console")},
        lambda ctx, n: ctx.client("sns").delete_topic(
            TopicArn=f"arn:aws:sns:{ctx.region}:{ctx.account_id}:{n}"
        ),
    ),
    "parameter": Case(
        "AWS::SSM::Parameter",
        lambda n: {"Name": f"/{n}", "Type": "String", "Value": "v1"},
        lambda ctx, n: ctx.client("ssm").put_parameter(
            Name=f"/{n}", Value="v2", Type="String", Overwrite=True
        ),
        {("/Value", "NOT_EQUAL", "v1", "v2")},
        lambda ctx, n: ctx.client("ssm").delete_parameter(Name=f"/{n}"),
    ),
    "log-group": Case(
        "AWS::Logs::LogGroup",
        lambda n: {"LogGroupName": f"/{n}", "RetentionInDays": 7},
        lambda ctx, n: ctx.client("logs").delete_retention_policy(logGroupName=f"/{n}"),
        {("/RetentionInDays", "REMOVE", "7", "null")},
        lambda ctx, n: ctx.client("logs").delete_log_group(logGroupName=f"/{n}"),
    ),
    "role": Case(
        "AWS::IAM::Role",
        lambda n: {
            "RoleName": n,
            "AssumeRolePolicyDocument": ROLE_POLICY,
            "MaxSessionDuration": 3600,
            "Policies": [
                {
                    "PolicyName": "read",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
                        ],
                    },
                }
            ],
        },
        lambda ctx, n: (
            ctx.client("iam").update_role(RoleName=n, MaxSessionDuration=7200),
            ctx.client("iam").put_role_policy(
                RoleName=n,
                PolicyName="read",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                    }
                ),
            ),
        ),
        {
            ("/MaxSessionDuration", "NOT_EQUAL", "3600", "7200"),
            (
                "/Policies/0/PolicyDocument",
                "NOT_EQUAL",
                '{"Statement":[{"Action":["s3:GetObject"],"Effect":"Allow","Resource":"*"}],'
                '"Version":"2012-10-17"}',
                '{"Statement":[{"Action":"s3:*","Effect":"Allow","Resource":"*"}],'
                '"Version":"2012-10-17"}',
            ),
        },
        lambda ctx, n: (
            ctx.client("iam").delete_role_policy(RoleName=n, PolicyName="read"),
            ctx.client("iam").delete_role(RoleName=n),
        ),
    ),
    "function": Case(
        "AWS::Lambda::Function",
        lambda n: {
            "FunctionName": n,
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            "Timeout": 10,
            "MemorySize": 128,
            "Environment": {"Variables": {"STAGE": "dev"}},
            "Code": {"ZipFile": "def handler(event, context):\n    return 1\n"},
        },
        lambda ctx, n: ctx.client("lambda").update_function_configuration(
            FunctionName=n, Timeout=30, Environment={"Variables": {"STAGE": "prod"}}
        ),
        {
            ("/Timeout", "NOT_EQUAL", "10", "30"),
            ("/Environment/Variables/STAGE", "NOT_EQUAL", "dev", "prod"),
        },
        lambda ctx, n: ctx.client("lambda").delete_function(FunctionName=n),
        extra=lambda n: {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"RoleName": f"{n}-role", "AssumeRolePolicyDocument": ROLE_POLICY},
            }
        },
    ),
}


def test_every_supported_type_has_a_case() -> None:
    assert {case.resource_type for case in CASES.values()} == set(SUPPORTED_TYPES)


def _deploy(ctx: Any, case: Case, name: str) -> str:
    resources = {"Res": {"Type": case.resource_type, "Properties": case.properties(name)}}
    if case.extra:
        resources.update(case.extra(name))
    stack = f"labs-test-drift-{name}"
    stacks.deploy(ctx, stack, {"Resources": resources}, lab="test", lint=False, quiet=True)
    return stack


def _row(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("logical_id").loc["Res"]


@pytest.mark.parametrize("kind", list(CASES))
def test_in_sync_then_modified_then_deleted(ctx: Any, kind: str) -> None:
    case = CASES[kind]
    name = f"labs-t{uuid.uuid4().hex[:8]}"
    stack = _deploy(ctx, case, name)
    try:
        frame = drift.detect(ctx, stack)
        assert list(frame.columns) == DRIFT_COLUMNS
        row = _row(frame)
        assert (row["resource_type"], row["status"], row["differences"]) == (
            case.resource_type,
            "IN_SYNC",
            [],
        )
        assert row["physical_id"]

        case.modify(ctx, name)
        row = _row(drift.detect(ctx, stack))
        assert row["status"] == "MODIFIED"
        found = {
            (d["PropertyPath"], d["DifferenceType"], d["ExpectedValue"], d["ActualValue"])
            for d in row["differences"]
        }
        assert found == case.expected
        assert drift.stack_drift_status(drift.detect(ctx, stack)) == "DRIFTED"

        case.delete(ctx, name)
        row = _row(drift.detect(ctx, stack))
        assert (row["status"], row["differences"]) == ("DELETED", [])
        flat = drift.differences(drift.detect(ctx, stack))
        assert flat.set_index("logical_id").loc["Res", "difference_type"] == "DELETED"
    finally:
        stacks.delete(ctx, stack, quiet=True)
    assert stacks.status(ctx, stack) is None


def test_unsupported_and_skipped_types_are_not_checked(ctx: Any) -> None:
    name = f"labs-t{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {
            "Dashboard": {
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {"DashboardName": name, "DashboardBody": '{"widgets": []}'},
            },
            "Alarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": name,
                    "Namespace": "X",
                    "MetricName": "Y",
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanThreshold",
                },
            },
        }
    }
    stack = f"labs-test-drift-{name}"
    stacks.deploy(ctx, stack, template, lab="test", quiet=True)
    try:
        frame = drift.detect(ctx, stack).set_index("logical_id")
        assert frame.loc["Dashboard", "status"] == "NOT_CHECKED"
        assert frame.loc["Dashboard", "physical_id"] == name
        assert (frame.loc["Alarm", "status"], frame.loc["Alarm", "physical_id"]) == (
            "NOT_CHECKED",
            "",
        )
        assert drift.stack_drift_status(frame.reset_index()) == "NOT_CHECKED"
    finally:
        stacks.delete(ctx, stack, quiet=True)


def test_parameters_and_references_are_resolved_before_comparing(ctx: Any) -> None:
    name = f"labs-t{uuid.uuid4().hex[:8]}"
    template = {
        "Parameters": {"Days": {"Type": "Number", "Default": 14}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": name}},
            "Url": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {
                    "Name": {"Fn::Sub": "/${AWS::StackName}/url"},
                    "Type": "String",
                    "Value": {"Ref": "Queue"},
                },
            },
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/{name}", "RetentionInDays": {"Ref": "Days"}},
            },
        },
    }
    stack = f"labs-test-drift-{name}"
    stacks.deploy(ctx, stack, template, parameters={"Days": 30}, lab="test", quiet=True)
    try:
        frame = drift.detect(ctx, stack)
        assert set(frame["status"]) == {"IN_SYNC"}, drift.differences(frame)
        ctx.client("logs").put_retention_policy(logGroupName=f"/{name}", retentionInDays=14)
        flat = drift.differences(drift.detect(ctx, stack))
        assert flat[["logical_id", "property_path", "expected", "actual"]].values.tolist() == [
            ["Logs", "/RetentionInDays", "30", "14"]
        ]
    finally:
        stacks.delete(ctx, stack, quiet=True)


def test_no_such_stack(ctx: Any) -> None:
    with pytest.raises(stacks.StackRefused, match="no stack called"):
        drift.detect(ctx, "labs-test-no-such-stack")


# ---------------------------------------------------------------------------------------------
# The comparison rules, without the emulator
# ---------------------------------------------------------------------------------------------


def test_numbers_and_booleans_compare_as_cloudformation_does() -> None:
    live = Live({"A": "45", "B": "true", "C": 1.0}, frozenset({"A", "B", "C"}))
    assert compare({"A": 45, "B": True, "C": "1"}, live) == []


def test_tag_lists_compare_by_key_and_ignore_managed_tags() -> None:
    expected = {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}
    actual = [
        {"Key": "b", "Value": "2"},
        {"Key": "aws:cloudformation:stack-name", "Value": "s"},
        {"Key": "workshop", "Value": "devops-on-aws-labs"},
        {"Key": "a", "Value": "9"},
    ]
    diffs = compare(expected, {"Tags": actual}, stack_tags={"workshop": "devops-on-aws-labs"})
    assert diffs == [
        {
            "PropertyPath": "/Tags/0/Value",
            "ExpectedValue": "1",
            "ActualValue": "9",
            "DifferenceType": "NOT_EQUAL",
        }
    ]


def test_lists_of_strings_are_unordered_with_add_and_remove() -> None:
    diffs = compare({"L": ["a", "b", "c"]}, {"L": ["c", "a", "d"]})
    assert {(d["PropertyPath"], d["DifferenceType"]) for d in diffs} == {
        ("/L/1", "REMOVE"),
        ("/L/2", "ADD"),
    }


def test_policies_compare_by_meaning() -> None:
    written = {
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["*"]}],
        "Version": "2012-10-17",
    }
    returned = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        }
    )
    assert (
        compare({"AssumeRolePolicyDocument": written}, {"AssumeRolePolicyDocument": returned}) == []
    )


def test_unknown_values_and_unreadable_properties_are_not_compared() -> None:
    live = Live({"A": "x"}, frozenset({"A", "B"}))
    assert compare({"A": UNRESOLVED, "C": 1, "D": {"E": UNRESOLVED}}, live) == []
    assert compare({"B": 2}, live)[0]["DifferenceType"] == "REMOVE"
    assert compare({"Code": {"ZipFile": "x"}}, {"Code": {}}, skip=("Code",)) == []


# ---------------------------------------------------------------------------------------------
# The aws target: the real DetectStackDrift, read into the same frame (stubbed)
# ---------------------------------------------------------------------------------------------


class _AwsContext:
    """A stand-in for an aws-target Workshop whose CloudFormation client is stubbed."""

    is_local = False
    region = "us-east-1"
    account_id = "111122223333"

    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, service: str) -> Any:
        assert service == "cloudformation"
        return self._client


def test_the_aws_target_calls_detect_stack_drift() -> None:
    import boto3

    client = boto3.client(
        "cloudformation",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        endpoint_url="http://127.0.0.1:9",
    )
    stack = {
        "StackName": "s",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1",
        "StackStatus": "CREATE_COMPLETE",
        "CreationTime": "2026-01-01T00:00:00Z",
    }
    template = {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm"},
        }
    }
    difference = {
        "PropertyPath": "/VisibilityTimeout",
        "ExpectedValue": "30",
        "ActualValue": "60",
        "DifferenceType": "NOT_EQUAL",
    }
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "s"})
        stub.add_response("detect_stack_drift", {"StackDriftDetectionId": "d1"}, {"StackName": "s"})
        stub.add_response(
            "describe_stack_drift_detection_status",
            {
                "StackId": stack["StackId"],
                "StackDriftDetectionId": "d1",
                "DetectionStatus": "DETECTION_COMPLETE",
                "StackDriftStatus": "DRIFTED",
                "DriftedStackResourceCount": 1,
                "Timestamp": "2026-01-01T00:00:00Z",
            },
            {"StackDriftDetectionId": "d1"},
        )
        stub.add_response(
            "describe_stack_resource_drifts",
            {
                "StackResourceDrifts": [
                    {
                        "StackId": stack["StackId"],
                        "LogicalResourceId": "Queue",
                        "PhysicalResourceId": "https://sqs/q",
                        "ResourceType": "AWS::SQS::Queue",
                        "StackResourceDriftStatus": "MODIFIED",
                        "PropertyDifferences": [difference],
                        "Timestamp": "2026-01-01T00:00:00Z",
                    }
                ]
            },
            {"StackName": "s"},
        )
        stub.add_response(
            "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": "s"}
        )
        stub.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": "Alarm",
                        "PhysicalResourceId": "alarm",
                        "ResourceType": "AWS::CloudWatch::Alarm",
                        "ResourceStatus": "CREATE_COMPLETE",
                        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    },
                    {
                        "LogicalResourceId": "Queue",
                        "PhysicalResourceId": "https://sqs/q",
                        "ResourceType": "AWS::SQS::Queue",
                        "ResourceStatus": "CREATE_COMPLETE",
                        "LastUpdatedTimestamp": "2026-01-01T00:00:00Z",
                    },
                ]
            },
            {"StackName": "s"},
        )
        frame = drift.detect(_AwsContext(client), "s")  # type: ignore[arg-type]
    assert list(frame.columns) == DRIFT_COLUMNS
    assert frame[["logical_id", "status"]].values.tolist() == [
        ["Queue", "MODIFIED"],
        ["Alarm", "NOT_CHECKED"],
    ]
    assert frame.iloc[0]["differences"] == [difference]
