"""Your progress through the workshop: every *Check your work* that passes records itself.

An exercise's check function carries ``@labs.checks.exercise("04", 2)``; when it returns without
raising, it calls :func:`record`, which notes the lab, the exercise and the time in
``progress.json`` in the workshop folder (``.workshop/``, or ``LABS_WORKSHOP_DIR``; the same
folder the emulator keeps its state in). ``labs.progress()`` in a notebook and
``make progress`` (``python -m labs.progress_log``) show one row per lab — checks passed out of
the lab's exercises, which ones, when — and say where to continue.

The file, one JSON object (``FORMAT`` 1)::

    {"format": 1,
     "passed": {"04": {"2": {"title": "Write the alarm that makes a canary roll back",
                             "check": "labs.deploy.checks.canary_alarm",
                             "first": "2026-11-27T18:02:11+00:00",
                             "last": "2026-11-27T18:05:40+00:00",
                             "times": 2}}}}

It is written atomically (a temporary file, then ``os.replace``) under an exclusive lock, so two
kernels passing checks at once both land. A file that cannot be read is moved aside to
``progress.json.corrupt`` with a one-line warning, and progress starts over: a check never fails
because of its bookkeeping.

Two environment variables:

- ``LABS_PROGRESS=off`` records nothing (the table still shows what was recorded before).
- ``LABS_PROGRESS_FILE=<path>`` keeps progress in that file instead. ``setup/run_all.py`` points
  it at a scratch file for each solution it executes, and the test suite gives each notebook a
  fresh one, so an author's or instructor's runs never show up as a learner's progress.

How many exercises a lab has is read from the notebooks' ``### Exercise N ★ — …`` headings
(``solutions/``, or ``notebooks/`` when there are no solutions), cached while they do not change.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import html
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from labs.emulator import workshop_dir
from labs.errors import InputError

__all__ = [
    "FORMAT",
    "Lab",
    "NextLab",
    "Progress",
    "catalogue",
    "enabled",
    "load",
    "main",
    "path",
    "progress",
    "record",
    "reset",
    "table",
    "where_to_continue",
]

FORMAT = 1
FILE_NAME = "progress.json"
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIRS = (ROOT / "solutions", ROOT / "notebooks")
OFF_VALUES = {"off", "0", "no", "false"}

_NOTEBOOK = re.compile(r"^(\d\d)[a-z]?_[\w-]+\.ipynb$")
_TITLE = re.compile(r"^# (\d\d)[a-z]? — (.+)$", re.MULTILINE)
_EXERCISE = re.compile(r"^### Exercise (\d+) (★{1,3}) — (.+)$", re.MULTILINE)


# --- where progress lives -----------------------------------------------------------------------


def path() -> Path:
    """The progress file: ``LABS_PROGRESS_FILE``, else ``progress.json`` in the workshop folder."""
    override = os.environ.get("LABS_PROGRESS_FILE")
    if override:
        return Path(override)
    return workshop_dir() / FILE_NAME


def enabled() -> bool:
    """Whether passing checks are recorded: not when ``LABS_PROGRESS`` is off (or 0, no, false)."""
    return os.environ.get("LABS_PROGRESS", "").strip().lower() not in OFF_VALUES


def _warn(message: str) -> None:
    print(f"labs: {message}", file=sys.stderr)


@contextlib.contextmanager
def _locked(file: Path) -> Iterator[None]:
    """Serialise read-modify-write of ``file`` between kernels (an advisory lock beside it)."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file.with_name(file.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _normalise(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The ``passed`` mapping of a progress document; ``ValueError`` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"not a progress file of format {FORMAT}")
    passed = data.get("passed")
    if not isinstance(passed, dict):
        raise ValueError("no 'passed' mapping")
    clean: dict[str, dict[str, dict[str, Any]]] = {}
    for lab, exercises in passed.items():
        if not (isinstance(lab, str) and isinstance(exercises, dict)):
            raise ValueError(f"lab {lab!r} is not a mapping of exercises")
        for number, entry in exercises.items():
            if not (isinstance(number, str) and number.isdigit() and isinstance(entry, dict)):
                raise ValueError(f"lab {lab} exercise {number!r} is malformed")
            datetime.fromisoformat(str(entry.get("last")))  # ValueError when missing or bad
            times = entry.get("times", 1)
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                raise ValueError(f"lab {lab} exercise {number} has times={times!r}")
            clean.setdefault(lab, {})[number] = entry
    return clean


def _read(file: Path, *, quarantine: bool) -> dict[str, dict[str, dict[str, Any]]]:
    """What ``file`` records; empty when it is missing, and (with a warning) when it is corrupt."""
    try:
        text = file.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        _warn(f"could not read your progress file {file} ({exc}); showing none.")
        return {}
    try:
        return _normalise(json.loads(text))
    except ValueError as exc:
        if quarantine:
            bad = file.with_name(file.name + ".corrupt")
            with contextlib.suppress(OSError):
                os.replace(file, bad)
            _warn(
                f"your progress file was unreadable ({exc}); kept it as {bad.name}, starting over."
            )
        else:
            _warn(f"your progress file {file} is unreadable ({exc}); showing no progress.")
        return {}


def _write(file: Path, passed: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Write atomically: a temporary file beside ``file``, then ``os.replace``."""
    ordered = {
        lab: dict(sorted(passed[lab].items(), key=lambda kv: int(kv[0]))) for lab in sorted(passed)
    }
    tmp = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"format": FORMAT, "passed": ordered}, indent=2, ensure_ascii=False) + "\n"
    )
    os.replace(tmp, file)


def _lab_key(lab: str | int) -> str:
    text = f"{lab:02d}" if isinstance(lab, int) else str(lab)
    if not re.fullmatch(r"\d\d", text):
        raise InputError(
            f"{lab!r} is not a lab number.",
            hint='Give the lab as two digits, as in its file name: "04".',
        )
    return text


def _exercise_key(exercise: int) -> str:
    if isinstance(exercise, bool) or not isinstance(exercise, int) or exercise < 1:
        raise InputError(
            f"{exercise!r} is not an exercise number.",
            hint="Exercises are numbered from 1, as in '### Exercise 2 ★★ — …'.",
        )
    return str(exercise)


# --- recording ----------------------------------------------------------------------------------


def record(
    lab: str | int, exercise: int, *, check: str | None = None, when: datetime | None = None
) -> bool:
    """Note that ``exercise`` of ``lab`` passed its check; return whether it was written.

    Never raises for a file problem (a check must not fail because of its bookkeeping): an
    unreadable file is set aside with a warning and progress starts over; a file that cannot be
    written gives a warning and ``False``. Nothing is written when ``LABS_PROGRESS=off``.

    Args:
        lab: The lab, two digits (``"04"``).
        exercise: The exercise number in that lab.
        check: The check function's dotted name, kept for the curious.
        when: The time of the pass; default now (UTC).
    """
    lab_key, number = _lab_key(lab), _exercise_key(exercise)
    if not enabled():
        return False
    stamp = (when or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")
    title = _exercise_titles(lab_key).get(int(number))
    file = path()
    try:
        with _locked(file):
            passed = _read(file, quarantine=True)
            entry = passed.setdefault(lab_key, {}).get(number, {})
            entry = {
                "title": title or entry.get("title"),
                "check": check or entry.get("check"),
                "first": entry.get("first", stamp),
                "last": stamp,
                "times": int(entry.get("times", 0)) + 1,
            }
            passed[lab_key][number] = {k: v for k, v in entry.items() if v is not None}
            _write(file, passed)
    except (OSError, ValueError) as exc:
        _warn(f"could not record your progress in {file} ({exc}); the check itself passed.")
        return False
    return True


def load() -> dict[str, dict[int, dict[str, Any]]]:
    """What has been recorded: ``{lab: {exercise: {"title", "check", "first", "last", …}}}``."""
    return {
        lab: {int(n): entry for n, entry in exercises.items()}
        for lab, exercises in _read(path(), quarantine=False).items()
    }


def reset(lab: str | int | None = None) -> int:
    """Forget the progress of ``lab`` (default: every lab); return how many passes it forgot."""
    file = path()
    key = None if lab is None else _lab_key(lab)
    with _locked(file):
        passed = _read(file, quarantine=True)
        if key is None:
            forgotten = sum(len(v) for v in passed.values())
            passed = {}
        else:
            forgotten = len(passed.pop(key, {}))
        if file.exists() or passed:
            _write(file, passed)
    return forgotten


# --- the labs and their exercises, from the notebooks --------------------------------------------


@dataclass(frozen=True)
class Lab:
    """A lab as its notebook declares it.

    Attributes:
        lab: Its number, two digits.
        title: The title after ``# NN —``.
        notebook: The learner's notebook, relative to the project (``notebooks/04_….ipynb``).
        exercises: Exercise number → title, from the ``### Exercise N ★ — title`` headings.
    """

    lab: str
    title: str
    notebook: str
    exercises: dict[int, str] = field(default_factory=dict)


_CACHE: dict[Path, tuple[float, Lab]] = {}


def _notebook_dir() -> Path | None:
    return next((d for d in NOTEBOOK_DIRS if d.is_dir() and any(d.glob("[0-9][0-9]*.ipynb"))), None)


def _parse(file: Path) -> Lab:
    """The lab a notebook declares (cached while the file is unchanged)."""
    mtime = file.stat().st_mtime
    cached = _CACHE.get(file)
    if cached and cached[0] == mtime:
        return cached[1]
    cells = json.loads(file.read_text()).get("cells", [])
    markdown = "\n".join(
        "".join(c["source"]) if isinstance(c.get("source"), list) else c.get("source", "")
        for c in cells
        if c.get("cell_type") == "markdown"
    )
    number = file.name[:2]
    heading = _TITLE.search(markdown)
    exercises = {int(n): title.strip() for n, _stars, title in _EXERCISE.findall(markdown)}
    lab = Lab(
        lab=number,
        title=heading.group(2).strip() if heading else file.stem[3:].replace("_", " "),
        notebook=f"notebooks/{file.name}",
        exercises=exercises,
    )
    _CACHE[file] = (mtime, lab)
    return lab


def catalogue() -> list[Lab]:
    """Every lab in order with its exercises, read from the notebooks (empty when none exist)."""
    folder = _notebook_dir()
    if folder is None:
        return []
    files = sorted(f for f in folder.glob("[0-9][0-9]*.ipynb") if _NOTEBOOK.match(f.name))
    return [_parse(f) for f in files]


def _exercise_titles(lab: str) -> dict[int, str]:
    folder = _notebook_dir()
    if folder is None:
        return {}
    try:
        return next((_parse(f).exercises for f in sorted(folder.glob(f"{lab}_*.ipynb"))), {})
    except (OSError, ValueError, KeyError):
        return {}


# --- the table and where to continue -------------------------------------------------------------


def table() -> pd.DataFrame:
    """One row per lab: its title, checks passed out of its exercises, which, and when last.

    Columns: ``lab``, ``title``, ``passed`` (exercises whose check passed), ``total`` (the
    lab's exercises), ``exercises`` (the numbers passed, ``"1, 3"``), ``complete`` and
    ``last_activity`` (UTC timestamp of the latest pass, ``NaT`` before any).
    """
    recorded = load()
    rows = []
    for lab in catalogue():
        done = sorted(n for n in recorded.get(lab.lab, {}) if n in lab.exercises)
        times = [recorded[lab.lab][n]["last"] for n in done]
        rows.append(
            {
                "lab": lab.lab,
                "title": lab.title,
                "passed": len(done),
                "total": len(lab.exercises),
                "exercises": ", ".join(map(str, done)),
                "complete": len(done) == len(lab.exercises),
                "last_activity": pd.to_datetime(times, utc=True).max() if times else pd.NaT,
            }
        )
    columns = ["lab", "title", "passed", "total", "exercises", "complete", "last_activity"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["last_activity"] = pd.to_datetime(frame["last_activity"], utc=True)
    return frame


@dataclass(frozen=True)
class NextLab:
    """Where to continue: the first lab whose checks have not all passed.

    Attributes:
        lab: Its number, or ``None`` when every lab is complete.
        title: Its title.
        notebook: The learner's notebook to open.
        remaining: The exercises whose checks have not passed yet.
        sentence: All of it, said in one sentence.
    """

    lab: str | None
    title: str
    notebook: str
    remaining: tuple[int, ...]
    sentence: str


def _and(numbers: list[int]) -> str:
    words = [str(n) for n in numbers]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def where_to_continue(frame: pd.DataFrame | None = None) -> NextLab:
    """The first lab not complete, with its notebook and a sentence saying so."""
    frame = table() if frame is None else frame
    labs = {lab.lab: lab for lab in catalogue()}
    if frame.empty:
        return NextLab(None, "", "", (), "No lab notebooks found beside the labs package.")
    open_labs = frame[~frame["complete"]]
    if open_labs.empty:
        return NextLab(
            None,
            "",
            "",
            (),
            f"Every check of all {len(frame)} labs has passed — well done. Re-run any lab, "
            "or try one on a real account (see the README).",
        )
    row = open_labs.iloc[0]
    lab = labs[row["lab"]]
    passed = {int(n) for n in row["exercises"].split(", ") if n}
    remaining = tuple(n for n in sorted(lab.exercises) if n not in passed)
    where = f"{lab.lab} — {lab.title} ({lab.notebook})"
    if int(frame["passed"].sum()) == 0:
        sentence = f"No checks passed yet: start with {where}."
    elif passed:
        plural = "s" if len(remaining) > 1 else ""
        sentence = f"Continue with {where}: exercise{plural} {_and(list(remaining))} still to pass."
    else:
        sentence = f"Continue with {where}."
    return NextLab(lab.lab, lab.title, lab.notebook, remaining, sentence)


# --- showing it ----------------------------------------------------------------------------------


def _shown(frame: pd.DataFrame, *, title_width: int | None = None) -> pd.DataFrame:
    """The table as a learner reads it: ``1/3``, a tick when complete, local times."""

    def local(value: pd.Timestamp) -> str:
        if pd.isna(value):
            return "—"
        return value.to_pydatetime().astimezone().strftime("%Y-%m-%d %H:%M:%S")

    titles = frame["title"]
    if title_width:
        titles = titles.map(lambda t: t if len(t) <= title_width else t[: title_width - 1] + "…")
    return pd.DataFrame(
        {
            "lab": frame["lab"],
            "title": titles,
            "checks passed": [
                f"{p}/{t}" + (" ✔" if c else "")
                for p, t, c in zip(frame["passed"], frame["total"], frame["complete"], strict=True)
            ],
            "exercises passed": frame["exercises"].replace("", "—"),
            "last activity": frame["last_activity"].map(local),
        }
    )


def _plain(frame: pd.DataFrame) -> str:
    """A frame as left-aligned plain-text columns, two spaces apart."""
    columns = [[str(c), *map(str, frame[c])] for c in frame.columns]
    widths = [max(map(len, column)) for column in columns]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in zip(*columns, strict=True)
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class Progress:
    """What ``labs.progress()`` shows: the table and where to continue (HTML in Jupyter)."""

    frame: pd.DataFrame
    next: NextLab

    def text(self) -> str:
        """The table and the sentence as plain text (what ``make progress`` prints)."""
        if self.frame.empty:
            return self.next.sentence
        body = _plain(_shown(self.frame, title_width=44))
        passed, total = int(self.frame["passed"].sum()), int(self.frame["total"].sum())
        return f"{body}\n\n{passed} of {total} checks passed.\n{self.next.sentence}"

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        passed, total = int(self.frame["passed"].sum()), int(self.frame["total"].sum())
        table_html = (
            _shown(self.frame).to_html(index=False, border=0) if not self.frame.empty else ""
        )
        return (
            f"{table_html}<p>{passed} of {total} checks passed.</p>"
            f"<p><b>{html.escape(self.next.sentence)}</b></p>"
        )


def progress() -> Progress:
    """The per-lab table of checks passed and where to continue, ready to display."""
    frame = table()
    return Progress(frame, where_to_continue(frame))


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m labs.progress_log [--reset [LAB]]``: print the table and where to continue."""
    parser = argparse.ArgumentParser(
        prog="python -m labs.progress_log",
        description="Show which labs' checks you have passed, and where to continue.",
    )
    parser.add_argument(
        "--reset",
        nargs="?",
        const="all",
        metavar="LAB",
        help="forget your progress: in every lab, or only in LAB (two digits, e.g. 04)",
    )
    args = parser.parse_args(argv)
    if args.reset is not None:
        lab = None if args.reset == "all" else args.reset
        try:
            forgotten = reset(lab)
        except InputError as exc:
            print(exc, file=sys.stderr)
            return 2
        where = "every lab" if lab is None else f"lab {_lab_key(lab)}"
        print(f"Forgot {forgotten} passed check(s) in {where}.\n")
    print(progress().text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
