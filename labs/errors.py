"""Exceptions for people: every error says what was wrong, where, and what to do.

Learners read these messages more than any other line of the workshop, so each one is built
from three parts — *what* went wrong, *where* (a file, line, column, field or row) and a *hint*
— and shown in a notebook without a traceback (IPython calls ``_render_traceback_``).
"""

from __future__ import annotations

__all__ = [
    "BuildspecError",
    "CheckFailed",
    "EmulatorError",
    "InputError",
    "LabsError",
    "TargetRefused",
]


class LabsError(Exception):
    """Base class of every error raised by ``labs``.

    Args:
        what: One sentence saying what went wrong.
        where: Where it went wrong: ``"buildspec.yml, line 12"``, ``"column 'deployed_at', row 3"``.
        hint: What to do about it.
    """

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.what if not self.where else f"{self.where}: {self.what}"]
        if self.hint:
            parts.append(f"Hint: {self.hint}")
        return "\n".join(parts)

    def _render_traceback_(self) -> list[str]:
        """Shown by IPython instead of a traceback: the message, headed by the error's name."""
        return [
            f"{type(self).__name__}: {line}" if i == 0 else f"  {line}"
            for i, line in enumerate(str(self).splitlines())
        ]


class InputError(LabsError, ValueError):
    """Bad input to a ``labs`` function: a missing column, a malformed document, a wrong type."""


class BuildspecError(InputError):
    """A CodeBuild buildspec that cannot run: bad YAML, an unknown key, a wrong type."""


class EmulatorError(LabsError, RuntimeError):
    """The local AWS emulator could not be started, reached or restarted."""


class TargetRefused(LabsError, PermissionError):
    """The workshop refused a target: the real-AWS guard was not satisfied."""


class CheckFailed(LabsError, AssertionError):
    """A *Check your work* cell found an answer that is not right yet.

    Args:
        what: What was checked, as the learner would say it.
        expected: What the check expected.
        found: What it found instead.
        hint: A nudge towards the answer.
    """

    def __init__(
        self, what: str, *, expected: object = None, found: object = None, hint: str | None = None
    ) -> None:
        self.expected = expected
        self.found = found
        lines = [f"Not yet: {what}"]
        if expected is not None:
            lines.append(f"  expected: {expected}")
        if found is not None:
            lines.append(f"  found:    {found}")
        super().__init__("\n".join(lines), hint=hint)
