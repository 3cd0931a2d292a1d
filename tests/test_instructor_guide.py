"""The instructor's guide (setup/INSTRUCTOR.md) stays true to the labs and to the code.

It must cover every lab in its agenda and with a demo script, and every command it tells an
instructor to type must exist: each ``make <target>`` in the Makefile (with the variables the
target reads, and the flags the command behind them accepts), each ``python -m labs.…`` as a
runnable module (with its flags and actions), each ``labs.…(…)`` call, each repository path.
The timing numbers themselves are compared elsewhere; here only the table's shape is checked.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "setup" / "INSTRUCTOR.md"
MAKEFILE = ROOT / "Makefile"
LABS = sorted({p.name[:2] for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")})

DAY_START, DAY_END = "09:00", "17:30"
SCRIPT_LINES = (8, 15)  # "keep each lab's script tight"


# --------------------------------------------------------------------------------------------
# Reading the guide
# --------------------------------------------------------------------------------------------


@functools.cache
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def section(number: int) -> str:
    """The text of ``## <number>. …`` up to the next ``## `` heading."""
    match = re.search(rf"^## {number}\. .*?(?=^## |\Z)", guide(), re.MULTILINE | re.DOTALL)
    assert match, f"setup/INSTRUCTOR.md has no section '## {number}. …'"
    return match.group(0)


def table_rows(text: str) -> list[list[str]]:
    """The cells of every markdown table row in ``text`` (header and separator rows included)."""
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.lstrip().startswith("|")
    ]


@functools.cache
def code_spans() -> tuple[str, ...]:
    """Every fenced code block's lines and every inline code span of the guide."""
    text = guide()
    spans: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        spans += block.splitlines()
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    spans += [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose)]
    return tuple(spans)


def make_commands() -> list[tuple[str, dict[str, str]]]:
    """``(target, {VARIABLE: value})`` for every ``make …`` the guide shows as code."""
    found = []
    pattern = re.compile(
        r"(?:^|[\s;&(])make ([a-z][a-z-]*)((?:[ \t]+[A-Z][A-Z_]*=(?:\"[^\"]*\"|'[^']*'|\S+))*)"
    )
    for span in code_spans():
        for match in pattern.finditer(span):
            variables = dict(
                (name, value.strip("\"'"))
                for name, value in re.findall(r"([A-Z][A-Z_]*)=(\"[^\"]*\"|'[^']*'|\S+)", match[2])
            )
            found.append((match[1], variables))
    return found


def module_commands() -> list[tuple[str, list[str]]]:
    """``(module, [arguments])`` for every ``python -m labs.…`` the guide shows as code."""
    found = []
    for span in code_spans():
        for match in re.finditer(r"python -m (labs(?:\.\w+)+)([^`#|;&]*)", span):
            found.append((match[1], match[2].split()))
    return found


# --------------------------------------------------------------------------------------------
# Reading the code
# --------------------------------------------------------------------------------------------


@functools.cache
def makefile() -> str:
    return MAKEFILE.read_text(encoding="utf-8")


@functools.cache
def make_targets() -> frozenset[str]:
    return frozenset(re.findall(r"^([a-z][a-z-]*):(?!=)", makefile(), re.MULTILINE))


def recipe(target: str) -> str:
    """The recipe lines of ``target`` in the Makefile."""
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n?)*)", makefile(), re.M)
    return match.group(1) if match else ""


@functools.cache
def runnable(module: str) -> bool:
    """True when ``python -m module`` runs something: a package's __main__ or a __main__ guard."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return False
    if spec.submodule_search_locations is not None:  # a package
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return 'if __name__ == "__main__"' in Path(spec.origin).read_text(encoding="utf-8")


@functools.cache
def help_text(module: str) -> str:
    """What ``python -m module --help`` prints (argparse's usage, options and choices)."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"python -m {module} --help failed:\n{done.stderr}"
    return done.stdout


def accepts(module: str, arguments: list[str]) -> list[str]:
    """The arguments ``module``'s command line does not know (flags and positional actions)."""
    text = help_text(module)
    unknown = []
    previous_was_flag = False
    for argument in arguments:
        if argument.startswith("-"):
            flag = argument.split("=", 1)[0]
            if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text):
                unknown.append(flag)
            previous_was_flag = True
        elif previous_was_flag:  # a flag's value (`--service ecr`, `--reset 04`)
            previous_was_flag = False
        elif not re.search(rf"(?<![\w-]){re.escape(argument)}(?![\w-])", text):
            unknown.append(argument)
    return unknown


# --------------------------------------------------------------------------------------------
# The guide covers every lab
# --------------------------------------------------------------------------------------------


def test_the_guide_exists_and_the_series_has_labs() -> None:
    assert GUIDE.is_file(), "setup/INSTRUCTOR.md is missing"
    assert LABS[:1] == ["00"] and len(LABS) >= 15, f"solutions/ holds labs {LABS}"


def _minutes(clock: str) -> int:
    moment = datetime.strptime(clock, "%H:%M")
    return moment.hour * 60 + moment.minute


def test_the_agenda_covers_every_lab_in_order_and_fits_the_day() -> None:
    rows = [r for r in table_rows(section(1)) if re.fullmatch(r"\d\d:\d\d–\d\d:\d\d", r[0])]
    assert rows, "section 1 has no agenda table with 'HH:MM–HH:MM' slots"
    labs = [m[1] for r in rows if (m := re.match(r"(\d\d)\b", r[1]))]
    assert labs == LABS, f"the agenda's labs, in order, are {labs}; the series has {LABS}"

    expected_start = _minutes(DAY_START)
    for row in rows:
        start, end = (_minutes(t) for t in row[0].split("–"))
        assert start == expected_start, f"{row[0]} ({row[1]}) does not follow the slot before"
        assert end > start, f"{row[0]} ({row[1]}) ends before it starts"
        minutes = [int(c) for c in row[3:6] if c.isdigit()]
        if minutes:  # a teaching slot: talk + demo + hands-on fill it exactly
            assert sum(minutes) == end - start, (
                f"{row[0]} ({row[1]}): talk + demo + hands-on = {sum(minutes)} min, "
                f"but the slot is {end - start} min"
            )
        expected_start = end
    assert expected_start <= _minutes(DAY_END), f"the day ends after {DAY_END}"


def test_every_lab_has_a_demo_script_of_the_agreed_length() -> None:
    text = section(4)
    headings = re.findall(r"^### (\d\d) — ", text, re.MULTILINE)
    assert headings == LABS, f"demo scripts for labs {headings}; the series has {LABS}"
    low, high = SCRIPT_LINES
    for lab, body in zip(LABS, re.split(r"^### \d\d — .*$", text, flags=re.M)[1:], strict=True):
        lines = [line for line in body.splitlines() if line.strip()]
        assert low <= len(lines) <= high, (
            f"the demo script of lab {lab} has {len(lines)} lines; keep it to {low}–{high}"
        )


def test_the_timing_table_has_one_row_per_lab() -> None:
    header = "| Lab | Headless run (s) | Learner time (min, estimated) |"
    text = section(2)
    assert header in text, f"section 2 has no table headed {header}"
    table = text[text.index(header) :].split("\n\n", 1)[0]
    labs = [m[1] for m in re.finditer(r"^\| (\d\d)\b", table, re.MULTILINE)]
    assert labs == LABS, f"the timing table's rows are labs {labs}; the series has {LABS}"


# --------------------------------------------------------------------------------------------
# Every command the guide mentions exists
# --------------------------------------------------------------------------------------------


def test_the_guide_shows_commands_at_all() -> None:
    targets = {t for t, _ in make_commands()}
    modules = {m for m, _ in module_commands()}
    assert {"lab", "run-all", "doctor", "cleanup"} <= targets, f"make targets found: {targets}"
    assert {"labs.cleanup", "labs.emulator"} <= modules, f"python -m modules found: {modules}"


def test_every_make_target_exists_with_the_variables_it_reads() -> None:
    problems = []
    for target, variables in make_commands():
        if target not in make_targets():
            problems.append(f"make {target}: no such target in the Makefile")
            continue
        for name, value in variables.items():
            if f"$({name})" not in makefile():
                problems.append(f"make {target} {name}=…: the Makefile never reads {name}")
                continue
            module = re.search(rf"-m (labs(?:\.\w+)+)[^\n]*\$\({name}\)", recipe(target))
            if module and (unknown := accepts(module[1], value.split())):
                problems.append(
                    f"make {target} {name}={value!r}: python -m {module[1]} does not accept "
                    f"{', '.join(unknown)}"
                )
    assert not problems, "\n".join(problems)


def test_every_python_m_labs_command_exists_with_its_arguments() -> None:
    problems = []
    for module, arguments in module_commands():
        if not runnable(module):
            problems.append(f"python -m {module}: not a runnable module")
        elif arguments and (unknown := accepts(module, arguments)):
            problems.append(
                f"python -m {module} {' '.join(arguments)}: unknown {', '.join(unknown)}"
            )
    assert not problems, "\n".join(problems)


def test_every_labs_call_resolves() -> None:
    problems = []
    calls = {c for span in code_spans() for c in re.findall(r"\blabs(?:\.\w+)+(?=\()", span)}
    assert calls, "the guide shows no labs.…() call"
    for call in sorted(calls):
        target: object = importlib.import_module("labs")
        for name in call.split(".")[1:]:
            try:
                target = getattr(target, name)
            except AttributeError:
                problems.append(f"{call}(): labs has no {name!r} there")
                break
        else:
            if not callable(target):
                problems.append(f"{call}(): not callable")
    assert not problems, "\n".join(problems)


def test_every_repository_path_exists() -> None:
    pattern = r"(?<![\w./-])((?:setup|labs|solutions|notebooks|tests)/[\w./-]*\w)"
    paths = {p for span in code_spans() for p in re.findall(pattern, span)}
    assert paths, "the guide names no repository path"
    # A copy's destination (`cp solutions/04_….ipynb notebooks/04_demo.ipynb`) is made by the copy.
    made = {m for span in code_spans() for m in re.findall(r"\bcp\s+\S+\s+(\S+)", span)}
    missing = sorted(p for p in paths - made if "NN" not in p and not (ROOT / p).exists())
    assert not missing, f"setup/INSTRUCTOR.md names paths that do not exist: {missing}"
