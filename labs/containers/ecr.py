"""Amazon ECR: repositories, pushing an OCI image, scan findings, and lifecycle policies.

- :func:`recreate_repository` makes a repository with **scan on push** and **immutable tags**
  (deleting an earlier one of the same name first, so a lab re-runs from the top).
- :func:`push` takes the steps of ``docker push`` (which speaks the registry's HTTP protocol)
  through ECR's API: ask which blobs the repository lacks (``BatchCheckLayerAvailability``),
  upload those (``InitiateLayerUpload`` → ``UploadLayerPart`` → ``CompleteLayerUpload``), then
  ``PutImage`` with the manifest and its digest.
- :func:`scan_findings` reads a basic scan's findings as a table.
- :func:`validate_policy` checks a lifecycle policy as ECR does, and :func:`lifecycle_preview`
  evaluates it over a repository's images — the preview the local emulator lacks — which
  :func:`apply_lifecycle` then carries out with ``BatchDeleteImage``.

Lifecycle semantics implemented (Amazon ECR User Guide, "Lifecycle policy properties",
https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html, and
"Examples of lifecycle policies", lifecycle_policy_examples.html):

- rules are applied in ``rulePriority`` order, lowest first; priorities are unique; a rule
  with ``tagStatus: any`` must have the highest priority; only one rule may select untagged
  images; two ``tagged`` rules may not use the same set of prefixes (or patterns);
- ``tagStatus`` ``tagged`` needs ``tagPrefixList`` or ``tagPatternList``; ``untagged`` and
  ``any`` take neither. An image is selected when **every** prefix (or pattern) in the list
  matches at least one of its tags; patterns use ``*`` wildcards (at most four per pattern);
- ``imageCountMoreThan`` sorts the selected images newest first by push time and marks those
  beyond ``countNumber``; ``sinceImagePushed`` (``countUnit: days``) marks those pushed more
  than ``countNumber`` days before ``now``;
- an image is expired by at most one rule: once a rule selects an image, rules of lower
  priority can never expire it — but they still *count* it (the documented Example A: an
  image that a ``prod`` rule keeps is not expired by a later ``beta`` rule).

Not modelled: ``storageClass: archive``, ``action: transition``, ``sinceImagePulled`` and
``sinceImageTransitioned`` (ECR's archive tier); a policy using them is refused with a
message saying so.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from botocore.exceptions import ClientError

from labs.containers.image import OCI_MANIFEST, SOURCE_DATE, OciImage, bookstore_image
from labs.env import Workshop
from labs.errors import InputError, LabsError

__all__ = [
    "PREVIEW_COLUMNS",
    "PushResult",
    "ScanResult",
    "apply_lifecycle",
    "images",
    "lifecycle_preview",
    "push",
    "push_history",
    "recreate_repository",
    "sample_history",
    "scan_findings",
    "validate_policy",
]

PREVIEW_COLUMNS = ["digest", "tags", "pushed_at", "age_days", "action", "rule", "reason"]


# ------------------------------------------------------------------------------------------
# Repository and push
# ------------------------------------------------------------------------------------------


def recreate_repository(
    ctx: Workshop,
    name: str,
    *,
    lab: str,
    immutable: bool = True,
    scan_on_push: bool = True,
) -> dict[str, Any]:
    """Create the ECR repository ``name`` afresh: delete it (and its images) if it exists.

    With immutable tags a pushed tag can never point at another image, so a lab that pushes
    ``v1`` again on a re-run would be refused; starting from an empty repository keeps the
    lab re-runnable.

    Args:
        ctx: The workshop context.
        name: The repository name (``ctx.name(...)``).
        lab: The lab that owns it (its ``lab`` tag, for cleanup).
        immutable: ``imageTagMutability`` ``IMMUTABLE`` (else ``MUTABLE``).
        scan_on_push: Basic scanning of every pushed image.

    Returns:
        The repository as ``CreateRepository`` describes it.
    """
    ecr = ctx.client("ecr")
    try:
        ecr.delete_repository(repositoryName=name, force=True)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "RepositoryNotFoundException":
            raise
    response = ecr.create_repository(
        repositoryName=name,
        imageTagMutability="IMMUTABLE" if immutable else "MUTABLE",
        imageScanningConfiguration={"scanOnPush": scan_on_push},
        tags=ctx.tags(lab=lab).as_list(),
    )
    return response["repository"]


@dataclass(frozen=True)
class PushResult:
    """What :func:`push` did.

    Attributes:
        digest: The image digest ``PutImage`` stored.
        tag: The tag pushed, or None for a push by digest only.
        blobs: One row per blob: ``part``, ``digest``, ``bytes`` and ``action``
            (``uploaded`` or ``already in the repository``).
    """

    digest: str
    tag: str | None
    blobs: pd.DataFrame


def _upload(ecr: Any, repository: str, data: bytes, digest: str) -> None:
    started = ecr.initiate_layer_upload(repositoryName=repository)
    upload_id, part_size = started["uploadId"], int(started.get("partSize") or len(data) or 1)
    for first in range(0, max(len(data), 1), part_size):
        part = data[first : first + part_size]
        ecr.upload_layer_part(
            repositoryName=repository,
            uploadId=upload_id,
            partFirstByte=first,
            partLastByte=first + len(part) - 1,
            layerPartBlob=part,
        )
    done = ecr.complete_layer_upload(
        repositoryName=repository, uploadId=upload_id, layerDigests=[digest]
    )
    if done.get("layerDigest") != digest:
        raise LabsError(
            f"ECR computed {done.get('layerDigest')} for a blob we uploaded as {digest}.",
            hint="The upload was corrupted; push again.",
        )


def push(ctx: Workshop, repository: str, image: OciImage, *, tag: str | None = None) -> PushResult:
    """Push an OCI image to ECR in ``docker push``'s steps: missing blobs first, then the manifest.

    Args:
        ctx: The workshop context.
        repository: The repository name.
        image: The image (:func:`labs.containers.image.bookstore_image`).
        tag: The tag to give it; None pushes by digest only (an untagged image).

    Raises:
        botocore.exceptions.ClientError: ECR refused the manifest — e.g. the tag already exists
            in an immutable repository (``ImageTagAlreadyExistsException`` on AWS;
            ``ImageAlreadyExistsException`` on the local emulator).
    """
    ecr = ctx.client("ecr")
    blobs = image.blobs()
    parts = [f"layer {i + 1}" for i in range(len(image.layers))] + ["config"]
    check = ecr.batch_check_layer_availability(
        repositoryName=repository, layerDigests=[b.digest for b in blobs]
    )
    available = {
        layer["layerDigest"]
        for layer in check.get("layers", [])
        if layer.get("layerAvailability") == "AVAILABLE"
    }
    rows = []
    for part, blob in zip(parts, blobs, strict=True):
        if blob.digest in available:
            action = "already in the repository"
        else:
            _upload(ecr, repository, blob.data, blob.digest)
            action = "uploaded"
        rows.append({"part": part, "digest": blob.digest, "bytes": blob.size, "action": action})
    arguments: dict[str, Any] = {
        "repositoryName": repository,
        "imageManifest": image.manifest.data.decode(),
        "imageManifestMediaType": OCI_MANIFEST,
        "imageDigest": image.digest,
    }
    if tag:
        arguments["imageTag"] = tag
    stored = ecr.put_image(**arguments)["image"]["imageId"]
    rows.append(
        {
            "part": "manifest",
            "digest": image.digest,
            "bytes": image.manifest.size,
            "action": "put (PutImage)",
        }
    )
    return PushResult(stored.get("imageDigest", image.digest), tag, pd.DataFrame(rows))


def images(ctx: Workshop, repository: str) -> pd.DataFrame:
    """The repository's images (``DescribeImages``): digest, tags, pushed_at, bytes.

    ``tags`` is comma-separated text (empty for an untagged image), as :func:`lifecycle_preview`
    shows it and accepts it; rows are newest first.
    """
    ecr = ctx.client("ecr")
    details: list[dict[str, Any]] = []
    for page in ecr.get_paginator("describe_images").paginate(repositoryName=repository):
        details += page.get("imageDetails", [])
    frame = _images_frame(details)
    frame["tags"] = [", ".join(tags) for tags in frame["tags"]]
    return frame


@dataclass(frozen=True)
class ScanResult:
    """A basic scan's outcome.

    Attributes:
        status: ``COMPLETE``, ``IN_PROGRESS``, ``FAILED``…
        findings: One row per finding: name, severity, package, version, uri.
        severity_counts: Findings per severity.
        started_here: True when this call had to start the scan (the local emulator does not
            scan on push).
    """

    status: str
    findings: pd.DataFrame
    severity_counts: dict[str, int]
    started_here: bool


def scan_findings(ctx: Workshop, repository: str, *, tag: str) -> ScanResult:
    """Return the basic scan findings of ``repository:tag`` as a table.

    On AWS, scan on push has already started the scan: this waits for it to complete. The
    local emulator stores ``scanOnPush`` but never scans; there the scan is started here
    (``StartImageScan``) and its findings — always the same canned ones — are read back.
    """
    ecr = ctx.client("ecr")
    image_id = {"imageTag": tag}
    started = False
    try:
        response = ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ScanNotFoundException":
            raise
        try:
            ecr.start_image_scan(repositoryName=repository, imageId=image_id)
            started = True
        except ClientError as busy:  # on AWS: the scan on push is already under way
            if busy.response.get("Error", {}).get("Code") != "LimitExceededException":
                raise
        if not ctx.is_local:
            ecr.get_waiter("image_scan_complete").wait(repositoryName=repository, imageId=image_id)
        response = ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id)
    status = response.get("imageScanStatus", {}).get("status", "UNKNOWN")
    if status == "IN_PROGRESS" and not ctx.is_local:
        ecr.get_waiter("image_scan_complete").wait(repositoryName=repository, imageId=image_id)
        response = ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id)
        status = response.get("imageScanStatus", {}).get("status", "UNKNOWN")
    found = response.get("imageScanFindings", {})
    rows = []
    for finding in found.get("findings", []):
        attributes = {a.get("key"): a.get("value") for a in finding.get("attributes", [])}
        rows.append(
            {
                "name": finding.get("name", ""),
                "severity": finding.get("severity", ""),
                "package": attributes.get("package_name", ""),
                "version": attributes.get("package_version", ""),
                "uri": finding.get("uri", ""),
            }
        )
    frame = pd.DataFrame(rows, columns=["name", "severity", "package", "version", "uri"])
    counts = {str(k): int(v) for k, v in found.get("findingSeverityCounts", {}).items()}
    return ScanResult(status, frame, counts, started)


# ------------------------------------------------------------------------------------------
# Lifecycle policies: validation
# ------------------------------------------------------------------------------------------

_RULE_KEYS = {"rulePriority", "description", "selection", "action"}
_SELECTION_KEYS = {
    "tagStatus",
    "tagPrefixList",
    "tagPatternList",
    "countType",
    "countUnit",
    "countNumber",
    "storageClass",
}
_TAG_STATUSES = ("tagged", "untagged", "any")
_COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed")
_ARCHIVE_COUNT_TYPES = ("sinceImagePulled", "sinceImageTransitioned")


def _where(index: int, rule: Mapping[str, Any], field: str | None = None) -> str:
    priority = rule.get("rulePriority") if isinstance(rule, Mapping) else None
    label = f"lifecycle policy, rule {index}"
    if isinstance(priority, int) and not isinstance(priority, bool):
        label += f" (rulePriority {priority})"
    return f"{label}, {field}" if field else label


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _string_list(value: Any, where: str, name: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InputError(
            f"{name} must be a non-empty list of strings.",
            where=where,
            hint=f'Write e.g. "{name}": ["release"].',
        )
    for item in value:
        if not isinstance(item, str) or not item:
            raise InputError(f"{name} holds {item!r}, which is not a tag text.", where=where)
    return value


def validate_policy(policy: Mapping[str, Any] | str) -> dict[str, Any]:
    """Check a lifecycle policy as ECR does; return it as a dict.

    Accepts the policy as a dict or as its JSON text (what ``PutLifecyclePolicy`` takes).

    Raises:
        InputError: Naming the rule (its position and ``rulePriority``) and the field at fault,
            with what ECR expects there.
    """
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"The policy is not valid JSON: {exc.msg}.",
                where=f"lifecycle policy, line {exc.lineno}, column {exc.colno}",
            ) from None
    if not isinstance(policy, Mapping):
        raise InputError(
            f"A lifecycle policy is a JSON object; got {type(policy).__name__}.",
            where="lifecycle policy",
            hint='Write {"rules": [ … ]}.',
        )
    unknown = set(policy) - {"rules"}
    if unknown:
        raise InputError(
            f"Unknown top-level field(s) {sorted(unknown)}.",
            where="lifecycle policy",
            hint='A lifecycle policy has one field, "rules".',
        )
    rules = policy.get("rules")
    if not isinstance(rules, list) or not rules:
        raise InputError(
            '"rules" must be a non-empty list of rules.',
            where="lifecycle policy, rules",
            hint='{"rules": [{"rulePriority": 1, "selection": {…}, "action": {"type": "expire"}}]}',
        )
    priorities: dict[int, int] = {}
    for index, rule in enumerate(rules, start=1):
        _validate_rule(index, rule)
        priority = rule["rulePriority"]
        if priority in priorities:
            raise InputError(
                f"rulePriority {priority} is used by rule {priorities[priority]} too; each "
                "rule needs a unique priority.",
                where=_where(index, rule, "rulePriority"),
                hint="Priorities need not be consecutive: 1, 2, 10 are fine.",
            )
        priorities[priority] = index
    highest = max(priorities)
    untagged: list[int] = []
    seen_lists: dict[tuple[str, frozenset[str]], int] = {}
    for index, rule in enumerate(rules, start=1):
        selection = rule["selection"]
        status = selection["tagStatus"]
        if status == "any" and rule["rulePriority"] != highest:
            raise InputError(
                f"A rule with tagStatus 'any' must have the highest rulePriority "
                f"({rule['rulePriority']} < {highest}): it is evaluated last.",
                where=_where(index, rule, "rulePriority"),
                hint=f"Give it a priority above {highest}.",
            )
        if status == "untagged":
            untagged.append(index)
            if len(untagged) > 1:
                raise InputError(
                    f"Only one rule may select untagged images; rule {untagged[0]} already does.",
                    where=_where(index, rule, "selection.tagStatus"),
                    hint="Merge the two untagged rules into one.",
                )
        for name in ("tagPrefixList", "tagPatternList"):
            if name in selection:
                key = (name, frozenset(selection[name]))
                if key in seen_lists:
                    raise InputError(
                        f"Rule {seen_lists[key]} already selects the same {name} "
                        f"{sorted(key[1])}; each tagged rule needs its own set.",
                        where=_where(index, rule, f"selection.{name}"),
                        hint="Merge the rules, or make their tag lists differ.",
                    )
                seen_lists[key] = index
    return dict(policy)


def _validate_rule(index: int, rule: Any) -> None:
    if not isinstance(rule, Mapping):
        raise InputError(
            f"A rule is a JSON object; got {type(rule).__name__}.", where=_where(index, {})
        )
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        raise InputError(
            f"Unknown field(s) {sorted(unknown)}.",
            where=_where(index, rule),
            hint="A rule has rulePriority, description, selection and action.",
        )
    for name in ("rulePriority", "selection", "action"):
        if name not in rule:
            raise InputError(f"{name} is required.", where=_where(index, rule, name))
    if not _is_int(rule["rulePriority"]) or rule["rulePriority"] < 1:
        raise InputError(
            f"rulePriority must be a positive integer; got {rule['rulePriority']!r}.",
            where=_where(index, rule, "rulePriority"),
        )
    if "description" in rule and not isinstance(rule["description"], str):
        raise InputError("description must be a string.", where=_where(index, rule, "description"))
    action = rule["action"]
    if not isinstance(action, Mapping) or "type" not in action:
        raise InputError(
            'action must be {"type": "expire"}.', where=_where(index, rule, "action.type")
        )
    if action["type"] == "transition":
        raise InputError(
            "action 'transition' (to ECR's archive storage class) is not modelled by this preview.",
            where=_where(index, rule, "action.type"),
            hint="Use 'expire'; archiving needs a real ECR repository.",
        )
    if action["type"] != "expire" or set(action) - {"type"}:
        raise InputError(
            f"action must be {{'type': 'expire'}}; got {dict(action)!r}.",
            where=_where(index, rule, "action.type"),
        )
    _validate_selection(index, rule)


def _validate_selection(index: int, rule: Mapping[str, Any]) -> None:
    selection = rule["selection"]
    if not isinstance(selection, Mapping):
        raise InputError("selection must be a JSON object.", where=_where(index, rule, "selection"))
    unknown = set(selection) - _SELECTION_KEYS
    if unknown:
        raise InputError(
            f"Unknown field(s) {sorted(unknown)}.",
            where=_where(index, rule, "selection"),
            hint="A selection has tagStatus, tagPrefixList or tagPatternList, countType, "
            "countUnit and countNumber.",
        )
    status = selection.get("tagStatus")
    if status not in _TAG_STATUSES:
        raise InputError(
            f"tagStatus must be one of {list(_TAG_STATUSES)}; got {status!r}.",
            where=_where(index, rule, "selection.tagStatus"),
        )
    prefixes, patterns = "tagPrefixList" in selection, "tagPatternList" in selection
    if status == "tagged":
        if not prefixes and not patterns:
            raise InputError(
                "tagStatus 'tagged' needs a tagPrefixList or a tagPatternList.",
                where=_where(index, rule, "selection.tagStatus"),
                hint='Add e.g. "tagPatternList": ["release-*"].',
            )
        if prefixes and patterns:
            raise InputError(
                "Give a tagPrefixList or a tagPatternList, not both.",
                where=_where(index, rule, "selection.tagPatternList"),
                hint="A prefix 'release' is the pattern 'release*'.",
            )
        if prefixes:
            _string_list(
                selection["tagPrefixList"],
                _where(index, rule, "selection.tagPrefixList"),
                "tagPrefixList",
            )
        if patterns:
            where = _where(index, rule, "selection.tagPatternList")
            for pattern in _string_list(selection["tagPatternList"], where, "tagPatternList"):
                if pattern.count("*") > 4:
                    raise InputError(
                        f"The pattern {pattern!r} has {pattern.count('*')} wildcards; ECR allows "
                        "at most four per pattern.",
                        where=where,
                    )
    elif prefixes or patterns:
        name = "tagPrefixList" if prefixes else "tagPatternList"
        raise InputError(
            f"{name} is only used with tagStatus 'tagged'; this rule has {status!r}.",
            where=_where(index, rule, f"selection.{name}"),
            hint=f"Remove {name}, or set tagStatus to 'tagged'.",
        )
    storage = selection.get("storageClass", "standard")
    if storage != "standard":
        raise InputError(
            f"storageClass {storage!r} (ECR's archive tier) is not modelled by this preview.",
            where=_where(index, rule, "selection.storageClass"),
            hint="Leave storageClass out (it defaults to 'standard').",
        )
    count_type = selection.get("countType")
    if count_type in _ARCHIVE_COUNT_TYPES:
        raise InputError(
            f"countType {count_type!r} is not modelled by this preview.",
            where=_where(index, rule, "selection.countType"),
            hint="Use imageCountMoreThan or sinceImagePushed.",
        )
    if count_type not in _COUNT_TYPES:
        raise InputError(
            f"countType must be one of {list(_COUNT_TYPES)}; got {count_type!r}.",
            where=_where(index, rule, "selection.countType"),
        )
    if count_type == "sinceImagePushed" and selection.get("countUnit") != "days":
        raise InputError(
            f"countType sinceImagePushed needs countUnit 'days'; got "
            f"{selection.get('countUnit')!r}.",
            where=_where(index, rule, "selection.countUnit"),
        )
    if count_type == "imageCountMoreThan" and "countUnit" in selection:
        raise InputError(
            "countUnit is only used with countType sinceImagePushed.",
            where=_where(index, rule, "selection.countUnit"),
            hint="Remove countUnit: imageCountMoreThan counts images, not days.",
        )
    number = selection.get("countNumber")
    if not _is_int(number) or number < 1:
        raise InputError(
            f"countNumber must be a positive integer; got {number!r}.",
            where=_where(index, rule, "selection.countNumber"),
        )


# ------------------------------------------------------------------------------------------
# Lifecycle policies: preview and apply
# ------------------------------------------------------------------------------------------


def _tags(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ()
    if isinstance(value, str):
        return tuple(t.strip() for t in value.split(",") if t.strip())
    if isinstance(value, Iterable):
        return tuple(str(t) for t in value if str(t))
    raise InputError(f"Tags {value!r} are neither a list nor a comma-separated text.")


def _images_frame(images: Any) -> pd.DataFrame:
    """Normalise images to a frame of digest, tags (tuple), pushed_at (UTC), newest first."""
    if isinstance(images, Mapping) and "imageDetails" in images:
        images = images["imageDetails"]
    if isinstance(images, list):
        images = pd.DataFrame(
            [
                {
                    "digest": d.get("imageDigest"),
                    "tags": tuple(d.get("imageTags", ())),
                    "pushed_at": d.get("imagePushedAt"),
                    "bytes": d.get("imageSizeInBytes"),
                }
                for d in images
            ],
            columns=["digest", "tags", "pushed_at", "bytes"],
        )
    if not isinstance(images, pd.DataFrame):
        raise InputError(
            f"images must be a DataFrame or DescribeImages output; got {type(images).__name__}.",
            hint="Pass labs.containers.ecr.images(ctx, repository) or a frame with columns "
            "digest, tags, pushed_at.",
        )
    renamed = images.rename(
        columns={"imageDigest": "digest", "imageTags": "tags", "imagePushedAt": "pushed_at"}
    )
    missing = [c for c in ("digest", "tags", "pushed_at") if c not in renamed.columns]
    if missing:
        raise InputError(
            f"images lacks the column(s) {missing}.",
            where="images",
            hint="It needs digest, tags (a list, empty for untagged) and pushed_at.",
        )
    frame = renamed.copy()
    frame["tags"] = [_tags(v) for v in frame["tags"]]
    try:
        frame["pushed_at"] = pd.to_datetime(frame["pushed_at"], utc=True)
    except (TypeError, ValueError) as exc:
        raise InputError(f"pushed_at holds something that is not a time: {exc}.") from None
    bad = frame.index[frame["pushed_at"].isna()].tolist()
    if bad:
        raise InputError("pushed_at is missing.", where=f"images, row {bad[0]}")
    duplicated = frame["digest"][frame["digest"].duplicated()].tolist()
    if duplicated:
        raise InputError(
            f"The digest {duplicated[0]} appears twice; one row per image.",
            where="images, column 'digest'",
            hint="An image with several tags is one row whose tags list holds them all.",
        )
    order = frame.sort_values(["pushed_at", "digest"], ascending=[False, True], kind="stable")
    return order.reset_index(drop=True)


def _pattern(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if c == "*" else re.escape(c) for c in text) + r"\Z")


def _selects(selection: Mapping[str, Any], tags: tuple[str, ...]) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not tags
    if not tags:
        return False
    if "tagPrefixList" in selection:
        return all(any(t.startswith(p) for t in tags) for p in selection["tagPrefixList"])
    patterns = [_pattern(p) for p in selection["tagPatternList"]]
    return all(any(p.match(t) for t in tags) for p in patterns)


def _selection_text(selection: Mapping[str, Any]) -> str:
    status = selection["tagStatus"]
    if status != "tagged":
        return {"any": "", "untagged": "untagged "}[status]
    if "tagPrefixList" in selection:
        return " + ".join(f"{p}…" for p in selection["tagPrefixList"]) + " "
    return " + ".join(selection["tagPatternList"]) + " "


def lifecycle_preview(policy: Mapping[str, Any] | str, images: Any, *, now: Any) -> pd.DataFrame:
    """Preview which images an ECR lifecycle policy expires, and why each one stays or goes.

    The local emulator stores lifecycle policies but neither previews nor applies them; this
    evaluates the policy with ECR's documented rules (see the module docstring).

    Args:
        policy: The lifecycle policy (dict or JSON text); validated with :func:`validate_policy`.
        images: The repository's images: :func:`images`' frame, ``DescribeImages`` output, or
            any frame with ``digest``, ``tags`` (list, or comma-separated text; empty for
            untagged) and ``pushed_at``.
        now: The time of evaluation (for ``sinceImagePushed``).

    Returns:
        One row per image, newest first: ``digest``, ``tags`` (comma-separated), ``pushed_at``,
        ``age_days``, ``action`` (``expire`` or ``keep``), ``rule`` (the ``rulePriority`` that
        decided, ``<NA>`` when no rule selects the image) and ``reason``.

    Raises:
        InputError: An invalid policy (naming the rule and field) or malformed images.
    """
    rules = sorted(validate_policy(policy)["rules"], key=lambda r: r["rulePriority"])
    frame = _images_frame(images)
    try:
        when = pd.Timestamp(now)
    except (TypeError, ValueError):
        raise InputError(f"now={now!r} is not a point in time.", where="now") from None
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    late = frame.index[frame["pushed_at"] > when].tolist()
    if late:
        raise InputError(
            f"An image was pushed at {frame['pushed_at'][late[0]]}, after now={when}.",
            where=f"images, digest {frame['digest'][late[0]]}",
            hint="now is when the policy runs: after every push.",
        )
    n = len(frame)
    age = ((when - frame["pushed_at"]).dt.total_seconds() / 86400.0).to_numpy()
    decided = np.zeros(n, dtype=bool)  # selected by an earlier (higher-priority) rule
    expire = np.zeros(n, dtype=bool)
    rule_of = np.full(n, -1, dtype=np.int64)
    reasons = ["no rule selects it"] * n
    blocked: list[list[str]] = [[] for _ in range(n)]
    for rule in rules:
        selection, priority = rule["selection"], rule["rulePriority"]
        count = selection["countNumber"]
        selected = np.array([_selects(selection, tags) for tags in frame["tags"]], dtype=bool)
        label = _selection_text(selection)
        if selection["countType"] == "imageCountMoreThan":
            # frame is newest first: rank among every selected image, decided or not
            rank = np.cumsum(selected)
            marks = selected & (rank > count)
            total = int(selected.sum())
            texts = [f"#{r} newest of {total} {label}images (keeps {count})" for r in rank]
        else:
            marks = selected & (age > count)
            unit = "day" if count == 1 else "days"
            texts = [f"{label}image pushed {a:.1f} days ago (limit {count} {unit})" for a in age]
        for i in np.flatnonzero(selected & ~decided):
            reasons[i] = f"rule {priority}{'' if marks[i] else ' keeps it'}: {texts[i]}"
            rule_of[i] = priority
        for i in np.flatnonzero(marks & decided & ~expire):
            blocked[i].append(f"rule {priority} would expire it, but rule {rule_of[i]} came first")
        expire |= marks & ~decided
        decided |= selected
    for i in range(n):
        if blocked[i]:
            reasons[i] += "; " + "; ".join(blocked[i])
    out = pd.DataFrame(
        {
            "digest": frame["digest"].astype(str),
            "tags": [", ".join(t) for t in frame["tags"]],
            "pushed_at": frame["pushed_at"],
            "age_days": np.round(age, 1),
            "action": np.where(expire, "expire", "keep"),
            "rule": pd.array([int(p) if p >= 0 else pd.NA for p in rule_of], dtype="Int64"),
            "reason": reasons,
        },
        columns=PREVIEW_COLUMNS,
    )
    return out


def apply_lifecycle(ctx: Workshop, repository: str, preview: pd.DataFrame) -> pd.DataFrame:
    """Delete the images a preview expires (``BatchDeleteImage``, 100 at a time).

    ECR applies a stored lifecycle policy by itself within 24 hours; the emulator never does,
    so the lab applies the preview's verdict with the same API ECR's own cleanup uses.

    Returns:
        One row per expired image: digest, tags and ``result`` (``deleted`` or ECR's failure
        code).
    """
    if "action" not in preview or "digest" not in preview:
        raise InputError(
            "preview lacks the columns 'digest' and 'action'.",
            hint="Pass what lifecycle_preview(...) returned.",
        )
    doomed = preview.loc[preview["action"] == "expire", ["digest", "tags"]]
    ecr = ctx.client("ecr")
    failures: dict[str, str] = {}
    digests = doomed["digest"].tolist()
    for start in range(0, len(digests), 100):
        chunk = digests[start : start + 100]
        response = ecr.batch_delete_image(
            repositoryName=repository, imageIds=[{"imageDigest": d} for d in chunk]
        )
        for failure in response.get("failures", []):
            digest = failure.get("imageId", {}).get("imageDigest", "")
            failures[digest] = failure.get("failureCode", "failed")
    result = doomed.assign(result=[failures.get(d, "deleted") for d in digests])
    return result.reset_index(drop=True)


# ------------------------------------------------------------------------------------------
# A month of CI pushes, to have something to clean up
# ------------------------------------------------------------------------------------------


def sample_history(*, start: Any = SOURCE_DATE, days: int = 30, seed: int = 8) -> pd.DataFrame:
    """A month of pushes from the bookstore's CI: releases, dev builds and untagged images.

    - a ``release-1.N`` image about twice a week;
    - a ``dev-<commit>`` image most working days (a build of a pull request);
    - a few **untagged** images: pushed by digest only (a CI cache manifest), the kind of
      debris that accumulates unseen.

    Push times are on a simulated clock starting at ``start``: a re-run gives the same
    history. Returns columns tags (text, empty when untagged), kind, revision and pushed_at,
    oldest first.
    """
    rng = np.random.default_rng(seed)
    origin = pd.Timestamp(start)
    origin = origin.tz_localize("UTC") if origin.tzinfo is None else origin.tz_convert("UTC")
    rows = []
    release_days = np.arange(1, days, 3.5)
    for number, day in enumerate(release_days):
        rows.append(("release", f"release-1.{number}", day + 0.25 + rng.uniform(0, 0.2)))
    for day in range(days):
        if (origin + pd.Timedelta(days=day)).day_of_week < 5 and rng.uniform() < 0.8:
            rows.append(("dev", "dev", day + 0.4 + rng.uniform(0, 0.4)))
    for day in (2.6, 9.7, 16.3, 23.5, days - 0.7, days - 0.3):
        rows.append(("untagged", "", day + rng.uniform(0, 0.1)))
    history = pd.DataFrame(rows, columns=["kind", "tags", "day"]).sort_values("day")
    history = history.reset_index(drop=True)
    revisions = [
        hashlib.sha1(f"bookstore-{seed}-{i}".encode()).hexdigest()[:12] for i in range(len(history))
    ]
    history["revision"] = revisions
    history.loc[history["kind"] == "dev", "tags"] = [
        f"dev-{r[:7]}" for r in history.loc[history["kind"] == "dev", "revision"]
    ]
    history["pushed_at"] = origin + pd.to_timedelta(history["day"], unit="D").dt.round("s")
    return history[["tags", "kind", "revision", "pushed_at"]]


def push_history(ctx: Workshop, repository: str, history: pd.DataFrame) -> pd.DataFrame:
    """Push one bookstore image per row of ``history`` (:func:`sample_history`).

    Each image differs from the others only in its config (version and revision labels,
    creation time), so its layer is uploaded once and found in the repository for every later
    push. The emulator stamps each push with the wall clock; the frame returned keeps each
    image's **simulated** push time, which is what the lifecycle preview reads.

    Returns:
        Columns digest, tags, kind, pushed_at (simulated), oldest first.
    """
    rows = []
    layer = bookstore_image().layers[0]
    for row in history.itertuples(index=False):
        version = row.tags or "cache"
        built = bookstore_image(
            version=version, revision=row.revision, created=row.pushed_at, layer=layer
        )
        result = push(ctx, repository, built, tag=row.tags or None)
        rows.append(
            {
                "digest": result.digest,
                "tags": row.tags,
                "kind": row.kind,
                "pushed_at": row.pushed_at,
            }
        )
    return pd.DataFrame(rows, columns=["digest", "tags", "kind", "pushed_at"])
