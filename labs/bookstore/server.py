"""Run the bookstore services as HTTP servers on 127.0.0.1: ``python -m labs.bookstore``.

With no ``--service``, catalog, orders and payments each get a port (free ports chosen by the
operating system unless given), and orders calls the other two over HTTP. The process prints
the URLs, writes one JSON log line per request to standard output, and stops cleanly on
Ctrl-C or SIGTERM. Servers bind 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from socketserver import ThreadingMixIn
from types import FrameType, TracebackType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .catalog import CatalogApp
from .faults import (
    ENV_ADDED_LATENCY_MS,
    ENV_ERROR_RATE,
    ENV_SEED,
    ENV_VERSION,
    VERSIONS,
    ConfigError,
    FaultSwitch,
    version_from_env,
)
from .orders import OrdersApp
from .payments import PaymentsApp
from .system import make_bookstore
from .web import (
    LOGGER_NAME,
    HttpClient,
    ServiceClient,
    WsgiApp,
    WsgiClient,
    configure_logging,
)

__all__ = [
    "DEFAULT_HOST",
    "ENV_CATALOG_URL",
    "ENV_PAYMENTS_URL",
    "RunningServers",
    "build_parser",
    "main",
]

DEFAULT_HOST = "127.0.0.1"
"""The only address the servers bind by default: this machine, not the network."""
ENV_CATALOG_URL = "BOOKSTORE_CATALOG_URL"
"""Environment variable with the catalog URL for ``--service orders``."""
ENV_PAYMENTS_URL = "BOOKSTORE_PAYMENTS_URL"
"""Environment variable with the payments URL for ``--service orders``."""


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A WSGI server answering each request in its own daemon thread."""

    daemon_threads = True
    request_queue_size = 64


class _QuietHandler(WSGIRequestHandler):
    """Request handler without the access log line: the services log JSON themselves."""

    def log_message(self, format: str, *args: Any) -> None:
        """Write nothing."""


class RunningServers:
    """HTTP servers running in background threads; a context manager that stops them.

    Args:
        host: The address to bind; 127.0.0.1 by default.
    """

    def __init__(self, host: str = DEFAULT_HOST) -> None:
        self.host = host
        self.urls: dict[str, str] = {}
        self._servers: list[tuple[WSGIServer, threading.Thread]] = []

    def start(self, name: str, app: WsgiApp, port: int = 0) -> str:
        """Serve a WSGI app in a background thread.

        Args:
            name: A name for the URL table, e.g. ``"catalog"``.
            app: The WSGI application.
            port: The port; 0 lets the operating system choose a free one.

        Returns:
            The server's URL, e.g. ``"http://127.0.0.1:50123"``.
        """
        server = make_server(
            self.host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"bookstore-{name}",
            daemon=True,
        )
        thread.start()
        self._servers.append((server, thread))
        url = f"http://{self.host}:{server.server_port}"
        self.urls[name] = url
        return url

    def stop(self) -> None:
        """Stop every server and close its socket (safe to call twice)."""
        for server, thread in reversed(self._servers):
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers.clear()

    def __enter__(self) -> RunningServers:
        """Return self."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the servers."""
        self.stop()


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser of ``python -m labs.bookstore``."""
    parser = argparse.ArgumentParser(
        prog="python -m labs.bookstore",
        description=(
            "Run the bookstore services (catalog, orders, payments) on 127.0.0.1. "
            "Without --service all three run, each on its own port, and orders calls the "
            "other two over HTTP. Stop with Ctrl-C."
        ),
        epilog=(
            f"Fault settings also come from {ENV_VERSION}, {ENV_ERROR_RATE}, "
            f"{ENV_ADDED_LATENCY_MS} and {ENV_SEED}; options win over the environment, which "
            f"wins over the version's registered fault switch. Known versions: "
            f"{', '.join(VERSIONS)}. Example: python -m labs.bookstore --version v2-bad"
        ),
    )
    parser.add_argument(
        "--service",
        choices=["catalog", "orders", "payments", "combined"],
        help="run only this service; 'combined' serves all three paths on one port "
        "(what the container image runs). Default: all three, one port each.",
    )
    parser.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help="address to bind (default: 127.0.0.1, reachable from this machine only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help="port of the service chosen with --service (default: a free port)",
    )
    for name in ("catalog", "orders", "payments"):
        parser.add_argument(
            f"--{name}-port",
            type=int,
            default=0,
            metavar="PORT",
            help=f"port of {name} when all three run (default: a free port)",
        )
    parser.add_argument(
        "--version",
        default=None,
        metavar="LABEL",
        help=f"version label of the release, e.g. v1 or v2-bad (default: ${ENV_VERSION} or v1)",
    )
    parser.add_argument(
        "--error-rate",
        type=float,
        default=None,
        metavar="FRACTION",
        help=f"fraction of requests answered with HTTP 500, 0 to 1 (default: ${ENV_ERROR_RATE} "
        "or the version's)",
    )
    parser.add_argument(
        "--added-latency-ms",
        type=float,
        default=None,
        metavar="MS",
        help=f"milliseconds added to each request (default: ${ENV_ADDED_LATENCY_MS} or the "
        "version's)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help=f"seed of which requests fail (default: ${ENV_SEED}, else unseeded)",
    )
    parser.add_argument(
        "--catalog-url",
        default=None,
        metavar="URL",
        help=f"with --service orders: catalog to call (default: ${ENV_CATALOG_URL}, else an "
        "in-process catalog)",
    )
    parser.add_argument(
        "--payments-url",
        default=None,
        metavar="URL",
        help=f"with --service orders: payments to call (default: ${ENV_PAYMENTS_URL}, else an "
        "in-process payments)",
    )
    return parser


def _fault_from(args: argparse.Namespace, environ: Mapping[str, str]) -> FaultSwitch:
    """Combine version, environment and options into the process's fault switch."""
    fault = FaultSwitch.from_env(environ, version=args.version)
    changes: dict[str, Any] = {}
    if args.error_rate is not None:
        changes["error_rate"] = args.error_rate
    if args.added_latency_ms is not None:
        changes["added_latency_ms"] = args.added_latency_ms
    if args.seed is not None:
        changes["seed"] = args.seed
    return replace(fault, **changes)


def main(argv: Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> int:
    """Run the servers until Ctrl-C or SIGTERM; the ``python -m labs.bookstore`` entry point.

    Args:
        argv: Command-line arguments (``sys.argv[1:]`` when omitted).
        environ: Environment to read settings from (``os.environ`` when omitted).

    Returns:
        The exit status, 0 after a clean stop.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    if args.port is not None and args.service is None:
        parser.error(
            "--port needs --service; with all three use --catalog-port, "
            "--orders-port and --payments-port"
        )
    args.version = args.version or version_from_env(env)
    try:
        fault = _fault_from(args, env)
    except ConfigError as exc:
        parser.error(str(exc))
    options: dict[str, Any] = {"version": args.version, "fault": fault}

    stop = threading.Event()
    handler = configure_logging(sys.stdout)
    previous = _install_signal_handlers(lambda *_: stop.set())
    servers = RunningServers(args.host)
    try:
        _start(servers, args, options, env)
        for name, url in servers.urls.items():
            print(f"{name:<9} {url}", flush=True)
        print(
            f"bookstore {args.version} running ({_describe(fault)}); press Ctrl-C to stop",
            flush=True,
        )
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        servers.stop()
        _restore_signal_handlers(previous)
        logging.getLogger(LOGGER_NAME).removeHandler(handler)
    print("bookstore stopped", flush=True)
    return 0


def _start(
    servers: RunningServers,
    args: argparse.Namespace,
    options: dict[str, Any],
    env: Mapping[str, str],
) -> None:
    """Start the servers the options ask for."""
    if args.service is None:
        catalog_url = servers.start("catalog", CatalogApp(**options), args.catalog_port)
        payments_url = servers.start("payments", PaymentsApp(**options), args.payments_port)
        orders = OrdersApp(HttpClient(catalog_url), HttpClient(payments_url), **options)
        servers.start("orders", orders, args.orders_port)
        servers.urls = {name: servers.urls[name] for name in ("catalog", "orders", "payments")}
    elif args.service == "catalog":
        servers.start("catalog", CatalogApp(**options), args.port or 0)
    elif args.service == "payments":
        servers.start("payments", PaymentsApp(**options), args.port or 0)
    elif args.service == "orders":
        catalog = _dependency(args.catalog_url or env.get(ENV_CATALOG_URL), CatalogApp)
        payments = _dependency(args.payments_url or env.get(ENV_PAYMENTS_URL), PaymentsApp)
        servers.start("orders", OrdersApp(catalog, payments, **options), args.port or 0)
    else:  # combined
        versions = dict.fromkeys(("catalog", "orders", "payments"), args.version)
        faults = dict.fromkeys(("catalog", "orders", "payments"), options["fault"])
        store = make_bookstore(versions=versions, faults=faults)
        servers.start("bookstore", store.combined(), args.port or 0)


def _dependency(url: str | None, app_class: Callable[[], WsgiApp]) -> ServiceClient:
    """Return an HTTP client of ``url``, or an in-process healthy service when it is unset."""
    if url:
        return HttpClient(url)
    return WsgiClient(app_class())


def _describe(fault: FaultSwitch) -> str:
    """Say the fault switch in a few words for the start-up banner."""
    if fault.is_healthy:
        return "no injected faults"
    return f"error rate {fault.error_rate:.0%}, +{fault.added_latency_ms:g} ms per request"


_SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def _install_signal_handlers(on_signal: Callable[..., None]) -> dict[int, _SignalHandler]:
    """Route SIGINT and SIGTERM to ``on_signal`` (main thread only); return the old handlers."""
    previous: dict[int, _SignalHandler] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, on_signal)
    return previous


def _restore_signal_handlers(previous: Mapping[int, _SignalHandler]) -> None:
    """Put back the signal handlers replaced by :func:`_install_signal_handlers`."""
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
