"""Which IAM actions the workshop uses: a recorder of every AWS call, in IAM action form.

With ``LABS_RECORD_CALLS=/some/file`` in the environment, every client made by ``ctx.client``
appends one line ``prefix:Action`` per call it makes (``s3:CreateBucket``,
``elasticloadbalancing:ModifyListener``) to that file. ``setup/iam/derive_policy.py`` runs the
series with it set and turns the recorded actions into the least-privilege policy
``setup/iam/workshop-policy.json``.

The file is append-only, one short line per write (``O_APPEND`` writes of less than a page
are not interleaved between processes), so several kernels and servers may record into it at
once; :func:`read_actions` deduplicates. Each process also skips writing an action it has
already written to the same file.

The IAM service prefix is the client's SigV4 signing name (``elasticloadbalancing`` for
``elbv2``, ``logs``, ``application-autoscaling``, ``events``), except where the IAM prefix
differs (``monitoring`` → ``cloudwatch``, ``tagging`` → ``tag``). The action is the API
operation name, except where the Service Authorization Reference names another action
(S3's ``ListBuckets`` is authorised as ``s3:ListAllMyBuckets``, ``HeadObject`` as
``s3:GetObject``): https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html

Floor 1: imports nothing from the labs areas.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "ACTION_ALIASES",
    "PREFIX_ALIASES",
    "RECORD_ENV",
    "iam_actions",
    "iam_prefix",
    "read_actions",
    "record_hook",
]

RECORD_ENV = "LABS_RECORD_CALLS"
"""The environment variable naming the file the recorder appends to (unset: no recording)."""

PREFIX_ALIASES = {
    "monitoring": "cloudwatch",  # CloudWatch signs as "monitoring"; IAM says "cloudwatch"
    "tagging": "tag",  # the Resource Groups Tagging API
}
"""Signing name → IAM service prefix, where they differ."""

ACTION_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    # Amazon S3: API operations whose permission is another action (Service Authorization
    # Reference, "Actions defined by Amazon S3", and the S3 API reference's "Permissions").
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "ListMultipartUploads"): ("ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("ListMultipartUploadParts",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "GetObjectAttributes"): ("GetObject", "GetObjectAttributes"),
    ("s3", "CopyObject"): ("GetObject", "PutObject"),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("GetObject", "PutObject"),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "DeleteBucketTagging"): ("PutBucketTagging",),
    ("s3", "DeleteBucketCors"): ("PutBucketCORS",),
    ("s3", "GetBucketCors"): ("GetBucketCORS",),
    ("s3", "PutBucketCors"): ("PutBucketCORS",),
    ("s3", "DeleteBucketLifecycle"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketLifecycle"): ("GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("GetLifecycleConfiguration",),
    ("s3", "PutBucketLifecycle"): ("PutLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketEncryption"): ("GetEncryptionConfiguration",),
    ("s3", "PutBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "GetBucketNotificationConfiguration"): ("GetBucketNotification",),
    ("s3", "PutBucketNotificationConfiguration"): ("PutBucketNotification",),
    ("s3", "GetBucketReplication"): ("GetReplicationConfiguration",),
    ("s3", "PutBucketReplication"): ("PutReplicationConfiguration",),
    ("s3", "DeleteBucketReplication"): ("PutReplicationConfiguration",),
    ("s3", "GetPublicAccessBlock"): ("GetBucketPublicAccessBlock",),
    ("s3", "PutPublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "DeleteBucketOwnershipControls"): ("PutBucketOwnershipControls",),
}
"""(IAM prefix, API operation) → the IAM actions it needs, where they are not the operation."""


def iam_prefix(service_model: Any) -> str:
    """Return the IAM service prefix of a botocore service model (its signing name, aliased)."""
    name = service_model.signing_name or service_model.endpoint_prefix
    return PREFIX_ALIASES.get(name, name)


def iam_actions(service_model: Any, operation: str) -> tuple[str, ...]:
    """Return the IAM actions (``prefix:Action``) an API operation of a service needs."""
    prefix = iam_prefix(service_model)
    names = ACTION_ALIASES.get((prefix, operation), (operation,))
    return tuple(f"{prefix}:{name}" for name in names)


_LOCK = threading.Lock()
_WRITTEN: dict[str, set[str]] = {}


def _append(path: str, actions: Iterable[str]) -> None:
    with _LOCK:
        seen = _WRITTEN.setdefault(path, set())
        new = [a for a in actions if a not in seen]
        if not new:
            return
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for action in new:  # one write per line: appends of < PIPE_BUF never interleave
                os.write(fd, f"{action}\n".encode())
        finally:
            os.close(fd)
        seen.update(new)


def record_hook(client: Any) -> None:
    """Register the recorder on ``client`` when ``LABS_RECORD_CALLS`` names a file.

    Called by ``Workshop.client`` for every client it makes; does nothing when the variable is
    unset or empty. The file is looked up again at each call, so a test can point it elsewhere.
    """
    if not os.environ.get(RECORD_ENV):
        return
    service_model = client.meta.service_model

    def _record(model: Any = None, **_: Any) -> None:
        path = os.environ.get(RECORD_ENV)
        if path and model is not None:
            _append(path, iam_actions(service_model, model.name))

    client.meta.events.register("before-call", _record)


def read_actions(path: str | os.PathLike[str]) -> list[str]:
    """Return the distinct actions recorded in ``path``, sorted (none when it does not exist)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    return sorted({line.strip() for line in text.splitlines() if line.strip()})
