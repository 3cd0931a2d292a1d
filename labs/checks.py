"""*Check your work* helpers: a short success line, or a message a learner understands.

Every exercise in the workshop is followed by a cell that calls these. A check that passes prints
one line starting with ``✔``; a check that fails raises :class:`labs.errors.CheckFailed`, which
a notebook shows as what was expected, what was found and a hint — never a bare traceback.

Example:
    >>> from labs import checks
    >>> checks.equal(2 + 2, 4, "two plus two")
    ✔ two plus two: 4
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from labs.errors import CheckFailed

__all__ = [
    "answered",
    "bucket_tagged",
    "check",
    "close",
    "equal",
    "has_columns",
    "one_of",
    "passed",
    "solved",
]

T = TypeVar("T")


def passed(message: str) -> None:
    """Print the success line of a check."""
    print(f"✔ {message}")


def check(
    condition: bool,
    what: str,
    *,
    expected: object = None,
    found: object = None,
    hint: str | None = None,
    success: str | None = None,
) -> None:
    """Pass when ``condition`` holds; otherwise fail with what was expected and found.

    Args:
        condition: The thing that must be true.
        what: What is being checked, in the learner's words.
        expected: What a right answer looks like (shown on failure).
        found: What the learner's answer gave (shown on failure).
        hint: A nudge shown on failure.
        success: The success line; default ``what``.
    """
    if not condition:
        raise CheckFailed(what, expected=expected, found=found, hint=hint)
    passed(success or what)


def answered(value: T, what: str, *, hint: str | None = None) -> T:
    """Fail when an exercise's answer is missing (``None`` or ``...``); else return it."""
    if value is None or value is Ellipsis:
        raise CheckFailed(
            f"{what} has no answer yet.",
            hint=hint or "Fill in the exercise cell above and run it again.",
        )
    return value


def solved(func: Callable[..., T], *args: Any, what: str | None = None, **kwargs: Any) -> T:
    """Call a learner's function; a stub that raises ``NotImplementedError`` fails the check."""
    name = what or f"{getattr(func, '__name__', 'your function')}()"
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed(
            f"{name} is not written yet (it raises NotImplementedError).",
            hint="Replace `raise NotImplementedError()` with your code.",
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(
            f"{name} raised {type(exc).__name__}: {exc}",
            hint="Run the exercise cell on its own to see the full error.",
        ) from None


def equal(found: object, expected: object, what: str, *, hint: str | None = None) -> None:
    """Pass when ``found == expected``."""
    found = answered(found, what)
    check(
        found == expected,
        what,
        expected=expected,
        found=found,
        hint=hint,
        success=f"{what}: {found}",
    )


def close(
    found: float | None,
    expected: float,
    what: str,
    *,
    rel: float = 0.01,
    abs_tol: float = 0.0,
    unit: str = "",
    hint: str | None = None,
) -> None:
    """Pass when ``found`` is within ``rel`` (relative) or ``abs_tol`` of ``expected``."""
    value = answered(found, what)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise CheckFailed(
            what,
            expected=f"a number near {expected:g}{unit}",
            found=f"{value!r} ({type(value).__name__})",
            hint=hint,
        ) from None
    check(
        math.isclose(number, expected, rel_tol=rel, abs_tol=abs_tol),
        what,
        expected=f"{expected:g}{unit} (±{rel:.0%})",
        found=f"{number:g}{unit}",
        hint=hint,
        success=f"{what}: {number:g}{unit}",
    )


def one_of(found: object, allowed: Iterable[object], what: str, *, hint: str | None = None) -> None:
    """Pass when ``found`` is one of ``allowed``."""
    options = list(allowed)
    found = answered(found, what)
    check(
        found in options,
        what,
        expected=f"one of {options}",
        found=found,
        hint=hint,
        success=f"{what}: {found}",
    )


def has_columns(frame: Any, columns: Iterable[str], what: str) -> None:
    """Pass when ``frame`` is a DataFrame holding every one of ``columns``."""
    frame = answered(frame, what)
    present = list(getattr(frame, "columns", []))
    missing = [c for c in columns if c not in present]
    check(
        not missing,
        what,
        expected=f"columns {list(columns)}",
        found=f"columns {present} (missing {missing})"
        if hasattr(frame, "columns")
        else type(frame).__name__,
        success=f"{what} has the columns needed",
    )


def bucket_tagged(ctx: Any, bucket: str, tags: dict[str, str]) -> None:
    """Pass when S3 bucket ``bucket`` exists and carries every tag in ``tags``."""
    from botocore.exceptions import ClientError

    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        raise CheckFailed(
            f"there is no bucket called {bucket!r}.",
            hint="Call s3.create_bucket(Bucket=bucket) in the exercise cell and run it.",
        ) from None
    try:
        tag_set = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except ClientError:
        tag_set = []
    found = {t["Key"]: t["Value"] for t in tag_set}
    missing = {k: v for k, v in tags.items() if found.get(k) != v}
    check(
        not missing,
        f"the tags of bucket {bucket!r}",
        expected=dict(tags),
        found=found or "no tags",
        hint="Use s3.put_bucket_tagging(Bucket=bucket, Tagging={'TagSet': tags.as_list()}).",
        success=f"bucket {bucket} exists with the workshop tags",
    )
