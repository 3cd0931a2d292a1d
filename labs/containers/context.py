"""The build context and ``.dockerignore``: which files ``docker build`` would send.

``docker build <folder>`` sends the folder — the *build context* — to the builder, minus what
``.dockerignore`` excludes. Everything sent can end up in an image (``COPY . .``), so the file
is where secrets (``.env``, keys), the git history and caches are kept out.

:class:`DockerIgnore` follows Docker's documented rules
(https://docs.docker.com/build/concepts/context/#dockerignore-files) as implemented by
moby's ``patternmatcher``:

- one pattern a line; ``#`` starts a comment line; blank lines are ignored; surrounding spaces
  are trimmed; a leading ``/`` is dropped (patterns are relative to the context's root);
- ``*`` matches any run of characters except ``/``, ``?`` one character except ``/``,
  ``[a-z]`` a class, and ``**`` any number of directories, including none (``**/*.pyc``);
- a pattern that matches a directory excludes everything under it (``.git`` excludes
  ``.git/HEAD``);
- ``!pattern`` makes an exception, and the **last** pattern that matches a path decides.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from labs.errors import InputError

__all__ = ["DockerIgnore", "Pattern", "context_files"]


@dataclass(frozen=True)
class Pattern:
    """One ``.dockerignore`` line, compiled.

    Attributes:
        text: The pattern as cleaned (``!`` removed, no leading ``/``).
        exception: True for a ``!pattern`` line (re-includes what it matches).
        line: Its line number in the file (1-based).
        regex: The compiled pattern.
    """

    text: str
    exception: bool
    line: int
    regex: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """Whether the pattern matches ``path`` or one of its parent directories."""
        if self.regex.match(path):
            return True
        # moby's MatchesOrParentMatches: a pattern matching a parent directory excludes the
        # directory's whole content.
        parents = path.split("/")[:-1]
        return any(self.regex.match("/".join(parents[: i + 1])) for i in range(len(parents)))

    def __str__(self) -> str:
        return ("!" if self.exception else "") + self.text


def _compile(pattern: str, where: str) -> re.Pattern[str]:
    """Translate one Docker pattern into a regular expression (moby's ``patternmatcher``)."""
    out = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(.*/)?")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                raise InputError(
                    f"The pattern {pattern!r} opens a character class '[' it never closes.",
                    where=where,
                    hint="Close it with ']' or escape the bracket as '\\['.",
                )
            body = pattern[i + 1 : end]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end
        elif ch == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    out.append("$")
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise InputError(
            f"The pattern {pattern!r} is not a valid pattern ({exc}).", where=where
        ) from None


class DockerIgnore:
    """A parsed ``.dockerignore``: ask it whether a path of the context is excluded.

    Example:
        >>> ignore = DockerIgnore("**/__pycache__\\n.git\\n*.pem\\n!public.pem")
        >>> ignore.excluded(".git/HEAD"), ignore.excluded("key.pem"), ignore.excluded("public.pem")
        (True, True, False)
    """

    def __init__(self, text: str | None, *, name: str = ".dockerignore") -> None:
        self.text = text or ""
        self.patterns: list[Pattern] = []
        for number, raw in enumerate(self.text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            if exception:
                line = line[1:].strip()
                if not line:
                    raise InputError(
                        "A '!' line needs a pattern after it.",
                        where=f"{name}, line {number}",
                        hint="Write e.g. '!README.md' to keep README.md in the context.",
                    )
            cleaned = posixpath.normpath(line)
            if len(cleaned) > 1 and cleaned.startswith("/"):
                cleaned = cleaned.lstrip("/")
            where = f"{name}, line {number}"
            self.patterns.append(Pattern(cleaned, exception, number, _compile(cleaned, where)))

    def decide(self, path: str) -> tuple[bool, Pattern | None]:
        """Return ``(excluded, deciding pattern)`` for a context-relative path."""
        path = _clean_path(path)
        excluded, deciding = False, None
        for pattern in self.patterns:
            if pattern.matches(path):
                excluded, deciding = not pattern.exception, pattern
        return excluded, deciding

    def excluded(self, path: str) -> bool:
        """True when ``path`` (relative to the context, ``/``-separated) stays out."""
        return self.decide(path)[0]

    def __repr__(self) -> str:
        return f"DockerIgnore({[str(p) for p in self.patterns]})"


def _clean_path(path: str) -> str:
    cleaned = posixpath.normpath(str(path).replace(os.sep, "/")).lstrip("/")
    return "" if cleaned == "." else cleaned


def _size(value: bytes | str | int) -> int:
    if isinstance(value, int):
        return value
    return len(value.encode() if isinstance(value, str) else value)


def _walk(folder: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            full = Path(root) / name
            try:
                if full.is_file():
                    sizes[full.relative_to(folder).as_posix()] = full.stat().st_size
            except OSError:  # gone since the folder was listed (a temporary or cache file)
                continue
    return sizes


def context_files(
    source: str | Path | Mapping[str, bytes | str | int] | Iterable[str],
    dockerignore: str | DockerIgnore | None = None,
) -> pd.DataFrame:
    """List what a build context holds and whether ``.dockerignore`` keeps each file out.

    Args:
        source: A folder, or the files themselves: a mapping of path → content (or size), or
            an iterable of paths.
        dockerignore: The text of ``.dockerignore`` (or a parsed :class:`DockerIgnore`);
            ``None`` means there is none, so everything is sent.

    Returns:
        One row per file, sorted by path: ``path``, ``bytes``, ``sent`` (True when it goes
        to the builder) and ``pattern`` (the line that decided, ``""`` when none matched).
    """
    if isinstance(source, (str, Path)):
        folder = Path(source)
        if not folder.is_dir():
            raise InputError(
                f"{str(folder)!r} is not a folder.",
                hint="Pass the build context's folder, or a dict of path → content.",
            )
        sizes = _walk(folder)
    elif isinstance(source, Mapping):
        sizes = {_clean_path(p): _size(v) for p, v in source.items()}
    else:
        sizes = {_clean_path(p): 0 for p in source}
    ignore = dockerignore if isinstance(dockerignore, DockerIgnore) else DockerIgnore(dockerignore)
    rows = []
    for path in sorted(sizes):
        excluded, pattern = ignore.decide(path)
        rows.append(
            {
                "path": path,
                "bytes": sizes[path],
                "sent": not excluded,
                "pattern": str(pattern) if pattern else "",
            }
        )
    frame = pd.DataFrame(rows, columns=["path", "bytes", "sent", "pattern"])
    return frame.astype({"bytes": "int64", "sent": "bool"})
