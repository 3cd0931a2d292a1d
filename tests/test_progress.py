"""Progress: every exercise check that passes records itself; the table says where to continue."""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest
from make_notebooks import BEGIN, SOLUTIONS

import labs
from labs import checks, progress_log
from labs.errors import CheckFailed, InputError

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(SOLUTIONS.glob("[0-9][0-9]*_*.ipynb"))
CHECK_MODULES = [
    "labs.setup_checks",
    "labs.dora.checks",
    "labs.cicd.checks",
    "labs.cicd.build_checks",
    "labs.cicd.pipeline_checks",
    "labs.deploy.checks",
    "labs.iac.checks",
    "labs.containers.checks",
    "labs.containers.orchestration_checks",
    "labs.observability.checks",
    "labs.observability.tracing_checks",
    "labs.practices.checks",
    "labs.practices.incident_checks",
    "labs.practices.capstone_checks",
]
EXERCISE = re.compile(r"^### Exercise (\d+) ★{1,3} — \S", re.MULTILINE)


@pytest.fixture
def progress_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A progress file of this test's own, with recording on."""
    file = tmp_path / "progress.json"
    monkeypatch.setenv("LABS_PROGRESS_FILE", str(file))
    monkeypatch.delenv("LABS_PROGRESS", raising=False)
    return file


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[str, int], str]:
    """An empty exercise registry, so this test's own checks leave the real one alone."""
    fresh: dict[tuple[str, int], str] = {}
    monkeypatch.setattr(checks, "EXERCISES", fresh)
    return fresh


def _notebook_exercises() -> dict[str, int]:
    """Lab → number of ``### Exercise N`` headings in its solution notebook."""
    counts = {}
    for path in NOTEBOOKS:
        cells = nbformat.read(path, as_version=4).cells
        text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        counts[path.name[:2]] = len(EXERCISE.findall(text))
    return counts


# --- the decorator --------------------------------------------------------------------------------


def test_a_passing_exercise_check_records_itself(
    progress_file: Path, registry: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    @checks.exercise("04", 2)
    def canary(answer: int) -> int:
        checks.equal(answer, 42, "the answer")
        return answer

    assert canary(42) == 42  # the check's own result is passed through
    assert capsys.readouterr().out == "✔ the answer: 42\n"
    recorded = progress_log.load()
    entry = recorded["04"][2]
    assert entry["times"] == 1 and entry["check"].endswith("canary")
    assert entry["title"] == "Write the alarm that makes a canary roll back"
    assert registry == {("04", 2): f"{__name__}.{canary.__qualname__}"}
    assert canary.exercise == ("04", 2)
    canary(42)
    again = progress_log.load()["04"][2]
    assert again["times"] == 2 and again["first"] == entry["first"]


def test_a_failing_check_records_nothing_and_points_to_a_hint(
    progress_file: Path, registry: dict
) -> None:
    @checks.exercise("04", 2)
    def canary(answer: int) -> None:
        checks.equal(answer, 42, "the answer", hint="Count again.")

    @checks.exercise("04", 3)
    def bare(answer: int) -> None:
        checks.check(answer == 1, "the answer")

    with pytest.raises(CheckFailed) as failure:
        canary(41)
    assert str(failure.value).splitlines() == [
        "Not yet: the answer",
        "  expected: 42",
        "  found:    41",
        "Hint: Count again.",
        'Stuck? `labs.hint("04", 2)` gives a hint.',
    ]
    assert failure.value.hint.endswith(checks.hint_pointer("04", 2))
    assert failure.value._render_traceback_()[-1] == '  Stuck? `labs.hint("04", 2)` gives a hint.'
    with pytest.raises(CheckFailed, match=r'Hint: Stuck\? `labs.hint\("04", 3\)` gives a hint.'):
        bare(2)
    assert not progress_file.exists() or progress_log.load() == {}


def test_a_check_inside_another_records_only_the_outer_one(
    progress_file: Path, registry: dict
) -> None:
    @checks.exercise("12", 1)
    def inner(fail: bool) -> None:
        checks.check(not fail, "inner")

    @checks.exercise("12", 2)
    def outer(fail: bool) -> None:
        inner(fail)

    outer(False)
    assert set(progress_log.load()["12"]) == {2}
    with pytest.raises(CheckFailed) as failure:
        outer(True)
    assert str(failure.value).count("Stuck?") == 1 and 'hint("12", 2)' in str(failure.value)


def test_the_decorator_refuses_bad_numbers_and_a_second_check(registry: dict) -> None:
    for lab, number in [("4", 1), (4, 1), ("04", 0), ("04", True)]:
        with pytest.raises(InputError):
            checks.exercise(lab, number)  # type: ignore[arg-type]

    @checks.exercise("04", 1)
    def first() -> None: ...

    with pytest.raises(InputError, match="already has a check"):

        @checks.exercise("04", 1)
        def second() -> None: ...


def test_a_real_check_records_lab_00(
    ctx: Any, progress_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from labs import setup_checks

    bucket = ctx.name("progress-test")
    s3 = ctx.client("s3")
    with pytest.raises(CheckFailed, match=r'labs.hint\("00", 1\)'):
        setup_checks.tagged_bucket(ctx, bucket)
    assert progress_log.load() == {}
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": ctx.tags(lab="00").as_list()})
        setup_checks.tagged_bucket(ctx, bucket)
    finally:
        s3.delete_bucket(Bucket=bucket)
    assert "✔ bucket" in capsys.readouterr().out
    assert progress_log.load()["00"][1]["check"] == "labs.setup_checks.tagged_bucket"


# --- the file -------------------------------------------------------------------------------------


def test_the_file_lives_in_the_workshop_folder_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABS_PROGRESS_FILE", raising=False)
    monkeypatch.delenv("LABS_PROGRESS", raising=False)
    monkeypatch.setenv("LABS_WORKSHOP_DIR", str(tmp_path / "ws"))
    assert progress_log.path() == tmp_path / "ws" / "progress.json"
    assert progress_log.record("01", 3) is True
    data = json.loads((tmp_path / "ws" / "progress.json").read_text())
    assert data["format"] == 1 and data["passed"]["01"]["3"]["times"] == 1
    assert not list((tmp_path / "ws").glob("*.tmp"))  # written atomically, nothing left over


def test_labs_progress_off_records_nothing(
    progress_file: Path, monkeypatch: pytest.MonkeyPatch, registry: dict
) -> None:
    @checks.exercise("03", 1)
    def fine() -> None:
        checks.passed("fine")

    for value in ("off", "OFF", "0", "false", "no"):
        monkeypatch.setenv("LABS_PROGRESS", value)
        assert progress_log.enabled() is False
        assert progress_log.record("03", 1) is False
        fine()
    assert not progress_file.exists()
    monkeypatch.setenv("LABS_PROGRESS", "on")
    fine()
    assert progress_log.load()["03"][1]["times"] == 1


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        "",
        '{"format": 99}',
        '{"format": 1, "passed": {"04": {"x": {}}}}',
        '{"format": 1, "passed": {"04": {"1": {"last": "2026-11-27T18:00:00", "times": "2"}}}}',
    ],
)
def test_a_corrupt_file_is_set_aside_and_progress_starts_over(
    progress_file: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    progress_file.write_text(content)
    assert progress_log.load() == {}
    assert "unreadable" in capsys.readouterr().err
    assert progress_log.record("05", 1) is True
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "starting over" in err
    assert set(progress_log.load()) == {"05"}
    assert progress_file.with_name("progress.json.corrupt").read_text() == content


def test_an_unwritable_file_warns_and_the_check_still_passes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    registry: dict,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("LABS_PROGRESS_FILE", str(blocker / "progress.json"))  # under a file
    monkeypatch.delenv("LABS_PROGRESS", raising=False)

    @checks.exercise("02", 1)
    def fine() -> None:
        checks.passed("fine")

    fine()
    captured = capsys.readouterr()
    assert captured.out == "✔ fine\n"
    assert "could not record your progress" in captured.err


def test_two_processes_recording_at_once_lose_nothing(progress_file: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from labs import progress_log
        for i in range(25):
            progress_log.record("06", 1 + i % 4)
        """
    )
    env = {**os.environ, "LABS_PROGRESS_FILE": str(progress_file)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT) for _ in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    recorded = progress_log.load()["06"]
    assert sorted(recorded) == [1, 2, 3, 4]
    assert sum(e["times"] for e in recorded.values()) == 50


def test_reset_forgets_one_lab_or_all(progress_file: Path) -> None:
    for lab, number in [("01", 1), ("01", 2), ("04", 3)]:
        progress_log.record(lab, number)
    assert progress_log.reset("01") == 2
    assert set(progress_log.load()) == {"04"}
    assert progress_log.reset() == 1
    assert progress_log.load() == {}
    with pytest.raises(InputError, match="not a lab number"):
        progress_log.reset("four")


# --- the table and where to continue --------------------------------------------------------------


def test_the_table_has_one_row_per_lab_with_the_notebooks_exercise_counts(
    progress_file: Path,
) -> None:
    counts = _notebook_exercises()
    frame = progress_log.table()
    assert list(frame["lab"]) == sorted(counts) == [f"{n:02d}" for n in range(15)]
    assert dict(zip(frame["lab"], frame["total"], strict=True)) == counts
    assert (frame["passed"] == 0).all() and frame["last_activity"].isna().all()
    assert frame.loc[frame["lab"] == "04", "title"].item().startswith("Deployment strategies")

    progress_log.record("04", 3)
    progress_log.record("04", 1)
    progress_log.record("04", 1)
    progress_log.record("04", 9)  # no such exercise: not counted
    row = progress_log.table().set_index("lab").loc["04"]
    assert (row["passed"], row["total"], row["exercises"]) == (2, 3, "1, 3")
    assert not row["complete"] and row["last_activity"].tzname() == "UTC"


def _complete(*labs_done: str) -> None:
    catalogue = {lab.lab: lab for lab in progress_log.catalogue()}
    for lab in labs_done:
        for number in catalogue[lab].exercises:
            progress_log.record(lab, number)


def test_where_to_continue_moves_on_as_labs_complete(progress_file: Path) -> None:
    first = progress_log.where_to_continue()
    assert first.lab == "00" and first.notebook == "notebooks/00_setup.ipynb"
    assert first.sentence.startswith("No checks passed yet: start with 00 — Setup")

    _complete("00")
    assert progress_log.where_to_continue().sentence == (
        "Continue with 01 — The DevOps mindset and DORA metrics (notebooks/01_devops_dora.ipynb)."
    )
    progress_log.record("01", 2)
    step = progress_log.where_to_continue()
    assert (step.lab, step.remaining) == ("01", (1, 3))
    assert step.sentence.endswith(": exercises 1 and 3 still to pass.")

    _complete("01", "02", "03", "05")  # 04 skipped: it is where to continue
    assert progress_log.where_to_continue().lab == "04"
    _complete(*[f"{n:02d}" for n in range(4, 15)])
    done = progress_log.where_to_continue()
    assert done.lab is None and done.sentence.startswith("Every check of all 15 labs has passed")


def test_labs_progress_shows_the_table_and_the_sentence(progress_file: Path) -> None:
    _complete("00")
    shown = labs.progress()
    text = repr(shown)
    assert text.splitlines()[0].split() == [
        "lab",
        "title",
        "checks",
        "passed",
        "exercises",
        "passed",
        "last",
        "activity",
    ]
    assert re.search(r"^00\s+Setup: your workshop .*1/1 ✔\s+1\s+\d{4}-\d\d-\d\d \d\d:", text, re.M)
    assert text.rstrip().endswith("(notebooks/01_devops_dora.ipynb).")
    page = shown._repr_html_()
    assert page.count("<tr>") == 15 and "<b>Continue with 01 — " in page


# --- the command line -----------------------------------------------------------------------------


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labs.progress_log", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_command_line_prints_the_table_and_resets(progress_file: Path) -> None:
    env = {**os.environ, "LABS_PROGRESS_FILE": str(progress_file)}
    progress_log.record("00", 1)
    progress_log.record("04", 2)
    shown = _cli(env=env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("lab  title") and len([ln for ln in lines if ln[:2].isdigit()]) == 15
    assert re.search(r"^2 of \d+ checks passed\.$", shown.stdout, re.MULTILINE)
    assert lines[-1].startswith("Continue with 01 — ")

    reset_one = _cli("--reset", "04", env=env)
    assert reset_one.stdout.startswith("Forgot 1 passed check(s) in lab 04.")
    assert set(progress_log.load()) == {"00"}
    reset_all = _cli("--reset", env=env)
    assert reset_all.stdout.startswith("Forgot 1 passed check(s) in every lab.")
    assert progress_log.load() == {} and reset_all.stdout.rstrip().endswith(
        "(notebooks/00_setup.ipynb)."
    )
    wrong = _cli("--reset", "four", env=env)
    assert wrong.returncode == 2 and "not a lab number" in wrong.stderr


def test_make_progress_runs_the_command_line() -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^progress: bootstrap ## (.+)\n\t(.+)$", makefile, re.MULTILINE)
    assert target and "-m labs.progress_log" in target.group(2)


# --- the registry: every exercise has exactly one check, and its notebook calls it ----------------


def _resolve(dotted: list[str], aliases: dict[str, str]) -> Any:
    """The object ``a.b.c`` names in a notebook, importing modules as Python would."""
    head, *rest = dotted
    if head not in aliases:
        return None
    obj: Any = importlib.import_module(aliases[head])
    for part in rest:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if not isinstance(obj, ModuleType):
                return None
            obj = importlib.import_module(f"{obj.__name__}.{part}")
    return obj


def _dotted(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _parse(source: str) -> ast.Module:
    lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("!", "%"))]
    return ast.parse("\n".join(lines))


def _aliases(cells: list) -> dict[str, str]:
    """Names bound by the notebook's imports of ``labs`` modules → module names."""
    aliases: dict[str, str] = {}
    for cell in cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(_parse(cell.source)):
            if isinstance(node, ast.Import):
                for name in node.names:
                    if name.name.split(".")[0] == "labs":
                        bound = name.asname or name.name.split(".")[0]
                        aliases[bound] = name.name if name.asname else "labs"
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("labs"):
                for name in node.names:
                    module = f"{node.module}.{name.name}"
                    try:
                        importlib.import_module(module)
                    except ImportError:
                        continue  # a function, not a module
                    aliases[name.asname or name.name] = module
    return aliases


def _exercise_checks(path: Path) -> list[tuple[int, str]]:
    """(exercise number, source of its Check your work cell), in the notebook's order."""
    cells = nbformat.read(path, as_version=4).cells
    found, number, waiting = [], None, False
    for cell in cells:
        if cell.cell_type == "markdown":
            heading = EXERCISE.search(cell.source)
            if heading:
                number = int(heading.group(1))
        elif waiting:
            found.append((number, cell.source))
            waiting = False
        elif BEGIN in cell.source:
            waiting = True
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_each_check_cell_calls_the_check_marked_for_its_exercise(path: Path) -> None:
    lab = path.name[:2]
    cells = nbformat.read(path, as_version=4).cells
    aliases = _aliases(cells)
    pairs = _exercise_checks(path)
    assert [n for n, _ in pairs] == list(range(1, _notebook_exercises()[lab] + 1))
    for number, source in pairs:
        marked = []
        for node in ast.walk(_parse(source)):
            if isinstance(node, ast.Call) and (dotted := _dotted(node.func)):
                func = _resolve(dotted, aliases)
                if hasattr(func, "exercise"):
                    marked.append((".".join(dotted), func.exercise))
        assert len(marked) == 1, f"{path.name}, exercise {number}: calls {marked or 'no'} check"
        assert marked[0][1] == (lab, number), (
            f"{path.name}, exercise {number}: {marked[0][0]} is marked for {marked[0][1]}"
        )


def test_every_exercise_has_exactly_one_check_and_every_check_an_exercise() -> None:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    wanted = {(lab, n) for lab, count in _notebook_exercises().items() for n in range(1, count + 1)}
    assert set(checks.EXERCISES) == wanted
    for (lab, number), name in checks.EXERCISES.items():
        module, _, func = name.rpartition(".")
        assert getattr(importlib.import_module(module), func).exercise == (lab, number)


# --- who records: solutions executed by run_all never count as a learner's progress ---------------


@pytest.mark.notebook
def test_run_all_records_into_a_scratch_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import run_all

    workshop = tmp_path / "ws"
    monkeypatch.setenv("LABS_WORKSHOP_DIR", str(workshop))
    monkeypatch.delenv("LABS_PROGRESS_FILE", raising=False)
    monkeypatch.setenv("LABS_PROGRESS", "off")  # run_all turns it on for its kernels
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "from labs import progress_log\n"
                "print(progress_log.record('01', 1), progress_log.path().parent.name)\n"
                "print(progress_log.load()['01'][1]['times'])"
            )
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook = tmp_path / "01_probe.ipynb"
    nbformat.write(nb, notebook)
    executed, run = run_all.execute(notebook)
    assert run.passed, run.error
    printed = executed.cells[0].outputs[0]["text"].split()
    assert printed[0] == "True" and printed[1].startswith("labs-progress-") and printed[2] == "1"
    assert not (workshop / "progress.json").exists()
    assert "LABS_PROGRESS_FILE" not in os.environ and os.environ["LABS_PROGRESS"] == "off"
