"""Time the pipeline executor and what one execution of the bookstore's pipeline costs; print it.

* Executor throughput: executions per second of wall time with stand-in actions (no work in
  the actions), 200 commits arriving a minute apart through Source → Build → Deploy in
  ``SUPERSEDED`` mode — the executor's own overhead (events, locks, superseding, artifacts).
* One bookstore build with the buildspec runner, the repository's ``buildspec.yml`` and its
  lean variant without the install phase (what lab 05's day of commits uses), without an
  emulator: the real cost of a Build action.
* One execution of the bookstore's pipeline end to end without an emulator (git archive, the
  lean build, a dry-run canary deployment): the cost of one commit in the day of lab 05.

Figures, not pass/fail timings: nothing is asserted, because machines differ (and builds spawn
processes, so a busy machine shows).

Run from the repository root::

    .venv/bin/python benchmarks/bench_pipeline.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labs.cicd import buildspec
from labs.cicd import pipeline as cp
from labs.cicd.git import bookstore_repo
from labs.cicd.pipeline.executor import ActionOutcome, ActionRequest
from labs.cicd.pipeline.model import Action, ActionTypeId, PipelineDefinition, Stage
from labs.observability.alarms import Alarm

COMMITS = 200
RUNS = 3
T0 = pd.Timestamp("2026-01-06T09:00:00Z")
ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _stand_in(minutes: float) -> Callable[[ActionRequest], ActionOutcome]:
    empty_zip = b"PK\x05\x06" + bytes(18)

    def run(request: ActionRequest) -> ActionOutcome:
        outputs = {name: empty_zip for name in request.action.output_artifacts}
        return ActionOutcome(minutes=minutes, outputs=outputs)

    return run


def executor_rate() -> tuple[float, dict[str, int]]:
    """Executions per second with stand-in actions; and how the executions ended."""
    definition = PipelineDefinition(
        "bench",
        [
            Stage("Source", [Action("S", ActionTypeId("Source", "S"), output_artifacts=["A"])]),
            Stage(
                "Build",
                [
                    Action(
                        "B",
                        ActionTypeId("Build", "B"),
                        input_artifacts=["A"],
                        output_artifacts=["C"],
                    )
                ],
            ),
            Stage("Deploy", [Action("D", ActionTypeId("Deploy", "D"), input_artifacts=["C"])]),
        ],
    )
    handlers = {"S": _stand_in(1), "B": _stand_in(6), "D": _stand_in(12)}
    pipe = cp.Pipeline(definition, handlers)
    commits = [(f"c{i:05d}", T0 + pd.Timedelta(minutes=i)) for i in range(COMMITS)]
    started = time.perf_counter()
    runs = pipe.run_commits(commits)
    rate = COMMITS / (time.perf_counter() - started)
    pipe.close()
    return rate, pd.Series([r.status for r in runs]).value_counts().to_dict()


def build_seconds(repo_path: Path, text: str) -> float:
    """Wall seconds of one build of ``text`` on the repository, unrecorded."""
    started = time.perf_counter()
    result = buildspec.run(text, repo_path, env=ENV)
    assert result.succeeded, result
    return time.perf_counter() - started


def execution_seconds(repo_path: Path) -> float:
    """Wall seconds of one execution of the bookstore pipeline, without an emulator."""
    from types import SimpleNamespace

    repo = bookstore_repo(path=repo_path)
    ctx = SimpleNamespace(name=lambda base, **_: f"labs-{base}")
    alarm = Alarm(
        alarm_name="bench-errors",
        namespace="Bookstore",
        metric_name="ErrorRate",
        dimensions=[("Service", "orders")],
        statistic="Average",
        period=60,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        threshold=1.0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
    )
    definition = cp.bookstore_pipeline(ctx).with_buildspec(
        "labs-bookstore-build", cp.lean_buildspec(repo.show("buildspec.yml"))
    )
    handlers = {
        "CodeCommit": cp.GitSource(repo),
        "CodeBuild": cp.CodeBuildRunner(),
        "CodeDeployToECS": cp.Deployer(alarms=[alarm]),
    }
    pipe = cp.Pipeline(definition, handlers, repo=repo)
    started = time.perf_counter()
    execution = pipe.run()
    seconds = time.perf_counter() - started
    assert execution.succeeded, execution.summary
    pipe.close()
    return seconds


def main() -> None:
    """Print the executor's rate, a build's cost and an execution's cost."""
    rates = []
    for _ in range(RUNS):
        rate, ended = executor_rate()
        rates.append(rate)
    print(
        f"pipeline executor: {statistics.median(rates):,.0f} executions per second with "
        f"stand-in actions (median of {RUNS}; {COMMITS} commits a minute apart, "
        f"SUPERSEDED: {ended})"
    )
    with tempfile.TemporaryDirectory() as folder:
        repo = bookstore_repo(path=Path(folder) / "bookstore")
        full = repo.show("buildspec.yml")
        lean = cp.lean_buildspec(full)
        for label, text in (("buildspec.yml", full), ("lean (no install phase)", lean)):
            times = [build_seconds(repo.path, text) for _ in range(RUNS)]
            print(
                f"bookstore build, {label}: {statistics.median(times):.2f} s "
                f"(median of {RUNS}; the unit tests really run)"
            )
        times = [execution_seconds(Path(folder) / f"run{i}") for i in range(RUNS)]
        print(
            f"one execution (git archive, lean build, dry-run canary): "
            f"{statistics.median(times):.2f} s (median of {RUNS})"
        )


if __name__ == "__main__":
    main()
