"""Errors for the small languages of this package: what went wrong, at which offset, with a caret.

Filter patterns, Logs Insights queries, metric math expressions and composite alarm rules are
all one-line languages a learner types by hand. Every parser in :mod:`labs.observability` reports
a mistake the same way: an :class:`~labs.errors.InputError` whose *where* names the language and
the character offset (0-based), and whose message shows the text with a caret under the
offending character, e.g.::

    filter pattern, offset 13: Expected a value after '='.
      { $.status = }
                   ^
"""

from __future__ import annotations

from labs.errors import InputError

__all__ = ["caret", "syntax_error"]

_WINDOW = 96


def caret(text: str, offset: int, width: int = 1) -> str:
    """Return two indented lines: ``text`` (a window of it when long) and a caret at ``offset``.

    Args:
        text: The text that was parsed.
        offset: 0-based position of the problem; ``len(text)`` points just past the end.
        width: How many characters to underline.
    """
    offset = max(0, min(offset, len(text)))
    flat = text.replace("\n", " ").replace("\t", " ")
    start = 0
    if len(flat) > _WINDOW:
        start = max(0, min(offset - _WINDOW // 2, len(flat) - _WINDOW))
        shown = flat[start : start + _WINDOW]
        prefix = "…" if start else ""
        suffix = "…" if start + _WINDOW < len(flat) else ""
        shown = prefix + shown + suffix
        column = offset - start + len(prefix)
    else:
        shown, column = flat, offset
    marks = "^" * max(1, min(width, len(flat) - offset if offset < len(flat) else 1))
    return f"  {shown}\n  {' ' * column}{marks}"


def syntax_error(
    language: str, text: str, offset: int, what: str, *, hint: str | None = None, width: int = 1
) -> InputError:
    """Build the :class:`~labs.errors.InputError` for a mistake at ``offset`` of ``text``.

    Args:
        language: What was being parsed, e.g. ``"filter pattern"``.
        text: The whole text.
        offset: 0-based position of the mistake.
        what: One sentence saying what is wrong.
        hint: What to do about it.
        width: How many characters the caret underlines.
    """
    return InputError(
        f"{what}\n{caret(text, offset, width)}", where=f"{language}, offset {offset}", hint=hint
    )
