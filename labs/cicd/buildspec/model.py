"""The buildspec as data: what :func:`labs.cicd.buildspec.parse` returns.

One frozen dataclass per block of the "Build specification reference for CodeBuild"
(https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html), plus the names and
formats the reference allows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "BUILDSPEC_PHASES",
    "COVERAGE_FORMATS",
    "DOC_URL",
    "TEST_FORMATS",
    "ArtifactsSpec",
    "Buildspec",
    "PhaseSpec",
    "ReportGroupSpec",
]

DOC_URL = "https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html"

BUILDSPEC_PHASES = ("install", "pre_build", "build", "post_build")
"""The phase names a buildspec may use, in the order CodeBuild runs them."""

TEST_FORMATS = ("CUCUMBERJSON", "JUNITXML", "NUNITXML", "NUNIT3XML", "TESTNGXML", "VISUALSTUDIOTRX")
COVERAGE_FORMATS = ("CLOVERXML", "COBERTURAXML", "JACOCOXML", "SIMPLECOV")

TOP_KEYS = (
    "version",
    "run-as",
    "env",
    "proxy",
    "batch",
    "phases",
    "reports",
    "artifacts",
    "cache",
)
ENV_KEYS = (
    "shell",
    "variables",
    "parameter-store",
    "exported-variables",
    "secrets-manager",
    "git-credential-helper",
)
PHASE_KEYS = ("run-as", "on-failure", "runtime-versions", "commands", "finally")
ARTIFACT_KEYS = (
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
)
REPORT_KEYS = ("files", "base-directory", "discard-paths", "file-format")
LINUX_SHELLS = ("bash", "/bin/sh")
WINDOWS_SHELLS = ("powershell.exe", "cmd.exe")
ON_FAILURE_VALUES = ("ABORT", "CONTINUE")
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
YAML_NULL = "tag:yaml.org,2002:null"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class PhaseSpec:
    """One phase of a buildspec (``phases/<name>``).

    Attributes:
        name: ``install``, ``pre_build``, ``build`` or ``post_build``.
        commands: The ``commands`` block, run one at a time in order.
        finally_: The ``finally`` block, run after ``commands`` even when one of them failed.
        on_failure: ``"ABORT"``, ``"CONTINUE"`` or None (the default phase transitions).
        run_as: The phase's ``run-as`` user, if any.
        runtime_versions: ``install`` only: runtime name → version, as written.
        line: The line of the phase's key in the file.
    """

    name: str
    commands: tuple[str, ...] = ()
    finally_: tuple[str, ...] = ()
    on_failure: str | None = None
    run_as: str | None = None
    runtime_versions: Mapping[str, str] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class ArtifactsSpec:
    """The ``artifacts`` block (or one of its ``secondary-artifacts``).

    Attributes:
        files: Locations relative to ``base_directory`` (globs: ``**/*``, ``dir/*``).
        name: The artifact name, evaluated by the shell at the end of the build; None for the
            project's default.
        discard_paths: ``yes``: every file goes to the top of the artifact.
        base_directory: Top-level directory (or ``dir*`` glob) the files are relative to.
        exclude_paths: Locations, relative to the base directory, left out of the artifact.
        identifier: None for the primary artifact, the ``secondary-artifacts`` key otherwise.
    """

    files: tuple[str, ...]
    name: str | None = None
    discard_paths: bool = False
    base_directory: str | None = None
    exclude_paths: tuple[str, ...] = ()
    identifier: str | None = None


@dataclass(frozen=True)
class ReportGroupSpec:
    """One report group under ``reports``.

    Attributes:
        name: The report group name (or ARN) as written; CodeBuild names a new group
            ``<project>-<name>``.
        files: Locations of the raw test result files (globs as for artifacts).
        base_directory: The directory the files are relative to.
        discard_paths: Whether the raw files are flattened when exported.
        file_format: One of :data:`TEST_FORMATS` or :data:`COVERAGE_FORMATS` (default JUNITXML).
    """

    name: str
    files: tuple[str, ...]
    base_directory: str | None = None
    discard_paths: bool = False
    file_format: str = "JUNITXML"


@dataclass(frozen=True)
class Buildspec:
    """A parsed, validated buildspec (version 0.2).

    Attributes:
        version: Always ``"0.2"``.
        phases: The phases the file defines, by name, in run order.
        variables: ``env/variables``, literal values (CodeBuild does not expand ``$VARS`` in them).
        parameter_store: ``env/parameter-store``: variable → SSM parameter name.
        secrets_manager: ``env/secrets-manager``: variable → ``secret-id:json-key:stage:id``.
        exported_variables: ``env/exported-variables``.
        shell: ``env/shell``: ``/bin/sh`` (the default on Linux) or ``bash``.
        run_as: The top-level ``run-as`` user, if any.
        artifacts: The primary artifact, or None when the build has none.
        secondary_artifacts: ``artifacts/secondary-artifacts`` by identifier.
        reports: Report groups by name.
        ignored: Keys the local runner accepts but does not act on (``cache``, ``proxy``, …).
        source: Where the text came from: a file name or ``"buildspec"``.
        text: The YAML text itself.
    """

    version: str
    phases: Mapping[str, PhaseSpec]
    variables: Mapping[str, str] = field(default_factory=dict)
    parameter_store: Mapping[str, str] = field(default_factory=dict)
    secrets_manager: Mapping[str, str] = field(default_factory=dict)
    exported_variables: tuple[str, ...] = ()
    shell: str = "/bin/sh"
    run_as: str | None = None
    artifacts: ArtifactsSpec | None = None
    secondary_artifacts: Mapping[str, ArtifactsSpec] = field(default_factory=dict)
    reports: Mapping[str, ReportGroupSpec] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    source: str = "buildspec"
    text: str = field(default="", repr=False)

    def summary(self) -> pd.DataFrame:
        """Return one row per buildspec phase: commands, ``finally`` commands and ``on-failure``."""
        rows = []
        for name in BUILDSPEC_PHASES:
            phase = self.phases.get(name)
            rows.append(
                {
                    "phase": name,
                    "defined": phase is not None,
                    "commands": len(phase.commands) if phase else 0,
                    "finally": len(phase.finally_) if phase else 0,
                    "on-failure": (phase.on_failure or "default") if phase else "",
                }
            )
        return pd.DataFrame(rows)
