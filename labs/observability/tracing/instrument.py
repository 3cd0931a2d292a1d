"""The bookstore's three services as traced HTTP servers on 127.0.0.1 (X-Ray SDK for Python).

The bookstore itself knows nothing about X-Ray (DESIGN.md: it uses ordinary libraries and knows
no emulator). Tracing is added from outside, the way a WSGI middleware and an instrumented HTTP
client add it to any Python service:

* :class:`XRayMiddleware` wraps a service's WSGI app. For each request it reads the incoming
  ``X-Amzn-Trace-Id`` header, begins a **segment** named after the service (continuing the
  caller's trace, with the caller's subsegment as ``parent_id``), records the HTTP request and
  response, sets the ``fault`` (5xx), ``error`` (4xx) and ``throttle`` (429) flags, annotates
  the segment with the service's ``version``, answers with an ``X-Amzn-Trace-Id`` response
  header and ends the segment, which the recorder's emitter sends on. It is the SDK's Flask
  middleware (``aws_xray_sdk.ext.flask``) rewritten for plain WSGI.
* :class:`TracedClient` wraps the client ``orders`` uses to call ``catalog`` and ``payments``:
  each call becomes a ``remote`` **subsegment** named after the service called, and the
  tracing header ``Root=…;Parent=<subsegment id>;Sampled=1`` is added to the outgoing request —
  that is what makes one trace span the three services.
* :class:`TracedBookstore` starts the three instrumented services as real HTTP servers on
  loopback ports (``labs.bookstore.server.RunningServers``), on one simulated clock, and sends
  them orders. Each service has its own recorder, as it would in its own process.

Tracing header: https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd
from aws_xray_sdk.core.models import http
from aws_xray_sdk.core.models.trace_header import TraceHeader
from aws_xray_sdk.core.utils import stacktrace
from aws_xray_sdk.ext.util import (
    calculate_sampling_decision,
    inject_trace_header,
    prepare_response_header,
)

from labs.bookstore import (
    LATENCY_BASELINES,
    SEED_BOOKS,
    SERVICES,
    CatalogApp,
    ClientResponse,
    FaultSwitch,
    HttpClient,
    OrdersApp,
    PaymentsApp,
    fault_for_version,
)
from labs.bookstore.server import RunningServers
from labs.errors import InputError
from labs.observability.tracing.sdk import (
    MemoryEmitter,
    SeededIds,
    SimRecorder,
    TraceClock,
    XRayApiEmitter,
)

__all__ = [
    "NETWORK_MS",
    "WORK_MEDIAN_MS",
    "Hook",
    "RequestInfo",
    "TracedBookstore",
    "TracedClient",
    "XRayMiddleware",
    "parse_trace_header",
    "running",
    "stop_all",
]

WORK_MEDIAN_MS: Mapping[str, float] = {"catalog": 12.0, "orders": 23.0, "payments": 35.0}
"""Median of each service's own work per request, in ms (simulated, log-normal).

Catalog and payments take the medians of ``labs.bookstore.LATENCY_BASELINES``; orders' own work
is its baseline (70 ms, which includes its two calls) minus theirs. The spread (sigma) is each
service's baseline's, so p99 is about five times the median, as in the traffic simulator.
"""
NETWORK_MS = 0.5
"""Simulated one-way network time of a call between two services, in ms."""

_ORDER_QUANTITIES = (np.array([1, 2, 3, 10]), np.array([0.70, 0.20, 0.08, 0.02]))


@dataclass(frozen=True)
class RequestInfo:
    """An incoming request, as a :data:`Hook` sees it.

    Attributes:
        service: The service receiving it.
        method: The HTTP method.
        path: The path.
        headers: Request headers, lower-case names.
        body: The JSON body parsed (None when empty or not JSON).
    """

    service: str
    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


Hook = Callable[[SimRecorder, RequestInfo], None]
"""Extra instrumentation run inside a service's segment before its handler: ``hook(recorder,
request)``. A hook records its own subsegments and annotations with the recorder, e.g.
``with recorder.in_subsegment("loyalty-lookup") as sub: sub.put_annotation("tier", "gold")``."""


class XRayMiddleware:
    """WSGI middleware that records every request to a service as an X-Ray segment.

    Args:
        app: The service's WSGI application.
        recorder: The service's recorder (its name names the segments).
        version: The release label, recorded as the annotation ``version`` and as
            ``service.version`` in the segment document.
        work: Returns the seconds of simulated work for one request (slept on the recorder's
            clock inside the segment, before the handler); None for no simulated work.
        hooks: Extra instrumentation run inside the segment before the handler.

    Attributes:
        received: The last ``X-Amzn-Trace-Id`` headers received (None when absent), newest last.
        hook_errors: Errors raised by hooks, as ``"Type: message"``.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        recorder: SimRecorder,
        *,
        version: str | None = None,
        work: Callable[[], float] | None = None,
        hooks: Sequence[Hook] = (),
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.version = version
        self.work = work
        self.hooks = tuple(hooks)
        self.received: deque[str | None] = deque(maxlen=200)
        self.hook_errors: list[str] = []

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        """Serve one request inside a segment (see the class docstring)."""
        recorder = self.recorder
        raw_header = environ.get("HTTP_X_AMZN_TRACE_ID")
        self.received.append(raw_header)
        header = TraceHeader.from_header_str(raw_header)
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = environ.get("PATH_INFO") or "/"
        decision = calculate_sampling_decision(
            trace_header=header,
            recorder=recorder,
            sampling_req={"service": recorder.service, "method": method, "path": path},
        )
        segment = recorder.begin_segment(
            name=recorder.service, traceid=header.root, parent_id=header.parent, sampling=decision
        )
        segment.save_origin_trace_header(header)
        host = (
            environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        )
        segment.put_http_meta(http.URL, f"http://{host}{path}")
        segment.put_http_meta(http.METHOD, method)
        segment.put_http_meta(http.USER_AGENT, environ.get("HTTP_USER_AGENT"))
        segment.put_http_meta(http.CLIENT_IP, environ.get("REMOTE_ADDR"))
        if self.version is not None and segment.sampled:
            segment.put_annotation("version", self.version)
            segment.service = {**getattr(segment, "service", {}), "version": self.version}
        captured: dict[str, int] = {}

        def traced_start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
            captured["status"] = int(status.split(" ", 1)[0])
            headers = [*headers, (http.XRAY_HEADER, prepare_response_header(header, segment))]
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        try:
            if self.work is not None:
                recorder.clock.sleep(self.work())
            if self.hooks:
                self._run_hooks(environ, method, path)
            chunks = self.app(environ, traced_start_response)
            try:
                body = b"".join(chunks)
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            # As a framework would: the request fails with a 500 and the segment records why.
            segment.add_exception(exc, stacktrace.get_stacktrace(limit=recorder.max_trace_back))
            body = json.dumps(
                {"error": f"internal error: {type(exc).__name__}: {exc}", "status": 500}
            ).encode("utf-8")
            if "status" not in captured:
                traced_start_response(
                    "500 Internal Server Error",
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                )
            captured["status"] = 500
        segment.put_http_meta(http.STATUS, captured.get("status"))
        segment.put_http_meta(http.CONTENT_LENGTH, len(body))
        recorder.end_segment()
        return [body]

    def _run_hooks(self, environ: dict[str, Any], method: str, path: str) -> None:
        """Read the body (and put it back for the app), then run every hook."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            body = json.loads(raw) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        info = RequestInfo(self.recorder.service, method, path, headers, body)
        for hook in self.hooks:
            try:
                hook(self.recorder, info)
            except Exception as exc:
                self.hook_errors.append(f"{type(exc).__name__}: {exc}".rstrip(": "))
                # A hook that fails halfway leaves its subsegments open: close them.
                while _has_open_subsegment(self.recorder):
                    self.recorder.end_subsegment()
                raise


def _has_open_subsegment(recorder: SimRecorder) -> bool:
    """True when the current thread has an open subsegment on ``recorder``."""
    entity = recorder.context.get_trace_entity()
    return getattr(entity, "type", None) == "subsegment"


class TracedClient:
    """A bookstore ``ServiceClient`` whose calls are ``remote`` subsegments with a trace header.

    Each call begins a subsegment named ``name`` in namespace ``remote`` under the caller's
    current segment, records the request (method, URL, ``traced: true`` — the callee is
    instrumented and sends its own segment) and the response status, and adds
    ``X-Amzn-Trace-Id: Root=<trace id>;Parent=<this subsegment's id>;Sampled=1`` to the
    request. A call that cannot reach the service records the exception (``fault``).

    Args:
        inner: The client that really sends the request (``HttpClient``).
        name: The called service's name, used as the subsegment's name.
        recorder: The *calling* service's recorder.
        network_ms: Simulated one-way network time, slept on the clock before and after.
        base_url: The URL recorded for the call; ``inner.base_url`` when omitted.
    """

    def __init__(
        self,
        inner: Any,
        name: str,
        recorder: SimRecorder,
        *,
        network_ms: float = NETWORK_MS,
        base_url: str | None = None,
    ) -> None:
        self.inner = inner
        self.name = name
        self.recorder = recorder
        self.network_s = network_ms / 1000.0
        self.base_url = base_url or getattr(inner, "base_url", "")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """Send the request inside a remote subsegment and return the response."""
        recorder = self.recorder
        subsegment = recorder.begin_subsegment(self.name, "remote")
        outgoing = dict(headers or {})
        if subsegment is not None:  # unsampled too: the callee must learn "Sampled=0"
            inject_trace_header(outgoing, subsegment)
        if subsegment is not None and subsegment.sampled:
            subsegment.put_http_meta(http.METHOD, method.upper())
            subsegment.put_http_meta(http.URL, f"{self.base_url}{path}")
            subsegment.http["request"]["traced"] = True
        recorder.clock.sleep(self.network_s)
        try:
            reply = self.inner.request(method, path, body, headers=outgoing)
        except Exception as exc:
            if subsegment is not None:
                stack = stacktrace.get_stacktrace(limit=recorder.max_trace_back)
                subsegment.add_exception(exc, stack, remote=True)
                recorder.end_subsegment()
            raise
        recorder.clock.sleep(self.network_s)
        if subsegment is not None:
            subsegment.put_http_meta(http.STATUS, reply.status)
            recorder.end_subsegment()
        return reply

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> ClientResponse:
        """Send a GET request."""
        return self.request("GET", path, headers=headers)

    def post(
        self, path: str, body: Any, *, headers: Mapping[str, str] | None = None
    ) -> ClientResponse:
        """Send a POST request with a JSON body."""
        return self.request("POST", path, body, headers=headers)


def parse_trace_header(value: str | None) -> dict[str, Any]:
    """Split an ``X-Amzn-Trace-Id`` header into ``root``, ``parent`` and ``sampled``.

    ``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`` gives
    ``{"root": "1-5759e988-…", "parent": "53995c3f42cd8ad8", "sampled": 1}``; a missing
    header gives None for each.
    """
    header = TraceHeader.from_header_str(value)
    return {"root": header.root, "parent": header.parent, "sampled": header.sampled}


_LIVE: set[TracedBookstore] = set()
_LIVE_LOCK = threading.Lock()


def running() -> list[TracedBookstore]:
    """Return the traced bookstores started in this process and not stopped yet."""
    with _LIVE_LOCK:
        return sorted(_LIVE, key=id)


def stop_all() -> int:
    """Stop every traced bookstore started in this process (a lab's cleanup); return how many."""
    stores = running()
    for store in stores:
        store.stop()
    return len(stores)


class TracedBookstore:
    """The bookstore's three services as X-Ray-traced HTTP servers on 127.0.0.1.

    ``start()`` serves catalog, payments and orders each on a free loopback port in background
    threads; orders calls the other two over HTTP through :class:`TracedClient`. Every service
    is wrapped in :class:`XRayMiddleware` with a :class:`SimRecorder` of its own; the three share
    one :class:`TraceClock` and one :class:`SeededIds`. Each request's latency is simulated work
    (:data:`WORK_MEDIAN_MS`, seeded) plus the version's fault switch ``added_latency_ms`` plus
    network time, all slept on the clock, so a run's traces are identical on every run. Send
    orders one after another (:meth:`send_orders`); concurrent requests work but interleave on
    the clock.

    With a context, segments go to X-Ray (the emulator) through :class:`XRayApiEmitter`; with
    ``ctx=None`` they stay in memory (:attr:`documents`). Use it as a context manager, or call
    :meth:`stop` — :func:`stop_all` stops every one left running.

    Args:
        ctx: The workshop context, or None for a dry run that uploads nothing.
        versions: Version label per service (``"v1"`` when not given), e.g.
            ``{"payments": "v2-slow"}``.
        faults: Fault switch per service, overriding the version's registered one.
        seed: Seeds the ids, the simulated work and which requests a fault switch fails.
        minutes: Simulated minutes to reserve for this run's traces (see
            :meth:`TraceClock.reserve`).
        hooks: Extra instrumentation per service name (a :data:`Hook` or a list of them).
        clock: A clock to use instead of reserving one.
        emitter: An emitter to use instead of the default one.
        simulate_work: False to simulate no work (latency = faults + network only).

    Attributes:
        clock: The simulated clock of the run.
        recorders: The recorder of each service.
        middlewares: The middleware of each service.
        urls: The URL of each service once started.
        emitter: Where the segments go.
    """

    def __init__(
        self,
        ctx: Any | None = None,
        *,
        versions: Mapping[str, str] | None = None,
        faults: Mapping[str, FaultSwitch] | None = None,
        seed: int = 0,
        minutes: float = 30.0,
        hooks: Mapping[str, Hook | Sequence[Hook]] | None = None,
        clock: TraceClock | None = None,
        emitter: MemoryEmitter | None = None,
        simulate_work: bool = True,
    ) -> None:
        versions, faults, hooks = dict(versions or {}), dict(faults or {}), dict(hooks or {})
        for label, mapping in (("versions", versions), ("faults", faults), ("hooks", hooks)):
            unknown = sorted(set(mapping) - set(SERVICES))
            if unknown:
                raise InputError(
                    f"{label} names unknown service(s) {unknown}.",
                    where=label,
                    hint=f"Use {', '.join(SERVICES)}.",
                )
        self.ctx = ctx
        self.seed = int(seed)
        self.minutes = float(minutes)
        self.versions = {name: versions.get(name, "v1") for name in SERVICES}
        self.faults: dict[str, FaultSwitch] = {}
        for index, name in enumerate(SERVICES):
            fault = faults.get(name, fault_for_version(self.versions[name]))
            if fault.seed is None:  # which requests fail must be the same on every run
                fault = replace(fault, seed=self.seed * 100 + index)
            self.faults[name] = fault
        self.hooks = {
            name: (list(value) if isinstance(value, list | tuple) else [value])
            for name, value in hooks.items()
        }
        self.simulate_work = simulate_work
        self._clock = clock
        self._emitter = emitter
        self.clock: TraceClock | None = clock
        self.emitter: MemoryEmitter | None = emitter
        self.recorders: dict[str, SimRecorder] = {}
        self.middlewares: dict[str, XRayMiddleware] = {}
        self.urls: dict[str, str] = {}
        self._servers: RunningServers | None = None
        self._lock = threading.Lock()

    # -- life cycle -------------------------------------------------------------------------

    @property
    def is_running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._servers is not None

    def start(self) -> TracedBookstore:
        """Start the three traced servers on 127.0.0.1 (free ports); return self.

        Safe to call again while running (it does nothing).
        """
        with self._lock:
            if self._servers is not None:
                return self
            self.clock = self._clock or TraceClock.reserve(self.ctx, self.minutes)
            if self._emitter is not None:
                self.emitter = self._emitter
            elif self.ctx is not None:
                self.emitter = XRayApiEmitter(self.ctx.client("xray"))
            else:
                self.emitter = MemoryEmitter()
            ids = SeededIds(self.seed)
            self.recorders = {
                name: SimRecorder(name, clock=self.clock, ids=ids, emitter=self.emitter)
                for name in SERVICES
            }
            servers = RunningServers()
            try:
                catalog = self._wrap("catalog", CatalogApp(**self._options("catalog")))
                payments = self._wrap("payments", PaymentsApp(**self._options("payments")))
                catalog_url = servers.start("catalog", catalog)
                payments_url = servers.start("payments", payments)
                caller = self.recorders["orders"]
                orders_app = OrdersApp(
                    TracedClient(HttpClient(catalog_url), "catalog", caller),
                    TracedClient(HttpClient(payments_url), "payments", caller),
                    **self._options("orders"),
                )
                servers.start("orders", self._wrap("orders", orders_app))
            except BaseException:
                servers.stop()
                raise
            self.urls = {name: servers.urls[name] for name in SERVICES}
            self._servers = servers
        with _LIVE_LOCK:
            _LIVE.add(self)
        return self

    def stop(self, *, flush: bool = True) -> None:
        """Stop the servers (closing their ports), then upload what is buffered.

        Safe to call twice, and on a bookstore never started.
        """
        with self._lock:
            servers, self._servers = self._servers, None
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if servers is not None:
            servers.stop()
        if flush and self.emitter is not None:
            self.emitter.flush()

    def __enter__(self) -> TracedBookstore:
        """Start (if needed) and return self."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the servers; upload the buffered segments unless an error is on its way."""
        self.stop(flush=exc_type is None)

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        versions = ", ".join(f"{k}={v}" for k, v in self.versions.items())
        return f"<TracedBookstore {state}: {versions}>"

    # -- wiring -----------------------------------------------------------------------------

    def _options(self, name: str) -> dict[str, Any]:
        assert self.clock is not None
        return {
            "version": self.versions[name],
            "fault": self.faults[name],
            "sleep": self.clock.sleep,
            "clock": self.clock.now,
        }

    def _wrap(self, name: str, app: Any) -> XRayMiddleware:
        middleware = XRayMiddleware(
            app,
            self.recorders[name],
            version=self.versions[name],
            work=self._work(name) if self.simulate_work else None,
            hooks=self.hooks.get(name, ()),
        )
        self.middlewares[name] = middleware
        return middleware

    def _work(self, name: str) -> Callable[[], float]:
        """A seeded draw of one request's own work, in seconds (log-normal)."""
        sigma = LATENCY_BASELINES[name].lognormal_params()[1]
        mu = math.log(WORK_MEDIAN_MS[name] / 1000.0)
        rng = np.random.default_rng([self.seed, SERVICES.index(name)])
        lock = threading.Lock()

        def draw() -> float:
            with lock:
                return round(float(rng.lognormal(mu, sigma)), 6)

        return draw

    # -- traffic ----------------------------------------------------------------------------

    def _require_running(self) -> None:
        if self._servers is None:
            raise InputError(
                "The traced bookstore is not running.",
                hint="Call start() first, or use it in a `with TracedBookstore(...) as store:`.",
            )

    def order(
        self, book_id: str = "accelerate", quantity: int = 1, customer_id: str = "c-001"
    ) -> ClientResponse:
        """Send one ``POST /orders`` to the orders server and return its response."""
        self._require_running()
        payload = {"book_id": book_id, "quantity": quantity, "customer_id": customer_id}
        return HttpClient(self.urls["orders"], timeout=30).post("/orders", payload)

    def send_orders(
        self,
        n: int,
        *,
        seed: int | None = None,
        requests_per_second: float = 2.0,
        customers: int = 40,
    ) -> pd.DataFrame:
        """Send ``n`` orders, one after another, spaced on the simulated clock.

        The plan is drawn with numpy from ``seed`` (default: the bookstore's seed): a book from
        the seeded catalog (``release-it`` is out of stock: 409), a quantity (1, 2, 3, or 10 —
        ten expensive books go over the payment limit: 402), a customer ``c-001`` … and the
        gap before each order (exponential, ``requests_per_second`` on average).

        Returns:
            One row per order: ``request``, ``sent_s`` (seconds since the clock started),
            ``customer_id``, ``book_id``, ``quantity``, ``status``, ``latency_ms`` and the
            ``trace_id`` from the response's ``X-Amzn-Trace-Id`` header.
        """
        self._require_running()
        assert self.clock is not None
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(f"n must be a positive whole number, got {n!r}.", where="n")
        if not requests_per_second > 0:
            raise InputError("requests_per_second must be positive.", where="requests_per_second")
        rng = np.random.default_rng(self.seed if seed is None else seed)
        books = rng.choice(np.array([b.id for b in SEED_BOOKS]), n)
        quantities = rng.choice(_ORDER_QUANTITIES[0], n, p=_ORDER_QUANTITIES[1])
        customer_ids = np.char.add(
            "c-", np.char.zfill(rng.integers(1, customers + 1, n).astype(str), 3)
        )
        gaps = np.round(rng.exponential(1.0 / requests_per_second, n), 6)
        left = self.minutes * 60.0 - self.clock.elapsed
        if gaps.sum() + n * 2.0 > left:
            raise InputError(
                f"{n} orders at {requests_per_second:g}/s need about {gaps.sum() / 60:.0f} "
                f"simulated minutes; this run reserved {self.minutes:g} and "
                f"{left / 60:.1f} are left.",
                where="n",
                hint="Send fewer orders, more per second, or create the TracedBookstore with "
                "more minutes=.",
            )
        client = HttpClient(self.urls["orders"], timeout=30)
        rows = []
        for i in range(n):
            self.clock.sleep(float(gaps[i]))
            sent = self.clock.elapsed
            payload = {
                "book_id": str(books[i]),
                "quantity": int(quantities[i]),
                "customer_id": str(customer_ids[i]),
            }
            reply = client.post("/orders", payload)
            header = TraceHeader.from_header_str(reply.headers.get("x-amzn-trace-id"))
            rows.append(
                {
                    "request": i + 1,
                    "sent_s": sent,
                    "customer_id": payload["customer_id"],
                    "book_id": payload["book_id"],
                    "quantity": payload["quantity"],
                    "status": reply.status,
                    "latency_ms": round((self.clock.elapsed - sent) * 1000.0, 3),
                    "trace_id": header.root,
                }
            )
        return pd.DataFrame(rows)

    # -- results ----------------------------------------------------------------------------

    def flush(self) -> int:
        """Upload the buffered segments now; return how many were accepted."""
        return 0 if self.emitter is None else self.emitter.flush()

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The simulated time this run traced: from the clock's start to now (UTC)."""
        if self.clock is None:
            raise InputError("The traced bookstore has not been started yet.", hint="start()")
        return self.clock.timestamp(self.clock.start), self.clock.timestamp()

    @property
    def documents(self) -> list[str]:
        """Every segment document the services emitted (JSON strings), oldest first."""
        return [] if self.emitter is None else list(self.emitter.documents)

    def segments(self) -> pd.DataFrame:
        """The emitted documents as a segments frame (no emulator needed)."""
        from labs.observability.tracing.documents import segments_frame

        return segments_frame(self.documents)

    def received_headers(self, service: str) -> list[str | None]:
        """The ``X-Amzn-Trace-Id`` headers ``service`` received, oldest first (None: none sent)."""
        if service not in self.middlewares:
            raise InputError(f"No traced service {service!r}.", hint=f"Use {', '.join(SERVICES)}.")
        return list(self.middlewares[service].received)
