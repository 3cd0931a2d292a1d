"""CodeDeploy deployment configurations: the predefined ones, custom ones, and what they mean.

Pure data: nothing here talks to AWS (the emulator does not implement the deployment-config APIs,
FACTS.md). A :class:`DeploymentConfig` mirrors CodeDeploy's ``GetDeploymentConfig`` shape and
answers the two questions a deployment engine asks of it:

* ECS and Lambda (traffic shifting): :meth:`DeploymentConfig.traffic_schedule`, the minutes at
  which traffic moves and the share on the new version after each move.
* EC2/on-premises (in-place): :meth:`DeploymentConfig.instance_batches`, how many instances are
  deployed to at a time so the minimum healthy hosts stay in service.

Sources:

* "Working with deployment configurations in CodeDeploy",
  https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
* "CodeDeploy instance health" (minimum healthy hosts),
  https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html
* API shapes ``CreateDeploymentConfig``, ``GetDeploymentConfig``, ``MinimumHealthyHosts``,
  ``TrafficRoutingConfig``, ``TimeBasedCanary``, ``TimeBasedLinear``,
  https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeploymentConfig.html
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labs.errors import InputError

__all__ = [
    "COMPUTE_PLATFORMS",
    "DeploymentConfig",
    "MinimumHealthyHosts",
    "TrafficRouting",
    "all_predefined",
    "get",
]

CONFIGS_URL = (
    "https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html"
)
HEALTH_URL = "https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html"
CREATE_URL = (
    "https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeploymentConfig.html"
)

COMPUTE_PLATFORMS: tuple[str, ...] = ("Server", "Lambda", "ECS")
"""CodeDeploy's compute platforms: EC2/on-premises is ``Server``."""

TRAFFIC_ROUTING_TYPES: tuple[str, ...] = ("TimeBasedCanary", "TimeBasedLinear", "AllAtOnce")
MINIMUM_HEALTHY_HOSTS_TYPES: tuple[str, ...] = ("HOST_COUNT", "FLEET_PERCENT")
MOST_CONCURRENCY = "MOST_CONCURRENCY"
"""What ``GetDeploymentConfig`` returns for CodeDeployDefault.OneAtATime; it cannot be set."""

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,100}$")
_CUSTOM_HINT = (
    "For a config of your own use DeploymentConfig.custom(name, platform, ...), e.g. "
    "DeploymentConfig.custom('Canary20Percent10Minutes', 'Lambda', traffic_routing="
    "{'type': 'TimeBasedCanary', 'timeBasedCanary': {'canaryPercentage': 20, "
    "'canaryInterval': 10}}) or DeploymentConfig.custom('ThreeQuartersHealthy', 'Server', "
    "minimum_healthy_hosts={'type': 'FLEET_PERCENT', 'value': 75})."
)


def _choices(values: Any) -> str:
    return ", ".join(repr(v) for v in values)


def _int_field(value: Any, where: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(
            f"{where} must be a whole number, got {value!r}.",
            where=where,
            hint="CodeDeploy takes integers here.",
        )
    if value < low or (high is not None and value > high):
        span = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise InputError(f"{where} must be {span}, got {value}.", where=where)
    return int(value)


@dataclass(frozen=True)
class TrafficRouting:
    """How traffic shifts in an ECS or Lambda deployment (CodeDeploy's ``TrafficRoutingConfig``).

    Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_TrafficRoutingConfig.html.

    Attributes:
        type: ``TimeBasedCanary`` (two increments), ``TimeBasedLinear`` (equal increments at
            equal intervals) or ``AllAtOnce``.
        percentage: ``canaryPercentage`` or ``linearPercentage``: the share shifted in the
            first increment (canary) or in every increment (linear), 1 to 99.
        interval: ``canaryInterval`` or ``linearInterval`` in minutes, at least 1.
    """

    type: str
    percentage: int | None = None
    interval: int | None = None

    def __post_init__(self) -> None:
        """Validate the fields, naming them as CodeDeploy's API does."""
        if self.type not in TRAFFIC_ROUTING_TYPES:
            raise InputError(
                f"Unknown traffic routing type {self.type!r}.",
                where="trafficRoutingConfig.type",
                hint=f"Valid values: {_choices(TRAFFIC_ROUTING_TYPES)}.",
            )
        if self.type == "AllAtOnce":
            if self.percentage is not None or self.interval is not None:
                raise InputError(
                    "An AllAtOnce traffic routing takes no percentage or interval.",
                    where="trafficRoutingConfig",
                    hint="Use TimeBasedCanary or TimeBasedLinear to shift traffic in steps.",
                )
            return
        key = "timeBasedCanary" if self.type == "TimeBasedCanary" else "timeBasedLinear"
        prefix = "canary" if self.type == "TimeBasedCanary" else "linear"
        if self.percentage is None or self.interval is None:
            raise InputError(
                f"A {self.type} traffic routing needs both {prefix}Percentage and "
                f"{prefix}Interval.",
                where=f"trafficRoutingConfig.{key}",
                hint=f"e.g. {{'type': '{self.type}', '{key}': {{'{prefix}Percentage': 10, "
                f"'{prefix}Interval': 5}}}}.",
            )
        _int_field(
            self.percentage, f"trafficRoutingConfig.{key}.{prefix}Percentage", low=1, high=99
        )
        _int_field(self.interval, f"trafficRoutingConfig.{key}.{prefix}Interval", low=1)

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> TrafficRouting:
        """Build from CodeDeploy's ``trafficRoutingConfig`` dict.

        Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_TrafficRoutingConfig.html.
        """
        if not isinstance(config, Mapping):
            raise InputError(
                f"trafficRoutingConfig must be a dict, got {type(config).__name__}.",
                where="trafficRoutingConfig",
                hint="e.g. {'type': 'TimeBasedLinear', 'timeBasedLinear': "
                "{'linearPercentage': 10, 'linearInterval': 1}}.",
            )
        kind = config.get("type")
        canary, linear = config.get("timeBasedCanary"), config.get("timeBasedLinear")
        if kind == "TimeBasedCanary":
            if linear:
                raise InputError(
                    "A TimeBasedCanary config has a timeBasedLinear block.",
                    where="trafficRoutingConfig.timeBasedLinear",
                    hint="Give timeBasedCanary {canaryPercentage, canaryInterval} instead.",
                )
            block = _block(canary, "timeBasedCanary")
            return cls(kind, block.get("canaryPercentage"), block.get("canaryInterval"))
        if kind == "TimeBasedLinear":
            if canary:
                raise InputError(
                    "A TimeBasedLinear config has a timeBasedCanary block.",
                    where="trafficRoutingConfig.timeBasedCanary",
                    hint="Give timeBasedLinear {linearPercentage, linearInterval} instead.",
                )
            block = _block(linear, "timeBasedLinear")
            return cls(kind, block.get("linearPercentage"), block.get("linearInterval"))
        if kind == "AllAtOnce" and (canary or linear):
            raise InputError(
                "An AllAtOnce config cannot have a timeBasedCanary or timeBasedLinear block.",
                where="trafficRoutingConfig",
            )
        return cls(kind)  # validates the type

    def to_api(self) -> dict[str, Any]:
        """Return CodeDeploy's ``trafficRoutingConfig`` dict for this routing."""
        if self.type == "TimeBasedCanary":
            block = {"canaryPercentage": self.percentage, "canaryInterval": self.interval}
            return {"type": self.type, "timeBasedCanary": block}
        if self.type == "TimeBasedLinear":
            block = {"linearPercentage": self.percentage, "linearInterval": self.interval}
            return {"type": self.type, "timeBasedLinear": block}
        return {"type": "AllAtOnce"}


def _block(block: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(block, Mapping):
        prefix = "canary" if key == "timeBasedCanary" else "linear"
        raise InputError(
            f"The {key} block is missing.",
            where=f"trafficRoutingConfig.{key}",
            hint=f"Give {key}: {{'{prefix}Percentage': ..., '{prefix}Interval': ...}}.",
        )
    return block


@dataclass(frozen=True)
class MinimumHealthyHosts:
    """How many instances must stay healthy during an in-place deployment.

    Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_MinimumHealthyHosts.html.

    Attributes:
        type: ``HOST_COUNT`` (an absolute number of instances), ``FLEET_PERCENT`` (a percentage
            of the deployment's instances, rounded up) or ``MOST_CONCURRENCY`` — the value
            ``GetDeploymentConfig`` reports for CodeDeployDefault.OneAtATime, meaning "at most
            ``value`` instance at a time"; it cannot be set on a config of your own.
        value: The number or percentage (HOST_COUNT >= 0, FLEET_PERCENT 0 to 100).
    """

    type: str
    value: int

    def __post_init__(self) -> None:
        """Validate the type and the value."""
        if self.type not in (*MINIMUM_HEALTHY_HOSTS_TYPES, MOST_CONCURRENCY):
            raise InputError(
                f"Unknown minimum healthy hosts type {self.type!r}.",
                where="minimumHealthyHosts.type",
                hint=f"Valid values: {_choices(MINIMUM_HEALTHY_HOSTS_TYPES)}.",
            )
        high = 100 if self.type == "FLEET_PERCENT" else None
        low = 1 if self.type == MOST_CONCURRENCY else 0
        _int_field(self.value, "minimumHealthyHosts.value", low=low, high=high)

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> MinimumHealthyHosts:
        """Build from CodeDeploy's ``minimumHealthyHosts`` dict (``{"type", "value"}``)."""
        if not isinstance(config, Mapping) or "type" not in config or "value" not in config:
            raise InputError(
                f"minimumHealthyHosts must be a dict with 'type' and 'value', got {config!r}.",
                where="minimumHealthyHosts",
                hint="e.g. {'type': 'FLEET_PERCENT', 'value': 75}.",
            )
        return cls(config["type"], config["value"])

    def to_api(self) -> dict[str, Any]:
        """Return CodeDeploy's ``minimumHealthyHosts`` dict."""
        return {"type": self.type, "value": self.value}

    def healthy_required(self, n_instances: int) -> int:
        """Return how many of ``n_instances`` must stay healthy.

        FLEET_PERCENT is converted to instances "rounding up any fractional instances"
        (https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html);
        MOST_CONCURRENCY (OneAtATime) keeps all instances but ``value`` healthy.
        """
        n = _int_field(n_instances, "n_instances", low=1)
        if self.type == "HOST_COUNT":
            return self.value
        if self.type == "FLEET_PERCENT":
            return math.ceil(self.value * n / 100)
        return max(n - self.value, 0)

    def describe(self) -> str:
        """Return a short human description, e.g. ``"50% of the fleet"``."""
        if self.type == "FLEET_PERCENT":
            return f"{self.value}% of the fleet"
        if self.type == "HOST_COUNT":
            return f"{self.value} host" + ("" if self.value == 1 else "s")
        return (
            f"all but {self.value} (one at a time)" if self.value == 1 else f"all but {self.value}"
        )


@dataclass(frozen=True)
class DeploymentConfig:
    """A CodeDeploy deployment configuration, shaped like ``GetDeploymentConfig``'s answer.

    Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentConfigInfo.html:
    a Server config has ``minimum_healthy_hosts``, an ECS or Lambda config has
    ``traffic_routing``. Build predefined ones with :func:`get`, your own with
    :meth:`custom` or :meth:`from_api`.

    Attributes:
        name: ``deploymentConfigName``, e.g. ``"CodeDeployDefault.HalfAtATime"``.
        compute_platform: ``Server`` (EC2/on-premises), ``Lambda`` or ``ECS``.
        minimum_healthy_hosts: For Server configs.
        traffic_routing: For ECS and Lambda configs.
    """

    name: str
    compute_platform: str
    minimum_healthy_hosts: MinimumHealthyHosts | None = None
    traffic_routing: TrafficRouting | None = None

    def __post_init__(self) -> None:
        """Check the name, the platform, and that the platform has the right settings."""
        if not isinstance(self.name, str) or not _NAME_PATTERN.match(self.name):
            raise InputError(
                f"Deployment configuration name {self.name!r} is not valid.",
                where="deploymentConfigName",
                hint="Use 1 to 100 characters from letters, digits and + = , . @ _ -.",
            )
        if self.compute_platform not in COMPUTE_PLATFORMS:
            raise InputError(
                f"Unknown compute platform {self.compute_platform!r}.",
                where="computePlatform",
                hint=f"Valid values: {_choices(COMPUTE_PLATFORMS)} (Server = EC2/on-premises).",
            )
        if self.compute_platform == "Server":
            if self.traffic_routing is not None:
                raise InputError(
                    "A Server (EC2/on-premises) config takes minimumHealthyHosts, not "
                    "trafficRoutingConfig.",
                    where="trafficRoutingConfig",
                    hint="Traffic routing is for the ECS and Lambda compute platforms.",
                )
            if not isinstance(self.minimum_healthy_hosts, MinimumHealthyHosts):
                raise InputError(
                    "A Server (EC2/on-premises) config needs minimumHealthyHosts.",
                    where="minimumHealthyHosts",
                    hint="e.g. minimum_healthy_hosts={'type': 'FLEET_PERCENT', 'value': 75}.",
                )
        else:
            if self.minimum_healthy_hosts is not None:
                raise InputError(
                    f"An {self.compute_platform} config takes trafficRoutingConfig, not "
                    "minimumHealthyHosts.",
                    where="minimumHealthyHosts",
                    hint="Minimum healthy hosts is for the Server (EC2/on-premises) platform.",
                )
            if not isinstance(self.traffic_routing, TrafficRouting):
                raise InputError(
                    f"An {self.compute_platform} config needs trafficRoutingConfig.",
                    where="trafficRoutingConfig",
                    hint="e.g. traffic_routing={'type': 'TimeBasedCanary', 'timeBasedCanary': "
                    "{'canaryPercentage': 10, 'canaryInterval': 5}}.",
                )

    @property
    def predefined(self) -> bool:
        """Return True for the ``CodeDeployDefault.*`` configurations AWS provides."""
        return _PREDEFINED.get(self.name) == self

    @classmethod
    def custom(
        cls,
        name: str,
        compute_platform: str,
        *,
        traffic_routing: TrafficRouting | Mapping[str, Any] | None = None,
        minimum_healthy_hosts: MinimumHealthyHosts | Mapping[str, Any] | None = None,
    ) -> DeploymentConfig:
        """Build a custom configuration, as ``CreateDeploymentConfig`` would accept it.

        Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeploymentConfig.html.

        Args:
            name: The new configuration's name.
            compute_platform: ``Server``, ``Lambda`` or ``ECS``.
            traffic_routing: For ECS/Lambda: a :class:`TrafficRouting` or CodeDeploy's
                ``trafficRoutingConfig`` dict.
            minimum_healthy_hosts: For Server: a :class:`MinimumHealthyHosts` or CodeDeploy's
                ``{"type": "HOST_COUNT" | "FLEET_PERCENT", "value": n}``.

        Raises:
            InputError: naming the field that CodeDeploy would reject.
        """
        for value, field_name, kind in (
            (traffic_routing, "trafficRoutingConfig", TrafficRouting),
            (minimum_healthy_hosts, "minimumHealthyHosts", MinimumHealthyHosts),
        ):
            if value is not None and not isinstance(value, Mapping | kind):
                raise InputError(
                    f"{field_name} must be a {kind.__name__} or CodeDeploy's dict, got "
                    f"{type(value).__name__} {value!r}.",
                    where=field_name,
                    hint=_CUSTOM_HINT,
                )
        routing = (
            TrafficRouting.from_api(traffic_routing)
            if isinstance(traffic_routing, Mapping)
            else traffic_routing
        )
        healthy = (
            MinimumHealthyHosts.from_api(minimum_healthy_hosts)
            if isinstance(minimum_healthy_hosts, Mapping)
            else minimum_healthy_hosts
        )
        if healthy is not None and healthy.type == MOST_CONCURRENCY:
            raise InputError(
                "MOST_CONCURRENCY cannot be set on a deployment configuration; only "
                "CodeDeployDefault.OneAtATime reports it.",
                where="minimumHealthyHosts.type",
                hint="Use HOST_COUNT or FLEET_PERCENT, or get('CodeDeployDefault.OneAtATime').",
            )
        return cls(name, compute_platform, healthy, routing)

    @classmethod
    def from_api(cls, config: Mapping[str, Any]) -> DeploymentConfig:
        """Build from CodeDeploy's JSON: GetDeploymentConfig output or CreateDeploymentConfig input.

        Accepts ``{"deploymentConfigInfo": {...}}`` (the whole GetDeploymentConfig answer), its
        inner dict, or CreateDeploymentConfig's keyword arguments. ``computePlatform`` defaults
        to ``Server``; read-only fields (``deploymentConfigId``, ``createTime``) are ignored, and
        so is a settings block that does not apply to the platform. Shapes:
        https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentConfigInfo.html.

        Raises:
            InputError: For a missing name, a zonal configuration, or an invalid field.
        """
        if not isinstance(config, Mapping):
            raise InputError(
                f"Expected CodeDeploy's deployment config JSON (a dict), got "
                f"{type(config).__name__}.",
                where="config",
                hint="Pass client.get_deployment_config(...) or the kwargs of "
                "create_deployment_config.",
            )
        info = config.get("deploymentConfigInfo", config)
        name = info.get("deploymentConfigName")
        if name is None:
            raise InputError(
                "The deployment configuration has no deploymentConfigName.",
                where="deploymentConfigName",
                hint="Every deployment configuration is named.",
            )
        if info.get("zonalConfig"):
            raise InputError(
                f"{name!r} has a zonalConfig (one Availability Zone at a time), which "
                "labs.deploy.configs does not model.",
                where="zonalConfig",
                hint="Drop zonalConfig to model the config's minimum healthy hosts only.",
            )
        platform = info.get("computePlatform") or "Server"
        healthy = info.get("minimumHealthyHosts")
        routing = info.get("trafficRoutingConfig")
        if platform == "Server":
            return cls(
                name,
                platform,
                MinimumHealthyHosts.from_api(healthy) if healthy is not None else None,
            )
        return cls(
            name,
            platform,
            traffic_routing=TrafficRouting.from_api(routing) if routing is not None else None,
        )

    def to_api(self) -> dict[str, Any]:
        """Return the keyword arguments of ``codedeploy.create_deployment_config``.

        Mirrors https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeploymentConfig.html.

        Raises:
            InputError: For CodeDeployDefault.OneAtATime, whose MOST_CONCURRENCY cannot be set.
        """
        kwargs: dict[str, Any] = {
            "deploymentConfigName": self.name,
            "computePlatform": self.compute_platform,
        }
        if self.minimum_healthy_hosts is not None:
            if self.minimum_healthy_hosts.type == MOST_CONCURRENCY:
                raise InputError(
                    f"{self.name} uses MOST_CONCURRENCY, which CreateDeploymentConfig does not "
                    "accept.",
                    where="minimumHealthyHosts.type",
                    hint="Use the predefined config by name, or make your own with HOST_COUNT "
                    "or FLEET_PERCENT.",
                )
            kwargs["minimumHealthyHosts"] = self.minimum_healthy_hosts.to_api()
        if self.traffic_routing is not None:
            kwargs["trafficRoutingConfig"] = self.traffic_routing.to_api()
        return kwargs

    def traffic_schedule(self) -> list[tuple[int, int]]:
        """Return the traffic shifts as ``(minute, percent on the new version)`` steps.

        Canary: ``[(0, p), (interval, 100)]``; linear: ``p`` more every ``interval`` minutes,
        the last step capped at 100; all at once: ``[(0, 100)]``. Mirrors the ECS and Lambda
        sections of https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
        ("Linear: Traffic is shifted in equal increments with an equal number of minutes between
        each increment").

        Raises:
            InputError: For a Server config, which deploys to instances instead.
        """
        routing = self.traffic_routing
        if routing is None:
            raise InputError(
                f"{self.name} is a Server (EC2/on-premises) config: it does not shift traffic.",
                where="compute_platform",
                hint="Use instance_batches(n_instances) for in-place deployments.",
            )
        if routing.type == "AllAtOnce":
            return [(0, 100)]
        assert routing.percentage is not None and routing.interval is not None
        if routing.type == "TimeBasedCanary":
            return [(0, routing.percentage), (routing.interval, 100)]
        steps = math.ceil(100 / routing.percentage)
        return [
            (i * routing.interval, min(100, (i + 1) * routing.percentage)) for i in range(steps)
        ]

    def instance_batches(self, n_instances: int) -> list[int]:
        """Return how many instances an in-place deployment deploys to at a time.

        CodeDeploy "deploys the application revision to as many instances as it can without any
        risk of having the number of healthy instances fall below the specified minimum";
        FLEET_PERCENT is rounded up to whole instances, and a minimum that is not below the
        fleet size fails the deployment at once
        (https://docs.aws.amazon.com/codedeploy/latest/userguide/instances-health.html).
        So a batch is ``n - minimum`` instances: HalfAtATime on 9 instances gives
        ``[4, 4, 1]``, OneAtATime ``[1] * n``, AllAtOnce ``[n]``.

        Args:
            n_instances: Instances in the deployment group, at least 1.

        Raises:
            InputError: For an ECS/Lambda config, or when the minimum healthy hosts is not below
                the fleet size (CodeDeploy would fail the deployment without deploying).
        """
        healthy = self.minimum_healthy_hosts
        if healthy is None:
            raise InputError(
                f"{self.name} is an {self.compute_platform} config: it shifts traffic, it does "
                "not deploy to instances in batches.",
                where="compute_platform",
                hint="Use traffic_schedule() for ECS and Lambda configs.",
            )
        n = _int_field(n_instances, "n_instances", low=1)
        if healthy.type == MOST_CONCURRENCY:
            batch = healthy.value
        else:
            required = healthy.healthy_required(n)
            if required >= n:
                raise InputError(
                    f"{self.name} needs {required} of {n} instances to stay healthy "
                    f"({healthy.describe()}), so no instance can be taken out of service: "
                    "CodeDeploy fails this deployment before deploying anywhere.",
                    where="minimumHealthyHosts",
                    hint="The minimum healthy hosts must be below the number of instances "
                    "(FLEET_PERCENT is rounded up). Add instances or lower the minimum, "
                    "e.g. CodeDeployDefault.OneAtATime.",
                )
            batch = n - required
        full, rest = divmod(n, batch)
        return [batch] * full + ([rest] if rest else [])


def _predefined() -> dict[str, DeploymentConfig]:
    prefix = "CodeDeployDefault."
    configs = [
        # EC2/on-premises: minimum healthy hosts ("CodeDeploy instance health" table; OneAtATime
        # as GetDeploymentConfig reports it, MOST_CONCURRENCY 1).
        DeploymentConfig(f"{prefix}AllAtOnce", "Server", MinimumHealthyHosts("HOST_COUNT", 0)),
        DeploymentConfig(
            f"{prefix}HalfAtATime", "Server", MinimumHealthyHosts("FLEET_PERCENT", 50)
        ),
        DeploymentConfig(f"{prefix}OneAtATime", "Server", MinimumHealthyHosts(MOST_CONCURRENCY, 1)),
    ]
    ecs = [
        ("ECSAllAtOnce", TrafficRouting("AllAtOnce")),
        ("ECSLinear10PercentEvery1Minutes", TrafficRouting("TimeBasedLinear", 10, 1)),
        ("ECSLinear10PercentEvery3Minutes", TrafficRouting("TimeBasedLinear", 10, 3)),
        ("ECSCanary10Percent5Minutes", TrafficRouting("TimeBasedCanary", 10, 5)),
        ("ECSCanary10Percent15Minutes", TrafficRouting("TimeBasedCanary", 10, 15)),
    ]
    lam = [
        ("LambdaAllAtOnce", TrafficRouting("AllAtOnce")),
        ("LambdaCanary10Percent5Minutes", TrafficRouting("TimeBasedCanary", 10, 5)),
        ("LambdaCanary10Percent10Minutes", TrafficRouting("TimeBasedCanary", 10, 10)),
        ("LambdaCanary10Percent15Minutes", TrafficRouting("TimeBasedCanary", 10, 15)),
        ("LambdaCanary10Percent30Minutes", TrafficRouting("TimeBasedCanary", 10, 30)),
        ("LambdaLinear10PercentEvery1Minute", TrafficRouting("TimeBasedLinear", 10, 1)),
        ("LambdaLinear10PercentEvery2Minutes", TrafficRouting("TimeBasedLinear", 10, 2)),
        ("LambdaLinear10PercentEvery3Minutes", TrafficRouting("TimeBasedLinear", 10, 3)),
        ("LambdaLinear10PercentEvery10Minutes", TrafficRouting("TimeBasedLinear", 10, 10)),
    ]
    configs += [DeploymentConfig(prefix + n, "ECS", traffic_routing=r) for n, r in ecs]
    configs += [DeploymentConfig(prefix + n, "Lambda", traffic_routing=r) for n, r in lam]
    return {config.name: config for config in configs}


_PREDEFINED = _predefined()


def get(name: str) -> DeploymentConfig:
    """Return a predefined CodeDeploy configuration by its exact AWS name.

    The list is the one in
    https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html:
    ``CodeDeployDefault.AllAtOnce`` / ``HalfAtATime`` / ``OneAtATime`` (EC2/on-premises),
    ``CodeDeployDefault.ECS…`` and ``CodeDeployDefault.Lambda…``.

    Args:
        name: The full name, ``CodeDeployDefault.`` prefix included, as AWS spells it.

    Raises:
        InputError: For an unknown name, with the closest predefined names and how to make a
            custom configuration.
    """
    if isinstance(name, str) and name in _PREDEFINED:
        return _PREDEFINED[name]
    suggestions: list[str] = []
    if isinstance(name, str):
        # Compare without the shared prefix and case, so the part that differs decides.
        short = {known.removeprefix("CodeDeployDefault.").lower(): known for known in _PREDEFINED}
        wanted = name.lower().removeprefix("codedeploydefault.")
        suggestions = [
            short[match]
            for match in difflib.get_close_matches(wanted, list(short), n=3, cutoff=0.6)
        ]
    closest = ""
    if suggestions:
        listed = " or ".join(
            [", ".join(suggestions[:-1]), suggestions[-1]] if len(suggestions) > 1 else suggestions
        )
        closest = f" Did you mean {listed}?"
    raise InputError(
        f"{name!r} is not a predefined CodeDeploy deployment configuration.{closest}",
        where="name",
        hint=f"Names are exact and include the 'CodeDeployDefault.' prefix; all_predefined() "
        f"lists them. {_CUSTOM_HINT}",
    )


def all_predefined() -> pd.DataFrame:
    """Return every predefined configuration as a table, one row each, for display.

    Columns: ``name``, ``platform``, ``type`` (traffic routing type, or minimum healthy hosts
    type for Server), ``percentage``, ``interval_minutes``, ``minimum_healthy``. Source:
    https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html.
    """
    rows = []
    for config in _PREDEFINED.values():
        routing, healthy = config.traffic_routing, config.minimum_healthy_hosts
        rows.append(
            {
                "name": config.name,
                "platform": config.compute_platform,
                "type": routing.type if routing else healthy.type if healthy else None,
                "percentage": routing.percentage if routing else None,
                "interval_minutes": routing.interval if routing else None,
                "minimum_healthy": healthy.describe() if healthy else None,
            }
        )
    frame = pd.DataFrame(rows)
    frame["percentage"] = frame["percentage"].astype("Int64")
    frame["interval_minutes"] = frame["interval_minutes"].astype("Int64")
    return frame
