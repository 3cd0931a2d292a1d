"""Remove every workshop resource: ``labs.cleanup.cleanup(ctx)`` and ``python -m labs.cleanup``.

Every resource the workshop creates carries the tag ``workshop=devops-on-aws-labs``
(:data:`labs.env.WORKSHOP_TAG`). The Resource Groups Tagging API cannot find most of them in the
local emulator (FACTS.md), so each service has a small *cleaner* here that lists its resources
with the service's own API, reads their tags with that service's own API, and deletes the tagged
ones in an order the service accepts (an S3 bucket is emptied of every object version first, ECS
services go before their cluster, and so on). Nothing without the workshop tag is ever deleted;
the one exception is CloudWatch dashboards, which carry no tags in the emulator: those whose
name starts with ``labs-`` are deleted.

Running it twice is fine: a resource that is already gone counts as deleted, and a failure on
one resource is recorded in the returned frame without stopping the others.

What each cleaner can and cannot see on the local emulator (moto 5.2.5, measured):

=============== ========================================================================
Service         On the local emulator
=============== ========================================================================
s3              everything: buckets, tags, object versions, delete markers, uploads
dynamodb        everything
sqs             everything
sns             everything: topics, tags, subscriptions
ssm             everything (parameters)
iam             roles, policies, instance profiles; instance-profile tags come from
                ``GetInstanceProfile`` (``ListInstanceProfileTags`` is unimplemented)
logs            everything (log groups)
cloudwatch      alarms (tagged); dashboards have no tags: deleted by the ``labs-`` prefix
codecommit      cannot list repositories or read their tags: repositories are found through
                the ledger (:func:`track`, :func:`record`); AWS lists and tags them normally
codebuild       everything (projects)
codedeploy      lists applications, tags and deployment groups, but cannot delete them
                (``DeleteApplication``/``DeleteDeploymentGroup`` unimplemented): reported as
                ``skipped``; ``reset_local=True`` removes them
codepipeline    everything (pipelines)
cloudformation  everything (stacks, tagged at stack level)
ecr             everything (repositories, deleted with their images)
ecs             everything; deleted clusters and services stay listed as ``INACTIVE`` (ignored)
eks             everything (node groups, clusters)
elbv2           everything (load balancers, listeners, target groups)
appconfig       cannot list applications (``ListApplications`` unimplemented): found
                through the ledger; cannot list hosted configuration versions or
                environments: the emulator drops them with their profile/application
lambda          everything (functions)
events          everything (rules on every event bus)
=============== ========================================================================

The *ledger* is a small JSON file under ``.workshop/`` that records what was created where the
emulator cannot list it. :func:`track` records CodeCommit repositories and AppConfig
applications created through any client the context makes afterwards; :func:`record` adds one
by hand. On AWS the services list themselves and the ledger is not needed.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import pandas as pd
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from labs import emulator
from labs.env import WORKSHOP_TAG, Workshop
from labs.env import start as start_workshop
from labs.errors import InputError, LabsError

__all__ = [
    "ACTIONS",
    "SERVICES",
    "Cleaner",
    "Found",
    "cleanup",
    "forget",
    "inventory",
    "is_workshop_resource",
    "ledger",
    "main",
    "record",
    "track",
]

CLEANUP_COLUMNS = ["service", "kind", "name", "arn", "action", "detail"]
INVENTORY_COLUMNS = ["service", "kind", "name", "arn", "lab", "detail"]
ACTIONS = ("deleted", "would delete", "skipped", "failed")
"""The values of the ``action`` column: ``skipped`` is what the local emulator cannot delete."""

LEDGER_FILE = "cleanup-ledger.json"
DASHBOARD_PREFIX = "labs-"

# Error codes meaning "that resource is not there (any more)": deleting it again is success.
_GONE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NotFoundException",
        "NoSuchEntity",
        "NoSuchBucket",
        "ParameterNotFound",
        "RepositoryNotFoundException",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "ServiceNotActiveException",
        "LoadBalancerNotFound",
        "ListenerNotFound",
        "TargetGroupNotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "RepositoryDoesNotExistException",
        "ApplicationDoesNotExistException",
        "DeploymentGroupDoesNotExistException",
        "PipelineNotFoundException",
    }
)


# --------------------------------------------------------------------------------------------
# What a cleaner finds, and what a cleaner is
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One workshop resource a cleaner found.

    Attributes:
        service: The boto3 service name, e.g. ``"s3"``.
        kind: What it is within the service, e.g. ``"bucket"``, ``"service"``, ``"listener"``.
        name: Its name (or id where it has no name).
        arn: Its ARN, or another full identifier (a queue URL) when it has no ARN.
        tags: Its tags as a dict (empty when the service cannot say).
        detail: A note for people, e.g. ``"in cluster labs-shop"``.
        ref: What :meth:`Cleaner.delete` needs besides the name (a cluster ARN, an app id…).
    """

    service: str
    kind: str
    name: str
    arn: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""
    ref: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Cleaner(Protocol):
    """What ``SERVICES`` holds: one per AWS service, so a later lab can add its own.

    Attributes:
        service: The boto3 service name it cleans.
        local_notes: What it can and cannot find or delete on the local emulator.
    """

    service: str
    local_notes: str

    def list(self, ctx: Workshop) -> list[Found]:
        """Return the service's workshop resources, in the order they must be deleted."""
        ...

    def delete(self, ctx: Workshop, found: Found) -> str:
        """Delete one resource (and the parts of it that must go first); return a detail."""
        ...


def is_workshop_resource(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> bool:
    """Return True when ``tags`` holds the workshop tag, whatever shape the API returned.

    Accepts a dict, a list of ``{"Key": …, "Value": …}`` or a list of ``{"key": …, "value": …}``.
    """
    return _tag_dict(tags).get(WORKSHOP_TAG[0]) == WORKSHOP_TAG[1]


def _tag_dict(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


# --------------------------------------------------------------------------------------------
# Error helpers
# --------------------------------------------------------------------------------------------


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _is_gone(exc: BaseException) -> bool:
    """True when ``exc`` says the resource does not exist (so there is nothing left to do)."""
    code = _code(exc)
    if not code:
        return False
    return code in _GONE_CODES or any(
        word in code for word in ("NotFound", "NoSuch", "NonExistent", "DoesNotExist")
    )


def _is_unimplemented(ctx: Workshop, exc: BaseException) -> bool:
    """True when the local emulator answered "not implemented" (HTTP 500, or a bare 404 page)."""
    if not ctx.is_local:
        return False
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status in (500, 501) or (status == 404 and _code(exc) == "404")
    return False


def _short(exc: BaseException) -> str:
    """One line for people: the error code and the first line of its message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = str(error.get("Message", "")).strip().splitlines()
        text = message[0] if message and not message[0].startswith("<") else ""
        return f"{error.get('Code', type(exc).__name__)}: {text}".rstrip(": ")[:300]
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}".rstrip(": ")[:300]


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 profile"``, ``"2 profiles"``: a count for people."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _optional(ctx: Workshop, call: Callable[[], Any], default: Any) -> Any:
    """Run ``call``; on the local emulator return ``default`` when the operation is missing."""
    try:
        return call()
    except (ClientError, ResponseParserError) as exc:
        if _is_unimplemented(ctx, exc):
            return default
        raise


def _ignore_gone(call: Callable[[], Any]) -> Any:
    """Run ``call``; a "does not exist" answer is fine (the thing is already gone)."""
    try:
        return call()
    except ClientError as exc:
        if _is_gone(exc):
            return None
        raise


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every page of ``operation`` (one page when the operation does not paginate)."""
    if client.can_paginate(operation):
        yield from client.get_paginator(operation).paginate(**kwargs)
    else:
        yield getattr(client, operation)(**kwargs)


def _wait(ctx: Workshop, client: Any, waiter: str, **kwargs: Any) -> None:
    """On AWS, wait for an asynchronous deletion; the emulator deletes at once."""
    if not ctx.is_local:
        client.get_waiter(waiter).wait(WaiterConfig={"Delay": 10, "MaxAttempts": 90}, **kwargs)


# --------------------------------------------------------------------------------------------
# The ledger: what was created where the emulator cannot list it
# --------------------------------------------------------------------------------------------


def _ledger_path() -> Path:
    return emulator.workshop_dir() / LEDGER_FILE


def _scope(ctx: Workshop) -> str:
    return f"{ctx.target}:{ctx.account_id}:{ctx.region}"


@contextlib.contextmanager
def _ledger_lock() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Read the ledger under a file lock, yield it for changes, write it back."""
    path = _ledger_path()
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            try:
                data = json.loads(path.read_text())
                if not isinstance(data, dict):
                    data = {}
            except (OSError, ValueError):
                data = {}
            yield data
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.replace(path)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record(
    ctx: Workshop,
    service: str,
    kind: str,
    name: str,
    *,
    id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write a resource into the ledger so :func:`cleanup` finds it where listing is impossible.

    Args:
        ctx: The workshop context (the ledger is kept per target, account and region).
        service: The boto3 service name, e.g. ``"codecommit"``.
        kind: What it is, e.g. ``"repository"``.
        name: Its name.
        id: Its id when the API addresses it by id (an AppConfig application).
        tags: Its tags; default the workshop tags (recording a resource says it is ours).
    """
    entry = {
        "service": service,
        "kind": kind,
        "name": name,
        "id": id,
        "tags": dict(ctx.tags() if tags is None else tags),
    }
    with _ledger_lock() as data:
        entries = [
            e
            for e in data.get(_scope(ctx), [])
            if (e["service"], e["kind"], e["name"], e.get("id")) != (service, kind, name, id)
        ]
        entries.append(entry)
        data[_scope(ctx)] = entries


def forget(
    ctx: Workshop, service: str | None = None, *, name: str | None = None, id: str | None = None
) -> None:
    """Remove ledger entries of this context: all, one service's, or one resource's."""
    with _ledger_lock() as data:
        data[_scope(ctx)] = [
            e
            for e in data.get(_scope(ctx), [])
            if not (
                (service is None or e["service"] == service)
                and (name is None or e["name"] == name)
                and (id is None or e.get("id") == id)
            )
        ]


def ledger(ctx: Workshop, service: str | None = None) -> list[dict[str, Any]]:
    """Return this context's ledger entries (optionally of one service)."""
    try:
        data = json.loads(_ledger_path().read_text())
    except (OSError, ValueError):
        return []
    entries = data.get(_scope(ctx), []) if isinstance(data, dict) else []
    return [dict(e) for e in entries if service is None or e.get("service") == service]


# (service id in botocore events, operation) → how to turn (params, response) into an entry.
_TRACKED: dict[tuple[str, str], Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]]
_TRACKED = {
    ("codecommit", "CreateRepository"): lambda params, parsed: {
        "service": "codecommit",
        "kind": "repository",
        "name": params.get("repositoryName", ""),
        "id": None,
        "tags": _tag_dict(params.get("tags")),
    },
    ("appconfig", "CreateApplication"): lambda params, parsed: {
        "service": "appconfig",
        "kind": "application",
        "name": params.get("Name", ""),
        "id": parsed.get("Id"),
        "tags": _tag_dict(params.get("Tags")),
    },
}


def track(ctx: Workshop) -> None:
    """Record in the ledger what clients made by ``ctx`` afterwards create and cannot be listed.

    Hooks ``CreateRepository`` (CodeCommit) and ``CreateApplication`` (AppConfig) on the
    context's session, so that resources a learner creates by hand are found by :func:`cleanup`
    on the local emulator too. Idempotent; affects clients created after the call.
    """
    events = ctx._session.events  # clients copy their session's hooks when they are made

    def stash(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["labs_cleanup_params"] = dict(params)

    def remember(
        http_response: Any,
        parsed: Mapping[str, Any],
        model: Any,
        context: Mapping[str, Any],
        **_: Any,
    ) -> None:
        if getattr(http_response, "status_code", 500) >= 300 or "Error" in parsed:
            return
        key = (model.service_model.service_id.hyphenize(), model.name)
        params = context.get("labs_cleanup_params", {})
        entry = _TRACKED[key](params, parsed)
        if not entry["name"]:
            return
        # Bookkeeping must never break the learner's own call: a ledger that cannot be
        # written only means cleanup() will not find this resource on the emulator.
        with contextlib.suppress(Exception):
            record(
                ctx,
                entry["service"],
                entry["kind"],
                entry["name"],
                id=entry["id"],
                tags=entry["tags"],
            )

    for service, operation in _TRACKED:
        events.register(
            f"before-parameter-build.{service}.{operation}",
            stash,
            unique_id=f"labs-cleanup-stash-{service}-{operation}",
        )
        events.register(
            f"after-call.{service}.{operation}",
            remember,
            unique_id=f"labs-cleanup-record-{service}-{operation}",
        )


# --------------------------------------------------------------------------------------------
# The cleaners, one per service
# --------------------------------------------------------------------------------------------


class _Base:
    """Shared helpers for the cleaners below (a cleaner only needs the :class:`Cleaner` API)."""

    service: ClassVar[str] = ""
    local_notes: ClassVar[str] = "lists, reads tags and deletes everything it needs"

    def found(
        self, kind: str, name: str, arn: str = "", tags: Any = None, detail: str = "", **ref: Any
    ) -> Found:
        return Found(self.service, kind, name, arn, _tag_dict(tags), detail, ref)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service}>"


class CloudFormationCleaner(_Base):
    """Stacks tagged at stack level; on AWS it waits until each stack is deleted."""

    service = "cloudformation"

    def list(self, ctx: Workshop) -> list[Found]:
        cfn = ctx.client("cloudformation")
        out = []
        for page in _pages(cfn, "describe_stacks"):
            for stack in page.get("Stacks", []):
                if stack["StackStatus"] == "DELETE_COMPLETE" or stack.get("ParentId"):
                    continue  # gone, or a nested stack that goes with its root stack
                if is_workshop_resource(stack.get("Tags")):
                    out.append(
                        self.found(
                            "stack",
                            stack["StackName"],
                            stack["StackId"],
                            stack.get("Tags"),
                            stack["StackStatus"],
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        cfn = ctx.client("cloudformation")
        cfn.delete_stack(StackName=found.arn)
        _wait(ctx, cfn, "stack_delete_complete", StackName=found.arn)
        return "stack and the resources it created"


class CodePipelineCleaner(_Base):
    """Pipelines."""

    service = "codepipeline"

    def list(self, ctx: Workshop) -> list[Found]:
        cp = ctx.client("codepipeline")
        out = []
        for page in _pages(cp, "list_pipelines"):
            for pipe in page.get("pipelines", []):
                arn = f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{pipe['name']}"
                tags = _ignore_gone(lambda a=arn: cp.list_tags_for_resource(resourceArn=a))
                if tags and is_workshop_resource(tags.get("tags")):
                    out.append(self.found("pipeline", pipe["name"], arn, tags.get("tags")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codepipeline").delete_pipeline(name=found.name)
        return ""


class CodeBuildCleaner(_Base):
    """Build projects (their build records go with them)."""

    service = "codebuild"

    def list(self, ctx: Workshop) -> list[Found]:
        cb = ctx.client("codebuild")
        names = [n for page in _pages(cb, "list_projects") for n in page.get("projects", [])]
        out = []
        for start in range(0, len(names), 100):
            for project in cb.batch_get_projects(names=names[start : start + 100])["projects"]:
                if is_workshop_resource(project.get("tags")):
                    out.append(
                        self.found("project", project["name"], project["arn"], project.get("tags"))
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codebuild").delete_project(name=found.name)
        return ""


class CodeDeployCleaner(_Base):
    """Applications, their deployment groups first."""

    service = "codedeploy"
    local_notes = (
        "lists applications, tags and deployment groups; cannot delete them "
        "(DeleteApplication unimplemented): skipped, removed by reset_local=True"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        cd = ctx.client("codedeploy")
        out = []
        for page in _pages(cd, "list_applications"):
            for name in page.get("applications", []):
                arn = f"arn:aws:codedeploy:{ctx.region}:{ctx.account_id}:application:{name}"
                tags = _ignore_gone(lambda a=arn: cd.list_tags_for_resource(ResourceArn=a))
                if tags and is_workshop_resource(tags.get("Tags")):
                    groups = self._groups(cd, name)
                    detail = f"deployment groups: {', '.join(groups)}" if groups else ""
                    out.append(self.found("application", name, arn, tags.get("Tags"), detail))
        return out

    @staticmethod
    def _groups(cd: Any, app: str) -> list[str]:
        groups: list[str] = []
        token: str | None = None
        while True:  # the emulator answers nextToken "" (not absent): no paginator
            page = cd.list_deployment_groups(
                applicationName=app, **({"nextToken": token} if token else {})
            )
            groups += page.get("deploymentGroups", [])
            token = page.get("nextToken")
            if not token:
                return groups

    def delete(self, ctx: Workshop, found: Found) -> str:
        cd = ctx.client("codedeploy")
        groups = self._groups(cd, found.name)
        for group in groups:
            _ignore_gone(
                lambda g=group: cd.delete_deployment_group(
                    applicationName=found.name, deploymentGroupName=g
                )
            )
        cd.delete_application(applicationName=found.name)
        return f"with {_n(len(groups), 'deployment group')}" if groups else ""


class CodeCommitCleaner(_Base):
    """Repositories; the emulator lists none, so locally the ledger names them."""

    service = "codecommit"
    local_notes = (
        "cannot list repositories or read their tags: found through the ledger "
        "(track/record), then confirmed with GetRepository"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        cc = ctx.client("codecommit")
        try:
            names = [
                r["repositoryName"]
                for page in _pages(cc, "list_repositories")
                for r in page.get("repositories", [])
            ]
        except (ClientError, ResponseParserError) as exc:
            if not _is_unimplemented(ctx, exc):
                raise
            return self._from_ledger(ctx, cc)
        out = []
        for name in names:
            arn = f"arn:aws:codecommit:{ctx.region}:{ctx.account_id}:{name}"
            tags = cc.list_tags_for_resource(resourceArn=arn).get("tags", {})
            if is_workshop_resource(tags):
                out.append(self.found("repository", name, arn, tags))
        return out

    def _from_ledger(self, ctx: Workshop, cc: Any) -> list[Found]:
        out = []
        for entry in ledger(ctx, "codecommit"):
            try:
                meta = cc.get_repository(repositoryName=entry["name"])["repositoryMetadata"]
            except ClientError as exc:
                if not _is_gone(exc):
                    raise
                forget(ctx, "codecommit", name=entry["name"])
                continue
            if is_workshop_resource(entry.get("tags")):
                out.append(
                    self.found(
                        "repository",
                        entry["name"],
                        meta.get("Arn", ""),
                        entry.get("tags"),
                        "found through the ledger",
                    )
                )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codecommit").delete_repository(repositoryName=found.name)
        forget(ctx, "codecommit", name=found.name)
        return ""


class ECSCleaner(_Base):
    """Services (scaled to 0, then deleted), task definitions (deregistered), clusters."""

    service = "ecs"
    local_notes = "everything; deleted clusters and services stay listed as INACTIVE (ignored)"

    def list(self, ctx: Workshop) -> list[Found]:
        ecs = ctx.client("ecs")
        cluster_arns = [
            a for page in _pages(ecs, "list_clusters") for a in page.get("clusterArns", [])
        ]
        clusters: list[dict[str, Any]] = []
        for start in range(0, len(cluster_arns), 100):
            clusters += ecs.describe_clusters(
                clusters=cluster_arns[start : start + 100], include=["TAGS"]
            )["clusters"]
        clusters = [c for c in clusters if c.get("status") != "INACTIVE"]
        services, task_defs, cluster_rows = [], [], []
        for cluster in clusters:
            arns = [
                a
                for page in _pages(ecs, "list_services", cluster=cluster["clusterArn"])
                for a in page.get("serviceArns", [])
            ]
            for start in range(0, len(arns), 10):
                described = ecs.describe_services(
                    cluster=cluster["clusterArn"],
                    services=arns[start : start + 10],
                    include=["TAGS"],
                )["services"]
                for svc in described:
                    if svc.get("status") == "INACTIVE" or not is_workshop_resource(svc.get("tags")):
                        continue
                    services.append(
                        self.found(
                            "service",
                            svc["serviceName"],
                            svc["serviceArn"],
                            svc.get("tags"),
                            f"in cluster {cluster['clusterName']}",
                            cluster=cluster["clusterArn"],
                        )
                    )
            if is_workshop_resource(cluster.get("tags")):
                cluster_rows.append(
                    self.found(
                        "cluster",
                        cluster["clusterName"],
                        cluster["clusterArn"],
                        cluster.get("tags"),
                    )
                )
        for status in ("ACTIVE", "INACTIVE"):
            for page in _pages(ecs, "list_task_definitions", status=status):
                for arn in page.get("taskDefinitionArns", []):
                    described = _ignore_gone(
                        lambda a=arn: ecs.describe_task_definition(
                            taskDefinition=a, include=["TAGS"]
                        )
                    )
                    if described and is_workshop_resource(described.get("tags")):
                        task_defs.append(
                            self.found(
                                "task-definition",
                                arn.rsplit("/", 1)[-1],
                                arn,
                                described.get("tags"),
                                status.lower(),
                                status=status,
                            )
                        )
        return services + task_defs + cluster_rows

    def delete(self, ctx: Workshop, found: Found) -> str:
        ecs = ctx.client("ecs")
        if found.kind == "service":
            cluster = found.ref["cluster"]
            _ignore_gone(
                lambda: ecs.update_service(cluster=cluster, service=found.arn, desiredCount=0)
            )
            ecs.delete_service(cluster=cluster, service=found.arn, force=True)
            _wait(ctx, ecs, "services_inactive", cluster=cluster, services=[found.arn])
            return "scaled to 0, deleted"
        if found.kind == "task-definition":
            if found.ref.get("status") == "ACTIVE":
                ecs.deregister_task_definition(taskDefinition=found.arn)
            _optional(ctx, lambda: ecs.delete_task_definitions(taskDefinitions=[found.arn]), None)
            return "deregistered and deleted"
        ecs.delete_cluster(cluster=found.arn)
        return ""


class EKSCleaner(_Base):
    """Node groups first (AWS: waits until they are gone), then clusters."""

    service = "eks"

    def list(self, ctx: Workshop) -> list[Found]:
        eks = ctx.client("eks")
        groups, clusters = [], []
        for page in _pages(eks, "list_clusters"):
            for name in page.get("clusters", []):
                cluster = _ignore_gone(lambda n=name: eks.describe_cluster(name=n))
                if not cluster:
                    continue
                cluster = cluster["cluster"]
                for ng_page in _pages(eks, "list_nodegroups", clusterName=name):
                    for ng in ng_page.get("nodegroups", []):
                        info = _ignore_gone(
                            lambda n=name, g=ng: eks.describe_nodegroup(
                                clusterName=n, nodegroupName=g
                            )
                        )
                        if info and is_workshop_resource(info["nodegroup"].get("tags")):
                            groups.append(
                                self.found(
                                    "nodegroup",
                                    ng,
                                    info["nodegroup"]["nodegroupArn"],
                                    info["nodegroup"].get("tags"),
                                    f"in cluster {name}",
                                    cluster=name,
                                )
                            )
                if is_workshop_resource(cluster.get("tags")):
                    clusters.append(
                        self.found("cluster", name, cluster["arn"], cluster.get("tags"))
                    )
        return groups + clusters

    def delete(self, ctx: Workshop, found: Found) -> str:
        eks = ctx.client("eks")
        if found.kind == "nodegroup":
            cluster = found.ref["cluster"]
            eks.delete_nodegroup(clusterName=cluster, nodegroupName=found.name)
            _wait(ctx, eks, "nodegroup_deleted", clusterName=cluster, nodegroupName=found.name)
            return ""
        eks.delete_cluster(name=found.name)
        _wait(ctx, eks, "cluster_deleted", name=found.name)
        return ""


class ELBv2Cleaner(_Base):
    """Listeners (tagged, or on a tagged load balancer), load balancers, then target groups."""

    service = "elbv2"

    def list(self, ctx: Workshop) -> list[Found]:
        elb = ctx.client("elbv2")
        lbs = [
            lb
            for page in _pages(elb, "describe_load_balancers")
            for lb in page.get("LoadBalancers", [])
        ]
        tgs = [
            tg
            for page in _pages(elb, "describe_target_groups")
            for tg in page.get("TargetGroups", [])
        ]
        listeners = [
            (lb, ls)
            for lb in lbs
            for page in _pages(elb, "describe_listeners", LoadBalancerArn=lb["LoadBalancerArn"])
            for ls in page.get("Listeners", [])
        ]
        arns = (
            [lb["LoadBalancerArn"] for lb in lbs]
            + [tg["TargetGroupArn"] for tg in tgs]
            + [ls["ListenerArn"] for _, ls in listeners]
        )
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), 20):
            for desc in elb.describe_tags(ResourceArns=arns[start : start + 20])["TagDescriptions"]:
                tags[desc["ResourceArn"]] = _tag_dict(desc.get("Tags"))
        rows = []
        for lb, ls in listeners:
            lb_ours = is_workshop_resource(tags.get(lb["LoadBalancerArn"]))
            if lb_ours or is_workshop_resource(tags.get(ls["ListenerArn"])):
                rows.append(
                    self.found(
                        "listener",
                        f"{lb['LoadBalancerName']}:{ls.get('Port', '')}",
                        ls["ListenerArn"],
                        tags.get(ls["ListenerArn"]),
                        f"on load balancer {lb['LoadBalancerName']}",
                    )
                )
        rows += [
            self.found(
                "load-balancer",
                lb["LoadBalancerName"],
                lb["LoadBalancerArn"],
                tags.get(lb["LoadBalancerArn"]),
                lb.get("Type", ""),
            )
            for lb in lbs
            if is_workshop_resource(tags.get(lb["LoadBalancerArn"]))
        ]
        rows += [
            self.found(
                "target-group",
                tg["TargetGroupName"],
                tg["TargetGroupArn"],
                tags.get(tg["TargetGroupArn"]),
            )
            for tg in tgs
            if is_workshop_resource(tags.get(tg["TargetGroupArn"]))
        ]
        return rows

    def delete(self, ctx: Workshop, found: Found) -> str:
        elb = ctx.client("elbv2")
        if found.kind == "listener":
            elb.delete_listener(ListenerArn=found.arn)
        elif found.kind == "load-balancer":
            elb.delete_load_balancer(LoadBalancerArn=found.arn)
            _wait(ctx, elb, "load_balancers_deleted", LoadBalancerArns=[found.arn])
        else:
            elb.delete_target_group(TargetGroupArn=found.arn)
        return ""


class LambdaCleaner(_Base):
    """Functions (their log groups are the logs cleaner's, when tagged)."""

    service = "lambda"

    def list(self, ctx: Workshop) -> list[Found]:
        lam = ctx.client("lambda")
        out = []
        for page in _pages(lam, "list_functions"):
            for fn in page.get("Functions", []):
                tags = _ignore_gone(lambda a=fn["FunctionArn"]: lam.list_tags(Resource=a))
                if tags and is_workshop_resource(tags.get("Tags")):
                    out.append(
                        self.found(
                            "function", fn["FunctionName"], fn["FunctionArn"], tags.get("Tags")
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("lambda").delete_function(FunctionName=found.name)
        return ""


class EventsCleaner(_Base):
    """Rules on every event bus, their targets removed first."""

    service = "events"

    def list(self, ctx: Workshop) -> list[Found]:
        ev = ctx.client("events")
        buses = [b["Name"] for b in ev.list_event_buses().get("EventBuses", [])] or ["default"]
        out = []
        for bus in buses:
            for page in _pages(ev, "list_rules", EventBusName=bus):
                for rule in page.get("Rules", []):
                    if rule.get("ManagedBy"):
                        continue  # rules another service owns; it deletes them
                    tags = _ignore_gone(
                        lambda a=rule["Arn"]: ev.list_tags_for_resource(ResourceARN=a)
                    )
                    if tags and is_workshop_resource(tags.get("Tags")):
                        out.append(
                            self.found(
                                "rule",
                                rule["Name"],
                                rule["Arn"],
                                tags.get("Tags"),
                                f"on bus {bus}",
                                bus=bus,
                            )
                        )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ev = ctx.client("events")
        bus = found.ref.get("bus", "default")
        ids = [
            t["Id"]
            for page in _pages(ev, "list_targets_by_rule", Rule=found.name, EventBusName=bus)
            for t in page.get("Targets", [])
        ]
        for start in range(0, len(ids), 10):
            ev.remove_targets(Rule=found.name, EventBusName=bus, Ids=ids[start : start + 10])
        ev.delete_rule(Name=found.name, EventBusName=bus)
        return f"with {_n(len(ids), 'target')}" if ids else ""


class AppConfigCleaner(_Base):
    """Applications with their environments, profiles and hosted configuration versions."""

    service = "appconfig"
    local_notes = (
        "cannot list applications (ListApplications unimplemented): found through "
        "the ledger; cannot list environments or hosted configuration versions: the "
        "emulator drops them with their profile"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        ac = ctx.client("appconfig")
        try:
            apps = [
                (a["Id"], a["Name"])
                for page in _pages(ac, "list_applications")
                for a in page.get("Items", [])
            ]
            via = ""
        except (ClientError, ResponseParserError) as exc:
            if not _is_unimplemented(ctx, exc):
                raise
            apps = [(e["id"], e["name"]) for e in ledger(ctx, "appconfig") if e.get("id")]
            via = "found through the ledger"
        out = []
        for app_id, name in apps:
            try:
                ac.get_application(ApplicationId=app_id)
            except ClientError as exc:
                if not _is_gone(exc):
                    raise
                forget(ctx, "appconfig", id=app_id)
                continue
            arn = f"arn:aws:appconfig:{ctx.region}:{ctx.account_id}:application/{app_id}"
            tags = ac.list_tags_for_resource(ResourceArn=arn).get("Tags", {})
            if is_workshop_resource(tags):
                profiles = self._profiles(ac, app_id)
                detail = "; ".join(
                    filter(
                        None,
                        [
                            f"profiles: {', '.join(p['Name'] for p in profiles)}"
                            if profiles
                            else "",
                            via,
                        ],
                    )
                )
                out.append(self.found("application", name, arn, tags, detail, id=app_id))
        return out

    @staticmethod
    def _profiles(ac: Any, app_id: str) -> list[dict[str, Any]]:
        return [
            p
            for page in _pages(ac, "list_configuration_profiles", ApplicationId=app_id)
            for p in page.get("Items", [])
        ]

    def delete(self, ctx: Workshop, found: Found) -> str:
        ac = ctx.client("appconfig")
        app_id = found.ref["id"]
        envs = _optional(
            ctx,
            lambda: [
                e
                for page in _pages(ac, "list_environments", ApplicationId=app_id)
                for e in page.get("Items", [])
            ],
            None,
        )
        unlisted = envs is None
        for env in envs or []:
            _ignore_gone(
                lambda e=env: ac.delete_environment(ApplicationId=app_id, EnvironmentId=e["Id"])
            )
        profiles = self._profiles(ac, app_id)
        versions = 0
        for profile in profiles:
            numbers = _optional(
                ctx,
                lambda p=profile: [
                    v["VersionNumber"]
                    for page in _pages(
                        ac,
                        "list_hosted_configuration_versions",
                        ApplicationId=app_id,
                        ConfigurationProfileId=p["Id"],
                    )
                    for v in page.get("Items", [])
                ],
                None,
            )
            unlisted = unlisted or numbers is None
            numbers = numbers or []
            for number in numbers:
                _ignore_gone(
                    lambda p=profile, n=number: ac.delete_hosted_configuration_version(
                        ApplicationId=app_id, ConfigurationProfileId=p["Id"], VersionNumber=n
                    )
                )
            versions += len(numbers)
            _ignore_gone(
                lambda p=profile: ac.delete_configuration_profile(
                    ApplicationId=app_id, ConfigurationProfileId=p["Id"]
                )
            )
        ac.delete_application(ApplicationId=app_id)
        forget(ctx, "appconfig", id=app_id)
        parts = [
            _n(len(envs or []), "environment"),
            _n(len(profiles), "profile"),
            _n(versions, "hosted version"),
        ]
        done = ", ".join(p for p in parts if not p.startswith("0 "))
        return "; ".join(
            p
            for p in (
                f"with {done}" if done else "",
                "the emulator cannot list environments or hosted versions: they went with it"
                if unlisted
                else "",
            )
            if p
        )


class ECRCleaner(_Base):
    """Repositories, deleted with their images (``force``)."""

    service = "ecr"

    def list(self, ctx: Workshop) -> list[Found]:
        ecr = ctx.client("ecr")
        out = []
        for page in _pages(ecr, "describe_repositories"):
            for repo in page.get("repositories", []):
                tags = _ignore_gone(
                    lambda a=repo["repositoryArn"]: ecr.list_tags_for_resource(resourceArn=a)
                )
                if tags and is_workshop_resource(tags.get("tags")):
                    out.append(
                        self.found(
                            "repository",
                            repo["repositoryName"],
                            repo["repositoryArn"],
                            tags.get("tags"),
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("ecr").delete_repository(repositoryName=found.name, force=True)
        return "with its images"


class CloudWatchCleaner(_Base):
    """Alarms (tagged; composite first) and dashboards (tagged, or named ``labs-…``)."""

    service = "cloudwatch"
    local_notes = "alarms by tag; dashboards have no tags in the emulator: by the labs- prefix"

    def list(self, ctx: Workshop) -> list[Found]:
        cw = ctx.client("cloudwatch")
        composite, metric = [], []
        for page in _pages(cw, "describe_alarms", AlarmTypes=["CompositeAlarm", "MetricAlarm"]):
            for kind, alarms, into in (
                ("composite-alarm", page.get("CompositeAlarms", []), composite),
                ("alarm", page.get("MetricAlarms", []), metric),
            ):
                for alarm in alarms:
                    tags = _ignore_gone(
                        lambda a=alarm["AlarmArn"]: cw.list_tags_for_resource(ResourceARN=a)
                    )
                    if tags and is_workshop_resource(tags.get("Tags")):
                        into.append(
                            self.found(
                                kind, alarm["AlarmName"], alarm["AlarmArn"], tags.get("Tags")
                            )
                        )
        dashboards = []
        for page in _pages(cw, "list_dashboards"):
            for dash in page.get("DashboardEntries", []):
                tags = (
                    _optional(
                        ctx,
                        lambda a=dash["DashboardArn"]: cw.list_tags_for_resource(ResourceARN=a),
                        {},
                    )
                    or {}
                )
                if is_workshop_resource(tags.get("Tags")):
                    dashboards.append(
                        self.found(
                            "dashboard",
                            dash["DashboardName"],
                            dash["DashboardArn"],
                            tags.get("Tags"),
                        )
                    )
                elif dash["DashboardName"].startswith(DASHBOARD_PREFIX):
                    dashboards.append(
                        self.found(
                            "dashboard",
                            dash["DashboardName"],
                            dash["DashboardArn"],
                            {},
                            f"no tags: matched by the {DASHBOARD_PREFIX!r} name prefix",
                        )
                    )
        return composite + metric + dashboards

    def delete(self, ctx: Workshop, found: Found) -> str:
        cw = ctx.client("cloudwatch")
        if found.kind == "dashboard":
            cw.delete_dashboards(DashboardNames=[found.name])
        else:
            cw.delete_alarms(AlarmNames=[found.name])
        return ""


class LogsCleaner(_Base):
    """Log groups, with their streams and events."""

    service = "logs"

    def list(self, ctx: Workshop) -> list[Found]:
        logs = ctx.client("logs")
        out = []
        for page in _pages(logs, "describe_log_groups"):
            for group in page.get("logGroups", []):
                name = group["logGroupName"]
                arn = group.get("logGroupArn") or group.get("arn", "").removesuffix(":*")
                try:
                    tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
                except ClientError as exc:
                    if _is_gone(exc):
                        continue
                    tags = logs.list_tags_log_group(logGroupName=name).get("tags", {})
                if is_workshop_resource(tags):
                    out.append(self.found("log-group", name, arn, tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("logs").delete_log_group(logGroupName=found.name)
        return ""


class SNSCleaner(_Base):
    """Topics, their subscriptions unsubscribed first."""

    service = "sns"

    def list(self, ctx: Workshop) -> list[Found]:
        sns = ctx.client("sns")
        out = []
        for page in _pages(sns, "list_topics"):
            for topic in page.get("Topics", []):
                arn = topic["TopicArn"]
                tags = _ignore_gone(lambda a=arn: sns.list_tags_for_resource(ResourceArn=a))
                if tags and is_workshop_resource(tags.get("Tags")):
                    out.append(self.found("topic", arn.rsplit(":", 1)[-1], arn, tags.get("Tags")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        sns = ctx.client("sns")
        subs = [
            s["SubscriptionArn"]
            for page in _pages(sns, "list_subscriptions_by_topic", TopicArn=found.arn)
            for s in page.get("Subscriptions", [])
        ]
        confirmed = [s for s in subs if s.startswith("arn:")]  # not "PendingConfirmation"
        for sub in confirmed:
            _ignore_gone(lambda s=sub: sns.unsubscribe(SubscriptionArn=s))
        sns.delete_topic(TopicArn=found.arn)
        return f"with {_n(len(confirmed), 'subscription')}" if confirmed else ""


class SQSCleaner(_Base):
    """Queues."""

    service = "sqs"

    def list(self, ctx: Workshop) -> list[Found]:
        sqs = ctx.client("sqs")
        out = []
        for page in _pages(sqs, "list_queues"):
            for url in page.get("QueueUrls", []):
                tags = _ignore_gone(lambda u=url: sqs.list_queue_tags(QueueUrl=u))
                if tags and is_workshop_resource(tags.get("Tags")):
                    out.append(
                        self.found(
                            "queue", url.rstrip("/").rsplit("/", 1)[-1], url, tags.get("Tags")
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("sqs").delete_queue(QueueUrl=found.arn)
        return ""


class DynamoDBCleaner(_Base):
    """Tables."""

    service = "dynamodb"

    def list(self, ctx: Workshop) -> list[Found]:
        ddb = ctx.client("dynamodb")
        out = []
        for page in _pages(ddb, "list_tables"):
            for name in page.get("TableNames", []):
                arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
                tags = _ignore_gone(
                    lambda a=arn: [
                        t
                        for p in _pages(ddb, "list_tags_of_resource", ResourceArn=a)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    out.append(self.found("table", name, arn, tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("dynamodb").delete_table(TableName=found.name)
        return ""


class SSMCleaner(_Base):
    """Parameters."""

    service = "ssm"

    def list(self, ctx: Workshop) -> list[Found]:
        ssm = ctx.client("ssm")
        out = []
        for page in _pages(ssm, "describe_parameters"):
            for param in page.get("Parameters", []):
                name = param["Name"]
                tags = _ignore_gone(
                    lambda n=name: ssm.list_tags_for_resource(
                        ResourceType="Parameter", ResourceId=n
                    )
                )
                if tags and is_workshop_resource(tags.get("TagList")):
                    arn = param.get("ARN") or (
                        f"arn:aws:ssm:{ctx.region}:{ctx.account_id}:parameter/{name.lstrip('/')}"
                    )
                    out.append(self.found("parameter", name, arn, tags.get("TagList")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("ssm").delete_parameter(Name=found.name)
        return ""


class S3Cleaner(_Base):
    """Buckets in the context's region, emptied of every version, marker and upload first."""

    service = "s3"

    def list(self, ctx: Workshop) -> list[Found]:
        s3 = ctx.client("s3")
        out = []
        for page in _pages(s3, "list_buckets"):
            for bucket in page.get("Buckets", []):
                name = bucket["Name"]
                try:
                    where = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
                    if (where or "us-east-1") != ctx.region:
                        continue  # another region's client must delete it
                    tags = s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
                except ClientError as exc:
                    if _is_gone(exc):  # includes NoSuchTagSet: an untagged bucket
                        continue
                    raise
                if is_workshop_resource(tags):
                    out.append(self.found("bucket", name, f"arn:aws:s3:::{name}", tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        s3 = ctx.client("s3")
        removed = 0
        for page in _pages(s3, "list_object_versions", Bucket=found.name):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(keys), 1000):
                answer = s3.delete_objects(
                    Bucket=found.name, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise RuntimeError(
                        f"could not delete {first.get('Key')}: "
                        f"{first.get('Code')} {first.get('Message', '')}"
                    )
            removed += len(keys)
        for page in _pages(s3, "list_multipart_uploads", Bucket=found.name):
            for upload in page.get("Uploads", []):
                _ignore_gone(
                    lambda u=upload: s3.abort_multipart_upload(
                        Bucket=found.name, Key=u["Key"], UploadId=u["UploadId"]
                    )
                )
        s3.delete_bucket(Bucket=found.name)
        what = _n(removed, "object version or delete marker", "object versions and delete markers")
        return f"emptied first: {what}"


class IAMCleaner(_Base):
    """Instance profiles, roles (policies detached, inline deleted), then managed policies.

    IAM is global: on AWS this finds the workshop's IAM resources whatever the region.
    """

    service = "iam"
    local_notes = (
        "roles, policies, instance profiles; instance-profile tags come from "
        "GetInstanceProfile (ListInstanceProfileTags unimplemented)"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        iam = ctx.client("iam")
        profiles, roles, policies = [], [], []
        for page in _pages(iam, "list_instance_profiles"):
            for prof in page.get("InstanceProfiles", []):
                name = prof["InstanceProfileName"]
                try:
                    tags = _optional(
                        ctx,
                        lambda n=name: [
                            t
                            for p in _pages(
                                iam, "list_instance_profile_tags", InstanceProfileName=n
                            )
                            for t in p.get("Tags", [])
                        ],
                        None,
                    )
                    if tags is None:  # the emulator: tags come with GetInstanceProfile
                        tags = iam.get_instance_profile(InstanceProfileName=name)[
                            "InstanceProfile"
                        ].get("Tags", [])
                except ClientError as exc:
                    if _is_gone(exc):
                        continue
                    raise
                if is_workshop_resource(tags):
                    profiles.append(self.found("instance-profile", name, prof["Arn"], tags))
        for page in _pages(iam, "list_roles"):
            for role in page.get("Roles", []):
                if role.get("Path", "/").startswith("/aws-service-role/"):
                    continue  # service-linked roles belong to their service
                tags = _ignore_gone(
                    lambda n=role["RoleName"]: [
                        t
                        for p in _pages(iam, "list_role_tags", RoleName=n)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    roles.append(self.found("role", role["RoleName"], role["Arn"], tags))
        for page in _pages(iam, "list_policies", Scope="Local"):
            for pol in page.get("Policies", []):
                tags = _ignore_gone(
                    lambda a=pol["Arn"]: [
                        t
                        for p in _pages(iam, "list_policy_tags", PolicyArn=a)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    policies.append(self.found("policy", pol["PolicyName"], pol["Arn"], tags))
        return profiles + roles + policies

    def delete(self, ctx: Workshop, found: Found) -> str:
        iam = ctx.client("iam")
        if found.kind == "instance-profile":
            roles = iam.get_instance_profile(InstanceProfileName=found.name)["InstanceProfile"].get(
                "Roles", []
            )
            for role in roles:
                _ignore_gone(
                    lambda r=role: iam.remove_role_from_instance_profile(
                        InstanceProfileName=found.name, RoleName=r["RoleName"]
                    )
                )
            iam.delete_instance_profile(InstanceProfileName=found.name)
            return f"{_n(len(roles), 'role')} removed from it first" if roles else ""
        if found.kind == "role":
            return self._delete_role(iam, found.name)
        return self._delete_policy(iam, found.arn)

    @staticmethod
    def _delete_role(iam: Any, role: str) -> str:
        attached = [
            p["PolicyArn"]
            for page in _pages(iam, "list_attached_role_policies", RoleName=role)
            for p in page.get("AttachedPolicies", [])
        ]
        for arn in attached:
            _ignore_gone(lambda a=arn: iam.detach_role_policy(RoleName=role, PolicyArn=a))
        inline = [
            n
            for page in _pages(iam, "list_role_policies", RoleName=role)
            for n in page.get("PolicyNames", [])
        ]
        for name in inline:
            _ignore_gone(lambda n=name: iam.delete_role_policy(RoleName=role, PolicyName=n))
        profiles = [
            p["InstanceProfileName"]
            for page in _pages(iam, "list_instance_profiles_for_role", RoleName=role)
            for p in page.get("InstanceProfiles", [])
        ]
        for prof in profiles:
            _ignore_gone(
                lambda p=prof: iam.remove_role_from_instance_profile(
                    InstanceProfileName=p, RoleName=role
                )
            )
        iam.delete_role(RoleName=role)
        parts = [
            f"{_n(len(attached), 'policy', 'policies')} detached" if attached else "",
            f"{_n(len(inline), 'inline policy', 'inline policies')} deleted" if inline else "",
            f"removed from {_n(len(profiles), 'instance profile')}" if profiles else "",
        ]
        return ", ".join(p for p in parts if p)

    @staticmethod
    def _delete_policy(iam: Any, arn: str) -> str:
        detached = 0
        for page in _pages(iam, "list_entities_for_policy", PolicyArn=arn):
            for role in page.get("PolicyRoles", []):
                _ignore_gone(
                    lambda r=role: iam.detach_role_policy(RoleName=r["RoleName"], PolicyArn=arn)
                )
                detached += 1
            for user in page.get("PolicyUsers", []):
                _ignore_gone(
                    lambda u=user: iam.detach_user_policy(UserName=u["UserName"], PolicyArn=arn)
                )
                detached += 1
            for group in page.get("PolicyGroups", []):
                _ignore_gone(
                    lambda g=group: iam.detach_group_policy(GroupName=g["GroupName"], PolicyArn=arn)
                )
                detached += 1
        for page in _pages(iam, "list_policy_versions", PolicyArn=arn):
            for version in page.get("Versions", []):
                if not version.get("IsDefaultVersion"):
                    _ignore_gone(
                        lambda v=version: iam.delete_policy_version(
                            PolicyArn=arn, VersionId=v["VersionId"]
                        )
                    )
        iam.delete_policy(PolicyArn=arn)
        return f"detached from {_n(detached, 'entity', 'entities')} first" if detached else ""


SERVICES: dict[str, Cleaner] = {
    cleaner.service: cleaner
    for cleaner in (
        # Deletion order: stacks own resources of the others; users of a resource go before
        # it (pipelines before projects, services before clusters); IAM roles go last.
        CloudFormationCleaner(),
        CodePipelineCleaner(),
        CodeBuildCleaner(),
        CodeDeployCleaner(),
        CodeCommitCleaner(),
        ECSCleaner(),
        EKSCleaner(),
        ELBv2Cleaner(),
        LambdaCleaner(),
        EventsCleaner(),
        AppConfigCleaner(),
        ECRCleaner(),
        CloudWatchCleaner(),
        LogsCleaner(),
        SNSCleaner(),
        SQSCleaner(),
        DynamoDBCleaner(),
        SSMCleaner(),
        S3Cleaner(),
        IAMCleaner(),
    )
}
"""Service name → its cleaner, in deletion order. A later lab adds one with
``SERVICES["apprunner"] = AppRunnerCleaner()`` (anything with ``list`` and ``delete``)."""


# --------------------------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------------------------


def _select(services: str | Iterable[str] | None) -> list[str]:
    if services is None:
        return list(SERVICES)
    wanted = [services] if isinstance(services, str) else list(services)
    unknown = [s for s in wanted if s not in SERVICES]
    if unknown:
        raise InputError(
            f"No cleaner for {', '.join(map(repr, unknown))}.",
            where="services",
            hint=f"Use any of: {', '.join(SERVICES)}.",
        )
    return [s for s in SERVICES if s in wanted]  # always in deletion order


def _list_row(service: str, exc: BaseException) -> dict[str, str]:
    return {
        "service": service,
        "kind": "(listing)",
        "name": "",
        "arn": "",
        "detail": f"could not list: {_short(exc)}",
    }


def inventory(ctx: Workshop, *, services: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Return the workshop resources that exist now, one row each, deleting nothing.

    Uses the same listers as :func:`cleanup`, so this is exactly what it would delete.

    Args:
        ctx: The workshop context.
        services: One service name or several (keys of :data:`SERVICES`); default all.

    Returns:
        A frame with columns service, kind, name, arn, lab (the ``lab`` tag) and detail. A
        service that could not be listed shows as one row of kind ``(listing)``.
    """
    rows: list[dict[str, str]] = []
    for service in _select(services):
        try:
            found = SERVICES[service].list(ctx)
        except Exception as exc:
            rows.append({**_list_row(service, exc), "lab": ""})
            continue
        rows += [
            {
                "service": f.service,
                "kind": f.kind,
                "name": f.name,
                "arn": f.arn,
                "lab": f.tags.get("lab", ""),
                "detail": f.detail,
            }
            for f in found
        ]
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS)


def cleanup(
    ctx: Workshop,
    *,
    services: str | Iterable[str] | None = None,
    lab: str | None = None,
    dry_run: bool = False,
    reset_local: bool = False,
    verbose: bool | None = None,
) -> pd.DataFrame:
    """Delete every workshop-tagged resource, service by service; safe to run again.

    Each service's cleaner lists its resources with the service's own API, keeps those carrying
    the tag ``workshop=devops-on-aws-labs`` and deletes them in an order the service accepts.
    A failure on one resource is recorded and the others carry on; nothing is raised.

    Args:
        ctx: The workshop context.
        services: One service name or several (keys of :data:`SERVICES`); default all.
        lab: Only resources tagged ``lab=<lab>`` (what ``ctx.tags(lab=...)`` adds), so that a
            lab's cleanup leaves other labs' resources alone; default every workshop resource.
        dry_run: List what would be deleted and delete nothing.
        reset_local: On the local target, also reset the emulator afterwards (everything in it
            goes, tagged or not, including what it cannot delete one by one). Ignored on AWS.
        verbose: Print one line per resource; default on the aws target, off locally.

    Returns:
        One row per resource found, with columns service, kind, name, arn, action
        (``deleted``, ``would delete``, ``skipped`` or ``failed``) and detail.
    """
    chosen = _select(services)
    verbose = (not ctx.is_local) if verbose is None else verbose
    rows: list[dict[str, str]] = []

    def note(row: dict[str, str]) -> None:
        rows.append(row)
        if verbose:
            print(
                f"  {row['action']:<12} {row['service']}/{row['kind']} {row['name']}"
                + (f"  ({row['detail']})" if row["detail"] else "")
            )

    for service in chosen:
        cleaner = SERVICES[service]
        try:
            found = cleaner.list(ctx)
        except Exception as exc:
            note({**_list_row(service, exc), "action": "failed"})
            continue
        for item in found:
            if lab is not None and item.tags.get("lab") != str(lab):
                continue
            row = {
                "service": item.service,
                "kind": item.kind,
                "name": item.name,
                "arn": item.arn,
                "action": "would delete",
                "detail": item.detail,
            }
            if not dry_run:
                row.update(_delete_one(ctx, cleaner, item))
            note(row)

    frame = pd.DataFrame(rows, columns=CLEANUP_COLUMNS)
    reset = False
    if reset_local and not dry_run:
        if ctx.is_local:
            emulator.reset()
            forget(ctx)
            reset = True
            frame.loc[frame["action"] == "skipped", "detail"] = "removed by the emulator reset"
        else:
            print("reset_local=True does nothing on the aws target.")
    print(_summary(ctx, frame, chosen, dry_run=dry_run, reset=reset))
    return frame


def _delete_one(ctx: Workshop, cleaner: Cleaner, item: Found) -> dict[str, str]:
    """Delete one resource; turn what happened into the row's action and detail."""
    try:
        detail = cleaner.delete(ctx, item) or item.detail
        return {"action": "deleted", "detail": detail}
    except Exception as exc:
        if _is_gone(exc):
            return {"action": "deleted", "detail": "already gone"}
        if _is_unimplemented(ctx, exc):
            operation = getattr(exc, "operation_name", "") or "this operation"
            return {
                "action": "skipped",
                "detail": f"the local emulator cannot do {operation}; "
                "cleanup(ctx, reset_local=True) removes it",
            }
        return {"action": "failed", "detail": _short(exc)}


def _summary(
    ctx: Workshop, frame: pd.DataFrame, chosen: Sequence[str], *, dry_run: bool, reset: bool
) -> str:
    where = "local emulator" if ctx.is_local else f"AWS account {ctx.account_id}, {ctx.region}"
    counts = frame["action"].value_counts()
    parts = [f"{counts[a]} {a}" for a in ACTIONS if counts.get(a, 0)]
    lines = [
        f"Cleanup{' (dry run)' if dry_run else ''} on the {where}: "
        f"{', '.join(parts) if parts else 'no workshop resources found'} "
        f"({_n(len(chosen), 'service')} checked)."
    ]
    failed = frame[frame["action"] == "failed"]
    for _, row in failed.head(5).iterrows():
        lines.append(f"  failed: {row['service']}/{row['kind']} {row['name']}: {row['detail']}")
    if len(failed) > 5:
        lines.append(f"  … and {len(failed) - 5} more failure(s): see the returned frame.")
    if len(failed):
        lines.append("  Run the cleanup again once the cause is fixed; it is safe to repeat.")
    if counts.get("skipped", 0) and not reset:
        lines.append(
            "  Skipped resources are ones the emulator cannot delete; "
            "`cleanup(ctx, reset_local=True)` (or `python -m labs.cleanup --reset`) "
            "removes them."
        )
    if reset:
        lines.append("  The local emulator was reset: it holds nothing now.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line: python -m labs.cleanup [--dry-run] [--reset]
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cleanup from the command line: exit 1 when a deletion failed, 2 on no start."""
    parser = argparse.ArgumentParser(
        prog="python -m labs.cleanup",
        description="Delete every resource tagged workshop=devops-on-aws-labs on the "
        "workshop's target (the local emulator unless LABS_TARGET=aws).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="local target: also reset the emulator (removes everything)",
    )
    parser.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        choices=list(SERVICES),
        help="only this service (repeatable); default all",
    )
    args = parser.parse_args(argv)

    try:
        ctx = start_workshop(quiet=True)
    except LabsError as exc:  # a refused aws target, an emulator that would not start
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    frame = cleanup(
        ctx, services=args.service, dry_run=args.dry_run, reset_local=args.reset, verbose=True
    )
    return 1 if (frame["action"] == "failed").any() else 0


if __name__ == "__main__":
    sys.exit(main())
