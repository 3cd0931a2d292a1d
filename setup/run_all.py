"""Run the whole series headless, in order: the instructors' dry run and the source of timings.

``make run-all`` executes every ``solutions/NN_*.ipynb`` on the local target into
``build/run-all/`` (executed copies, as ``.ipynb`` and ``.html``), shows a progress bar, and
writes ``report.html`` and ``report.json`` with each notebook's wall time and result, then prints
the table. ``make solutions`` (``--in-place``) re-executes solutions and stores their outputs,
which is how an author refreshes a solution's reference outputs.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
OUT = ROOT / "build" / "run-all"
CELL_TIMEOUT_S = 600


@dataclass
class Run:
    """The result of executing one notebook."""

    notebook: str
    seconds: float
    passed: bool
    error: str = ""


def execute(path: Path, *, timeout: int = CELL_TIMEOUT_S) -> tuple[nbformat.NotebookNode, Run]:
    """Execute ``path`` in a fresh kernel with its folder as working directory."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=False,  # widget models have random ids: a re-run would change them
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.perf_counter()
    error = ""
    # Passing checks record progress (labs/progress_log.py): here into a scratch file, so that
    # executing solutions never shows up as a learner's progress, and lab 00 shows a fresh start.
    with (
        tempfile.TemporaryDirectory(prefix="labs-progress-") as scratch,
        mock.patch.dict(os.environ, {"LABS_PROGRESS_FILE": os.path.join(scratch, "progress.json")}),
    ):
        os.environ.pop("LABS_PROGRESS", None)  # recording on, as a learner has it
        try:
            client.execute()
        except CellExecutionError as exc:
            error = str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else "cell failed"
    seconds = time.perf_counter() - started
    return nb, Run(path.name, round(seconds, 2), not error, error)


def _export_html(nb: nbformat.NotebookNode, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    target.write_text(body)


def _report(runs: list[Run], total: float) -> str:
    rows = "\n".join(
        f"<tr><td><a href='{html.escape(r.notebook.replace('.ipynb', '.html'))}'>"
        f"{html.escape(r.notebook)}</a> (<a href='{html.escape(r.notebook)}'>ipynb</a>)</td>"
        f"<td>{r.seconds:.1f}</td><td>{'pass' if r.passed else 'FAIL'}</td>"
        f"<td>{html.escape(r.error)}</td></tr>"
        for r in runs
    )
    return (
        "<!doctype html><meta charset='utf-8'><title>DevOps on AWS Labs — run-all</title>"
        "<style>body{font-family:sans-serif;margin:2em}td,th{padding:4px 12px;"
        "border-bottom:1px solid #ddd;text-align:left}</style>"
        f"<h1>DevOps on AWS Labs — dry run</h1><p>{len(runs)} notebooks, "
        f"{sum(r.passed for r in runs)} passed, total {total:.1f} s wall time.</p>"
        "<table><tr><th>notebook</th><th>seconds</th><th>result</th><th>error</th></tr>"
        f"{rows}</table>"
    )


def run_all(notebooks: list[Path], *, in_place: bool = False, out: Path | None = None) -> list[Run]:
    """Execute ``notebooks`` in order; write executed copies and the report (or update in place).

    Args:
        notebooks: The notebooks, in the order to run them.
        in_place: Store the outputs in the notebooks themselves (only those that pass).
        out: Where the executed copies and the report go; default ``build/run-all/``.
    """
    from tqdm import tqdm

    out = out or OUT
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Run] = []
    started = time.perf_counter()
    bar = tqdm(notebooks, unit="notebook", file=sys.stdout)
    for path in bar:
        bar.set_description(path.stem)
        nb, run = execute(path)
        runs.append(run)
        if in_place:
            if run.passed:
                nbformat.write(nb, path)
            continue
        nbformat.write(nb, out / path.name)
        _export_html(nb, out / path.name.replace(".ipynb", ".html"))
    total = time.perf_counter() - started
    if not in_place:
        (out / "report.json").write_text(
            json.dumps(
                {"total_seconds": round(total, 2), "notebooks": [asdict(r) for r in runs]}, indent=2
            )
        )
        (out / "report.html").write_text(_report(runs, total))
    width = max((len(r.notebook) for r in runs), default=10)
    print(f"\n{'notebook':<{width}}  seconds  result")
    for r in runs:
        print(
            f"{r.notebook:<{width}}  {r.seconds:7.1f}  {'pass' if r.passed else 'FAIL ' + r.error}"
        )
    print(f"{'total':<{width}}  {total:7.1f}")
    if not in_place:
        report = out / "report.html"
        print(f"Report: {report.relative_to(ROOT) if report.is_relative_to(ROOT) else report}")
    return runs


def main(argv: list[str] | None = None) -> int:
    """Command line: ``run_all.py [--in-place] [NOTEBOOK ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="solution notebooks to run (default: all, in order)"
    )
    parser.add_argument(
        "--in-place",
        action="store_true",
        help="store the outputs in the solution notebooks themselves",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=OUT,
        help="folder for the executed copies and the report (default: build/run-all)",
    )
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or sorted(SOLUTIONS.glob("[0-9]*.ipynb"))
    runs = run_all(notebooks, in_place=args.in_place, out=args.out.resolve())
    return 0 if all(r.passed for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
