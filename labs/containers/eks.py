"""Amazon EKS: a cluster and a managed node group, and the bookstore's Kubernetes manifests.

**What the emulator does** (moto 5.2.5, measured): ``CreateCluster`` and ``CreateNodegroup``
return ``ACTIVE`` at once (FACTS.md); any ``version`` string is accepted (``"1.99"`` too) and a
cluster created without one reports ``1.19``, as does a node group created without one,
whatever its cluster's version; a node group's ``scalingConfig`` is stored even when
``minSize`` > ``maxSize`` or ``desiredSize`` > ``maxSize``; ``updateConfig`` is dropped; role
ARNs are checked for their shape only; a cluster with node groups cannot be deleted
(``ResourceInUseException``, as on AWS); ``DescribeClusterVersions`` answers 404. There is no
Kubernetes: no API server, no pods. So this module

* checks a node group's scaling configuration as EKS does (:func:`check_scaling`);
* generates the bookstore's Deployment, Service and HorizontalPodAutoscaler from data
  (:class:`App`, :func:`manifests`) and validates them offline against the Kubernetes OpenAPI
  schemas bundled with ``kubernetes-validate`` (strict: unknown fields are errors), plus the
  checks the API server makes beyond the schema (:func:`validate`);
* simulates a Deployment's rolling update with ``maxSurge``/``maxUnavailable``
  (:func:`rolling_update`) as the Deployment controller runs it.

The Kubernetes version is pinned to :data:`KUBERNETES_VERSION` (1.35): a version Amazon EKS offers
in standard support (EKS user guide, "Understand the Kubernetes version lifecycle on EKS",
https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, which names 1.35 as
its newest version; release calendar in :data:`EKS_VERSIONS`), and one whose schemas
``kubernetes-validate`` 1.37.0 bundles.

Rolling update rules (Kubernetes API reference, ``RollingUpdateDeployment``, as bundled in the
1.35 schema): ``maxSurge`` — pods above the desired count, "absolute number is calculated from
percentage by rounding up"; ``maxUnavailable`` — "calculated from percentage by rounding down";
each "can not be 0" if the other is 0; both default to 25%. When both *resolve* to 0 after
rounding, the controller sets ``maxUnavailable`` to 1 (``ResolveFenceposts`` in
``pkg/controller/deployment/util/deployment_util.go``). The controller scales the new
ReplicaSet up while the total stays within ``replicas + maxSurge``, and the old one down while
at least ``replicas − maxUnavailable`` pods are available (``reconcileNewReplicaSet`` /
``reconcileOldReplicaSets`` in ``pkg/controller/deployment/rolling.go``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import kubernetes_validate
import pandas as pd
import yaml
from botocore.exceptions import ClientError

from labs.errors import InputError
from labs.observability.published import client

__all__ = [
    "EKS_CONTROL_PLANE_USD_HOUR",
    "EKS_VERSIONS",
    "KUBERNETES_VERSION",
    "App",
    "bookstore_apps",
    "check_scaling",
    "control_plane_cost",
    "deployment",
    "ensure_cluster",
    "ensure_nodegroup",
    "ensure_roles",
    "horizontal_pod_autoscaler",
    "manifests",
    "plot_rolling_update",
    "resolve_rolling_update",
    "rolling_update",
    "service",
    "to_yaml",
    "validate",
    "validate_manifest",
]

KUBERNETES_VERSION = "1.35"
"""The Kubernetes version the lab pins: in EKS standard support, bundled by kubernetes-validate."""

EKS_VERSIONS = pd.DataFrame(
    [
        ("1.33", "2025-04-23", "2025-05-29", "2026-07-29", "2027-07-29", "EKS user guide"),
        ("1.34", "2025-08-27", "2025-10-02", "2026-12-02", "2027-12-02", "EKS user guide"),
        ("1.35", "n/a", "2026-01-28", "2027-03-27", "2028-03-27", "endoflife.date"),
    ],
    columns=[
        "version",
        "upstream release",
        "EKS release",
        "end of standard support",
        "end of extended support",
        "source",
    ],
)
"""Release calendar of the versions the lab mentions. 1.33 and 1.34 from the EKS user guide's
release calendar; 1.35's dates from endoflife.date (the EKS user guide names 1.35 as its newest
version but the stored copy of its calendar predates it): check ``aws eks
describe-cluster-versions`` for the current list."""

EKS_CONTROL_PLANE_USD_HOUR = {"standard support": 0.10, "extended support": 0.60}
"""EKS control plane price per cluster-hour: $0.10 in standard support, $0.60 in extended support
(AWS Containers blog, "Amazon EKS extended support for Kubernetes versions pricing"; 2026 pricing
guides quoting the EKS pricing page agree). Check https://aws.amazon.com/eks/pricing/ for the
current price."""

_PERCENT = re.compile(r"^(\d+)%$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


# --------------------------------------------------------------------------------------------
# EKS in the emulator
# --------------------------------------------------------------------------------------------

_TRUST = {
    "cluster": "eks.amazonaws.com",
    "node": "ec2.amazonaws.com",
}
_MANAGED_POLICIES = {
    "cluster": ("AmazonEKSClusterPolicy",),
    "node": (
        "AmazonEKSWorkerNodePolicy",
        "AmazonEKS_CNI_Policy",
        "AmazonEC2ContainerRegistryReadOnly",
    ),
}


def ensure_roles(ctx: Any, *, lab: str) -> dict[str, str]:
    """Return ``{"cluster": arn, "node": arn}``: the EKS cluster role and the node role.

    The cluster role is assumed by ``eks.amazonaws.com`` and has ``AmazonEKSClusterPolicy``;
    the node role is assumed by ``ec2.amazonaws.com`` and has ``AmazonEKSWorkerNodePolicy``,
    ``AmazonEKS_CNI_Policy`` and ``AmazonEC2ContainerRegistryReadOnly`` (EKS user guide,
    "Amazon EKS cluster IAM role" and "Amazon EKS node IAM role"). Created once, tagged. The
    emulator has no AWS managed policies, so there the roles are created without them.
    """
    iam = client(ctx, "iam")
    arns = {}
    for kind, principal in _TRUST.items():
        name = ctx.name(f"eks-{kind}-role")
        try:
            arns[kind] = iam.get_role(RoleName=name)["Role"]["Arn"]
            continue
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                raise
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": principal},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        arns[kind] = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=f"Amazon EKS {kind} role (DevOps on AWS Labs, lab {lab})",
            Tags=ctx.tags(lab=lab).as_list(),
        )["Role"]["Arn"]
        for policy in _MANAGED_POLICIES[kind]:
            try:
                iam.attach_role_policy(RoleName=name, PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
            except ClientError as exc:
                # The emulator holds no AWS managed policies: AttachRolePolicy answers
                # NoSuchEntity there. On AWS that would be a real error.
                if not ctx.is_local or exc.response.get("Error", {}).get("Code") != "NoSuchEntity":
                    raise
    return arns


def ensure_cluster(
    ctx: Any,
    name: str,
    *,
    subnet_ids: Sequence[str],
    role_arn: str,
    version: str = KUBERNETES_VERSION,
    lab: str,
) -> dict[str, Any]:
    """Return the EKS cluster ``name`` (``DescribeCluster``), creating it once with ``version``."""
    eks = client(ctx, "eks")
    try:
        return eks.describe_cluster(name=name)["cluster"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    return eks.create_cluster(
        name=name,
        version=version,
        roleArn=role_arn,
        resourcesVpcConfig={
            "subnetIds": list(subnet_ids),
            "endpointPublicAccess": False,
            "endpointPrivateAccess": True,
        },
        tags=dict(ctx.tags(lab=lab)),
    )["cluster"]


def check_scaling(
    min_size: int, max_size: int, desired_size: int, max_unavailable: int = 1
) -> dict[str, Any]:
    """Return a node group's ``scalingConfig`` and ``updateConfig`` after EKS's checks.

    EKS: ``minSize`` ≥ 0, ``maxSize`` ≥ 1, ``minSize`` ≤ ``desiredSize`` ≤ ``maxSize``;
    ``updateConfig.maxUnavailable`` (nodes updated at once) from 1 to 100
    (``NodegroupScalingConfig`` and ``NodegroupUpdateConfig`` in the EKS API reference). The
    emulator checks none of it.

    Raises:
        InputError: Naming the field.
    """
    for name, value, low in (
        ("minSize", min_size, 0),
        ("maxSize", max_size, 1),
        ("desiredSize", desired_size, 0),
        ("maxUnavailable", max_unavailable, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{name} must be a whole number ≥ {low}, got {value!r}.", where=name)
    if min_size > max_size:
        raise InputError(
            f"minSize {min_size} is above maxSize {max_size}.", where="scalingConfig.minSize"
        )
    if not min_size <= desired_size <= max_size:
        raise InputError(
            f"desiredSize {desired_size} is outside [minSize {min_size}, maxSize {max_size}].",
            where="scalingConfig.desiredSize",
        )
    if max_unavailable > 100:
        raise InputError(
            f"maxUnavailable is at most 100, got {max_unavailable}.",
            where="updateConfig.maxUnavailable",
        )
    return {
        "scalingConfig": {"minSize": min_size, "maxSize": max_size, "desiredSize": desired_size},
        "updateConfig": {"maxUnavailable": max_unavailable},
    }


def ensure_nodegroup(
    ctx: Any,
    cluster: str,
    name: str,
    *,
    subnet_ids: Sequence[str],
    node_role_arn: str,
    min_size: int = 2,
    max_size: int = 6,
    desired_size: int = 3,
    instance_types: Sequence[str] = ("t3.medium",),
    version: str = KUBERNETES_VERSION,
    lab: str,
) -> dict[str, Any]:
    """Return the managed node group ``name`` of ``cluster``, creating it once (checked first)."""
    config = check_scaling(min_size, max_size, desired_size)
    eks = client(ctx, "eks")
    try:
        return eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    return eks.create_nodegroup(
        clusterName=cluster,
        nodegroupName=name,
        version=version,
        subnets=list(subnet_ids),
        nodeRole=node_role_arn,
        instanceTypes=list(instance_types),
        amiType="AL2023_x86_64_STANDARD",
        capacityType="ON_DEMAND",
        tags=dict(ctx.tags(lab=lab)),
        **config,
    )["nodegroup"]


def control_plane_cost(hours: float = 730.0) -> pd.DataFrame:
    """Return the EKS control plane's cost over ``hours`` (default a month), per support tier."""
    return pd.DataFrame(
        [
            {
                "support": tier,
                "USD per cluster-hour": price,
                f"USD per {hours:g} h": round(price * hours, 2),
            }
            for tier, price in EKS_CONTROL_PLANE_USD_HOUR.items()
        ]
    )


# --------------------------------------------------------------------------------------------
# Manifests from data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class App:
    """One bookstore service as Kubernetes runs it: what :func:`manifests` generates from.

    Attributes:
        name: The service (``catalog``, ``orders``, ``payments``): Deployment, Service and HPA name.
        image: The container image.
        version: The bookstore version (``BOOKSTORE_VERSION``).
        port: The container port (the Service forwards port 80 to it).
        replicas: The Deployment's replicas (the HPA's minimum unless ``min_replicas``).
        cpu_request: CPU request (the HPA's utilisation is relative to it).
        memory_request: Memory request.
        memory_limit: Memory limit.
        max_surge: ``maxSurge`` (a count or ``"N%"``).
        max_unavailable: ``maxUnavailable`` (a count or ``"N%"``).
        min_replicas: HPA ``minReplicas``.
        max_replicas: HPA ``maxReplicas``.
        cpu_target: HPA average CPU utilisation target (percent of the request).
        env: Extra environment variables.
    """

    name: str
    image: str
    version: str = "v1"
    port: int = 8080
    replicas: int = 3
    cpu_request: str = "250m"
    memory_request: str = "256Mi"
    memory_limit: str = "512Mi"
    max_surge: int | str = "25%"
    max_unavailable: int | str = "25%"
    min_replicas: int | None = None
    max_replicas: int = 12
    cpu_target: int = 60
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check names and numbers that the manifests would carry."""
        if not _DNS_LABEL.fullmatch(self.name) or len(self.name) > 63:
            raise InputError(
                f"{self.name!r} is not a valid Kubernetes name (DNS label: lowercase letters, "
                "digits and '-', at most 63).",
                where="name",
            )
        resolve_rolling_update(self.replicas, self.max_surge, self.max_unavailable)

    @property
    def labels(self) -> dict[str, str]:
        """The pod labels (the Deployment's selector and the Service's)."""
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/part-of": "bookstore"}


def bookstore_apps(
    image: str = "bookstore", version: str = "v1", *, namespace: str = "bookstore"
) -> list[App]:
    """Return the three bookstore services; orders finds catalog and payments by Service name."""
    base = f"http://{{}}.{namespace}.svc.cluster.local"
    return [
        App("catalog", f"{image}:{version}", version, replicas=2, max_replicas=6),
        App(
            "orders",
            f"{image}:{version}",
            version,
            replicas=3,
            max_replicas=12,
            env={
                "BOOKSTORE_CATALOG_URL": base.format("catalog"),
                "BOOKSTORE_PAYMENTS_URL": base.format("payments"),
            },
        ),
        App("payments", f"{image}:{version}", version, replicas=2, max_replicas=6),
    ]


def deployment(app: App, namespace: str = "bookstore") -> dict[str, Any]:
    """Return the ``apps/v1`` Deployment of ``app``: rolling update, probes, non-root, resources."""
    env = [{"name": "BOOKSTORE_VERSION", "value": app.version}]
    env += [{"name": k, "value": v} for k, v in app.env.items()]

    def probe(**extra: int) -> dict[str, Any]:
        return {"httpGet": {"path": "/health", "port": "http"}, "periodSeconds": 10, **extra}

    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app.name, "namespace": namespace, "labels": app.labels},
        "spec": {
            "replicas": app.replicas,
            "selector": {"matchLabels": app.labels},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": app.max_surge, "maxUnavailable": app.max_unavailable},
            },
            "template": {
                "metadata": {"labels": app.labels},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": app.name,
                            "image": app.image,
                            "args": [
                                "python",
                                "-m",
                                "bookstore",
                                "--service",
                                app.name,
                                "--host",
                                "0.0.0.0",
                                "--port",
                                str(app.port),
                            ],
                            "ports": [{"name": "http", "containerPort": app.port}],
                            "env": env,
                            "resources": {
                                "requests": {
                                    "cpu": app.cpu_request,
                                    "memory": app.memory_request,
                                },
                                "limits": {"memory": app.memory_limit},
                            },
                            "readinessProbe": probe(),
                            "livenessProbe": probe(initialDelaySeconds=10),
                            "securityContext": {"allowPrivilegeEscalation": False},
                        }
                    ],
                },
            },
        },
    }


def service(app: App, namespace: str = "bookstore") -> dict[str, Any]:
    """Return the ``v1`` Service of ``app``: ClusterIP, port 80 to the container's ``http`` port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app.name, "namespace": namespace, "labels": app.labels},
        "spec": {
            "type": "ClusterIP",
            "selector": app.labels,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def horizontal_pod_autoscaler(app: App, namespace: str = "bookstore") -> dict[str, Any]:
    """Return the ``autoscaling/v2`` HorizontalPodAutoscaler of ``app`` on CPU utilisation."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": app.name, "namespace": namespace, "labels": app.labels},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": app.name},
            "minReplicas": app.min_replicas if app.min_replicas is not None else app.replicas,
            "maxReplicas": app.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": app.cpu_target},
                    },
                }
            ],
        },
    }


def manifests(apps: Iterable[App], namespace: str = "bookstore") -> list[dict[str, Any]]:
    """Return the Namespace, then a Deployment, a Service and an HPA per app."""
    docs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    ]
    for app in apps:
        docs += [
            deployment(app, namespace),
            service(app, namespace),
            horizontal_pod_autoscaler(app, namespace),
        ]
    return docs


class _Dumper(yaml.SafeDumper):
    """A YAML dumper that never writes anchors and aliases (``&id001``/``*id001``)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def to_yaml(docs: Iterable[Mapping[str, Any]]) -> str:
    """Return the manifests as one YAML stream (``---`` between documents), keys in order."""
    return yaml.dump_all(
        [dict(d) for d in docs], Dumper=_Dumper, sort_keys=False, default_flow_style=False
    )


def _name(doc: Mapping[str, Any]) -> str:
    if not isinstance(doc, Mapping):
        return f"(a {type(doc).__name__}, not a manifest)"
    meta = doc.get("metadata") or {}
    if not isinstance(meta, Mapping):
        meta = {}
    return f"{doc.get('kind', '?')}/{meta.get('name', '?')}"


def _semantic(doc: Mapping[str, Any], docs: Sequence[Mapping[str, Any]]) -> None:
    """What the API server (or the controllers) refuse although the schema accepts it."""
    kind, where = doc.get("kind"), _name(doc)
    spec = doc.get("spec") or {}
    if kind == "Deployment":
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            raise InputError(
                "the selector does not match the pod template's labels.",
                where=f"{where}: spec.template.metadata.labels",
                hint="Every matchLabels key must be a template label with the same value.",
            )
        rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        if rolling:
            resolve_rolling_update(
                spec.get("replicas", 1),
                rolling.get("maxSurge", "25%"),
                rolling.get("maxUnavailable", "25%"),
                where=f"{where}: spec.strategy.rollingUpdate",
            )
    elif kind == "HorizontalPodAutoscaler":
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
        if high is not None and low > high:
            raise InputError(
                f"minReplicas {low} is above maxReplicas {high}.", where=f"{where}: spec"
            )
        ref = spec.get("scaleTargetRef") or {}
        targets = {_name(d): d for d in docs}
        target = targets.get(f"{ref.get('kind')}/{ref.get('name')}")
        if target is None:
            raise InputError(
                f"scaleTargetRef names {ref.get('kind')}/{ref.get('name')}, which is not in "
                "these manifests.",
                where=f"{where}: spec.scaleTargetRef",
            )
        uses_cpu = any(
            (m.get("resource") or {}).get("name") == "cpu" for m in spec.get("metrics") or []
        )
        containers = target["spec"]["template"]["spec"]["containers"]
        if uses_cpu and not all(
            ((c.get("resources") or {}).get("requests") or {}).get("cpu") for c in containers
        ):
            raise InputError(
                "a CPU utilisation target needs a CPU request on every container of the target.",
                where=f"{_name(target)}: spec.template.spec.containers[*].resources.requests.cpu",
                hint="Utilisation is measured as a percentage of the request.",
            )
    elif kind == "Service":
        selector = spec.get("selector") or {}
        matches = [
            d
            for d in docs
            if d.get("kind") == "Deployment"
            and all(
                d["spec"]["template"]["metadata"].get("labels", {}).get(k) == v
                for k, v in selector.items()
            )
        ]
        if selector and not matches:
            raise InputError(
                "the selector matches no Deployment's pods: the Service would have no endpoints.",
                where=f"{where}: spec.selector",
            )
        for port in spec.get("ports") or []:
            target = port.get("targetPort")
            if isinstance(target, str):
                named = {
                    p.get("name")
                    for d in matches
                    for c in d["spec"]["template"]["spec"]["containers"]
                    for p in c.get("ports") or []
                }
                if target not in named:
                    raise InputError(
                        f"targetPort {target!r} names no container port of the selected pods.",
                        where=f"{where}: spec.ports",
                    )


def validate_manifest(
    doc: Mapping[str, Any],
    docs: Sequence[Mapping[str, Any]] = (),
    version: str = KUBERNETES_VERSION,
) -> str:
    """Validate one manifest against the Kubernetes ``version`` schema (strict), then semantically.

    Returns:
        The schema version it was validated against (e.g. ``"1.35"``).

    Raises:
        InputError: ``where`` names the resource and the field path (``Deployment/orders:
            spec.template.spec.containers.0.ports.0.containerPort``).
    """
    if not isinstance(doc, Mapping) or "kind" not in doc or "apiVersion" not in doc:
        raise InputError(
            "a manifest is a mapping with apiVersion and kind.",
            where=_name(doc),
            hint="Pass the parsed document (a dict), e.g. yaml.safe_load(text), not the text.",
        )
    try:
        checked = kubernetes_validate.validate(dict(doc), version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path) or "(top level)"
        raise InputError(
            exc.message,
            where=f"{_name(doc)}: {path}",
            hint=f"Checked against the Kubernetes {exc.version} schema (strict: unknown fields "
            "are errors).",
        ) from None
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise InputError(
            f"Kubernetes {version} has no {doc['kind']} in {doc['apiVersion']}.",
            where=_name(doc),
            hint="Check the apiVersion (e.g. HorizontalPodAutoscaler is autoscaling/v2).",
        ) from exc
    _semantic(doc, list(docs) or [doc])
    return checked


def validate(docs: Sequence[Mapping[str, Any]], version: str = KUBERNETES_VERSION) -> pd.DataFrame:
    """Validate every manifest; return one row each (kind, name, apiVersion, result).

    The result is ``"valid (schema 1.35)"`` or the error with its field path; nothing is raised.
    """
    rows = []
    for doc in docs:
        try:
            result = f"valid (schema {validate_manifest(doc, docs, version)})"
        except InputError as exc:
            result = f"{exc.where}: {exc.what}" if exc.where else exc.what
        meta = doc.get("metadata") or {}
        rows.append(
            {
                "kind": doc.get("kind"),
                "name": meta.get("name"),
                "apiVersion": doc.get("apiVersion"),
                "result": result,
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# The rolling update
# --------------------------------------------------------------------------------------------


def _scaled(value: Any, replicas: int, round_up: bool, name: str, where: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{name} must be a count or a percentage, got {value!r}.", where=where)
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"{name} must not be negative, got {value}.", where=where)
        return value
    if isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match:
            exact = int(match.group(1)) * replicas / 100
            return math.ceil(exact) if round_up else math.floor(exact)
    raise InputError(
        f"{name} must be a whole number or a percentage such as '25%', got {value!r}.",
        where=where,
    )


def _is_zero(value: Any) -> bool:
    return value == 0 or (isinstance(value, str) and value.strip() in ("0", "0%"))


def resolve_rolling_update(
    replicas: int,
    max_surge: int | str = "25%",
    max_unavailable: int | str = "25%",
    *,
    where: str = "rollingUpdate",
) -> tuple[int, int]:
    """Return ``(surge, unavailable)`` in pods, as the Deployment controller resolves them.

    ``maxSurge`` rounds up, ``maxUnavailable`` rounds down; both set to 0 is invalid; both
    resolving to 0 (a small percentage of few replicas) gives ``maxUnavailable`` 1.

    Examples: 4 replicas at 25%/25% → (1, 1); 10 at 25%/25% → (3, 2); 3 at 0/10% → (0, 1).

    Raises:
        InputError: A bad value, or both literally 0.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise InputError(f"replicas must be a whole number ≥ 0, got {replicas!r}.", where=where)
    surge = _scaled(max_surge, replicas, True, "maxSurge", f"{where}.maxSurge")
    unavailable = _scaled(
        max_unavailable, replicas, False, "maxUnavailable", f"{where}.maxUnavailable"
    )
    if _is_zero(max_surge) and _is_zero(max_unavailable):
        raise InputError(
            "maxSurge and maxUnavailable cannot both be 0: the rollout could neither add a new "
            "pod nor remove an old one.",
            where=where,
            hint="Keep full capacity with maxUnavailable 0 and maxSurge 1 (or 25%).",
        )
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def rolling_update(
    replicas: int,
    max_surge: int | str = "25%",
    max_unavailable: int | str = "25%",
    *,
    ready_minutes: int = 1,
) -> pd.DataFrame:
    """Simulate a Deployment's rolling update from an old ReplicaSet to a new one, per minute.

    Each minute the controller repeats, until nothing changes: scale the new ReplicaSet up as
    far as ``replicas + surge`` allows; scale the old one down as far as keeping ``replicas −
    unavailable`` pods *available* allows (new pods count once ready). A new pod is ready
    ``ready_minutes`` after it is created; old pods stop at once.

    Returns:
        One row per minute until every pod is new and ready: minute, old, new_ready,
        new_starting, total, available, the bounds (max_total, min_available) and what the
        controller did.
    """
    surge, unavailable = resolve_rolling_update(replicas, max_surge, max_unavailable)
    if isinstance(ready_minutes, bool) or not isinstance(ready_minutes, int) or ready_minutes < 1:
        raise InputError(
            f"ready_minutes must be ≥ 1, got {ready_minutes!r}.", where="ready_minutes"
        )
    max_total, min_available = replicas + surge, max(replicas - unavailable, 0)
    old, ready, starting = replicas, 0, []  # starting: minute each new pod becomes ready
    rows = []
    minute = 0
    while True:
        ready += sum(1 for t in starting if t <= minute)
        starting = [t for t in starting if t > minute]
        actions = []
        while True:
            new_total = ready + len(starting)
            up = max(0, min(replicas - new_total, max_total - (old + new_total)))
            if up:
                starting += [minute + ready_minutes] * up
                actions.append(f"new +{up}")
            down = max(0, min(old, old + ready - min_available))
            if down:
                old -= down
                actions.append(f"old -{down}")
            if not up and not down:
                break
        rows.append(
            {
                "minute": minute,
                "old": old,
                "new_ready": ready,
                "new_starting": len(starting),
                "total": old + ready + len(starting),
                "available": old + ready,
                "max_total": max_total,
                "min_available": min_available,
                "controller": ", ".join(actions),
            }
        )
        if old == 0 and ready == replicas and not starting:
            break
        if minute > 10 * (replicas + 1) * ready_minutes:  # pragma: no cover - cannot happen
            raise RuntimeError("the rolling update does not progress")
        minute += 1
    return pd.DataFrame(rows)


def plot_rolling_update(frame: pd.DataFrame, *, title: str = "") -> Any:
    """Return a figure of a :func:`rolling_update`: old, new ready and starting pods per minute."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
    # Repeat the last minute one minute later, so that the final state is drawn too.
    last = frame.iloc[[-1]].assign(minute=frame["minute"].iloc[-1] + 1)
    frame = pd.concat([frame, last], ignore_index=True)
    x = frame["minute"]
    ax.stackplot(
        x,
        frame["old"],
        frame["new_ready"],
        frame["new_starting"],
        labels=["old (available)", "new (ready)", "new (starting)"],
        colors=["tab:gray", "tab:blue", "lightsteelblue"],
        step="post",
    )
    ax.step(x, frame["max_total"], where="post", color="k", ls="--", lw=1, label="replicas + surge")
    ax.step(
        x, frame["min_available"], where="post", color="tab:red", ls=":", lw=1.5,
        label="replicas − unavailable",
    )  # fmt: skip
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("time (min)")
    ax.set_ylabel("pods")
    ax.set_title(title or "Rolling update")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
