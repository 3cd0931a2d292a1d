"""The bookstore: the sample system that threads through the whole workshop.

Three small HTTP services, each a WSGI application written with the standard library only:

- ``catalog`` (:class:`CatalogApp`): books, prices and stock — ``GET /books``, ``GET /books/{id}``.
- ``orders`` (:class:`OrdersApp`): ``POST /orders`` checks the book with catalog and charges
  with payments; ``GET /orders/{id}``.
- ``payments`` (:class:`PaymentsApp`): ``POST /payments`` approves up to a limit, else 402.

Every service answers ``GET /health``, writes one JSON log line per request and carries a
version label with a :class:`FaultSwitch` (error rate, added latency) that labs use to make a
bad release. :func:`make_bookstore` wires the three in one process;
``python -m labs.bookstore`` runs them as servers on 127.0.0.1. The folder also holds the
bookstore's own ``tests/``, ``buildspec.yml``, ``Dockerfile``, ``.dockerignore`` and
``appspec.yaml``, which later labs copy into a git repository (:func:`copy_source`).

The bookstore knows nothing about AWS or the emulator, and imports only the standard library,
with relative imports, so the folder works under any package name (``labs.bookstore`` here,
``bookstore`` once copied).

Example:
    >>> store = make_bookstore()
    >>> WsgiClient(store.orders).post(
    ...     "/orders", {"book_id": "accelerate", "quantity": 1, "customer_id": "c-1"}
    ... ).status
    201
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .catalog import SEED_BOOKS, Book, CatalogApp
from .faults import (
    ENV_ADDED_LATENCY_MS,
    ENV_ERROR_RATE,
    ENV_SEED,
    ENV_VERSION,
    LATENCY_BASELINES,
    SERVICES,
    VERSIONS,
    ConfigError,
    FaultSwitch,
    LatencyBaseline,
    fault_for_version,
    version_from_env,
)
from .orders import MAX_QUANTITY, OrdersApp
from .payments import APPROVAL_LIMIT_CENTS, PaymentsApp
from .system import Bookstore, BookstoreApp, make_bookstore
from .web import (
    LOGGER_NAME,
    REQUEST_ID_HEADER,
    ClientResponse,
    DependencyError,
    HttpClient,
    HttpError,
    JsonFormatter,
    ServiceApp,
    ServiceClient,
    WsgiClient,
    build_environ,
    configure_logging,
)

__all__ = [
    "APPROVAL_LIMIT_CENTS",
    "ENV_ADDED_LATENCY_MS",
    "ENV_ERROR_RATE",
    "ENV_SEED",
    "ENV_VERSION",
    "LATENCY_BASELINES",
    "LOGGER_NAME",
    "MAX_QUANTITY",
    "REQUEST_ID_HEADER",
    "SEED_BOOKS",
    "SERVICES",
    "SOURCE_FILES",
    "VERSIONS",
    "Book",
    "Bookstore",
    "BookstoreApp",
    "CatalogApp",
    "ClientResponse",
    "ConfigError",
    "DependencyError",
    "FaultSwitch",
    "HttpClient",
    "HttpError",
    "JsonFormatter",
    "LatencyBaseline",
    "OrdersApp",
    "PaymentsApp",
    "ServiceApp",
    "ServiceClient",
    "WsgiClient",
    "build_environ",
    "configure_logging",
    "copy_source",
    "fault_for_version",
    "make_bookstore",
    "package_path",
    "version_from_env",
]

SOURCE_FILES: tuple[str, ...] = ("buildspec.yml", "Dockerfile", ".dockerignore", "appspec.yaml")
"""The non-Python files shipped in the bookstore folder, next to its modules and tests."""

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "reports", "dist")


def package_path() -> Path:
    """Return the folder of the bookstore package (its sources, tests and build files)."""
    return Path(__file__).resolve().parent


def copy_source(destination: str | Path, *, name: str = "bookstore") -> Path:
    """Copy the bookstore folder into ``destination/name``, without caches or build output.

    The copy is a self-contained package: ``python -m pytest name/tests`` and
    ``python -m name`` work from ``destination``.

    Args:
        destination: An existing or new directory, e.g. a fresh git repository.
        name: The folder (and package) name of the copy.

    Returns:
        The path of the copied folder.

    Raises:
        FileExistsError: If ``destination/name`` already exists.
    """
    target = Path(destination) / name
    shutil.copytree(package_path(), target, ignore=_IGNORED)
    return target
