"""AWS App Runner's model, checked offline against botocore's service model, and ECS Express Mode.

**Status** (FACTS.md): App Runner is closed to new customers from **2026-04-30**; existing
customers keep using it, "including creating new resources and services", and AWS "doesn't plan
to introduce new features"; AWS recommends Amazon ECS Express Mode to new users (App Runner
developer guide, "AWS App Runner availability change",
https://docs.aws.amazon.com/apprunner/latest/dg/apprunner-availability-change.html).

**The emulator has no App Runner** (every call answers HTTP 500) and no ECS Express Mode either
(``CreateExpressGatewayService`` answers HTTP 500). So a request is checked the way the SDK and
the service would check it, offline, against the API model botocore ships:

1. botocore's own ``ParamValidator`` on the operation's input shape — required members, types,
   minimum lengths and values (what boto3 checks before sending anything);
2. the constraints the same model states but ``ParamValidator`` does not enforce — maximum
   lengths and values, ``pattern`` and ``enum`` (:func:`problems` walks the shape for them);
3. a few documented rules that are not in the model: an image source or a code source, not both;
   a private ECR image needs an access role; App Runner's CPU/memory pairs.

The service model in brief (App Runner developer guide): a *source* (a container image in ECR or
ECR Public, or a source code repository through a connection) becomes a *service* with an HTTPS
URL; a code-based service is built and started from ``apprunner.yaml`` in the repository
(``version``, ``runtime``, ``build.commands``, ``run.command``, ``run.network.port``,
``run.env``: "App Runner configuration file reference",
https://docs.aws.amazon.com/apprunner/latest/dg/config-file-ref.html); auto scaling is set by an
*AutoScalingConfiguration* — ``MaxConcurrency`` (concurrent requests per instance before it
scales up, default 100), ``MinSize`` (provisioned instances, default 1) and ``MaxSize`` (default
25) ("Managing App Runner automatic scaling",
https://docs.aws.amazon.com/apprunner/latest/dg/manage-autoscaling.html).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import yaml
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.session import get_session
from botocore.validate import ParamValidator

from labs.errors import InputError

__all__ = [
    "APPRUNNER_CPU_MEMORY",
    "CLOSED_TO_NEW_CUSTOMERS",
    "EXPRESS_MODE_RESOURCES",
    "apprunner_yaml",
    "auto_scaling_request",
    "create_service_request",
    "express_mode_request",
    "instances_needed",
    "parse_apprunner_yaml",
    "problems",
    "side_by_side",
    "status",
    "validate_request",
]

CLOSED_TO_NEW_CUSTOMERS = date(2026, 4, 30)
"""App Runner is not open to new customers from this day (existing customers are unaffected)."""

APPRUNNER_CPU_MEMORY = {
    "0.25 vCPU": ("0.5 GB", "1 GB"),
    "0.5 vCPU": ("1 GB",),
    "1 vCPU": ("2 GB", "3 GB", "4 GB"),
    "2 vCPU": ("4 GB", "6 GB"),
    "4 vCPU": ("8 GB", "10 GB", "12 GB"),
}
"""App Runner instance sizes: CPU → memory values (the CDK's App Runner ``Memory`` class documents
each memory value with the CPUs it goes with; the API model allows each value on its own)."""

EXPRESS_MODE_RESOURCES = (
    "the default ECS cluster (if missing) with Fargate capacity providers",
    "a task definition with container, logging and networking settings",
    "a service with canary deployment and auto scaling",
    "an Application Load Balancer with an HTTPS listener, listener rules and target groups",
    "security groups with minimal ingress",
    "service-linked roles for auto scaling and load balancing",
    "an Application Auto Scaling scalable target and a target tracking scaling policy",
)
"""What an ECS Express Mode service creates (ECS developer guide, "Resources created by Amazon ECS
Express Mode services",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/express-service-work.html)."""

_CPU_UNITS = {"256": "0.25 vCPU", "512": "0.5 vCPU", "1024": "1 vCPU", "2048": "2 vCPU",
              "4096": "4 vCPU"}  # fmt: skip
_MEMORY_MB = {"512": "0.5 GB", "1024": "1 GB", "2048": "2 GB", "3072": "3 GB", "4096": "4 GB",
              "6144": "6 GB", "8192": "8 GB", "10240": "10 GB", "12288": "12 GB"}  # fmt: skip


def status(today: date | None = None) -> str:
    """Return App Runner's availability on ``today`` (default: the day it closed), one sentence."""
    day = today or CLOSED_TO_NEW_CUSTOMERS
    if day < CLOSED_TO_NEW_CUSTOMERS:
        return (
            f"App Runner is open to new customers until {CLOSED_TO_NEW_CUSTOMERS.isoformat()}; "
            "sign up before then to use it."
        )
    return (
        f"App Runner is closed to new customers since {CLOSED_TO_NEW_CUSTOMERS.isoformat()}: "
        "existing customers keep using it (new services included), new users are pointed to "
        "Amazon ECS Express Mode."
    )


# --------------------------------------------------------------------------------------------
# Checking a request against the service model
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _model(service: str) -> ServiceModel:
    try:
        return get_session().get_service_model(service)
    except Exception as exc:  # botocore's UnknownServiceError
        raise InputError(f"botocore has no service model called {service!r}.") from exc


def _operation(service: str, operation: str) -> OperationModel:
    model = _model(service)
    if operation not in model.operation_names:
        raise InputError(
            f"{service} has no operation {operation!r}.",
            where="operation",
            hint=f"e.g. {', '.join(sorted(model.operation_names)[:5])}, …",
        )
    return model.operation_model(operation)


def _row(field: str, problem: str, by: str) -> dict[str, str]:
    return {"field": field, "problem": problem, "checked by": by}


def _constraints(shape: Shape, value: Any, path: str, out: list[dict[str, str]]) -> None:
    """Collect what the model states and ParamValidator leaves unchecked: max, pattern, enum."""
    meta = shape.metadata
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        for name, member in shape.members.items():
            if name in value:
                _constraints(member, value[name], f"{path}.{name}" if path else name, out)
    elif kind == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            out.append(_row(path, f"at most {meta['max']} items, got {len(value)}", "model (max)"))
        for i, item in enumerate(value):
            _constraints(shape.member, item, f"{path}[{i}]", out)
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            _constraints(shape.value, item, f"{path}.{key}", out)
    elif kind == "string" and isinstance(value, str):
        enum = getattr(shape, "enum", None)
        if enum and value not in enum:
            out.append(_row(path, f"{value!r} is not one of {', '.join(enum)}", "model (enum)"))
        if "max" in meta and len(value) > meta["max"]:
            out.append(_row(path, f"longer than {meta['max']} characters", "model (max)"))
        pattern = meta.get("pattern")
        if pattern and not re.fullmatch(pattern, value, flags=re.DOTALL):
            out.append(_row(path, f"{value!r} does not match {pattern}", "model (pattern)"))
    elif (
        kind in ("integer", "long")
        and isinstance(value, int)
        and not isinstance(value, bool)
        and "max" in meta
        and value > meta["max"]
    ):
        out.append(_row(path, f"{value} is above the maximum {meta['max']}", "model (max)"))


def _rules(service: str, operation: str, request: Mapping[str, Any]) -> list[dict[str, str]]:
    """Documented rules that the model does not state."""
    out: list[dict[str, str]] = []
    if (service, operation) != ("apprunner", "CreateService"):
        return out
    source = request.get("SourceConfiguration") or {}
    if isinstance(source, Mapping):
        kinds = [k for k in ("ImageRepository", "CodeRepository") if k in source]
        if len(kinds) != 1:
            out.append(
                _row(
                    "SourceConfiguration",
                    "give exactly one source: ImageRepository or CodeRepository",
                    "App Runner rule",
                )
            )
        auth = source.get("AuthenticationConfiguration") or {}
        image = source.get("ImageRepository") or {}
        if image.get("ImageRepositoryType") == "ECR" and not auth.get("AccessRoleArn"):
            out.append(
                _row(
                    "SourceConfiguration.AuthenticationConfiguration.AccessRoleArn",
                    "a private ECR image needs an access role App Runner assumes to pull it",
                    "App Runner rule",
                )
            )
        if "CodeRepository" in source and not auth.get("ConnectionArn"):
            out.append(
                _row(
                    "SourceConfiguration.AuthenticationConfiguration.ConnectionArn",
                    "a code repository needs a connection (GitHub or Bitbucket)",
                    "App Runner rule",
                )
            )
    instance = request.get("InstanceConfiguration") or {}
    if isinstance(instance, Mapping) and "Cpu" in instance and "Memory" in instance:
        cpu = _CPU_UNITS.get(str(instance["Cpu"]), str(instance["Cpu"]))
        memory = _MEMORY_MB.get(str(instance["Memory"]), str(instance["Memory"]))
        allowed = APPRUNNER_CPU_MEMORY.get(cpu)
        if allowed is not None and memory not in allowed:
            out.append(
                _row(
                    "InstanceConfiguration.Memory",
                    f"{memory} does not go with {cpu} (use {' or '.join(allowed)})",
                    "App Runner rule",
                )
            )
    return out


def problems(
    request: Mapping[str, Any], operation: str = "CreateService", service: str = "apprunner"
) -> pd.DataFrame:
    """Return every problem of ``request`` for ``service``'s ``operation``, one row each.

    Columns: field, problem, checked by (``botocore ParamValidator``, ``model (pattern)``,
    ``model (enum)``, ``model (max)``, ``App Runner rule``). Empty when the request is valid.
    """
    shape = _operation(service, operation).input_shape
    rows: list[dict[str, str]] = []
    report = ParamValidator().validate(dict(request), shape)
    errors = getattr(report, "_errors", None)  # botocore keeps them structured; private
    if errors is None and report.has_errors():  # pragma: no cover - a future botocore
        errors = [("other", "", line) for line in report.generate_report().splitlines()]
    for kind, name, details in errors or []:
        field = name.lstrip(".")
        if kind == "missing required field":
            text = f"required member {details['required_name']} is missing"
            field = f"{field}.{details['required_name']}" if field else details["required_name"]
        elif kind == "unknown field":
            text = f"unknown parameter {details['unknown_param']}"
            field = f"{field}.{details['unknown_param']}" if field else details["unknown_param"]
        elif kind == "invalid type":
            names = ", ".join(getattr(t, "__name__", str(t)) for t in details["valid_types"])
            text = f"{details['param']!r} has type {type(details['param']).__name__}, not {names}"
        elif kind == "invalid length":
            text = f"shorter than {details['min_allowed']}"
        elif kind == "invalid range":
            text = f"{details['param']} is below the minimum {details['min_allowed']}"
        else:  # pragma: no cover - other botocore kinds
            text = f"{kind}: {details}"
        rows.append({"field": field, "problem": text, "checked by": "botocore ParamValidator"})
    _constraints(shape, request, "", rows)
    rows += _rules(service, operation, request)
    return pd.DataFrame(rows, columns=["field", "problem", "checked by"])


def validate_request(
    request: Mapping[str, Any], operation: str = "CreateService", service: str = "apprunner"
) -> Mapping[str, Any]:
    """Return ``request`` when :func:`problems` finds none; raise for the first one otherwise.

    Raises:
        InputError: ``where`` is the field; the hint counts the other problems.
    """
    found = problems(request, operation, service)
    if found.empty:
        return request
    first = found.iloc[0]
    more = len(found) - 1
    raise InputError(
        f"{first['problem']} ({first['checked by']}).",
        where=f"{service} {operation}: {first['field']}",
        hint=(f"{more} more problem(s): call problems(...) to list them all." if more else None),
    )


# --------------------------------------------------------------------------------------------
# Requests and the configuration file
# --------------------------------------------------------------------------------------------


def create_service_request(
    name: str,
    image_uri: str,
    *,
    access_role_arn: str,
    cpu: str = "0.25 vCPU",
    memory: str = "0.5 GB",
    port: int = 8080,
    version: str = "v1",
    auto_scaling_configuration_arn: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return an App Runner ``CreateService`` request for an image in private ECR (not checked)."""
    request: dict[str, Any] = {
        "ServiceName": name,
        "SourceConfiguration": {
            "ImageRepository": {
                "ImageIdentifier": image_uri,
                "ImageRepositoryType": "ECR",
                "ImageConfiguration": {
                    "Port": str(port),
                    "RuntimeEnvironmentVariables": {"BOOKSTORE_VERSION": version},
                    "StartCommand": f"python -m bookstore --service combined --host 0.0.0.0 "
                    f"--port {port}",
                },
            },
            "AutoDeploymentsEnabled": True,
            "AuthenticationConfiguration": {"AccessRoleArn": access_role_arn},
        },
        "InstanceConfiguration": {"Cpu": cpu, "Memory": memory},
        "HealthCheckConfiguration": {
            "Protocol": "HTTP",
            "Path": "/health",
            "Interval": 10,
            "Timeout": 5,
            "HealthyThreshold": 1,
            "UnhealthyThreshold": 5,
        },
    }
    if auto_scaling_configuration_arn:
        request["AutoScalingConfigurationArn"] = auto_scaling_configuration_arn
    if tags:
        request["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return request


def auto_scaling_request(
    name: str, *, max_concurrency: int = 100, min_size: int = 1, max_size: int = 25
) -> dict[str, Any]:
    """Return a ``CreateAutoScalingConfiguration`` request (defaults: App Runner's own)."""
    return {
        "AutoScalingConfigurationName": name,
        "MaxConcurrency": max_concurrency,
        "MinSize": min_size,
        "MaxSize": max_size,
    }


def instances_needed(
    load_rps: Any,
    latency_ms: float,
    *,
    max_concurrency: int = 100,
    min_size: int = 1,
    max_size: int = 25,
) -> np.ndarray:
    """Return the instances App Runner's concurrency rule asks for, for each load value.

    Concurrent requests by Little's law (arrival rate × time in the system,
    ``load_rps × latency``), divided by ``MaxConcurrency`` and rounded up, within
    ``[MinSize, MaxSize]``. How fast App Runner follows is not documented: this is what the rule
    asks for, not a simulation of its scaling delays.
    """
    concurrency = np.asarray(load_rps, dtype=float) * latency_ms / 1000.0
    return np.clip(np.ceil(concurrency / max_concurrency), min_size, max_size).astype(int)


_APPRUNNER_KEYS = {
    "": {"version", "runtime", "build", "run"},
    "build": {"commands", "env"},
    "build.commands": {"pre-build", "build", "post-build"},
    "run": {"runtime-version", "command", "pre-run", "network", "env", "secrets"},
    "run.network": {"port", "env"},
}


def apprunner_yaml(*, port: int = 8080, version: str = "v1") -> str:
    """Return the bookstore's ``apprunner.yaml`` for a source-code service on Python 3.11."""
    return (
        "version: 1.0\n"
        "runtime: python311\n"
        "build:\n"
        "  commands:\n"
        "    build:\n"
        "      - python -m pip install --no-cache-dir pytest==9.2.0\n"
        "      - python -m pytest -q tests\n"
        "run:\n"
        f"  command: python -m bookstore --service combined --host 0.0.0.0 --port {port}\n"
        "  network:\n"
        f"    port: {port}\n"
        "  env:\n"
        "    - name: BOOKSTORE_VERSION\n"
        f'      value: "{version}"\n'
    )


def parse_apprunner_yaml(text: str) -> dict[str, Any]:
    """Parse an ``apprunner.yaml`` and check it against the configuration file reference.

    Required: ``version``, ``runtime``, ``build.commands.build``, ``run.command``; no unknown key
    in the sections; ``env`` entries are ``name``/``value`` pairs; a port is a number.

    Raises:
        InputError: Naming the key (``run.network.port``).
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"apprunner.yaml, line {mark.line + 1}" if mark else "apprunner.yaml"
        raise InputError("apprunner.yaml is not valid YAML.", where=where) from None
    if not isinstance(data, dict):
        raise InputError("apprunner.yaml must be a mapping of keys.", where="apprunner.yaml")
    for section, allowed in _APPRUNNER_KEYS.items():
        node: Any = data
        for part in [p for p in section.split(".") if p]:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        if not isinstance(node, dict):
            raise InputError(f"{section} must be a mapping.", where=f"apprunner.yaml: {section}")
        for key in node:
            if key not in allowed:
                raise InputError(
                    f"unknown key {key!r}.",
                    where=f"apprunner.yaml: {section + '.' if section else ''}{key}",
                    hint=f"Allowed here: {', '.join(sorted(allowed))}.",
                )
    for path in ("version", "runtime", "build.commands.build", "run.command"):
        node = data
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node in (None, "", []):
            raise InputError(f"{path} is required.", where=f"apprunner.yaml: {path}")
    for section in ("build", "run"):
        for i, entry in enumerate((data.get(section) or {}).get("env") or []):
            if not isinstance(entry, dict) or set(entry) != {"name", "value"}:
                raise InputError(
                    "an env entry is a name and a value.",
                    where=f"apprunner.yaml: {section}.env[{i}]",
                )
    port = ((data.get("run") or {}).get("network") or {}).get("port")
    if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
        raise InputError(
            f"port {port!r} is not a port number.", where="apprunner.yaml: run.network.port"
        )
    return data


def express_mode_request(
    image_uri: str,
    *,
    execution_role_arn: str,
    infrastructure_role_arn: str,
    name: str | None = None,
    cpu: str = "256",
    memory: str = "512",
    port: int = 8080,
    min_tasks: int = 1,
    max_tasks: int = 10,
    metric: str = "AVERAGE_CPU",
    target_value: int = 60,
    version: str = "v1",
) -> dict[str, Any]:
    """Return an ECS ``CreateExpressGatewayService`` request for the bookstore (not checked).

    A container image, a task execution role and an infrastructure role are what Express Mode
    needs; the rest are the optional settings this lab sets (port, health check path, size,
    scaling: ``AVERAGE_CPU``, ``AVERAGE_MEMORY`` or ``REQUEST_COUNT_PER_TARGET``, default target
    60 per the API reference).
    """
    request: dict[str, Any] = {
        "executionRoleArn": execution_role_arn,
        "infrastructureRoleArn": infrastructure_role_arn,
        "healthCheckPath": "/health",
        "primaryContainer": {
            "image": image_uri,
            "containerPort": port,
            "environment": [{"name": "BOOKSTORE_VERSION", "value": version}],
        },
        "cpu": cpu,
        "memory": memory,
        "scalingTarget": {
            "minTaskCount": min_tasks,
            "maxTaskCount": max_tasks,
            "autoScalingMetric": metric,
            "autoScalingTargetValue": target_value,
        },
    }
    if name:
        request["serviceName"] = name
    return request


def side_by_side() -> pd.DataFrame:
    """Return App Runner and ECS Express Mode compared on what their documentation states."""
    rows = [
        ("availability", "closed to new customers from 2026-04-30; existing customers unaffected",
         "documented in the ECS developer guide; what AWS recommends to new users instead"),
        ("you give it", "an image (ECR, ECR Public) or a code repository with apprunner.yaml",
         "a container image (ECR or a private registry), a task execution role and an "
         "infrastructure role"),
        ("API", "apprunner CreateService (+ CreateAutoScalingConfiguration)",
         "ecs CreateExpressGatewayService"),
        ("what runs it", "App Runner: you see a service and its instances",
         "resources in your account: an ECS service on Fargate, a task definition, an ALB, "
         "security groups, a scalable target and policy"),
        ("build from source", "yes (managed runtimes, apprunner.yaml)",
         "no: bring an image (build it in CI, labs 03 and 08)"),
        ("endpoint", "a URL per service (App Runner's default domain)",
         "a unique URL; an ALB with an HTTPS listener"),
        ("auto scaling", "concurrent requests per instance (MaxConcurrency, MinSize, MaxSize)",
         "target tracking on average CPU, memory or requests per target (min/max tasks)"),
        ("deployments", "automatic on a new image or commit (AutoDeploymentsEnabled)",
         "a canary deployment of the ECS service"),
        ("grows into", "—", "everything ECS offers: the service is an ordinary ECS service"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["", "App Runner", "ECS Express Mode"]).set_index("")
