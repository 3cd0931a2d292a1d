"""Amazon ECS on Fargate: task sizes, task definitions checked as ECS checks them, an ALB service.

The local emulator stores clusters, task definitions and services but checks almost nothing
(moto 5.2.5, measured): it registers a Fargate task definition with any ``cpu``/``memory`` pair
(``300``/``512``, ``256``/``4096``), fills in ``awsvpc`` when the network mode is missing, takes a
service's ``loadBalancers`` without looking at the target group or the container name, drops
``deploymentConfiguration`` and ``healthCheckGracePeriodSeconds`` on ``CreateService`` (they read
back only after ``UpdateService``), answers HTTP 500 when ``awsvpcConfiguration`` has no
``securityGroups`` key, and never starts a task (``runningCount`` 0, the deployment
``IN_PROGRESS``). So this module checks what ECS checks before anything is registered:

* :func:`validate_task_definition` — the Fargate task sizes (every valid ``cpu``/``memory`` pair,
  8 and 16 vCPU included), ``awsvpc``, Windows sizes, the containers' share of the task's CPU and
  memory, port mappings, and the parameters Fargate does not support. Errors name the field and,
  for a bad size, list the memory values valid for the CPU given.
* :func:`check_load_balancers` — a service's ``loadBalancers`` name a container and port the task
  definition has.

Sources: task sizes — ECS developer guide, "Task CPU and memory" / "Troubleshoot Amazon ECS task
definition invalid CPU or memory errors"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html) and the
``RegisterTaskDefinition`` API reference, whose ``memory`` parameter lists the same table
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html);
Fargate restrictions — "Amazon ECS task definition differences for the Fargate launch type"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html); container
limits and port mappings — ``ContainerDefinition`` in the API reference.

The bookstore's task definition lives in the family ``labs-bookstore`` with a container called
``bookstore`` on port 8080: the same family, container and port as the deployment engine's
(:mod:`labs.deploy.aws_resources`), so that a rolling update run by the engine and its rollback
land in the revisions this module registers. :func:`scoped` gives lab 09 names of its own
(``labs-ecs-…``) for the VPC, load balancer, target groups and cluster the engine creates, so that
lab 04's resources and cleanup are never touched.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import pandas as pd

from labs.errors import InputError
from labs.observability.published import client

__all__ = [
    "CONTAINER",
    "FAMILY",
    "FARGATE_CPU_MEMORY",
    "FARGATE_UNSUPPORTED",
    "PORT",
    "WINDOWS_CPU",
    "ScopedContext",
    "bookstore_task_definition",
    "check_load_balancers",
    "ensure_cluster",
    "ensure_service",
    "fargate_memory_values",
    "fargate_sizes",
    "parse_cpu",
    "parse_memory",
    "register_task_definition",
    "scoped",
    "service_summary",
    "validate_task_definition",
]

FAMILY = "labs-bookstore"
"""Task definition family of the bookstore: the deployment engine's."""
CONTAINER = "bookstore"
"""The bookstore's container name in its task definition."""
PORT = 8080
"""The port the bookstore listens on."""


def _steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


FARGATE_CPU_MEMORY: Mapping[int, tuple[int, ...]] = MappingProxyType(
    {
        256: (512, 1024, 2048),
        512: (1024, 2048, 3072, 4096),
        1024: _steps(2048, 8192, 1024),
        2048: _steps(4096, 16384, 1024),
        4096: _steps(8192, 30720, 1024),
        8192: _steps(16384, 61440, 4096),  # 16-60 GB in 4 GB steps; Linux platform 1.4.0 or later
        16384: _steps(32768, 122880, 8192),  # 32-120 GB in 8 GB steps; Linux platform 1.4.0+
    }
)
"""Fargate task sizes: CPU units → the memory values (MiB) valid with them (ECS developer guide)."""

WINDOWS_CPU = (1024, 2048, 4096)
"""Task CPU values Fargate offers Windows containers (1 vCPU at least; 8 and 16 are Linux only)."""

_RANGES = {
    256: "512 MiB, 1 GB or 2 GB",
    512: "1 to 4 GB in 1 GB steps",
    1024: "2 to 8 GB in 1 GB steps",
    2048: "4 to 16 GB in 1 GB steps",
    4096: "8 to 30 GB in 1 GB steps",
    8192: "16 to 60 GB in 4 GB steps",
    16384: "32 to 120 GB in 8 GB steps",
}

FARGATE_UNSUPPORTED = {
    "task": ("ipcMode", "pidMode", "placementConstraints", "inferenceAccelerators"),
    "container": (
        "disableNetworking",
        "dnsSearchDomains",
        "dnsServers",
        "dockerSecurityOptions",
        "extraHosts",
        "hostname",
        "links",
        "privileged",
    ),
}
"""Task and container definition parameters that are not valid in Fargate tasks (developer guide,
"Task definition considerations" for Fargate)."""


# --------------------------------------------------------------------------------------------
# Task sizes
# --------------------------------------------------------------------------------------------


def fargate_memory_values(cpu: int | str) -> tuple[int, ...]:
    """Return the memory values (MiB) Fargate accepts with ``cpu`` (units or ``"1 vCPU"``).

    Raises:
        InputError: ``cpu`` is not a Fargate task size.
    """
    units = parse_cpu(cpu)
    if units not in FARGATE_CPU_MEMORY:
        raise InputError(
            f"cpu {units} is not a Fargate task size.",
            where="cpu",
            hint=f"Use one of {', '.join(map(str, FARGATE_CPU_MEMORY))} CPU units "
            "(1024 units = 1 vCPU).",
        )
    return FARGATE_CPU_MEMORY[units]


def fargate_sizes() -> pd.DataFrame:
    """Return Fargate's task size table: one row per CPU value, its memory values and systems."""
    rows = []
    for cpu, memory in FARGATE_CPU_MEMORY.items():
        rows.append(
            {
                "cpu (units)": cpu,
                "vCPU": cpu / 1024,
                "memory": _RANGES[cpu],
                "memory values (MiB)": f"{memory[0]} … {memory[-1]}"
                if len(memory) > 4
                else ", ".join(map(str, memory)),
                "choices": len(memory),
                "operating systems": "Linux, Windows" if cpu in WINDOWS_CPU else "Linux",
                "note": "Linux platform 1.4.0 or later" if cpu >= 8192 else "",
            }
        )
    return pd.DataFrame(rows)


_VCPU = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*gb\s*$", re.IGNORECASE)


def parse_cpu(value: Any, where: str = "cpu") -> int:
    """Return CPU units from ``1024``, ``"1024"`` or ``"1 vCPU"``, as ECS converts them.

    The ``RegisterTaskDefinition`` reference: the task's ``cpu`` "can be expressed as an integer
    using CPU units (for example, 1024) or as a string using vCPUs (for example, 1 vCPU or 1
    vcpu)"; strings are converted to CPU units when the task definition is registered.
    """
    if isinstance(value, bool):
        raise InputError(f"{where} must be CPU units or 'N vCPU', got {value!r}.", where=where)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _VCPU.match(text)
        if match:
            return round(float(match.group(1)) * 1024)
    raise InputError(
        f"{where} must be CPU units (e.g. '256') or vCPUs (e.g. '0.25 vCPU'), got {value!r}.",
        where=where,
        hint="1024 CPU units are 1 vCPU.",
    )


def parse_memory(value: Any, where: str = "memory") -> int:
    """Return MiB from ``512``, ``"512"`` or ``"2 GB"``, as ECS converts them."""
    if isinstance(value, bool):
        raise InputError(f"{where} must be MiB or 'N GB', got {value!r}.", where=where)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        match = _GB.match(text)
        if match:
            return round(float(match.group(1)) * 1024)
    raise InputError(
        f"{where} must be MiB (e.g. '512') or GB (e.g. '2 GB'), got {value!r}.",
        where=where,
        hint="1 GB is 1024 MiB here, as in ECS.",
    )


def _memory_list(cpu: int) -> str:
    return ", ".join(map(str, FARGATE_CPU_MEMORY[cpu]))


# --------------------------------------------------------------------------------------------
# Task definitions
# --------------------------------------------------------------------------------------------


def _require(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise InputError(f"{key} is required.", where=where)
    return mapping[key]


def _is_windows(definition: Mapping[str, Any]) -> bool:
    family = str((definition.get("runtimePlatform") or {}).get("operatingSystemFamily", ""))
    return family.upper().startswith("WINDOWS")


def _validate_containers(
    containers: Any, *, fargate: bool, network_mode: str, cpu: int | None, memory: int | None
) -> None:
    if not isinstance(containers, list) or not containers:
        raise InputError(
            "a task definition needs at least one container definition.",
            where="containerDefinitions",
        )
    names: set[str] = set()
    reserved_cpu = reserved_memory = 0
    for i, container in enumerate(containers):
        where = f"containerDefinitions[{i}]"
        if not isinstance(container, Mapping):
            raise InputError("a container definition is a mapping.", where=where)
        name = str(_require(container, "name", f"{where}.name"))
        if name in names:
            raise InputError(f"two containers are called {name!r}.", where=f"{where}.name")
        names.add(name)
        _require(container, "image", f"{where}.image")
        if fargate:
            for key in FARGATE_UNSUPPORTED["container"]:
                if container.get(key):
                    raise InputError(
                        f"{key} is not valid in a Fargate task.",
                        where=f"{where}.{key}",
                        hint="Remove it: Fargate does not support it.",
                    )
        c_cpu = container.get("cpu")
        if c_cpu is not None:
            reserved_cpu += parse_cpu(c_cpu, f"{where}.cpu")
        hard = container.get("memory")
        soft = container.get("memoryReservation")
        hard_mib = parse_memory(hard, f"{where}.memory") if hard is not None else None
        soft_mib = parse_memory(soft, f"{where}.memoryReservation") if soft is not None else None
        if hard_mib is not None and soft_mib is not None and hard_mib <= soft_mib:
            raise InputError(
                f"memory ({hard_mib} MiB) must be greater than memoryReservation ({soft_mib} MiB).",
                where=f"{where}.memory",
            )
        if memory is not None and hard_mib is not None and hard_mib > memory:
            raise InputError(
                f"the container's memory limit ({hard_mib} MiB) exceeds the task's memory "
                f"({memory} MiB).",
                where=f"{where}.memory",
                hint="Lower the container's memory or raise the task's.",
            )
        if memory is None and hard_mib is None and soft_mib is None:
            raise InputError(
                "without a task-level memory, every container needs memory or memoryReservation.",
                where=f"{where}.memory",
            )
        reserved_memory += soft_mib if soft_mib is not None else (hard_mib or 0)
        environment = container.get("environment")
        if environment is not None and (
            not isinstance(environment, list)
            or not all(isinstance(e, Mapping) and "name" in e for e in environment)
        ):
            raise InputError(
                f"environment must be a list of {{'name': ..., 'value': ...}} pairs, got "
                f"{type(environment).__name__}.",
                where=f"{where}.environment",
                hint="e.g. [{'name': 'BOOKSTORE_VERSION', 'value': 'v1'}].",
            )
        for j, mapping in enumerate(container.get("portMappings") or []):
            here = f"{where}.portMappings[{j}]"
            if not isinstance(mapping, Mapping):
                raise InputError("a port mapping is a mapping.", where=here)
            port = _require(mapping, "containerPort", f"{here}.containerPort")
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise InputError(
                    f"containerPort must be a port number (an integer from 1 to 65535), got "
                    f"{port!r}.",
                    where=f"{here}.containerPort",
                    hint="e.g. 'containerPort': 8080 (a number, not a string).",
                )
            host = mapping.get("hostPort")
            if network_mode in ("awsvpc", "host") and host not in (None, port):
                raise InputError(
                    f"with network mode {network_mode}, hostPort must be blank or equal to "
                    f"containerPort ({port}), got {host}.",
                    where=f"{here}.hostPort",
                    hint="Leave hostPort out.",
                )
    if not any(c.get("essential", True) for c in containers):
        raise InputError(
            "every task needs at least one essential container.",
            where="containerDefinitions[*].essential",
            hint="Leave essential out (it defaults to true) on the main container.",
        )
    if cpu is not None and reserved_cpu > cpu:
        raise InputError(
            f"the containers reserve {reserved_cpu} CPU units, more than the task's {cpu}.",
            where="containerDefinitions[*].cpu",
            hint="The containers' cpu values must add up to at most the task's cpu.",
        )
    if memory is not None and reserved_memory > memory:
        raise InputError(
            f"the containers reserve {reserved_memory} MiB, more than the task's {memory} MiB.",
            where="containerDefinitions[*].memory",
            hint="memoryReservation (or memory) of all containers must add up to at most the "
            "task's memory.",
        )


def validate_task_definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Check a ``RegisterTaskDefinition`` request as ECS would; return it normalised.

    For a task definition whose ``requiresCompatibilities`` includes ``FARGATE``: the network
    mode is ``awsvpc``; ``cpu`` and ``memory`` are given and form a Fargate task size
    (:data:`FARGATE_CPU_MEMORY`); a Windows task uses 1, 2 or 4 vCPU; no unsupported parameter
    is set. For every task definition: a family; containers with unique names and an image, at
    least one essential; the containers' ``cpu`` and ``memoryReservation`` (or ``memory``) add
    up to no more than the task's; a container's ``memory`` is not above the task's and is
    greater than its ``memoryReservation``; with ``awsvpc`` or ``host``, a ``hostPort`` is blank
    or equal to the ``containerPort``.

    Returns:
        A copy with ``cpu`` and ``memory`` as ECS stores them: strings of CPU units and MiB
        (``"0.25 vCPU"`` → ``"256"``, ``"1 GB"`` → ``"1024"``).

    Raises:
        InputError: Naming the field (``where``) and what to use instead; for a task size that
            does not exist, the hint lists every memory value valid with the CPU given.
    """
    if not isinstance(definition, Mapping):
        raise InputError(
            f"a task definition is a mapping (dict), got {type(definition).__name__}.",
            where="task definition",
        )
    result = copy.deepcopy(dict(definition))
    family = str(_require(result, "family", "family"))
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,255}", family):
        raise InputError(
            f"family {family!r} may only hold letters, digits, hyphens and underscores (up to "
            "255).",
            where="family",
        )
    compat = [str(c).upper() for c in result.get("requiresCompatibilities") or []]
    fargate = "FARGATE" in compat
    network_mode = str(result.get("networkMode") or ("awsvpc" if fargate else "bridge"))
    cpu = memory = None
    if fargate:
        if result.get("networkMode") != "awsvpc":
            raise InputError(
                f"Fargate tasks need network mode awsvpc, got {result.get('networkMode')!r}.",
                where="networkMode",
                hint="Set networkMode='awsvpc'.",
            )
        for key in FARGATE_UNSUPPORTED["task"]:
            if result.get(key):
                raise InputError(f"{key} is not valid in a Fargate task.", where=key)
        cpu = parse_cpu(_require(result, "cpu", "cpu"))
        memory = parse_memory(_require(result, "memory", "memory"))
        if cpu not in FARGATE_CPU_MEMORY:
            raise InputError(
                f"cpu {cpu} is not a Fargate task size.",
                where="cpu",
                hint=f"Use one of {', '.join(map(str, FARGATE_CPU_MEMORY))} CPU units "
                "(1024 units = 1 vCPU).",
            )
        if memory not in FARGATE_CPU_MEMORY[cpu]:
            raise InputError(
                f"memory {memory} MiB is not valid with cpu {cpu} ({cpu / 1024:g} vCPU) on "
                "Fargate.",
                where="memory",
                hint=f"With cpu {cpu} use {_RANGES[cpu]}, in MiB one of: {_memory_list(cpu)}.",
            )
        if _is_windows(result) and cpu not in WINDOWS_CPU:
            raise InputError(
                f"Windows containers on Fargate need cpu 1024, 2048 or 4096, got {cpu}.",
                where="cpu",
                hint="Windows tasks use 1, 2 or 4 vCPU; 8 and 16 vCPU are Linux only.",
            )
    else:
        if result.get("cpu") is not None:
            cpu = parse_cpu(result["cpu"])
        if result.get("memory") is not None:
            memory = parse_memory(result["memory"])
    _validate_containers(
        result.get("containerDefinitions"),
        fargate=fargate,
        network_mode=network_mode,
        cpu=cpu,
        memory=memory,
    )
    if cpu is not None:
        result["cpu"] = str(cpu)
    if memory is not None:
        result["memory"] = str(memory)
    return result


def bookstore_task_definition(
    version: str = "v1",
    *,
    cpu: int | str = "256",
    memory: int | str = "512",
    image: str | None = None,
    family: str = FAMILY,
) -> dict[str, Any]:
    """Return the bookstore's Fargate task definition for ``version`` (not validated yet).

    One essential container ``bookstore`` on port 8080 with a health check on ``/health``,
    ``BOOKSTORE_VERSION`` set (the fault switch reads it) and the image ``bookstore:<version>``
    unless ``image`` names another (an ECR URI).
    """
    return {
        "family": family,
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": str(cpu),
        "memory": str(memory),
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
        "containerDefinitions": [
            {
                "name": CONTAINER,
                "image": image or f"bookstore:{version}",
                "essential": True,
                "portMappings": [{"containerPort": PORT, "protocol": "tcp"}],
                "environment": [{"name": "BOOKSTORE_VERSION", "value": version}],
                "healthCheck": {
                    "command": [
                        "CMD",
                        "python",
                        "-c",
                        "import urllib.request as r; r.urlopen('http://127.0.0.1:8080/health')",
                    ],
                    "interval": 30,
                    "timeout": 5,
                    "retries": 3,
                    "startPeriod": 10,
                },
            }
        ],
    }


_COMPARED = (
    "requiresCompatibilities",
    "networkMode",
    "cpu",
    "memory",
    "containerDefinitions",
    "runtimePlatform",
)


def _same(stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    for key in _COMPARED:
        if key not in wanted:
            continue
        if key == "containerDefinitions":
            have = stored.get(key) or []
            if len(have) != len(wanted[key]):
                return False
            for got, want in zip(have, wanted[key], strict=True):
                if any(got.get(k) != v for k, v in want.items()):
                    return False
        elif stored.get(key) != wanted[key]:
            return False
    return True


def register_task_definition(ctx: Any, definition: Mapping[str, Any], *, lab: str) -> str:
    """Validate ``definition`` and register it; reuse the latest revision when it is identical.

    A task definition revision is immutable and every ``RegisterTaskDefinition`` makes a new
    one, so re-running a notebook would pile up revisions: when an ACTIVE revision of the family
    already holds the same settings, the newest such revision's ARN is returned instead.

    Returns:
        The task definition ARN (``…:task-definition/<family>:<revision>``).
    """
    checked = validate_task_definition(definition)
    ecs = client(ctx, "ecs")
    family = checked["family"]
    newest = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC")
    for arn in newest.get("taskDefinitionArns", []):
        if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] != family:
            continue  # familyPrefix is a prefix: labs-bookstore also matches labs-bookstore-x
        stored = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        if _same(stored, checked):
            return arn
    tags = ctx.tags(lab=lab).as_list("key", "value")
    return ecs.register_task_definition(**checked, tags=tags)["taskDefinition"]["taskDefinitionArn"]


# --------------------------------------------------------------------------------------------
# Names of lab 09's own, cluster and service
# --------------------------------------------------------------------------------------------


class ScopedContext:
    """A workshop context whose resource names carry a scope: ``ctx.name("x")`` → ``labs-ecs-x``.

    Everything else (clients, tags, target) is the wrapped context's. Lab 09 passes one to
    :mod:`labs.deploy.aws_resources` and the deployment engine, which name the VPC, load
    balancer, target groups and cluster with ``ctx.name("bookstore…")``: with the scope they
    become ``labs-ecs-bookstore…`` and never meet lab 04's ``labs-bookstore…``.
    """

    def __init__(self, ctx: Any, scope: str) -> None:
        """Wrap ``ctx``; ``scope`` goes between ``labs-`` and the base name."""
        if not re.fullmatch(r"[a-z0-9]+", scope):
            raise InputError(f"a scope is lowercase letters and digits, got {scope!r}.")
        self._ctx, self.scope = ctx, scope

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def name(self, base: str, *, globally_unique: bool = False) -> str:
        """Return ``labs-<scope>-<base>`` (see :meth:`labs.env.Workshop.name`)."""
        return self._ctx.name(f"{self.scope}-{base}", globally_unique=globally_unique)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, ScopedContext)
            and other._ctx == self._ctx
            and other.scope == self.scope
        )

    def __hash__(self) -> int:
        return hash((self._ctx, self.scope))

    def __repr__(self) -> str:
        return f"ScopedContext({self._ctx!r}, scope={self.scope!r})"


def scoped(ctx: Any, scope: str = "ecs") -> ScopedContext:
    """Return ``ctx`` with names of their own: ``labs-<scope>-…`` (see :class:`ScopedContext`)."""
    return ScopedContext(ctx, scope)


def ensure_cluster(ctx: Any, name: str, *, lab: str) -> str:
    """Return the ARN of the ECS cluster ``name``, creating it (tagged) unless it is ACTIVE."""
    ecs = client(ctx, "ecs")
    found = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    if found and found[0]["status"] == "ACTIVE":
        return found[0]["clusterArn"]
    tags = ctx.tags(lab=lab).as_list("key", "value")
    return ecs.create_cluster(clusterName=name, tags=tags)["cluster"]["clusterArn"]


def check_load_balancers(
    definition: Mapping[str, Any], load_balancers: Sequence[Mapping[str, Any]]
) -> None:
    """Refuse ``loadBalancers`` whose container or port the task definition does not have.

    ECS refuses such a service ("The container … does not exist in the task definition"); the
    emulator stores it.
    """
    ports = {
        c["name"]: {m.get("containerPort") for m in c.get("portMappings") or []}
        for c in definition.get("containerDefinitions", [])
    }
    for i, lb in enumerate(load_balancers):
        where = f"loadBalancers[{i}]"
        name, port = lb.get("containerName"), lb.get("containerPort")
        if name not in ports:
            raise InputError(
                f"container {name!r} is not in the task definition.",
                where=f"{where}.containerName",
                hint=f"Containers: {', '.join(sorted(ports))}.",
            )
        if port not in ports[name]:
            raise InputError(
                f"container {name!r} maps no port {port}.",
                where=f"{where}.containerPort",
                hint=f"Its ports: {', '.join(map(str, sorted(p for p in ports[name] if p)))}.",
            )
        if not lb.get("targetGroupArn"):
            raise InputError("an ALB needs a targetGroupArn.", where=f"{where}.targetGroupArn")


def ensure_service(
    ctx: Any,
    *,
    cluster: str,
    service: str,
    task_definition: str,
    subnets: Sequence[str],
    target_group_arn: str,
    desired_count: int = 6,
    deployment_configuration: Mapping[str, Any] | None = None,
    lab: str,
) -> dict[str, Any]:
    """Return the Fargate service ``service`` behind the target group, creating it once.

    The service uses the ECS deployment controller (rolling updates), ``awsvpc`` networking in
    ``subnets``, and registers its tasks' ``bookstore:8080`` in the target group. Its
    ``deploymentConfiguration`` is set with ``UpdateService`` too, because the emulator drops it
    on ``CreateService``.
    """
    ecs = client(ctx, "ecs")
    definition = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    load_balancers = [
        {"targetGroupArn": target_group_arn, "containerName": CONTAINER, "containerPort": PORT}
    ]
    check_load_balancers(definition, load_balancers)
    config = dict(deployment_configuration or {})
    existing = ecs.describe_services(cluster=cluster, services=[service])["services"]
    if not existing or existing[0]["status"] != "ACTIVE":
        ecs.create_service(
            cluster=cluster,
            serviceName=service,
            taskDefinition=task_definition,
            desiredCount=desired_count,
            launchType="FARGATE",
            deploymentController={"type": "ECS"},
            loadBalancers=load_balancers,
            healthCheckGracePeriodSeconds=60,
            # The emulator answers HTTP 500 without a securityGroups key; on AWS an empty list
            # means the VPC's default security group.
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": list(subnets),
                    "securityGroups": [],
                    "assignPublicIp": "DISABLED",
                }
            },
            deploymentConfiguration=config,
            tags=ctx.tags(lab=lab).as_list("key", "value"),
        )
    if config:
        ecs.update_service(cluster=cluster, service=service, deploymentConfiguration=config)
    return ecs.describe_services(cluster=cluster, services=[service], include=["TAGS"])["services"][
        0
    ]


def service_summary(ctx: Any, cluster: str, service: str) -> dict[str, Any]:
    """Return what the service reads back: counts, task definition family and image, settings."""
    ecs = client(ctx, "ecs")
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])[
        "taskDefinition"
    ]
    lbs = svc.get("loadBalancers") or [{}]
    return {
        "service": svc["serviceName"],
        "status": svc["status"],
        "launch type": svc.get("launchType"),
        "desired": svc.get("desiredCount"),
        "running": svc.get("runningCount"),
        "pending": svc.get("pendingCount"),
        "task definition family": definition["family"],
        "task size": f"{definition.get('cpu')} CPU units / {definition.get('memory')} MiB",
        "image": definition["containerDefinitions"][0]["image"],
        "target group": [*str(lbs[0].get("targetGroupArn", "")).split("/"), "", ""][1],
        "container": f"{lbs[0].get('containerName')}:{lbs[0].get('containerPort')}",
        "deploymentConfiguration": svc.get("deploymentConfiguration", "(none stored)"),
    }
