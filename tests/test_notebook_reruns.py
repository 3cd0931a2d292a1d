"""Every lab runs standalone on a fresh emulator, and again on the same emulator right after.

An instructor re-runs a notebook in front of a room; a self-paced learner opens lab 07 first.
Both must work: each solution notebook is executed on an emulator of its own (nothing from
earlier labs exists), then a second time from the top on the same emulator (everything from the
first run's cleanup is gone, and whatever survives on purpose must not break the re-run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import run_all
from make_notebooks import SOLUTIONS

NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
TIMINGS = Path(__file__).resolve().parent.parent / "build" / "rerun-timings"


def _execute(path: Path) -> float:
    """Execute ``path`` as ``make run-all`` does; its wall seconds, or the test fails."""
    _, run = run_all.execute(path)
    if not run.passed:
        pytest.fail(f"{path.name} failed: {run.error}")
    return run.seconds


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_standalone_then_again(path: Path, private_workshop: Path) -> None:
    first = _execute(path)  # a fresh emulator: standalone
    second = _execute(path)  # the same emulator, right after: a re-run
    TIMINGS.mkdir(parents=True, exist_ok=True)
    (TIMINGS / f"{path.stem}.json").write_text(
        json.dumps(
            {"notebook": path.name, "standalone_s": round(first, 1), "rerun_s": round(second, 1)}
        )
    )
