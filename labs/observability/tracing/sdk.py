"""The AWS X-Ray SDK for Python, made deterministic and pointed at the X-Ray API.

Three pieces of glue around ``aws-xray-sdk`` (2.15.0), each a small subclass of the SDK's own
classes, so that the code a learner writes is ordinary X-Ray SDK code (``begin_segment``,
``in_subsegment``, ``put_annotation``):

* :class:`TraceClock` — a simulated wall clock (epoch seconds) that only moves when someone
  sleeps on it. The bookstore's fault switch sleeps its added latency on it, the services'
  simulated work sleeps on it, and every segment's ``start_time``/``end_time`` is read from it,
  so the latencies a trace shows are exactly the injected ones and are the same on every run.
* :class:`SeededIds` — trace and segment ids from a seeded generator, in X-Ray's formats
  (``1-<8 hex epoch seconds>-<24 hex>`` and 16 hex digits), instead of ``os.urandom``.
* :class:`SimRecorder` — an ``AWSXRayRecorder`` that takes its times from a :class:`TraceClock`
  and its ids from :class:`SeededIds`, samples every request and sends through an emitter.
* :class:`XRayApiEmitter` — a ``UDPEmitter`` subclass whose ``send_entity`` uploads segment
  documents with ``PutTraceSegments`` (batched, as the X-Ray daemon does) instead of sending
  them over UDP to a daemon; :class:`MemoryEmitter` keeps them in memory for dry runs.

Segment document format and trace id format:
https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
PutTraceSegments: https://docs.aws.amazon.com/xray/latest/api/API_PutTraceSegments.html
"""

from __future__ import annotations

import copy
import logging
import math
import random
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
from aws_xray_sdk.core.context import Context
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.recorder import XRAY_META, AWSXRayRecorder
from aws_xray_sdk.core.sampling.local.sampler import LocalSampler
from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming
from aws_xray_sdk.core.utils import stacktrace

from labs.errors import EmulatorError, InputError

__all__ = [
    "BATCH_SIZE",
    "MemoryEmitter",
    "SeededIds",
    "SimRecorder",
    "TraceClock",
    "XRayApiEmitter",
    "to_epoch",
]

log = logging.getLogger(__name__)

BATCH_SIZE = 50
"""Segment documents per ``PutTraceSegments`` call (the emitter uploads in batches)."""


def to_epoch(value: Any, where: str = "time") -> float:
    """Return ``value`` (epoch seconds, ISO string, datetime or Timestamp) as epoch seconds."""
    if isinstance(value, bool):
        raise InputError(f"{value!r} is not a point in time.", where=where)
    if isinstance(value, int | float):
        return float(value)
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        stamp = pd.NaT
    if stamp is pd.NaT:
        raise InputError(
            f"{value!r} is not a point in time.",
            where=where,
            hint="Pass epoch seconds, an ISO string such as '2026-01-05T09:00:00Z' or a "
            "pandas Timestamp.",
        )
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.value / 1e9


class TraceClock:
    """A simulated wall clock in epoch seconds that moves only when something sleeps on it.

    Thread-safe: the three services run in server threads and all read and advance the same
    clock. Time is kept in whole microseconds, so a sum of sleeps is exact and the same on every
    run. Give ``clock.sleep`` to the bookstore as its ``sleep`` and ``clock.now`` as its
    ``clock``: the fault switch's added latency then moves this clock instead of blocking.

    Args:
        start: Where the clock starts: epoch seconds, an ISO string or a Timestamp.
    """

    def __init__(self, start: Any) -> None:
        self._micros = round(to_epoch(start, "start") * 1_000_000)
        self._start = self._micros
        self._lock = threading.Lock()

    @classmethod
    def reserve(cls, ctx: Any | None, minutes: float = 30.0) -> TraceClock:
        """Return a clock for a run of up to ``minutes``, in simulated time no other run used.

        On the local emulator the window comes from
        :meth:`labs.observability.clock.SimClock.reserve`: X-Ray, like CloudWatch, has no API to
        delete what was recorded, so each run traces into minutes of its own. With ``ctx=None``
        the clock starts at :data:`labs.observability.clock.EPOCH`. On the aws target it starts
        ``minutes`` before the current minute, so that every segment is in the recent past.
        """
        from labs.observability.clock import SimClock

        if ctx is not None and not ctx.is_local:
            now = pd.Timestamp.now(tz="UTC").floor("min")
            return cls(now - pd.Timedelta(minutes=minutes))
        return cls(SimClock.reserve(ctx, minutes).start)

    def now(self) -> float:
        """Return the current simulated time in epoch seconds."""
        with self._lock:
            return self._micros / 1_000_000

    def sleep(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (0 or more), at once."""
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or seconds < 0
        ):
            raise InputError(
                f"A simulated clock sleeps 0 or more seconds, got {seconds!r}.",
                where="seconds",
            )
        with self._lock:
            self._micros += round(seconds * 1_000_000)

    @property
    def start(self) -> float:
        """Where the clock started, in epoch seconds."""
        return self._start / 1_000_000

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started."""
        with self._lock:
            return (self._micros - self._start) / 1_000_000

    def timestamp(self, seconds: float | None = None) -> pd.Timestamp:
        """Return ``seconds`` (default: now) as a UTC Timestamp."""
        value = self.now() if seconds is None else seconds
        return pd.Timestamp(round(value * 1_000_000), unit="us", tz="UTC")


class SeededIds:
    """Trace and segment ids in X-Ray's formats, from a seeded generator (thread-safe).

    X-Ray asks for ids from a secure random source, because trace ids travel in response
    headers; a lab wants the same ids on every run instead, so that its outputs can be compared.
    Never use seeded ids in production.

    Args:
        seed: The seed; the same seed and the same sequence of calls give the same ids.
    """

    def __init__(self, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def trace_id(self, epoch_seconds: float) -> str:
        """Return a trace id: ``1-`` + the request's epoch second in 8 hex digits + 24 hex."""
        with self._lock:
            unique = self._rng.getrandbits(96)
        return f"1-{int(epoch_seconds):08x}-{unique:024x}"

    def segment_id(self) -> str:
        """Return a segment or subsegment id: 16 hex digits (64 bits)."""
        with self._lock:
            return f"{self._rng.getrandbits(64):016x}"


class MemoryEmitter(UDPEmitter):
    """An emitter that keeps every segment document in memory and sends nothing.

    The X-Ray SDK hands each finished segment (with its subsegments) to its emitter's
    ``send_entity``; the SDK's own ``UDPEmitter`` sends it over UDP to the X-Ray daemon on port
    2000. This one only appends the serialized document to :attr:`documents`: for dry runs and
    tests. Unlike ``UDPEmitter`` it opens no socket.
    """

    def __init__(self) -> None:  # no super().__init__(): that opens a UDP socket
        self.documents: list[str] = []
        self._lock = threading.Lock()

    def send_entity(self, entity: Any) -> None:
        """Keep the entity's segment document (JSON, as X-Ray receives it)."""
        document = entity.serialize()
        with self._lock:
            self.documents.append(document)
        self._after_send(document)

    def _after_send(self, document: str) -> None:
        """Hook for subclasses: called with every document."""

    def set_daemon_address(self, address: str | None) -> None:
        """Ignore the daemon address: there is no daemon."""

    def flush(self) -> int:
        """Send what is buffered; nothing to do here. Returns the documents sent (0)."""
        return 0


class XRayApiEmitter(MemoryEmitter):
    """A ``UDPEmitter`` whose ``send_entity`` uploads segments with ``PutTraceSegments``.

    The X-Ray daemon receives segments from the SDK over UDP and uploads them in batches with
    ``PutTraceSegments``; this emitter does that job in process, so that the SDK's segments
    reach X-Ray — here the local emulator, whose own ``mock_xray_client`` would discard them
    (FACTS.md). Documents are buffered and uploaded ``batch_size`` at a time; :meth:`flush`
    uploads the rest. An upload that fails inside a request never breaks the request (as with
    the SDK's emitter, tracing must not take the service down): the documents stay buffered and
    the error is kept in :attr:`errors` for :meth:`flush` to report.

    Args:
        client: A boto3 X-Ray client (``ctx.client("xray")``).
        batch_size: Documents per ``PutTraceSegments`` call.

    Attributes:
        uploaded: How many documents X-Ray accepted.
        unprocessed: ``UnprocessedTraceSegments`` entries X-Ray returned (Id, ErrorCode, Message).
        errors: Upload errors not yet reported.
    """

    def __init__(self, client: Any, *, batch_size: int = BATCH_SIZE) -> None:
        super().__init__()
        if not 1 <= batch_size <= 500:
            raise InputError(f"batch_size must be 1 to 500, got {batch_size}.", where="batch_size")
        self._client = client
        self.batch_size = batch_size
        self._pending: list[str] = []
        self.uploaded = 0
        self.unprocessed: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self._upload_lock = threading.Lock()

    def _after_send(self, document: str) -> None:
        with self._lock:
            self._pending.append(document)
            full = len(self._pending) >= self.batch_size
        if full:
            try:
                self._upload()
            except Exception as exc:  # never fail the traced request because tracing failed
                log.warning("PutTraceSegments failed; the segments stay buffered: %s", exc)
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def _upload(self) -> int:
        """Upload every pending document, a batch at a time; return how many were accepted."""
        accepted = 0
        with self._upload_lock:
            while True:
                with self._lock:
                    batch = self._pending[: self.batch_size]
                if not batch:
                    return accepted
                answer = self._client.put_trace_segments(TraceSegmentDocuments=batch)
                rejected = answer.get("UnprocessedTraceSegments", [])
                with self._lock:
                    del self._pending[: len(batch)]
                    self.unprocessed.extend(rejected)
                    self.uploaded += len(batch) - len(rejected)
                accepted += len(batch) - len(rejected)

    @property
    def pending(self) -> int:
        """Documents buffered and not uploaded yet."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Upload every buffered document now; return how many X-Ray accepted.

        Raises:
            EmulatorError: An upload failed (now or in a request thread); the documents that
                were not uploaded stay buffered, so a later ``flush()`` can retry.
        """
        try:
            accepted = self._upload()
        except Exception as exc:
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
        with self._lock:
            errors, self.errors = self.errors, []
        if errors:
            raise EmulatorError(
                f"Uploading trace segments with PutTraceSegments failed: {errors[-1]}",
                hint=f"{self.pending} document(s) are still buffered; check the emulator (or "
                "your credentials) and call flush() again.",
            )
        return accepted


class SimRecorder(AWSXRayRecorder):
    """An X-Ray recorder on a simulated clock, with seeded ids, that samples every request.

    It is the SDK's ``AWSXRayRecorder`` — ``begin_segment``, ``in_subsegment``, ``capture``,
    ``put_annotation`` work as documented — with three changes: entity start and end times come
    from :attr:`clock` (a :class:`TraceClock`), ids come from :attr:`ids` (:class:`SeededIds`),
    and the default sampling rule (the first request each second and 5% of the rest) is off, so
    every request is traced and the lab's numbers are complete. Each service gets a recorder of
    its own, as it would in its own process.

    Args:
        service: The service name: the name of the segments it records.
        clock: The simulated clock.
        ids: The id generator.
        emitter: Where finished segments go; a :class:`MemoryEmitter` when omitted.

    Attributes:
        clock: The simulated clock (``recorder.clock.sleep(0.004)`` simulates 4 ms of work).
        ids: The id generator.
    """

    def __init__(
        self,
        service: str,
        *,
        clock: TraceClock,
        ids: SeededIds,
        emitter: UDPEmitter | None = None,
    ) -> None:
        # AWSXRayRecorder.__init__ sets these fields, plus the machinery of centralized sampling
        # (a botocore client per recorder, about 0.25 s) and a UDP socket for the daemon. Neither
        # is used here, so the same fields are set with the local sampler and no socket.
        self._streaming = DefaultStreaming()
        self._context = Context()
        self._sampler = LocalSampler()
        self._emitter = MemoryEmitter()
        self._sampling = False
        self._max_trace_back = 10
        self._plugins = None
        self._service = None
        self._dynamic_naming = None
        self._aws_metadata = copy.deepcopy(XRAY_META)
        self._origin = None
        self._stream_sql = True
        self.clock = clock
        self.ids = ids
        self.configure(
            service=service,
            sampling=False,
            context_missing="LOG_ERROR",
            emitter=emitter if emitter is not None else MemoryEmitter(),
            plugins=(),
        )

    def begin_segment(
        self,
        name: str | None = None,
        traceid: str | None = None,
        parent_id: str | None = None,
        sampling: Any = None,
    ) -> Any:
        """Begin a segment at the clock's time, with a seeded id (and trace id if none given)."""
        now = self.clock.now()
        segment = super().begin_segment(
            name=name,
            traceid=traceid or self.ids.trace_id(now),
            parent_id=parent_id,
            sampling=sampling,
        )
        if segment is not None and segment.sampled:
            segment.id = self.ids.segment_id()
            segment.start_time = now
        return segment

    def end_segment(self, end_time: float | None = None) -> None:
        """End the current segment at the clock's time (or ``end_time``) and emit it."""
        super().end_segment(self.clock.now() if end_time is None else end_time)

    def begin_subsegment(self, name: str, namespace: str = "local") -> Any:
        """Begin a subsegment at the clock's time, with a seeded id."""
        subsegment = super().begin_subsegment(name, namespace)
        if subsegment is not None and subsegment.sampled:
            subsegment.id = self.ids.segment_id()
            subsegment.start_time = self.clock.now()
        return subsegment

    def end_subsegment(self, end_time: float | None = None) -> None:
        """End the current subsegment at the clock's time (or ``end_time``)."""
        super().end_subsegment(self.clock.now() if end_time is None else end_time)

    def record_subsegment(
        self,
        wrapped: Callable[..., Any],
        instance: Any,
        args: Any,
        kwargs: Any,
        name: str,
        namespace: str,
        meta_processor: Any,
    ) -> Any:
        """Run ``wrapped`` in a subsegment (``@recorder.capture``), timed by the clock."""
        subsegment = self.begin_subsegment(name, namespace)
        exception: Exception | None = None
        stack = None
        return_value = None
        try:
            return_value = wrapped(*args, **kwargs)
            return return_value
        except Exception as exc:
            exception = exc
            stack = stacktrace.get_stacktrace(limit=self.max_trace_back)
            raise
        finally:
            if subsegment is not None:
                if callable(meta_processor):
                    meta_processor(
                        wrapped=wrapped,
                        instance=instance,
                        args=args,
                        kwargs=kwargs,
                        return_value=return_value,
                        exception=exception,
                        subsegment=subsegment,
                        stack=stack,
                    )
                elif exception is not None:
                    subsegment.add_exception(exception, stack)
                self.end_subsegment()
