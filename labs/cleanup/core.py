"""The cleanup itself: the :data:`SERVICES` registry, :func:`inventory`, :func:`cleanup`, the CLI.

:func:`cleanup` asks each cleaner in :data:`SERVICES` for its workshop resources, deletes them in
registry order and turns what happened into one row per resource; :func:`inventory` lists the
same resources and deletes nothing; :func:`main` is ``python -m labs.cleanup``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence

import pandas as pd

from labs import emulator
from labs.cleanup.base import Cleaner, Found, _is_gone, _is_unimplemented, _n, _short
from labs.cleanup.cicd import (
    CodeBuildCleaner,
    CodeCommitCleaner,
    CodeDeployCleaner,
    CodePipelineCleaner,
)
from labs.cleanup.containers import (
    ECRCleaner,
    ECSCleaner,
    EKSCleaner,
    ELBv2Cleaner,
    LambdaCleaner,
)
from labs.cleanup.data import DynamoDBCleaner, S3Cleaner, SNSCleaner, SQSCleaner, SSMCleaner
from labs.cleanup.observability import CloudWatchCleaner, EventsCleaner, LogsCleaner
from labs.cleanup.platform import AppConfigCleaner, CloudFormationCleaner, IAMCleaner
from labs.cleanup.tracking import forget
from labs.env import Workshop
from labs.env import start as start_workshop
from labs.errors import InputError, LabsError

__all__ = [
    "ACTIONS",
    "CLEANUP_COLUMNS",
    "INVENTORY_COLUMNS",
    "SERVICES",
    "cleanup",
    "inventory",
    "main",
]

CLEANUP_COLUMNS = ["service", "kind", "name", "arn", "action", "detail"]
INVENTORY_COLUMNS = ["service", "kind", "name", "arn", "lab", "detail"]
ACTIONS = ("deleted", "would delete", "skipped", "failed")
"""The values of the ``action`` column: ``skipped`` is what the local emulator cannot delete."""

SERVICES: dict[str, Cleaner] = {
    cleaner.service: cleaner
    for cleaner in (
        # Deletion order: stacks own resources of the others; users of a resource go before
        # it (pipelines before projects, services before clusters); IAM roles go last.
        CloudFormationCleaner(),
        CodePipelineCleaner(),
        CodeBuildCleaner(),
        CodeDeployCleaner(),
        CodeCommitCleaner(),
        ECSCleaner(),
        EKSCleaner(),
        ELBv2Cleaner(),
        LambdaCleaner(),
        EventsCleaner(),
        AppConfigCleaner(),
        ECRCleaner(),
        CloudWatchCleaner(),
        LogsCleaner(),
        SNSCleaner(),
        SQSCleaner(),
        DynamoDBCleaner(),
        SSMCleaner(),
        S3Cleaner(),
        IAMCleaner(),
    )
}
"""Service name → its cleaner, in deletion order. A later lab adds one with
``SERVICES["apprunner"] = AppRunnerCleaner()`` (anything with ``list`` and ``delete``)."""


# --------------------------------------------------------------------------------------------
# The public API
# --------------------------------------------------------------------------------------------


def _select(services: str | Iterable[str] | None) -> list[str]:
    if services is None:
        return list(SERVICES)
    wanted = [services] if isinstance(services, str) else list(services)
    unknown = [s for s in wanted if s not in SERVICES]
    if unknown:
        raise InputError(
            f"No cleaner for {', '.join(map(repr, unknown))}.",
            where="services",
            hint=f"Use any of: {', '.join(SERVICES)}.",
        )
    return [s for s in SERVICES if s in wanted]  # always in deletion order


def _list_row(service: str, exc: BaseException) -> dict[str, str]:
    return {
        "service": service,
        "kind": "(listing)",
        "name": "",
        "arn": "",
        "detail": f"could not list: {_short(exc)}",
    }


def _of_lab(item: Found, lab: str | None) -> bool:
    """True when ``item`` belongs to ``lab`` (its ``lab`` tag); every item when ``lab`` is None."""
    return lab is None or item.tags.get("lab") == str(lab)


def inventory(
    ctx: Workshop, *, services: str | Iterable[str] | None = None, lab: str | None = None
) -> pd.DataFrame:
    """Return the workshop resources that exist now, one row each, deleting nothing.

    Uses the same listers and the same ``lab`` filter as :func:`cleanup`, so this is exactly
    what ``cleanup(ctx, services=..., lab=...)`` would delete.

    Args:
        ctx: The workshop context.
        services: One service name or several (keys of :data:`SERVICES`); default all.
        lab: Only resources tagged ``lab=<lab>`` (what ``ctx.tags(lab=...)`` adds); default
            every workshop resource. Untagged dashboards (matched by name) have no lab.

    Returns:
        A frame with columns service, kind, name, arn, lab (the ``lab`` tag) and detail. A
        service that could not be listed shows as one row of kind ``(listing)``.
    """
    rows: list[dict[str, str]] = []
    for service in _select(services):
        try:
            found = SERVICES[service].list(ctx)
        except Exception as exc:
            rows.append({**_list_row(service, exc), "lab": ""})
            continue
        rows += [
            {
                "service": f.service,
                "kind": f.kind,
                "name": f.name,
                "arn": f.arn,
                "lab": f.tags.get("lab", ""),
                "detail": f.detail,
            }
            for f in found
            if _of_lab(f, lab)
        ]
    return pd.DataFrame(rows, columns=INVENTORY_COLUMNS)


def cleanup(
    ctx: Workshop,
    *,
    services: str | Iterable[str] | None = None,
    lab: str | None = None,
    dry_run: bool = False,
    reset_local: bool = False,
    verbose: bool | None = None,
) -> pd.DataFrame:
    """Delete every workshop-tagged resource, service by service; safe to run again.

    Each service's cleaner lists its resources with the service's own API, keeps those carrying
    the tag ``workshop=devops-on-aws-labs`` and deletes them in an order the service accepts.
    A failure on one resource is recorded and the others carry on; nothing is raised.

    Args:
        ctx: The workshop context.
        services: One service name or several (keys of :data:`SERVICES`); default all.
        lab: Only resources tagged ``lab=<lab>`` (what ``ctx.tags(lab=...)`` adds), so that a
            lab's cleanup leaves other labs' resources alone; default every workshop resource.
        dry_run: List what would be deleted and delete nothing.
        reset_local: On the local target, also reset the emulator afterwards (everything in it
            goes, tagged or not, including what it cannot delete one by one). Ignored on AWS.
        verbose: Print one line per resource; default on the aws target, off locally.

    Returns:
        One row per resource found, with columns service, kind, name, arn, action
        (``deleted``, ``would delete``, ``skipped`` or ``failed``) and detail.
    """
    chosen = _select(services)
    verbose = (not ctx.is_local) if verbose is None else verbose
    rows: list[dict[str, str]] = []

    def note(row: dict[str, str]) -> None:
        rows.append(row)
        if verbose:
            print(
                f"  {row['action']:<12} {row['service']}/{row['kind']} {row['name']}"
                + (f"  ({row['detail']})" if row["detail"] else "")
            )

    for service in chosen:
        cleaner = SERVICES[service]
        try:
            found = cleaner.list(ctx)
        except Exception as exc:
            note({**_list_row(service, exc), "action": "failed"})
            continue
        for item in found:
            if not _of_lab(item, lab):
                continue
            row = {
                "service": item.service,
                "kind": item.kind,
                "name": item.name,
                "arn": item.arn,
                "action": "would delete",
                "detail": item.detail,
            }
            if not dry_run:
                row.update(_delete_one(ctx, cleaner, item))
            note(row)

    frame = pd.DataFrame(rows, columns=CLEANUP_COLUMNS)
    reset = False
    if reset_local and not dry_run:
        if ctx.is_local:
            emulator.reset()
            forget(ctx)
            reset = True
            frame.loc[frame["action"] == "skipped", "detail"] = "removed by the emulator reset"
        else:
            print("reset_local=True does nothing on the aws target.")
    print(_summary(ctx, frame, chosen, dry_run=dry_run, reset=reset))
    return frame


def _delete_one(ctx: Workshop, cleaner: Cleaner, item: Found) -> dict[str, str]:
    """Delete one resource; turn what happened into the row's action and detail."""
    try:
        detail = cleaner.delete(ctx, item) or item.detail
        return {"action": "deleted", "detail": detail}
    except Exception as exc:
        if _is_gone(exc):
            return {"action": "deleted", "detail": "already gone"}
        if _is_unimplemented(ctx, exc):
            operation = getattr(exc, "operation_name", "") or "this operation"
            return {
                "action": "skipped",
                "detail": f"the local emulator cannot do {operation}; "
                "cleanup(ctx, reset_local=True) removes it",
            }
        return {"action": "failed", "detail": _short(exc)}


def _summary(
    ctx: Workshop, frame: pd.DataFrame, chosen: Sequence[str], *, dry_run: bool, reset: bool
) -> str:
    where = "local emulator" if ctx.is_local else f"AWS account {ctx.account_id}, {ctx.region}"
    counts = frame["action"].value_counts()
    parts = [f"{counts[a]} {a}" for a in ACTIONS if counts.get(a, 0)]
    lines = [
        f"Cleanup{' (dry run)' if dry_run else ''} on the {where}: "
        f"{', '.join(parts) if parts else 'no workshop resources found'} "
        f"({_n(len(chosen), 'service')} checked)."
    ]
    failed = frame[frame["action"] == "failed"]
    for _, row in failed.head(5).iterrows():
        lines.append(f"  failed: {row['service']}/{row['kind']} {row['name']}: {row['detail']}")
    if len(failed) > 5:
        lines.append(f"  … and {len(failed) - 5} more failure(s): see the returned frame.")
    if len(failed):
        lines.append("  Run the cleanup again once the cause is fixed; it is safe to repeat.")
    if counts.get("skipped", 0) and not reset:
        lines.append(
            "  Skipped resources are ones the emulator cannot delete; "
            "`cleanup(ctx, reset_local=True)` (or `python -m labs.cleanup --reset`) "
            "removes them."
        )
    if reset:
        lines.append("  The local emulator was reset: it holds nothing now.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Command line: python -m labs.cleanup [--dry-run] [--reset] [--yes]
# --------------------------------------------------------------------------------------------


def _confirmed(ctx: Workshop, services: Sequence[str] | None, lab: str | None = None) -> bool:
    """On a real account: list what would go and ask; True only on an explicit yes.

    With no terminal to ask on (a script, CI, a pipe) it refuses: deleting in a real account
    then needs ``--yes``.
    """
    found = inventory(ctx, services=services, lab=lab)
    resources = found[found["kind"] != "(listing)"]
    where = f"AWS account {ctx.account_id}, {ctx.region}"
    if resources.empty:
        return True  # nothing to delete; the cleanup says so (and reports a failed listing)
    print(f"Workshop resources in the {where}:")
    for _, row in found.iterrows():
        name = row["name"] or row["detail"]
        lab = f"  (lab {row['lab']})" if row["lab"] else ""
        print(f"  {row['service']}/{row['kind']} {name}{lab}")
    prompt = f"Delete these {_n(len(resources), 'resource')}? [y/N] "
    stdin = sys.stdin
    if stdin is None or not stdin.isatty():
        print(
            f"Not deleting: there is no terminal to ask on. To delete these "
            f"{_n(len(resources), 'resource')} in the {where}, run again with --yes.",
            file=sys.stderr,
        )
        return False
    try:
        answer = input(prompt)
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Nothing deleted.")
    return False


def _lab_number(value: str) -> str:
    """argparse type for ``--lab``: a lab's two-digit number (``4`` and ``04`` both work)."""
    if not value.isdigit() or not 0 <= int(value) <= 99:
        raise argparse.ArgumentTypeError(f"{value!r} is not a lab number; use two digits, e.g. 04")
    return f"{int(value):02d}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the cleanup from the command line: exit 1 when a deletion failed, 2 on no start.

    On the aws target it first lists what it would delete and asks ``Delete these N
    resources? [y/N]``; without a terminal, or on any answer but yes, it deletes nothing and
    exits 1. ``--yes`` skips the question; ``--dry-run`` never asks. Locally it never asks.

    ``--reset`` and ``--stop`` (what ``make cleanup`` passes) act on the whole emulator, so they
    apply only to a whole cleanup: with ``--lab``, ``--service`` or ``--dry-run`` the emulator
    keeps running, and the output says so — one learner's lab reset never wipes the others.
    """
    parser = argparse.ArgumentParser(
        prog="python -m labs.cleanup",
        description="Delete every resource tagged workshop=devops-on-aws-labs on the "
        "workshop's target (the local emulator unless LABS_TARGET=aws).",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted, delete nothing"
    )
    parser.add_argument(
        "--lab",
        type=_lab_number,
        metavar="NN",
        help="only the resources of lab NN (tagged lab=NN), e.g. --lab 04",
    )
    parser.add_argument(
        "--service",
        action="append",
        metavar="NAME",
        choices=list(SERVICES),
        help="only this service (repeatable); default all",
    )
    parser.add_argument(
        "--reset",
        action="store_true",
        help="local target, whole cleanup only: also reset the emulator (removes everything)",
    )
    parser.add_argument(
        "--stop",
        action="store_true",
        help="local target, whole cleanup only: stop the emulator afterwards",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="aws target: delete without listing the resources and asking first",
    )
    args = parser.parse_args(argv)
    narrowed = [
        flag
        for flag, on in (
            (f"--lab {args.lab}", args.lab),
            ("--service", args.service),
            ("--dry-run", args.dry_run),
        )
        if on
    ]
    whole = not narrowed
    if (args.reset or args.stop) and not whole:
        print(
            f"Keeping the emulator running: {' and '.join(narrowed)} "
            "limits this cleanup, and a reset or stop would remove every lab's resources."
        )

    try:
        ctx = start_workshop(quiet=True)
    except LabsError as exc:  # a refused aws target, an emulator that would not start
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    try:
        asks = not ctx.is_local and not args.dry_run and not args.yes
        if asks and not _confirmed(ctx, args.service, args.lab):
            return 1
        frame = cleanup(
            ctx,
            services=args.service,
            lab=args.lab,
            dry_run=args.dry_run,
            reset_local=args.reset and whole,
            verbose=True,
        )
        return 1 if (frame["action"] == "failed").any() else 0
    finally:
        if args.stop and whole and emulator.stop():
            print("Stopped the local AWS emulator.")
