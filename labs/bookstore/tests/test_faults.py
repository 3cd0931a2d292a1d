"""Unit tests of the fault switch and the registered versions."""

from __future__ import annotations

import pytest

from .. import VERSIONS, CatalogApp, ConfigError, FaultSwitch, WsgiClient


def test_healthy_versions_inject_nothing() -> None:
    assert VERSIONS["v1"].is_healthy and VERSIONS["v2"].is_healthy
    assert not VERSIONS["v2-bad"].is_healthy


def test_error_rate_one_fails_every_request_but_health() -> None:
    client = WsgiClient(CatalogApp(fault=FaultSwitch(error_rate=1.0)))
    assert all(client.get("/books").status == 500 for _ in range(20))
    assert client.get("/health").status == 200


def test_added_latency_goes_to_the_sleep_function() -> None:
    slept: list[float] = []
    app = CatalogApp(fault=FaultSwitch(added_latency_ms=250), sleep=slept.append)
    WsgiClient(app).get("/books")
    assert slept == [0.25]


@pytest.mark.parametrize(
    "bad", [{"error_rate": 1.5}, {"error_rate": -0.1}, {"added_latency_ms": -1}]
)
def test_out_of_range_values_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        FaultSwitch(**bad)
