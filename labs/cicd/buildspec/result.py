"""What a build produces and the rules it moves by: phases, transitions, results, the clock.

The phase order and the failure transitions are those of "Build phase transitions"
(https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html), with a
buildspec phase's ``on-failure`` (``ABORT``: straight to FINALIZING; ``CONTINUE``: on to the next
phase) from the buildspec reference. :func:`transitions` prints the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

__all__ = [
    "BUILDSPEC_PHASE",
    "DEFAULT_ON_FAILURE",
    "PHASES",
    "TRANSITIONS_URL",
    "BuildResult",
    "PhaseResult",
    "TickingClock",
    "next_phase",
    "transitions",
]

PHASES = (
    "PROVISIONING",
    "DOWNLOAD_SOURCE",
    "INSTALL",
    "PRE_BUILD",
    "BUILD",
    "POST_BUILD",
    "UPLOAD_ARTIFACTS",
    "FINALIZING",
)
"""The phases the runner goes through, in order (SUBMITTED, QUEUED and COMPLETED left out)."""

DEFAULT_ON_FAILURE = {
    "PROVISIONING": "FINALIZING",
    "DOWNLOAD_SOURCE": "FINALIZING",
    "INSTALL": "FINALIZING",
    "PRE_BUILD": "FINALIZING",
    "BUILD": "POST_BUILD",
    "POST_BUILD": "UPLOAD_ARTIFACTS",
    "UPLOAD_ARTIFACTS": "FINALIZING",
}
"""Where a build goes after a failed phase, when the phase has no ``on-failure``."""

BUILDSPEC_PHASE = {"INSTALL": "install", "PRE_BUILD": "pre_build", "BUILD": "build"}
BUILDSPEC_PHASE["POST_BUILD"] = "post_build"
TRANSITIONS_URL = (
    "https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html"
)


def _following(phase: str) -> str:
    return PHASES[PHASES.index(phase) + 1]


def next_phase(phase: str, failed: bool, on_failure: str | None = None) -> str:
    """Return the phase that runs after ``phase`` (FINALIZING when the build ends)."""
    if not failed:
        return _following(phase)
    if on_failure == "ABORT":
        return "FINALIZING"
    if on_failure == "CONTINUE":
        return _following(phase)
    return DEFAULT_ON_FAILURE[phase]


def transitions() -> pd.DataFrame:
    """Return the phase-transition table the runner implements, one row per phase.

    Columns: the next phase after success, after a failure with no ``on-failure``, with
    ``on-failure: ABORT`` and with ``on-failure: CONTINUE`` (buildspec phases only).
    """
    rows = []
    for phase in PHASES[:-1]:
        buildspec = phase in BUILDSPEC_PHASE
        rows.append(
            {
                "phase": phase,
                "succeeded →": next_phase(phase, False),
                "failed →": next_phase(phase, True),
                "failed, ABORT →": next_phase(phase, True, "ABORT") if buildspec else "",
                "failed, CONTINUE →": next_phase(phase, True, "CONTINUE") if buildspec else "",
            }
        )
    return pd.DataFrame(rows)


class TickingClock:
    """A clock that moves ``step`` forward every time it is read: reproducible timestamps.

    The runner reads its clock once per ``[Container]`` log line, so with this clock a build's
    timestamps and phase durations are the same on every run and on every machine.

    Args:
        start: The first time returned (timezone-aware; UTC if naive).
        step: How far each reading moves the clock.
    """

    def __init__(
        self,
        start: datetime = datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        step: timedelta = timedelta(seconds=1),
    ) -> None:
        self._next = start if start.tzinfo else start.replace(tzinfo=UTC)
        self.step = step

    def __call__(self) -> datetime:
        """Return the current time and move the clock one step."""
        now = self._next
        self._next = now + self.step
        return now


@dataclass
class PhaseResult:
    """One phase of a build, as ``batch_get_builds`` reports phases.

    Attributes:
        name: ``INSTALL``, ``BUILD``, …
        status: ``SUCCEEDED``, ``FAILED``, ``STOPPED``, ``TIMED_OUT`` or ``SKIPPED`` (did not
            run; AWS simply leaves such phases out).
        start: When it started (from the build's clock), None when skipped.
        end: When it ended.
        duration_s: ``end - start`` in seconds.
        log: Its lines of the build log.
        context: Why it failed, as CodeBuild's phase context: ``STATUS_CODE: message``.
    """

    name: str
    status: str = "SKIPPED"
    start: datetime | None = None
    end: datetime | None = None
    duration_s: float = 0.0
    log: list[str] = field(default_factory=list)
    context: str = ""


@dataclass
class BuildResult:
    """What a build did: the truth, where the emulator's own build record says SUCCEEDED.

    Attributes:
        status: ``SUCCEEDED``, ``FAILED``, ``STOPPED`` (interrupted) or ``TIMED_OUT``.
        phases: Every phase in order (:class:`PhaseResult`).
        exported_variables: ``env/exported-variables`` with their final values.
        artifacts: The primary artifact zip on this machine, or None.
        secondary_artifacts: Secondary artifact zips by identifier.
        reports: One row per test case of every report group (columns ``report_group``,
            ``test_suite``, ``prefix``, ``name``, ``status``, ``duration_s``, ``message``).
        report_status: Report group → ``SUCCEEDED``/``FAILED``/``INCOMPLETE``.
        project: The CodeBuild project name.
        build_id: ``<project>:<uuid>``, as CodeBuild names builds.
        build_number: The project's build counter.
        build_arn: The build's ARN (on the emulator or AWS when recorded).
        source_version: ``CODEBUILD_RESOLVED_SOURCE_VERSION``.
        log: The whole build log, line by line.
        log_group: CloudWatch Logs group holding the log (``/aws/codebuild/<project>``) or None.
        log_stream: Its stream (the build id's uuid) or None.
        artifact_uri: ``s3://…`` of the uploaded primary artifact, or None.
        start: When the build started; ``end``: when it ended.
    """

    status: str
    phases: list[PhaseResult]
    exported_variables: dict[str, str]
    artifacts: Path | None
    secondary_artifacts: dict[str, Path]
    reports: pd.DataFrame
    report_status: dict[str, str]
    project: str
    build_id: str
    build_number: int
    build_arn: str | None = None
    source_version: str = ""
    log: list[str] = field(default_factory=list, repr=False)
    log_group: str | None = None
    log_stream: str | None = None
    artifact_uri: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    @property
    def succeeded(self) -> bool:
        """True when the build's status is SUCCEEDED."""
        return self.status == "SUCCEEDED"

    def phase(self, name: str) -> PhaseResult:
        """Return the phase called ``name`` (``"BUILD"``, ``"post_build"``, …)."""
        wanted = name.upper()
        for phase in self.phases:
            if phase.name == wanted:
                return phase
        raise KeyError(f"no phase {name!r}; phases are {', '.join(PHASES)}")

    def phase_table(self) -> pd.DataFrame:
        """Return one row per phase: status, start time, duration in seconds and context."""
        return pd.DataFrame(
            [
                {
                    "phase": p.name,
                    "status": p.status,
                    "start": p.start.strftime("%H:%M:%S") if p.start else "",
                    "duration_s": round(p.duration_s, 3),
                    "context": p.context,
                }
                for p in self.phases
            ]
        )

    def log_text(self, phase: str | None = None) -> str:
        """Return the build log (or one phase's part of it) as text."""
        lines = self.log if phase is None else self.phase(phase).log
        return "\n".join(lines)

    def __repr__(self) -> str:
        failed = [p.name for p in self.phases if p.status not in ("SUCCEEDED", "SKIPPED")]
        extra = f", failed={failed}" if failed else ""
        return f"BuildResult(status={self.status!r}, build_id={self.build_id!r}{extra})"
