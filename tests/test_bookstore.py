"""Tests of labs.bookstore: the three services, their logs, the fault switch and the server."""

from __future__ import annotations

import io
import json
import logging
import math
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from workshop_processes import listening_addresses

from labs.bookstore import (
    LATENCY_BASELINES,
    LOGGER_NAME,
    SERVICES,
    SOURCE_FILES,
    VERSIONS,
    CatalogApp,
    ConfigError,
    FaultSwitch,
    HttpClient,
    OrdersApp,
    PaymentsApp,
    WsgiClient,
    build_environ,
    configure_logging,
    copy_source,
    fault_for_version,
    make_bookstore,
    package_path,
    version_from_env,
)
from labs.bookstore.server import DEFAULT_HOST, RunningServers, build_parser, main

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_FIELDS = {
    "timestamp",
    "level",
    "service",
    "version",
    "method",
    "path",
    "status",
    "latency_ms",
    "request_id",
    "message",
}


def no_sleep(seconds: float) -> None:
    """A sleep that does not sleep."""


def order(book_id: str = "accelerate", quantity: Any = 1, **fields: Any) -> dict[str, Any]:
    return {"book_id": book_id, "quantity": quantity, "customer_id": "cust-42", **fields}


@pytest.fixture
def logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Capture the services' log lines; calling the fixture returns them parsed."""
    stream = io.StringIO()
    logger = logging.getLogger(LOGGER_NAME)
    level = logger.level
    handler = configure_logging(stream)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


# --- Each endpoint, in-process through WSGI --------------------------------------------------


@pytest.mark.parametrize(
    "app", [CatalogApp(), PaymentsApp(), make_bookstore().orders], ids=lambda a: a.service
)
def test_every_service_has_health(app: Any) -> None:
    reply = WsgiClient(app).get("/health")
    assert reply.status == 200
    assert reply.body == {"status": "ok", "service": app.service, "version": "v1"}
    assert reply.headers["content-type"] == "application/json"


def test_catalog_lists_and_gets_books() -> None:
    client = WsgiClient(CatalogApp())
    books = client.get("/books").body
    assert books["count"] == len(books["books"]) >= 12
    one = books["books"][3]
    assert client.get(f"/books/{one['id']}").body == one
    assert set(one) == {"id", "title", "author", "price_cents", "stock"}


def test_raw_wsgi_call_with_an_environ() -> None:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        captured.update(status=status, headers=dict(headers))

    environ = build_environ("GET", "/books/accelerate", headers={"X-Request-Id": "req-1"})
    body = b"".join(CatalogApp()(environ, start_response))
    assert captured["status"] == "200 OK"
    assert captured["headers"]["X-Request-Id"] == "req-1"
    assert json.loads(body)["id"] == "accelerate"


def test_payments_approves_under_the_limit_and_declines_over_it() -> None:
    client = WsgiClient(PaymentsApp(limit_cents=1000))
    ok = client.post("/payments", {"order_id": "o1", "amount_cents": 1000, "customer_id": "c"})
    assert ok.status == 201 and ok.body["status"] == "approved"
    no = client.post("/payments", {"order_id": "o2", "amount_cents": 1001, "customer_id": "c"})
    assert no.status == 402 and no.body["payment"]["status"] == "declined"


def test_unknown_path_and_wrong_method_answer_in_json() -> None:
    client = WsgiClient(CatalogApp())
    missing = client.get("/nope")
    assert missing.status == 404 and "GET /books" in missing.body["error"]
    wrong = client.post("/books", {})
    assert wrong.status == 405 and wrong.headers["allow"] == "GET"


# --- The order flow across the three services ------------------------------------------------


def test_order_flow_across_three_services(logs: Callable[[], list[dict[str, Any]]]) -> None:
    store = make_bookstore(sleep=no_sleep)
    client = WsgiClient(store.orders)
    placed = client.post("/orders", order(quantity=3), headers={"X-Request-Id": "flow-1"})
    assert placed.status == 201
    assert placed.body == {
        "id": "ord-000001",
        "book_id": "accelerate",
        "title": "Accelerate",
        "quantity": 3,
        "customer_id": "cust-42",
        "unit_price_cents": 2999,
        "amount_cents": 8997,
        "status": "confirmed",
        "payment_id": "pay-000001",
    }
    assert store.payments.payments["pay-000001"]["amount_cents"] == 8997
    assert client.get("/orders/ord-000001").body == placed.body
    flow = [line for line in logs() if line["request_id"] == "flow-1"]
    assert [(line["service"], line["path"], line["status"]) for line in flow] == [
        ("catalog", "/books/accelerate", 200),
        ("payments", "/payments", 201),
        ("orders", "/orders", 201),
    ]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"", 400, "body"),
        (order(quantity="2"), 400, "quantity"),
        (order(quantity=0), 400, "quantity"),
        (order(customer_id=""), 400, "customer_id"),
        (order(colour="red"), 400, "colour"),
        (order("no-such-book"), 404, "book_id"),
        (order("release-it"), 409, "quantity"),
    ],
)
def test_order_errors_name_the_field(body: Any, status: int, field: str) -> None:
    reply = WsgiClient(make_bookstore().orders).post("/orders", body)
    assert reply.status == status
    assert reply.body["status"] == status
    assert reply.body["field"] == field
    assert reply.body["error"]


def test_declined_payment_is_402_with_the_kept_order() -> None:
    client = WsgiClient(make_bookstore().orders)
    reply = client.post("/orders", order("infrastructure-as-code", quantity=9))
    assert reply.status == 402
    assert "declined" in reply.body["error"]
    kept = client.get(f"/orders/{reply.body['order']['id']}").body
    assert kept["status"] == "payment_declined"
    assert kept["amount_cents"] == 9 * 5999


def test_broken_dependency_is_502_naming_it() -> None:
    store = make_bookstore(faults={"catalog": FaultSwitch(error_rate=1.0)})
    reply = WsgiClient(store.orders).post("/orders", order())
    assert reply.status == 502
    assert reply.body["dependency"] == "catalog"


def test_unreachable_dependency_over_http_is_502() -> None:
    with RunningServers() as servers:
        url = servers.start("payments", PaymentsApp())
    orders = OrdersApp(WsgiClient(CatalogApp()), HttpClient(url, timeout=2))
    reply = WsgiClient(orders).post("/orders", order())
    assert reply.status == 502
    assert reply.body["dependency"] == "payments"
    assert "unavailable" in reply.body["error"]


def test_orders_calls_dependencies_over_http_on_127_0_0_1() -> None:
    with RunningServers() as servers:
        catalog = servers.start("catalog", CatalogApp())
        payments = servers.start("payments", PaymentsApp())
        orders = servers.start("orders", OrdersApp(HttpClient(catalog), HttpClient(payments)))
        assert all(url.startswith("http://127.0.0.1:") for url in servers.urls.values())
        reply = HttpClient(orders).post("/orders", order(), headers={"X-Request-Id": "h-1"})
        assert reply.status == 201
        assert reply.headers["x-request-id"] == "h-1"
        assert HttpClient(orders).post("/orders", order("nope")).status == 404


def test_combined_app_serves_all_paths_on_one_port() -> None:
    client = WsgiClient(make_bookstore(versions={"orders": "v2"}).combined())
    assert client.get("/health").body["versions"] == {
        "catalog": "v1",
        "orders": "v2",
        "payments": "v1",
    }
    assert client.get("/books/accelerate").status == 200
    assert client.post("/orders", order()).status == 201
    assert client.get("/elsewhere").status == 404


def test_make_bookstore_refuses_unknown_service_names() -> None:
    with pytest.raises(ConfigError, match="unknown service"):
        make_bookstore(versions={"inventory": "v1"})


# --- Structured JSON logs --------------------------------------------------------------------


def test_one_json_log_line_per_request(logs: Callable[[], list[dict[str, Any]]]) -> None:
    client = WsgiClient(CatalogApp(version="v9"))
    client.get("/books", headers={"X-Request-Id": "abc-123"})
    client.get("/books/nope")
    ok, missing = logs()
    assert set(ok) == LOG_FIELDS
    assert ok["level"] == "INFO" and "error" not in ok
    assert (ok["service"], ok["version"], ok["method"], ok["path"], ok["status"]) == (
        "catalog",
        "v9",
        "GET",
        "/books",
        200,
    )
    assert ok["request_id"] == "abc-123"
    stamp = datetime.fromisoformat(ok["timestamp"])
    assert ok["timestamp"].endswith("Z") and stamp.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert isinstance(ok["latency_ms"], float) and ok["latency_ms"] >= 0
    assert missing["status"] == 404 and missing["level"] == "WARNING"
    assert "nope" in missing["error"]
    assert re.fullmatch(r"[0-9a-f]{32}", missing["request_id"])


def test_unsafe_request_ids_are_replaced(logs: Callable[[], list[dict[str, Any]]]) -> None:
    reply = WsgiClient(CatalogApp()).get("/health", headers={"X-Request-Id": 'x"\n{evil}'})
    assert re.fullmatch(r"[0-9a-f]{32}", reply.headers["x-request-id"])
    assert logs()[0]["request_id"] == reply.headers["x-request-id"]


def test_unexpected_exception_is_500_logged_with_error(
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    app = CatalogApp(request_id_factory=lambda: "fixed-id")
    app.books = None  # type: ignore[assignment]  # break the handler on purpose
    reply = WsgiClient(app).get("/books")
    assert reply.status == 500 and "fixed-id" in reply.body["error"]
    line = logs()[0]
    assert line["level"] == "ERROR" and line["status"] == 500
    assert line["error"].startswith("internal error: AttributeError")
    assert "Traceback" in line["exception"]


# --- The fault switch ------------------------------------------------------------------------


def statuses(app: Any, n: int) -> list[int]:
    client = WsgiClient(app)
    return [client.get("/books/accelerate").status for _ in range(n)]


def test_error_rate_one_always_fails(logs: Callable[[], list[dict[str, Any]]]) -> None:
    app = CatalogApp(version="v2-broken", fault=FaultSwitch(error_rate=1.0))
    assert set(statuses(app, 50)) == {500}
    assert WsgiClient(app).get("/health").status == 200  # health checks still pass
    lines = logs()
    assert all(
        line["level"] == "ERROR" and "injected fault" in line["error"] for line in lines[:50]
    )


def test_error_rate_zero_never_fails() -> None:
    assert set(statuses(CatalogApp(fault=FaultSwitch(error_rate=0.0, seed=1)), 500)) == {200}


def test_error_rate_quarter_lands_near_25_percent_and_is_seeded() -> None:
    first = statuses(CatalogApp(fault=FaultSwitch(error_rate=0.25, seed=7)), 2000)
    rate = first.count(500) / len(first)
    assert abs(rate - 0.25) < 0.035  # ~3.6 standard deviations of a binomial(2000, 0.25)
    again = statuses(CatalogApp(fault=FaultSwitch(error_rate=0.25, seed=7)), 2000)
    assert again == first
    other = statuses(CatalogApp(fault=FaultSwitch(error_rate=0.25, seed=8)), 2000)
    assert other != first


def test_added_latency_goes_to_sleep_and_to_the_log(
    logs: Callable[[], list[dict[str, Any]]],
) -> None:
    slept: list[float] = []
    ticks = iter(i * 0.002 for i in range(100))  # each clock read advances 2 ms
    app = CatalogApp(
        fault=FaultSwitch(added_latency_ms=400), sleep=slept.append, clock=lambda: next(ticks)
    )
    assert WsgiClient(app).get("/books").status == 200
    WsgiClient(app).get("/health")
    assert slept == [0.4]  # /health is not slowed
    books, health = logs()
    assert books["latency_ms"] == pytest.approx(402.0)
    assert health["latency_ms"] == pytest.approx(2.0)


def test_real_sleep_is_the_default() -> None:
    app = CatalogApp(fault=FaultSwitch(added_latency_ms=50))
    start = time.perf_counter()
    WsgiClient(app).get("/books")
    assert time.perf_counter() - start >= 0.045


def test_versions_registry() -> None:
    assert set(VERSIONS) >= {"v1", "v2", "v2-bad", "v2-slow"}
    bad = VERSIONS["v2-bad"]
    assert (bad.error_rate, bad.added_latency_ms) == (0.25, 400)
    assert VERSIONS["v2-slow"].error_rate == 0 and VERSIONS["v2-slow"].added_latency_ms > 0
    assert fault_for_version("v42") == FaultSwitch()
    with pytest.raises(TypeError):
        VERSIONS["v3"] = FaultSwitch()  # type: ignore[index]
    store = make_bookstore(versions={"payments": "v2-bad"})
    assert store.payments.fault == bad and store.orders.fault == FaultSwitch()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"error_rate": 1.01},
        {"error_rate": -0.5},
        {"error_rate": float("nan")},
        {"added_latency_ms": -5},
        {"error_rate": "0.1"},
        {"seed": 1.5},
    ],
)
def test_fault_switch_refuses_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        FaultSwitch(**kwargs)


def test_fault_switch_from_environment_variables() -> None:
    assert FaultSwitch.from_env({}) == FaultSwitch()
    assert version_from_env({}) == "v1"
    assert version_from_env({"BOOKSTORE_VERSION": " v2-bad "}) == "v2-bad"
    assert FaultSwitch.from_env({"BOOKSTORE_VERSION": "v2-bad"}) == VERSIONS["v2-bad"]
    env = {
        "BOOKSTORE_VERSION": "v2-bad",
        "BOOKSTORE_ERROR_RATE": "0.5",
        "BOOKSTORE_ADDED_LATENCY_MS": "",
        "BOOKSTORE_SEED": "3",
    }
    assert FaultSwitch.from_env(env) == FaultSwitch(error_rate=0.5, added_latency_ms=400, seed=3)
    assert FaultSwitch.from_env({"BOOKSTORE_ADDED_LATENCY_MS": "75"}, version="v2-slow") == (
        FaultSwitch(added_latency_ms=75)
    )
    with pytest.raises(ConfigError, match="BOOKSTORE_ERROR_RATE='lots'"):
        FaultSwitch.from_env({"BOOKSTORE_ERROR_RATE": "lots"})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        FaultSwitch.from_env({"BOOKSTORE_ERROR_RATE": "25"})


def test_command_line_refuses_bad_settings_before_starting(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([], environ={"BOOKSTORE_ERROR_RATE": "lots"})
    assert exit_info.value.code == 2
    assert "BOOKSTORE_ERROR_RATE" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--port", "8080"], environ={})
    assert "--port needs --service" in capsys.readouterr().err


def test_command_line_options() -> None:
    args = build_parser().parse_args(
        [
            "--service",
            "orders",
            "--port",
            "9000",
            "--version",
            "v2-bad",
            "--error-rate",
            "0.1",
            "--added-latency-ms",
            "5",
        ]
    )
    assert (args.service, args.port, args.version) == ("orders", 9000, "v2-bad")
    assert (args.error_rate, args.added_latency_ms, args.host) == (0.1, 5.0, "127.0.0.1")
    assert DEFAULT_HOST == "127.0.0.1"


def test_latency_baselines_are_data_for_the_simulator() -> None:
    assert set(LATENCY_BASELINES) == set(SERVICES)
    for baseline in LATENCY_BASELINES.values():
        mu, sigma = baseline.lognormal_params()
        assert math.exp(mu) == pytest.approx(baseline.median_ms)
        assert math.exp(mu + 2.3263478740408408 * sigma) == pytest.approx(baseline.p99_ms)


# --- The server process ----------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc/net/tcp")
def test_server_process_serves_an_order_on_127_0_0_1_and_stops_cleanly() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BOOKSTORE_VERSION": "v2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "labs.bookstore"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        urls: dict[str, str] = {}
        deadline = time.monotonic() + 20
        while not any("running" in line for line in output):
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the server did not start; output so far: {output}")
            output.append(line)
            found = re.match(r"^(catalog|orders|payments)\s+(http://\S+)$", line.strip())
            if found:
                urls[found[1]] = found[2]
        assert set(urls) == {"catalog", "orders", "payments"}
        for url in urls.values():
            host, port = url.removeprefix("http://").split(":")
            assert host == "127.0.0.1"
            assert listening_addresses(int(port)) == {"0100007F"}  # 127.0.0.1, nothing else

        request = urllib.request.Request(
            urls["orders"] + "/orders",
            data=json.dumps(order(quantity=2)).encode(),
            headers={"Content-Type": "application/json", "X-Request-Id": "proc-1"},
            method="POST",
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as reply:
            assert reply.status == 201
            assert json.loads(reply.read())["status"] == "confirmed"
        health = HttpClient(urls["catalog"]).get("/health")
        assert health.body["version"] == "v2"

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        reader.join(timeout=5)
        while not lines.empty():
            output.append(lines.get())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert any("bookstore stopped" in line for line in output)
    logged = [json.loads(line) for line in output if line.startswith("{")]
    assert {line["service"] for line in logged if line["request_id"] == "proc-1"} == set(SERVICES)
    for url in urls.values():
        assert not listening_addresses(int(url.rsplit(":", 1)[1]))


def test_the_bookstore_alone_imports_no_aws_library_and_no_labs_module(tmp_path: Path) -> None:
    copy_source(tmp_path)
    code = (
        "import sys, bookstore; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'boto3', 'botocore', 'moto', "
        "'labs', 'requests', 'numpy', 'pandas'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


# --- The package data files: tests, buildspec, Dockerfile, appspec ---------------------------


def test_package_data_files_are_shipped() -> None:
    folder = package_path()
    for name in SOURCE_FILES:
        assert (folder / name).is_file(), name
    assert (folder / "tests" / "__init__.py").is_file()


def test_buildspec_is_codebuild_v0_2_with_junit_report_and_artifacts() -> None:
    spec = yaml.safe_load((package_path() / "buildspec.yml").read_text())
    assert spec["version"] == 0.2
    assert list(spec["phases"]) == ["install", "pre_build", "build", "post_build"]
    assert all(phase["commands"] for phase in spec["phases"].values())
    assert any("pytest" in cmd for cmd in spec["phases"]["build"]["commands"])
    (report,) = spec["reports"].values()
    assert report["file-format"] == "JUNITXML"
    assert spec["artifacts"]["files"] == ["**/*"]


def test_appspec_is_an_ecs_appspec() -> None:
    spec = yaml.safe_load((package_path() / "appspec.yaml").read_text())
    assert spec["version"] == 0.0
    (resource,) = spec["Resources"]
    service = resource["TargetService"]
    assert service["Type"] == "AWS::ECS::Service"
    assert service["Properties"]["TaskDefinition"] == "<TASK_DEFINITION>"
    assert service["Properties"]["LoadBalancerInfo"] == {
        "ContainerName": "bookstore",
        "ContainerPort": 8080,
    }


def test_dockerfile_follows_the_best_practices_lab_08_checks() -> None:
    text = (package_path() / "Dockerfile").read_text()
    instructions = [
        line.split()[0] for line in text.splitlines() if line and not line.startswith((" ", "#"))
    ]
    assert instructions.count("FROM") >= 2  # multi-stage
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11\.7-slim$", text, re.M)  # pinned base
    assert "latest" not in text
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in instructions and "EXPOSE 8080" in text
    assert not re.search(r"(?i)(secret|password|aws_access_key)", text)
    ignored = (package_path() / ".dockerignore").read_text().split()
    assert "**/__pycache__" in ignored and ".git" in ignored


def test_copy_source_leaves_caches_behind(tmp_path: Path) -> None:
    target = copy_source(tmp_path, name="shop")
    assert (target / "__init__.py").is_file() and (target / "Dockerfile").is_file()
    assert not list(target.rglob("__pycache__"))
    with pytest.raises(FileExistsError):
        copy_source(tmp_path, name="shop")


def test_bookstore_own_tests_pass_when_copied_elsewhere(tmp_path: Path) -> None:
    copy_source(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "bookstore/tests",
            "-q",
            "-p",
            "no:cacheprovider",
            "--junitxml=reports/junit.xml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\d+ passed", result.stdout)
    assert (tmp_path / "reports" / "junit.xml").read_text().startswith("<?xml")
    helped = subprocess.run(
        [sys.executable, "-m", "bookstore", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert helped.returncode == 0 and "--error-rate" in helped.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_buildspec_build_commands_run_the_tests_and_package(tmp_path: Path) -> None:
    copy_source(tmp_path)
    spec = yaml.safe_load((package_path() / "buildspec.yml").read_text())
    env = {
        **os.environ,
        **spec["env"]["variables"],
        "CODEBUILD_BUILD_SUCCEEDING": "1",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    for phase in ("pre_build", "build", "post_build"):
        for command in spec["phases"][phase]["commands"]:
            done = subprocess.run(
                ["bash", "-ec", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, f"{phase}: {command}\n{done.stdout}{done.stderr}"
    report = spec["reports"]["bookstore-unit-tests"]
    assert (tmp_path / report["base-directory"] / report["files"][0]).is_file()
    dist = tmp_path / spec["artifacts"]["base-directory"]
    assert (dist / "appspec.yaml").is_file() and (dist / "bookstore" / "__main__.py").is_file()
    assert not (dist / "bookstore" / "tests").exists()
    assert not list(dist.rglob("__pycache__"))
