"""`make run-all`: every notebook executed in order, with a report of wall times and results."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import run_all


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.mark.notebook
def test_run_all_writes_executed_copies_and_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_all, "OUT", tmp_path / "out")
    monkeypatch.setattr(run_all, "ROOT", tmp_path)
    good = _notebook(tmp_path / "01_good.ipynb", "print(6 * 7)")
    bad = _notebook(tmp_path / "02_bad.ipynb", "raise ValueError('broken on purpose')")

    runs = run_all.run_all([good, bad])

    assert [(r.notebook, r.passed) for r in runs] == [
        ("01_good.ipynb", True),
        ("02_bad.ipynb", False),
    ]
    assert "broken on purpose" in runs[1].error
    executed = nbformat.read(tmp_path / "out" / "01_good.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [n["notebook"] for n in report["notebooks"]] == ["01_good.ipynb", "02_bad.ipynb"]
    assert all(n["seconds"] > 0 for n in report["notebooks"])
    page = (tmp_path / "out" / "report.html").read_text()
    assert "href='01_good.html'" in page and "FAIL" in page
    assert (tmp_path / "out" / "01_good.html").exists()


@pytest.mark.notebook
def test_in_place_stores_outputs_only_when_the_notebook_passes(tmp_path: Path) -> None:
    good = _notebook(tmp_path / "01_good.ipynb", "print('stored')")
    bad = _notebook(tmp_path / "02_bad.ipynb", "print('partial')", "1 / 0")

    run_all.run_all([good, bad], in_place=True)

    assert nbformat.read(good, as_version=4).cells[0].outputs[0]["text"] == "stored\n"
    assert nbformat.read(bad, as_version=4).cells[0].outputs == []
