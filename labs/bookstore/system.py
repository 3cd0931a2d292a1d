"""The three bookstore services wired together in one process, and a one-port front door."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import CatalogApp
from .faults import SERVICES, ConfigError, FaultSwitch, fault_for_version
from .orders import OrdersApp
from .payments import PaymentsApp
from .web import HttpError, Response, ServiceApp, WsgiClient

__all__ = ["Bookstore", "BookstoreApp", "make_bookstore"]


@dataclass
class Bookstore:
    """The three services of one bookstore; ``orders`` calls the other two.

    Args:
        catalog: The catalog service.
        orders: The orders service.
        payments: The payments service.
    """

    catalog: CatalogApp
    orders: OrdersApp
    payments: PaymentsApp

    def apps(self) -> dict[str, ServiceApp]:
        """Return the services by name, in start order (catalog, orders, payments)."""
        return {"catalog": self.catalog, "orders": self.orders, "payments": self.payments}

    def combined(self) -> BookstoreApp:
        """Return one WSGI app that serves all three services' paths (see BookstoreApp)."""
        return BookstoreApp(self)


def make_bookstore(
    *,
    versions: Mapping[str, str] | None = None,
    faults: Mapping[str, FaultSwitch] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
    request_id_factory: Callable[[], str] | None = None,
) -> Bookstore:
    """Build the three services in one process, wired with in-process clients (no sockets).

    Args:
        versions: Version label per service name; ``"v1"`` for services not given.
        faults: Fault switch per service name; when a service is not given, the registered
            switch of its version (:func:`~.faults.fault_for_version`).
        sleep: Sleep function shared by the services (inject a no-op or a simulated clock's).
        clock: Latency clock shared by the services.
        request_id_factory: Makes request ids; UUID4 hex when omitted.

    Returns:
        The wired :class:`Bookstore`.

    Raises:
        ConfigError: If a mapping names a service other than catalog, orders or payments.
    """
    versions = dict(versions or {})
    faults = dict(faults or {})
    for label, mapping in (("versions", versions), ("faults", faults)):
        unknown = sorted(set(mapping) - set(SERVICES))
        if unknown:
            raise ConfigError(
                f"{label} names unknown service(s) {unknown}; use {', '.join(SERVICES)}"
            )

    def options(name: str) -> dict[str, Any]:
        version = versions.get(name, "v1")
        return {
            "version": version,
            "fault": faults.get(name, fault_for_version(version)),
            "sleep": sleep,
            "clock": clock,
            "request_id_factory": request_id_factory,
        }

    catalog = CatalogApp(**options("catalog"))
    payments = PaymentsApp(**options("payments"))
    orders = OrdersApp(WsgiClient(catalog), WsgiClient(payments), **options("orders"))
    return Bookstore(catalog=catalog, orders=orders, payments=payments)


class BookstoreApp:
    """One WSGI app in front of the three services, dispatching on the first path segment.

    ``/books…`` goes to catalog, ``/orders…`` to orders and ``/payments…`` to payments; their
    paths do not overlap. ``GET /health`` answers for the whole store. This is what the
    container image serves on one port (``--service combined``).

    Args:
        bookstore: The services to dispatch to.
    """

    def __init__(self, bookstore: Bookstore) -> None:
        self.bookstore = bookstore
        self._prefixes: dict[str, ServiceApp] = {
            "books": bookstore.catalog,
            "orders": bookstore.orders,
            "payments": bookstore.payments,
        }

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one WSGI request by handing it to the service that owns its path."""
        path = environ.get("PATH_INFO") or "/"
        first = path.lstrip("/").split("/", 1)[0]
        target = self._prefixes.get(first)
        if target is not None:
            return target(environ, start_response)
        if path == "/health" and environ.get("REQUEST_METHOD", "GET").upper() == "GET":
            services = {name: app.version for name, app in self.bookstore.apps().items()}
            response = Response(200, {"status": "ok", "service": "bookstore", "versions": services})
        else:
            response = HttpError(
                404,
                f"no such path: {path}; the bookstore serves /health, /books, /orders, /payments",
            ).to_response()
        payload = json.dumps(response.body).encode("utf-8")
        start_response(
            "200 OK" if response.status == 200 else "404 Not Found",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
