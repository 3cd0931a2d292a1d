"""Log events in CloudWatch Logs: write them on the simulated clock, read them back, filter them.

CloudWatch Logs ``PutLogEvents`` rejects events older than 14 days or more than 2 hours in the
future (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html),
and the emulator applies the same rule. The workshop's simulated clock starts on 2026-01-05
(:mod:`labs.observability.clock`), usually more than 14 days ago. So, on the local emulator, events
are stored **shifted forward by a whole number of days**: every time of day — and so every
minute and every 5-minute bin — stays the same, and :func:`read_events` and
:func:`filter_log_events` shift them back, so that a learner only ever sees simulated times. The
shift is chosen when a log group first receives events (simulated time lands about a week before
the wall clock) and kept as the log group tag :data:`TIME_SHIFT_TAG`; on the aws target, where
the simulated clock is the real one, there is no shift.

The emulator matches only plain terms: a JSON pattern matches every event there, and a term
excluded with ``-`` makes it match none (FACTS.md). :func:`filter_log_events` therefore asks the
emulator only for what it gets right and filters the events itself with
:mod:`labs.observability.logs.patterns`, CloudWatch's documented semantics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError

from labs.errors import InputError
from labs.observability.logs.patterns import compile_pattern

__all__ = [
    "EVENT_COLUMNS",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "TIME_SHIFT_TAG",
    "ensure_log_group",
    "filter_log_events",
    "put_events",
    "read_events",
    "time_shift",
]

TIME_SHIFT_TAG = "labs:time-shift-days"
"""Log group tag: how many days its events are stored after their simulated time (local only)."""
MAX_BATCH_EVENTS = 10_000
"""``PutLogEvents`` takes at most 10,000 events per call."""
MAX_BATCH_BYTES = 1_048_576
"""``PutLogEvents`` takes at most 1 MiB: UTF-8 messages plus 26 bytes per event."""
_EVENT_OVERHEAD = 26
_MAX_SPAN = pd.Timedelta(hours=24)  # events of one batch span at most 24 hours
_WEEK_DAYS = 7
EVENT_COLUMNS = ["timestamp", "stream", "message"]
"""Columns of the frames :func:`read_events` and :func:`filter_log_events` return."""


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _utc(value: Any, where: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise InputError(f"{value!r} is not a point in time.", where=where) from None
    if stamp is pd.NaT:
        raise InputError("The time is missing (NaT).", where=where)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _ms(stamp: pd.Timestamp) -> int:
    return int(stamp.value // 1_000_000)


def ensure_log_group(
    ctx: Any,
    name: str,
    *,
    tags: Mapping[str, str] | None = None,
    retention_days: int | None = None,
) -> str:
    """Create log group ``name`` with ``tags`` if it does not exist; return its ARN.

    Args:
        ctx: The workshop context.
        name: The log group name, e.g. ``/labs/bookstore/requests``.
        tags: Tags for a new group (pass ``ctx.tags(lab="10")``).
        retention_days: Set the retention policy (e.g. 7), if given.
    """
    logs = ctx.client("logs")
    try:
        logs.create_log_group(logGroupName=name, tags=dict(tags or {}))
    except ClientError as exc:
        if _code(exc) != "ResourceAlreadyExistsException":
            raise
    if retention_days is not None:
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
    for group in logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", []):
        if group["logGroupName"] == name:
            return group.get("logGroupArn") or group["arn"].removesuffix(":*")
    raise InputError(f"Log group {name!r} was not created.", where="name")  # pragma: no cover


def _group_arn(ctx: Any, group: str) -> str:
    logs = ctx.client("logs")
    for found in logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", []):
        if found["logGroupName"] == group:
            return found.get("logGroupArn") or found["arn"].removesuffix(":*")
    raise InputError(
        f"There is no log group called {group!r}.",
        where="group",
        hint="Create it first, e.g. labs.observability.logs.ensure_log_group(ctx, group, "
        'tags=ctx.tags(lab="10")).',
    )


def time_shift(ctx: Any, group: str, earliest: Any | None = None) -> pd.Timedelta:
    """Return how far after their simulated time the events of ``group`` are stored.

    On the aws target: zero. Locally: the group's :data:`TIME_SHIFT_TAG`, or — when the group
    has none yet and ``earliest`` (the first simulated time to store) is given — a new shift of
    whole days that lands ``earliest`` about a week before the wall clock, saved as the tag.
    """
    if not ctx.is_local:
        return pd.Timedelta(0)
    arn = _group_arn(ctx, group)
    logs = ctx.client("logs")
    tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
    if TIME_SHIFT_TAG in tags:
        return pd.Timedelta(days=int(tags[TIME_SHIFT_TAG]))
    if earliest is None:
        return pd.Timedelta(0)
    age = pd.Timestamp.now(tz="UTC") - _utc(earliest, "earliest")
    days = max(0, math.floor(age / pd.Timedelta(days=1)) - _WEEK_DAYS)
    logs.tag_resource(resourceArn=arn, tags={TIME_SHIFT_TAG: str(days)})
    return pd.Timedelta(days=days)


def _as_frame(events: Any) -> pd.DataFrame:
    if isinstance(events, pd.DataFrame):
        missing = [c for c in ("timestamp", "message") if c not in events.columns]
        if missing:
            raise InputError(
                f"The events frame has no column {missing[0]!r}.",
                where="events",
                hint="Give columns 'timestamp' (simulated time) and 'message'.",
            )
        frame = events[["timestamp", "message"]].copy()
    else:
        rows = list(events)
        if rows and not all(isinstance(r, Sequence) and len(r) == 2 for r in rows):
            raise InputError(
                "Events must be (timestamp, message) pairs or a DataFrame.",
                where="events",
            )
        frame = pd.DataFrame(rows, columns=["timestamp", "message"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    bad = frame["message"].map(lambda m: not isinstance(m, str) or not m)
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise InputError(
            f"Event {row} has no message text.",
            where=f"events, row {row}",
            hint="CloudWatch Logs stores non-empty strings only.",
        )
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def put_events(ctx: Any, group: str, stream: str, events: Any) -> int:
    """Store log events with ``PutLogEvents``, in batches the API accepts; return how many.

    The log stream is created if needed. Batches respect the API's limits (10,000 events, 1 MiB,
    24 hours, chronological order). Locally the events are stored shifted (module docstring).

    Args:
        ctx: The workshop context.
        group: An existing log group (see :func:`ensure_log_group`).
        stream: The log stream name, e.g. ``payments/v1``.
        events: A DataFrame with ``timestamp`` (simulated time) and ``message``, or pairs.

    Raises:
        InputError: An event has no message, or CloudWatch Logs rejected events as too old or
            too new (the message says what to do).
    """
    frame = _as_frame(events)
    if frame.empty:
        return 0
    shift = time_shift(ctx, group, frame["timestamp"].iloc[0])
    logs = ctx.client("logs")
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except ClientError as exc:
        if _code(exc) != "ResourceAlreadyExistsException":
            raise
    stamps = (frame["timestamp"] + shift).map(_ms).tolist()
    messages = frame["message"].tolist()
    batch: list[dict[str, Any]] = []
    size, first = 0, 0
    for stamp, message in zip(stamps, messages, strict=True):
        cost = len(message.encode("utf-8")) + _EVENT_OVERHEAD
        span = pd.Timedelta(milliseconds=stamp - first) if batch else pd.Timedelta(0)
        if batch and (
            len(batch) == MAX_BATCH_EVENTS or size + cost > MAX_BATCH_BYTES or span > _MAX_SPAN
        ):
            _send(logs, group, stream, batch)
            batch, size = [], 0
        if not batch:
            first = stamp
        batch.append({"timestamp": stamp, "message": message})
        size += cost
    _send(logs, group, stream, batch)
    return len(frame)


def _send(logs: Any, group: str, stream: str, batch: list[dict[str, Any]]) -> None:
    if not batch:
        return
    answer = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=batch)
    rejected = answer.get("rejectedLogEventsInfo") or {}
    if rejected:
        raise InputError(
            f"CloudWatch Logs rejected events of log group {group!r}: {rejected}.",
            where=f"{group} / {stream}",
            hint="Events must be at most 14 days old and at most 2 hours in the future. The "
            "group's time shift no longer fits the wall clock: delete the log group "
            "(labs.cleanup.cleanup) and write the events again.",
        )


def _to_frame(raw: Iterable[Mapping[str, Any]], shift: pd.Timedelta) -> pd.DataFrame:
    rows = [(e["timestamp"], e.get("logStreamName", ""), e["message"]) for e in raw]
    frame = pd.DataFrame(rows, columns=["timestamp", "stream", "message"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="ms", utc=True) - shift
    return frame.sort_values(["timestamp", "stream"], kind="stable").reset_index(drop=True)


def _fetch(
    ctx: Any,
    group: str,
    pattern: str,
    shift: pd.Timedelta,
    start: Any | None,
    end: Any | None,
    streams: Sequence[str] | None,
    prefix: str | None,
) -> list[dict[str, Any]]:
    kwargs: dict[str, Any] = {"logGroupName": group}
    if pattern:
        kwargs["filterPattern"] = pattern
    if start is not None:
        kwargs["startTime"] = _ms(_utc(start, "start") + shift)
    if end is not None:
        kwargs["endTime"] = _ms(_utc(end, "end") + shift) - 1  # CloudWatch's end is inclusive
    if streams:
        kwargs["logStreamNames"] = list(streams)
    if prefix:
        kwargs["logStreamNamePrefix"] = prefix
    paginator = ctx.client("logs").get_paginator("filter_log_events")
    return [event for page in paginator.paginate(**kwargs) for event in page.get("events", [])]


def read_events(
    ctx: Any,
    group: str,
    *,
    start: Any | None = None,
    end: Any | None = None,
    streams: Sequence[str] | None = None,
    prefix: str | None = None,
) -> pd.DataFrame:
    """Return the events of ``group`` in ``[start, end)`` (simulated time), oldest first.

    Returns:
        A frame with :data:`EVENT_COLUMNS`: ``timestamp`` (simulated, UTC), ``stream``,
        ``message``; ``attrs["group"]`` holds the group name.
    """
    _group_arn(ctx, group)
    shift = time_shift(ctx, group)
    frame = _to_frame(_fetch(ctx, group, "", shift, start, end, streams, prefix), shift)
    frame.attrs["group"] = group
    return frame


def _emulator_gets_it_right(pattern: str) -> bool:
    """True when the emulator's own filtering returns every matching event (maybe more)."""
    compiled = compile_pattern(pattern)
    if compiled.kind in ("json", "delimited", "regex", "all"):
        return True  # the emulator returns everything for these: a superset
    text = pattern.strip()
    if text.startswith("?"):
        return True  # an OR pattern: the emulator matches everything
    return '"' not in text and "-" not in text  # plain terms: it matches substrings, as AWS


def filter_log_events(
    ctx: Any,
    group: str,
    pattern: str,
    *,
    start: Any | None = None,
    end: Any | None = None,
    streams: Sequence[str] | None = None,
    prefix: str | None = None,
) -> pd.DataFrame:
    """Return the events of ``group`` that match the filter ``pattern``, as CloudWatch Logs would.

    Mirrors ``FilterLogEvents``
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html).
    On the aws target the service filters. Locally the emulator is asked with the pattern only
    when its answer contains every match (plain terms; JSON, space-delimited, regex and OR
    patterns, for which it returns everything), otherwise without; the events it returns are
    then filtered with the documented semantics (:func:`labs.observability.logs.matches`).

    Args:
        ctx: The workshop context.
        group: The log group.
        pattern: A filter pattern; ``""`` matches every event.
        start: Simulated time of the first event to consider (inclusive).
        end: Simulated time after the last event (exclusive).
        streams: Only these log streams.
        prefix: Only log streams whose name starts with this.

    Returns:
        A frame with :data:`EVENT_COLUMNS`, oldest first. ``attrs``: ``group``, ``pattern``,
        ``sent_pattern`` (what the emulator was asked), ``emulator_returned`` (how many events
        it returned) and ``matched``.

    Raises:
        InputError: The pattern is not valid, or the group does not exist.
    """
    compiled = compile_pattern(pattern)
    _group_arn(ctx, group)
    shift = time_shift(ctx, group)
    if not ctx.is_local:
        frame = _to_frame(_fetch(ctx, group, pattern, shift, start, end, streams, prefix), shift)
        frame.attrs.update(
            group=group,
            pattern=pattern,
            sent_pattern=pattern,
            emulator_returned=len(frame),
            matched=len(frame),
        )
        return frame
    sent = pattern if _emulator_gets_it_right(pattern) else ""
    raw = _fetch(ctx, group, sent, shift, start, end, streams, prefix)
    frame = _to_frame(raw, shift)
    keep = compiled.match_many(frame["message"].tolist())
    result = frame[keep].reset_index(drop=True)
    result.attrs.update(
        group=group,
        pattern=pattern,
        sent_pattern=sent,
        emulator_returned=len(raw),
        matched=len(result),
    )
    return result
