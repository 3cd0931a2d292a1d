"""Progressive hints (``labs.hint``): held to the notebooks, shown in order, never the answer.

Every ``### Exercise N ★ — Title`` heading of every solution notebook must have hints in
``labs/hint_data/NN.toml`` with the same stars and title; the hints must not give away a
solution block's code; and the student copy of each exercise must point to its hints.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from make_notebooks import BEGIN, END, SOLUTIONS, student_version

import labs
from labs import hints
from labs.errors import InputError

NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
HEADING = re.compile(r"^### Exercise (?P<number>\d+) (?P<stars>★{1,3}) — (?P<title>.+?)\s*$", re.M)
BLOCK = re.compile(rf"^[ \t]*{BEGIN}[^\n]*\n(?P<body>.*?)^[ \t]*{END}", re.M | re.S)
MEANINGFUL = 25
"""A solution line longer than this (comment stripped) may not appear in a hint."""


def _lab(path: Path) -> str:
    return re.match(r"\d\d[a-z]?", path.name).group(0)


def _headings(path: Path) -> list[tuple[int, str, str]]:
    cells = nbformat.read(path, as_version=4).cells
    return [
        (int(m["number"]), m["stars"], m["title"])
        for cell in cells
        if cell.cell_type == "markdown"
        for m in HEADING.finditer(cell.source)
    ]


def _secret_lines(path: Path) -> list[str]:
    """Lines of the notebook's solution blocks that the learner has not seen anywhere else.

    A line counts when, without its trailing comment, it is longer than :data:`MEANINGFUL`
    characters, does not merely open a bracket (``foo = bar(``: no answer in it), and appears
    in no other part of the notebook (code outside the blocks, or markdown).
    """
    cells = nbformat.read(path, as_version=4).cells
    solution_lines, elsewhere = [], []
    for cell in cells:
        if cell.cell_type == "code":
            for block in BLOCK.finditer(cell.source):
                solution_lines += block["body"].splitlines()
            elsewhere.append(BLOCK.sub("", cell.source))
        else:
            elsewhere.append(cell.source)
    seen = "\n".join(elsewhere)
    secrets = []
    for line in solution_lines:
        text = re.split(r"\s+#\s", line.strip(), maxsplit=1)[0].strip()
        if len(text) > MEANINGFUL and not text.endswith(("(", "[", "{")) and text not in seen:
            secrets.append(text)
    return secrets


@pytest.fixture(autouse=True)
def _fresh_session() -> Iterator[None]:
    hints.reset()
    yield
    hints.reset()


# ---------------------------------------------------------------------------------------------
# The data, against the notebooks
# ---------------------------------------------------------------------------------------------


def test_every_lab_with_a_notebook_has_hints_and_no_other() -> None:
    assert sorted(_lab(p) for p in NOTEBOOKS) == hints.labs_with_hints()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_hints_with_its_heading(path: Path) -> None:
    lab = _lab(path)
    headings = _headings(path)
    assert headings, f"{path.name} has no exercise headings"
    listed = hints.hints_for(lab)
    assert list(listed.index) == [n for n, _, _ in headings], (
        f"labs/hint_data/{lab}.toml lists exercises {list(listed.index)}; "
        f"{path.name} has {[n for n, _, _ in headings]}"
    )
    for number, stars, title in headings:
        exercise = hints.find(lab, number)
        assert exercise.notebook == path.name
        assert (exercise.stars, exercise.title) == (stars, title), (
            f"{lab} Exercise {number}: the hint file says {exercise.stars} — {exercise.title!r}, "
            f"the notebook's heading says {stars} — {title!r}"
        )
        assert 2 <= len(exercise.hints) <= 5, f"{exercise.label}: 2 to 5 hints"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_hint_gives_away_a_solution_line(path: Path) -> None:
    lab = _lab(path)
    secrets = _secret_lines(path)
    for number in hints.hints_for(lab).index:
        exercise = hints.find(lab, number)
        for level, text in enumerate(exercise.hints, start=1):
            leaked = [line for line in secrets if line in text]
            assert not leaked, f"{exercise.label}, hint {level} holds solution code: {leaked}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_the_student_copy_points_each_exercise_to_its_hints(path: Path) -> None:
    lab = _lab(path)
    cells = nbformat.reads(student_version(path), as_version=4).cells
    found = 0
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for match in HEADING.finditer(cell.source):
            number = int(match["number"])
            call = f'labs.hint("{lab}", {number})'
            assert f"Stuck? Run `{call}` for a hint" in cell.source, (
                f"{path.name}, Exercise {number}: the student copy should point to {call}"
            )
            assert hints.hint(lab, number).level == 1  # and the call works
            found += 1
    assert found == len(_headings(path))


def test_the_solutions_do_not_carry_the_pointer() -> None:
    for path in NOTEBOOKS:
        assert "Stuck? Run `labs.hint(" not in path.read_text(encoding="utf-8"), path.name


# ---------------------------------------------------------------------------------------------
# The behaviour
# ---------------------------------------------------------------------------------------------


def test_each_call_shows_the_next_hint_then_points_to_the_solution() -> None:
    exercise = hints.find("04", 2)
    total = len(exercise.hints)
    shown = [labs.hint("04", 2) for _ in range(total)]
    assert [h.level for h in shown] == list(range(1, total + 1))
    assert [h.text for h in shown] == list(exercise.hints)
    assert shown[0].headline == f"Hint 1 of {total} for 04 Exercise 2 — {exercise.title}"
    done = labs.hint("04", 2)
    assert done.level is None
    assert done.headline == f"No more hints for 04 Exercise 2 — {exercise.title}"
    assert "solutions/04_deploy_strategies.ipynb" in done.text
    assert f"Exercise 2 {exercise.stars} — {exercise.title}" in done.text
    assert labs.hint("04", 2).level is None  # it stays exhausted
    assert labs.hint("04", 1).level == 1  # other exercises keep their own count


def test_level_shows_that_hint_and_the_next_call_goes_on_from_it() -> None:
    third = hints.hint("01", 3, level=3)
    assert third.level == 3 and third.text == hints.find("01", 3).hints[2]
    assert hints.hint("01", 3).level is None
    assert hints.hint("01", 3, level=1).level == 1
    assert hints.hint("01", 3).level == 2


@pytest.mark.parametrize("lab", [4, "4", "04", " 04 ", "04_deploy_strategies", "04_x.ipynb"])
def test_a_lab_can_be_named_several_ways(lab: object) -> None:
    assert hints.hint(lab, "2").exercise.lab == "04"


def test_an_unknown_lab_lists_the_labs() -> None:
    with pytest.raises(InputError) as caught:
        hints.hint("42", 1)
    message = str(caught.value)
    assert "no lab '42'" in message
    assert "04 (deploy_strategies)" in message and "14 (capstone_deploy_strategy)" in message


@pytest.mark.parametrize("number", [0, 9, "two", None, True, 2.0])
def test_an_unknown_exercise_lists_the_lab_s_exercises(number: object) -> None:
    with pytest.raises(InputError) as caught:
        hints.hint("04", number)
    message = str(caught.value)
    assert f"no exercise {number!r}" in message
    for n in hints.hints_for("04").index:
        exercise = hints.find("04", n)
        assert f"{n} ({exercise.stars} {exercise.title})" in message


@pytest.mark.parametrize("level", [0, 4, -1, "2", True])
def test_a_level_out_of_range_says_which_levels_exist(level: object) -> None:
    total = len(hints.find("04", 2).hints)
    with pytest.raises(InputError, match=rf"from 1 to {total}"):
        hints.hint("04", 2, level=level)
    assert hints.hint("04", 2).level == 1  # a refused call changes nothing


def test_it_renders_as_markdown_in_jupyter_and_as_text_elsewhere() -> None:
    shown = labs.hint("10", 1)
    markdown = shown._repr_markdown_()
    assert markdown.startswith(f"**💡 {shown.headline}**\n\n")
    assert shown.text in markdown
    assert '`labs.hint("10", 1)` again for hint 2' in markdown
    assert str(shown) == repr(shown)
    assert str(shown).startswith(shown.headline + "\n\n") and "**💡" not in str(shown)
    for _ in range(len(shown.exercise.hints) - 1):
        last = labs.hint("10", 1)
    assert last.level == len(shown.exercise.hints)
    assert "That was the last hint" in last._repr_markdown_()
    assert labs.hint("10", 1)._repr_markdown_().startswith("**📘 No more hints for 10")


def test_ipython_displays_the_markdown() -> None:
    from IPython.core.formatters import DisplayFormatter

    shown = labs.hint("07", 1)
    data, _ = DisplayFormatter().format(shown)
    assert data["text/markdown"] == shown._repr_markdown_()
    assert data["text/plain"] == str(shown)


def test_hints_for_lists_the_exercises_and_what_was_seen() -> None:
    labs.hint("13", 2)
    table = hints.hints_for(13)
    assert list(table.columns) == ["stars", "title", "hints", "seen", "call"]
    assert table.loc[2, "seen"] == 1 and table.loc[1, "seen"] == 0
    assert table.loc[3, "call"] == 'labs.hint("13", 3)'


def test_reset_forgets_one_exercise_a_lab_or_everything() -> None:
    labs.hint("02", 1)
    labs.hint("02", 2)
    labs.hint("03", 1)
    hints.reset("02", 1)
    assert labs.hint("02", 1).level == 1 and labs.hint("02", 2).level == 2
    hints.reset("02")
    assert labs.hint("02", 2).level == 1 and labs.hint("03", 1).level == 2
    hints.reset()
    assert labs.hint("03", 1).level == 1


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("notebook = 'other.ipynb'\n", "'notebook' must name"),
        ('notebook = "99_x.ipynb"\n', "no [[exercise]]"),
        ('notebook = "99_x.ipynb"\n[[exercise]]\nnumber = 1\nstars = "★"\ntitle = "T"\n'
         'hints = ["only one"]\n', "at least two"),
        ('notebook = "99_x.ipynb"\n[[exercise]]\nnumber = 1\nstars = "*"\ntitle = "T"\n'
         'hints = ["a", "b"]\n', "'stars'"),
        ("notebook = [\n", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_malformed_hint_file_is_refused_with_where(text: str, complaint: str) -> None:
    with pytest.raises(InputError, match=re.escape(complaint)) as caught:
        hints._parse_file("99.toml", text)
    assert "labs/hint_data/99.toml" in str(caught.value)


def test_the_hint_files_ship_with_the_package() -> None:
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"labs" = ["hint_data/*.toml"]' in pyproject
