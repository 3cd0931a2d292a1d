"""Time estimates at the top of every notebook, taken from ``make run-all``'s measurements.

Each lab's first cell carries one line::

    **Time estimate:** about 60 minutes for a learner (estimated); its cells run in 11 s
    (measured by `make run-all`).

The run time is *measured*: ``make run-all`` writes each notebook's wall time to
``build/run-all/report.json``, and ``make timings`` stores it in ``setup/timings.json`` and
rewrites the lines. The learner time is *estimated* from that measurement and the notebook's
content, by a stated rule (:func:`learner_minutes`): reading the markdown, running and looking
at each code cell, working each exercise by its stars, plus the measured run time itself.

``python setup/timings.py --check`` (and the tests) fail when a notebook's line disagrees with
``setup/timings.json`` by more than :data:`LINE_TOLERANCE`.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
TIMINGS = ROOT / "setup" / "timings.json"
GUIDE = ROOT / "setup" / "INSTRUCTOR.md"
GUIDE_START = "<!-- timings: written by `make timings` (setup/timings.py) -->"
GUIDE_END = "<!-- end of timings -->"

#: The estimation rule (minutes): markdown read at this many words a minute, ...
READING_WORDS_PER_MINUTE = 200
#: ... this long per code cell (read it, run it, look at what it printed), ...
MINUTES_PER_CODE_CELL = 0.5
#: ... and this long per exercise, by its stars.
MINUTES_PER_EXERCISE = {1: 5, 2: 10, 3: 15}
#: A notebook's line and ``setup/timings.json`` agree when the run times differ by no more than
#: this share of the stored figure (or one second, whichever is larger) and the learner minutes
#: are the rule's.
LINE_TOLERANCE = 0.10
#: A fresh ``make run-all`` agrees with the stored figures when each notebook takes at most this
#: many times its stored run time plus :data:`FRESH_SLACK_S` (a busy CI machine is slower).
FRESH_FACTOR = 3.0
FRESH_SLACK_S = 30.0

LINE = re.compile(r"^\*\*Time estimate:\*\*.*$", re.MULTILINE)
STATED = re.compile(
    r"about (?P<minutes>\d+) minutes for a learner \(estimated\); its cells run in "
    r"(?P<seconds>\d+(?:\.\d+)?) s"
)
EXERCISE = re.compile(r"^### Exercise \d+ (?P<stars>★+)", re.MULTILINE)


@dataclass(frozen=True)
class Estimate:
    """A lab's time estimate: the measured run time and the learner time derived from it."""

    lab: str
    run_seconds: float
    learner_minutes: int

    def line(self) -> str:
        """The markdown line shown at the top of the notebook."""
        return (
            f"**Time estimate:** about {self.learner_minutes} minutes for a learner (estimated); "
            f"its cells run in {_seconds(self.run_seconds)} s (measured by `make run-all`)."
        )


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def learner_minutes(nb: nbformat.NotebookNode, run_seconds: float) -> int:
    """Estimate a learner's minutes for ``nb``, rounded up to the next 5.

    Reading: every markdown word at :data:`READING_WORDS_PER_MINUTE`; each code cell
    :data:`MINUTES_PER_CODE_CELL`; each exercise by its stars (:data:`MINUTES_PER_EXERCISE`);
    plus the measured run time. The instructor's speaker notes (cells tagged ``notes``, which
    student copies leave out) are not a learner's reading. An estimate, stated as one.
    """
    learner_cells = [c for c in nb.cells if "notes" not in c.metadata.get("tags", [])]
    markdown = [c.source for c in learner_cells if c.cell_type == "markdown"]
    words = sum(len(source.split()) for source in markdown)
    code_cells = sum(1 for c in learner_cells if c.cell_type == "code")
    exercises = sum(
        MINUTES_PER_EXERCISE[min(len(m["stars"]), 3)]
        for source in markdown
        for m in EXERCISE.finditer(source)
    )
    minutes = (
        words / READING_WORDS_PER_MINUTE
        + code_cells * MINUTES_PER_CODE_CELL
        + exercises
        + run_seconds / 60
    )
    return max(5, 5 * math.ceil(minutes / 5))


def stored() -> dict[str, float]:
    """The measured run time of each lab (``"04"`` → seconds) from ``setup/timings.json``."""
    data = json.loads(TIMINGS.read_text())
    return {name[:2]: float(seconds) for name, seconds in data["notebooks"].items()}


def stated(path: Path) -> tuple[int, float]:
    """The learner minutes and run seconds a notebook's first cell states.

    Raises:
        ValueError: The first cell has no time-estimate line in the expected form.
    """
    first = nbformat.read(path, as_version=4).cells[0].source
    match = STATED.search(first)
    if match is None:
        raise ValueError(
            f"{path.name}: the first cell has no line '**Time estimate:** about N minutes for a "
            "learner (estimated); its cells run in S s …' — run `make timings`."
        )
    return int(match["minutes"]), float(match["seconds"])


def estimate(path: Path, run_seconds: float) -> Estimate:
    """The estimate for the notebook at ``path`` given its measured run time."""
    nb = nbformat.read(path, as_version=4)
    return Estimate(path.name[:2], run_seconds, learner_minutes(nb, run_seconds))


def _title(path: Path) -> str:
    """A lab's title: its first heading without the number (``# 04 — Deployment …``)."""
    heading = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
    return heading.lstrip("# ").split("—", 1)[-1].strip()


def guide_table(solutions: Path = SOLUTIONS) -> str:
    """The instructor guide's timing table (between its markers), from the stored figures."""
    measured = stored()
    rows, run_total, learner_total = [], 0.0, 0
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        lab = path.name[:2]
        est = estimate(path, measured[lab])
        rows.append(f"| {lab} {_title(path)} | {measured[lab]:.1f} | {est.learner_minutes} |")
        run_total += measured[lab]
        learner_total += est.learner_minutes
    hours, minutes = divmod(learner_total, 60)
    return "\n".join(
        [
            GUIDE_START,
            "| Lab | Headless run (s) | Learner time (min, estimated) |",
            "|---|---|---|",
            *rows,
            "",
            f"The {len(rows)} notebooks run in {run_total:.0f} s between them. Learner time adds "
            f"up to {learner_total} minutes, about {hours} h {minutes:02d} min.",
            GUIDE_END,
        ]
    )


def _write_guide_table(solutions: Path = SOLUTIONS) -> None:
    text = GUIDE.read_text()
    start, end = text.index(GUIDE_START), text.index(GUIDE_END) + len(GUIDE_END)
    GUIDE.write_text(text[:start] + guide_table(solutions) + text[end:])


def disagreements(solutions: Path = SOLUTIONS) -> list[str]:
    """Every notebook whose stated estimate disagrees with ``setup/timings.json``; [] when none."""
    measured = stored()
    problems = []
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        lab = path.name[:2]
        if lab not in measured:
            problems.append(f"{path.name}: no run time in {TIMINGS.name}; run `make run-all`.")
            continue
        try:
            minutes, seconds = stated(path)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        allowed = max(1.0, LINE_TOLERANCE * measured[lab])
        if abs(seconds - measured[lab]) > allowed:
            problems.append(
                f"{path.name}: states {seconds} s, {TIMINGS.name} has {measured[lab]} s "
                f"(allowed ±{allowed:.1f} s)."
            )
        expected = estimate(path, measured[lab]).learner_minutes
        if minutes != expected:
            problems.append(f"{path.name}: states {minutes} min, the rule gives {expected} min.")
    if not problems and guide_table(solutions) not in GUIDE.read_text():
        problems.append(f"{GUIDE.name}: the timing table is not the stored figures'.")
    return problems


def update(report: Path, solutions: Path = SOLUTIONS) -> list[Estimate]:
    """Store ``report``'s wall times in ``setup/timings.json`` and rewrite each notebook's line.

    Only the first cell's time-estimate line changes (a markdown edit: no re-execution needed),
    and the timing table of the instructor's guide (``setup/INSTRUCTOR.md``).

    Raises:
        ValueError: The report has a failed notebook (its time would not be a real run's).
    """
    runs = json.loads(report.read_text())["notebooks"]
    failed = [r["notebook"] for r in runs if not r["passed"]]
    if failed:
        raise ValueError(f"{report} has failed notebooks ({', '.join(failed)}); fix them first.")
    seconds = {r["notebook"].removesuffix(".ipynb"): round(r["seconds"], 1) for r in runs}
    TIMINGS.write_text(
        json.dumps(
            {
                "measured_by": "make run-all (setup/run_all.py), every notebook on one emulator",
                "notebooks": seconds,
            },
            indent=2,
        )
        + "\n"
    )
    estimates = []
    for path in sorted(solutions.glob("[0-9][0-9]_*.ipynb")):
        if path.stem not in seconds:
            continue
        nb = nbformat.read(path, as_version=4)
        est = Estimate(path.name[:2], seconds[path.stem], learner_minutes(nb, seconds[path.stem]))
        first = nb.cells[0]
        if not LINE.search(first.source):
            raise ValueError(f"{path.name}: the first cell has no '**Time estimate:**' line.")
        first.source = LINE.sub(est.line(), first.source, count=1)
        nbformat.write(nb, path)
        estimates.append(est)
    _write_guide_table(solutions)
    return estimates


def main(argv: list[str] | None = None) -> int:
    """Command line: ``timings.py REPORT`` to update, ``timings.py --check`` to verify."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", nargs="?", type=Path, help="build/run-all/report.json")
    parser.add_argument("--check", action="store_true", help="verify the notebooks' lines")
    args = parser.parse_args(argv)
    if args.check or args.report is None:
        problems = disagreements()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    for est in update(args.report):
        print(f"{est.lab}  {est.run_seconds:6.1f} s  ~{est.learner_minutes} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
