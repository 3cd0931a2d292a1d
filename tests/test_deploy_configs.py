"""Tests for labs.deploy.configs: CodeDeploy deployment configurations."""

from __future__ import annotations

import botocore.session
import pandas as pd
import pytest
from botocore.validate import validate_parameters

from labs.deploy import configs
from labs.deploy.configs import DeploymentConfig, MinimumHealthyHosts, TrafficRouting
from labs.errors import InputError

# The predefined configurations, as listed in FACTS.md and in "Working with deployment
# configurations in CodeDeploy",
# https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html
P = "CodeDeployDefault."
LINEAR_10_EVERY = {m: [(i * m, 10 * (i + 1)) for i in range(10)] for m in (1, 2, 3, 10)}
EXPECTED_SCHEDULES = {
    f"{P}ECSAllAtOnce": [(0, 100)],
    f"{P}ECSLinear10PercentEvery1Minutes": LINEAR_10_EVERY[1],
    f"{P}ECSLinear10PercentEvery3Minutes": LINEAR_10_EVERY[3],
    f"{P}ECSCanary10Percent5Minutes": [(0, 10), (5, 100)],
    f"{P}ECSCanary10Percent15Minutes": [(0, 10), (15, 100)],
    f"{P}LambdaAllAtOnce": [(0, 100)],
    f"{P}LambdaCanary10Percent5Minutes": [(0, 10), (5, 100)],
    f"{P}LambdaCanary10Percent10Minutes": [(0, 10), (10, 100)],
    f"{P}LambdaCanary10Percent15Minutes": [(0, 10), (15, 100)],
    f"{P}LambdaCanary10Percent30Minutes": [(0, 10), (30, 100)],
    f"{P}LambdaLinear10PercentEvery1Minute": LINEAR_10_EVERY[1],
    f"{P}LambdaLinear10PercentEvery2Minutes": LINEAR_10_EVERY[2],
    f"{P}LambdaLinear10PercentEvery3Minutes": LINEAR_10_EVERY[3],
    f"{P}LambdaLinear10PercentEvery10Minutes": LINEAR_10_EVERY[10],
}
# Batches for 9 and 10 instances. Nine instances are the user guide's example: HalfAtATime
# "deploys to up to four instances at a time", AllAtOnce "attempts to deploy to all nine
# instances at once", OneAtATime "deploys the application revision to only one instance at a
# time".
EXPECTED_BATCHES = {
    f"{P}AllAtOnce": {9: [9], 10: [10], 1: [1]},
    f"{P}HalfAtATime": {9: [4, 4, 1], 10: [5, 5], 2: [1, 1], 3: [1, 1, 1]},
    f"{P}OneAtATime": {9: [1] * 9, 10: [1] * 10, 1: [1]},
}


def test_predefined_names_are_exactly_the_documented_ones():
    names = set(configs.all_predefined()["name"])
    assert names == set(EXPECTED_SCHEDULES) | set(EXPECTED_BATCHES)
    assert len(names) == 17


@pytest.mark.parametrize(("name", "schedule"), EXPECTED_SCHEDULES.items())
def test_predefined_traffic_schedules(name: str, schedule: list[tuple[int, int]]):
    config = configs.get(name)
    assert config.compute_platform == ("ECS" if ".ECS" in name else "Lambda")
    assert config.traffic_schedule() == schedule
    assert config.predefined
    with pytest.raises(InputError, match="shifts traffic"):
        config.instance_batches(4)


@pytest.mark.parametrize(("name", "batches"), EXPECTED_BATCHES.items())
def test_predefined_instance_batches(name: str, batches: dict[int, list[int]]):
    config = configs.get(name)
    assert config.compute_platform == "Server"
    for n, expected in batches.items():
        assert config.instance_batches(n) == expected
        assert sum(expected) == n
    with pytest.raises(InputError, match="does not shift traffic"):
        config.traffic_schedule()


def test_predefined_server_minimum_healthy_hosts():
    # "CodeDeploy instance health": HalfAtATime 50%, AllAtOnce 0; OneAtATime as GetDeploymentConfig
    # reports it (API_MinimumHealthyHosts: "returns a minimum healthy instance type of
    # MOST_CONCURRENCY and a value of 1").
    assert configs.get(f"{P}HalfAtATime").minimum_healthy_hosts == MinimumHealthyHosts(
        "FLEET_PERCENT", 50
    )
    assert configs.get(f"{P}AllAtOnce").minimum_healthy_hosts == MinimumHealthyHosts(
        "HOST_COUNT", 0
    )
    assert configs.get(f"{P}OneAtATime").minimum_healthy_hosts == MinimumHealthyHosts(
        "MOST_CONCURRENCY", 1
    )


def test_half_at_a_time_needs_two_instances():
    # Half of 1 instance, rounded up, is 1: nothing can be taken out of service.
    with pytest.raises(InputError) as err:
        configs.get(f"{P}HalfAtATime").instance_batches(1)
    assert err.value.where == "minimumHealthyHosts"
    assert "needs 1 of 1 instances" in str(err.value)


# MinimumHealthyHosts API reference (API_MinimumHealthyHosts.html): "In an example of nine
# instances, if a HOST_COUNT of six is specified, deploy to up to three instances at a time ...
# If a FLEET_PERCENT of 40 is specified, deploy to up to five instances at a time."
# "CodeDeploy instance health" (instances-health.html), examples on 10 instances: minimum 9 ->
# one at a time, 8 -> two at a time, 0 -> the entire group at once, 95% -> rounded up to 10,
# the deployment fails.
@pytest.mark.parametrize(
    ("kind", "value", "n", "batches"),
    [
        ("HOST_COUNT", 6, 9, [3, 3, 3]),
        ("FLEET_PERCENT", 40, 9, [5, 4]),
        ("HOST_COUNT", 9, 10, [1] * 10),
        ("HOST_COUNT", 8, 10, [2] * 5),
        ("HOST_COUNT", 0, 10, [10]),
        ("FLEET_PERCENT", 0, 10, [10]),
        ("FLEET_PERCENT", 75, 10, [2] * 5),  # ceil(7.5) = 8 must stay healthy
        ("FLEET_PERCENT", 85, 10, [1] * 10),  # ceil(8.5) = 9
        ("FLEET_PERCENT", 90, 10, [1] * 10),
    ],
)
def test_documented_minimum_healthy_examples(kind: str, value: int, n: int, batches: list[int]):
    config = DeploymentConfig.custom(
        "Custom", "Server", minimum_healthy_hosts={"type": kind, "value": value}
    )
    assert config.instance_batches(n) == batches


@pytest.mark.parametrize(
    ("kind", "value", "n"),
    [
        ("FLEET_PERCENT", 95, 10),
        ("HOST_COUNT", 10, 10),
        ("HOST_COUNT", 11, 10),
        ("FLEET_PERCENT", 100, 3),
    ],
)
def test_minimum_healthy_at_or_above_fleet_size_fails(kind: str, value: int, n: int):
    config = DeploymentConfig.custom(
        "TooHealthy", "Server", minimum_healthy_hosts={"type": kind, "value": value}
    )
    with pytest.raises(InputError, match="fails this deployment") as err:
        config.instance_batches(n)
    assert err.value.where == "minimumHealthyHosts"


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "4"])
def test_instance_count_must_be_positive(n: object):
    with pytest.raises(InputError) as err:
        configs.get(f"{P}OneAtATime").instance_batches(n)  # type: ignore[arg-type]
    assert err.value.where == "n_instances"


# --------------------------------------------------------------------------------------------
# Custom traffic-shifting configs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routing", "schedule"),
    [
        # The user guide's CLI example: Canary25Percent45Minutes.
        (TrafficRouting("TimeBasedCanary", 25, 45), [(0, 25), (45, 100)]),
        (TrafficRouting("TimeBasedLinear", 25, 5), [(0, 25), (5, 50), (10, 75), (15, 100)]),
        # Not a divisor of 100: the last increment shifts only what remains.
        (TrafficRouting("TimeBasedLinear", 30, 2), [(0, 30), (2, 60), (4, 90), (6, 100)]),
        (TrafficRouting("TimeBasedLinear", 99, 1), [(0, 99), (1, 100)]),
        (TrafficRouting("TimeBasedLinear", 1, 1), [(i, i + 1) for i in range(100)]),
        (TrafficRouting("AllAtOnce"), [(0, 100)]),
    ],
)
def test_custom_traffic_schedules(routing: TrafficRouting, schedule: list[tuple[int, int]]):
    config = DeploymentConfig.custom("Custom", "Lambda", traffic_routing=routing)
    assert config.traffic_schedule() == schedule
    assert not config.predefined
    minutes = [m for m, _ in schedule]
    shares = [p for _, p in schedule]
    assert minutes[0] == 0 and shares[-1] == 100
    assert minutes == sorted(set(minutes)) and shares == sorted(set(shares))


# --------------------------------------------------------------------------------------------
# API shapes: from_api / to_api
# --------------------------------------------------------------------------------------------


def _create_shape():
    model = botocore.session.get_session().get_service_model("codedeploy")
    return model.operation_model("CreateDeploymentConfig").input_shape


@pytest.mark.parametrize(
    "kwargs",
    [
        {
            "deploymentConfigName": "Canary25Percent45Minutes",
            "computePlatform": "Lambda",
            "trafficRoutingConfig": {
                "type": "TimeBasedCanary",
                "timeBasedCanary": {"canaryPercentage": 25, "canaryInterval": 45},
            },
        },
        {
            "deploymentConfigName": "EcsLinear20Every2",
            "computePlatform": "ECS",
            "trafficRoutingConfig": {
                "type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 20, "linearInterval": 2},
            },
        },
        {
            "deploymentConfigName": "LambdaNow",
            "computePlatform": "Lambda",
            "trafficRoutingConfig": {"type": "AllAtOnce"},
        },
        {
            "deploymentConfigName": "ThreeQuartersHealthy",
            "computePlatform": "Server",
            "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 75},
        },
        {
            "deploymentConfigName": "KeepTwo",
            "computePlatform": "Server",
            "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 2},
        },
    ],
)
def test_from_api_round_trips_with_to_api(kwargs: dict):
    config = DeploymentConfig.from_api(kwargs)
    assert config.to_api() == kwargs
    validate_parameters(config.to_api(), _create_shape())
    # The same through custom(), and through GetDeploymentConfig's answer.
    custom = DeploymentConfig.custom(
        kwargs["deploymentConfigName"],
        kwargs["computePlatform"],
        traffic_routing=kwargs.get("trafficRoutingConfig"),
        minimum_healthy_hosts=kwargs.get("minimumHealthyHosts"),
    )
    assert custom == config
    answer = {
        "deploymentConfigInfo": {
            **kwargs,
            "deploymentConfigId": "bf6b390b-61d3-4f24-8911-a1664EXAMPLE",
            "createTime": 1411081164.379,
        },
        "ResponseMetadata": {"HTTPStatusCode": 200},
    }
    assert DeploymentConfig.from_api(answer) == config


def test_from_api_defaults_to_server_and_ignores_settings_of_other_platforms():
    server = DeploymentConfig.from_api(
        {
            "deploymentConfigName": "ThreeQuartersHealthy",
            "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 75},
        }
    )
    assert server.compute_platform == "Server"
    lam = DeploymentConfig.from_api(
        {
            "deploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
            "computePlatform": "Lambda",
            "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 0},
            "trafficRoutingConfig": {
                "type": "TimeBasedCanary",
                "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5},
            },
        }
    )
    assert lam == configs.get(f"{P}LambdaCanary10Percent5Minutes")
    assert lam.predefined


def test_one_at_a_time_from_get_deployment_config():
    answer = {
        "deploymentConfigInfo": {
            "deploymentConfigName": f"{P}OneAtATime",
            "minimumHealthyHosts": {"type": "MOST_CONCURRENCY", "value": 1},
            "computePlatform": "Server",
        }
    }
    config = DeploymentConfig.from_api(answer)
    assert config == configs.get(f"{P}OneAtATime")
    with pytest.raises(InputError, match="MOST_CONCURRENCY") as err:
        config.to_api()
    assert err.value.where == "minimumHealthyHosts.type"


def test_predefined_to_api_shapes():
    assert configs.get(f"{P}HalfAtATime").to_api() == {
        "deploymentConfigName": f"{P}HalfAtATime",
        "computePlatform": "Server",
        "minimumHealthyHosts": {"type": "FLEET_PERCENT", "value": 50},
    }
    assert configs.get(f"{P}ECSLinear10PercentEvery3Minutes").to_api()["trafficRoutingConfig"] == {
        "type": "TimeBasedLinear",
        "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 3},
    }


# --------------------------------------------------------------------------------------------
# Validation errors name the field
# --------------------------------------------------------------------------------------------

CANARY = "trafficRoutingConfig.timeBasedCanary"
LINEAR = "trafficRoutingConfig.timeBasedLinear"


def _canary(percentage: object, interval: object) -> dict:
    block = {"canaryPercentage": percentage, "canaryInterval": interval}
    return {"type": "TimeBasedCanary", "timeBasedCanary": block}


def _linear(percentage: object, interval: object) -> dict:
    block = {"linearPercentage": percentage, "linearInterval": interval}
    return {"type": "TimeBasedLinear", "timeBasedLinear": block}


@pytest.mark.parametrize(
    ("routing", "where"),
    [
        (_canary(0, 5), f"{CANARY}.canaryPercentage"),
        (_canary(100, 5), f"{CANARY}.canaryPercentage"),
        (_canary(10.5, 5), f"{CANARY}.canaryPercentage"),
        (_canary(10, 0), f"{CANARY}.canaryInterval"),
        (_canary(10, True), f"{CANARY}.canaryInterval"),
        ({"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10}}, CANARY),
        ({"type": "TimeBasedCanary"}, CANARY),
        ({**_canary(10, 5), "timeBasedLinear": _linear(10, 1)["timeBasedLinear"]}, LINEAR),
        (_linear(-10, 1), f"{LINEAR}.linearPercentage"),
        (_linear(100, 1), f"{LINEAR}.linearPercentage"),
        (_linear(10, -1), f"{LINEAR}.linearInterval"),
        (_linear(10, "1"), f"{LINEAR}.linearInterval"),
        ({**_linear(10, 1), "timeBasedCanary": _canary(10, 1)["timeBasedCanary"]}, CANARY),
        (
            {"type": "AllAtOnce", **{k: v for k, v in _linear(10, 1).items() if k != "type"}},
            "trafficRoutingConfig",
        ),
        ({"type": "Canary"}, "trafficRoutingConfig.type"),
        ({}, "trafficRoutingConfig.type"),
        ("TimeBasedCanary", "trafficRoutingConfig"),
    ],
)
def test_traffic_routing_validation(routing: object, where: str):
    with pytest.raises(InputError) as err:
        DeploymentConfig.custom("Bad", "Lambda", traffic_routing=routing)  # type: ignore[arg-type]
    assert err.value.where == where


@pytest.mark.parametrize(
    ("healthy", "where"),
    [
        ({"type": "FLEET_PERCENT", "value": 101}, "minimumHealthyHosts.value"),
        ({"type": "FLEET_PERCENT", "value": -1}, "minimumHealthyHosts.value"),
        ({"type": "HOST_COUNT", "value": -1}, "minimumHealthyHosts.value"),
        ({"type": "HOST_COUNT", "value": 1.5}, "minimumHealthyHosts.value"),
        ({"type": "PERCENT", "value": 50}, "minimumHealthyHosts.type"),
        ({"type": "MOST_CONCURRENCY", "value": 1}, "minimumHealthyHosts.type"),
        ({"type": "HOST_COUNT"}, "minimumHealthyHosts"),
    ],
)
def test_minimum_healthy_hosts_validation(healthy: dict, where: str):
    with pytest.raises(InputError) as err:
        DeploymentConfig.custom("Bad", "Server", minimum_healthy_hosts=healthy)
    assert err.value.where == where


def test_unknown_minimum_healthy_type_lists_valid_ones():
    with pytest.raises(InputError, match="'HOST_COUNT', 'FLEET_PERCENT'"):
        MinimumHealthyHosts("PERCENT", 50)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (("Bad", "EC2"), "computePlatform"),
        (("Bad", "Server"), "minimumHealthyHosts"),
        (("Bad", "ECS"), "trafficRoutingConfig"),
        (("has space", "Lambda", TrafficRouting("AllAtOnce")), "deploymentConfigName"),
        (("x" * 101, "Lambda", TrafficRouting("AllAtOnce")), "deploymentConfigName"),
        (("", "Lambda", TrafficRouting("AllAtOnce")), "deploymentConfigName"),
    ],
)
def test_config_validation(args: tuple, where: str):
    name, platform, *routing = args
    with pytest.raises(InputError) as err:
        DeploymentConfig.custom(name, platform, traffic_routing=routing[0] if routing else None)
    assert err.value.where == where


def test_settings_must_match_the_platform():
    with pytest.raises(InputError) as err:
        DeploymentConfig.custom("Mixed", "Server", traffic_routing=TrafficRouting("AllAtOnce"))
    assert err.value.where == "trafficRoutingConfig"
    with pytest.raises(InputError) as err:
        DeploymentConfig.custom(
            "Mixed",
            "ECS",
            traffic_routing=TrafficRouting("AllAtOnce"),
            minimum_healthy_hosts={"type": "HOST_COUNT", "value": 1},
        )
    assert err.value.where == "minimumHealthyHosts"


def test_from_api_errors():
    with pytest.raises(InputError) as err:
        DeploymentConfig.from_api({"computePlatform": "Lambda"})
    assert err.value.where == "deploymentConfigName"
    with pytest.raises(InputError) as err:
        DeploymentConfig.from_api(
            {
                "deploymentConfigName": "Zonal",
                "minimumHealthyHosts": {"type": "HOST_COUNT", "value": 1},
                "zonalConfig": {"monitorDurationInSeconds": 600},
            }
        )
    assert err.value.where == "zonalConfig"
    with pytest.raises(InputError) as err:
        DeploymentConfig.from_api(["CodeDeployDefault.AllAtOnce"])  # type: ignore[arg-type]
    assert err.value.where == "config"


# --------------------------------------------------------------------------------------------
# Looking configs up by name
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("HalfAtATime", f"{P}HalfAtATime"),  # prefix left out
        ("codedeploydefault.halfatatime", f"{P}HalfAtATime"),  # wrong case
        (f"{P}ECSCanary10percent5Minutes", f"{P}ECSCanary10Percent5Minutes"),  # old doc spelling
        (f"{P}LambdaLinear10PercentEvery1Minutes", f"{P}LambdaLinear10PercentEvery1Minute"),
        (f"{P}ECSLinear10PercentEvery1Minute", f"{P}ECSLinear10PercentEvery1Minutes"),
        ("LambdaCanary10Percent6Minutes", f"{P}LambdaCanary10Percent5Minutes"),
    ],
)
def test_unknown_name_suggests_close_matches(name: str, suggestion: str):
    with pytest.raises(InputError) as err:
        configs.get(name)
    message = str(err.value)
    assert err.value.where == "name"
    assert "Did you mean" in message and suggestion in message
    assert "DeploymentConfig.custom(" in message  # says how to make a custom one


def test_unknown_name_without_a_close_match():
    with pytest.raises(InputError) as err:
        configs.get("BlueGreen")
    assert "Did you mean" not in str(err.value)
    assert "all_predefined()" in str(err.value)
    with pytest.raises(InputError):
        configs.get(None)  # type: ignore[arg-type]


def test_all_predefined_table():
    table = configs.all_predefined()
    assert list(table.columns) == [
        "name", "platform", "type", "percentage", "interval_minutes", "minimum_healthy",
    ]  # fmt: skip
    assert len(table) == 17
    assert table["platform"].value_counts().to_dict() == {"Lambda": 9, "ECS": 5, "Server": 3}
    assert str(table["percentage"].dtype) == "Int64"
    row = table.set_index("name").loc[f"{P}LambdaLinear10PercentEvery2Minutes"]
    assert (row["type"], row["percentage"], row["interval_minutes"]) == ("TimeBasedLinear", 10, 2)
    half = table.set_index("name").loc[f"{P}HalfAtATime"]
    assert half["minimum_healthy"] == "50% of the fleet"
    assert pd.isna(half["percentage"])
