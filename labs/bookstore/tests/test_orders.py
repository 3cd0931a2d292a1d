"""Unit tests of the orders service, wired in-process to catalog and payments."""

from __future__ import annotations

import pytest

from .. import FaultSwitch, WsgiClient, make_bookstore


def order(book_id: str = "accelerate", quantity: object = 1, **fields: object) -> dict[str, object]:
    return {"book_id": book_id, "quantity": quantity, "customer_id": "c-1", **fields}


@pytest.fixture
def orders() -> WsgiClient:
    return WsgiClient(make_bookstore(sleep=lambda seconds: None).orders)


def test_places_an_order_and_reads_it_back(orders: WsgiClient) -> None:
    placed = orders.post("/orders", order(quantity=2))
    assert placed.status == 201
    assert placed.body["status"] == "confirmed"
    assert placed.body["amount_cents"] == 2 * 2999
    assert placed.headers["location"] == f"/orders/{placed.body['id']}"
    assert orders.get(f"/orders/{placed.body['id']}").body == placed.body


def test_unknown_book_is_404(orders: WsgiClient) -> None:
    reply = orders.post("/orders", order("no-such-book"))
    assert reply.status == 404
    assert reply.body["field"] == "book_id"


def test_not_enough_stock_is_409(orders: WsgiClient) -> None:
    reply = orders.post("/orders", order("release-it"))
    assert reply.status == 409
    assert reply.body["available"] == 0


def test_declined_payment_is_402_and_the_order_is_kept(orders: WsgiClient) -> None:
    reply = orders.post("/orders", order("continuous-delivery", quantity=10))
    assert reply.status == 402
    kept = orders.get(f"/orders/{reply.body['order']['id']}")
    assert kept.body["status"] == "payment_declined"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (order(quantity=0), "quantity"),
        (order(quantity=2.5), "quantity"),
        (order(quantity=101), "quantity"),
        ({"quantity": 1, "customer_id": "c"}, "book_id"),
        (order(customer_id=7), "customer_id"),
        (order(quantitiy=1), "quantitiy"),
        ([1, 2], "body"),
    ],
)
def test_invalid_orders_are_400_naming_the_field(
    orders: WsgiClient, body: object, field: str
) -> None:
    reply = orders.post("/orders", body)
    assert reply.status == 400
    assert reply.body["field"] == field


def test_unknown_order_is_404(orders: WsgiClient) -> None:
    assert orders.get("/orders/ord-999999").status == 404


def test_a_failing_dependency_is_502_naming_it() -> None:
    store = make_bookstore(faults={"payments": FaultSwitch(error_rate=1.0)})
    reply = WsgiClient(store.orders).post("/orders", order())
    assert reply.status == 502
    assert reply.body["dependency"] == "payments"
