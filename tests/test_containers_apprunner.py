"""App Runner and ECS Express Mode requests checked offline with botocore; the chooser (lab 09)."""

from __future__ import annotations

import copy
from datetime import date

import numpy as np
import pytest

from labs.containers import apprunner, orchestrators
from labs.errors import InputError

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/labs-bookstore:v1"
ROLE = "arn:aws:iam::123456789012:role/labs-apprunner-ecr-access"


def _request(**changes: object) -> dict:
    return apprunner.create_service_request(
        "labs-bookstore", IMAGE, access_role_arn=ROLE, **changes
    )


def _problems(request: dict, *args: str) -> list[tuple[str, str]]:
    found = apprunner.problems(request, *args)
    return list(zip(found["field"], found["checked by"], strict=True))


# --------------------------------------------------------------------------------------------
# CreateService against the App Runner service model
# --------------------------------------------------------------------------------------------


def test_the_bookstore_request_is_valid() -> None:
    request = _request(tags={"workshop": "devops-on-aws-labs"})
    assert apprunner.problems(request).empty
    assert apprunner.validate_request(request) is request
    source = request["SourceConfiguration"]["ImageRepository"]
    assert source["ImageConfiguration"]["Port"] == "8080"


@pytest.mark.parametrize(
    ("cpu", "memory"),
    [(c, m) for c, memories in apprunner.APPRUNNER_CPU_MEMORY.items() for m in memories]
    + [("1024", "2048"), ("4096", "12288")],
)
def test_every_documented_instance_size_is_accepted(cpu: str, memory: str) -> None:
    assert apprunner.problems(_request(cpu=cpu, memory=memory)).empty


@pytest.mark.parametrize(
    ("cpu", "memory", "checked_by"),
    [
        ("1 vCPU", "0.5 GB", "App Runner rule"),
        ("0.5 vCPU", "2 GB", "App Runner rule"),
        ("4 vCPU", "6 GB", "App Runner rule"),
        ("3 vCPU", "4 GB", "model (pattern)"),
        ("1 vCPU", "5 GB", "model (pattern)"),
        ("8 vCPU", "16 GB", "model (pattern)"),
    ],
)
def test_sizes_app_runner_does_not_offer_are_caught(cpu: str, memory: str, checked_by: str) -> None:
    found = apprunner.problems(_request(cpu=cpu, memory=memory))
    assert checked_by in set(found["checked by"])


def test_what_param_validator_catches() -> None:
    request = _request()
    del request["ServiceName"]
    request["InstanceConfiguration"]["Cpu"] = 1024
    request["SourceConfiguration"]["ImageRepository"]["Colour"] = "blue"
    request["HealthCheckConfiguration"]["Interval"] = 0
    found = dict(_problems(request))
    assert found["ServiceName"] == "botocore ParamValidator"
    assert found["InstanceConfiguration.Cpu"] == "botocore ParamValidator"
    assert found["SourceConfiguration.ImageRepository.Colour"] == "botocore ParamValidator"
    assert found["HealthCheckConfiguration.Interval"] == "botocore ParamValidator"


def test_what_the_model_states_but_param_validator_leaves_unchecked() -> None:
    request = _request()
    request["ServiceName"] = "x" * 41
    request["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"] = "bookstore:latest"
    request["SourceConfiguration"]["ImageRepository"]["ImageRepositoryType"] = "DOCKER_HUB"
    request["HealthCheckConfiguration"]["Interval"] = 60
    # none of these stops boto3 before sending:
    from botocore.validate import ParamValidator

    shape = apprunner._operation("apprunner", "CreateService").input_shape
    assert not ParamValidator().validate(request, shape).has_errors()
    found = _problems(request)
    assert ("ServiceName", "model (max)") in found
    assert ("ServiceName", "model (pattern)") in found
    assert ("SourceConfiguration.ImageRepository.ImageIdentifier", "model (pattern)") in found
    assert ("SourceConfiguration.ImageRepository.ImageRepositoryType", "model (enum)") in found
    assert ("HealthCheckConfiguration.Interval", "model (max)") in found


def test_public_ecr_images_need_no_access_role() -> None:
    request = _request()
    image = request["SourceConfiguration"]["ImageRepository"]
    image.update(
        ImageIdentifier="public.ecr.aws/nginx/nginx:1.27", ImageRepositoryType="ECR_PUBLIC"
    )
    del request["SourceConfiguration"]["AuthenticationConfiguration"]
    assert apprunner.problems(request).empty
    image["ImageRepositoryType"] = "ECR"
    assert ("SourceConfiguration.AuthenticationConfiguration.AccessRoleArn", "App Runner rule") in (
        _problems(request)
    )


def test_one_source_and_a_connection_for_code() -> None:
    request = _request()
    request["SourceConfiguration"]["CodeRepository"] = {
        "RepositoryUrl": "https://github.com/example/bookstore",
        "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"},
        "CodeConfiguration": {"ConfigurationSource": "REPOSITORY"},
    }
    fields = [field for field, _ in _problems(request)]
    assert "SourceConfiguration" in fields
    del request["SourceConfiguration"]["ImageRepository"]
    assert "SourceConfiguration.AuthenticationConfiguration.ConnectionArn" in [
        f for f, _ in _problems(request)
    ]
    request["SourceConfiguration"]["AuthenticationConfiguration"] = {
        "ConnectionArn": "arn:aws:apprunner:us-east-1:123456789012:connection/github/abc"
    }
    assert apprunner.problems(request).empty


def test_validate_request_names_the_first_field_and_counts_the_rest() -> None:
    request = _request(cpu="3 vCPU")
    request["ServiceName"] = "bs"
    with pytest.raises(InputError) as caught:
        apprunner.validate_request(request)
    assert caught.value.where == "apprunner CreateService: ServiceName"
    assert "more problem(s)" in caught.value.hint


def test_unknown_services_and_operations() -> None:
    with pytest.raises(InputError):
        apprunner.problems({}, "CreateServise")
    with pytest.raises(InputError):
        apprunner.problems({}, "CreateService", "apprunnr")


def test_auto_scaling_configuration_bounds() -> None:
    assert apprunner.problems(
        apprunner.auto_scaling_request("labs-bookstore"), "CreateAutoScalingConfiguration"
    ).empty
    bad = apprunner.auto_scaling_request("ab", max_concurrency=201, min_size=26)
    found = _problems(bad, "CreateAutoScalingConfiguration")
    assert ("MaxConcurrency", "model (max)") in found
    assert ("MinSize", "model (max)") in found
    assert ("AutoScalingConfigurationName", "botocore ParamValidator") in found


def test_instances_follow_littles_law_within_bounds() -> None:
    load = np.array([0.0, 10.0, 100.0, 1000.0, 100000.0])
    # 450 ms: concurrency 0, 4.5, 45, 450, 45000 → ceil(/100) within [1, 25]
    assert list(apprunner.instances_needed(load, 450)) == [1, 1, 1, 5, 25]
    assert list(apprunner.instances_needed(load, 450, max_concurrency=10, min_size=2)) == [
        2,
        2,
        5,
        25,
        25,
    ]


# --------------------------------------------------------------------------------------------
# ECS Express Mode against the ECS service model
# --------------------------------------------------------------------------------------------


def _express(**changes: object) -> dict:
    return apprunner.express_mode_request(
        IMAGE,
        execution_role_arn="arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
        infrastructure_role_arn="arn:aws:iam::123456789012:role/ecsInfrastructureRoleForExpressServices",
        **changes,
    )


def test_an_express_mode_request_is_checked_against_the_ecs_model() -> None:
    assert apprunner.problems(
        _express(name="labs-bookstore"), "CreateExpressGatewayService", "ecs"
    ).empty
    bad = _express(metric="P99_LATENCY")
    del bad["infrastructureRoleArn"]
    found = dict(_problems(bad, "CreateExpressGatewayService", "ecs"))
    assert found["infrastructureRoleArn"] == "botocore ParamValidator"
    assert found["scalingTarget.autoScalingMetric"] == "model (enum)"
    assert set(apprunner.EXPRESS_MODE_RESOURCES) and len(apprunner.EXPRESS_MODE_RESOURCES) == 7


# --------------------------------------------------------------------------------------------
# apprunner.yaml
# --------------------------------------------------------------------------------------------


def test_the_bookstore_config_file_parses() -> None:
    data = apprunner.parse_apprunner_yaml(apprunner.apprunner_yaml(port=9000, version="v2"))
    assert data["runtime"] == "python311" and data["run"]["network"]["port"] == 9000
    assert data["run"]["env"] == [{"name": "BOOKSTORE_VERSION", "value": "v2"}]


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (lambda t: t.replace("runtime: python311\n", ""), "apprunner.yaml: runtime"),
        (lambda t: t.replace("  command:", "  cmd:"), "apprunner.yaml: run.cmd"),
        (
            lambda t: t.replace("    build:\n", "    compile:\n"),
            "apprunner.yaml: build.commands.compile",
        ),
        (
            lambda t: t.replace("    port: 8080", "    port: eighty"),
            "apprunner.yaml: run.network.port",
        ),
        (lambda t: t.replace("      value:", "      val:"), "apprunner.yaml: run.env[0]"),
        (lambda t: t + "extra: 1\n", "apprunner.yaml: extra"),
        (lambda t: t.replace("run:\n", "run: [\n"), "apprunner.yaml, line 10"),
        (lambda t: "- a list\n", "apprunner.yaml"),
    ],
)
def test_config_file_mistakes_name_their_key(edit, where: str) -> None:
    with pytest.raises(InputError) as caught:
        apprunner.parse_apprunner_yaml(edit(apprunner.apprunner_yaml()))
    assert caught.value.where == where


def test_run_command_is_required() -> None:
    text = apprunner.apprunner_yaml()
    text = "\n".join(line for line in text.splitlines() if "command: python" not in line)
    with pytest.raises(InputError) as caught:
        apprunner.parse_apprunner_yaml(text)
    assert caught.value.where == "apprunner.yaml: run.command"


# --------------------------------------------------------------------------------------------
# Status, comparison, the chooser
# --------------------------------------------------------------------------------------------


def test_the_status_turns_on_2026_04_30() -> None:
    assert "open to new customers until 2026-04-30" in apprunner.status(date(2026, 4, 29))
    for day in (date(2026, 4, 30), date(2026, 11, 27), None):
        text = apprunner.status(day)
        assert "closed to new customers" in text and "ECS Express Mode" in text


def test_side_by_side_has_both_columns() -> None:
    table = apprunner.side_by_side()
    assert list(table.columns) == ["App Runner", "ECS Express Mode"]
    assert "2026-04-30" in table.loc["availability", "App Runner"]


def test_the_orchestrator_table() -> None:
    table = orchestrators.table()
    assert len(table) == 4 and "$0.10 per cluster-hour" in table.loc["EKS", "cost floor"]
    assert {"team size", "control", "cost floor"} <= set(table.columns)


@pytest.mark.parametrize(
    ("answers", "option"),
    [
        ({"team_size": 2, "control": "low"}, "ECS Express Mode"),
        ({"team_size": 8, "needs_kubernetes": True}, "EKS"),
        ({"team_size": 2, "needs_kubernetes": True}, "EKS"),
        ({"team_size": 10, "control": "high"}, "EKS"),
        ({"team_size": 3, "control": "high"}, "ECS on Fargate"),
        ({"team_size": 5}, "ECS on Fargate"),
        ({"team_size": 3, "long_running": False}, "Lambda"),
        ({"team_size": 4, "control": "low", "idle_often": True}, "Lambda"),
    ],
)
def test_the_chooser(answers: dict, option: str) -> None:
    choice = orchestrators.choose(**answers)
    assert choice.option == option and choice.reason


@pytest.mark.parametrize("answers", [{"team_size": 0}, {"team_size": 2, "control": "total"}])
def test_the_chooser_refuses_nonsense(answers: dict) -> None:
    with pytest.raises(InputError):
        orchestrators.choose(**copy.deepcopy(answers))
