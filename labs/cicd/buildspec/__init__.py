"""CodeBuild buildspec (version 0.2), parsed and run for real: ``parse`` and ``run``.

The emulator stores CodeBuild projects and builds but never runs a buildspec (every build
reports SUCCEEDED at once, FACTS.md). This package runs it on this machine with the semantics of
the CodeBuild user guide:

* "Build specification reference for CodeBuild"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html): phases
  ``install → pre_build → build → post_build``, ``commands`` and ``finally``, ``on-failure``
  (``ABORT``/``CONTINUE``), ``env`` (``shell``, ``variables``, ``parameter-store``,
  ``secrets-manager``, ``exported-variables``), ``artifacts`` (``files``, ``base-directory``,
  ``discard-paths``, ``name``, ``exclude-paths``, ``secondary-artifacts``) and ``reports``;
  all commands of a build in the same shell instance (version 0.2).
* "Build phase transitions"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html):
  which phase runs after a failure; UPLOAD_ARTIFACTS attempted even when BUILD fails.
* "Environment variables in build environments"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-env-vars.html): the
  ``CODEBUILD_*`` variables, ``CODEBUILD_BUILD_SUCCEEDING`` among them.
* "Test reports" / "Test report statuses"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/test-reporting.html): JUnit XML
  parsed into test cases.

With a workshop context the build is also recorded where a learner would look on AWS: the
CodeBuild project and build, the log in CloudWatch Logs ``/aws/codebuild/<project>``, the
source and artifact zips in a tagged S3 bucket. On the aws target :func:`run` starts the real
build and follows it instead (:mod:`labs.cicd.buildspec.aws`).

Example:
    >>> from labs.cicd import buildspec
    >>> spec = buildspec.parse("version: 0.2\\nphases: {build: {commands: [echo hi]}}")
    >>> result = buildspec.run(spec, ".")  # doctest: +SKIP
    >>> result.status  # doctest: +SKIP
    'SUCCEEDED'
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from labs.cicd.buildspec.model import (
    BUILDSPEC_PHASES,
    ArtifactsSpec,
    Buildspec,
    PhaseSpec,
    ReportGroupSpec,
)
from labs.cicd.buildspec.outputs import REPORT_COLUMNS, Report, parse_junit
from labs.cicd.buildspec.record import Recorder, delete_records
from labs.cicd.buildspec.result import (
    DEFAULT_ON_FAILURE,
    PHASES,
    BuildResult,
    PhaseResult,
    TickingClock,
    next_phase,
    transitions,
)
from labs.cicd.buildspec.runner import BuildRequest, LocalBuild, new_build_id
from labs.cicd.buildspec.spec import parse
from labs.env import Workshop
from labs.errors import InputError

__all__ = [
    "BUILDSPEC_PHASES",
    "DEFAULT_ON_FAILURE",
    "PHASES",
    "REPORT_COLUMNS",
    "ArtifactsSpec",
    "BuildResult",
    "Buildspec",
    "PhaseResult",
    "PhaseSpec",
    "Report",
    "ReportGroupSpec",
    "TickingClock",
    "cleanup",
    "next_phase",
    "parse",
    "parse_junit",
    "run",
    "transitions",
]

DEFAULT_PROJECT = "local-build"
_LOCAL_BUILDS: dict[str, int] = {}


def run(
    spec: Buildspec | str | Path,
    source_dir: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    ctx: Workshop | None = None,
    project: str | None = None,
    lab: str | None = None,
    clock: Callable[[], datetime] | None = None,
    offline: bool = True,
    timeout_minutes: float = 60,
    source_version: str | None = None,
    output_dir: str | Path | None = None,
    keep_build_dir: bool = False,
    service_role: str | None = None,
) -> BuildResult:
    """Run a buildspec against a source folder, as a CodeBuild build would; never raises for a
    failing build (read ``result.status``).

    On the local target (or without ``ctx``) the build runs on this machine: the source is
    copied into a fresh build directory (DOWNLOAD_SOURCE), the phases run with CodeBuild's
    transitions, reports and artifacts are prepared in UPLOAD_ARTIFACTS. With ``ctx`` the build
    is recorded in the emulator too (project, build, log, artifact). On the aws target the real
    CodeBuild runs it and this call follows it to the end.

    Args:
        spec: A :class:`Buildspec`, or YAML text or a file path for :func:`parse`.
        source_dir: The source folder (``CODEBUILD_SRC_DIR`` is a copy of it).
        env: Environment variables of the start-build call; they win over the buildspec's.
        ctx: The workshop context; None runs locally without recording anything.
        project: The CodeBuild project; default ``ctx.name("build")`` or ``"local-build"``.
        lab: The lab whose tags the recorded resources carry (e.g. ``"03"``).
        clock: Where timestamps come from; default the wall clock. Pass a
            :class:`TickingClock` for timestamps that are the same on every run.
        offline: ``pip`` may only use packages already installed (``PIP_NO_INDEX=1``), so a
            ``pip install`` of a pinned, installed version succeeds without the network.
        timeout_minutes: The build timeout (CodeBuild's default is 60); past it the build is
            ``TIMED_OUT``.
        source_version: ``CODEBUILD_SOURCE_VERSION``; by default the folder's git commit, or a
            SHA-1 of its files when it is not a git checkout.
        output_dir: Where artifact zips go; default ``<workshop dir>/codebuild/<project>/<n>``.
        keep_build_dir: Keep the build directory (for debugging) instead of deleting it.
        service_role: aws target only: the CodeBuild service role ARN.

    Returns:
        The :class:`BuildResult`.

    Raises:
        BuildspecError: ``spec`` is text or a path that does not parse.
        InputError: ``env`` sets a ``CODEBUILD_`` variable.
    """
    from labs import emulator

    parsed = spec if isinstance(spec, Buildspec) else parse(spec)
    source = Path(source_dir)
    overrides = {str(k): str(v) for k, v in (env or {}).items()}
    reserved = sorted(k for k in overrides if k.startswith("CODEBUILD_"))
    if reserved:
        raise InputError(
            f"{', '.join(reserved)}: names starting with CODEBUILD_ are reserved for CodeBuild.",
            where="run(env=...)",
        )
    name = project or (ctx.name("build") if ctx is not None else DEFAULT_PROJECT)
    if ctx is not None and not ctx.is_local:
        from labs.cicd.buildspec.aws import run_on_aws

        return run_on_aws(
            ctx,
            parsed,
            source,
            project=name,
            env=overrides,
            lab=lab,
            output_dir=Path(output_dir or emulator.workshop_dir() / "codebuild" / name),
            timeout_minutes=timeout_minutes,
            service_role=service_role,
        )
    recorder = Recorder(ctx, name, lab=lab) if ctx is not None else None
    build_arn = None
    if recorder is not None:
        recorder.upload_source(source)
        recorder.ensure_project(parsed)
        record = recorder.start_build(parsed, overrides, source_version)
        build_id, build_arn = record["id"], record.get("arn")
        number = recorder.build_count()
    else:
        build_id, number = new_build_id(name), 0
    if not number:  # unrecorded: count this project's builds in this process
        number = _LOCAL_BUILDS[name] = _LOCAL_BUILDS.get(name, 0) + 1
    base = emulator.workshop_dir() / "codebuild" / name
    folder = Path(output_dir) if output_dir else base / build_id.split(":", 1)[-1]
    request = BuildRequest(
        spec=parsed,
        source_dir=source,
        project=name,
        build_id=build_id,
        build_number=number,
        build_arn=build_arn,
        region=ctx.region if ctx is not None else _region(),
        env_override=overrides,
        clock=clock or (lambda: datetime.now(UTC)),
        offline=offline,
        timeout_minutes=timeout_minutes,
        output_dir=folder,
        source_version=source_version,
        keep_build_dir=keep_build_dir,
        resolve_secrets=recorder.resolve_secrets if recorder is not None else None,
        upload=recorder.upload if recorder is not None else None,
        artifact_key=(lambda n: f"{name}/{build_id.split(':', 1)[-1]}/{n}") if recorder else None,
    )
    build = LocalBuild(request)
    result = build.run()
    if recorder is not None:
        stream = build_id.split(":", 1)[-1]
        recorder.write_log(stream, build.events)
        result.log_group, result.log_stream = recorder.log_group, stream
        if result.status == "STOPPED":
            recorder.stop_build(build_id)
    return result


def cleanup(ctx: Workshop, project: str) -> pd.DataFrame:
    """Delete what :func:`run` recorded for ``project``; safe to run again.

    Removes the CodeBuild project, the log group ``/aws/codebuild/<project>``, the project's
    source and artifact objects, and the artifact bucket once it is empty.

    Returns:
        One row per resource: service, kind, name and what was done.
    """
    return pd.DataFrame(delete_records(ctx, project), columns=["service", "kind", "name", "action"])


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
