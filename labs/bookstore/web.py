"""Shared HTTP plumbing of the bookstore services: routing, JSON, logging, faults and clients.

Each service is a WSGI application (PEP 3333) built on :class:`ServiceApp`, which gives every
request a request id, applies the version's :class:`~.faults.FaultSwitch`, turns
:class:`HttpError` into a JSON error response and writes one JSON log line. Services call each
other through a :class:`ServiceClient`: :class:`WsgiClient` in the same process (tests, labs)
or :class:`HttpClient` over HTTP when they run as servers. Standard library only.
"""

from __future__ import annotations

import io
import json
import logging
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Protocol
from wsgiref.util import setup_testing_defaults

from .faults import FaultSwitch

__all__ = [
    "LOGGER_NAME",
    "REQUEST_ID_HEADER",
    "ClientResponse",
    "DependencyError",
    "HttpClient",
    "HttpError",
    "JsonFormatter",
    "Request",
    "Response",
    "Router",
    "ServiceApp",
    "ServiceClient",
    "WsgiApp",
    "WsgiClient",
    "build_environ",
    "configure_logging",
    "reject_unknown",
    "require_int",
    "require_str",
]

LOGGER_NAME = "bookstore"
"""Parent logger of the services; each service logs to ``bookstore.<service>``."""
REQUEST_ID_HEADER = "X-Request-Id"
"""Header carrying the request id, read from requests, echoed and passed to dependencies."""

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
"""A WSGI application: ``app(environ, start_response) -> iterable of bytes``."""

# A library logs nothing unless the program configures logging (see configure_logging).
logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())

_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_STANDARD_RECORD_KEYS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


class HttpError(Exception):
    """An error answered to the caller as a JSON body ``{"error": ..., "status": ...}``.

    Args:
        status: The HTTP status code, e.g. 400, 404, 409.
        message: What was wrong and what to do, in one or two sentences.
        field: The request field at fault, when there is one (added as ``"field"``).
        extra: More members for the JSON body, e.g. the declined order.
        headers: Extra response headers, e.g. ``Allow`` for a 405.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def to_response(self) -> Response:
        """Return the JSON error response for this error."""
        body: dict[str, Any] = {"error": self.message, "status": self.status}
        if self.field is not None:
            body["field"] = self.field
        body.update(self.extra)
        return Response(self.status, body, dict(self.headers))


class DependencyError(Exception):
    """A service this one depends on could not be reached or gave no usable answer."""


@dataclass(frozen=True)
class Request:
    """An incoming request, as a handler sees it.

    Args:
        method: The HTTP method in upper case.
        path: The path, without the query string.
        query: Query-string parameters (last value wins).
        headers: Request headers with lower-case names.
        body: The raw body.
        request_id: The request id (from ``X-Request-Id`` or generated).
        params: Values of the ``{name}`` placeholders of the matched route.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    request_id: str
    params: Mapping[str, str] = field(default_factory=dict)

    def json_object(self) -> dict[str, Any]:
        """Parse the body as a JSON object.

        Returns:
            The parsed object.

        Raises:
            HttpError: 400 naming the ``body`` field when the body is empty, is not valid JSON
                or is not an object.
        """
        if not self.body.strip():
            raise HttpError(400, "request body is empty; send a JSON object", field="body")
        try:
            value = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise HttpError(400, f"request body is not valid JSON: {exc}", field="body") from None
        if not isinstance(value, dict):
            raise HttpError(
                400,
                f"request body must be a JSON object, got a JSON {type(value).__name__}",
                field="body",
            )
        return value


@dataclass
class Response:
    """A response from a handler; ``body`` is serialised as JSON.

    Args:
        status: The HTTP status code.
        body: A JSON-serialisable value.
        headers: Extra response headers.
    """

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


class Router:
    """Maps ``(method, path pattern)`` to handlers; patterns use ``{name}`` placeholders."""

    def __init__(self) -> None:
        """Create an empty router."""
        self._routes: list[tuple[str, str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        """Register a handler.

        Args:
            method: The HTTP method, e.g. ``"GET"``.
            pattern: The path pattern, e.g. ``"/books/{book_id}"``; a placeholder matches one
                path segment.
            handler: Called with the :class:`Request`; returns a :class:`Response`.
        """
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self._routes.append((method.upper(), pattern, re.compile(f"^{regex}$"), handler))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        """Find the handler of a request.

        Args:
            method: The HTTP method.
            path: The request path.

        Returns:
            The handler and the placeholder values (URL-decoded).

        Raises:
            HttpError: 404 when no route has this path, 405 (with ``Allow``) when the path
                exists for other methods only.
        """
        allowed: list[str] = []
        for route_method, _, regex, handler in self._routes:
            found = regex.match(path)
            if found is None:
                continue
            if route_method == method.upper():
                params = {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}
                return handler, params
            allowed.append(route_method)
        if allowed:
            methods = ", ".join(sorted(set(allowed)))
            raise HttpError(
                405,
                f"method {method} is not allowed on {path}; use {methods}",
                headers={"Allow": methods},
            )
        raise HttpError(404, f"no such path: {path}; this service serves {self.describe()}")

    def describe(self) -> str:
        """Return the routes as ``"GET /health, GET /books, ..."``."""
        return ", ".join(f"{method} {pattern}" for method, pattern, _, _ in self._routes)


class ServiceApp:
    """Base class of the bookstore services: a WSGI app with logging and a fault switch.

    Every request gets a request id (the ``X-Request-Id`` header when it is a sane token, else
    a new one), is routed, and is answered in JSON with headers ``X-Request-Id``,
    ``X-Bookstore-Service`` and ``X-Bookstore-Version``. One JSON log line per request goes to
    the logger ``bookstore.<service>`` with the fields ``service``, ``version``, ``method``,
    ``path``, ``status``, ``latency_ms``, ``request_id`` and, for 4xx/5xx, ``error``.

    The fault switch applies to every path except ``/health``: first ``added_latency_ms`` is
    slept through ``sleep``, then a seeded draw fails the request with a 500 at
    ``error_rate``. The logged ``latency_ms`` is the handler's own time measured with
    ``clock`` plus the added latency, so an injected no-op ``sleep`` still logs it.

    Args:
        service: The service name, e.g. ``"catalog"``.
        version: The version label, e.g. ``"v1"`` or ``"v2-bad"``.
        fault: The fault switch; healthy when omitted.
        sleep: Called with seconds to apply added latency; ``time.sleep`` by default.
        clock: Monotonic clock in seconds used to measure latency; ``time.perf_counter``.
        logger: Logger to write request lines to; ``bookstore.<service>`` by default.
        request_id_factory: Makes request ids; random UUID4 hex strings by default.
    """

    def __init__(
        self,
        service: str,
        *,
        version: str = "v1",
        fault: FaultSwitch | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.perf_counter,
        logger: logging.Logger | None = None,
        request_id_factory: Callable[[], str] | None = None,
    ) -> None:
        self.service = service
        self.version = version
        self.fault = fault if fault is not None else FaultSwitch()
        self.router = Router()
        self._sleep = sleep
        self._clock = clock
        self.logger = logger or logging.getLogger(f"{LOGGER_NAME}.{service}")
        self._new_request_id = request_id_factory or (lambda: uuid.uuid4().hex)
        self._rng = random.Random(self.fault.seed)
        self._rng_lock = threading.Lock()
        self.router.add("GET", "/health", self.health)

    def health(self, request: Request) -> Response:
        """Handle ``GET /health``: say the service is up and which version runs."""
        return Response(200, {"status": "ok", "service": self.service, "version": self.version})

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one WSGI request (see the class docstring for what happens)."""
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = environ.get("PATH_INFO") or "/"
        supplied = str(environ.get("HTTP_X_REQUEST_ID", "")).strip()
        request_id = supplied if _REQUEST_ID_OK.match(supplied) else self._new_request_id()
        added_ms = 0.0 if path == "/health" else float(self.fault.added_latency_ms)
        if added_ms > 0:
            self._sleep(added_ms / 1000.0)
        start = self._clock()
        error: str | None = None
        exc_info = None
        try:
            if path != "/health" and self._draw_failure():
                rate = self.fault.error_rate
                raise HttpError(
                    500,
                    f"injected fault: version {self.version} fails {rate:.0%} of requests",
                )
            handler, params = self.router.match(method, path)
            request = Request(
                method=method,
                path=path,
                query=dict(urllib.parse.parse_qsl(str(environ.get("QUERY_STRING", "")))),
                headers=_headers_of(environ),
                body=_read_body(environ),
                request_id=request_id,
                params=params,
            )
            response = handler(request)
        except HttpError as exc:
            response = exc.to_response()
            error = exc.message
        except Exception as exc:
            exc_info = (type(exc), exc, exc.__traceback__)
            error = f"internal error: {type(exc).__name__}: {exc}"
            response = Response(
                500,
                {
                    "error": f"internal error; see the service log for request {request_id}",
                    "status": 500,
                },
            )
        latency_ms = (self._clock() - start) * 1000.0 + added_ms
        if error is None and response.status >= 400 and isinstance(response.body, dict):
            error = str(response.body.get("error", HTTPStatus(response.status).phrase))
        payload = json.dumps(response.body).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Content-Length": str(len(payload)),
            REQUEST_ID_HEADER: request_id,
            "X-Bookstore-Service": self.service,
            "X-Bookstore-Version": self.version,
            **response.headers,
        }
        start_response(_status_line(response.status), list(headers.items()))
        self._log(method, path, response.status, latency_ms, request_id, error, exc_info)
        return [payload]

    def _draw_failure(self) -> bool:
        """Draw whether this request fails; seeded and thread-safe."""
        rate = self.fault.error_rate
        if rate <= 0.0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    def _log(
        self,
        method: str,
        path: str,
        status: int,
        latency_ms: float,
        request_id: str,
        error: str | None,
        exc_info: Any,
    ) -> None:
        """Write the request's JSON log line."""
        level = (
            logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        )
        fields: dict[str, Any] = {
            "service": self.service,
            "version": self.version,
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(latency_ms, 3),
            "request_id": request_id,
        }
        if error is not None:
            fields["error"] = error
        self.logger.log(level, "%s %s %d", method, path, status, extra=fields, exc_info=exc_info)


def require_str(body: dict[str, Any], name: str, *, max_length: int = 64) -> str:
    """Return a required non-empty string field of a JSON body.

    Args:
        body: The parsed JSON object.
        name: The field name.
        max_length: The longest value accepted.

    Returns:
        The value.

    Raises:
        HttpError: 400 naming the field when it is missing, not a string, empty or too long.
    """
    if name not in body:
        raise HttpError(400, f"missing field {name!r}", field=name)
    value = body[name]
    if not isinstance(value, str) or not value.strip():
        raise HttpError(
            400, f"field {name!r} must be a non-empty string, got {value!r}", field=name
        )
    if len(value) > max_length:
        raise HttpError(400, f"field {name!r} is longer than {max_length} characters", field=name)
    return value


def require_int(body: dict[str, Any], name: str, *, minimum: int, maximum: int) -> int:
    """Return a required integer field of a JSON body, within bounds.

    Args:
        body: The parsed JSON object.
        name: The field name.
        minimum: The smallest value accepted.
        maximum: The largest value accepted.

    Returns:
        The value.

    Raises:
        HttpError: 400 naming the field when it is missing, not an integer (``true`` and
            ``2.5`` are not) or out of bounds.
    """
    if name not in body:
        raise HttpError(400, f"missing field {name!r}", field=name)
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise HttpError(400, f"field {name!r} must be an integer, got {value!r}", field=name)
    if not minimum <= value <= maximum:
        raise HttpError(
            400,
            f"field {name!r} must be between {minimum} and {maximum}, got {value}",
            field=name,
        )
    return value


def reject_unknown(body: dict[str, Any], expected: tuple[str, ...]) -> None:
    """Raise a 400 naming the first field of ``body`` not in ``expected`` (catches typos).

    Args:
        body: The parsed JSON object.
        expected: The accepted field names.

    Raises:
        HttpError: 400 naming the unknown field.
    """
    for name in body:
        if name not in expected:
            raise HttpError(
                400, f"unknown field {name!r}; expected {', '.join(expected)}", field=name
            )


def _status_line(status: int) -> str:
    """Return ``"404 Not Found"`` for 404."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"


def _headers_of(environ: Mapping[str, Any]) -> dict[str, str]:
    """Collect request headers from a WSGI environ, with lower-case dashed names."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _read_body(environ: Mapping[str, Any]) -> bytes:
    """Read the request body as announced by ``CONTENT_LENGTH``."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise HttpError(400, "Content-Length header is not an integer", field="body") from None
    if length <= 0:
        return b""
    if length > 1_000_000:
        raise HttpError(413, "request body is over 1 MB; send a smaller JSON object")
    return environ["wsgi.input"].read(length)


class JsonFormatter(logging.Formatter):
    """Formats each log record as one JSON object on one line.

    The object has ``timestamp`` (ISO-8601 UTC with milliseconds and ``Z``), ``level``, every
    field passed through ``extra=`` (in the order given), then ``message``, and ``exception``
    when the record carries one. CloudWatch Logs can filter such lines with JSON patterns like
    ``{ $.status >= 500 }``: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line (no trailing newline)."""
        created = datetime.fromtimestamp(record.created, tz=UTC)
        doc: dict[str, Any] = {
            "timestamp": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_RECORD_KEYS and not key.startswith("_"):
                doc[key] = value
        doc["message"] = record.getMessage()
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(stream: Any = None, level: int = logging.INFO) -> logging.Handler:
    """Send the services' log lines, as JSON, to a stream (for programs, not libraries).

    Args:
        stream: Where to write; ``sys.stderr`` when omitted (``logging.StreamHandler``).
        level: The lowest level written.

    Returns:
        The handler added to the ``bookstore`` logger (remove it to undo).
    """
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


@dataclass(frozen=True)
class ClientResponse:
    """What a :class:`ServiceClient` got back.

    Args:
        status: The HTTP status code.
        body: The parsed JSON body (the text when it is not JSON, ``None`` when empty).
        headers: Response headers with lower-case names.
    """

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class ServiceClient(Protocol):
    """Anything that sends a request to a service: :class:`WsgiClient` or :class:`HttpClient`."""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send a request and return the response (any status); see :class:`WsgiClient`."""
        ...


class _ClientMethods:
    """``get`` and ``post`` shortcuts over ``request``."""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send a request; implemented by subclasses."""
        raise NotImplementedError

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> ClientResponse:
        """Send a GET request."""
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> ClientResponse:
        """Send a POST request with a JSON body (``bytes``/``str`` bodies are sent as they are)."""
        return self.request("POST", path, body, headers=headers)


def _encode_body(body: Any) -> bytes:
    """Encode a request body: bytes as is, str as UTF-8, anything else as JSON."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def _decode_body(raw: bytes) -> Any:
    """Decode a response body: JSON when possible, else text, ``None`` when empty."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def build_environ(
    method: str,
    path: str,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build a WSGI environ for one request, for calling an app without a server.

    Args:
        method: The HTTP method.
        path: The path, optionally with a ``?query``.
        body: A JSON-serialisable value, or raw ``bytes``/``str``, or ``None``.
        headers: Request headers, e.g. ``{"X-Request-Id": "abc"}``.

    Returns:
        A complete environ (``wsgiref.util.setup_testing_defaults`` fills the rest).
    """
    path_only, _, query = path.partition("?")
    payload = _encode_body(body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method.upper(),
        "PATH_INFO": path_only,
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(payload)) if payload else "",
        "wsgi.input": io.BytesIO(payload),
    }
    if payload:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ[f"HTTP_{key}"] = value
    setup_testing_defaults(environ)
    return environ


class WsgiClient(_ClientMethods):
    """Calls a WSGI app in the same process, without sockets.

    Args:
        app: The WSGI application to call.
    """

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Call the app and return its response.

        Args:
            method: The HTTP method.
            path: The path, optionally with a ``?query``.
            body: A JSON-serialisable value, raw ``bytes``/``str``, or ``None``.
            headers: Request headers.

        Returns:
            The status, parsed body and lower-cased headers.
        """
        captured: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]], *_: Any) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = {k.lower(): v for k, v in response_headers}

        chunks = self.app(build_environ(method, path, body, headers), start_response)
        try:
            raw = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return ClientResponse(captured["status"], _decode_body(raw), captured["headers"])


class HttpClient(_ClientMethods):
    """Calls a service over HTTP with ``urllib`` (environment proxies are ignored).

    Args:
        base_url: The service's URL, e.g. ``"http://127.0.0.1:8081"``.
        timeout: Seconds to wait for a response.
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send the request and return the response, whatever its status.

        Args:
            method: The HTTP method.
            path: The path, optionally with a ``?query``.
            body: A JSON-serialisable value, raw ``bytes``/``str``, or ``None``.
            headers: Request headers.

        Returns:
            The status, parsed body and lower-cased headers.

        Raises:
            DependencyError: When the service cannot be reached or does not answer in time.
        """
        payload = _encode_body(body)
        request = urllib.request.Request(
            self.base_url + path,
            data=payload if payload else None,
            method=method.upper(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as reply:
                status, raw, reply_headers = reply.status, reply.read(), reply.headers
        except urllib.error.HTTPError as exc:
            status, raw, reply_headers = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DependencyError(f"cannot reach {self.base_url}: {reason}") from exc
        lowered = {k.lower(): v for k, v in reply_headers.items()}
        return ClientResponse(status, _decode_body(raw), lowered)
