"""Generate the student notebooks in ``notebooks/`` from the solutions in ``solutions/``.

One source, two notebooks (DESIGN.md, "Authoring"). A short pipeline of named steps, as
nbgrader's release does:

1. ``drop_speaker_notes`` — cells tagged ``notes`` (the instructor's speaker notes for
   ``make slides``) are left out.
2. ``clear_solutions`` — code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
   ``# YOUR CODE HERE`` + ``raise NotImplementedError()`` at the marker's indentation; in a
   markdown cell the block becomes ``YOUR ANSWER HERE``.
3. ``clear_outputs`` — outputs, execution counts and execution metadata removed.
4. ``add_hint_pointers`` — under each ``### Exercise N ★ — …`` heading's cell, the call that
   shows its hints (``labs.hint("04", 2)``, served by ``labs/hints.py``).
5. ``add_note`` — a first cell saying the file is generated and from what.

Usage: ``python setup/make_notebooks.py`` writes every notebook; ``--check`` writes nothing and
exits 1 listing the notebooks that are out of date.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTEBOOKS = ROOT / "notebooks"

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
NOTE_TAG = "generated-note"
HINT_POINTER = (
    '> 💡 Stuck? Run `labs.hint("{lab}", {number})` for a hint — each run gives the next one.'
)
_EXERCISE_HEADING = re.compile(r"^### Exercise (?P<number>\d+) ", re.MULTILINE)
_LAB_NUMBER = re.compile(r"^(?P<lab>\d\d[a-z]?)_")
_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)",
    re.MULTILINE | re.DOTALL,
)


class MarkerError(ValueError):
    """A solution block is not closed, or closed without being opened."""


def replace_solutions(source: str, stub: Callable[[str], str], where: str = "cell") -> str:
    """Replace every solution block in ``source`` with ``stub(indent)``.

    Raises:
        MarkerError: The markers do not pair up; the message names the cell.
    """
    if source.count(BEGIN) != source.count(END):
        raise MarkerError(
            f"{where}: {source.count(BEGIN)} '{BEGIN}' but "
            f"{source.count(END)} '{END}' — every block needs both markers."
        )
    result = _BLOCK.sub(lambda m: stub(m.group("indent")), source)
    if BEGIN in result or END in result:
        raise MarkerError(f"{where}: a solution marker is out of order or not on its own line.")
    return result


def student_stub(indent: str) -> str:
    """What a learner sees in place of a solution block."""
    return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"


def silent_stub(indent: str) -> str:
    """A stub that does nothing: used by the grading tests to run a check on an unsolved cell."""
    return f"{indent}# YOUR CODE HERE\n{indent}pass\n"


def drop_speaker_notes(nb: NotebookNode, name: str) -> NotebookNode:
    """Step 1: leave out the instructor's speaker notes (cells tagged ``notes``)."""
    nb.cells = [c for c in nb.cells if "notes" not in c.metadata.get("tags", [])]
    return nb


def clear_solutions(nb: NotebookNode, name: str) -> NotebookNode:
    """Step 2: replace solution blocks with stubs."""
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "code":
            cell.source = replace_solutions(cell.source, student_stub, where).rstrip("\n")
        elif cell.cell_type == "markdown" and BEGIN in cell.source:
            cell.source = replace_solutions(
                cell.source, lambda _: "YOUR ANSWER HERE\n", where
            ).rstrip("\n")
    return nb


def clear_outputs(nb: NotebookNode, name: str) -> NotebookNode:
    """Step 3: remove outputs, execution counts and per-cell execution metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.pop("id", None)
    nb.metadata.pop("widgets", None)
    return nb


def add_hint_pointers(nb: NotebookNode, name: str) -> NotebookNode:
    """Step 4: end each exercise's markdown cell with the call that shows its hints.

    One line per ``### Exercise N ★ — …`` heading in the cell, naming the lab by the number
    its file name starts with (``04_deploy_strategies.ipynb`` → ``labs.hint("04", N)``).
    """
    match = _LAB_NUMBER.match(name)
    if match is None:
        return nb
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        numbers = [m["number"] for m in _EXERCISE_HEADING.finditer(cell.source)]
        if numbers:
            pointers = [HINT_POINTER.format(lab=match["lab"], number=n) for n in numbers]
            cell.source = cell.source.rstrip("\n") + "\n\n" + "\n>\n".join(pointers)
    return nb


def add_note(nb: NotebookNode, name: str) -> NotebookNode:
    """Step 5: say, in the first cell, that this file is generated and from which solution."""
    note = nbformat.v4.new_markdown_cell(
        f"> **Student copy**, generated from `solutions/{name}` by `make notebooks`. "
        "Work through it here; edits to the lab itself go to the solution notebook.",
        metadata={"tags": [NOTE_TAG]},
    )
    nb.cells.insert(0, note)
    return nb


STEPS: tuple[Callable[[NotebookNode, str], NotebookNode], ...] = (
    drop_speaker_notes,
    clear_solutions,
    clear_outputs,
    add_hint_pointers,
    add_note,
)


def student_version(solution: Path) -> str:
    """Return the student notebook for ``solution`` as the exact text ``make notebooks`` writes."""
    nb = nbformat.read(solution, as_version=4)
    for step in STEPS:
        nb = step(nb, solution.name)
    nb.nbformat_minor = 5
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
    return nbformat.writes(nb) + "\n"


def sync(check: bool = False) -> list[str]:
    """Write (or with ``check`` only compare) every student notebook; return those out of date."""
    NOTEBOOKS.mkdir(exist_ok=True)
    stale = []
    expected_names = set()
    for solution in sorted(SOLUTIONS.glob("*.ipynb")):
        target = NOTEBOOKS / solution.name
        expected_names.add(target.name)
        text = student_version(solution)
        if not target.exists() or target.read_text() != text:
            stale.append(target.name)
            if not check:
                target.write_text(text)
    for orphan in sorted(NOTEBOOKS.glob("*.ipynb")):
        if orphan.name not in expected_names and _was_generated(orphan):
            stale.append(f"{orphan.name} (no solution notebook)")
            if not check:
                orphan.unlink()
    return stale


_LAB_FILE = re.compile(r"\d\d_[a-z0-9_]+\.ipynb")


def _was_generated(path: Path) -> bool:
    """True for a student copy this script wrote whose lab is gone (renamed or removed).

    A learner's own notebooks in ``notebooks/`` (``Untitled.ipynb``, ``04_…-Copy1.ipynb``) are
    never touched: only a file with a lab's name that starts with the generated note is.
    """
    if not _LAB_FILE.fullmatch(path.name):
        return False
    try:
        first = nbformat.read(path, as_version=4).cells[0]
    except Exception:  # unreadable: not ours to judge, so not ours to delete
        return False
    return NOTE_TAG in first.get("metadata", {}).get("tags", [])


def main(argv: list[str] | None = None) -> int:
    """Command line: generate, or ``--check`` that generation would change nothing."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 when stale")
    args = parser.parse_args(argv)
    try:
        stale = sync(check=args.check)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and stale:
        print(
            "Notebooks and solutions are not in sync: "
            + ", ".join(stale)
            + "\nRun `make notebooks` and commit notebooks/.",
            file=sys.stderr,
        )
        return 1
    for name in stale:
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
