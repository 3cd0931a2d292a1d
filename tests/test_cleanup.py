"""labs.cleanup against an emulator of this module's own: tagged resources go, untagged stay.

Every test that changes state starts from a reset emulator filled by :func:`populate` with a
tagged and an untagged resource of each service the series uses. Untagged resources are named
``labs-keep-…`` on purpose: the cleanup must select by tag, never by the ``labs-`` prefix (the
one exception, CloudWatch dashboards, has an untagged ``keep-dashboard`` that must survive).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from labs import cleanup as cl
from labs import emulator
from labs.env import Workshop
from labs.errors import InputError

Key = tuple[str, str, str]  # (service, kind, name)

REQUIRED_SERVICES = {
    "s3", "dynamodb", "sqs", "sns", "ssm", "iam", "logs", "cloudwatch", "codecommit",
    "codebuild", "codedeploy", "codepipeline", "cloudformation", "ecr", "ecs", "eks", "elbv2",
    "appconfig", "lambda", "events",
}  # fmt: skip


# --------------------------------------------------------------------------------------------
# Fixtures: one emulator for the module, a freshly filled one per test
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workshop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workshop]:
    """A workshop context on an emulator of this module's own, stopped at the end."""
    import labs.env

    saved_env = dict(os.environ)
    saved_original = labs.env._ORIGINAL_ENV
    os.environ["LABS_WORKSHOP_DIR"] = str(tmp_path_factory.mktemp("cleanup-workshop"))
    try:
        ctx = labs.env.start(quiet=True)  # tracks what the emulator cannot list (the ledger)
        yield ctx
    finally:
        emulator.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        labs.env._ORIGINAL_ENV = saved_original


@dataclass
class World:
    """What :func:`populate` created."""

    tagged: set[Key] = field(default_factory=set)
    untagged: set[Key] = field(default_factory=set)
    stack_children: set[Key] = field(default_factory=set)
    codecommit: list[str] = field(default_factory=list)
    appconfig: dict[str, str] = field(default_factory=dict)  # name → id


_PRISTINE: dict[str, World] = {}  # the world read-only tests share while nothing changed it


@pytest.fixture
def world(workshop: Workshop) -> World:
    """A reset emulator holding a tagged and an untagged resource of every service."""
    _PRISTINE.clear()  # the test changes it
    emulator.reset()
    cl.forget(workshop)
    return populate(workshop)


@pytest.fixture
def pristine(workshop: Workshop) -> World:
    """Like ``world``, for tests that change nothing: filled once and shared while intact."""
    if "world" not in _PRISTINE:
        emulator.reset()
        cl.forget(workshop)
        _PRISTINE["world"] = populate(workshop)
    return _PRISTINE["world"]


def populate(ctx: Workshop) -> World:
    """Create tagged (``labs-test-…``) and untagged (``labs-keep-…``) resources everywhere."""
    w = World()
    tags = ctx.tags(lab="test")
    acct, region = ctx.account_id, ctx.region

    def both(service: str, kind: str, tagged: str, untagged: str) -> None:
        w.tagged.add((service, kind, tagged))
        w.untagged.add((service, kind, untagged))

    # S3: a versioned bucket with versions, a delete marker and an open multipart upload.
    s3 = ctx.client("s3")
    for name, tagged in (("labs-test-bucket", True), ("labs-keep-bucket", False)):
        s3.create_bucket(Bucket=name)
        if tagged:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags.as_list()})
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            s3.put_object(Bucket=name, Key="a.txt", Body=b"1")
            s3.put_object(Bucket=name, Key="a.txt", Body=b"2")
            s3.delete_object(Bucket=name, Key="a.txt")
            s3.create_multipart_upload(Bucket=name, Key="big.bin")
        else:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "x", "Value": "y"}]})
        s3.put_object(Bucket=name, Key="b.txt", Body=b"b")
    both("s3", "bucket", "labs-test-bucket", "labs-keep-bucket")

    ddb = ctx.client("dynamodb")
    for name, extra in (("labs-test-table", {"Tags": tags.as_list()}), ("labs-keep-table", {})):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **extra,
        )
    both("dynamodb", "table", "labs-test-table", "labs-keep-table")

    sqs = ctx.client("sqs")
    sqs.create_queue(QueueName="labs-test-queue", tags=dict(tags))
    sqs.create_queue(QueueName="labs-keep-queue")
    both("sqs", "queue", "labs-test-queue", "labs-keep-queue")

    sns = ctx.client("sns")
    topic = sns.create_topic(Name="labs-test-topic", Tags=tags.as_list())["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=f"arn:aws:sqs:{region}:{acct}:labs-keep-queue"
    )
    sns.create_topic(Name="labs-keep-topic")
    both("sns", "topic", "labs-test-topic", "labs-keep-topic")

    ssm = ctx.client("ssm")
    ssm.put_parameter(Name="/labs/test/param", Value="v", Type="String", Tags=tags.as_list())
    ssm.put_parameter(Name="/labs/keep/param", Value="v", Type="String")
    both("ssm", "parameter", "/labs/test/param", "/labs/keep/param")

    # IAM: the tagged role has an attached policy, an inline policy and an instance profile.
    iam = ctx.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    doc = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    iam.create_role(
        RoleName="labs-test-role", AssumeRolePolicyDocument=json.dumps(trust), Tags=tags.as_list()
    )
    iam.create_role(RoleName="labs-keep-role", AssumeRolePolicyDocument=json.dumps(trust))
    policy = iam.create_policy(
        PolicyName="labs-test-policy", PolicyDocument=doc, Tags=tags.as_list()
    )
    iam.create_policy_version(
        PolicyArn=policy["Policy"]["Arn"], PolicyDocument=doc, SetAsDefault=True
    )
    keep_policy = iam.create_policy(PolicyName="labs-keep-policy", PolicyDocument=doc)
    iam.attach_role_policy(RoleName="labs-test-role", PolicyArn=policy["Policy"]["Arn"])
    iam.attach_role_policy(RoleName="labs-keep-role", PolicyArn=keep_policy["Policy"]["Arn"])
    iam.put_role_policy(RoleName="labs-test-role", PolicyName="inline", PolicyDocument=doc)
    iam.create_instance_profile(InstanceProfileName="labs-test-profile", Tags=tags.as_list())
    iam.add_role_to_instance_profile(
        InstanceProfileName="labs-test-profile", RoleName="labs-test-role"
    )
    iam.create_instance_profile(InstanceProfileName="labs-keep-profile")
    both("iam", "role", "labs-test-role", "labs-keep-role")
    both("iam", "policy", "labs-test-policy", "labs-keep-policy")
    both("iam", "instance-profile", "labs-test-profile", "labs-keep-profile")

    logs = ctx.client("logs")
    logs.create_log_group(logGroupName="/labs/test", tags=dict(tags))
    logs.create_log_group(logGroupName="/labs/keep")
    logs.create_log_stream(logGroupName="/labs/test", logStreamName="s")
    both("logs", "log-group", "/labs/test", "/labs/keep")

    cw = ctx.client("cloudwatch")
    for name, extra in (("labs-test-alarm", {"Tags": tags.as_list()}), ("labs-keep-alarm", {})):
        cw.put_metric_alarm(
            AlarmName=name,
            MetricName="Errors",
            Namespace="Bookstore",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
            **extra,
        )
    for name in ("labs-test-dashboard", "keep-dashboard"):
        cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": []}))
    both("cloudwatch", "alarm", "labs-test-alarm", "labs-keep-alarm")
    both("cloudwatch", "dashboard", "labs-test-dashboard", "keep-dashboard")

    # CodeCommit: the emulator cannot list these; track() records them in the ledger.
    cc = ctx.client("codecommit")
    cc.create_repository(repositoryName="labs-test-repo", tags=dict(tags))
    cc.create_repository(repositoryName="labs-keep-repo")
    w.codecommit = ["labs-test-repo", "labs-keep-repo"]
    both("codecommit", "repository", "labs-test-repo", "labs-keep-repo")

    cb = ctx.client("codebuild")
    for name, extra in (
        ("labs-test-project", {"tags": tags.as_list("key", "value")}),
        ("labs-keep-project", {}),
    ):
        cb.create_project(
            name=name,
            source={"type": "S3", "location": "labs-keep-bucket/source.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=f"arn:aws:iam::{acct}:role/labs-keep-role",
            **extra,
        )
    both("codebuild", "project", "labs-test-project", "labs-keep-project")

    cd = ctx.client("codedeploy")
    cd.create_application(
        applicationName="labs-test-app", computePlatform="ECS", tags=tags.as_list()
    )
    cd.create_deployment_group(
        applicationName="labs-test-app",
        deploymentGroupName="labs-test-dg",
        serviceRoleArn=f"arn:aws:iam::{acct}:role/labs-keep-role",
    )
    cd.create_application(applicationName="labs-keep-app", computePlatform="ECS")
    both("codedeploy", "application", "labs-test-app", "labs-keep-app")

    cp = ctx.client("codepipeline")
    for name, extra in (
        ("labs-test-pipeline", {"tags": tags.as_list("key", "value")}),
        ("labs-keep-pipeline", {}),
    ):
        cp.create_pipeline(pipeline=_pipeline(name, acct), **extra)
    both("codepipeline", "pipeline", "labs-test-pipeline", "labs-keep-pipeline")

    cfn = ctx.client("cloudformation")
    for name, queue, extra in (
        ("labs-test-stack", "labs-test-stack-queue", {"Tags": tags.as_list()}),
        ("labs-keep-stack", "labs-keep-stack-queue", {}),
    ):
        template = {
            "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": queue}}}
        }
        cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), **extra)
    both("cloudformation", "stack", "labs-test-stack", "labs-keep-stack")
    w.stack_children.add(("sqs", "queue", "labs-test-stack-queue"))
    w.untagged.add(("sqs", "queue", "labs-keep-stack-queue"))

    ecr = ctx.client("ecr")
    ecr.create_repository(repositoryName="labs-test-images", tags=tags.as_list())
    ecr.create_repository(repositoryName="labs-keep-images")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "digest": "sha256:" + "a" * 64,
            "size": 1,
            "mediaType": "application/vnd.docker.container.image.v1+json",
        },
        "layers": [],
    }
    ecr.put_image(
        repositoryName="labs-test-images", imageManifest=json.dumps(manifest), imageTag="v1"
    )
    both("ecr", "repository", "labs-test-images", "labs-keep-images")

    # ECS: a tagged cluster with a tagged service; an untagged cluster with an untagged one.
    ecs = ctx.client("ecs")
    ecs_tags = tags.as_list("key", "value")
    container = [{"name": "web", "image": "nginx", "memory": 128}]
    ecs.create_cluster(clusterName="labs-test-cluster", tags=ecs_tags)
    ecs.create_cluster(clusterName="labs-keep-cluster")
    ecs.register_task_definition(
        family="labs-test-task", containerDefinitions=container, tags=ecs_tags
    )
    ecs.register_task_definition(family="labs-keep-task", containerDefinitions=container)
    ecs.create_service(
        cluster="labs-test-cluster",
        serviceName="labs-test-service",
        taskDefinition="labs-test-task:1",
        desiredCount=2,
        tags=ecs_tags,
    )
    ecs.create_service(
        cluster="labs-keep-cluster",
        serviceName="labs-keep-service",
        taskDefinition="labs-keep-task:1",
        desiredCount=1,
    )
    both("ecs", "cluster", "labs-test-cluster", "labs-keep-cluster")
    both("ecs", "service", "labs-test-service", "labs-keep-service")
    both("ecs", "task-definition", "labs-test-task:1", "labs-keep-task:1")

    eks = ctx.client("eks")
    role = f"arn:aws:iam::{acct}:role/labs-keep-role"
    vpc_config = {"subnetIds": ["subnet-1", "subnet-2"]}
    eks.create_cluster(
        name="labs-test-k8s", roleArn=role, resourcesVpcConfig=vpc_config, tags=dict(tags)
    )
    eks.create_nodegroup(
        clusterName="labs-test-k8s",
        nodegroupName="labs-test-nodes",
        subnets=["subnet-1"],
        nodeRole=role,
        tags=dict(tags),
    )
    eks.create_cluster(name="labs-keep-k8s", roleArn=role, resourcesVpcConfig=vpc_config)
    eks.create_nodegroup(
        clusterName="labs-keep-k8s",
        nodegroupName="labs-keep-nodes",
        subnets=["subnet-1"],
        nodeRole=role,
    )
    both("eks", "cluster", "labs-test-k8s", "labs-keep-k8s")
    both("eks", "nodegroup", "labs-test-nodes", "labs-keep-nodes")

    # ELBv2: a tagged load balancer whose listener weights two tagged target groups.
    ec2 = ctx.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    elb = ctx.client("elbv2")
    arns: dict[str, str] = {}
    for name, extra in (
        ("labs-test-blue", {"Tags": tags.as_list()}),
        ("labs-test-green", {"Tags": tags.as_list()}),
        ("labs-keep-tg", {}),
    ):
        arns[name] = elb.create_target_group(
            Name=name, Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip", **extra
        )["TargetGroups"][0]["TargetGroupArn"]
    for lb_name, extra, groups in (
        ("labs-test-lb", {"Tags": tags.as_list()}, ["labs-test-blue", "labs-test-green"]),
        ("labs-keep-lb", {}, ["labs-keep-tg"]),
    ):
        lb = elb.create_load_balancer(Name=lb_name, Subnets=subnets, **extra)
        weighted = [{"TargetGroupArn": arns[g], "Weight": 100 // len(groups)} for g in groups]
        elb.create_listener(
            LoadBalancerArn=lb["LoadBalancers"][0]["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": weighted}}],
        )
    both("elbv2", "load-balancer", "labs-test-lb", "labs-keep-lb")
    both("elbv2", "listener", "labs-test-lb:80", "labs-keep-lb:80")
    both("elbv2", "target-group", "labs-test-blue", "labs-keep-tg")
    w.tagged.add(("elbv2", "target-group", "labs-test-green"))

    # AppConfig: the emulator cannot list applications; track() records them in the ledger.
    ac = ctx.client("appconfig")
    app = ac.create_application(Name="labs-test-flags", Tags=dict(tags))["Id"]
    profile = ac.create_configuration_profile(
        ApplicationId=app,
        Name="flags",
        LocationUri="hosted",
        Type="AWS.AppConfig.FeatureFlags",
    )["Id"]
    ac.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=json.dumps({"version": "1", "flags": {}, "values": {}}).encode(),
        ContentType="application/json",
    )
    keep = ac.create_application(Name="labs-keep-flags")["Id"]
    w.appconfig = {"labs-test-flags": app, "labs-keep-flags": keep}
    both("appconfig", "application", "labs-test-flags", "labs-keep-flags")

    lam = ctx.client("lambda")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return 1\n")
    for name, extra in (("labs-test-fn", {"Tags": dict(tags)}), ("labs-keep-fn", {})):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=f"arn:aws:iam::{acct}:role/labs-keep-role",
            Handler="handler.handle",
            Code={"ZipFile": code.getvalue()},
            **extra,
        )
    both("lambda", "function", "labs-test-fn", "labs-keep-fn")

    ev = ctx.client("events")
    ev.put_rule(Name="labs-test-rule", ScheduleExpression="rate(5 minutes)", Tags=tags.as_list())
    ev.put_targets(
        Rule="labs-test-rule",
        Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{region}:{acct}:labs-keep-queue"}],
    )
    ev.put_rule(Name="labs-keep-rule", ScheduleExpression="rate(5 minutes)")
    both("events", "rule", "labs-test-rule", "labs-keep-rule")
    return w


def _pipeline(name: str, acct: str) -> dict[str, Any]:
    def action(category: str, provider: str, config: dict[str, str], io_: dict[str, Any]) -> Any:
        return {
            "name": category,
            "actionTypeId": {
                "category": category,
                "owner": "AWS",
                "provider": provider,
                "version": "1",
            },
            "configuration": config,
            **io_,
        }

    return {
        "name": name,
        "roleArn": f"arn:aws:iam::{acct}:role/labs-keep-role",
        "artifactStore": {"type": "S3", "location": "labs-keep-bucket"},
        "stages": [
            {
                "name": "Source",
                "actions": [
                    action(
                        "Source",
                        "S3",
                        {"S3Bucket": "labs-keep-bucket", "S3ObjectKey": "source.zip"},
                        {"outputArtifacts": [{"name": "src"}]},
                    )
                ],
            },
            {
                "name": "Build",
                "actions": [
                    action(
                        "Build",
                        "CodeBuild",
                        {"ProjectName": "labs-keep-project"},
                        {"inputArtifacts": [{"name": "src"}]},
                    )
                ],
            },
        ],
    }


def snapshot(ctx: Workshop, w: World) -> set[Key]:
    """Everything that exists, tagged or not, read with each service's own list/describe."""
    have: set[Key] = set()
    add = have.add
    s3 = ctx.client("s3")
    for b in s3.list_buckets()["Buckets"]:
        add(("s3", "bucket", b["Name"]))
    for t in ctx.client("dynamodb").list_tables()["TableNames"]:
        add(("dynamodb", "table", t))
    for url in ctx.client("sqs").list_queues().get("QueueUrls", []):
        add(("sqs", "queue", url.rsplit("/", 1)[-1]))
    for t in ctx.client("sns").list_topics()["Topics"]:
        add(("sns", "topic", t["TopicArn"].rsplit(":", 1)[-1]))
    for p in ctx.client("ssm").describe_parameters()["Parameters"]:
        add(("ssm", "parameter", p["Name"]))
    iam = ctx.client("iam")
    for r in iam.list_roles()["Roles"]:
        add(("iam", "role", r["RoleName"]))
    for p in iam.list_policies(Scope="Local")["Policies"]:
        add(("iam", "policy", p["PolicyName"]))
    for p in iam.list_instance_profiles()["InstanceProfiles"]:
        add(("iam", "instance-profile", p["InstanceProfileName"]))
    for g in ctx.client("logs").describe_log_groups()["logGroups"]:
        add(("logs", "log-group", g["logGroupName"]))
    cw = ctx.client("cloudwatch")
    for a in cw.describe_alarms()["MetricAlarms"]:
        add(("cloudwatch", "alarm", a["AlarmName"]))
    for d in cw.list_dashboards()["DashboardEntries"]:
        add(("cloudwatch", "dashboard", d["DashboardName"]))
    cc = ctx.client("codecommit")
    for name in w.codecommit:  # no list in the emulator: ask for each by name
        try:
            cc.get_repository(repositoryName=name)
            add(("codecommit", "repository", name))
        except ClientError:
            pass
    for p in ctx.client("codebuild").list_projects()["projects"]:
        add(("codebuild", "project", p))
    for a in ctx.client("codedeploy").list_applications()["applications"]:
        add(("codedeploy", "application", a))
    for p in ctx.client("codepipeline").list_pipelines()["pipelines"]:
        add(("codepipeline", "pipeline", p["name"]))
    for s in ctx.client("cloudformation").describe_stacks()["Stacks"]:
        if s["StackStatus"] != "DELETE_COMPLETE":
            add(("cloudformation", "stack", s["StackName"]))
    for r in ctx.client("ecr").describe_repositories()["repositories"]:
        add(("ecr", "repository", r["repositoryName"]))
    ecs = ctx.client("ecs")
    cluster_arns = ecs.list_clusters()["clusterArns"]
    clusters = ecs.describe_clusters(clusters=cluster_arns)["clusters"] if cluster_arns else []
    for c in clusters:
        if c["status"] == "INACTIVE":
            continue
        add(("ecs", "cluster", c["clusterName"]))
        svc_arns = ecs.list_services(cluster=c["clusterArn"])["serviceArns"]
        if svc_arns:
            for s in ecs.describe_services(cluster=c["clusterArn"], services=svc_arns)["services"]:
                if s["status"] != "INACTIVE":
                    add(("ecs", "service", s["serviceName"]))
    for arn in ecs.list_task_definitions()["taskDefinitionArns"]:
        add(("ecs", "task-definition", arn.rsplit("/", 1)[-1]))
    eks = ctx.client("eks")
    for c in eks.list_clusters()["clusters"]:
        add(("eks", "cluster", c))
        for ng in eks.list_nodegroups(clusterName=c)["nodegroups"]:
            add(("eks", "nodegroup", ng))
    elb = ctx.client("elbv2")
    for lb in elb.describe_load_balancers()["LoadBalancers"]:
        add(("elbv2", "load-balancer", lb["LoadBalancerName"]))
        for ls in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            add(("elbv2", "listener", f"{lb['LoadBalancerName']}:{ls['Port']}"))
    for tg in elb.describe_target_groups()["TargetGroups"]:
        add(("elbv2", "target-group", tg["TargetGroupName"]))
    ac = ctx.client("appconfig")
    for name, app_id in w.appconfig.items():  # no list in the emulator: ask for each by id
        try:
            ac.get_application(ApplicationId=app_id)
            add(("appconfig", "application", name))
        except ClientError:
            pass
    for f in ctx.client("lambda").list_functions()["Functions"]:
        add(("lambda", "function", f["FunctionName"]))
    for r in ctx.client("events").list_rules()["Rules"]:
        add(("events", "rule", r["Name"]))
    return have


def keys(frame: pd.DataFrame) -> set[Key]:
    """The (service, kind, name) of every row."""
    return set(zip(frame["service"], frame["kind"], frame["name"], strict=True))


CODEDEPLOY_APP: Key = ("codedeploy", "application", "labs-test-app")


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_registry_covers_every_service_the_series_uses() -> None:
    assert set(cl.SERVICES) >= REQUIRED_SERVICES
    for name, cleaner in cl.SERVICES.items():
        assert isinstance(cleaner, cl.Cleaner), name
        assert cleaner.service == name
        assert cleaner.local_notes


def test_public_api_is_importable_from_the_package() -> None:
    import labs

    assert set(cl.__all__) == {
        "ACTIONS", "SERVICES", "Cleaner", "Found", "cleanup", "forget", "inventory",
        "is_workshop_resource", "ledger", "main", "record", "track",
    }  # fmt: skip
    for name in cl.__all__:
        assert getattr(cl, name) is getattr(labs.cleanup, name), name
    assert callable(cl.ledger) and cl.ledger.__module__ == "labs.cleanup.tracking"
    assert cl.cleanup.__module__ == "labs.cleanup.core"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = cl.nothing


def test_start_tracks_without_importing_pandas(workshop: Workshop) -> None:
    code = (
        "import json, sys, labs; labs.start(quiet=True); "
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] == 'pandas' or m.startswith('labs.cleanup'))))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert "labs.cleanup.tracking" in loaded
    assert "pandas" not in loaded and "labs.cleanup.core" not in loaded, loaded


def test_populate_made_what_the_snapshot_sees(workshop: Workshop, pristine: World) -> None:
    before = snapshot(workshop, pristine)
    assert pristine.tagged | pristine.untagged | pristine.stack_children <= before


def test_inventory_finds_exactly_the_tagged_resources(workshop: Workshop, pristine: World) -> None:
    frame = cl.inventory(workshop)
    assert list(frame.columns) == cl.INVENTORY_COLUMNS
    assert keys(frame) == pristine.tagged
    assert len(frame) == len(pristine.tagged)  # no duplicates
    assert set(frame["lab"]) == {"test", ""}  # the dashboard has no tags, so no lab
    assert frame.loc[frame["kind"] == "dashboard", "lab"].tolist() == [""]


def test_dry_run_deletes_nothing(workshop: Workshop, pristine: World, capsys: Any) -> None:
    before = snapshot(workshop, pristine)
    frame = cl.cleanup(workshop, dry_run=True)
    assert list(frame.columns) == cl.CLEANUP_COLUMNS
    assert set(frame["action"]) == {"would delete"}
    assert keys(frame) == pristine.tagged
    assert "dry run" in capsys.readouterr().out
    cl.cleanup(workshop, dry_run=True, reset_local=True)  # a dry run never resets either
    assert snapshot(workshop, pristine) == before


def test_a_failing_listing_is_recorded(
    workshop: Workshop, pristine: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Workshop) -> list[cl.Found]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListTables")

    monkeypatch.setattr(cl.SERVICES["dynamodb"], "list", broken)
    frame = cl.cleanup(workshop, services=["dynamodb", "sqs"], dry_run=True)
    assert frame[["service", "kind", "action"]].values.tolist() == [
        ["sqs", "queue", "would delete"],
        ["dynamodb", "(listing)", "failed"],
    ]
    assert "AccessDenied" in frame.iloc[1]["detail"]
    listed = cl.inventory(workshop, services="dynamodb")
    assert listed["kind"].tolist() == ["(listing)"]


def test_services_filter_keeps_deletion_order_and_rejects_unknown_names(
    workshop: Workshop, pristine: World
) -> None:
    frame = cl.cleanup(workshop, services=["iam", "ecs"], dry_run=True)
    assert frame["service"].unique().tolist() == ["ecs", "iam"]  # registry order, not ours
    # ECS services before task definitions before clusters; IAM profiles, roles, policies.
    assert frame["kind"].tolist() == [
        "service", "task-definition", "cluster", "instance-profile", "role", "policy"
    ]  # fmt: skip
    with pytest.raises(InputError, match="No cleaner for 'apprunner'"):
        cl.cleanup(workshop, services=["apprunner"])


def test_cleanup_removes_tagged_keeps_untagged_and_is_idempotent(
    workshop: Workshop, world: World, capsys: Any
) -> None:
    frame = cl.cleanup(workshop)
    assert keys(frame) == world.tagged
    by_action = frame.groupby("action")["name"].count().to_dict()
    # The emulator cannot delete CodeDeploy applications: reported as skipped, not failed.
    assert by_action == {"deleted": len(world.tagged) - 1, "skipped": 1}, frame.to_string()
    skipped = frame[frame["action"] == "skipped"].iloc[0]
    assert (skipped["service"], skipped["kind"], skipped["name"]) == CODEDEPLOY_APP
    assert "reset_local=True" in skipped["detail"]

    after = snapshot(workshop, world)
    assert after & world.tagged == {CODEDEPLOY_APP}
    assert not after & world.stack_children  # went with their stack
    assert world.untagged <= after
    # The tagged bucket was emptied of every version, marker and upload before it went.
    details = dict(zip(frame["name"], frame["detail"], strict=True))
    assert "4 object versions" in details["labs-test-bucket"]  # a.txt ×2, its marker, b.txt
    assert "1 subscription" in details["labs-test-topic"]
    # The untagged role keeps its policy; the tagged policy was detached before deletion.
    iam = workshop.client("iam")
    attached = iam.list_attached_role_policies(RoleName="labs-keep-role")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["labs-keep-policy"]
    assert not cl.ledger(workshop, "codecommit") or all(
        e["name"] != "labs-test-repo" for e in cl.ledger(workshop, "codecommit")
    )
    out = capsys.readouterr().out
    assert "1 skipped" in out and "reset_local=True" in out

    again = cl.cleanup(workshop)  # idempotent: nothing left but what the emulator cannot delete
    assert set(again["action"]) == {"skipped"}
    assert keys(again) == {CODEDEPLOY_APP}
    assert snapshot(workshop, world) == after


def test_a_failing_deletion_is_recorded_and_the_others_continue(
    workshop: Workshop, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Workshop, found: cl.Found) -> str:
        raise RuntimeError("the queue is haunted")

    monkeypatch.setattr(cl.SERVICES["sqs"], "delete", broken)
    frame = cl.cleanup(workshop)  # raises nothing
    failed = frame[frame["action"] == "failed"]
    assert keys(failed) == {("sqs", "queue", "labs-test-queue")}
    assert "the queue is haunted" in failed.iloc[0]["detail"]
    assert (frame["action"] == "deleted").sum() == len(world.tagged) - 2  # minus sqs, codedeploy
    after = snapshot(workshop, world)
    assert ("sqs", "queue", "labs-test-queue") in after
    assert ("sns", "topic", "labs-test-topic") not in after  # the next service carried on


def test_reset_local_empties_everything(workshop: Workshop, world: World) -> None:
    frame = cl.cleanup(workshop, reset_local=True)
    assert (frame["action"] == "failed").sum() == 0
    assert frame.loc[frame["action"] == "skipped", "detail"].tolist() == [
        "removed by the emulator reset"
    ]
    assert snapshot(workshop, world) == set()
    assert cl.ledger(workshop) == []
    assert cl.inventory(workshop).empty


def test_track_records_what_the_emulator_cannot_list(workshop: Workshop, world: World) -> None:
    repos = {e["name"]: e["tags"] for e in cl.ledger(workshop, "codecommit")}
    assert repos["labs-test-repo"]["workshop"] == "devops-on-aws-labs"
    assert repos["labs-keep-repo"] == {}
    apps = {e["name"]: e["id"] for e in cl.ledger(workshop, "appconfig")}
    assert apps == world.appconfig
    # An entry whose resource is gone is dropped on the next listing.
    workshop.client("codecommit").delete_repository(repositoryName="labs-keep-repo")
    cl.inventory(workshop, services="codecommit")
    assert "labs-keep-repo" not in {e["name"] for e in cl.ledger(workshop, "codecommit")}
    cl.record(workshop, "codecommit", "repository", "labs-by-hand")
    assert cl.ledger(workshop, "codecommit")[-1]["tags"]["workshop"] == "devops-on-aws-labs"


def test_lab_filter_keeps_other_labs_resources(workshop: Workshop) -> None:
    _PRISTINE.clear()  # this test adds resources
    sqs, cc = workshop.client("sqs"), workshop.client("codecommit")
    made: dict[str, set[Key]] = {}
    for lab in ("a", "b"):
        tags = dict(workshop.tags(lab=lab))
        sqs.create_queue(QueueName=f"labs-lab-{lab}-queue", tags=tags)
        cc.create_repository(repositoryName=f"labs-lab-{lab}-repo", tags=tags)  # via the ledger
        made[lab] = {
            ("sqs", "queue", f"labs-lab-{lab}-queue"),
            ("codecommit", "repository", f"labs-lab-{lab}-repo"),
        }
    listed = cl.inventory(workshop, lab="a")
    assert keys(listed) == made["a"]
    assert set(listed["lab"]) == {"a"}
    assert keys(cl.cleanup(workshop, lab="b", dry_run=True)) == made["b"]

    frame = cl.cleanup(workshop, lab="b")
    assert keys(frame) == made["b"]
    assert set(frame["action"]) == {"deleted"}
    assert keys(cl.inventory(workshop, lab="a")) == made["a"]  # kept
    assert cl.inventory(workshop, lab="b").empty
    sqs.get_queue_url(QueueName="labs-lab-a-queue")  # still there, read without our listers
    cc.get_repository(repositoryName="labs-lab-a-repo")

    frame = cl.cleanup(workshop, lab="a")
    assert keys(frame) == made["a"]
    assert set(frame["action"]) == {"deleted"}
    assert cl.inventory(workshop, lab="a").empty
    with pytest.raises(ClientError, match="RepositoryDoesNotExist"):
        cc.get_repository(repositoryName="labs-lab-a-repo")
    assert not {e["name"] for e in cl.ledger(workshop, "codecommit")} & {
        "labs-lab-a-repo", "labs-lab-b-repo"
    }  # fmt: skip


def test_a_repository_created_by_hand_after_start_is_cleaned_up(workshop: Workshop) -> None:
    import labs

    _PRISTINE.clear()  # this test adds a resource
    ctx = labs.start(quiet=True)  # a notebook's first cell: nothing else is set up
    assert ctx.endpoint == workshop.endpoint
    cc = ctx.client("codecommit")
    cc.create_repository(repositoryName="labs-by-hand", tags=dict(ctx.tags(lab="hand")))

    listed = cl.inventory(ctx, services="codecommit", lab="hand")
    assert listed[["kind", "name", "lab"]].values.tolist() == [
        ["repository", "labs-by-hand", "hand"]
    ]
    frame = cl.cleanup(ctx, lab="hand")
    assert frame[["service", "name", "action"]].values.tolist() == [
        ["codecommit", "labs-by-hand", "deleted"]
    ]
    with pytest.raises(ClientError, match="RepositoryDoesNotExist"):
        cc.get_repository(repositoryName="labs-by-hand")
    assert "labs-by-hand" not in {e["name"] for e in cl.ledger(ctx, "codecommit")}


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"workshop": "devops-on-aws-labs"}, True),
        ([{"Key": "workshop", "Value": "devops-on-aws-labs"}], True),
        ([{"key": "workshop", "value": "devops-on-aws-labs"}], True),
        ({"workshop": "something-else"}, False),
        ([{"Key": "lab", "Value": "test"}], False),
        (None, False),
        ([], False),
    ],
)
def test_is_workshop_resource_reads_every_tag_shape(tags: Any, expected: bool) -> None:
    assert cl.is_workshop_resource(tags) is expected


class _FakeCleaner:
    """A cleaner whose deletion hits an operation the emulator has not implemented."""

    service = "fake"
    local_notes = "test double"

    def list(self, ctx: Workshop) -> list[cl.Found]:
        return [cl.Found("fake", "thing", "labs-thing", "arn:fake", {"workshop": "x"})]

    def delete(self, ctx: Workshop, found: cl.Found) -> str:
        raise ClientError(
            {"Error": {"Code": "500", "Message": "<!doctype html>"},
             "ResponseMetadata": {"HTTPStatusCode": 500}},
            "DeleteThing",
        )  # fmt: skip


def test_unimplemented_is_skipped_locally_but_failed_on_aws(
    workshop: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setitem(cl.SERVICES, "fake", _FakeCleaner())
    local = cl.cleanup(workshop, services="fake")
    assert local["action"].tolist() == ["skipped"]
    assert "DeleteThing" in local.iloc[0]["detail"]

    # An aws-target context that never reaches AWS: only the fake cleaner runs.
    aws = Workshop("aws", "eu-west-1", "210987654321", None, workshop._session)
    capsys.readouterr()
    remote = cl.cleanup(aws, services="fake", reset_local=True)
    assert remote["action"].tolist() == ["failed"]
    out = capsys.readouterr().out
    assert "failed       fake/thing labs-thing" in out  # the aws target prints every resource
    assert "does nothing on the aws target" in out
    assert "AWS account 210987654321" in out


def test_cli_runs_in_a_subprocess(workshop: Workshop, world: World) -> None:
    env = dict(os.environ)  # carries this module's LABS_WORKSHOP_DIR, so the same emulator
    assert Path(env["LABS_WORKSHOP_DIR"]).exists()
    cmd = [sys.executable, "-m", "labs.cleanup"]

    dry = subprocess.run([*cmd, "--dry-run"], env=env, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "would delete" in dry.stdout and "labs-test-bucket" in dry.stdout
    assert "labs-keep-bucket" not in dry.stdout
    assert world.tagged <= snapshot(workshop, world)

    run = subprocess.run([*cmd, "--service", "s3"], env=env, capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "deleted" in run.stdout
    after = snapshot(workshop, world)
    assert ("s3", "bucket", "labs-test-bucket") not in after
    assert ("s3", "bucket", "labs-keep-bucket") in after

    reset = subprocess.run([*cmd, "--reset"], env=env, capture_output=True, text=True, timeout=60)
    assert reset.returncode == 0, reset.stderr
    assert "was reset" in reset.stdout
    assert snapshot(workshop, world) == set()
    assert emulator.running() is not None  # reset, not stopped: the Makefile stops it


def test_cli_exit_code_says_whether_a_deletion_failed(
    workshop: Workshop, world: World, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    def broken(ctx: Workshop, found: cl.Found) -> str:
        raise RuntimeError("stuck")

    assert cl.main(["--dry-run", "--service", "sqs"]) == 0
    monkeypatch.setattr(cl.SERVICES["sqs"], "delete", broken)
    assert cl.main(["--service", "sqs"]) == 1
    out = capsys.readouterr().out
    assert "failed       sqs/queue labs-test-queue  (RuntimeError: stuck)" in out
    with pytest.raises(SystemExit):
        cl.main(["--service", "apprunner"])  # argparse names the valid choices


def test_cli_refuses_an_aws_target_without_the_opt_in(
    workshop: Workshop, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    import labs.env

    saved_env, saved_original = dict(os.environ), labs.env._ORIGINAL_ENV
    monkeypatch.setenv("LABS_TARGET", "aws")
    monkeypatch.delenv("LABS_AWS_ACCOUNT", raising=False)
    try:  # refused before any AWS call: LABS_AWS_ACCOUNT is checked first
        assert cl.main(["--dry-run"]) == 2
    finally:  # starting the aws target restores the pre-emulator environment: undo that
        os.environ.clear()
        os.environ.update(saved_env)
        labs.env._ORIGINAL_ENV = saved_original
    assert "TargetRefused: LABS_AWS_ACCOUNT is not set" in capsys.readouterr().err


def test_cli_lab_filter_cleans_one_lab_and_keeps_the_emulator(
    private_workshop: Path, capsys: Any
) -> None:
    """`make cleanup CLEANUP_ARGS="--lab 07"`: lab 07 goes, lab 08 and the emulator stay."""
    import labs

    ctx = labs.start(quiet=True)
    sqs = ctx.client("sqs")
    for lab in ("07", "08"):
        sqs.create_queue(QueueName=f"labs-cli-{lab}", tags=dict(ctx.tags(lab=lab)))

    assert cl.main(["--lab", "7", "--reset", "--stop"]) == 0  # what `make cleanup` passes

    out = capsys.readouterr().out
    assert "Keeping the emulator running: --lab 07 limits this cleanup" in out
    assert emulator.running() is not None
    names = [u.rsplit("/", 1)[1] for u in sqs.list_queues().get("QueueUrls", [])]
    assert "labs-cli-07" not in names and "labs-cli-08" in names

    assert cl.main(["--dry-run", "--stop"]) == 0
    assert emulator.running() is not None  # a preview never stops anything
    assert cl.main(["--reset", "--stop"]) == 0
    assert "Stopped the local AWS emulator." in capsys.readouterr().out
    assert emulator.running() is None
    with pytest.raises(SystemExit):
        cl.main(["--lab", "four"])  # argparse: "'four' is not a lab number; use two digits"
