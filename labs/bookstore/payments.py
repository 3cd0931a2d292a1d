"""The payments service: approves or declines a charge with a deterministic rule.

Routes: ``GET /health``, ``POST /payments``. A charge of at most ``limit_cents`` (by default
:data:`APPROVAL_LIMIT_CENTS`, $500.00) is approved with 201; a larger one is declined with
402 Payment Required. No card, no bank: the rule is deterministic so labs are reproducible.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

from .web import HttpError, Request, Response, ServiceApp, reject_unknown, require_int, require_str

__all__ = ["APPROVAL_LIMIT_CENTS", "PaymentsApp"]

APPROVAL_LIMIT_CENTS = 50_000
"""Largest amount, in cents, that payments approves by default ($500.00)."""


class PaymentsApp(ServiceApp):
    """The payments service as a WSGI application.

    Args:
        limit_cents: Largest amount approved; larger charges are declined with 402.
        **options: Passed to :class:`~.web.ServiceApp` (``version``, ``fault``, ``sleep``,
            ``clock``, ``logger``, ``request_id_factory``).
    """

    FIELDS = ("order_id", "amount_cents", "customer_id")

    def __init__(self, limit_cents: int = APPROVAL_LIMIT_CENTS, **options: Any) -> None:
        super().__init__("payments", **options)
        self.limit_cents = limit_cents
        self.payments: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.router.add("POST", "/payments", self.create_payment)

    def create_payment(self, request: Request) -> Response:
        """Handle ``POST /payments`` {order_id, amount_cents, customer_id}.

        Returns 201 with the approved payment, or raises a 402 with the declined payment.
        """
        body = request.json_object()
        reject_unknown(body, self.FIELDS)
        order_id = require_str(body, "order_id")
        amount = require_int(body, "amount_cents", minimum=1, maximum=100_000_000)
        customer_id = require_str(body, "customer_id")
        approved = amount <= self.limit_cents
        with self._lock:
            payment_id = f"pay-{next(self._ids):06d}"
            payment = {
                "id": payment_id,
                "order_id": order_id,
                "amount_cents": amount,
                "customer_id": customer_id,
                "status": "approved" if approved else "declined",
            }
            self.payments[payment_id] = payment
        if not approved:
            raise HttpError(
                402,
                f"payment declined: {amount} cents is over the {self.limit_cents}-cent limit",
                field="amount_cents",
                extra={"payment": payment},
            )
        return Response(201, payment)
