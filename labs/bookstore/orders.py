"""The orders service: takes an order, checks the book with catalog, charges with payments.

Routes: ``GET /health``, ``POST /orders``, ``GET /orders/{order_id}``. ``POST /orders`` takes
``{"book_id", "quantity", "customer_id"}`` and answers:

- 201 with the confirmed order when the book exists, is in stock and the payment is approved;
- 400 naming the field when the body is not valid; 404 when the book is unknown;
- 409 when there is not enough stock; 402 when payments declines (the order is kept, with
  status ``"payment_declined"``);
- 502 naming the dependency when catalog or payments fails or cannot be reached.

The two dependencies are :class:`~.web.ServiceClient` objects, so the same code calls them in
the same process (:class:`~.web.WsgiClient`) or over HTTP (:class:`~.web.HttpClient`). The
request id is passed on to both in ``X-Request-Id``, so one id follows an order through the
three services' logs.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from .web import (
    REQUEST_ID_HEADER,
    ClientResponse,
    DependencyError,
    HttpError,
    Request,
    Response,
    ServiceApp,
    ServiceClient,
    reject_unknown,
    require_int,
    require_str,
)

__all__ = ["MAX_QUANTITY", "OrdersApp"]

MAX_QUANTITY = 100
"""Most copies of one book in a single order."""


class OrdersApp(ServiceApp):
    """The orders service as a WSGI application.

    Args:
        catalog: Client of the catalog service.
        payments: Client of the payments service.
        **options: Passed to :class:`~.web.ServiceApp` (``version``, ``fault``, ``sleep``,
            ``clock``, ``logger``, ``request_id_factory``).
    """

    FIELDS = ("book_id", "quantity", "customer_id")

    def __init__(self, catalog: ServiceClient, payments: ServiceClient, **options: Any) -> None:
        super().__init__("orders", **options)
        self.catalog = catalog
        self.payments = payments
        self.orders: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.router.add("POST", "/orders", self.create_order)
        self.router.add("GET", "/orders/{order_id}", self.get_order)

    def create_order(self, request: Request) -> Response:
        """Handle ``POST /orders`` (see the module docstring for every outcome)."""
        body = request.json_object()
        reject_unknown(body, self.FIELDS)
        book_id = require_str(body, "book_id")
        quantity = require_int(body, "quantity", minimum=1, maximum=MAX_QUANTITY)
        customer_id = require_str(body, "customer_id")
        headers = {REQUEST_ID_HEADER: request.request_id}

        found = self._call("catalog", self.catalog, "GET", f"/books/{book_id}", None, headers)
        if found.status == 404:
            raise HttpError(
                404,
                f"unknown book {book_id!r}; GET /books on catalog lists the ids",
                field="book_id",
            )
        book = self._expect("catalog", found, 200)
        if book["stock"] < quantity:
            raise HttpError(
                409,
                f"not enough stock of {book_id!r}: {quantity} wanted, {book['stock']} available",
                field="quantity",
                extra={"available": book["stock"]},
            )

        with self._lock:
            order_id = f"ord-{next(self._ids):06d}"
        amount = book["price_cents"] * quantity
        order: dict[str, Any] = {
            "id": order_id,
            "book_id": book_id,
            "title": book["title"],
            "quantity": quantity,
            "customer_id": customer_id,
            "unit_price_cents": book["price_cents"],
            "amount_cents": amount,
            "status": "pending",
            "payment_id": None,
        }
        charge = {"order_id": order_id, "amount_cents": amount, "customer_id": customer_id}
        paid = self._call("payments", self.payments, "POST", "/payments", charge, headers)
        if paid.status == 402:
            payment = paid.body.get("payment", {}) if isinstance(paid.body, dict) else {}
            order.update(status="payment_declined", payment_id=payment.get("id"))
            self._store(order)
            reason = paid.body.get("error") if isinstance(paid.body, dict) else None
            raise HttpError(402, reason or "payment declined", extra={"order": order})
        payment = self._expect("payments", paid, 201)
        order.update(status="confirmed", payment_id=payment["id"])
        self._store(order)
        return Response(201, order, {"Location": f"/orders/{order_id}"})

    def get_order(self, request: Request) -> Response:
        """Handle ``GET /orders/{order_id}``: the order, or 404 when the id is unknown."""
        order_id = request.params["order_id"]
        with self._lock:
            order = self.orders.get(order_id)
        if order is None:
            raise HttpError(404, f"unknown order {order_id!r}", field="order_id")
        return Response(200, order)

    def _store(self, order: dict[str, Any]) -> None:
        """Keep an order so ``GET /orders/{id}`` finds it."""
        with self._lock:
            self.orders[order["id"]] = dict(order)

    @staticmethod
    def _call(
        name: str,
        client: ServiceClient,
        method: str,
        path: str,
        body: Any,
        headers: dict[str, str],
    ) -> ClientResponse:
        """Call a dependency, turning "cannot reach it" into a 502 naming it."""
        try:
            return client.request(method, path, body, headers=headers)
        except DependencyError as exc:
            raise HttpError(
                502, f"{name} is unavailable: {exc}", extra={"dependency": name}
            ) from exc

    @staticmethod
    def _expect(name: str, reply: ClientResponse, status: int) -> dict[str, Any]:
        """Return a dependency's JSON body, or raise a 502 when its status is not ``status``."""
        if reply.status != status or not isinstance(reply.body, dict):
            detail = reply.body.get("error") if isinstance(reply.body, dict) else reply.body
            raise HttpError(
                502,
                f"{name} answered HTTP {reply.status} ({detail}); expected {status}",
                extra={"dependency": name},
            )
        return reply.body
