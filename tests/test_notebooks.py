"""Every solution notebook: its anatomy (DESIGN.md), and its exercises graded both ways.

The notebooks themselves are executed and compared by nbval (strict) in ``make test``; here we
check what nbval cannot: the structure a learner relies on, and that every *Check your work*
cell fails on an unsolved exercise and passes on the solution.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from make_notebooks import BEGIN, SOLUTIONS, replace_solutions, silent_stub

NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _cells(path: Path) -> list[nbformat.NotebookNode]:
    return nbformat.read(path, as_version=4).cells


def _exercise_pairs(cells: list) -> list[tuple[int, int]]:
    """(exercise cell index, check cell index) for every code cell holding a solution block."""
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    pairs = []
    for position, index in enumerate(code):
        if BEGIN in cells[index].source:
            following = code[position + 1] if position + 1 < len(code) else None
            pairs.append((index, following))
    return pairs


def test_there_are_solution_notebooks() -> None:
    assert NOTEBOOKS, "no solutions/NN_*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_anatomy(path: Path) -> None:
    cells = _cells(path)
    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    number = path.name[:2]
    assert re.match(rf"# {number}[a-z]? — \S", cells[0].source), "first cell: '# NN — Title'"
    intro = cells[0].source
    objectives = re.search(r"\*\*Objectives\*\*\n((?:- .*\n?)+)", intro)
    assert objectives and len(objectives.group(1).strip().splitlines()) == 3, "3 objectives"
    for label in ("**Time estimate:**", "**Prerequisites:**", "**Cost on the AWS target:**"):
        assert label in intro, f"the intro states {label}"
    first_code = next(c for c in cells if c.cell_type == "code")
    assert "ctx = labs.start()" in first_code.source, "first code cell: ctx = labs.start()"
    steps = [int(n) for n in re.findall(r"^## Step (\d+) — \S", text, re.MULTILINE)]
    assert steps and steps == list(range(1, len(steps) + 1)), f"numbered steps, found {steps}"
    headings = re.findall(r"^## (Cleanup|Recap)$", text, re.MULTILINE)
    assert headings == ["Cleanup", "Recap"], "## Cleanup then ## Recap, once each"
    exercises = re.findall(r"^### Exercise \d+ (★{1,3}) — \S", text, re.MULTILINE)
    assert exercises, "at least one exercise rated ★ to ★★★"
    assert len(exercises) == len(_exercise_pairs(cells)), "one solution cell per exercise"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_exercise_is_followed_by_a_check_that_passes_on_the_solution(path: Path) -> None:
    cells = _cells(path)
    for exercise, check in _exercise_pairs(cells):
        assert check is not None and "checks." in cells[check].source, (
            f"cell {exercise}: the next code cell must be a Check your work cell (labs.checks)"
        )
        outputs = cells[check].outputs
        assert not [o for o in outputs if o.output_type == "error"], f"cell {check} fails"
        printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert "✔" in printed, f"cell {check}: the stored output shows the check passing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_links_to_other_labs_use_their_file_names(path: Path) -> None:
    names = {p.name[:2]: p.name for p in NOTEBOOKS}
    for cell in _cells(path):
        if cell.cell_type != "markdown":
            continue
        for link in re.findall(r"\((\d\d[a-z]?_[\w-]+\.ipynb)\)", cell.source):
            # A lab not written yet may be linked by its planned name; a written one by its own.
            expected = names.get(link[:2], link)
            assert link == expected, f"{path.name} links to {link}; the lab is {expected}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_cell_makes_its_own_boto3_client(path: Path) -> None:
    for index, cell in enumerate(_cells(path)):
        if cell.cell_type == "code":
            assert not re.search(r"boto3\.(client|resource|Session)\(", cell.source), (
                f"cell {index}: use ctx.client(...), never boto3 directly"
            )


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_check_fails_on_the_unsolved_exercise(path: Path) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    pairs = _exercise_pairs(nb.cells)
    for exercise, _ in pairs:
        cell = nb.cells[exercise]
        cell.source = replace_solutions(cell.source, silent_stub, f"{path.name}, cell {exercise}")
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    for exercise, check in pairs:
        errors = [o for o in nb.cells[check].outputs if o.output_type == "error"]
        assert errors and errors[0].ename == "CheckFailed", (
            f"{path.name}: the check in cell {check} must fail with CheckFailed on the unsolved "
            f"exercise in cell {exercise}; it gave "
            f"{[e.ename for e in errors] or 'no error'}"
        )
