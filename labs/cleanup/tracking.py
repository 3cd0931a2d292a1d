"""The ledger: what was created where the local emulator cannot list it.

The emulator cannot list CodeCommit repositories nor AppConfig applications (FACTS.md), so
:func:`labs.cleanup.cleanup` could not find them. The ledger is a small JSON file under
``.workshop/``, kept per target, account and region, that names them: :func:`track` (which
:func:`labs.start` calls on the local target) records those created through any client the
context makes afterwards, :func:`record` adds one by hand and :func:`forget` drops entries. On AWS
the services list themselves and the ledger is not needed.

This module imports no pandas: :mod:`labs.env` imports it on every ``labs.start()``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from labs import emulator
from labs.cleanup.base import _tag_dict
from labs.env import Workshop

__all__ = ["LEDGER_FILE", "forget", "ledger", "record", "track"]

LEDGER_FILE = "cleanup-ledger.json"


def _ledger_path() -> Path:
    return emulator.workshop_dir() / LEDGER_FILE


def _scope(ctx: Workshop) -> str:
    return f"{ctx.target}:{ctx.account_id}:{ctx.region}"


@contextlib.contextmanager
def _ledger_lock() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Read the ledger under a file lock, yield it for changes, write it back."""
    path = _ledger_path()
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            try:
                data = json.loads(path.read_text())
                if not isinstance(data, dict):
                    data = {}
            except (OSError, ValueError):
                data = {}
            yield data
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            tmp.replace(path)
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def record(
    ctx: Workshop,
    service: str,
    kind: str,
    name: str,
    *,
    id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Write a resource into the ledger so :func:`cleanup` finds it where listing is impossible.

    Args:
        ctx: The workshop context (the ledger is kept per target, account and region).
        service: The boto3 service name, e.g. ``"codecommit"``.
        kind: What it is, e.g. ``"repository"``.
        name: Its name.
        id: Its id when the API addresses it by id (an AppConfig application).
        tags: Its tags; default the workshop tags (recording a resource says it is ours).
    """
    entry = {
        "service": service,
        "kind": kind,
        "name": name,
        "id": id,
        "tags": dict(ctx.tags() if tags is None else tags),
    }
    with _ledger_lock() as data:
        entries = [
            e
            for e in data.get(_scope(ctx), [])
            if (e["service"], e["kind"], e["name"], e.get("id")) != (service, kind, name, id)
        ]
        entries.append(entry)
        data[_scope(ctx)] = entries


def forget(
    ctx: Workshop, service: str | None = None, *, name: str | None = None, id: str | None = None
) -> None:
    """Remove ledger entries of this context: all, one service's, or one resource's."""
    with _ledger_lock() as data:
        data[_scope(ctx)] = [
            e
            for e in data.get(_scope(ctx), [])
            if not (
                (service is None or e["service"] == service)
                and (name is None or e["name"] == name)
                and (id is None or e.get("id") == id)
            )
        ]


def ledger(ctx: Workshop, service: str | None = None) -> list[dict[str, Any]]:
    """Return this context's ledger entries (optionally of one service)."""
    try:
        data = json.loads(_ledger_path().read_text())
    except (OSError, ValueError):
        return []
    entries = data.get(_scope(ctx), []) if isinstance(data, dict) else []
    return [dict(e) for e in entries if service is None or e.get("service") == service]


# (service id in botocore events, operation) → how to turn (params, response) into an entry.
_TRACKED: dict[tuple[str, str], Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]]
_TRACKED = {
    ("codecommit", "CreateRepository"): lambda params, parsed: {
        "service": "codecommit",
        "kind": "repository",
        "name": params.get("repositoryName", ""),
        "id": None,
        "tags": _tag_dict(params.get("tags")),
    },
    ("appconfig", "CreateApplication"): lambda params, parsed: {
        "service": "appconfig",
        "kind": "application",
        "name": params.get("Name", ""),
        "id": parsed.get("Id"),
        "tags": _tag_dict(params.get("Tags")),
    },
}


def track(ctx: Workshop) -> None:
    """Record in the ledger what clients made by ``ctx`` afterwards create and cannot be listed.

    Hooks ``CreateRepository`` (CodeCommit) and ``CreateApplication`` (AppConfig) on the
    context's session, so that resources a learner creates by hand are found by :func:`cleanup`
    on the local emulator too. Idempotent; affects clients created after the call.
    """
    events = ctx._session.events  # clients copy their session's hooks when they are made

    def stash(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["labs_cleanup_params"] = dict(params)

    def remember(
        http_response: Any,
        parsed: Mapping[str, Any],
        model: Any,
        context: Mapping[str, Any],
        **_: Any,
    ) -> None:
        if getattr(http_response, "status_code", 500) >= 300 or "Error" in parsed:
            return
        key = (model.service_model.service_id.hyphenize(), model.name)
        params = context.get("labs_cleanup_params", {})
        entry = _TRACKED[key](params, parsed)
        if not entry["name"]:
            return
        # Bookkeeping must never break the learner's own call: a ledger that cannot be
        # written only means cleanup() will not find this resource on the emulator.
        with contextlib.suppress(Exception):
            record(
                ctx,
                entry["service"],
                entry["kind"],
                entry["name"],
                id=entry["id"],
                tags=entry["tags"],
            )

    for service, operation in _TRACKED:
        events.register(
            f"before-parameter-build.{service}.{operation}",
            stash,
            unique_id=f"labs-cleanup-stash-{service}-{operation}",
        )
        events.register(
            f"after-call.{service}.{operation}",
            remember,
            unique_id=f"labs-cleanup-record-{service}-{operation}",
        )
