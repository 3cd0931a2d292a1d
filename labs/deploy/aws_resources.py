"""The AWS resources a deployment needs, created idempotently in the emulator (or a real account).

* A VPC with two subnets, an internal ALB, two target groups (``blue``, ``green``) and an HTTP
  listener whose ``forward`` action holds both groups with weights (``ForwardConfig``): the
  deployment engine changes those weights at every traffic shift and reads them back.
* An ECS cluster with the bookstore's task definitions (one per version), a service on the
  ``CODE_DEPLOY`` deployment controller (blue/green) and one on the ``ECS`` controller (rolling).
* A CodeDeploy service role, one CodeDeploy application per compute platform (ECS, Lambda,
  Server), a deployment group in each (alarms, automatic rollback, blue/green settings), and
  deployments with their revision: the bookstore's AppSpec for ECS
  (``labs/bookstore/appspec.yaml``), an AppSpec for Lambda, or an S3 bundle for EC2.

Every resource carries ``ctx.tags(lab=...)`` — lab ``"04"`` unless the caller names another (lab 09
reuses the ECS rolling engine) — and a ``labs-`` name. What the local emulator does
with them (moto 5.2.5, measured): it stores the CodeDeploy application, deployment group and
deployments, but the deployment group's ``alarmConfiguration`` reads back empty,
``UpdateDeploymentGroup``/``StopDeployment``/``GetDeploymentConfig`` are unimplemented (HTTP 500)
and deployments stay ``Created``: the engine's result is the truth. A deployment's
``overrideAlarmConfiguration`` and ``autoRollbackConfiguration`` do read back, so the engine sets
them on every deployment. ELBv2 listener weights read back exactly as written. ECS keeps the
service's task definition and ``deploymentConfiguration`` from ``update_service`` but starts no
task. :func:`delete_network` removes the VPC and subnets, which ``labs.cleanup`` has no cleaner
for.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from labs.bookstore import package_path
from labs.deploy.releases import RELEASES, Release
from labs.deploy.strategies import EcsRolling, Strategy, TrafficShift
from labs.errors import InputError
from labs.observability.published import client

__all__ = [
    "AUTO_ROLLBACK_EVENTS",
    "LAB",
    "CodeDeployTarget",
    "LoadBalancer",
    "Network",
    "appspec",
    "create_deployment",
    "delete_network",
    "ensure_codedeploy",
    "ensure_ecs",
    "ensure_load_balancer",
    "ensure_network",
    "listener_weights",
    "set_listener_weights",
    "task_definition",
]

LAB = "04"
AUTO_ROLLBACK_EVENTS = (
    "DEPLOYMENT_FAILURE",
    "DEPLOYMENT_STOP_ON_ALARM",
    "DEPLOYMENT_STOP_ON_REQUEST",
)
"""``autoRollbackConfiguration.events`` CodeDeploy accepts."""
MAX_ALARMS = 10
"""A deployment group takes at most 10 CloudWatch alarms."""
_CIDR = "10.40.0.0/16"
_FAMILY = "labs-bookstore"
_CONTAINER = "bookstore"


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


@dataclass(frozen=True)
class Network:
    """The lab's VPC and its two subnets."""

    vpc_id: str
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class LoadBalancer:
    """The bookstore's ALB: its listener and the blue and green target groups."""

    arn: str
    dns_name: str
    listener_arn: str
    target_groups: dict[str, str]  # "blue"/"green" -> ARN


@dataclass(frozen=True)
class CodeDeployTarget:
    """A CodeDeploy application and deployment group."""

    application: str
    group: str
    platform: str


def ensure_network(ctx: Any, *, lab: str = LAB) -> Network:
    """Return the lab's VPC (``labs-bookstore``) and two subnets in two AZs, creating them once."""
    ec2 = client(ctx, "ec2")
    name = ctx.name("bookstore")
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [name]}])["Vpcs"]
    if vpcs:
        vpc = vpcs[0]["VpcId"]
    else:
        tags = [*ctx.tags(lab=lab).as_list(), {"Key": "Name", "Value": name}]
        vpc = ec2.create_vpc(
            CidrBlock=_CIDR, TagSpecifications=[{"ResourceType": "vpc", "Tags": tags}]
        )["Vpc"]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    if len(subnets) < 2:
        zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
        for i, zone in enumerate(zones[:2]):
            ec2.create_subnet(
                VpcId=vpc,
                CidrBlock=f"10.40.{i}.0/24",
                AvailabilityZone=zone,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": ctx.tags(lab=lab).as_list()}],
            )
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    return Network(vpc, tuple(sorted(s["SubnetId"] for s in subnets)[:2]))


def _forward(weights: dict[str, int]) -> list[dict[str, Any]]:
    groups = [{"TargetGroupArn": arn, "Weight": int(w)} for arn, w in weights.items()]
    return [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]


def ensure_load_balancer(ctx: Any, network: Network, *, lab: str = LAB) -> LoadBalancer:
    """Return the bookstore's ALB with blue/green target groups and a weighted listener.

    A new listener sends 100% to ``blue``. Target groups are ``ip`` targets on port 8080 with
    health checks on ``/health`` (the bookstore's health endpoint).
    """
    elb = client(ctx, "elbv2")
    tags = ctx.tags(lab=lab).as_list()
    name = ctx.name("bookstore")
    try:
        lb = elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
    except ClientError as exc:
        if _code(exc) != "LoadBalancerNotFound":
            raise
        lb = elb.create_load_balancer(
            Name=name, Subnets=list(network.subnet_ids), Scheme="internal", Type="application",
            Tags=tags,
        )["LoadBalancers"][0]  # fmt: skip
    groups = {}
    for colour in ("blue", "green"):
        tg_name = ctx.name(f"bookstore-{colour}")
        try:
            tg = elb.describe_target_groups(Names=[tg_name])["TargetGroups"][0]
        except ClientError as exc:
            if _code(exc) != "TargetGroupNotFound":
                raise
            tg = elb.create_target_group(
                Name=tg_name, Protocol="HTTP", Port=8080, VpcId=network.vpc_id, TargetType="ip",
                HealthCheckPath="/health", Tags=tags,
            )["TargetGroups"][0]  # fmt: skip
        groups[colour] = tg["TargetGroupArn"]
    listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    if listeners:
        listener = listeners[0]["ListenerArn"]
    else:
        listener = elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
            DefaultActions=_forward({groups["blue"]: 100, groups["green"]: 0}), Tags=tags,
        )["Listeners"][0]["ListenerArn"]  # fmt: skip
    return LoadBalancer(lb["LoadBalancerArn"], lb["DNSName"], listener, groups)


def listener_weights(ctx: Any, lb: LoadBalancer) -> dict[str, int]:
    """Read the listener's weights back: ``{"blue": w, "green": w}``."""
    listener = client(ctx, "elbv2").describe_listeners(ListenerArns=[lb.listener_arn])
    action = listener["Listeners"][0]["DefaultActions"][0]
    by_arn = {
        g["TargetGroupArn"]: g.get("Weight", 0) for g in action["ForwardConfig"]["TargetGroups"]
    }
    return {colour: int(by_arn.get(arn, 0)) for colour, arn in lb.target_groups.items()}


def set_listener_weights(ctx: Any, lb: LoadBalancer, weights: dict[str, int]) -> dict[str, int]:
    """Write ``{"blue": w, "green": w}`` with ``modify_listener`` and return what reads back."""
    client(ctx, "elbv2").modify_listener(
        ListenerArn=lb.listener_arn,
        DefaultActions=_forward({lb.target_groups[c]: w for c, w in weights.items()}),
    )
    return listener_weights(ctx, lb)


def task_definition(ctx: Any, version: str, *, lab: str = LAB) -> str:
    """Return the ARN of the bookstore task definition for ``version``, registering it once."""
    ecs = client(ctx, "ecs")
    image = f"bookstore:{version}"
    arns = ecs.list_task_definitions(familyPrefix=_FAMILY, sort="DESC")["taskDefinitionArns"]
    for arn in arns:
        definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        if definition["containerDefinitions"][0]["image"] == image:
            return arn
    return ecs.register_task_definition(
        family=_FAMILY,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": _CONTAINER, "image": image, "essential": True, "cpu": 256, "memory": 512,
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "BOOKSTORE_VERSION", "value": version}],
                "healthCheck": {"command": ["CMD-SHELL", "python -m bookstore.health || exit 1"]},
            }
        ],
        tags=ctx.tags(lab=lab).as_list("key", "value"),
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip


def ensure_ecs(
    ctx: Any, network: Network, lb: LoadBalancer | None, baseline: str = "v1", *, lab: str = LAB
) -> dict[str, str]:
    """Return ``{"cluster", "bluegreen", "rolling"}`` names, creating the cluster and services.

    ``bluegreen`` uses the CODE_DEPLOY deployment controller behind the ALB's blue target group;
    ``rolling`` the ECS controller. Both start on ``baseline``'s task definition.
    """
    ecs = client(ctx, "ecs")
    tags = ctx.tags(lab=lab).as_list("key", "value")
    cluster = ctx.name("bookstore")
    found = ecs.describe_clusters(clusters=[cluster])["clusters"]
    if not found or found[0]["status"] != "ACTIVE":
        ecs.create_cluster(clusterName=cluster, tags=tags)
    names = {"cluster": cluster, "bluegreen": "bookstore-bluegreen", "rolling": "bookstore-rolling"}
    existing = {
        s["serviceName"]
        for s in ecs.describe_services(
            cluster=cluster, services=[names["bluegreen"], names["rolling"]]
        )["services"]
        if s["status"] == "ACTIVE"
    }
    network_config = {
        "awsvpcConfiguration": {
            "subnets": list(network.subnet_ids), "securityGroups": [], "assignPublicIp": "DISABLED"
        }
    }  # fmt: skip
    for kind, controller in (("bluegreen", "CODE_DEPLOY"), ("rolling", "ECS")):
        if names[kind] in existing:
            continue
        extra: dict[str, Any] = {}
        if kind == "bluegreen" and lb is not None:
            extra["loadBalancers"] = [
                {"targetGroupArn": lb.target_groups["blue"], "containerName": _CONTAINER,
                 "containerPort": 8080}
            ]  # fmt: skip
        first = task_definition(ctx, baseline, lab=lab)
        ecs.create_service(
            cluster=cluster, serviceName=names[kind], taskDefinition=first,
            desiredCount=6, launchType="FARGATE", deploymentController={"type": controller},
            networkConfiguration=network_config, tags=tags, **extra,
        )  # fmt: skip
    return names


def _service_role(ctx: Any, lab: str) -> str:
    iam = client(ctx, "iam")
    name = ctx.name("codedeploy-service-role")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "codedeploy.amazonaws.com"},
             "Action": "sts:AssumeRole"}
        ],
    }  # fmt: skip
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(trust),
        Description="CodeDeploy service role for the bookstore (DevOps on AWS Labs, lab 04)",
        Tags=ctx.tags(lab=lab).as_list(),
    )["Role"]["Arn"]
    return arn


def validate(alarms: Sequence[str], auto_rollback: Sequence[str]) -> None:
    """Refuse what CodeDeploy refuses: more than 10 alarms, an unknown rollback event."""
    if len(alarms) > MAX_ALARMS:
        raise InputError(
            f"A CodeDeploy deployment group takes at most {MAX_ALARMS} alarms, got {len(alarms)}.",
            where="alarms",
            hint="Combine conditions into fewer alarms (one per signal: errors, latency, ...).",
        )
    unknown = [e for e in auto_rollback if e not in AUTO_ROLLBACK_EVENTS]
    if unknown:
        raise InputError(
            f"Unknown automatic rollback event {unknown[0]!r}.",
            where="auto_rollback",
            hint=f"Use any of {', '.join(AUTO_ROLLBACK_EVENTS)}.",
        )


def _alarm_configuration(alarms: Sequence[str]) -> dict[str, Any]:
    return {
        "enabled": bool(alarms),
        "ignorePollAlarmFailure": False,
        "alarms": [{"name": a} for a in alarms],
    }


def _auto_rollback(events: Sequence[str]) -> dict[str, Any]:
    return {"enabled": bool(events), "events": list(events)} if events else {"enabled": False}


def ensure_codedeploy(
    ctx: Any,
    strategy: Strategy,
    *,
    alarms: Sequence[str] = (),
    auto_rollback: Sequence[str] = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"),
    lb: LoadBalancer | None = None,
    ecs_names: dict[str, str] | None = None,
    lab: str = LAB,
) -> CodeDeployTarget:
    """Return the CodeDeploy application and deployment group for ``strategy``'s platform.

    Created once, with ``alarms`` (at most 10) and ``auto_rollback`` events; the emulator cannot
    update a deployment group, so :func:`create_deployment` passes both on every deployment too.
    """
    validate(alarms, auto_rollback)
    platform = strategy.platform
    cd = client(ctx, "codedeploy")
    slug = {"ECS": "ecs", "Lambda": "lambda", "Server": "ec2"}[platform]
    app, group = ctx.name(f"bookstore-{slug}"), ctx.name(f"bookstore-{slug}-group")
    tags = ctx.tags(lab=lab).as_list()
    try:
        cd.create_application(applicationName=app, computePlatform=platform, tags=tags)
    except ClientError as exc:
        if _code(exc) != "ApplicationAlreadyExistsException":
            raise
        # The application outlives a lab's cleanup on the emulator (it cannot delete CodeDeploy
        # applications), so another lab may have made it: the lab using it now owns it, and
        # its cleanup reports it, whatever order the labs ran in.
        arn = f"arn:aws:codedeploy:{ctx.region}:{ctx.account_id}:application:{app}"
        cd.tag_resource(ResourceArn=arn, Tags=tags)
    role = _service_role(ctx, lab)  # also when the group exists: a cleanup may have deleted it
    existing = cd.list_deployment_groups(applicationName=app).get("deploymentGroups", [])
    if group in existing:
        return CodeDeployTarget(app, group, platform)
    kwargs: dict[str, Any] = {
        "applicationName": app,
        "deploymentGroupName": group,
        "serviceRoleArn": role,
        "alarmConfiguration": _alarm_configuration(alarms),
        "autoRollbackConfiguration": _auto_rollback(auto_rollback),
        "tags": tags,
    }
    blue_green = {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}
    if isinstance(strategy, TrafficShift) and platform == "ECS":
        assert lb is not None and ecs_names is not None
        wait = strategy.termination_wait_minutes
        service = {"serviceName": ecs_names["bluegreen"], "clusterName": ecs_names["cluster"]}
        pair = {
            "targetGroups": [{"name": arn.split("/")[1]} for arn in lb.target_groups.values()],
            "prodTrafficRoute": {"listenerArns": [lb.listener_arn]},
        }
        kwargs.update(
            deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
            deploymentStyle=blue_green,
            blueGreenDeploymentConfiguration={
                "terminateBlueInstancesOnDeploymentSuccess": {
                    "action": "TERMINATE",
                    "terminationWaitTimeInMinutes": wait,
                },
                "deploymentReadyOption": {"actionOnTimeout": "CONTINUE_DEPLOYMENT"},
            },
            ecsServices=[service],
            loadBalancerInfo={"targetGroupPairInfoList": [pair]},
        )
    elif platform == "Lambda":
        kwargs.update(
            deploymentConfigName="CodeDeployDefault.LambdaAllAtOnce", deploymentStyle=blue_green
        )
    else:
        kwargs.update(
            deploymentConfigName="CodeDeployDefault.OneAtATime",
            deploymentStyle={
                "deploymentType": "IN_PLACE",
                "deploymentOption": "WITH_TRAFFIC_CONTROL",
            },
            ec2TagFilters=[{"Key": "app", "Value": "bookstore", "Type": "KEY_AND_VALUE"}],
        )
        if lb is not None:
            kwargs["loadBalancerInfo"] = {
                "targetGroupInfoList": [{"name": lb.target_groups["blue"].split("/")[1]}]
            }
    cd.create_deployment_group(**kwargs)
    return CodeDeployTarget(app, group, platform)


def _lambda_version(version: str) -> str:
    labels = list(RELEASES)
    return str(labels.index(version) + 1) if version in labels else version


def appspec(
    strategy: Strategy, release: Release, baseline: Release, task_definition_arn: str = ""
) -> str:
    """Return the AppSpec of a deployment of ``release`` with ``strategy``.

    ECS: the bookstore's own ``appspec.yaml`` with ``<TASK_DEFINITION>`` replaced. Lambda: the
    function ``labs-bookstore-orders``, alias ``live``, from the baseline's version to the
    release's. Server: the EC2 AppSpec inside the S3 bundle (files and lifecycle hooks).
    Reference: https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file.html.
    """
    if strategy.platform == "ECS":
        text = (package_path() / "appspec.yaml").read_text()
        return text.replace("<TASK_DEFINITION>", task_definition_arn)
    if strategy.platform == "Lambda":
        return (
            "version: 0.0\n"
            "Resources:\n"
            "  - bookstore:\n"
            "      Type: AWS::Lambda::Function\n"
            "      Properties:\n"
            "        Name: labs-bookstore-orders\n"
            "        Alias: live\n"
            f'        CurrentVersion: "{_lambda_version(baseline.version)}"\n'
            f'        TargetVersion: "{_lambda_version(release.version)}"\n'
        )
    return (
        "version: 0.0\n"
        "os: linux\n"
        "files:\n"
        "  - source: bookstore\n"
        "    destination: /opt/bookstore\n"
        "hooks:\n"
        "  ApplicationStop:\n"
        "    - location: scripts/stop.sh\n"
        "      timeout: 60\n"
        "  ApplicationStart:\n"
        "    - location: scripts/start.sh\n"
        "      timeout: 60\n"
        "  ValidateService:\n"
        "    - location: scripts/validate.sh\n"
        "      timeout: 120\n"
    )


def _bundle(strategy: Strategy, release: Release, baseline: Release) -> bytes:
    """A zip revision for EC2: appspec.yml, hook scripts and the bookstore's sources."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("appspec.yml", appspec(strategy, release, baseline))
        scripts = {
            "stop.sh": "#!/bin/sh\npkill -f 'python -m bookstore' || true\n",
            "start.sh": f"#!/bin/sh\ncd /opt && BOOKSTORE_VERSION={release.version} "
            "nohup python -m bookstore >/var/log/bookstore.log 2>&1 &\n",
            "validate.sh": "#!/bin/sh\ncurl -fsS http://127.0.0.1:8080/health\n",
        }
        for name, text in scripts.items():
            bundle.writestr(f"scripts/{name}", text)
        for path in sorted(package_path().rglob("*.py")):
            if "__pycache__" not in path.parts:
                bundle.write(path, f"bookstore/{path.relative_to(package_path())}")
    return buffer.getvalue()


def _revision(
    ctx: Any, strategy: Strategy, release: Release, baseline: Release, lab: str
) -> dict[str, Any]:
    if strategy.platform in ("ECS", "Lambda"):
        arn = task_definition(ctx, release.version, lab=lab) if strategy.platform == "ECS" else ""
        content = appspec(strategy, release, baseline, arn)
        return {"revisionType": "AppSpecContent", "appSpecContent": {"content": content}}
    s3 = client(ctx, "s3")
    bucket = ctx.name("bookstore-releases", globally_unique=True)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.tags(lab=lab).as_list()})
    key = f"bookstore/{release.version}.zip"
    etag = s3.put_object(Bucket=bucket, Key=key, Body=_bundle(strategy, release, baseline))["ETag"]
    return {
        "revisionType": "S3",
        "s3Location": {"bucket": bucket, "key": key, "bundleType": "zip", "eTag": etag.strip('"')},
    }


def create_deployment(
    ctx: Any,
    target: CodeDeployTarget,
    strategy: Strategy,
    release: Release,
    baseline: Release,
    *,
    alarms: Sequence[str] = (),
    auto_rollback: Sequence[str] = (),
    description: str = "",
    lab: str = LAB,
) -> str:
    """Create a CodeDeploy deployment of ``release`` and return its id.

    The deployment names the strategy's configuration and carries the alarms
    (``overrideAlarmConfiguration``) and automatic rollback settings.
    """
    validate(alarms, auto_rollback)
    config = getattr(strategy, "deployment_config", None)
    assert config is not None and not isinstance(strategy, EcsRolling)
    response = client(ctx, "codedeploy").create_deployment(
        applicationName=target.application,
        deploymentGroupName=target.group,
        revision=_revision(ctx, strategy, release, baseline, lab),
        deploymentConfigName=config.name,
        description=description or f"bookstore {release.version}",
        autoRollbackConfiguration=_auto_rollback(auto_rollback),
        overrideAlarmConfiguration=_alarm_configuration(alarms),
    )
    return response["deploymentId"]


def update_ecs_service(
    ctx: Any, ecs_names: dict[str, str], strategy: EcsRolling, version: str,
    alarms: Sequence[str], alarm_rollback: bool, *, lab: str = LAB,
) -> dict[str, Any]:  # fmt: skip
    """Point the rolling service at ``version``'s task definition; return the service."""
    return client(ctx, "ecs").update_service(
        cluster=ecs_names["cluster"],
        service=ecs_names["rolling"],
        taskDefinition=task_definition(ctx, version, lab=lab),
        deploymentConfiguration=strategy.deployment_configuration(list(alarms), alarm_rollback),
    )["service"]


def delete_network(ctx: Any) -> list[str]:
    """Delete the lab's subnets and VPC (``labs.cleanup`` has no EC2 cleaner); safe to repeat.

    Run it after ``labs.cleanup.cleanup(ctx, lab="04")`` has removed the load balancer.
    """
    ec2 = client(ctx, "ec2")
    deleted = []
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [ctx.name("bookstore")]}])
    for vpc in vpcs["Vpcs"]:
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])
        for subnet in subnets["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
            deleted.append(subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc["VpcId"])
        deleted.append(vpc["VpcId"])
    return deleted
