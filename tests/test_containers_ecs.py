"""ECS on Fargate: task sizes, task definition validation, a service behind an ALB (lab 09)."""

from __future__ import annotations

import copy
import itertools

import pytest

from labs.containers import ecs
from labs.containers import orchestration_checks as checks
from labs.errors import CheckFailed, InputError

LAB = "t09"  # never "09": the notebook's cleanup must not meet test leftovers


def _fargate(cpu: object, memory: object, **extra: object) -> dict:
    definition = ecs.bookstore_task_definition("v1", cpu=str(cpu), memory=str(memory))
    definition.update(extra)
    return definition


# --------------------------------------------------------------------------------------------
# Task sizes: every CPU row, valid and invalid memory values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cpu", list(ecs.FARGATE_CPU_MEMORY))
def test_every_memory_value_of_every_cpu_row_is_accepted(cpu: int) -> None:
    for memory in ecs.FARGATE_CPU_MEMORY[cpu]:
        checked = ecs.validate_task_definition(_fargate(cpu, memory))
        assert (checked["cpu"], checked["memory"]) == (str(cpu), str(memory))


@pytest.mark.parametrize("cpu", list(ecs.FARGATE_CPU_MEMORY))
def test_memory_outside_the_row_is_refused_with_the_valid_values_listed(cpu: int) -> None:
    values = ecs.FARGATE_CPU_MEMORY[cpu]
    step = values[1] - values[0]
    for memory in (values[0] - step, values[-1] + step, values[0] + step // 2):
        with pytest.raises(InputError) as caught:
            ecs.validate_task_definition(_fargate(cpu, memory))
        assert caught.value.where == "memory"
        assert f"cpu {cpu}" in caught.value.what
        assert ", ".join(map(str, values)) in caught.value.hint


def test_the_table_matches_the_developer_guide() -> None:
    table = ecs.FARGATE_CPU_MEMORY
    assert table[256] == (512, 1024, 2048)
    assert table[512] == (1024, 2048, 3072, 4096)
    assert table[1024] == (2048, 3072, 4096, 5120, 6144, 7168, 8192)
    assert (table[2048][0], table[2048][-1], len(table[2048])) == (4096, 16384, 13)
    assert (table[4096][0], table[4096][-1], len(table[4096])) == (8192, 30720, 23)
    for cpu, low, high, step in ((8192, 16384, 61440, 4096), (16384, 32768, 122880, 8192)):
        row = table[cpu]
        assert (row[0], row[-1], row[1] - row[0]) == (low, high, step)
        assert all(b - a == step for a, b in itertools.pairwise(row))
    sizes = ecs.fargate_sizes()
    assert list(sizes["choices"]) == [3, 4, 7, 13, 23, 12, 12]
    assert list(sizes["operating systems"]).count("Linux, Windows") == 3


@pytest.mark.parametrize("cpu", [128, 300, 768, 3072, 32768])
def test_a_cpu_value_that_is_no_fargate_size_is_refused(cpu: int) -> None:
    with pytest.raises(InputError) as caught:
        ecs.validate_task_definition(_fargate(cpu, 2048))
    assert caught.value.where == "cpu"
    assert "256, 512, 1024, 2048, 4096, 8192, 16384" in caught.value.hint
    with pytest.raises(InputError):
        ecs.fargate_memory_values(cpu)


@pytest.mark.parametrize(
    ("cpu", "memory", "stored"),
    [
        ("0.25 vCPU", "0.5 GB", ("256", "512")),
        ("1 vcpu", "2GB", ("1024", "2048")),
        ("16 vCPU", "120 GB", ("16384", "122880")),
        (512, 1024, ("512", "1024")),
    ],
)
def test_vcpu_and_gb_strings_are_converted_as_ecs_stores_them(
    cpu: object, memory: object, stored: tuple
) -> None:
    definition = ecs.bookstore_task_definition("v1")
    definition.update(cpu=cpu, memory=memory)
    checked = ecs.validate_task_definition(definition)
    assert (checked["cpu"], checked["memory"]) == stored
    assert definition["cpu"] == cpu  # the input is not changed


@pytest.mark.parametrize("value", ["1.5 cores", "", True, 1.5, "-256"])
def test_unreadable_cpu_values_are_refused(value: object) -> None:
    with pytest.raises(InputError):
        ecs.parse_cpu(value)


def test_windows_tasks_take_one_two_or_four_vcpu() -> None:
    windows = {"operatingSystemFamily": "WINDOWS_SERVER_2022_CORE", "cpuArchitecture": "X86_64"}
    ecs.validate_task_definition(_fargate(1024, 2048, runtimePlatform=windows))
    for cpu, memory in ((512, 1024), (8192, 16384), (16384, 32768)):
        with pytest.raises(InputError) as caught:
            ecs.validate_task_definition(_fargate(cpu, memory, runtimePlatform=windows))
        assert caught.value.where == "cpu"


# --------------------------------------------------------------------------------------------
# The rest of a Fargate task definition
# --------------------------------------------------------------------------------------------


def test_fargate_needs_awsvpc_and_a_task_size() -> None:
    for mode in ("bridge", "host", None):
        with pytest.raises(InputError) as caught:
            ecs.validate_task_definition(_fargate(256, 512, networkMode=mode))
        assert caught.value.where == "networkMode"
    for field in ("cpu", "memory"):
        definition = _fargate(256, 512)
        del definition[field]
        with pytest.raises(InputError) as caught:
            ecs.validate_task_definition(definition)
        assert caught.value.where == field


def _container(definition: dict, **changes: object) -> dict:
    definition = copy.deepcopy(definition)
    definition["containerDefinitions"][0].update(changes)
    return definition


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"cpu": 512}, "containerDefinitions[*].cpu"),
        ({"memory": 1024}, "containerDefinitions[0].memory"),
        ({"memoryReservation": 1024}, "containerDefinitions[*].memory"),
        ({"memory": 256, "memoryReservation": 256}, "containerDefinitions[0].memory"),
        ({"portMappings": [{"containerPort": 8080, "hostPort": 80}]},
         "containerDefinitions[0].portMappings[0].hostPort"),
        ({"essential": False}, "containerDefinitions[*].essential"),
        ({"privileged": True}, "containerDefinitions[0].privileged"),
        ({"links": ["db"]}, "containerDefinitions[0].links"),
        ({"image": ""}, "containerDefinitions[0].image"),
    ],
)  # fmt: skip
def test_container_definitions_are_checked_against_the_task(changes: dict, where: str) -> None:
    with pytest.raises(InputError) as caught:
        ecs.validate_task_definition(_container(_fargate(256, 512), **changes))
    assert caught.value.where == where


def test_containers_may_share_the_task_exactly() -> None:
    definition = _fargate(512, 1024)
    sidecar = {"name": "xray", "image": "amazon/aws-xray-daemon", "cpu": 256, "memory": 512,
               "essential": False}  # fmt: skip
    definition["containerDefinitions"][0].update(cpu=256, memoryReservation=512)
    definition["containerDefinitions"].append(sidecar)
    ecs.validate_task_definition(definition)
    definition["containerDefinitions"].append(dict(sidecar, name="xray"))
    with pytest.raises(InputError, match="two containers"):
        ecs.validate_task_definition(definition)


def test_an_ec2_task_definition_is_not_held_to_fargate_sizes() -> None:
    definition = _fargate(300, 700, requiresCompatibilities=["EC2"], networkMode="bridge")
    assert ecs.validate_task_definition(definition)["cpu"] == "300"
    no_memory = copy.deepcopy(definition)
    del no_memory["memory"]
    with pytest.raises(InputError, match="memory or memoryReservation"):
        ecs.validate_task_definition(no_memory)


@pytest.mark.parametrize("family", ["", "has space", "x" * 256, "bad/slash"])
def test_the_family_name_is_checked(family: str) -> None:
    with pytest.raises(InputError) as caught:
        ecs.validate_task_definition(_fargate(256, 512, family=family))
    assert caught.value.where == "family"


def test_load_balancers_must_name_a_container_and_port_of_the_task() -> None:
    definition = ecs.validate_task_definition(ecs.bookstore_task_definition())
    good = {"targetGroupArn": "arn:tg", "containerName": "bookstore", "containerPort": 8080}
    ecs.check_load_balancers(definition, [good])
    for bad, where in (
        ({"containerName": "web"}, "loadBalancers[0].containerName"),
        ({"containerPort": 80}, "loadBalancers[0].containerPort"),
        ({"targetGroupArn": ""}, "loadBalancers[0].targetGroupArn"),
    ):
        with pytest.raises(InputError) as caught:
            ecs.check_load_balancers(definition, [good | bad])
        assert caught.value.where == where


def test_a_scoped_context_names_resources_of_its_own(ctx) -> None:
    scoped = ecs.scoped(ctx, "ecs")
    assert scoped.name("bookstore") == "labs-ecs-bookstore"
    assert scoped.name("bookstore-green") == "labs-ecs-bookstore-green"  # ≤ 32 for a target group
    assert scoped.region == ctx.region and scoped.is_local == ctx.is_local
    assert scoped.tags(lab="09") == ctx.tags(lab="09")
    assert scoped == ecs.scoped(ctx, "ecs") and hash(scoped) == hash(ecs.scoped(ctx, "ecs"))
    assert scoped != ecs.scoped(ctx, "other")
    with pytest.raises(InputError):
        ecs.scoped(ctx, "Bad-Scope")


# --------------------------------------------------------------------------------------------
# The exercise's check, both ways
# --------------------------------------------------------------------------------------------


def _fixed() -> dict:
    fixed = copy.deepcopy(checks.BROKEN_TASK_DEFINITION)
    fixed.update(networkMode="awsvpc", memory="1024")
    container = fixed["containerDefinitions"][0]
    del container["memory"]
    container["portMappings"] = [{"containerPort": 8080}]
    return fixed


def test_the_broken_task_definition_is_refused_and_its_fix_accepted(capsys) -> None:
    with pytest.raises(InputError):
        ecs.validate_task_definition(checks.BROKEN_TASK_DEFINITION)
    for answer in (None, checks.BROKEN_TASK_DEFINITION, "text"):
        with pytest.raises(CheckFailed):
            checks.task_definition_fixed(answer)
    checks.task_definition_fixed(_fixed())
    assert capsys.readouterr().out.startswith("✔")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"memory": "2048"}, "smallest"),
        ({"cpu": "1024", "memory": "2048"}, "CPU changed"),
        ({"family": "other"}, "family"),
    ],
)
def test_the_check_wants_the_same_task_with_the_least_memory(change: dict, message: str) -> None:
    answer = _fixed() | change
    with pytest.raises(CheckFailed, match=message):
        checks.task_definition_fixed(answer)


# --------------------------------------------------------------------------------------------
# On the emulator
# --------------------------------------------------------------------------------------------


def test_register_reuses_an_identical_revision_and_a_service_reads_back(ctx) -> None:
    import labs.cleanup
    from labs.deploy import aws_resources

    scoped = ecs.scoped(ctx, "t09ecs")
    family = ctx.name("t09-bookstore")
    definition = ecs.bookstore_task_definition("v1", family=family)
    try:
        first = ecs.register_task_definition(ctx, definition, lab=LAB)
        assert ecs.register_task_definition(ctx, definition, lab=LAB) == first
        bigger = ecs.register_task_definition(
            ctx, ecs.bookstore_task_definition("v1", family=family, memory="1024"), lab=LAB
        )
        assert bigger != first
        # the emulator registers any size; validation refuses before anything is sent
        with pytest.raises(InputError):
            ecs.register_task_definition(
                ctx, ecs.bookstore_task_definition("v1", family=family, memory="4096"), lab=LAB
            )
        cluster = scoped.name("bookstore")
        arn = ecs.ensure_cluster(ctx, cluster, lab=LAB)
        assert ecs.ensure_cluster(ctx, cluster, lab=LAB) == arn
        network = aws_resources.ensure_network(scoped, lab=LAB)
        alb = aws_resources.ensure_load_balancer(scoped, network, lab=LAB)
        config = {
            "minimumHealthyPercent": 100,
            "maximumPercent": 200,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
        }
        for _ in range(2):  # idempotent
            service = ecs.ensure_service(
                ctx, cluster=cluster, service="svc", task_definition=first,
                subnets=network.subnet_ids, target_group_arn=alb.target_groups["blue"],
                desired_count=3, deployment_configuration=config, lab=LAB,
            )  # fmt: skip
        assert service["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"]
        summary = ecs.service_summary(ctx, cluster, "svc")
        assert summary["desired"] == 3 and summary["running"] == 0  # the emulator starts none
        assert summary["target group"] == scoped.name("bookstore-blue")
        assert summary["container"] == "bookstore:8080"
        assert summary["image"] == "bookstore:v1"
    finally:
        labs.cleanup.cleanup(ctx, services=["ecs", "elbv2"], lab=LAB)
        aws_resources.delete_network(scoped)
    assert labs.cleanup.inventory(ctx, services=["ecs", "elbv2"], lab=LAB).empty
