"""Unit tests of the payments service."""

from __future__ import annotations

import pytest

from .. import APPROVAL_LIMIT_CENTS, PaymentsApp, WsgiClient


def charge(amount: object, **fields: object) -> dict[str, object]:
    return {"order_id": "ord-1", "amount_cents": amount, "customer_id": "c-1", **fields}


def test_approves_up_to_the_limit() -> None:
    reply = WsgiClient(PaymentsApp()).post("/payments", charge(APPROVAL_LIMIT_CENTS))
    assert reply.status == 201
    assert reply.body["status"] == "approved"
    assert reply.body["id"] == "pay-000001"


def test_declines_over_the_limit_with_402() -> None:
    reply = WsgiClient(PaymentsApp()).post("/payments", charge(APPROVAL_LIMIT_CENTS + 1))
    assert reply.status == 402
    assert reply.body["payment"]["status"] == "declined"
    assert "limit" in reply.body["error"]


def test_limit_is_configurable() -> None:
    assert WsgiClient(PaymentsApp(limit_cents=100)).post("/payments", charge(101)).status == 402


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amount_cents": 5, "customer_id": "c"}, "order_id"),
        (charge("5"), "amount_cents"),
        (charge(0), "amount_cents"),
        (charge(True), "amount_cents"),
        (charge(5, customer_id=""), "customer_id"),
        (charge(5, currency="EUR"), "currency"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(body: dict[str, object], field: str) -> None:
    reply = WsgiClient(PaymentsApp()).post("/payments", body)
    assert reply.status == 400
    assert reply.body["field"] == field


def test_invalid_json_is_400_naming_the_body() -> None:
    reply = WsgiClient(PaymentsApp()).post("/payments", b"{not json")
    assert reply.status == 400
    assert reply.body["field"] == "body"
