"""The local build engine: runs a buildspec's phases with CodeBuild's phase transitions.

Implements, on this machine, what the emulator only records (FACTS.md: its builds report
SUCCEEDED at once). The rules come from the CodeBuild user guide:

* Phases run in the order of "Build phase transitions"
  (https://docs.aws.amazon.com/codebuild/latest/userguide/view-build-details-phases.html):
  PROVISIONING, DOWNLOAD_SOURCE, INSTALL, PRE_BUILD, BUILD, POST_BUILD, UPLOAD_ARTIFACTS,
  FINALIZING. A failure in PROVISIONING, DOWNLOAD_SOURCE, INSTALL or PRE_BUILD goes straight to
  FINALIZING; a failure in BUILD still runs POST_BUILD; a failure in POST_BUILD still runs
  UPLOAD_ARTIFACTS ("The UPLOAD_ARTIFACTS phase is always attempted, even if the BUILD phase
  fails"). See :mod:`labs.cicd.buildspec.result` and ``buildspec.transitions()``.
* A phase's ``on-failure`` overrides that: ``ABORT`` ends the build (straight to FINALIZING),
  ``CONTINUE`` goes on to the next phase. Either way the build's status is FAILED.
* In a phase, commands run one at a time; the first failing command skips the rest of
  ``commands``; ``finally`` runs after ``commands`` either way; the phase fails if any command
  (``finally`` included) fails. The runner stops a ``finally`` block at its first failing
  command too.
* All commands share one shell (buildspec 0.2): see :mod:`labs.cicd.buildspec.shell`.
* ``CODEBUILD_BUILD_SUCCEEDING`` is ``1`` until a command fails, ``0`` from then on.
* ``env/exported-variables`` take their values at the end of the last phase that ran
  ("After the post_build phase ends, the value of exported variables cannot change").
* Environment variable precedence: the start-build override (``run(env=…)``) over the
  buildspec's ``env`` over the build environment. Buildspec values are literal.

Two things the local runner adds, and says so in the log: phases that did not run are listed as
``SKIPPED`` (AWS leaves them out of the phase list), and with ``offline=True`` (the default)
``pip`` may only use what is already installed (``PIP_NO_INDEX=1``): the bookstore's
``pip install pytest==…`` then checks the pinned version is there instead of downloading it.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd

from labs.cicd.buildspec.model import ArtifactsSpec, Buildspec, PhaseSpec
from labs.cicd.buildspec.outputs import (
    REPORT_COLUMNS,
    ArtifactError,
    Report,
    package_artifact,
    read_report,
)
from labs.cicd.buildspec.result import (
    BUILDSPEC_PHASE,
    PHASES,
    BuildResult,
    PhaseResult,
    next_phase,
)
from labs.cicd.buildspec.shell import CommandStopped, ShellSession

__all__ = ["BuildRequest", "LocalBuild", "new_build_id"]


Uploader = Callable[[Path, str], str]


@dataclass
class BuildRequest:
    """Everything :class:`LocalBuild` needs; built by :func:`labs.cicd.buildspec.run`."""

    spec: Buildspec
    source_dir: Path
    project: str
    build_id: str
    build_number: int
    build_arn: str | None
    region: str
    env_override: Mapping[str, str]
    clock: Callable[[], datetime]
    offline: bool
    timeout_minutes: float
    output_dir: Path
    source_version: str | None = None
    initiator: str = "labs"
    keep_build_dir: bool = False
    resolve_secrets: Callable[[Buildspec], dict[str, str]] | None = None
    upload: Uploader | None = None
    artifact_key: Callable[[str], str] | None = None


class LocalBuild:
    """Runs one build of a buildspec on this machine; :meth:`run` returns the BuildResult."""

    def __init__(self, request: BuildRequest) -> None:
        self.req = request
        self.spec = request.spec
        self.phases = {name: PhaseResult(name) for name in PHASES}
        self.log: list[str] = []
        self.events: list[tuple[datetime, str]] = []
        self.current: PhaseResult | None = None
        self.now: datetime | None = None
        self.failing = False
        self.secrets: list[str] = []
        self.session: ShellSession | None = None
        self.root = Path(tempfile.mkdtemp(prefix="labs-codebuild-"))
        self.src = self.root / "src"
        self.source_version = ""
        self.exported: dict[str, str] = {}
        self.reports: list[Report] = []
        self.artifacts: Path | None = None
        self.secondary: dict[str, Path] = {}
        self.artifact_uri: str | None = None
        self.deadline = time.monotonic() + request.timeout_minutes * 60

    # Logging ---------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        """Write a ``[Container]`` line, stamped by the build's clock."""
        self.now = self.req.clock()
        self._line(f"[Container] {self.now:%Y/%m/%d %H:%M:%S.%f} {text}")

    def output(self, text: str) -> None:
        """Write a command's output."""
        for line in text.splitlines():
            self._line(line)

    def _line(self, line: str) -> None:
        """Append a log line, with parameter-store and secrets-manager values masked."""
        assert self.now is not None
        for secret in self.secrets:
            line = line.replace(secret, "***")
        self.log.append(line)
        self.events.append((self.now, line))
        if self.current is not None:
            self.current.log.append(line)

    # The build -------------------------------------------------------------------------------

    def run(self) -> BuildResult:
        """Run every phase, following the transitions; never raises for a failing build."""
        start = None
        phase = "PROVISIONING"
        try:
            while True:
                status = self.run_phase(phase)
                start = start or self.phases["PROVISIONING"].start
                if phase == "FINALIZING":
                    break
                if status in ("STOPPED", "TIMED_OUT"):
                    phase = "FINALIZING"
                    continue
                on_failure = None
                if phase in BUILDSPEC_PHASE:
                    spec_phase = self.spec.phases.get(BUILDSPEC_PHASE[phase])
                    on_failure = spec_phase.on_failure if spec_phase else None
                phase = next_phase(phase, status != "SUCCEEDED", on_failure)
        finally:
            if not self.req.keep_build_dir:
                shutil.rmtree(self.root, ignore_errors=True)
        statuses = [p.status for p in self.phases.values()]
        if "TIMED_OUT" in statuses:
            status = "TIMED_OUT"
        elif "STOPPED" in statuses:
            status = "STOPPED"
        elif "FAILED" in statuses:
            status = "FAILED"
        else:
            status = "SUCCEEDED"
        frames = [r.cases for r in self.reports if not r.cases.empty]
        reports = (
            pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REPORT_COLUMNS)
        )
        return BuildResult(
            status=status,
            phases=list(self.phases.values()),
            exported_variables=self.exported,
            artifacts=self.artifacts,
            secondary_artifacts=self.secondary,
            reports=reports,
            report_status={r.group: r.status for r in self.reports},
            project=self.req.project,
            build_id=self.req.build_id,
            build_number=self.req.build_number,
            build_arn=self.req.build_arn,
            source_version=self.source_version,
            log=self.log,
            artifact_uri=self.artifact_uri,
            start=start,
            end=self.phases["FINALIZING"].end,
        )

    def run_phase(self, name: str) -> str:
        """Run one phase and return its status."""
        phase = self.phases[name]
        self.current = phase
        self.say(f"Entering phase {name}")
        phase.start = self.now
        status, context = "SUCCEEDED", ""
        try:
            step = getattr(self, f"_{name.lower()}", None)
            if step is not None:
                status, context = step()
            elif name in BUILDSPEC_PHASE:
                status, context = self.buildspec_phase(self.spec.phases.get(BUILDSPEC_PHASE[name]))
        except Exception as exc:  # a fault of the runner's own must still end the build cleanly
            status, context = "FAILED", f"CLIENT_ERROR: {type(exc).__name__}: {exc}"
        if status != "SUCCEEDED" and status != "FAILED":
            self.say(f"Build {'timed out' if status == 'TIMED_OUT' else 'stopped'}")
        if status == "FAILED":
            self.failing = True
        self.say(f"Phase complete: {name} State: {status}")
        code, _, message = context.partition(": ")
        self.say(f"Phase context status code: {code} Message: {message}")
        phase.status, phase.context, phase.end = status, context, self.now
        assert phase.start is not None and phase.end is not None
        phase.duration_s = (phase.end - phase.start).total_seconds()
        self.current = None
        return status

    def _provisioning(self) -> tuple[str, str]:
        self.say("Running on the workshop's local buildspec runner (CodeBuild buildspec 0.2)")
        env = _base_environment()
        bin_dir = self.root / "bin"
        bin_dir.mkdir()
        for name in ("python", "python3"):
            shim = bin_dir / name
            shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} "$@"\n')
            shim.chmod(0o755)
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
        env.update(self._codebuild_variables())
        if self.req.offline:
            env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
            self.say(
                "Offline: pip may only use packages already installed here (PIP_NO_INDEX=1); "
                "nothing is downloaded"
            )
        env.update(self.spec.variables)
        if self.spec.parameter_store or self.spec.secrets_manager:
            if self.req.resolve_secrets is None:
                return "FAILED", (
                    "CLIENT_ERROR: parameter-store and secrets-manager variables need a workshop "
                    "context: run(..., ctx=ctx)"
                )
            self.say("Retrieving parameter-store and secrets-manager variables")
            values = self.req.resolve_secrets(self.spec)
            self.secrets = sorted({v for v in values.values() if v}, key=len, reverse=True)
            env.update(values)
        env.update(self.req.env_override)
        for key in self.spec.ignored:
            self.say(f"Note: {key} is accepted but not acted on by the local runner")
        users = {self.spec.run_as} | {p.run_as for p in self.spec.phases.values()}
        for user in sorted(u for u in users if u):
            self.say(f"Note: run-as {user} is ignored locally; commands run as this machine's user")
        try:
            self.session = ShellSession(self.spec.shell, self.src, env, self.root / "tmp")
        except FileNotFoundError as exc:
            return "FAILED", f"CLIENT_ERROR: {exc}"
        self.say(f"Using shell {self.spec.shell}")
        return "SUCCEEDED", ""

    def _codebuild_variables(self) -> dict[str, str]:
        req = self.req
        stream = req.build_id.split(":", 1)[-1]
        started = self.phases["PROVISIONING"].start or req.clock()
        variables = {
            "CODEBUILD_BUILD_ID": req.build_id,
            "CODEBUILD_BUILD_NUMBER": str(req.build_number),
            "CODEBUILD_BUILD_SUCCEEDING": "1",
            "CODEBUILD_BUILD_IMAGE": "labs/local-runner",
            "CODEBUILD_INITIATOR": req.initiator,
            "CODEBUILD_LOG_PATH": stream,
            "CODEBUILD_SRC_DIR": str(self.src),
            "CODEBUILD_START_TIME": str(int(started.timestamp() * 1000)),
            "CODEBUILD_SOURCE_REPO_URL": self.req.source_dir.resolve().as_uri(),
            "AWS_REGION": req.region,
            "AWS_DEFAULT_REGION": req.region,
        }
        if req.build_arn:
            variables["CODEBUILD_BUILD_ARN"] = req.build_arn
        return variables

    def _download_source(self) -> tuple[str, str]:
        source = self.req.source_dir
        if not source.is_dir():
            return "FAILED", f"CLIENT_ERROR: source directory {source} does not exist"
        shutil.copytree(source, self.src, symlinks=True)
        self.source_version = self.req.source_version or _resolve_version(source)
        assert self.session is not None
        self.session.env["CODEBUILD_RESOLVED_SOURCE_VERSION"] = self.source_version
        self.session.env["CODEBUILD_SOURCE_VERSION"] = self.req.source_version or (
            self.source_version
        )
        self.say(f"CODEBUILD_SRC_DIR={self.src}")
        self.say(f"Source version {self.source_version}")
        return "SUCCEEDED", ""

    def buildspec_phase(self, spec: PhaseSpec | None) -> tuple[str, str]:
        """Run a buildspec phase's ``commands`` then its ``finally`` block."""
        if spec is None:
            return "SUCCEEDED", ""
        for runtime, version in spec.runtime_versions.items():
            local = ".".join(map(str, sys.version_info[:2]))
            if runtime == "python":
                self.say(f"Selecting 'python' runtime version '{version}': this machine's Python")
                if not local.startswith(str(version).rstrip(".x")) and version != "latest":
                    self.say(f"Note: this machine's Python is {local}, not {version}")
            else:
                self.say(f"Note: runtime {runtime} {version} uses whatever is installed here")
        context = ""
        for block in (spec.commands, spec.finally_):
            for command in block:
                status, failed = self.command(command)
                if status != "SUCCEEDED":
                    return status, failed
                if failed:
                    context = context or failed
                    break
        return ("FAILED" if context else "SUCCEEDED"), context

    def command(self, command: str) -> tuple[str, str]:
        """Run one command; return (status, failure context or "")."""
        assert self.session is not None
        self.session.env["CODEBUILD_BUILD_SUCCEEDING"] = "0" if self.failing else "1"
        self.say(f"Running command {command}")
        try:
            result = self.session.run(command, deadline=self.deadline)
        except CommandStopped as stop:
            self.output(stop.output)
            return ("TIMED_OUT" if stop.reason == "timed out" else "STOPPED"), (
                f"BUILD_{'TIMEOUT' if stop.reason == 'timed out' else 'STOPPED'}: "
                f"{stop.reason} while running: {command}"
            )
        self.output(result.output)
        if result.exit_code == 0:
            return "SUCCEEDED", ""
        self.failing = True
        self.say(f"Command did not exit successfully {command} exit status {result.exit_code}")
        return "SUCCEEDED", (
            f"COMMAND_EXECUTION_ERROR: Error while executing command: {command}. "
            f"Reason: exit status {result.exit_code}"
        )

    def _upload_artifacts(self) -> tuple[str, str]:
        for name, group_spec in self.spec.reports.items():
            group = (
                name.rsplit("report-group/", 1)[-1]
                if name.startswith("arn:")
                else (f"{self.req.project}-{name}")
            )
            self.say(f"Preparing to copy TEST report {group}")
            report = read_report(self.src, group_spec, group)
            for raw in report.files:
                self.say(f"Found report file {raw}")
            if report.note:
                self.say(f"Report {group}: {report.note}")
            self.say(f"Report {group}: {report.status}, {len(report.cases)} test case(s)")
            self.reports.append(report)
        specs: list[ArtifactsSpec] = []
        if self.spec.artifacts is not None:
            specs.append(self.spec.artifacts)
        specs.extend(self.spec.secondary_artifacts.values())
        for spec in specs:
            label = spec.identifier or "primary"
            name = self._artifact_name(spec)
            target = self.req.output_dir / name
            self.say(f"Expanding base directory path: {spec.base_directory or '.'}")
            try:
                entries = package_artifact(self.src, spec, target)
            except ArtifactError as exc:
                self.say(f"The {label} artifact: {exc}")
                return "FAILED", f"CLIENT_ERROR: {exc}"
            self.say(f"Found {len(entries)} file(s) for the {label} artifact {name}")
            if spec.identifier is None:
                self.artifacts = target
            else:
                self.secondary[spec.identifier] = target
            if self.req.upload is not None and self.req.artifact_key is not None:
                uri = self.req.upload(target, self.req.artifact_key(name))
                self.say(f"Uploaded {label} artifact to {uri}")
                if spec.identifier is None:
                    self.artifact_uri = uri
        return "SUCCEEDED", ""

    def _artifact_name(self, spec: ArtifactsSpec) -> str:
        name = spec.identifier or self.req.project
        if spec.name and self.session is not None:
            name = self.session.evaluate(spec.name).strip() or name
        name = name.replace("/", "-")
        return name if name.endswith(".zip") else f"{name}.zip"

    def _finalizing(self) -> tuple[str, str]:
        if self.session is not None:
            for variable in self.spec.exported_variables:
                if variable in self.session.env:
                    self.exported[variable] = self.session.env[variable]
                else:
                    self.say(f"Exported variable {variable} is not set")
            if self.exported:
                self.say(f"Exporting variables: {', '.join(self.exported)}")
        if not self.req.keep_build_dir:
            self.say("Cleaning up the build environment")
        return "SUCCEEDED", ""


_DROPPED = ("PYTEST_CURRENT_TEST", "PYTEST_XDIST_", "PYTEST_VERSION")


def _base_environment() -> dict[str, str]:
    """The build environment's variables: this process's, minus the test runner's own."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED)}


def _resolve_version(source: Path) -> str:
    """Return the commit id of a git checkout, or a SHA-1 of the folder's files otherwise."""
    if (source / ".git").exists() and shutil.which("git"):
        try:
            done = subprocess.run(
                ["git", "-C", str(source), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if done.returncode == 0 and done.stdout.strip():
                return done.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    digest = hashlib.sha1(usedforsecurity=False)
    for directory, subdirs, names in os.walk(source):
        subdirs[:] = sorted(d for d in subdirs if d not in (".git", "__pycache__"))
        for name in sorted(names):
            path = Path(directory) / name
            if name.endswith(".pyc") or not path.is_file():
                continue
            digest.update(path.relative_to(source).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def new_build_id(project: str) -> str:
    """Return a CodeBuild-style build id, ``<project>:<uuid>``."""
    return f"{project}:{uuid.uuid4()}"
