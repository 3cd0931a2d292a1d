"""Insert or update the speaker-notes cells of a solution notebook from a JSON file.

``make slides`` turns every markdown cell tagged ``notes`` into the reveal.js speaker notes of
the slide it is on (setup/make_slides.py). This tool writes those cells, so that notes can be
drafted apart from the notebook and applied in one go, and re-applied safely:

    python setup/add_speaker_notes.py NOTES.json [NOTES.json ...] [--notebook PATH] [--check]

A notes file is a JSON list of ``{"after_heading": "...", "text": "..."}``. ``after_heading``
names the markdown cell the note follows: the exact first line of that cell, or an exact
heading line inside it (``## Step 2 — …``: some labs open a step at the end of the cell that
concludes the previous one). ``text`` is the note, in markdown. The notebook is
``solutions/NN_*.ipynb`` for a file named ``NN.json``, or the one given with ``--notebook``.

Idempotent: a note already in place is left alone, one whose text changed is updated in its
cell (the cell right after the heading cell, tagged ``notes``), and a notebook whose notes are
all current is not rewritten. ``--check`` writes nothing and exits 1 when a notebook would
change. New cells get ids ``notes-<8 hex digits>`` derived from the heading (nbformat 4.5).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from labs.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
NOTES_TAG = "notes"


@dataclass(frozen=True)
class Note:
    """A speaker note and the markdown cell it follows."""

    after_heading: str
    text: str


def read_notes(path: Path) -> list[Note]:
    """Read a notes file: a JSON list of ``{"after_heading", "text"}`` objects.

    Raises:
        InputError: The file is not such a list; the message names the entry.
    """
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}",
            where=f"{path}, line {exc.lineno}",
            hint="a notes file is a JSON list of {after_heading, text} objects.",
        ) from exc
    if not isinstance(entries, list):
        raise InputError(
            "a notes file must hold a JSON list.", where=str(path), hint="wrap the notes in [ ]."
        )
    notes = []
    for index, entry in enumerate(entries):
        ok = isinstance(entry, dict) and set(entry) == {"after_heading", "text"}
        if not ok or not all(isinstance(v, str) and v.strip() for v in entry.values()):
            raise InputError(
                'each note needs exactly "after_heading" and "text", both non-empty strings.',
                where=f"{path}, entry {index}",
                hint=f"found {entry!r}",
            )
        notes.append(Note(entry["after_heading"].strip(), entry["text"].strip()))
    return notes


def _is_notes(cell: NotebookNode) -> bool:
    return cell.cell_type == "markdown" and NOTES_TAG in cell.metadata.get("tags", [])


def find_heading_cell(cells: list[NotebookNode], heading: str, where: str) -> int:
    """The index of the markdown cell a note follows (see the module docstring).

    Raises:
        InputError: No cell, or more than one, matches ``heading``.
    """
    markdown = [(i, c) for i, c in enumerate(cells) if c.cell_type == "markdown"]
    candidates = [i for i, c in markdown if not _is_notes(c)]
    first_line = [i for i in candidates if cells[i].source.split("\n", 1)[0].strip() == heading]
    inside = [
        i
        for i in candidates
        if heading.startswith("#") and heading in (ln.strip() for ln in cells[i].source.split("\n"))
    ]
    matches = first_line or inside
    if len(matches) != 1:
        raise InputError(
            f"{'no' if not matches else len(matches)} markdown cells match {heading!r}.",
            where=where,
            hint="after_heading is the exact first line of the cell the note follows, or an "
            "exact '#' heading line inside it; it must name one cell.",
        )
    return matches[0]


def _new_id(heading: str, taken: set[str]) -> str:
    digest = hashlib.sha1(heading.encode("utf-8")).hexdigest()
    for length in range(8, 41):
        candidate = f"notes-{digest[:length]}"
        if candidate not in taken:
            return candidate
    raise InputError("could not make a unique cell id.", where=heading)  # pragma: no cover


def apply_notes(nb: NotebookNode, notes: list[Note], where: str = "notebook") -> int:
    """Insert or update ``notes`` in ``nb``; return how many cells were added or changed."""
    changed = 0
    for note in notes:
        index = find_heading_cell(nb.cells, note.after_heading, where)
        following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
        if following is not None and _is_notes(following):
            if following.source != note.text:
                following.source = note.text
                changed += 1
            continue
        taken = {c.get("id", "") for c in nb.cells}
        cell = nbformat.v4.new_markdown_cell(note.text, metadata={"tags": [NOTES_TAG]})
        cell["id"] = _new_id(note.after_heading, taken)
        nb.cells.insert(index + 1, cell)
        changed += 1
    return changed


def notebook_for(notes_file: Path) -> Path:
    """``solutions/NN_*.ipynb`` for a notes file named ``NN.json``.

    Raises:
        InputError: No solution, or several, start with that number.
    """
    number = notes_file.stem
    matches = sorted(SOLUTIONS.glob(f"{number}_*.ipynb"))
    if len(matches) != 1:
        raise InputError(
            f"{len(matches)} solution notebooks start with {number!r}.",
            where=str(notes_file),
            hint="name the notes file NN.json after its lab, or pass --notebook.",
        )
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    """Command line: apply notes files to their solutions (``--check``: compare only)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notes", nargs="+", type=Path, help="NN.json files")
    parser.add_argument("--notebook", type=Path, help="the notebook (one notes file only)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.notebook and len(args.notes) != 1:
        parser.error("--notebook goes with exactly one notes file")
    stale = []
    try:
        for notes_file in args.notes:
            path = args.notebook or notebook_for(notes_file)
            nb = nbformat.read(path, as_version=4)
            changed = apply_notes(nb, read_notes(notes_file), where=str(path))
            if not changed:
                print(f"{path}: notes up to date")
                continue
            stale.append(path)
            if not args.check:
                nbformat.validate(nb)
                nbformat.write(nb, path)
                print(f"{path}: {changed} notes cells added or updated")
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and stale:
        print(f"would change: {', '.join(map(str, stale))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
