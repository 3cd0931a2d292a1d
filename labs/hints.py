"""Progressive hints for every exercise: ``labs.hint("04", 2)``.

Each exercise of a lab has two or three hints, from the general to the specific:

1. the concept, and the step of the notebook that showed it;
2. the function, API call or field to use — its exact name, with the AWS doc page;
3. the shape of the answer, a skeleton with blanks (``___``) — never the answer itself.

Every call in the same kernel shows the **next** hint of that exercise; after the last one a
call says so and points to the worked solution (``solutions/NN_….ipynb``, under the exercise's
heading). ``level=k`` shows hint *k* alone, straight away, and the next plain call goes on from
there (``k + 1``). What has been seen is kept in memory for the session only — no files.

The hints live as data, one TOML file per lab in ``labs/hint_data/NN.toml``::

    notebook = "04_deploy_strategies.ipynb"

    [[exercise]]
    number = 2
    stars = "★★"
    title = "Write the alarm that makes a canary roll back"   # = the heading's title
    hints = ['''…''', '''…''', '''…''']

``tests/test_hints.py`` holds them to the notebooks: one entry per ``### Exercise N ★ — Title``
heading, the same stars and title, at least two hints, and no line of a solution block in them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from labs.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Exercise", "Hint", "find", "hint", "hints_for", "labs_with_hints", "reset"]

DATA_FOLDER = "hint_data"
"""The folder, inside the ``labs`` package, that holds one ``NN.toml`` of hints per lab."""

_LAB = re.compile(r"^(?P<number>\d{1,2})(?P<letter>[a-z]?)(?:_[\w-]*(?:\.ipynb)?)?$")
_STARS = re.compile(r"^★{1,3}$")
_SEEN: dict[tuple[str, int], int] = {}
"""How many hints of each (lab, exercise) this session has shown: the last level shown."""


@dataclass(frozen=True)
class Exercise:
    """One exercise of a lab and its hints, as ``labs/hint_data/NN.toml`` declares them.

    Attributes:
        lab: The lab's number as in its file name: ``"04"`` (or ``"03a"``).
        number: N of ``### Exercise N ★ — Title``.
        stars: Its difficulty, ``"★"`` to ``"★★★"``.
        title: The heading's title, after the dash.
        notebook: The lab's notebook file name, e.g. ``"04_deploy_strategies.ipynb"``.
        hints: The hints, most general first (Markdown).
    """

    lab: str
    number: int
    stars: str
    title: str
    notebook: str
    hints: tuple[str, ...]

    @property
    def label(self) -> str:
        """``"04 Exercise 2 — Write the alarm …"``: how the hints name the exercise."""
        return f"{self.lab} Exercise {self.number} — {self.title}"

    @property
    def heading(self) -> str:
        """The exercise's heading in the notebook, without the ``###``."""
        return f"Exercise {self.number} {self.stars} — {self.title}"

    @property
    def solution(self) -> str:
        """Where the worked solution is: ``solutions/NN_slug.ipynb``."""
        return f"solutions/{self.notebook}"

    @property
    def call(self) -> str:
        """The call that shows the next hint: ``labs.hint("04", 2)``."""
        return f'labs.hint("{self.lab}", {self.number})'


@dataclass(frozen=True)
class Hint:
    """What :func:`hint` returns: one hint, or the note that there are no more.

    Shown as Markdown in Jupyter (``_repr_markdown_``) and as plain text elsewhere.

    Attributes:
        exercise: The exercise the hint is for.
        level: Which hint (1 = the first), or ``None`` when every hint has been shown.
        text: The hint (Markdown), or the note pointing to the solution.
    """

    exercise: Exercise
    level: int | None
    text: str

    @property
    def total(self) -> int:
        """How many hints the exercise has."""
        return len(self.exercise.hints)

    @property
    def headline(self) -> str:
        """``"Hint 2 of 3 for 04 Exercise 2 — …"``, or ``"No more hints for …"``."""
        if self.level is None:
            return f"No more hints for {self.exercise.label}"
        return f"Hint {self.level} of {self.total} for {self.exercise.label}"

    @property
    def footer(self) -> str:
        """What the next call will do."""
        if self.level is None:
            return f"`{self.exercise.call[:-1]}, level=1)` shows the hints again from the first."
        if self.level < self.total:
            return f"Run `{self.exercise.call}` again for hint {self.level + 1} of {self.total}."
        return (
            f"That was the last hint. Next, the worked solution: `{self.exercise.solution}`, "
            f"under “{self.exercise.heading}”."
        )

    def _repr_markdown_(self) -> str:
        """The hint as Jupyter renders it."""
        icon = "💡" if self.level is not None else "📘"
        return f"**{icon} {self.headline}**\n\n{self.text}\n\n*{self.footer}*"

    def __str__(self) -> str:
        """The hint as plain text (a terminal, ``print``)."""
        return f"{self.headline}\n\n{self.text}\n\n{self.footer.replace('`', '')}"

    def __repr__(self) -> str:
        """The same text as :meth:`__str__`, so a REPL shows the hint rather than a dataclass."""
        return str(self)


def _data_error(what: str, where: str) -> InputError:
    return InputError(
        what, where=where, hint="Fix the hint data file; tests/test_hints.py checks it."
    )


def _parse_file(name: str, text: str) -> list[Exercise]:
    """Read one lab's hint file into its exercises, refusing anything malformed."""
    where = f"labs/{DATA_FOLDER}/{name}"
    lab = name.removesuffix(".toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _data_error(f"not valid TOML: {exc}", where) from None
    notebook = data.get("notebook")
    if not isinstance(notebook, str) or not notebook.startswith(f"{lab}_"):
        raise _data_error(f"'notebook' must name the lab's notebook ({lab}_….ipynb)", where)
    entries = data.get("exercise")
    if not isinstance(entries, list) or not entries:
        raise _data_error("there is no [[exercise]] table", where)
    exercises = []
    for position, entry in enumerate(entries, start=1):
        at = f"{where}, exercise #{position}"
        number, stars, title = entry.get("number"), entry.get("stars"), entry.get("title")
        hints = entry.get("hints")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise _data_error("'number' must be a positive integer", at)
        if not isinstance(stars, str) or not _STARS.match(stars):
            raise _data_error("'stars' must be ★, ★★ or ★★★", at)
        if not isinstance(title, str) or not title.strip():
            raise _data_error("'title' must be the heading's title", at)
        if (
            not isinstance(hints, list)
            or len(hints) < 2
            or not all(isinstance(h, str) and h.strip() for h in hints)
        ):
            raise _data_error("'hints' must be a list of at least two non-empty strings", at)
        exercises.append(
            Exercise(lab, number, stars, title, notebook, tuple(h.strip() for h in hints))
        )
    numbers = [e.number for e in exercises]
    if len(set(numbers)) != len(numbers):
        raise _data_error(f"exercise numbers repeat: {numbers}", where)
    return sorted(exercises, key=lambda e: e.number)


@cache
def _catalogue() -> Mapping[str, Mapping[int, Exercise]]:
    """Every lab's exercises, read once from ``labs/hint_data/*.toml``."""
    folder = resources.files("labs").joinpath(DATA_FOLDER)
    labs_: dict[str, dict[int, Exercise]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            exercises = _parse_file(entry.name, entry.read_text(encoding="utf-8"))
            labs_[entry.name.removesuffix(".toml")] = {e.number: e for e in exercises}
    return labs_


def labs_with_hints() -> list[str]:
    """The labs that have hints, by number: ``["00", "01", …]``."""
    return list(_catalogue())


def _lab_choices() -> str:
    return ", ".join(
        f"{lab} ({next(iter(exercises.values())).notebook.removesuffix('.ipynb')[len(lab) + 1 :]})"
        for lab, exercises in _catalogue().items()
    )


def _lab(lab: Any) -> str:
    """Normalise ``4``, ``"4"``, ``"04"`` or ``"04_deploy_strategies"`` to ``"04"``."""
    text = None
    if isinstance(lab, int) and not isinstance(lab, bool):
        text = f"{lab:02d}" if lab >= 0 else None
    elif isinstance(lab, str):
        match = _LAB.match(lab.strip())
        if match:
            text = f"{int(match['number']):02d}{match['letter']}"
    if text is None or text not in _catalogue():
        raise InputError(
            f"There is no lab {lab!r} with hints.",
            where="labs.hint(lab, …)",
            hint='Give the lab number as a string, e.g. labs.hint("04", 1). '
            f"Labs: {_lab_choices()}.",
        )
    return text


def _exercise_choices(lab: str) -> str:
    return "; ".join(f"{e.number} ({e.stars} {e.title})" for e in _catalogue()[lab].values())


def find(lab: Any, exercise: Any) -> Exercise:
    """Return exercise number ``exercise`` of ``lab``, with its hints.

    Raises:
        InputError: The lab or the exercise does not exist; the message lists the valid ones.
    """
    lab_id = _lab(lab)
    found = None
    if isinstance(exercise, int) and not isinstance(exercise, bool):
        found = _catalogue()[lab_id].get(exercise)
    elif isinstance(exercise, str) and exercise.strip().isdigit():
        found = _catalogue()[lab_id].get(int(exercise.strip()))
    if found is None:
        raise InputError(
            f"Lab {lab_id} has no exercise {exercise!r}.",
            where=f'labs.hint("{lab_id}", exercise)',
            hint=f"Its exercises: {_exercise_choices(lab_id)}.",
        )
    return found


def hint(lab: Any, exercise: Any, level: int | None = None) -> Hint:
    """Show the next hint of an exercise — or, with ``level=k``, hint *k*.

    The first call for an exercise shows hint 1, the next hint 2, and so on (per kernel, in
    memory). ``level=k`` shows hint *k* alone — not the ones before it — and the following call
    without ``level`` goes on with hint *k + 1*. Once every hint has been shown, a call says so
    and names the worked solution: ``solutions/NN_….ipynb``, under the exercise's heading.

    Args:
        lab: The lab, as its two-digit number: ``"04"`` (``4`` and ``"4"`` work too).
        exercise: N of the exercise's heading ``### Exercise N ★ — …``.
        level: Show this hint (1 = the first) instead of the next one.

    Returns:
        The hint; Jupyter renders it as Markdown, ``print`` shows it as text.

    Raises:
        InputError: An unknown lab or exercise (the message lists the valid ones), or a
            ``level`` outside 1 to the number of hints.
    """
    chosen = find(lab, exercise)
    key = (chosen.lab, chosen.number)
    total = len(chosen.hints)
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= total:
            raise InputError(
                f"There is no hint {level!r} for {chosen.label}: it has {total} hints.",
                where=f"{chosen.call[:-1]}, level=…)",
                hint=f"Use a level from 1 to {total}, or leave it out for the next hint.",
            )
        shown = level
    else:
        shown = _SEEN.get(key, 0) + 1
        if shown > total:
            return Hint(
                chosen,
                None,
                f"You have seen all {total} hints. The worked answer is in "
                f"`{chosen.solution}`, under the heading “{chosen.heading}”: read it, then "
                "try again here without looking.",
            )
    _SEEN[key] = shown
    return Hint(chosen, shown, chosen.hints[shown - 1])


def reset(lab: Any = None, exercise: Any = None) -> None:
    """Forget which hints were shown: for every exercise, one lab, or one exercise."""
    if lab is None:
        _SEEN.clear()
        return
    lab_id = _lab(lab)
    if exercise is None:
        for key in [k for k in _SEEN if k[0] == lab_id]:
            del _SEEN[key]
        return
    _SEEN.pop((lab_id, find(lab_id, exercise).number), None)


def hints_for(lab: Any) -> pd.DataFrame:
    """List a lab's exercises: title, difficulty, how many hints, how many seen, the call.

    Args:
        lab: The lab, as its two-digit number: ``"04"``.

    Returns:
        One row per exercise, indexed by its number.
    """
    import pandas as pd

    lab_id = _lab(lab)
    rows = [
        {
            "exercise": e.number,
            "stars": e.stars,
            "title": e.title,
            "hints": len(e.hints),
            "seen": _SEEN.get((lab_id, e.number), 0),
            "call": e.call,
        }
        for e in _catalogue()[lab_id].values()
    ]
    return pd.DataFrame(rows).set_index("exercise")
