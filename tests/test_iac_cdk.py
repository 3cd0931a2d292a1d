"""The CDK side of labs.iac: the MonitoredService construct (assertions), synth, cdk-nag, deploy.

Assertions use ``aws_cdk.assertions.Template`` as the lab teaches. One module-scoped app holds
the bookstore's two stacks (MonitoredService used twice, a cross-stack reference), so that the
Node.js runtime starts once for the file.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

import labs.iac  # noqa: F401 - sets the jsii runtime's environment before aws_cdk is imported

# isort: split
import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Match, Template

from labs.errors import CheckFailed, InputError, LabsError
from labs.iac import cdk as lab_cdk
from labs.iac import checks, stacks
from labs.iac.monitored import MonitoredService


def _bookstore(app: Any, suffix: str = "") -> tuple[Any, Any]:
    data = cdk.Stack(app, "Data", stack_name=f"labs-cdk-data{suffix}")
    table = dynamodb.Table(
        data,
        "Books",
        table_name=f"labs-cdk-books{suffix}",
        partition_key=dynamodb.Attribute(name="isbn", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    services = cdk.Stack(app, "Services", stack_name=f"labs-cdk-services{suffix}")
    MonitoredService(services, "Orders", service_name=f"orders{suffix}", table=table)
    MonitoredService(
        services, "Payments", service_name=f"payments{suffix}", backlog_threshold=20, table=table
    )
    return data, services


@pytest.fixture(scope="module")
def bookstore() -> tuple[Any, Any, Any]:
    app = lab_cdk.new_app("test-bookstore", nag=True)
    data, services = _bookstore(app)
    return app, data, services


@pytest.fixture(scope="module")
def services_template(bookstore: tuple[Any, Any, Any]) -> Template:
    return Template.from_stack(bookstore[2])


def test_the_construct_used_twice_makes_two_of_everything(services_template: Template) -> None:
    t = services_template
    t.resource_count_is("AWS::SQS::Queue", 4)
    t.resource_count_is("AWS::CloudWatch::Alarm", 4)
    t.resource_count_is("AWS::CloudWatch::Dashboard", 2)
    t.resource_count_is("AWS::SNS::Topic", 2)
    t.resource_count_is("AWS::Logs::LogGroup", 2)
    t.resource_count_is("AWS::SSM::Parameter", 2)


def test_queues_have_a_dead_letter_queue_and_require_ssl(services_template: Template) -> None:
    t = services_template
    t.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "QueueName": "labs-cdk-orders",
            "VisibilityTimeout": 30,
            "RedrivePolicy": {
                "deadLetterTargetArn": {
                    "Fn::GetAtt": [Match.string_like_regexp("OrdersDeadLetters"), "Arn"]
                },
                "maxReceiveCount": 5,
            },
        },
    )
    t.has_resource_properties(
        "AWS::SQS::Queue", {"QueueName": "labs-cdk-orders-dlq", "MessageRetentionPeriod": 1209600}
    )
    t.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )
    t.has_resource("AWS::SQS::Queue", {"DeletionPolicy": "Delete"})


def test_alarms_notify_the_topic_with_their_thresholds(services_template: Template) -> None:
    t = services_template
    t.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": "labs-cdk-payments-backlog",
            "Threshold": 20,
            "EvaluationPeriods": 5,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [{"Ref": Match.string_like_regexp("PaymentsAlarms")}],
        },
    )
    t.has_resource_properties(
        "AWS::CloudWatch::Alarm", {"AlarmName": "labs-cdk-orders-dead-letters", "Threshold": 0}
    )
    t.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": "labs-cdk-orders-alarms", "KmsMasterKeyId": Match.any_value()},
    )


def test_the_dashboard_and_the_log_group(services_template: Template) -> None:
    t = services_template
    t.has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": "labs-cdk-orders", "DashboardBody": Match.any_value()},
    )
    t.has_resource_properties(
        "AWS::Logs::LogGroup", {"LogGroupName": "/labs/cdk/payments", "RetentionInDays": 14}
    )


def test_the_table_name_is_a_cross_stack_reference(bookstore: tuple[Any, Any, Any]) -> None:
    _, data, services = bookstore
    parameter = Template.from_stack(services).find_resources("AWS::SSM::Parameter")
    values = [p["Properties"]["Value"] for p in parameter.values()]
    assert all("Fn::ImportValue" in v for v in values)
    outputs = Template.from_stack(data).to_json()["Outputs"]
    exported = [o["Export"]["Name"] for o in outputs.values()]
    assert values[0]["Fn::ImportValue"] in exported


def test_bad_service_names_are_refused() -> None:
    app = lab_cdk.new_app("test-bad-name")
    with pytest.raises(InputError, match="lower-case"):
        MonitoredService(cdk.Stack(app, "S"), "X", service_name="Orders Service")


def test_synth_reads_the_assembly_in_dependency_order(bookstore: tuple[Any, Any, Any]) -> None:
    app, _, _ = bookstore
    synthesis = lab_cdk.synth(app)
    assert list(synthesis.stacks) == ["labs-cdk-data", "labs-cdk-services"]
    services = synthesis.stacks["labs-cdk-services"]
    assert services.depends_on == ["labs-cdk-data"] and not services.uses_assets
    assert (synthesis.outdir / "manifest.json").is_file()
    assert synthesis.template("labs-cdk-data")["Parameters"]["BootstrapVersion"]["Default"] == (
        lab_cdk.BOOTSTRAP_PARAMETER
    )
    assert "CDKMetadata" not in synthesis.template("labs-cdk-services")["Resources"]
    counts = lab_cdk.resource_counts(synthesis.template("labs-cdk-services"))
    assert counts.iloc[0].tolist() == ["AWS::CloudWatch::Alarm", 4]
    with pytest.raises(InputError, match="no stack called"):
        synthesis.template("nope")


def test_nag_findings_are_read_from_the_report(bookstore: tuple[Any, Any, Any]) -> None:
    app, _, _ = bookstore
    found = lab_cdk.synth(app).findings
    assert list(found.columns) == lab_cdk.FINDING_COLUMNS
    # The construct passes AwsSolutions; the plain table has no point-in-time recovery.
    assert set(found["rule"]) == {"AwsSolutions-DDB3"}
    assert set(found["status"]) == {"open"}
    assert found.iloc[0]["construct_path"] == "Data/Books/Resource"


def test_acknowledged_findings_keep_their_reason() -> None:
    app = lab_cdk.new_app("test-ack", nag=True)
    stack = cdk.Stack(app, "S")
    bucket = s3.Bucket(stack, "Artifacts", enforce_ssl=True)
    lab_cdk.acknowledge(bucket, "AwsSolutions-S1", "Build artifacts only; nobody reads them.")
    found = lab_cdk.synth(app).findings
    assert found[["rule", "status", "reason"]].values.tolist() == [
        ["AwsSolutions-S1", "acknowledged", "Build artifacts only; nobody reads them."]
    ]
    with pytest.raises(InputError, match="too short"):
        lab_cdk.acknowledge(bucket, "AwsSolutions-S1", "ok")


def test_no_findings_without_the_plugin() -> None:
    app = lab_cdk.new_app("test-plain")
    s3.Bucket(cdk.Stack(app, "S"), "B")
    assert lab_cdk.synth(app).findings.empty


def test_deploy_to_the_emulator_reports_what_it_skipped(ctx: Any) -> None:
    suffix = f"-{uuid.uuid4().hex[:6]}"
    app = lab_cdk.new_app("test-deploy")
    _bookstore(app, suffix)
    synthesis = lab_cdk.synth(app)
    try:
        results = lab_cdk.deploy(ctx, synthesis, lab="test", quiet=True)
        assert list(results) == [f"labs-cdk-data{suffix}", f"labs-cdk-services{suffix}"]
        services = results[f"labs-cdk-services{suffix}"]
        skipped = set(
            services.resources.set_index("logical_id").loc[services.skipped, "resource_type"]
        )
        assert "AWS::CloudWatch::Alarm" in skipped
        value = ctx.client("ssm").get_parameter(Name=f"/labs/cdk/orders{suffix}/table")
        assert value["Parameter"]["Value"] == f"labs-cdk-books{suffix}"
        dashboard = ctx.client("cloudwatch").get_dashboard(DashboardName=f"labs-cdk-orders{suffix}")
        assert len(json.loads(dashboard["DashboardBody"])["widgets"]) == 2
        assert (
            lab_cdk.bootstrap(ctx)
            == ctx.client("ssm").get_parameter(Name=lab_cdk.BOOTSTRAP_PARAMETER)["Parameter"][
                "Value"
            ]
        )
    finally:
        lab_cdk.destroy(ctx, synthesis, quiet=True)
        lab_cdk.unbootstrap(ctx)
    assert stacks.status(ctx, f"labs-cdk-data{suffix}") is None
    assert not lab_cdk.unbootstrap(ctx)  # already gone


def test_a_stack_needing_assets_is_refused(ctx: Any) -> None:
    synthesis = lab_cdk.Synthesis(
        outdir=lab_cdk.emulator.workshop_dir(),
        manifest={},
        stacks={"s": lab_cdk.StackArtifact("S", "s", {"Resources": {}}, uses_assets=True)},
        findings=lab_cdk.findings("/nonexistent"),
    )
    with pytest.raises(LabsError, match="assets"):
        lab_cdk.deploy(ctx, synthesis)


# ---------------------------------------------------------------------------------------------
# The lab's CDK checks, both ways
# ---------------------------------------------------------------------------------------------


def test_assertion_check(services_template: Template) -> None:
    template = services_template.to_json()

    def good(t: Template) -> None:
        t.has_resource_properties(
            "AWS::CloudWatch::Alarm", {"AlarmName": "labs-cdk-payments-backlog", "Threshold": 20}
        )

    def empty(t: Template) -> None:
        pass

    def unwritten(t: Template) -> None:
        raise NotImplementedError()

    checks.assertion_written(good, template)
    for bad in (empty, unwritten, None):
        with pytest.raises(CheckFailed):
            checks.assertion_written(bad, template)


def test_nag_check() -> None:
    def fixed(scope: Any) -> Any:
        bucket = s3.Bucket(scope, "Artifacts", enforce_ssl=True)
        lab_cdk.acknowledge(
            bucket, "AwsSolutions-S1", "Build artifacts only; no access logs needed."
        )
        return bucket

    def plain(scope: Any) -> Any:
        return s3.Bucket(scope, "Artifacts")

    checks.nag_finding_fixed(fixed)
    with pytest.raises(CheckFailed, match="open findings"):
        checks.nag_finding_fixed(plain)
    with pytest.raises(CheckFailed, match="return"):
        checks.nag_finding_fixed(lambda scope: None)


def test_construct_prop_check() -> None:
    from aws_cdk import aws_sns_subscriptions as subscriptions

    class Alerted(MonitoredService):
        def __init__(self, scope: Any, cid: str, *, alarm_email: str | None = None, **kw: Any):
            super().__init__(scope, cid, **kw)
            if alarm_email:
                self.alarm_topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

    class Ignores(MonitoredService):
        def __init__(self, scope: Any, cid: str, *, alarm_email: str | None = None, **kw: Any):
            super().__init__(scope, cid, **kw)

    checks.construct_prop(Alerted)
    with pytest.raises(CheckFailed, match="one SNS subscription"):
        checks.construct_prop(Ignores)
    with pytest.raises(CheckFailed):
        checks.construct_prop(MonitoredService)  # no alarm_email prop at all
