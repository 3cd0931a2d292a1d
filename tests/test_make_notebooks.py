"""The authoring pipeline: solutions → student notebooks, as nbgrader's release does."""

from __future__ import annotations

import nbformat
import pytest
from make_notebooks import (
    NOTE_TAG,
    MarkerError,
    replace_solutions,
    silent_stub,
    student_stub,
    student_version,
    sync,
)


def test_a_block_becomes_a_stub_at_its_indentation() -> None:
    source = (
        "def lead_time(df):\n"
        "    ### BEGIN SOLUTION\n"
        "    return df.median()\n"
        "    ### END SOLUTION\n"
        "\n"
        "answer = None\n"
        "### BEGIN SOLUTION\n"
        "answer = 42\n"
        "### END SOLUTION\n"
    )
    assert replace_solutions(source, student_stub) == (
        "def lead_time(df):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n"
        "\n"
        "answer = None\n"
        "# YOUR CODE HERE\n"
        "raise NotImplementedError()\n"
    )
    assert "    pass\n" in replace_solutions(source, silent_stub)


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1\n",
        "x = 1\n### END SOLUTION\n",
        "### END SOLUTION\nx = 1\n### BEGIN SOLUTION\n",
    ],
)
def test_unpaired_markers_are_an_error_naming_the_cell(source: str) -> None:
    with pytest.raises(MarkerError, match=r"lab\.ipynb, cell 3"):
        replace_solutions(source, student_stub, "lab.ipynb, cell 3")


def test_student_version_clears_solutions_and_outputs_and_adds_a_note(tmp_path) -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Title"),
            nbformat.v4.new_code_cell(
                "x = 1\n### BEGIN SOLUTION\nx = 2\n### END SOLUTION",
                execution_count=3,
                outputs=[nbformat.v4.new_output("stream", text="hi")],
            ),
            nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"),
        ]
    )
    path = tmp_path / "07_x.ipynb"
    nbformat.write(nb, path)
    student = nbformat.reads(student_version(path), as_version=4)
    note, title, code, prose = student.cells
    assert NOTE_TAG in note.metadata["tags"] and "solutions/07_x.ipynb" in note.source
    assert title.source == "# Title"
    assert code.source == "x = 1\n# YOUR CODE HERE\nraise NotImplementedError()"
    assert code.outputs == [] and code.execution_count is None
    assert prose.source == "Why?\nYOUR ANSWER HERE"
    assert student_version(path) == student_version(path)  # deterministic, ids included


def test_notebooks_are_in_sync_with_solutions() -> None:
    stale = sync(check=True)
    assert not stale, (
        f"Notebooks and solutions are not in sync: {', '.join(stale)}. "
        "Run `make notebooks` and commit notebooks/."
    )


def test_speaker_notes_stay_out_of_student_copies(tmp_path) -> None:
    talk = nbformat.v4.new_markdown_cell("Point at the listener weights.")
    talk.metadata["tags"] = ["notes"]
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# 99 — A lab"), talk, nbformat.v4.new_code_cell("1")]
    )
    path = tmp_path / "99_lab.ipynb"
    nbformat.write(nb, path)

    student = nbformat.reads(student_version(path), as_version=4)

    assert all("listener weights" not in c.source for c in student.cells)
    assert [c.source for c in student.cells if c.cell_type == "code"] == ["1"]


def test_regenerating_removes_a_gone_labs_copy_but_never_a_learners_notebook(
    tmp_path, monkeypatch
) -> None:
    import make_notebooks

    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    notebooks.mkdir()
    lab = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 — Lab")])
    nbformat.write(lab, solutions / "01_lab.ipynb")
    monkeypatch.setattr(make_notebooks, "SOLUTIONS", solutions)
    monkeypatch.setattr(make_notebooks, "NOTEBOOKS", notebooks)
    sync()
    generated = (notebooks / "01_lab.ipynb").read_text()
    (notebooks / "02_renamed_lab.ipynb").write_text(generated)  # a lab since renamed
    (notebooks / "01_lab-Copy1.ipynb").write_text(generated)  # JupyterLab's copy
    (notebooks / "Untitled.ipynb").write_text(generated)

    stale = sync()

    assert stale == ["02_renamed_lab.ipynb (no solution notebook)"]
    assert sorted(p.name for p in notebooks.iterdir()) == [
        "01_lab-Copy1.ipynb",
        "01_lab.ipynb",
        "Untitled.ipynb",
    ]
