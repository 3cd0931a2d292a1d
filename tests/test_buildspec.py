"""The buildspec runner (labs.cicd.buildspec): CodeBuild buildspec 0.2 semantics, run for real.

Unit tests run builds of small buildspecs in a temporary folder without the emulator; the
integration tests at the end run the bookstore's own buildspec, passing and failing, and look
for the records in the emulator (project, build, log events, artifact object).
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from pathlib import Path

import pytest

from labs.cicd import buildspec
from labs.cicd.buildspec import BuildResult, TickingClock, parse, run
from labs.cicd.buildspec.shell import CommandStopped, ShellSession
from labs.errors import BuildspecError, InputError

PHASE_NAMES = [
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
]


@pytest.fixture
def src(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "main.py").write_text("print('hi')\n")
    (folder / "README.md").write_text("readme\n")
    return folder


def build(text: str, source: Path, **kwargs: object) -> BuildResult:
    kwargs.setdefault("clock", TickingClock())
    kwargs.setdefault("output_dir", source.parent / f"out-{uuid.uuid4().hex[:6]}")
    return run(text, source, **kwargs)  # type: ignore[arg-type]


def out(result: BuildResult, phase: str) -> list[str]:
    """The output lines of a phase's commands (the log without CodeBuild's own lines)."""
    return [line for line in result.phase(phase).log if not line.startswith("[Container]")]


def statuses(result: BuildResult) -> dict[str, str]:
    return {p.name: p.status for p in result.phases}


def spec(**phases: str) -> str:
    """A buildspec with one command per given phase, e.g. spec(build="false")."""
    lines = ["version: 0.2", "phases:"]
    for name, body in phases.items():
        lines.append(f"  {name}:")
        lines.extend(f"    {line}" for line in body.strip("\n").splitlines())
    return "\n".join(lines) + "\n"


def cmds(*commands: str, on_failure: str | None = None, final: tuple[str, ...] = ()) -> str:
    out = [f"on-failure: {on_failure}"] if on_failure else []
    out.append("commands:")
    out.extend(
        f"  - {json.dumps(c)}" if ":" in c or c[0] in "[{&*!|>'\"%@`" else f"  - {c}"
        for c in commands
    )
    if final:
        out.append("finally:")
        out.extend(f"  - {c}" for c in final)
    return "\n".join(out)


# Phase transitions (https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html)


def test_a_build_that_passes_runs_every_phase(src: Path) -> None:
    result = build(
        spec(
            install=cmds("echo i"),
            pre_build=cmds("echo p"),
            build=cmds("echo b"),
            post_build=cmds("echo $CODEBUILD_BUILD_SUCCEEDING"),
        ),
        src,
    )
    assert result.status == "SUCCEEDED" and result.succeeded
    assert [p.name for p in result.phases] == PHASE_NAMES
    assert set(statuses(result).values()) == {"SUCCEEDED"}
    assert out(result, "POST_BUILD")[-1] == "1"


def test_install_failure_goes_straight_to_finalizing(src: Path) -> None:
    result = build(
        spec(
            install=cmds("false"),
            pre_build=cmds("echo p"),
            build=cmds("echo b"),
            post_build=cmds("echo q"),
        ),
        src,
    )
    assert result.status == "FAILED"
    assert statuses(result) == {
        "PROVISIONING": "SUCCEEDED",
        "DOWNLOAD_SOURCE": "SUCCEEDED",
        "INSTALL": "FAILED",
        "PRE_BUILD": "SKIPPED",
        "BUILD": "SKIPPED",
        "POST_BUILD": "SKIPPED",
        "UPLOAD_ARTIFACTS": "SKIPPED",
        "FINALIZING": "SUCCEEDED",
    }
    assert "Running command echo" not in result.log_text()


def test_pre_build_failure_goes_straight_to_finalizing(src: Path) -> None:
    result = build(spec(pre_build=cmds("exit 4"), build=cmds("echo b")), src)
    assert statuses(result)["PRE_BUILD"] == "FAILED"
    assert [statuses(result)[p] for p in ("BUILD", "POST_BUILD", "UPLOAD_ARTIFACTS")] == [
        "SKIPPED"
    ] * 3
    assert result.phase("PRE_BUILD").context == (
        "COMMAND_EXECUTION_ERROR: Error while executing command: exit 4. Reason: exit status 4"
    )


def test_build_failure_still_runs_post_build_and_upload_artifacts(src: Path) -> None:
    text = spec(
        build=cmds("false"),
        post_build=cmds(
            'echo "succeeding=$CODEBUILD_BUILD_SUCCEEDING"', "mkdir out", "touch out/x"
        ),
    )
    text += "artifacts:\n  files: ['**/*']\n  base-directory: out\n"
    result = build(text, src)
    assert result.status == "FAILED"
    assert statuses(result)["BUILD"] == "FAILED"
    assert statuses(result)["POST_BUILD"] == "SUCCEEDED"
    assert "succeeding=0" in result.phase("POST_BUILD").log
    assert statuses(result)["UPLOAD_ARTIFACTS"] == "SUCCEEDED"
    assert zipfile.ZipFile(result.artifacts).namelist() == ["x"]


def test_post_build_failure_still_uploads_artifacts(src: Path) -> None:
    text = spec(build=cmds("echo b"), post_build=cmds("false"))
    text += "artifacts:\n  files: ['README.md']\n"
    result = build(text, src)
    assert statuses(result)["POST_BUILD"] == "FAILED"
    assert statuses(result)["UPLOAD_ARTIFACTS"] == "SUCCEEDED"
    assert result.artifacts is not None and result.status == "FAILED"


def test_no_matching_artifact_paths_fails_upload_artifacts(src: Path) -> None:
    text = spec(build=cmds("echo b")) + "artifacts:\n  files: ['**/*']\n  base-directory: dist\n"
    result = build(text, src)
    assert result.status == "FAILED"
    assert statuses(result)["UPLOAD_ARTIFACTS"] == "FAILED"
    assert statuses(result)["FINALIZING"] == "SUCCEEDED"
    assert "no matching artifact paths found" in result.phase("UPLOAD_ARTIFACTS").context


def test_provisioning_failure_skips_everything(src: Path) -> None:
    text = "version: 0.2\nenv:\n  parameter-store:\n    TOKEN: /labs/token\n"
    text += spec(build=cmds("echo b")).removeprefix("version: 0.2\n")
    result = build(text, src)  # no ctx: nowhere to read the parameter from
    assert statuses(result)["PROVISIONING"] == "FAILED"
    assert all(statuses(result)[p] == "SKIPPED" for p in PHASE_NAMES[1:-1])
    assert "ctx" in result.phase("PROVISIONING").context


def test_download_source_failure_skips_the_buildspec_phases(tmp_path: Path) -> None:
    result = build(spec(build=cmds("echo b")), tmp_path / "missing")
    assert statuses(result)["DOWNLOAD_SOURCE"] == "FAILED"
    assert statuses(result)["BUILD"] == "SKIPPED" and result.status == "FAILED"


@pytest.mark.parametrize(
    ("phase", "on_failure", "expected"),
    [
        ("PROVISIONING", None, "FINALIZING"),
        ("DOWNLOAD_SOURCE", None, "FINALIZING"),
        ("INSTALL", None, "FINALIZING"),
        ("PRE_BUILD", None, "FINALIZING"),
        ("BUILD", None, "POST_BUILD"),
        ("POST_BUILD", None, "UPLOAD_ARTIFACTS"),
        ("UPLOAD_ARTIFACTS", None, "FINALIZING"),
        ("INSTALL", "CONTINUE", "PRE_BUILD"),
        ("PRE_BUILD", "CONTINUE", "BUILD"),
        ("BUILD", "CONTINUE", "POST_BUILD"),
        ("POST_BUILD", "CONTINUE", "UPLOAD_ARTIFACTS"),
        ("INSTALL", "ABORT", "FINALIZING"),
        ("BUILD", "ABORT", "FINALIZING"),
        ("POST_BUILD", "ABORT", "FINALIZING"),
    ],
)
def test_transition_table(phase: str, on_failure: str | None, expected: str) -> None:
    assert buildspec.next_phase(phase, True, on_failure) == expected
    table = buildspec.transitions().set_index("phase")
    column = {None: "failed →", "ABORT": "failed, ABORT →", "CONTINUE": "failed, CONTINUE →"}
    assert table.loc[phase, column[on_failure]] == expected
    assert table.loc[phase, "succeeded →"] == PHASE_NAMES[PHASE_NAMES.index(phase) + 1]


# on-failure


def test_on_failure_continue_in_install_runs_the_next_phases(src: Path) -> None:
    result = build(
        spec(
            install=cmds("false", on_failure="CONTINUE"),
            pre_build=cmds("echo pre $CODEBUILD_BUILD_SUCCEEDING"),
            build=cmds("echo b"),
        ),
        src,
    )
    assert statuses(result)["INSTALL"] == "FAILED"
    assert statuses(result)["PRE_BUILD"] == "SUCCEEDED"
    assert statuses(result)["BUILD"] == "SUCCEEDED"
    assert "pre 0" in result.phase("PRE_BUILD").log
    assert result.status == "FAILED"  # CONTINUE goes on; it does not forgive


def test_on_failure_continue_in_pre_build_runs_build(src: Path) -> None:
    result = build(spec(pre_build=cmds("false", on_failure="CONTINUE"), build=cmds("echo b")), src)
    assert statuses(result)["BUILD"] == "SUCCEEDED" and result.status == "FAILED"


def test_on_failure_abort_in_build_skips_post_build_and_artifacts(src: Path) -> None:
    text = spec(build=cmds("false", on_failure="ABORT"), post_build=cmds("echo q"))
    text += "artifacts:\n  files: ['README.md']\n"
    result = build(text, src)
    assert statuses(result)["POST_BUILD"] == "SKIPPED"
    assert statuses(result)["UPLOAD_ARTIFACTS"] == "SKIPPED"
    assert result.artifacts is None and result.status == "FAILED"


def test_on_failure_abort_in_post_build_skips_artifacts(src: Path) -> None:
    text = spec(post_build=cmds("false", on_failure="ABORT"))
    text += "artifacts:\n  files: ['README.md']\n"
    result = build(text, src)
    assert statuses(result)["UPLOAD_ARTIFACTS"] == "SKIPPED"


def test_on_failure_does_nothing_when_the_phase_succeeds(src: Path) -> None:
    result = build(spec(build=cmds("true", on_failure="ABORT"), post_build=cmds("echo q")), src)
    assert result.status == "SUCCEEDED" and statuses(result)["POST_BUILD"] == "SUCCEEDED"


# finally


def test_finally_runs_after_a_failing_command_and_the_rest_are_skipped(src: Path) -> None:
    result = build(
        spec(build=cmds("echo one", "false", "echo three", final=("echo cleanup",))), src
    )
    log = result.phase("BUILD").log
    assert "one" in log and "three" not in log and "cleanup" in log
    assert statuses(result)["BUILD"] == "FAILED"


def test_finally_runs_after_success_and_its_failure_fails_the_phase(src: Path) -> None:
    result = build(spec(build=cmds("echo one", final=("echo f1", "false", "echo f3"))), src)
    log = result.phase("BUILD").log
    assert "one" in log and "f1" in log and "f3" not in log
    assert statuses(result)["BUILD"] == "FAILED"
    assert "Error while executing command: false" in result.phase("BUILD").context


def test_finally_sees_the_build_failing(src: Path) -> None:
    result = build(spec(build=cmds("false", final=("echo $CODEBUILD_BUILD_SUCCEEDING",))), src)
    assert out(result, "BUILD")[-1] == "0"


# One shell for the whole build (buildspec 0.2)


def test_directory_and_variables_carry_over_commands_and_phases(src: Path) -> None:
    result = build(
        spec(
            install=cmds("cd app", "PLAIN=one", "export EXPORTED=two", "GONE=x", "unset GONE"),
            build=cmds('echo "$(basename $(pwd)) $PLAIN $EXPORTED [${GONE:-}]"'),
        ),
        src,
    )
    assert out(result, "BUILD")[-1] == "app one two []"


def test_exit_in_a_command_fails_it_but_not_the_shell(src: Path) -> None:
    result = build(spec(build=cmds("KEEP=kept", "exit 3"), post_build=cmds("echo $KEEP")), src)
    assert "exit status 3" in result.phase("BUILD").context
    assert out(result, "POST_BUILD")[-1] == "kept"


def test_multi_line_command(src: Path) -> None:
    text = (
        "version: 0.2\nphases:\n  build:\n    commands:\n      - |\n"
        "        for n in 1 2 3; do\n          echo n$n\n        done\n"
    )
    result = build(text, src)
    assert out(result, "BUILD")[-3:] == ["n1", "n2", "n3"]


def test_env_shell_bash(src: Path) -> None:
    check = '[[ "a" == "a" ]] && echo bash-test'
    bash = build("version: 0.2\nenv:\n  shell: bash\n" + spec(build=cmds(check))[13:], src)
    assert bash.status == "SUCCEEDED" and "bash-test" in bash.phase("BUILD").log
    sh = build(spec(build=cmds(check)), src)  # /bin/sh (dash here) has no [[
    assert sh.status == "FAILED"
    assert "Using shell /bin/sh" in sh.log_text("PROVISIONING")


def test_shell_session_keeps_state_across_runs(tmp_path: Path) -> None:
    session = ShellSession("/bin/sh", tmp_path, {"PATH": "/usr/bin:/bin"}, tmp_path / "scratch")
    assert session.run("X=1; cd /").exit_code == 0
    assert session.run("echo $X $(pwd)").output.strip() == "1 /"
    assert session.evaluate("v$X") == "v1" and session.cwd == Path("/")


# Environment variables


def test_buildspec_variables_are_literal_and_the_start_build_override_wins(src: Path) -> None:
    text = "version: 0.2\nenv:\n  variables:\n    LITERAL: '$HOME/x'\n    WHO: buildspec\n"
    text += spec(build=cmds('echo "$LITERAL"', "echo $WHO")).removeprefix("version: 0.2\n")
    result = build(text, src, env={"WHO": "start-build"})
    log = result.phase("BUILD").log
    assert "$HOME/x" in log  # CodeBuild does not expand $VARS in env/variables
    assert "start-build" in log and "buildspec" not in log


def test_codebuild_variables(src: Path) -> None:
    names = [
        "CODEBUILD_BUILD_ID",
        "CODEBUILD_BUILD_NUMBER",
        "CODEBUILD_BUILD_SUCCEEDING",
        "CODEBUILD_INITIATOR",
        "CODEBUILD_LOG_PATH",
        "CODEBUILD_RESOLVED_SOURCE_VERSION",
        "CODEBUILD_SOURCE_VERSION",
        "CODEBUILD_SRC_DIR",
        "CODEBUILD_START_TIME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ]
    commands = [f'echo "{n}=${n}"' for n in names] + ['echo "PWD_IS_SRC=$(pwd)"']
    result = build(spec(build=cmds(*commands)), src, project="unit")
    seen = dict(line.split("=", 1) for line in result.phase("BUILD").log if "=" in line[:40])
    assert seen["CODEBUILD_BUILD_ID"] == result.build_id and result.build_id.startswith("unit:")
    assert seen["CODEBUILD_LOG_PATH"] == result.build_id.split(":", 1)[1]
    assert seen["CODEBUILD_BUILD_SUCCEEDING"] == "1"
    assert seen["PWD_IS_SRC"] == seen["CODEBUILD_SRC_DIR"]
    assert seen["CODEBUILD_RESOLVED_SOURCE_VERSION"] == result.source_version
    assert len(result.source_version) == 40
    assert seen["CODEBUILD_START_TIME"] == str(int(TickingClock()().timestamp() * 1000))
    assert all(seen[n] for n in names)


def test_source_version_is_a_stable_hash_of_the_files_or_given(src: Path) -> None:
    first = build(spec(build=cmds("true")), src).source_version
    assert build(spec(build=cmds("true")), src).source_version == first
    (src / "README.md").write_text("changed\n")
    assert build(spec(build=cmds("true")), src).source_version != first
    given = build(spec(build=cmds("true")), src, source_version="abc123")
    assert given.source_version == "abc123"


def test_codebuild_names_are_reserved_in_the_start_build_override(src: Path) -> None:
    with pytest.raises(InputError, match="CODEBUILD_X"):
        build(spec(build=cmds("true")), src, env={"CODEBUILD_X": "1"})


def test_exported_variables_take_their_last_value(src: Path) -> None:
    text = "version: 0.2\nenv:\n  exported-variables:\n    - IMAGE_TAG\n    - EARLY\n    - NEVER\n"
    text += spec(
        install=cmds("EARLY=from-install"),
        build=cmds("IMAGE_TAG=first"),
        post_build=cmds("IMAGE_TAG=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-7)"),
    ).removeprefix("version: 0.2\n")
    result = build(text, src)
    assert result.exported_variables == {
        "IMAGE_TAG": result.source_version[:7],
        "EARLY": "from-install",
    }
    assert "Exported variable NEVER is not set" in result.log_text("FINALIZING")


def test_offline_builds_keep_pip_to_what_is_installed(src: Path) -> None:
    command = "python -m pip install --quiet pytest==" + __import__("pytest").__version__
    result = build(spec(build=cmds("echo $PIP_NO_INDEX", command)), src)
    assert result.status == "SUCCEEDED" and "1" in result.phase("BUILD").log
    assert "PIP_NO_INDEX=1" in result.log_text("PROVISIONING")
    online = build(spec(build=cmds('echo "[${PIP_NO_INDEX:-unset}]"')), src, offline=False)
    assert "[unset]" in online.phase("BUILD").log


# Artifacts (build-spec-ref.html#build-spec.artifacts)


@pytest.fixture
def doc_tree(tmp_path: Path) -> Path:
    """The directory structure of the reference's base-directory example."""
    root = tmp_path / "doc"
    (root / "my-build1").mkdir(parents=True)
    (root / "my-build1" / "my-file1.txt").write_text("1")
    (root / "my-build2" / "my-subdirectory").mkdir(parents=True)
    (root / "my-build2" / "my-file2.txt").write_text("2")
    (root / "my-build2" / "my-subdirectory" / "my-file3.txt").write_text("3")
    return root


def artifact_names(text: str, source: Path) -> list[str]:
    result = build(spec(build=cmds("true")) + text, source)
    assert result.artifacts is not None, result.phase("UPLOAD_ARTIFACTS").context
    return zipfile.ZipFile(result.artifacts).namelist()


def test_artifacts_reference_example_one(doc_tree: Path) -> None:
    text = "artifacts:\n  files:\n    - '*/my-file3.txt'\n  base-directory: my-build2\n"
    assert artifact_names(text, doc_tree) == ["my-subdirectory/my-file3.txt"]


def test_artifacts_reference_example_two_glob_base_and_discard_paths(doc_tree: Path) -> None:
    text = (
        "artifacts:\n  files:\n    - '**/*'\n  base-directory: 'my-build*'\n  discard-paths: yes\n"
    )
    assert artifact_names(text, doc_tree) == ["my-file1.txt", "my-file2.txt", "my-file3.txt"]


def test_artifacts_star_is_one_level_and_double_star_recursive(doc_tree: Path) -> None:
    one = "artifacts:\n  files:\n    - 'my-build2/*'\n"
    assert artifact_names(one, doc_tree) == ["my-build2/my-file2.txt"]
    every = "artifacts:\n  files:\n    - 'my-build2/**/*'\n"
    assert artifact_names(every, doc_tree) == [
        "my-build2/my-file2.txt",
        "my-build2/my-subdirectory/my-file3.txt",
    ]


def test_artifacts_exclude_paths(doc_tree: Path) -> None:
    text = "artifacts:\n  files: ['**/*']\n  base-directory: my-build2\n"
    text += "  exclude-paths: ['my-subdirectory/**/*']\n"
    assert artifact_names(text, doc_tree) == ["my-file2.txt"]


def test_artifact_name_is_evaluated_by_the_shell(src: Path) -> None:
    text = spec(build=cmds("VERSION=1.4")) + "artifacts:\n  files: ['**/*']\n"
    text += "  name: bookstore-$VERSION-$(echo x)\n"
    result = build(text, src)
    assert result.artifacts is not None and result.artifacts.name == "bookstore-1.4-x.zip"


def test_artifact_zip_is_reproducible_and_secondary_artifacts(src: Path) -> None:
    text = spec(build=cmds("true")) + (
        "artifacts:\n  files: ['**/*']\n  secondary-artifacts:\n"
        "    docs:\n      files: ['README.md']\n"
    )
    first, second = build(text, src), build(text, src)
    assert first.artifacts is not None and second.artifacts is not None
    assert first.artifacts.read_bytes() == second.artifacts.read_bytes()
    assert zipfile.ZipFile(first.secondary_artifacts["docs"]).namelist() == ["README.md"]


def test_a_directory_named_as_a_file_gets_a_hint(src: Path) -> None:
    result = build(spec(build=cmds("true")) + "artifacts:\n  files: ['app']\n", src)
    assert "'app/**/*'" in result.phase("UPLOAD_ARTIFACTS").context


# Reports (test-reporting.html)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="unit" tests="4">
<testcase classname="pkg.test_a" name="test_ok" time="0.5"/>
<testcase classname="pkg.test_a" name="test_bad" time="0.1">
  <failure message="assert 1 == 2">x</failure></testcase>
<testcase classname="pkg.test_b" name="test_boom" time="0">
  <error message="RuntimeError">y</error></testcase>
<testcase classname="pkg.test_b" name="test_later" time="0"><skipped message="later"/></testcase>
</testsuite></testsuites>
"""


def reports_spec(files: str = "junit.xml", fmt: str = "") -> str:
    text = spec(build=cmds("mkdir -p reports", "cp ../junit.xml reports/ 2>/dev/null || true"))
    text += f"reports:\n  unit-tests:\n    files: ['{files}']\n    base-directory: reports\n"
    return text + (f"    file-format: {fmt}\n" if fmt else "")


def test_junit_report_parsed_into_test_cases(src: Path) -> None:
    (src / "junit.xml").write_text(JUNIT)
    text = spec(build=cmds("mkdir -p reports", "cp junit.xml reports/"))
    text += "reports:\n  unit-tests:\n    files: ['junit.xml']\n    base-directory: reports\n"
    result = build(text, src, project="shop")
    cases = result.reports
    assert list(cases["status"]) == ["SUCCEEDED", "FAILED", "ERROR", "SKIPPED"]
    assert set(cases["report_group"]) == {"shop-unit-tests"}
    assert set(cases["test_suite"]) == {"unit"}
    assert cases.loc[1, "prefix"] == "pkg.test_a" and cases.loc[1, "message"] == "assert 1 == 2"
    assert cases.loc[0, "duration_s"] == 0.5
    assert result.report_status == {"shop-unit-tests": "FAILED"}
    assert result.status == "SUCCEEDED"  # failing tests in a report do not fail the build


def test_a_report_with_no_file_is_incomplete_not_a_failure(src: Path) -> None:
    result = build(reports_spec(), src)
    assert result.report_status == {"local-build-unit-tests": "INCOMPLETE"}
    assert result.reports.empty and result.status == "SUCCEEDED"


def test_other_report_formats_are_not_parsed_locally(src: Path) -> None:
    (src / "reports").mkdir()
    (src / "reports" / "junit.xml").write_text(JUNIT)
    result = build(reports_spec(fmt="cucumberjson"), src)
    assert result.report_status == {"local-build-unit-tests": "INCOMPLETE"}
    assert "CUCUMBERJSON files are not parsed" in result.log_text("UPLOAD_ARTIFACTS")


def test_reports_are_made_when_build_failed(src: Path) -> None:
    (src / "reports").mkdir()
    (src / "reports" / "junit.xml").write_text(JUNIT)
    text = spec(build=cmds("false"))
    text += "reports:\n  unit-tests:\n    files: ['**/*']\n    base-directory: reports\n"
    result = build(text, src)
    assert len(result.reports) == 4 and result.status == "FAILED"


def test_a_report_keeps_500_cases_failed_first(src: Path) -> None:
    cases = "".join(f'<testcase classname="c" name="t{i}"/>' for i in range(600))
    cases += '<testcase classname="c" name="last"><failure message="no"/></testcase>'
    (src / "reports").mkdir()
    (src / "reports" / "big.xml").write_text(f"<testsuite name='big'>{cases}</testsuite>")
    text = spec(build=cmds("true"))
    text += "reports:\n  big:\n    files: ['big.xml']\n    base-directory: reports\n"
    result = build(text, src)
    assert len(result.reports) == 500
    assert result.reports.loc[0, "name"] == "last"


# Stopping, timeouts, the clock


def test_timeout(src: Path) -> None:
    result = build(
        spec(build=cmds("sleep 5"), post_build=cmds("echo q")), src, timeout_minutes=0.01
    )
    assert result.status == "TIMED_OUT"
    assert statuses(result)["BUILD"] == "TIMED_OUT"
    assert statuses(result)["POST_BUILD"] == "SKIPPED"
    assert statuses(result)["FINALIZING"] == "SUCCEEDED"


def test_interrupted_build_is_stopped(src: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(self: ShellSession, command: str, **_: object) -> None:
        raise CommandStopped("interrupted", "partial output")

    monkeypatch.setattr(ShellSession, "run", interrupted)
    result = build(spec(build=cmds("sleep 100")), src)
    assert result.status == "STOPPED" and statuses(result)["BUILD"] == "STOPPED"
    assert "partial output" in result.phase("BUILD").log


def test_ticking_clock_makes_builds_repeat_exactly(src: Path) -> None:
    text = spec(install=cmds("echo i"), build=cmds("false"), post_build=cmds("echo p"))
    first, second = build(text, src), build(text, src)
    assert first.phase_table().equals(second.phase_table())
    assert first.phase("BUILD").duration_s == 4.0  # five [Container] lines, one second apart
    assert first.phase_table().loc[0, "start"] == "09:00:00"


# Malformed buildspecs: BuildspecError names the line and the key

V = "version: 0.2\n"
B = "phases:\n  build:\n    commands: [ls]\n"
BUILD = "phases:\n  build:\n"
MALFORMED = [
    (V + "phases:\n\tbuild:\n", "line 3", "not valid YAML", "reads: '\\tbuild:'"),
    (V + "phases: [\n", "line 3", "not valid YAML", "expected the node content"),
    ("- a\n- b\n", "line 1", "mapping of keys", "found a list"),
    (B, "line 1", "version is missing", "version: 0.2"),
    ("version: 0.1\n" + B, "line 1", "version '0.1'", "0.2"),
    ("version: 1.0\n" + B, "line 1", "version '1.0'", ""),
    (V, "line 1", "phases is missing", ""),
    (V + "phase:\n  build:\n    commands: [ls]\n", "line 2", "phase is not a key", "'phases'"),
    (V + "phases:\n  biuld:\n    commands: [ls]\n", "line 3", "phases.biuld is not", "'build'"),
    (V + BUILD + "  commands:\n    - ls\n", "line 4", "phases.commands", "indent"),
    (V + BUILD + "    commands: ls -la\n", "line 4", "commands must be a list", "a string"),
    (
        V + BUILD + "    commands:\n      - echo Tests: done\n",
        "line 5",
        "[0] is a mapping",
        "quotes",
    ),
    (V + BUILD + "    commands:\n      - ls\n      -\n", "line 6", "commands[1] must be", "empty"),
    (V + BUILD + "    - ls\n", "line 3", "phases.build is a list", "commands"),
    (V + BUILD + "    finally: [ls]\n", "line 3", "phases.build has no commands", ""),
    (V + B + "    finally: ls\n", "line 5", "phases.build.finally must be a list", ""),
    (V + BUILD + "    on-failure: abort\n    commands: [ls]\n", "line 4", "ABORT or", "capitals"),
    (V + BUILD + "    on-failure: STOP\n    commands: [ls]\n", "line 4", "found 'STOP'", ""),
    (V + BUILD + "    command: [ls]\n", "line 4", "build.command is not a key", "'commands'"),
    (
        V + BUILD + "    runtime-versions: {python: 3.11}\n    commands: [ls]\n",
        "line 4",
        "phases.build.runtime-versions",
        "install phase",
    ),
    (V + B + "  build:\n    commands: [pwd]\n", "line 5", "build appears twice", "line 3"),
    (V + "env:\n  variables:\n    CODEBUILD_X: 1\n" + B, "line 4", "CODEBUILD_X", "reserved"),
    (V + "env:\n  variables:\n    L: [1, 2]\n" + B, "line 4", "L must be a single value", ""),
    (V + "env:\n  variables: [A]\n" + B, "line 3", "env.variables must be a mapping", ""),
    (
        V + "env:\n  exported-variables:\n    - AWS_REGION\n" + B,
        "line 4",
        "AWS_REGION cannot be exported",
        "",
    ),
    (V + "env:\n  exported-variables: TAG\n" + B, "line 3", "exported-variables must be a", ""),
    (V + "env:\n  shell: zsh\n" + B, "line 3", "env.shell 'zsh'", "bash"),
    (V + "env:\n  shell: powershell.exe\n" + B, "line 3", "is for Windows", ""),
    (V + B + "artifacts:\n  base-directory: dist\n", "line 5", "artifacts has no files", ""),
    (V + B + "artifacts:\n  files: dist\n", "line 6", "artifacts.files must be a list", ""),
    (
        V + B + "artifacts:\n  files: [a]\n  discard-paths: maybe\n",
        "line 7",
        "artifacts.discard-paths must be yes or no",
        "",
    ),
    (V + B + "reports:\n  g:\n    base-directory: r\n", "line 6", "reports.g has no files", ""),
    (
        V + B + "reports:\n  g:\n    files: [a.xml]\n    file-format: XUNIT\n",
        "line 8",
        "reports.g.file-format 'XUNIT'",
        "JUNITXML",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"), MALFORMED, ids=[f"case{i}" for i in range(len(MALFORMED))]
)
def test_malformed_buildspecs(text: str, line: str, message: str, hint: str) -> None:
    with pytest.raises(BuildspecError) as caught:
        parse(text)
    error = str(caught.value)
    assert error.startswith(f"buildspec, {line}: "), error
    assert message in error, error
    assert hint in error, error


def test_there_are_at_least_fifteen_malformed_cases() -> None:
    assert len(MALFORMED) >= 15


def test_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "buildspec.yml"
    path.write_text("version: 0.2\nphases:\n  build:\n    commands: ls\n")
    with pytest.raises(BuildspecError, match=r"^buildspec\.yml, line 4: phases\.build\.commands"):
        parse(path)
    with pytest.raises(BuildspecError, match="no buildspec file"):
        parse(tmp_path / "missing.yml")
    with pytest.raises(BuildspecError, match="empty"):
        parse("")


def test_run_raises_for_a_malformed_buildspec(src: Path) -> None:
    with pytest.raises(BuildspecError, match="line 3"):
        run("version: 0.2\nphases:\n  biuld:\n    commands: [ls]\n", src)


def test_values_are_read_as_written(src: Path) -> None:
    parsed = parse(
        "version: '0.2'\nenv:\n  variables:\n    DEBUG: yes\n    N: 010\nphases:\n"
        "  build:\n    commands:\n      - true\n"
    )
    assert parsed.variables == {"DEBUG": "yes", "N": "010"}
    assert parsed.phases["build"].commands == ("true",)
    assert list(parsed.summary()["phase"]) == ["install", "pre_build", "build", "post_build"]


def test_the_bookstore_buildspec_parses() -> None:
    from labs.bookstore import package_path

    parsed = parse(package_path() / "buildspec.yml")
    assert list(parsed.phases) == ["install", "pre_build", "build", "post_build"]
    assert parsed.reports["bookstore-unit-tests"].base_directory == "reports"
    assert parsed.artifacts is not None and parsed.artifacts.base_directory == "dist"


# Integration: the bookstore's own buildspec, recorded in the emulator


@pytest.fixture(scope="module")
def bookstore_builds(ctx, tmp_path_factory: pytest.TempPathFactory):
    """One passing and one failing build of the bookstore, recorded in the emulator."""
    from labs.bookstore import copy_source

    project = ctx.name(f"test-build-{uuid.uuid4().hex[:8]}")
    good = tmp_path_factory.mktemp("good")
    copy_source(good)
    passing = run(good / "bookstore" / "buildspec.yml", good, ctx=ctx, project=project, lab="03")
    bad = tmp_path_factory.mktemp("bad")
    copy_source(bad)
    (bad / "bookstore" / "tests" / "test_broken.py").write_text(
        "def test_prices_are_positive():\n    assert -1 > 0, 'a price went negative'\n"
    )
    failing = run(bad / "bookstore" / "buildspec.yml", bad, ctx=ctx, project=project, lab="03")
    yield project, passing, failing
    buildspec.cleanup(ctx, project)


def test_bookstore_build_passes_with_its_unit_tests(bookstore_builds) -> None:
    _, passing, _ = bookstore_builds
    assert passing.status == "SUCCEEDED", passing.log_text()
    group = f"{passing.project}-bookstore-unit-tests"
    assert passing.report_status == {group: "SUCCEEDED"}
    assert len(passing.reports) >= 30 and set(passing.reports["status"]) == {"SUCCEEDED"}
    names = zipfile.ZipFile(passing.artifacts).namelist()
    assert "appspec.yaml" in names and "bookstore/catalog.py" in names
    assert not [n for n in names if "/tests/" in n or "__pycache__" in n]


def test_bookstore_build_fails_on_a_broken_test(bookstore_builds) -> None:
    _, _, failing = bookstore_builds
    table = {p.name: p.status for p in failing.phases}
    assert failing.status == "FAILED"
    assert table["BUILD"] == "FAILED" and table["POST_BUILD"] == "SUCCEEDED"
    assert "CODEBUILD_BUILD_SUCCEEDING=0" in failing.log_text("POST_BUILD")
    assert table["UPLOAD_ARTIFACTS"] == "FAILED"  # the packaging commands never ran: no dist/
    failed = failing.reports[failing.reports["status"] == "FAILED"]
    assert list(failed["name"]) == ["test_prices_are_positive"]
    assert "a price went negative" in failed["message"].iloc[0]


def test_builds_are_recorded_in_the_emulator(ctx, bookstore_builds) -> None:
    project, passing, failing = bookstore_builds
    codebuild = ctx.client("codebuild")
    record = codebuild.batch_get_projects(names=[project])["projects"][0]
    assert {"key": "lab", "value": "03"} in record["tags"]
    assert record["source"]["type"] == "S3"
    ids = codebuild.list_builds_for_project(projectName=project)["ids"]
    assert {passing.build_id, failing.build_id} <= set(ids)
    assert (passing.build_number, failing.build_number) == (1, 2)
    # The emulator says SUCCEEDED for every build (FACTS.md); the BuildResult is the truth.
    emulated = codebuild.batch_get_builds(ids=[failing.build_id])["builds"][0]
    assert emulated["buildStatus"] == "SUCCEEDED" and failing.status == "FAILED"
    logs = ctx.client("logs")
    events = logs.get_log_events(
        logGroupName=f"/aws/codebuild/{project}", logStreamName=failing.log_stream
    )["events"]
    assert [e["message"] for e in events] == [line or " " for line in failing.log]
    s3 = ctx.client("s3")
    bucket, _, key = passing.artifact_uri.removeprefix("s3://").partition("/")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert (
        zipfile.ZipFile(io.BytesIO(body)).namelist()
        == zipfile.ZipFile(passing.artifacts).namelist()
    )
    assert failing.artifact_uri is None
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["lab"] == "03"


def test_stopped_build_is_recorded(ctx, src: Path, monkeypatch) -> None:
    def interrupted(self: ShellSession, command: str, **_: object) -> None:
        raise CommandStopped("interrupted", "")

    monkeypatch.setattr(ShellSession, "run", interrupted)
    project = ctx.name(f"test-stop-{uuid.uuid4().hex[:8]}")
    try:
        result = run(spec(build=cmds("sleep 100")), src, ctx=ctx, project=project)
        assert result.status == "STOPPED" and "Build stopped" in result.log_text("BUILD")
        assert (
            result.build_id
            in ctx.client("codebuild").list_builds_for_project(projectName=project)["ids"]
        )
    finally:
        buildspec.cleanup(ctx, project)


def test_parameter_store_values_are_read_and_masked(ctx, src: Path) -> None:
    project = ctx.name(f"test-params-{uuid.uuid4().hex[:8]}")
    name = f"/labs/test/{uuid.uuid4().hex[:8]}"
    ssm = ctx.client("ssm")
    ssm.put_parameter(Name=name, Value="s3cr3t-value", Type="SecureString")
    text = f"version: 0.2\nenv:\n  parameter-store:\n    TOKEN: {name}\n"
    text += spec(build=cmds('echo "token=$TOKEN"', 'test "$TOKEN" = s3cr3t-value')).removeprefix(
        "version: 0.2\n"
    )
    try:
        result = run(text, src, ctx=ctx, project=project)
        assert result.status == "SUCCEEDED"
        assert "token=***" in result.phase("BUILD").log
        assert "s3cr3t-value" not in result.log_text()
    finally:
        ssm.delete_parameter(Name=name)
        buildspec.cleanup(ctx, project)


def test_cleanup_is_idempotent(ctx, src: Path) -> None:
    project = ctx.name(f"test-clean-{uuid.uuid4().hex[:8]}")
    run(
        spec(build=cmds("true")) + "artifacts:\n  files: ['README.md']\n",
        src,
        ctx=ctx,
        project=project,
    )
    first = buildspec.cleanup(ctx, project)
    assert set(first.loc[first["service"] != "s3", "action"]) == {"deleted"}
    second = buildspec.cleanup(ctx, project)
    assert set(second.loc[second["service"] != "s3", "action"]) == {"absent"}
    assert not ctx.client("codebuild").batch_get_projects(names=[project])["projects"]
