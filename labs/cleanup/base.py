"""What every cleaner shares: :class:`Found`, the :class:`Cleaner` protocol and small helpers.

The helpers read tags in whatever shape an API returns them, tell "already gone" from "the local
emulator has not implemented this" from a real failure, and page through list calls. They import
no pandas, so that :mod:`labs.cleanup.tracking` (which :func:`labs.start` loads) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from labs.env import WORKSHOP_TAG, Workshop

__all__ = ["Cleaner", "Found", "is_workshop_resource"]

# Error codes meaning "that resource is not there (any more)": deleting it again is success.
_GONE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NotFoundException",
        "NoSuchEntity",
        "NoSuchBucket",
        "ParameterNotFound",
        "RepositoryNotFoundException",
        "ClusterNotFoundException",
        "ServiceNotFoundException",
        "ServiceNotActiveException",
        "LoadBalancerNotFound",
        "ListenerNotFound",
        "TargetGroupNotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "RepositoryDoesNotExistException",
        "ApplicationDoesNotExistException",
        "DeploymentGroupDoesNotExistException",
        "PipelineNotFoundException",
    }
)


# --------------------------------------------------------------------------------------------
# What a cleaner finds, and what a cleaner is
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """One workshop resource a cleaner found.

    Attributes:
        service: The boto3 service name, e.g. ``"s3"``.
        kind: What it is within the service, e.g. ``"bucket"``, ``"service"``, ``"listener"``.
        name: Its name (or id where it has no name).
        arn: Its ARN, or another full identifier (a queue URL) when it has no ARN.
        tags: Its tags as a dict (empty when the service cannot say).
        detail: A note for people, e.g. ``"in cluster labs-shop"``.
        ref: What :meth:`Cleaner.delete` needs besides the name (a cluster ARN, an app id…).
    """

    service: str
    kind: str
    name: str
    arn: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""
    ref: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Cleaner(Protocol):
    """What ``SERVICES`` holds: one per AWS service, so a later lab can add its own.

    Attributes:
        service: The boto3 service name it cleans.
        local_notes: What it can and cannot find or delete on the local emulator.
    """

    service: str
    local_notes: str

    def list(self, ctx: Workshop) -> list[Found]:
        """Return the service's workshop resources, in the order they must be deleted."""
        ...

    def delete(self, ctx: Workshop, found: Found) -> str:
        """Delete one resource (and the parts of it that must go first); return a detail."""
        ...


def is_workshop_resource(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> bool:
    """Return True when ``tags`` holds the workshop tag, whatever shape the API returned.

    Accepts a dict, a list of ``{"Key": …, "Value": …}`` or a list of ``{"key": …, "value": …}``.
    """
    return _tag_dict(tags).get(WORKSHOP_TAG[0]) == WORKSHOP_TAG[1]


def _tag_dict(tags: Mapping[str, str] | Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    out: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            out[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return out


class _Base:
    """Shared helpers for the cleaners (a cleaner only needs the :class:`Cleaner` API)."""

    service: ClassVar[str] = ""
    local_notes: ClassVar[str] = "lists, reads tags and deletes everything it needs"

    def found(
        self, kind: str, name: str, arn: str = "", tags: Any = None, detail: str = "", **ref: Any
    ) -> Found:
        return Found(self.service, kind, name, arn, _tag_dict(tags), detail, ref)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.service}>"


# --------------------------------------------------------------------------------------------
# Error helpers
# --------------------------------------------------------------------------------------------


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _is_gone(exc: BaseException) -> bool:
    """True when ``exc`` says the resource does not exist (so there is nothing left to do)."""
    code = _code(exc)
    if not code:
        return False
    return code in _GONE_CODES or any(
        word in code for word in ("NotFound", "NoSuch", "NonExistent", "DoesNotExist")
    )


def _is_unimplemented(ctx: Workshop, exc: BaseException) -> bool:
    """True when the local emulator answered "not implemented" (HTTP 500, or a bare 404 page)."""
    if not ctx.is_local:
        return False
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status in (500, 501) or (status == 404 and _code(exc) == "404")
    return False


def _short(exc: BaseException) -> str:
    """One line for people: the error code and the first line of its message."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        message = str(error.get("Message", "")).strip().splitlines()
        text = message[0] if message and not message[0].startswith("<") else ""
        return f"{error.get('Code', type(exc).__name__)}: {text}".rstrip(": ")[:300]
    first = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}".rstrip(": ")[:300]


def _n(count: int, singular: str, plural: str | None = None) -> str:
    """``"1 profile"``, ``"2 profiles"``: a count for people."""
    return f"{count} {singular if count == 1 else (plural or singular + 's')}"


def _optional(ctx: Workshop, call: Callable[[], Any], default: Any) -> Any:
    """Run ``call``; on the local emulator return ``default`` when the operation is missing."""
    try:
        return call()
    except (ClientError, ResponseParserError) as exc:
        if _is_unimplemented(ctx, exc):
            return default
        raise


def _ignore_gone(call: Callable[[], Any]) -> Any:
    """Run ``call``; a "does not exist" answer is fine (the thing is already gone)."""
    try:
        return call()
    except ClientError as exc:
        if _is_gone(exc):
            return None
        raise


def _pages(client: Any, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Yield every page of ``operation`` (one page when the operation does not paginate)."""
    if client.can_paginate(operation):
        yield from client.get_paginator(operation).paginate(**kwargs)
    else:
        yield getattr(client, operation)(**kwargs)


def _wait(ctx: Workshop, client: Any, waiter: str, **kwargs: Any) -> None:
    """On AWS, wait for an asynchronous deletion; the emulator deletes at once."""
    if not ctx.is_local:
        client.get_waiter(waiter).wait(WaiterConfig={"Delay": 10, "MaxAttempts": 90}, **kwargs)
