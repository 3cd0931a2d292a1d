"""EKS: node group checks, Kubernetes manifests from data, the rolling update math (lab 09)."""

from __future__ import annotations

import copy
import itertools

import pytest
import yaml

from labs.containers import eks
from labs.containers import orchestration_checks as checks
from labs.errors import CheckFailed, InputError

LAB = "t09"


# --------------------------------------------------------------------------------------------
# maxSurge / maxUnavailable: the documented rounding
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "resolved"),
    [
        (4, "25%", "25%", (1, 1)),
        (10, "25%", "25%", (3, 2)),  # surge rounds up (2.5 → 3), unavailable down (2.5 → 2)
        (3, "25%", "25%", (1, 0)),
        (10, "30%", "30%", (3, 3)),
        (10, "31%", "31%", (4, 3)),
        (4, 1, 0, (1, 0)),
        (4, 0, 1, (0, 1)),
        (4, "100%", "0%", (4, 0)),
        (3, 0, "10%", (0, 1)),  # both resolve to 0: maxUnavailable becomes 1
        (2, "0%", "1%", (0, 1)),  # ResolveFenceposts' own examples
        (1, "0%", "1%", (0, 1)),
        (2, "1%", "25%", (1, 0)),
        (2, "1%", "0%", (1, 0)),
        (0, "25%", "25%", (0, 1)),
    ],
)
def test_percentages_resolve_as_the_deployment_controller_does(
    replicas: int, surge: object, unavailable: object, resolved: tuple
) -> None:
    assert eks.resolve_rolling_update(replicas, surge, unavailable) == resolved


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", 0), (0, "0%"), ("0%", "0%")])
def test_both_zero_is_invalid(surge: object, unavailable: object) -> None:
    with pytest.raises(InputError, match="cannot both be 0"):
        eks.resolve_rolling_update(4, surge, unavailable)


@pytest.mark.parametrize("value", ["25", "25.5%", "-1%", -1, True, 2.5, None])
def test_malformed_values_are_refused(value: object) -> None:
    with pytest.raises(InputError) as caught:
        eks.resolve_rolling_update(4, value, "25%")
    assert caught.value.where == "rollingUpdate.maxSurge"


def _controller_steps(replicas: int, surge: object, unavailable: object) -> list[str]:
    frame = eks.rolling_update(replicas, surge, unavailable)
    return [step for row in frame["controller"] if row for step in row.split(", ")]


def test_the_controller_orders_steps_as_resolve_fenceposts_documents() -> None:
    # "2 desired, max unavailable 1%, surge 0% - should scale old(-1), then new(+1), then
    # old(-1), then new(+1)"; "2 desired, max unavailable 0%, surge 1% - should scale new(+1),
    # then old(-1), then new(+1), then old(-1)"
    assert _controller_steps(2, "0%", "1%") == ["old -1", "new +1", "old -1", "new +1"]
    assert _controller_steps(1, "0%", "1%") == ["old -1", "new +1"]
    assert _controller_steps(2, "1%", "25%") == ["new +1", "old -1", "new +1", "old -1"]
    assert _controller_steps(2, "1%", "0%") == ["new +1", "old -1", "new +1", "old -1"]
    assert _controller_steps(1, "1%", "0%") == ["new +1", "old -1"]


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable"),
    list(itertools.product([1, 3, 4, 10], [0, 1, "25%", "50%", "100%"], [0, 1, "25%", "50%"])),
)
def test_every_rollout_stays_within_its_bounds_and_finishes(
    replicas: int, surge: object, unavailable: object
) -> None:
    if surge in (0, "0%") and unavailable in (0, "0%"):
        pytest.skip("invalid")
    up, down = eks.resolve_rolling_update(replicas, surge, unavailable)
    frame = eks.rolling_update(replicas, surge, unavailable)
    assert (frame["total"] <= replicas + up).all()
    assert (frame["available"] >= replicas - down).all()
    last = frame.iloc[-1]
    assert (last["old"], last["new_ready"], last["new_starting"]) == (0, replicas, 0)
    assert (frame["total"] == frame["old"] + frame["new_ready"] + frame["new_starting"]).all()


def test_the_default_rollout_of_ten_pods() -> None:
    frame = eks.rolling_update(10)
    assert list(frame["controller"]) == ["new +3, old -2, new +2", "old -5, new +5", "old -3"]
    assert list(frame["available"]) == [8, 8, 10]
    assert frame["total"].max() == 13


def test_pods_that_take_longer_to_get_ready_slow_the_rollout() -> None:
    quick = eks.rolling_update(4, 1, 0)
    slow = eks.rolling_update(4, 1, 0, ready_minutes=3)
    assert len(slow) > len(quick)
    assert slow["available"].min() == 4
    with pytest.raises(InputError):
        eks.rolling_update(4, 1, 0, ready_minutes=0)


# --------------------------------------------------------------------------------------------
# Manifests from data, validated offline
# --------------------------------------------------------------------------------------------


def test_the_bookstore_manifests_are_valid_kubernetes_1_35() -> None:
    docs = eks.manifests(eks.bookstore_apps())
    kinds = [d["kind"] for d in docs]
    assert kinds == ["Namespace"] + ["Deployment", "Service", "HorizontalPodAutoscaler"] * 3
    report = eks.validate(docs)
    assert list(report["result"].unique()) == ["valid (schema 1.35)"]
    for doc in docs[1:]:
        assert doc["metadata"]["namespace"] == "bookstore"
    orders = next(
        d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "orders"
    )
    env = {
        e["name"]: e["value"] for e in orders["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["BOOKSTORE_CATALOG_URL"] == "http://catalog.bookstore.svc.cluster.local"
    assert (
        orders["spec"]["selector"]["matchLabels"]
        == orders["spec"]["template"]["metadata"]["labels"]
    )


def test_manifests_follow_the_data() -> None:
    app = eks.App("search", "registry/search:v7", version="v7", replicas=5, max_surge=2,
                  max_unavailable=0, max_replicas=20, cpu_target=70, min_replicas=4)  # fmt: skip
    deployment, service, hpa = (
        eks.deployment(app),
        eks.service(app),
        eks.horizontal_pod_autoscaler(app),
    )
    assert deployment["spec"]["replicas"] == 5
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 0}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry/search:v7"
    assert "search" in container["args"]
    assert service["spec"]["selector"] == app.labels
    assert hpa["spec"]["minReplicas"] == 4 and hpa["spec"]["maxReplicas"] == 20
    target = hpa["spec"]["metrics"][0]["resource"]["target"]
    assert target == {"type": "Utilization", "averageUtilization": 70}
    assert eks.validate([deployment, service, hpa])["result"].str.startswith("valid").all()


@pytest.mark.parametrize("name", ["Orders", "orders_v2", "-orders", "x" * 64, ""])
def test_app_names_must_be_dns_labels(name: str) -> None:
    with pytest.raises(InputError):
        eks.App(name, "image")


def test_yaml_round_trips_without_anchors() -> None:
    docs = eks.manifests(eks.bookstore_apps())
    text = eks.to_yaml(docs)
    assert "&id" not in text and "*id" not in text
    assert list(yaml.safe_load_all(text)) == docs
    assert text.count("\n---\n") == len(docs) - 1


def _orders(docs: list) -> dict:
    return copy.deepcopy(docs[4])


@pytest.mark.parametrize(
    ("mutate", "where", "what"),
    [
        (lambda d: d["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(
            containerPort="8080"),
         "Deployment/orders: spec.template.spec.containers.0.ports.0.containerPort",
         "is not of type 'integer'"),
        (lambda d: d["spec"].update(replica=3), "Deployment/orders: spec",
         "'replica' was unexpected"),
        (lambda d: d["spec"].pop("selector"), "Deployment/orders: spec",
         "'selector' is a required"),
        (lambda d: d["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "x"}),
         "Deployment/orders: spec.template.metadata.labels", "selector does not match"),
        (lambda d: d["spec"]["strategy"]["rollingUpdate"].update(maxSurge=0, maxUnavailable=0),
         "Deployment/orders: spec.strategy.rollingUpdate", "cannot both be 0"),
    ],
)  # fmt: skip
def test_a_broken_deployment_is_refused_with_its_field(mutate, where: str, what: str) -> None:
    docs = eks.manifests(eks.bookstore_apps())
    doc = _orders(docs)
    mutate(doc)
    with pytest.raises(InputError) as caught:
        eks.validate_manifest(doc, docs)
    assert caught.value.where == where
    assert what in caught.value.what
    report = eks.validate([*docs[:4], doc, *docs[5:]])
    assert report.loc[4, "result"].startswith(where)


def test_semantic_checks_across_manifests() -> None:
    docs = eks.manifests(eks.bookstore_apps())
    hpa = copy.deepcopy(docs[6])
    hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"] = 9, 3
    with pytest.raises(InputError, match="above maxReplicas"):
        eks.validate_manifest(hpa, docs)
    hpa = copy.deepcopy(docs[6])
    hpa["spec"]["scaleTargetRef"]["name"] = "missing"
    with pytest.raises(InputError, match="not in these manifests"):
        eks.validate_manifest(hpa, docs)
    no_requests = copy.deepcopy(docs[4])
    del no_requests["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]
    with pytest.raises(InputError, match="CPU request"):
        eks.validate_manifest(docs[6], [*docs[:4], no_requests, *docs[5:]])
    service = copy.deepcopy(docs[5])
    service["spec"]["selector"] = {"app.kubernetes.io/name": "nobody"}
    with pytest.raises(InputError, match="no endpoints"):
        eks.validate_manifest(service, docs)
    service = copy.deepcopy(docs[5])
    service["spec"]["ports"][0]["targetPort"] = "web"
    with pytest.raises(InputError, match="targetPort 'web'"):
        eks.validate_manifest(service, docs)


def test_an_api_version_kubernetes_no_longer_serves_is_refused() -> None:
    hpa = copy.deepcopy(eks.manifests(eks.bookstore_apps())[3])
    hpa["apiVersion"] = "autoscaling/v2beta2"  # removed in Kubernetes 1.26
    with pytest.raises(InputError, match="no HorizontalPodAutoscaler"):
        eks.validate_manifest(hpa)
    with pytest.raises(InputError):
        eks.validate_manifest({"kind": "Deployment"})


# --------------------------------------------------------------------------------------------
# Node groups and costs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "where"),
    [
        ((4, 2, 3), "scalingConfig.minSize"),
        ((1, 3, 5), "scalingConfig.desiredSize"),
        ((2, 6, 1), "scalingConfig.desiredSize"),
        ((-1, 3, 2), "minSize"),
        ((0, 0, 0), "maxSize"),
        ((1, 3, 2, 0), "maxUnavailable"),
        ((1, 3, 2, 101), "updateConfig.maxUnavailable"),
    ],
)
def test_node_group_scaling_is_checked_as_eks_does(args: tuple, where: str) -> None:
    with pytest.raises(InputError) as caught:
        eks.check_scaling(*args)
    assert caught.value.where == where


def test_the_control_plane_cost() -> None:
    cost = eks.control_plane_cost(730)
    assert list(cost["USD per 730 h"]) == [73.0, 438.0]
    assert eks.KUBERNETES_VERSION in set(eks.EKS_VERSIONS["version"])
    from kubernetes_validate.utils import all_versions

    assert any(v.startswith(eks.KUBERNETES_VERSION + ".") for v in all_versions())


def test_the_rolling_update_plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = eks.plot_rolling_update(eks.rolling_update(10), title="t")
    ax = fig.axes[0]
    assert ax.get_title() == "t" and ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The exercise's check, both ways
# --------------------------------------------------------------------------------------------


def test_the_full_capacity_check(capsys) -> None:
    for answer, message in (
        (None, "no answer"),
        ({"maxSurge": 1}, "exactly maxSurge and maxUnavailable"),
        ({"maxSurge": "25%", "maxUnavailable": "25%"}, "takes pods out of service"),
        ({"maxSurge": 1, "maxUnavailable": 0}, "too slow"),
        ({"maxSurge": "100%", "maxUnavailable": 0}, "more pods"),
        ({"maxSurge": 0, "maxUnavailable": 0}, "would refuse"),
    ):
        with pytest.raises(CheckFailed, match=message):
            checks.full_capacity_rollout(answer)
    for answer in (
        {"maxSurge": "50%", "maxUnavailable": 0},
        {"maxSurge": 2, "maxUnavailable": "0%"},
    ):
        checks.full_capacity_rollout(answer)
        assert capsys.readouterr().out.startswith("✔")


# --------------------------------------------------------------------------------------------
# On the emulator
# --------------------------------------------------------------------------------------------


def test_cluster_and_node_group_in_the_emulator(ctx) -> None:
    import labs.cleanup
    from labs.containers import ecs
    from labs.deploy import aws_resources

    scoped = ecs.scoped(ctx, "t09eks")
    services = ["eks", "iam"]
    try:
        network = aws_resources.ensure_network(scoped, lab=LAB)
        roles = eks.ensure_roles(scoped, lab=LAB)
        assert roles == eks.ensure_roles(scoped, lab=LAB)
        name = scoped.name("cluster")
        cluster = eks.ensure_cluster(
            ctx, name, subnet_ids=network.subnet_ids, role_arn=roles["cluster"], lab=LAB
        )
        assert (cluster["status"], cluster["version"]) == ("ACTIVE", eks.KUBERNETES_VERSION)
        assert (
            eks.ensure_cluster(
                ctx, name, subnet_ids=network.subnet_ids, role_arn=roles["cluster"], lab=LAB
            )["arn"]
            == cluster["arn"]
        )
        group = eks.ensure_nodegroup(
            ctx, name, "nodes", subnet_ids=network.subnet_ids, node_role_arn=roles["node"],
            min_size=1, max_size=4, desired_size=2, lab=LAB,
        )  # fmt: skip
        assert group["status"] == "ACTIVE" and group["version"] == eks.KUBERNETES_VERSION
        assert group["scalingConfig"] == {"minSize": 1, "maxSize": 4, "desiredSize": 2}
        with pytest.raises(InputError):  # refused before the emulator, which would store it
            eks.ensure_nodegroup(
                ctx, name, "bad", subnet_ids=network.subnet_ids, node_role_arn=roles["node"],
                min_size=5, max_size=2, desired_size=3, lab=LAB,
            )  # fmt: skip
    finally:
        labs.cleanup.cleanup(ctx, services=services, lab=LAB)
        aws_resources.delete_network(scoped)
    assert labs.cleanup.inventory(ctx, services=services, lab=LAB).empty
