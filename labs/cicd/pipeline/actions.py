"""What each action really does locally: git, the buildspec runner, the deployment engine.

The executor (:mod:`labs.cicd.pipeline.executor`) calls one *handler* per action provider:

* :class:`GitSource` (provider ``CodeCommit``) — the commit of the execution, exported from the
  workshop's bookstore repository with ``git archive`` as the source zip (CodeCommit's
  ``CODE_ZIP``), and CodeCommit's output variables: ``CommitId``, ``CommitMessage``,
  ``AuthorDate``, ``CommitterDate``, ``BranchName``, ``RepositoryName``
  (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeCommit.html).
* :class:`CodeBuildRunner` (provider ``CodeBuild``, for Build and Test actions) — the buildspec
  runner (:mod:`labs.cicd.buildspec`) on the primary input artifact, with the action's
  ``EnvironmentVariables``; the build's primary artifact becomes the output artifact and its
  ``exported-variables`` the output variables
  (https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodeBuild.html).
* :class:`Deployer` (provider ``CodeDeployToECS``) — the deployment engine
  (:func:`labs.deploy.engine.run`) with its alarms and automatic rollback. A deployment that
  does not succeed (rolled back, stopped, failed) fails the action.

**How a commit chooses its release.** The Deploy action reads ``release.json`` from its input
artifact (at the root, else ``bookstore/release.json``; the bookstore's build copies the package
folder, so a file committed as ``bookstore/release.json`` reaches it)::

    {"version": "v2", "notes": "what this release changes"}

``version`` names the release's behaviour: a bookstore fault version (``labs.bookstore.VERSIONS``
— ``v2-bad`` fails 25% of requests, ``v2-slow`` adds 900 ms — or ``v2-crash`` of
``labs.deploy.releases``) is deployed under exactly that label, because the traffic simulator
reads a release's behaviour from its label; any other version is a healthy build deployed as
``<version>.<execution number>`` (``v2.3``), so that two deployments never carry the same label.
Without a ``release.json`` the version is ``v2``. Redeploying the label already in production
is a no-op that succeeds.

Simulated durations (minutes): the source 1, a build 6, a test 3 — typical CodeBuild times with
provisioning — and a deployment as long as the deployment engine took.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from labs.cicd import buildspec
from labs.cicd.git import Repo
from labs.cicd.pipeline.executor import ActionOutcome, ActionRequest
from labs.deploy import engine, releases
from labs.deploy.strategies import Strategy, TrafficShift
from labs.errors import InputError

__all__ = [
    "DEFAULT_VERSION",
    "RELEASE_FILES",
    "CodeBuildRunner",
    "Deployer",
    "Deployment",
    "GitSource",
    "read_release",
    "release_label",
]

RELEASE_FILES = ("release.json", "bookstore/release.json")
"""Where the Deploy action looks for ``release.json`` in its input artifact, in order."""
DEFAULT_VERSION = "v2"
"""The version of a commit without ``release.json``."""


@dataclass
class GitSource:
    """The ``CodeCommit`` source action, served from the workshop's local git repository.

    Args:
        repo: The repository (:func:`labs.cicd.git.bookstore_repo`).
        minutes: Simulated duration.
    """

    repo: Repo
    minutes: float = 1.0

    def __call__(self, request: ActionRequest) -> ActionOutcome:
        """Export the execution's commit as the source zip, with CodeCommit's variables."""
        sha = self.repo.rev_parse(request.execution.commit)
        target = request.workdir / "source.zip"
        self.repo.git("archive", "--format=zip", "-o", str(target), sha)
        subject, author_date, committer_date = (
            self.repo.git("show", "-s", "--format=%s%x1f%aI%x1f%cI", sha).strip().split("\x1f")
        )
        variables = {
            "CommitId": sha,
            "CommitMessage": subject,
            "AuthorDate": author_date,
            "CommitterDate": committer_date,
            "BranchName": request.configuration.get("BranchName", "main"),
            "RepositoryName": request.configuration.get("RepositoryName", self.repo.path.name),
        }
        return ActionOutcome(
            minutes=self.minutes,
            summary=subject,
            outputs={request.action.output_artifacts[0]: target},
            variables=variables,
            external_id=sha,
        )


def _environment(configuration: Mapping[str, str]) -> dict[str, str]:
    text = configuration.get("EnvironmentVariables")
    if not text:
        return {}
    try:
        listed = json.loads(text)
        return {str(v["name"]): str(v["value"]) for v in listed}
    except (ValueError, TypeError, KeyError):
        raise InputError(
            "EnvironmentVariables is not a JSON list of {name, value, type}.",
            where="configuration['EnvironmentVariables']",
            hint='e.g. [{"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", '
            '"type": "PLAINTEXT"}]',
        ) from None


def _build_summary(result: buildspec.BuildResult) -> str:
    cases = result.reports
    tests = ""
    if not cases.empty:
        failed = cases[cases["status"].isin(["FAILED", "ERROR"])]
        tests = f": {len(cases)} tests, {len(cases) - len(failed)} passed"
        if len(failed):
            names = ", ".join(failed["name"].head(3))
            tests += f", failed: {names}"
    if result.succeeded:
        return f"Build {result.status}{tests}"
    phase = next(p for p in result.phases if p.status not in ("SUCCEEDED", "SKIPPED"))
    code = phase.context.split(":", 1)[0] or phase.status
    return f"Build {result.status} in {phase.name} ({code}){tests}"


@dataclass
class CodeBuildRunner:
    """``CodeBuild`` build and test actions, run by the local buildspec runner.

    Args:
        ctx: The workshop context: builds are recorded in the emulator (project, build, logs,
            artifact); None runs them without recording.
        lab: The lab whose tags the recorded resources carry.
        minutes: Simulated duration by action category.
    """

    ctx: Any | None = None
    lab: str | None = None
    minutes: Mapping[str, float] = field(default_factory=lambda: {"Build": 6.0, "Test": 3.0})

    def __call__(self, request: ActionRequest) -> ActionOutcome:
        """Run the project's buildspec on the primary input artifact."""
        action = request.action
        minutes = float(self.minutes.get(action.category, 5.0))
        project = request.configuration.get("ProjectName")
        if not project:
            raise InputError(
                "A CodeBuild action needs ProjectName in its configuration.",
                where=f"stage {request.stage!r}, action {action.name!r}",
            )
        primary = request.configuration.get("PrimarySource") or action.input_artifacts[0]
        source = request.extract(primary)
        reference = action.buildspec or "buildspec.yml"
        spec: str | Path = reference
        if "\n" not in reference:
            spec = source / reference
            if not spec.is_file():
                return ActionOutcome.failed(
                    f"YAML_FILE_ERROR: there is no {reference} in artifact {primary}.",
                    minutes=1.0,
                    code="BuildFailed",
                )
        result = buildspec.run(
            spec,
            source,
            env=_environment(request.configuration),
            ctx=self.ctx,
            project=project,
            lab=self.lab,
            clock=buildspec.TickingClock(request.started.to_pydatetime(), timedelta(seconds=1)),
            source_version=request.execution.commit,
            output_dir=request.workdir / "out",
        )
        outputs = {}
        if action.output_artifacts and result.artifacts is not None:
            outputs[action.output_artifacts[0]] = result.artifacts.read_bytes()
        return ActionOutcome(
            status="Succeeded" if result.succeeded else "Failed",
            minutes=minutes,
            summary=_build_summary(result),
            outputs=outputs,
            variables=dict(result.exported_variables),
            external_id=result.build_id,
            error_code=None if result.succeeded else "BuildFailed",
            details={"build": result},
        )


def read_release(folder: str | Path) -> dict[str, Any]:
    """Read ``release.json`` from an artifact folder (see the module docstring).

    Returns:
        The file's fields, ``version`` always set (``v2`` when there is no file), and
        ``file``: where it was found (or None).

    Raises:
        InputError: The file is not a JSON object with a string ``version``.
    """
    folder = Path(folder)
    for name in RELEASE_FILES:
        path = folder / name
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise InputError(
                    f"{name} is not valid JSON ({exc}).",
                    where=name,
                    hint='Write e.g. {"version": "v2", "notes": "…"}.',
                ) from None
            if not isinstance(data, dict) or not isinstance(data.get("version"), str):
                raise InputError(
                    f"{name} needs a string field 'version'.",
                    where=name,
                    hint='Write e.g. {"version": "v2", "notes": "…"}.',
                )
            return {**data, "file": name}
    return {"version": DEFAULT_VERSION, "file": None}


def release_label(version: str, number: int) -> str:
    """The label a release is deployed under (see the module docstring).

    Args:
        version: ``release.json``'s version.
        number: The pipeline execution's number.
    """
    release = releases.get(version)
    if not release.fault.is_healthy or release.task_failure_rate > 0:
        return version
    return f"{version}.{number}"


@dataclass(frozen=True)
class Deployment:
    """A deployment a Deploy action made, as the DORA records need it.

    Attributes:
        release: The label deployed.
        baseline: The label in production before it (what a rollback restores).
        status: The deployment engine's status (``Succeeded``, ``RolledBack``, …).
        commit: The commit deployed.
        previous_commit: The commit in production before it.
        deployed_minute: Minutes after the action started when the release reached production
            (all traffic on it; for a deployment stopped early, its first traffic).
        detected_minute: When an alarm or a failure stopped it (None if nothing did).
        restored_minute: When a rollback had all traffic back on the baseline (None if none).
        deployment_id: CodeDeploy's deployment id.
        production: Whether this environment is production (DORA counts only those).
    """

    release: str
    baseline: str
    status: str
    commit: str
    previous_commit: str | None
    deployed_minute: float
    detected_minute: float | None
    restored_minute: float | None
    deployment_id: str | None
    production: bool = True

    @property
    def rolled_back(self) -> bool:
        """True when a rollback restored the baseline."""
        return self.status == "RolledBack"


@dataclass
class Deployer:
    """The ``CodeDeployToECS`` deploy action, run by the deployment engine.

    It keeps what is in production — :attr:`release` and :attr:`commit` — and moves it on every
    successful deployment: the next deployment's baseline, the release a rollback restores.

    Args:
        strategy: How to deploy (default: ECS blue/green, ``ECSCanary10Percent5Minutes``).
        alarms: CloudWatch alarm names (or ``Alarm`` objects for a dry run) that stop it.
        auto_rollback: ``autoRollbackConfiguration.events``.
        where: The workshop context on the local target; None for dry runs (nothing created).
        service: The bookstore service whose traffic the alarms watch.
        seed: Seeds the traffic of each deployment (with the execution number and attempt).
        release: The label in production now.
        commit: The commit in production now (:func:`labs.cicd.pipeline.create` sets it to the
            branch's head when the pipeline is created).
        production: Whether this is the production environment (DORA records).
        lab: The lab whose tags the engine's emulator resources carry (default: the engine's).
    """

    strategy: Strategy = field(
        default_factory=lambda: TrafficShift("CodeDeployDefault.ECSCanary10Percent5Minutes")
    )
    alarms: Sequence[Any] = ()
    auto_rollback: Sequence[str] = engine.DEFAULT_AUTO_ROLLBACK
    where: Any | None = None
    service: str = "orders"
    seed: int = 0
    release: str = "v1"
    commit: str | None = None
    production: bool = True
    lab: str | None = None

    def __call__(self, request: ActionRequest) -> ActionOutcome:
        """Deploy the release the input artifact's ``release.json`` names."""
        configuration = request.configuration
        artifact = configuration.get("AppSpecTemplateArtifact") or request.action.input_artifacts[0]
        folder = request.extract(artifact)
        appspec = configuration.get("AppSpecTemplatePath", "appspec.yaml")
        if not (folder / appspec).is_file():
            return ActionOutcome.failed(
                f"There is no {appspec} in artifact {artifact}: CodeDeploy needs the AppSpec.",
                minutes=1.0,
                code="InvalidAppSpec",
            )
        version = read_release(folder)["version"]
        label = release_label(version, request.execution.number)
        commit, previous = request.execution.commit, self.commit
        if label == self.release:
            return ActionOutcome(
                minutes=1.0,
                summary=f"{label} is already in production: nothing to deploy",
            )
        result = engine.run(
            self.where,
            self.strategy,
            release=label,
            baseline=self.release,
            alarms=self.alarms,
            auto_rollback=self.auto_rollback,
            seed=self.seed + 1000 * request.execution.number + request.attempt,
            service=self.service,
            **({"lab": self.lab} if self.lab else {}),
        )
        timeline = result.timeline
        deploying = timeline[(timeline["minute"] >= 0) & (timeline["percent_new"] > 0)]
        deployed = result.full_at_minute
        if deployed is None:
            deployed = int(deploying["minute"].min()) if not deploying.empty else 0
        finished = result.finished_at_minute
        if finished is None:
            finished = int(timeline["minute"].max()) + 1
        deployment = Deployment(
            release=label,
            baseline=self.release,
            status=result.status,
            commit=commit,
            previous_commit=previous,
            deployed_minute=float(deployed),
            detected_minute=None
            if result.detected_at_minute is None
            else float(result.detected_at_minute),
            restored_minute=None
            if result.restored_at_minute is None
            else float(result.restored_at_minute),
            deployment_id=result.deployment_id,
            production=self.production,
        )
        if result.status == "Succeeded":
            self.release, self.commit = label, commit
            summary = f"{label} deployed ({result.strategy}): all traffic on {label}"
        elif result.status == "RolledBack":
            summary = (
                f"{label} rolled back to {result.baseline} at minute {result.restored_at_minute}: "
                f"{_why(result.reason)}"
            )
        else:
            summary = f"{label} {result.status}: {_why(result.reason)}"
        return ActionOutcome(
            status="Succeeded" if result.status == "Succeeded" else "Failed",
            minutes=float(finished),
            summary=summary,
            external_id=result.deployment_id,
            error_code=None if result.status == "Succeeded" else f"Deployment{result.status}",
            details={"deployment": deployment, "result": result},
        )


def _why(reason: str) -> str:
    """The engine's reason up to its first ';' (the rest names deployment ids)."""
    return reason.split(";")[0]
