"""*Check your work* helpers: a short success line, or a message a learner understands.

Every exercise in the workshop is followed by a cell that calls these. A check that passes prints
one line starting with ``✔``; a check that fails raises :class:`labs.errors.CheckFailed`, which
a notebook shows as what was expected, what was found and a hint — never a bare traceback.

Every exercise's check function is marked with :func:`exercise` (``@checks.exercise("04", 2)``):
when it passes, the pass is recorded in the learner's progress (``labs.progress()``, see
:mod:`labs.progress_log`); when it fails, its hint ends with a pointer to ``labs.hint``.

Example:
    >>> from labs import checks
    >>> checks.equal(2 + 2, 4, "two plus two")
    ✔ two plus two: 4
"""

from __future__ import annotations

import functools
import math
import re
import sys
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from labs.errors import CheckFailed, InputError

__all__ = [
    "EXERCISES",
    "answered",
    "bucket_tagged",
    "check",
    "close",
    "equal",
    "exercise",
    "has_columns",
    "hint_pointer",
    "one_of",
    "passed",
    "solved",
]

T = TypeVar("T")
P = ParamSpec("P")

EXERCISES: dict[tuple[str, int], str] = {}
"""Every check marked with :func:`exercise` so far: ``(lab, number)`` → its dotted name."""

_RUNNING: ContextVar[tuple[str, int] | None] = ContextVar("labs_exercise_check", default=None)


def hint_pointer(lab: str, number: int) -> str:
    """The line a failing exercise check adds to its hint: where to get a hint."""
    return f'Stuck? `labs.hint("{lab}", {number})` gives a hint.'


def exercise(lab: str, number: int) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Mark a function as the *Check your work* of exercise ``number`` in ``lab``.

    The marked check behaves as before, and besides: when it returns without raising, the pass
    is recorded in the learner's progress (:func:`labs.progress_log.record`; a problem with the
    progress file is a warning, never a failed check); when it raises
    :class:`~labs.errors.CheckFailed`, the failure's hint ends with :func:`hint_pointer`. A check
    called from inside another marked check neither records nor adds the pointer twice.

    Args:
        lab: The lab, two digits as in its notebook's file name (``"04"``).
        number: The exercise's number in that lab (``### Exercise 2 ★★ — …``).

    Raises:
        InputError: A malformed lab or number, or a second check for the same exercise.

    Example::

        @checks.exercise("04", 2)
        def canary_alarm(ctx, alarm_name): ...
    """
    if not (isinstance(lab, str) and re.fullmatch(r"\d\d", lab)):
        raise InputError(f"{lab!r} is not a lab number.", hint='Write it as two digits: "04".')
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise InputError(f"{number!r} is not an exercise number.", hint="Number them from 1.")
    key = (lab, number)

    def decorate(func: Callable[P, T]) -> Callable[P, T]:
        name = f"{func.__module__}.{func.__qualname__}"
        if EXERCISES.get(key, name) != name:
            raise InputError(
                f"exercise {number} of lab {lab} already has a check, {EXERCISES[key]}.",
                where=name,
                hint="Each exercise has exactly one check function; mark only that one.",
            )
        EXERCISES[key] = name

        @functools.wraps(func)
        def checked(*args: P.args, **kwargs: P.kwargs) -> T:
            if _RUNNING.get() is not None:  # called by another exercise's check
                return func(*args, **kwargs)
            token = _RUNNING.set(key)
            try:
                result = func(*args, **kwargs)
            except CheckFailed as failure:
                _point_to_hint(failure, lab, number)
                raise
            finally:
                _RUNNING.reset(token)
            _record(lab, number, name)
            return result

        checked.exercise = key  # type: ignore[attr-defined]
        return checked

    return decorate


def _point_to_hint(failure: CheckFailed, lab: str, number: int) -> None:
    pointer = hint_pointer(lab, number)
    if pointer in (failure.hint or ""):
        return
    failure.hint = f"{failure.hint}\n{pointer}" if failure.hint else pointer
    failure.args = (failure._message(),)


def _record(lab: str, number: int, name: str) -> None:
    """Record a pass; any trouble is a one-line warning, never a failed check."""
    try:
        from labs import progress_log

        progress_log.record(lab, number, check=name)
    except Exception as exc:  # bookkeeping must never fail a check that passed
        print(f"labs: could not record your progress ({exc}).", file=sys.stderr)


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
