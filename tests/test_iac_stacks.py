"""Stacks on the emulator: what it skipped, exports in use, change sets, updates, deletion."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from labs.iac import drift, samples, stacks, templates
from labs.iac.errors import StackRefused, TemplateError
from labs.iac.stacks import EVENT_COLUMNS, LOST, REPORT_COLUMNS, SKIPPED


def _name() -> str:
    return f"labs-test-{uuid.uuid4().hex[:8]}"


ALARM = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {
        "Namespace": "X",
        "MetricName": "Y",
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanThreshold",
    },
}


def test_the_report_names_what_the_emulator_skipped(ctx: Any, capsys: Any) -> None:
    stack = _name()
    template = {
        "Parameters": {"Env": {"Type": "String", "Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": stack}},
            "Alarm": ALARM,
            "ProdTopic": {"Type": "AWS::SNS::Topic", "Condition": "IsProd"},
        },
    }
    try:
        result = stacks.deploy(ctx, stack, template, lab="test")
        printed = capsys.readouterr().out
        report = result.resources.set_index("logical_id")
        assert list(result.resources.columns) == REPORT_COLUMNS
        assert report.loc["Queue", "status"] == "created"
        assert report.loc["Queue", "physical_id"].endswith(f"/{stack}")
        assert report.loc["Alarm", "status"] == SKIPPED
        assert report.loc["ProdTopic", "status"] == "not created: condition IsProd is false"
        assert result.skipped == ["Alarm"]
        assert "The emulator skipped 1 resource(s) that AWS would create: Alarm" in printed
        assert "2 of 3" not in printed and "1 of 3 template resources" in printed
        assert result.action == "CREATE" and result.status == "CREATE_COMPLETE"
        again = stacks.deploy(ctx, stack, template, lab="test", quiet=True)
        assert again.action == "NO_CHANGE"
    finally:
        stacks.delete(ctx, stack, quiet=True)


def test_deploy_lints_first_and_creates_nothing_on_errors(ctx: Any) -> None:
    stack = _name()
    with pytest.raises(TemplateError, match="cfn-lint found 3 error"):
        stacks.deploy(ctx, stack, samples.PAYMENTS_WITH_MISTAKES, lab="test")
    assert stacks.status(ctx, stack) is None


def test_bad_parameters_are_refused_before_anything_is_created(ctx: Any) -> None:
    with pytest.raises(TemplateError, match="AllowedValues"):
        stacks.deploy(ctx, _name(), samples.BOOKSTORE_DATA, parameters={"Env": "qa"})


def test_the_emulator_gap_is_reported_and_filled(ctx: Any) -> None:
    stack = _name()
    template = {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": stack,
                    "VersioningConfiguration": {"Status": "Enabled"},
                },
            }
        }
    }
    try:
        result = stacks.deploy(ctx, stack, template, lab="test", quiet=True)
        gaps = result.emulator_gaps
        assert gaps[["logical_id", "property_path", "applied"]].values.tolist() == [
            ["Bucket", "/VersioningConfiguration", True]
        ]
        assert "labs applied it" in result.summary()
        versioning = ctx.client("s3").get_bucket_versioning(Bucket=stack)
        assert versioning["Status"] == "Enabled"
        assert set(drift.detect(ctx, stack)["status"]) == {"IN_SYNC"}
    finally:
        stacks.delete(ctx, stack, quiet=True)


def test_exports_in_use_cannot_be_deleted_or_changed(ctx: Any) -> None:
    data, app = _name(), _name()
    try:
        stacks.deploy(ctx, data, samples.BOOKSTORE_DATA, parameters={"Env": "dev"}, quiet=True)
        stacks.deploy(ctx, app, samples.BOOKSTORE_APP, parameters={"DataStack": data}, quiet=True)
        names = set(stacks.exports(ctx).query("exporting_stack == @data")["name"])
        assert f"{data}-OrdersQueueUrl" in names
        assert stacks.importers(ctx, f"{data}-OrdersQueueUrl") == [app]
        assert stacks.importers(ctx, f"{data}-OrdersQueueArn") == []

        with pytest.raises(StackRefused) as refused:
            stacks.delete(ctx, data)
        assert f"cannot be deleted as it is in use by {app}" in str(refused.value)
        assert stacks.status(ctx, data) == "CREATE_COMPLETE"

        renamed = templates.load(samples.BOOKSTORE_DATA)
        renamed["Resources"]["BooksTable"]["Properties"]["TableName"] = "labs-test-renamed"
        with pytest.raises(StackRefused, match="BooksTableName cannot be updated"):
            stacks.deploy(ctx, data, renamed, quiet=True)
        no_outputs = templates.load(samples.BOOKSTORE_DATA)
        del no_outputs["Outputs"]["OrdersQueueUrl"]
        with pytest.raises(StackRefused, match="OrdersQueueUrl cannot be deleted"):
            stacks.deploy(ctx, data, no_outputs, quiet=True)
        unused = templates.load(samples.BOOKSTORE_DATA)
        del unused["Outputs"]["OrdersQueueArn"]  # nobody imports it: allowed
        assert stacks.deploy(ctx, data, unused, quiet=True).status == "UPDATE_COMPLETE"

        assert stacks.delete(ctx, app, quiet=True) == "deleted"
        assert stacks.delete(ctx, data, quiet=True) == "deleted"
    finally:
        stacks.delete_stacks(ctx, [app, data])
    assert stacks.delete(ctx, data, quiet=True) == "already gone"


def test_change_sets_preview_then_execute(ctx: Any) -> None:
    stack = _name()
    try:
        stacks.deploy(ctx, stack, samples.BOOKSTORE_DATA, quiet=True)
        new = templates.load(samples.BOOKSTORE_DATA)
        new["Resources"]["BooksTable"]["Properties"]["TableName"] = f"{stack}-books"
        new["Resources"]["AlertsTopic"]["Properties"]["DisplayName"] = "Renamed"
        preview = stacks.create_change_set(ctx, stack, new, name="rename")
        assert preview.status == "CREATE_COMPLETE"
        changes = preview.changes.set_index("logical_id")
        assert changes.loc["BooksTable", "replacement"] == "True"
        assert changes.loc["AlertsTopic", "replacement"] == "False"
        assert stacks.delete_change_set(ctx, stack, "rename")

        same = stacks.create_change_set(ctx, stack, samples.BOOKSTORE_DATA, name="nothing")
        assert same.status == "FAILED" and "didn't contain changes" in same.reason
        with pytest.raises(StackRefused, match="cannot be executed"):
            stacks.execute_change_set(ctx, same)

        new = templates.load(samples.BOOKSTORE_DATA)
        new["Resources"]["OrdersQueue"]["Properties"]["VisibilityTimeout"] = 90
        tune = stacks.create_change_set(ctx, stack, new, name="tune")
        assert tune.changes[["action", "logical_id", "replacement"]].values.tolist() == [
            ["Modify", "OrdersQueue", "False"]
        ]
        result = stacks.execute_change_set(ctx, tune, quiet=True)
        assert result.status == "UPDATE_COMPLETE"
        url = result.outputs["OrdersQueueUrl"].rsplit("/", 1)[-1]
        queue = ctx.client("sqs").get_queue_url(QueueName=url)["QueueUrl"]
        attributes = ctx.client("sqs").get_queue_attributes(
            QueueUrl=queue, AttributeNames=["VisibilityTimeout"]
        )
        assert attributes["Attributes"]["VisibilityTimeout"] == "90"
        timeline = stacks.events(ctx, stack)
        assert list(timeline.columns) == EVENT_COLUMNS
        assert list(timeline["status"])[-2:] == ["UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"]
        assert list(timeline["step"]) == list(range(1, len(timeline) + 1))
    finally:
        stacks.delete(ctx, stack, quiet=True)


def test_a_resource_the_emulator_loses_in_an_update_is_still_tracked(ctx: Any) -> None:
    stack = _name()
    template = {
        "Resources": {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": f"/{stack}", "RetentionInDays": 7},
            }
        }
    }
    try:
        stacks.deploy(ctx, stack, template, quiet=True)
        template["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 14
        result = stacks.deploy(ctx, stack, template, quiet=True)
        report = result.resources.set_index("logical_id")
        assert report.loc["Logs", "status"] == LOST  # the emulator cannot update a log group
        assert report.loc["Logs", "physical_id"] == f"/{stack}"
        assert "stopped listing Logs" in result.summary()
        assert result.emulator_gaps["applied"].tolist() == [True]
        assert set(drift.detect(ctx, stack)["status"]) == {"IN_SYNC"}
        groups = ctx.client("logs").describe_log_groups(logGroupNamePrefix=f"/{stack}")
        assert groups["logGroups"][0]["retentionInDays"] == 14
    finally:
        stacks.delete(ctx, stack, quiet=True)
    groups = ctx.client("logs").describe_log_groups(logGroupNamePrefix=f"/{stack}")
    assert groups["logGroups"] == []  # deleted with its stack, as on AWS


def test_a_stack_with_a_resource_deleted_by_hand_can_be_deleted(ctx: Any) -> None:
    stack = _name()
    template = {
        "Resources": {
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": f"/{stack}", "Type": "String", "Value": "v"},
            },
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": stack}},
        }
    }
    stacks.deploy(ctx, stack, template, quiet=True)
    ctx.client("ssm").delete_parameter(Name=f"/{stack}")
    assert stacks.delete(ctx, stack, quiet=True) == "deleted"
    assert stacks.status(ctx, stack) is None
    assert stack not in "".join(ctx.client("sqs").list_queues().get("QueueUrls", []))


def test_outputs_and_list(ctx: Any) -> None:
    stack = _name()
    try:
        stacks.deploy(ctx, stack, samples.BOOKSTORE_DATA, lab="test", quiet=True)
        assert stacks.outputs(ctx, stack)["BooksTableName"] == "labs-bookstore-dev-books"
        listed = stacks.list_stacks(ctx).set_index("stack")
        assert listed.loc[stack, "lab"] == "test"
    finally:
        stacks.delete(ctx, stack, quiet=True)
    with pytest.raises(StackRefused):
        stacks.outputs(ctx, stack)
