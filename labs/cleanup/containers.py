"""Cleaners for containers and compute: ECS, EKS, Elastic Load Balancing v2, Lambda and ECR."""

from __future__ import annotations

from typing import Any

from labs.cleanup.base import (
    Found,
    _Base,
    _ignore_gone,
    _optional,
    _pages,
    _tag_dict,
    _wait,
    is_workshop_resource,
)
from labs.env import Workshop

__all__ = ["ECRCleaner", "ECSCleaner", "EKSCleaner", "ELBv2Cleaner", "LambdaCleaner"]


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
