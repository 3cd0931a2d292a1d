"""The instructor's dry run, end to end: `make run-all`, its report, then `make cleanup`.

One run of the whole series on a workshop folder of its own proves three things at once:
every lab passes in order on one emulator and the report says so with links to the executed
copies; the measured times agree with the estimates the notebooks state (within the tolerance
stated in ``setup/timings.py``); and after ``make cleanup`` nothing is left — no workshop
resource in any service the series uses (each service listed by its own API, not the tagging
API), and no process of the workshop (emulator, kernels, lab servers).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import timings
from workshop_processes import of_workshop, using_workshop

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
FIGURES = ROOT / "build" / "leftovers.json"


def _make(target: str, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    env["LABS_WORKSHOP_DIR"] = str(folder)
    return subprocess.run(
        ["make", "--no-print-directory", target, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`make run-all` into a folder of its own; what the emulator holds right after it."""
    import labs
    from labs import emulator
    from labs.cleanup import inventory

    base = tmp_path_factory.mktemp("dry-run")
    folder, out = base / "workshop", base / "run-all"
    done = _make("run-all", folder, f"RUN_ALL_ARGS=--out={out}")
    with using_workshop(folder):
        left = inventory(labs.start(quiet=True))
    try:
        yield {
            "done": done,
            "folder": folder,
            "out": out,
            "inventory": left,
            "processes": of_workshop(folder),
        }
    finally:
        with using_workshop(folder):
            emulator.stop()  # when a test failed before `make cleanup` did it


@pytest.mark.notebook
def test_every_lab_passes_and_the_report_links_the_executed_copies(dry_run) -> None:
    done, out = dry_run["done"], dry_run["out"]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert [r["notebook"] for r in report["notebooks"]] == [p.name for p in NOTEBOOKS]
    assert all(r["passed"] and r["seconds"] > 0 for r in report["notebooks"])
    page = (out / "report.html").read_text()
    for path in NOTEBOOKS:
        executed = path.name.replace(".ipynb", ".html")
        assert f"href='{executed}'" in page and f"href='{path.name}'" in page
        assert (out / executed).stat().st_size > 0 and (out / path.name).exists()
    assert f"{len(NOTEBOOKS)} passed" in page
    assert "total" in done.stdout and "Report:" in done.stdout


@pytest.mark.notebook
def test_fresh_times_agree_with_the_estimates_the_notebooks_state(dry_run) -> None:
    report = json.loads((dry_run["out"] / "report.json").read_text())
    fresh = {r["notebook"][:2]: r["seconds"] for r in report["notebooks"]}
    slower = []
    for path in NOTEBOOKS:
        _, stated_seconds = timings.stated(path)
        allowed = timings.FRESH_FACTOR * stated_seconds + timings.FRESH_SLACK_S
        if fresh[path.name[:2]] > allowed:
            slower.append(f"{path.name}: {fresh[path.name[:2]]} s > {allowed:.0f} s allowed")
    assert not slower, "run `make run-all && make timings`: " + "; ".join(slower)


@pytest.mark.notebook
def test_each_lab_cleans_up_after_itself(dry_run) -> None:
    """Right after the series only what the emulator cannot delete may remain."""
    left = dry_run["inventory"]
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(
        json.dumps(
            {
                "after_run_all": left.groupby("service").size().to_dict(),
                "processes_after_run_all": [p.command for p in dry_run["processes"]],
            },
            indent=2,
        )
    )
    assert "(listing)" not in set(left["kind"]), left.to_string()
    # moto has no DeleteApplication for CodeDeploy (EMULATOR.md); everything else is gone.
    assert set(left["service"]) <= {"codedeploy"}, left.to_string()
    assert dry_run["processes"], "the run's emulator should still be up before `make cleanup`"


@pytest.mark.notebook
def test_make_cleanup_leaves_no_resource_and_no_process(dry_run) -> None:
    folder = dry_run["folder"]
    done = _make("cleanup", folder)  # cleanup of every service, reset, stop
    assert done.returncode == 0, done.stdout + done.stderr
    assert of_workshop(folder) == [], "a workshop process survived `make cleanup`"
    assert not (folder / "emulator.json").exists()
    import labs
    from labs import emulator
    from labs.cleanup import inventory

    with using_workshop(folder):  # a learner's next `labs.start()` finds an empty emulator
        left = inventory(labs.start(quiet=True))
        emulator.stop()
    assert left.empty, left.to_string()
    assert of_workshop(folder) == []
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    FIGURES.write_text(json.dumps({**figures, "after_make_cleanup": len(left)}, indent=2))


def test_the_stated_estimates_agree_with_the_stored_measurements() -> None:
    assert timings.disagreements() == []


def test_the_estimate_rule_counts_reading_cells_exercises_and_run_time() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(" ".join(["word"] * 394)),  # with the heading: 2 min
            nbformat.v4.new_markdown_cell("### Exercise 1 ★★ — x"),  # 10 min
            *[nbformat.v4.new_code_cell("1") for _ in range(4)],  # 2 min
        ]
    )
    assert timings.learner_minutes(nb, run_seconds=60) == 15  # 2 + 10 + 2 + 1, rounded up
    assert timings.learner_minutes(nb, run_seconds=120) == 20
