"""Progress bars (:mod:`labs.progressbar`): items in order, totals, the off switch, outputs that
stay the same from run to run (in a real kernel, as nbclient stores them and as nbval reads
them), and the engines' ``progress`` flags driving a bar.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from labs import progressbar
from labs.cicd import pipeline as cp
from labs.cicd.pipeline.executor import ActionOutcome, ActionRequest
from labs.cicd.pipeline.model import Action, ActionTypeId, PipelineDefinition, Stage
from labs.errors import InputError
from labs.practices import abtest
from labs.progressbar import progress

ROOT = Path(__file__).resolve().parents[1]


class FakeHandle:
    """What ``IPython.display.display(..., display_id=True)`` returns, recording updates."""

    def __init__(self, log: list[tuple[str, dict[str, str]]], bundle: dict[str, str]) -> None:
        self.log = log
        log.append(("display", dict(bundle)))

    def update(self, bundle: dict[str, str], raw: bool = False) -> None:
        assert raw
        self.log.append(("update", dict(bundle)))


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, str]]]:
    """Pretend to be in a Jupyter kernel; return the log of displays and updates."""
    import IPython.display

    log: list[tuple[str, dict[str, str]]] = []

    def display(bundle: dict[str, str], *, raw: bool = False, display_id: bool = False) -> Any:
        assert raw and display_id
        return FakeHandle(log, bundle)

    monkeypatch.setattr(progressbar, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    monkeypatch.delenv(progressbar.ENV_VAR, raising=False)
    return log


def _texts(log: list[tuple[str, dict[str, str]]]) -> list[str]:
    return [bundle["text/plain"] for _, bundle in log]


# -- items, totals, summaries -----------------------------------------------------------------


def test_every_item_is_yielded_in_order_and_counted_in_every_mode(
    kernel: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [f"c{i}" for i in range(25)]
    bar = progress(items, desc="Commits", unit="commit")
    assert bar.mode == "kernel"
    assert list(bar) == items and bar.n == 25
    silent = progress(iter(items), desc="Commits", enabled=False)
    assert list(silent) == items and silent.n == 25 and silent.mode == "silent"
    monkeypatch.setenv(progressbar.ENV_VAR, "off")
    text_only = progress(items, desc="Commits")
    assert text_only.mode == "kernel-text" and list(text_only) == items


def test_the_total_comes_from_the_iterable_or_is_given() -> None:
    assert progress(range(7), desc="Runs", unit="run", enabled=False).total == 7
    assert progress((x for x in "abc"), desc="Runs", enabled=False).total is None
    assert progress((x for x in "abc"), total=3, desc="Runs", enabled=False).total == 3
    assert progress(total=12, desc="Day", unit="execution", enabled=False).summary == (
        "Day: 12 executions"
    )
    assert progress(total=1, desc="Day", unit="execution", enabled=False).summary == (
        "Day: 1 execution"
    )
    assert progress(total=20_000, desc="A/A", unit="experiment", enabled=False).summary == (
        "A/A: 20,000 experiments"
    )
    assert progress((x for x in "ab"), desc="Unknown length", enabled=False).summary == (
        "Unknown length"
    )


def test_manual_updates_and_the_context_manager(kernel: list) -> None:
    with progress(total=5, desc="Builds", unit="build") as bar:
        for _ in range(5):
            bar.update()
    assert bar.n == 5
    assert _texts(kernel)[0] == _texts(kernel)[-1] == "Builds: 5 builds"
    bar.close()  # twice is fine
    assert _texts(kernel)[-1] == "Builds: 5 builds"
    with pytest.raises(InputError, match="counts updates"):
        list(progress(total=2, desc="Builds", enabled=False))


@pytest.mark.parametrize("desc", ["", "   ", None])
def test_a_bar_needs_a_description(desc: Any) -> None:
    with pytest.raises(InputError, match="needs a description"):
        progress(range(3), desc=desc)


@pytest.mark.parametrize("total", [-1, 2.5, True])
def test_a_total_is_a_whole_number(total: Any) -> None:
    with pytest.raises(InputError, match="whole number"):
        progress(total=total, desc="Steps")


# -- what a kernel shows and keeps ------------------------------------------------------------


def test_in_a_kernel_the_summary_comes_first_and_last_and_the_bar_in_between(
    kernel: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressbar, "MIN_INTERVAL_S", 0.0)
    assert list(progress(range(4), desc="Steps", unit="step")) == [0, 1, 2, 3]
    kinds = [kind for kind, _ in kernel]
    assert kinds[0] == "display" and set(kinds[1:]) == {"update"}
    assert kernel[0][1] == {"text/plain": "Steps: 4 steps"}  # what nbval reads
    assert kernel[-1][1] == {"text/plain": "Steps: 4 steps"}  # what nbclient keeps
    bars = [bundle for _, bundle in kernel[1:-1]]
    assert bars and all("<progress" in b["text/html"] for b in bars)
    assert 'value="0" max="4"' in bars[0]["text/html"]
    assert "4/4" in bars[-1]["text/plain"]


def test_a_loop_that_fails_says_where_it_stopped(kernel: list) -> None:
    def boom():
        yield 1
        yield 2
        raise RuntimeError("build broke")

    with pytest.raises(RuntimeError):
        list(progress(boom(), total=5, desc="Builds", unit="build"))
    assert _texts(kernel)[-1] == "Builds: 5 builds (stopped after 2)"


def test_breaking_out_of_the_loop_early_is_not_a_failure(kernel: list) -> None:
    for item in progress(range(10), desc="Search"):
        if item == 3:
            break
    assert _texts(kernel)[-1] == "Search: 10 items"


def test_an_unknown_total_shows_an_indeterminate_bar(
    kernel: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressbar, "MIN_INTERVAL_S", 0.0)
    list(progress((x for x in range(3)), desc="Lines", unit="line"))
    html = [b["text/html"] for kind, b in kernel if "text/html" in b]
    assert html and "<progress style" in html[0] and "value=" not in html[0]
    assert _texts(kernel)[0] == _texts(kernel)[-1] == "Lines"


# -- the off switch ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["off", "OFF", "0", "false", "no"])
def test_off_shows_the_summary_line_alone_in_a_kernel(
    kernel: list, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(progressbar.ENV_VAR, value)
    assert list(progress(range(50), desc="Steps", unit="step")) == list(range(50))
    assert kernel == [("display", {"text/plain": "Steps: 50 steps"})]


def test_off_writes_nothing_in_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(progressbar.ENV_VAR, "off")
    assert progress(range(3), desc="Steps").mode == "silent"
    assert list(progress(range(3), desc="Steps")) == [0, 1, 2]
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("value", ["", "on", "yes", "auto"])
def test_on_or_unset_keeps_bars(value: str) -> None:
    assert progressbar.bars_enabled({progressbar.ENV_VAR: value})
    assert progressbar.bars_enabled({})


def test_a_misspelt_switch_is_an_error_that_says_what_to_write() -> None:
    with pytest.raises(InputError, match="neither on nor off") as caught:
        progressbar.bars_enabled({progressbar.ENV_VAR: "of"})
    assert "LABS_PROGRESS_BARS=off" in str(caught.value)


def test_engines_never_show_anything_when_their_flag_is_off(kernel: list) -> None:
    assert list(progress(range(3), desc="Steps", enabled=False)) == [0, 1, 2]
    assert kernel == []


# -- the terminal -----------------------------------------------------------------------------


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_in_a_terminal_tqdm_draws_on_stderr_and_erases_its_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(progressbar.ENV_VAR, raising=False)
    err, out = Tty(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", out)
    bar = progress(range(3), desc="Steps", unit="step")
    assert bar.mode == "terminal" and list(bar) == [0, 1, 2]
    assert "Steps" in err.getvalue() and err.getvalue().endswith("\r")  # leave=False
    assert out.getvalue() == ""


def test_a_terminal_that_is_not_a_tty_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(progressbar.ENV_VAR, raising=False)
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert list(progress(range(3), desc="Steps")) == [0, 1, 2]
    assert err.getvalue() == ""


def test_not_in_a_kernel_outside_jupyter() -> None:
    assert progressbar.in_kernel() is False


def test_redraws_are_throttled() -> None:
    assert progressbar.MIN_INTERVAL_S >= 0.1
    started = time.perf_counter()
    assert sum(progress(range(200_000), desc="Fast", enabled=False)) == 199_999 * 100_000
    assert time.perf_counter() - started < 2.0


# -- the same outputs, run after run, in a real kernel ----------------------------------------

LOOP = """\
import time
from labs.progressbar import progress

total = 0
for i in progress(range(12), desc="Slow steps", unit="step"):
    time.sleep(0.05)
    total += i
print(total)
"""


def _execute(tmp_path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOP)])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    return nb


def _iopub(code: str) -> list[tuple[str, dict[str, Any]]]:
    """The output messages of ``code`` in a fresh kernel, as a frontend (or nbval) gets them."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT))
    messages: list[tuple[str, dict[str, Any]]] = []
    try:
        client.execute_interactive(
            code,
            timeout=120,
            output_hook=lambda m: messages.append((m["msg_type"], m["content"])),
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    return [(kind, c) for kind, c in messages if kind != "status"]


@pytest.mark.notebook
def test_a_real_kernel_stores_the_same_outputs_every_run_and_nbval_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(progressbar.ENV_VAR, raising=False)
    first, second = _execute(tmp_path), _execute(tmp_path)
    outputs = [
        [{k: v for k, v in o.items() if k != "transient"} for o in nb.cells[0].outputs]
        for nb in (first, second)
    ]
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["data"] == {"text/plain": "Slow steps: 12 steps"}
    assert outputs[0][1] == {"output_type": "stream", "name": "stdout", "text": "66\n"}
    assert "widgets" not in first.metadata  # no widget state saved into the notebook

    messages = _iopub(LOOP)
    displays = [c for kind, c in messages if kind == "display_data"]
    updates = [c for kind, c in messages if kind == "update_display_data"]
    assert [d["data"] for d in displays] == [{"text/plain": "Slow steps: 12 steps"}]  # nbval
    assert updates and updates[-1]["data"] == {"text/plain": "Slow steps: 12 steps"}
    assert any("<progress" in u["data"].get("text/html", "") for u in updates)  # a live bar
    assert {c["transient"]["display_id"] for c in displays + updates} == {
        displays[0]["transient"]["display_id"]
    }
    streams = [c for kind, c in messages if kind == "stream"]
    assert streams == [{"name": "stdout", "text": "66\n"}]  # nothing on stderr


# -- the engines ------------------------------------------------------------------------------


def _stand_in(minutes: float):
    empty_zip = b"PK\x05\x06" + bytes(18)

    def run(request: ActionRequest) -> ActionOutcome:
        outputs = {name: empty_zip for name in request.action.output_artifacts}
        return ActionOutcome(minutes=minutes, outputs=outputs)

    return run


def _pipeline() -> cp.Pipeline:
    definition = PipelineDefinition(
        "bars",
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
    return cp.Pipeline(definition, {"S": _stand_in(1), "B": _stand_in(6), "D": _stand_in(12)})


def _commits(count: int) -> list[tuple[str, pd.Timestamp]]:
    t0 = pd.Timestamp("2026-01-07T09:00:00Z")
    return [(f"c{i:03d}", t0 + pd.Timedelta(minutes=4 * i)) for i in range(count)]


def test_run_commits_with_progress_counts_finished_executions(
    kernel: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progressbar, "MIN_INTERVAL_S", 0.0)
    counted: list[int] = []
    real_update = progressbar.Progress.update

    def update(self: progressbar.Progress, n: int = 1) -> None:
        real_update(self, n)
        counted.append(self.n)

    monkeypatch.setattr(progressbar.Progress, "update", update)
    pipe = _pipeline()
    runs = pipe.run_commits(_commits(10), progress=True, desc="Wednesday")
    pipe.close()
    assert all(r.finished for r in runs)
    assert counted == sorted(counted) and counted[-1] == 10  # never backwards, all finished
    assert len(set(counted)) > 2  # it moved along the way
    assert _texts(kernel)[0] == _texts(kernel)[-1] == "Wednesday: 10 executions"
    assert any('value="10" max="10"' in b.get("text/html", "") for _, b in kernel)


def test_run_commits_without_progress_shows_nothing_and_runs_the_same(kernel: list) -> None:
    quiet, shown = _pipeline(), _pipeline()
    plain = quiet.run_commits(_commits(8))
    assert kernel == []
    barred = shown.run_commits(_commits(8), progress=True)
    quiet.close()
    shown.close()
    assert [(r.status, r.summary) for r in plain] == [(r.status, r.summary) for r in barred]
    assert _texts(kernel)[0] == "Running commits through the pipeline: 8 executions"


def test_an_approval_leaves_the_bar_short_and_the_summary_unchanged(kernel: list) -> None:
    definition = _pipeline().definition.with_stage(
        Stage("Approve", [cp.approval_action("Approve")]), before="Deploy"
    )
    pipe = cp.Pipeline(definition, {"S": _stand_in(1), "B": _stand_in(6), "D": _stand_in(12)})
    runs = pipe.run_commits(_commits(1), progress=True, desc="Waiting")
    pipe.close()
    assert runs[0].status == "InProgress"
    assert _texts(kernel)[-1] == "Waiting: 1 execution"


@pytest.mark.parametrize(
    ("experiments", "days", "users", "rate"),
    [(2000, 28, 400, 0.05), (2501, 9, 40_000, 0.3), (3, 5, 50, 0.1)],
)
def test_peeking_with_progress_gives_the_same_result(
    kernel: list, experiments: int, days: int, users: int, rate: float
) -> None:
    plain = abtest.simulate_peeking(experiments, days, users_per_day=users, rate=rate, seed=8)
    assert kernel == []
    barred = abtest.simulate_peeking(
        experiments, days, users_per_day=users, rate=rate, seed=8, progress=True
    )
    np.testing.assert_array_equal(plain.p_values, barred.p_values)
    pd.testing.assert_frame_equal(plain.by_day, barred.by_day)
    assert repr(plain) == repr(barred)
    summary = f"A/A experiments, tested every day: {experiments:,} experiments"
    assert _texts(kernel)[0] == _texts(kernel)[-1] == summary


def test_peeking_counts_experiments_block_by_block(
    kernel: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(abtest, "PEEKING_BLOCK", 300)
    counted: list[int] = []
    real_update = progressbar.Progress.update
    monkeypatch.setattr(
        progressbar.Progress,
        "update",
        lambda self, n=1: (real_update(self, n), counted.append(self.n)),
    )
    abtest.simulate_peeking(1000, 4, progress=True)
    assert counted == [300, 600, 900, 1000]
