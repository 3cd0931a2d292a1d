"""*Check your work* for the build lab: a fixed buildspec, a report group, an exported image tag.

Each check takes the :class:`~labs.cicd.buildspec.BuildResult` of the learner's build and prints
one ``✔`` line (:func:`labs.checks.passed`) or raises :class:`labs.errors.CheckFailed` saying
what was expected, what was found, and a hint — read from the build itself (which phase failed,
and why), never a bare traceback.
"""

from __future__ import annotations

from typing import Any

from labs.checks import answered, exercise, passed
from labs.cicd.buildspec import BuildResult
from labs.errors import CheckFailed

__all__ = ["fixed_build", "image_tag_exported", "report_group_added"]


def _result(value: Any, what: str) -> BuildResult:
    value = answered(
        value, what, hint="Run your buildspec with buildspec.run(...) and keep what it returns."
    )
    if not isinstance(value, BuildResult):
        raise CheckFailed(
            f"{what} is not the result of a build.",
            expected="what buildspec.run(...) returns (a BuildResult)",
            found=type(value).__name__,
            hint="Keep the value buildspec.run(spec, source_dir, ...) returns, not the buildspec.",
        )
    return value


def _first_failure(result: BuildResult) -> str:
    for phase in result.phases:
        if phase.status not in ("SUCCEEDED", "SKIPPED"):
            return f"{phase.name} {phase.status}: {phase.context or 'see its log'}"
    return result.status


def _succeeded(result: BuildResult, what: str) -> None:
    if not result.succeeded:
        raise CheckFailed(
            f"{what} did not succeed.",
            expected="status SUCCEEDED",
            found=f"status {result.status} — {_first_failure(result)}",
            hint="Read the failing phase's log: print(result.log_text('BUILD')).",
        )


@exercise("03", 1)
def fixed_build(result: Any) -> None:
    """Pass when the fixed buildspec's build succeeded and still runs the unit tests."""
    result = _result(result, "fixed_result")
    _succeeded(result, "the build of your fixed buildspec")
    ran = [
        line for line in result.phase("BUILD").log if "Running command" in line and "pytest" in line
    ]
    if not ran:
        raise CheckFailed(
            "the build succeeded, but its build phase no longer runs the unit tests.",
            expected="a python -m pytest ... command in phases.build.commands",
            found="no pytest command in the BUILD phase's log",
            hint="Fix the test command instead of removing it: a build that skips its tests "
            "passes for the wrong reason.",
        )
    summary = [line for line in result.phase("BUILD").log if " passed" in line]
    if not summary:
        raise CheckFailed(
            "the build succeeded, but pytest reported no passing tests.",
            expected="a line like '36 passed in 0.2s' in the BUILD log",
            found="no such line",
            hint="Point pytest at the bookstore's test folder: bookstore/tests.",
        )
    passed("the fixed buildspec builds: the unit tests run in the BUILD phase and pass")


@exercise("03", 2)
def report_group_added(result: Any, name: str = "unit-tests") -> None:
    """Pass when the build produced a report group ``name`` holding the passing test cases.

    Args:
        result: The learner's build.
        name: The report group name the exercise asks for (CodeBuild calls it
            ``<project>-<name>``).
    """
    result = _result(result, "report_result")
    _succeeded(result, "the build with a report group")
    group = f"{result.project}-{name}"
    if group not in result.report_status:
        found = ", ".join(result.report_status) or "no report groups"
        raise CheckFailed(
            f"the build has no report group called {name!r}.",
            expected=f"reports:\n    {name}:\n      files: [...]  (reported as {group})",
            found=found,
            hint="Add a top-level reports: block with a group named "
            f"{name!r}, its files and its base-directory.",
        )
    status = result.report_status[group]
    cases = result.reports[result.reports["report_group"] == group]
    if status == "INCOMPLETE" or cases.empty:
        raise CheckFailed(
            f"report group {name!r} found no test results.",
            expected="the JUnit XML file pytest writes (--junitxml=reports/junit.xml)",
            found=f"report status {status}, {len(cases)} test cases",
            hint="files are relative to base-directory: with base-directory: reports, the file "
            "is junit.xml.",
        )
    counts = cases["status"].value_counts()
    passed(
        f"report group {group}: {status}, {len(cases)} test cases "
        f"({counts.get('SUCCEEDED', 0)} succeeded)"
    )


@exercise("03", 3)
def image_tag_exported(result: Any, variable: str = "IMAGE_TAG", length: int = 7) -> None:
    """Pass when ``variable`` is exported and holds the first ``length`` characters of the commit.

    Args:
        result: The learner's build.
        variable: The exported variable's name.
        length: How many characters of ``CODEBUILD_RESOLVED_SOURCE_VERSION`` make the tag.
    """
    result = _result(result, "tag_result")
    _succeeded(result, "the build that exports the image tag")
    if variable not in result.exported_variables:
        found = ", ".join(result.exported_variables) or "no exported variables"
        raise CheckFailed(
            f"{variable} is not among the build's exported variables.",
            expected=f"env:\n    exported-variables:\n      - {variable}",
            found=found,
            hint=f"List {variable} under env/exported-variables and set it in a command, e.g. "
            f"{variable}=$(echo $CODEBUILD_RESOLVED_SOURCE_VERSION | cut -c 1-{length}).",
        )
    value = result.exported_variables[variable]
    wanted = result.source_version[:length]
    if value != wanted:
        raise CheckFailed(
            f"{variable} is exported, but not as the first {length} characters of the commit.",
            expected=f"{wanted!r} (CODEBUILD_RESOLVED_SOURCE_VERSION cut to {length})",
            found=repr(value),
            hint=f"cut -c 1-{length} keeps the first {length} characters.",
        )
    passed(
        f"{variable} is exported: the first {length} characters of the source version the build ran"
    )
