"""A pipeline that exists and runs: ``create(ctx, definition)``, then ``run(ctx, pipeline, …)``.

:func:`create` puts the definition into CodePipeline (the emulator on the local target) with
its service role and tagged artifact bucket, and returns a :class:`Pipeline`: the definition,
the executor that runs it (:mod:`labs.cicd.pipeline.executor`), the action handlers
(:mod:`labs.cicd.pipeline.actions`) and the DORA records file
(:mod:`labs.cicd.pipeline.records`). Every execution also starts an execution in the emulator
(``start_pipeline_execution`` with the commit as its source revision), whose id the executor
uses, so the emulator's execution history lists the same executions — each ``Succeeded``, as
the emulator reports every execution (FACTS.md); the :class:`Pipeline`'s own history is the
truth.

On the aws target the same definition is created for real and :meth:`Pipeline.run` starts a
real execution and follows it (:mod:`labs.cicd.pipeline.aws`); that path is small, separate and
not tested offline.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from labs import progressbar
from labs.cicd.git import Repo
from labs.cicd.pipeline import plots, resources, views
from labs.cicd.pipeline.actions import CodeBuildRunner, Deployer, GitSource
from labs.cicd.pipeline.artifacts import ArtifactStore, FolderArtifactStore, S3ArtifactStore
from labs.cicd.pipeline.executor import (
    ActionExecution,
    ActionOutcome,
    Approver,
    Execution,
    Executor,
    Handler,
)
from labs.cicd.pipeline.model import PipelineDefinition
from labs.cicd.pipeline.records import DoraRecorder
from labs.errors import InputError

__all__ = ["Pipeline", "create", "records_path", "run"]

START = pd.Timestamp("2026-01-05T09:00:00Z")
"""Where a pipeline's simulated clock starts (the bookstore repository's first commit)."""


def records_path(pipeline: str) -> Path:
    """The DORA records file of pipeline ``pipeline``: ``<workshop>/pipelines/<name>.jsonl``."""
    from labs import emulator

    return emulator.workshop_dir() / "pipelines" / f"{pipeline}.jsonl"


class Pipeline:
    """A pipeline and its executions: run commits, approve, retry, stop, read the history.

    Made by :func:`create`; build one directly (no emulator) for tests and dry runs.

    Args:
        definition: The pipeline.
        handlers: Provider -> handler; see :mod:`labs.cicd.pipeline.actions`.
        ctx: The workshop context, or None (nothing is written to an emulator).
        repo: The git repository commits come from (None: commits are plain ids).
        store: The artifact store; default a folder of its own.
        approver: Answers approvals automatically; None waits for :meth:`approve`.
        seed: Seeds ids and artifact keys.
        records: The DORA records file, or None for no records.
        version: The pipeline's version in CodePipeline.
        arn: The pipeline's ARN.
        role_arn: Its service role.
        artifact_bucket: Its artifact store bucket.
        lab: The lab whose tags its resources carry.
    """

    def __init__(
        self,
        definition: PipelineDefinition,
        handlers: Mapping[str, Handler],
        *,
        ctx: Any | None = None,
        repo: Repo | None = None,
        store: ArtifactStore | None = None,
        approver: Approver | None = None,
        seed: int = 0,
        records: str | os.PathLike[str] | None = None,
        version: int = 1,
        arn: str | None = None,
        role_arn: str | None = None,
        artifact_bucket: str | None = None,
        lab: str | None = None,
    ) -> None:
        self.ctx, self.repo, self.lab = ctx, repo, lab
        self.arn, self.role_arn = arn, role_arn
        self._folder = None
        if store is None:
            self._folder = tempfile.TemporaryDirectory(prefix="labs-artifacts-")
            store = FolderArtifactStore(self._folder.name, artifact_bucket or "local-artifacts")
        self.store = store
        self.artifact_bucket = store.bucket
        self.recorder = DoraRecorder(records, repo) if records is not None else None
        for handler in handlers.values():
            if isinstance(handler, Deployer) and handler.commit is None and repo is not None:
                handler.commit = repo.head
        self.executor = Executor(
            definition,
            handlers,
            store=store,
            start=START,
            approver=approver,
            seed=seed,
            on_trigger=self._on_trigger if self._emulated else None,
            on_action_done=self._on_action_done,
            version=version,
            region=ctx.region if ctx is not None else "us-east-1",
        )

    def __repr__(self) -> str:
        """``<Pipeline labs-bookstore v1: 3 executions>``."""
        n = len(self.executor.executions)
        return f"<Pipeline {self.name} v{self.version}: {n} execution{'s' * (n != 1)}>"

    @property
    def _emulated(self) -> bool:
        return self.ctx is not None and self.ctx.is_local

    @property
    def name(self) -> str:
        """The pipeline's name."""
        return self.definition.name

    @property
    def definition(self) -> PipelineDefinition:
        """The definition new executions run."""
        return self.executor.definition

    @property
    def version(self) -> int:
        """The pipeline's version (``update_pipeline`` adds one)."""
        return self.executor.version

    @property
    def now(self) -> pd.Timestamp:
        """The pipeline's simulated clock."""
        return self.executor.now

    @property
    def records_file(self) -> Path | None:
        """The DORA records file, if any."""
        return self.recorder.path if self.recorder is not None else None

    # -- hooks ------------------------------------------------------------------------------

    def _on_trigger(self, execution: Execution) -> str | None:
        source = self.definition.stages[0].actions[0].name
        answer = self.ctx.client("codepipeline").start_pipeline_execution(
            name=self.name,
            sourceRevisions=[
                {
                    "actionName": source,
                    "revisionType": "COMMIT_ID",
                    "revisionValue": execution.commit,
                }
            ],
        )
        return answer["pipelineExecutionId"]

    def _on_action_done(
        self, execution: Execution, action: ActionExecution, outcome: ActionOutcome
    ) -> None:
        deployment = outcome.details.get("deployment")
        if self.recorder is not None and deployment is not None and deployment.production:
            self.recorder.deployment(
                deployment=deployment, started=action.start, execution=execution, action=action
            )

    # -- running ----------------------------------------------------------------------------

    def _commit(self, commit: str | None) -> tuple[str, str, str, pd.Timestamp | None]:
        if self.repo is None:
            if commit is None:
                raise InputError(
                    "This pipeline has no repository: say which commit to run.",
                    hint="run(commit='…').",
                )
            return commit, "", "", None
        branch = self.definition.stages[0].actions[0].configuration.get("BranchName", "HEAD")
        sha = self.repo.rev_parse(commit or branch)
        subject, author, seconds = (
            self.repo.git("show", "-s", "--format=%s%x1f%an%x1f%ct", sha).strip().split("\x1f")
        )
        return sha, subject, author, pd.Timestamp(int(seconds), unit="s", tz="UTC")

    def run(
        self,
        commit: str | None = None,
        *,
        at: Any = None,
        trigger: str = "StartPipelineExecution",
    ) -> Execution:
        """Run an execution of ``commit`` and carry on until only people can move it on.

        Args:
            commit: A commit, branch or tag; default the head of the source action's branch.
            at: When it starts (simulated); default the commit's date, or now if later.
            trigger: The trigger type it reports.

        Returns:
            The :class:`~labs.cicd.pipeline.executor.Execution` (``InProgress`` while an
            approval waits).
        """
        sha, message, author, committed = self._commit(commit)
        if self.ctx is not None and not self.ctx.is_local:
            from labs.cicd.pipeline import aws

            return aws.follow(self, sha)
        execution = self.executor.trigger(
            sha,
            at=at if at is not None else committed,
            message=message,
            author=author,
            trigger_type=trigger,
        )
        self.executor.advance()
        return execution

    def run_commits(
        self,
        commits: Iterable[str | tuple[str, Any]],
        *,
        progress: bool = False,
        desc: str = "Running commits through the pipeline",
    ) -> list[Execution]:
        """Run several commits, each arriving at its date (or the time given with it).

        Their executions overlap in simulated time as the stages allow: in ``SUPERSEDED`` mode a
        newer one overtakes an older one waiting for a locked stage. Commits pushed to the branch
        start executions through change detection (trigger type ``CloudWatchEvent``).

        Args:
            commits: Commits, or ``(commit, when)`` pairs.
            progress: Show a progress bar of finished executions (:mod:`labs.progressbar`);
                a notebook keeps the one line ``"<desc>: <n> executions"``.
            desc: What the bar says it is doing.

        Returns:
            Their executions, in the order given.
        """
        if self.ctx is not None and not self.ctx.is_local:
            from labs.cicd.pipeline import aws

            picked = [c if isinstance(c, str) else c[0] for c in commits]
            bar = progressbar.progress(picked, desc=desc, unit="execution", enabled=progress)
            return [aws.follow(self, self._commit(c)[0]) for c in bar]
        started = []
        for item in commits:
            commit, when = (item, None) if isinstance(item, str) else item
            sha, message, author, committed = self._commit(commit)
            started.append(
                self.executor.trigger(
                    sha,
                    at=when if when is not None else committed,
                    message=message,
                    author=author,
                    trigger_type="CloudWatchEvent",
                )
            )
        if not progress:
            self.executor.advance()
            return started
        with progressbar.progress(total=len(started), desc=desc, unit="execution") as bar:
            counted_at = [time.monotonic()]

            def count(force: bool = False) -> None:
                # Counting is O(executions): do it no more often than the bar can redraw.
                now = time.monotonic()
                if force or now - counted_at[0] >= progressbar.MIN_INTERVAL_S:
                    counted_at[0] = now
                    bar.update(sum(e.finished for e in started) - bar.n)

            self.executor.advance(on_event=count)
            count(force=True)  # an execution waiting for an approval keeps the bar short
        return started

    def approve(
        self,
        execution: str | int | Execution | None = None,
        *,
        summary: str = "",
        after_minutes: float = 5.0,
        stage: str | None = None,
        action: str | None = None,
    ) -> Execution:
        """Approve a waiting manual approval (``PutApprovalResult`` Approved) and carry on.

        Args:
            execution: Which execution (id, number); default the only one waiting.
            summary: Your comment.
            after_minutes: Minutes after the approval started that you answered (simulated).
            stage: The approval's stage, when several wait.
            action: The approval's action name, when several wait.
        """
        return self.executor.answer(
            "Approved",
            execution=execution,
            stage=stage,
            action=action,
            summary=summary,
            after_minutes=after_minutes,
        )

    def reject(
        self,
        execution: str | int | Execution | None = None,
        *,
        summary: str = "",
        after_minutes: float = 5.0,
        stage: str | None = None,
        action: str | None = None,
    ) -> Execution:
        """Reject a waiting manual approval: the action fails, and so does the execution."""
        return self.executor.answer(
            "Rejected",
            execution=execution,
            stage=stage,
            action=action,
            summary=summary,
            after_minutes=after_minutes,
        )

    def retry(
        self,
        execution: str | int | Execution,
        stage: str | None = None,
        *,
        mode: str = "FAILED_ACTIONS",
    ) -> Execution:
        """Retry the failed stage of a failed execution (``RetryStageExecution``).

        Args:
            execution: The failed execution.
            stage: The stage it failed in (default: that one).
            mode: ``FAILED_ACTIONS`` (only the failed actions) or ``ALL_ACTIONS``.
        """
        return self.executor.retry(execution, stage, mode)

    def stop(
        self, execution: str | int | Execution, *, abandon: bool = False, reason: str = ""
    ) -> Execution:
        """Stop an execution: let its running actions finish, or abandon them."""
        return self.executor.stop(execution, abandon=abandon, reason=reason)

    def update(self, definition: PipelineDefinition) -> str:
        """Change the pipeline (``update_pipeline`` when the declaration changed).

        Executions still in progress are cancelled, as CodePipeline does when a pipeline's
        definition changes under them.

        Returns:
            ``updated``, ``unchanged`` (the declaration is the same; a changed buildspec alone
            belongs to the CodeBuild project) or ``updated locally`` (no emulator).
        """
        definition.validate()
        version, what = self.version, "updated locally"
        if self.ctx is not None:
            declaration = definition.declaration(
                role_arn=self.role_arn or "", artifact_bucket=self.artifact_bucket
            )
            version, what, self.arn = resources.put_pipeline(
                self.ctx, declaration, self.ctx.tags(lab=self.lab)
            )
        elif definition.declaration(role_arn="", artifact_bucket="") != (
            self.definition.declaration(role_arn="", artifact_bucket="")
        ):
            version += 1
        self.executor.set_definition(definition, version)
        return what

    def set_buildspec(self, project: str, buildspec: str) -> str:
        """Point CodeBuild project ``project`` at another buildspec (path or YAML text).

        The pipeline's declaration (and version) stays as it is: the buildspec belongs to the
        CodeBuild project.
        """
        return self.update(self.definition.with_buildspec(project, buildspec))

    # -- reading ----------------------------------------------------------------------------

    def execution(self, key: str | int) -> Execution:
        """The execution with this id or number."""
        return self.executor.execution(key)

    @property
    def history(self) -> list[Execution]:
        """Every execution, oldest first."""
        return sorted(self.executor.executions.values(), key=lambda e: e.number)

    def pending_approvals(self) -> pd.DataFrame:
        """The approvals waiting for an answer: execution, stage, action, since when."""
        return pd.DataFrame(
            [
                {
                    "execution": a.execution_number,
                    "stage": a.stage,
                    "action": a.name,
                    "waiting since": a.start,
                    "token": a.token,
                }
                for a in self.executor.pending_approvals()
            ],
            columns=["execution", "stage", "action", "waiting since", "token"],
        )

    def executions(self) -> pd.DataFrame:
        """The execution history, one row per execution, oldest first."""
        return views.executions_frame(self.executor)

    def action_executions(self, execution: str | int | None = None) -> pd.DataFrame:
        """Every action run (of one execution if given), in start order."""
        return views.action_executions_frame(self.executor, execution)

    def state(self) -> pd.DataFrame:
        """What ``get_pipeline_state`` says now, one row per action."""
        return views.state_frame(self.executor)

    def list_pipeline_executions(self) -> dict[str, Any]:
        """The ``ListPipelineExecutions`` response (newest first)."""
        return views.list_pipeline_executions(self.executor)

    def get_pipeline_execution(self, execution: str | int) -> dict[str, Any]:
        """The ``GetPipelineExecution`` response."""
        return views.get_pipeline_execution(self.executor, execution)

    def list_action_executions(self, execution: str | int | None = None) -> dict[str, Any]:
        """The ``ListActionExecutions`` response (newest first)."""
        return views.list_action_executions(self.executor, execution)

    def get_pipeline_state(self) -> dict[str, Any]:
        """The ``GetPipelineState`` response."""
        return views.get_pipeline_state(self.executor)

    def records(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The DORA records so far as ``(changes, deployments, incidents)`` frames.

        Raises:
            InputError: The pipeline writes no records.
        """
        from labs.dora import from_records

        if self.recorder is None:
            raise InputError(
                f"Pipeline {self.name!r} writes no DORA records.",
                hint="Create it with labs.cicd.pipeline.create(ctx, …) or records=<path>.",
            )
        return from_records(self.recorder.path)

    def draw(self, **kwargs: Any) -> Any:
        """The pipeline's diagram (:func:`labs.cicd.pipeline.plots.draw`)."""
        return plots.draw(self.definition, **kwargs)

    def timeline(self, executions: Iterable[Execution] | None = None, **kwargs: Any) -> Any:
        """Executions over simulated time (:func:`labs.cicd.pipeline.plots.timeline`)."""
        return plots.timeline(
            self.history if executions is None else executions, self.definition, **kwargs
        )

    def close(self) -> None:
        """Delete the executor's scratch files (the emulator's resources stay)."""
        self.executor.close()
        if self._folder is not None:
            self._folder.cleanup()


def create(
    ctx: Any,
    definition: PipelineDefinition,
    *,
    repo: Repo | None = None,
    deployer: Deployer | None = None,
    handlers: Mapping[str, Handler] | None = None,
    lab: str | None = None,
    approver: Approver | None = None,
    seed: int = 0,
) -> Pipeline:
    """Create (or update) ``definition`` in CodePipeline and return the :class:`Pipeline`.

    Makes the service role (``labs-codepipeline-service-role``, trusted by
    ``codepipeline.amazonaws.com``) and the tagged artifact bucket, then ``create_pipeline`` —
    or ``update_pipeline`` when a pipeline of that name exists with another declaration, so a
    notebook can run again. Its executions start afresh (and so does its DORA records file).

    Args:
        ctx: The workshop context.
        definition: The pipeline.
        repo: The repository its source action reads (default: the bookstore's).
        deployer: The Deploy action (default: a canary on the emulator, no alarms).
        handlers: More or other handlers, by provider.
        lab: The lab whose tags everything carries.
        approver: Answers approvals automatically; default: they wait for you.
        seed: Seeds ids, artifact keys and the deployments' traffic.

    Returns:
        The :class:`Pipeline`.
    """
    from labs.cicd.git import bookstore_repo

    definition.validate()
    tags = ctx.tags(lab=lab)
    role = resources.ensure_service_role(ctx, tags)
    bucket = resources.artifact_bucket_name(ctx, definition.name)
    resources.ensure_artifact_bucket(ctx, bucket, tags)
    declaration = definition.declaration(role_arn=role, artifact_bucket=bucket)
    version, _, arn = resources.put_pipeline(ctx, declaration, tags)
    repo = repo or bookstore_repo()
    local = ctx if ctx.is_local else None
    chosen: dict[str, Handler] = {
        "CodeCommit": GitSource(repo),
        "CodeBuild": CodeBuildRunner(local, lab),
        "CodeDeployToECS": deployer or Deployer(where=local, seed=seed, lab=lab),
    }
    chosen.update(handlers or {})
    return Pipeline(
        definition,
        chosen,
        ctx=ctx,
        repo=repo,
        store=S3ArtifactStore(ctx, bucket),
        approver=approver,
        seed=seed,
        records=records_path(definition.name),
        version=version,
        arn=arn,
        role_arn=role,
        artifact_bucket=bucket,
        lab=lab,
    )


def run(ctx: Any, pipeline: Pipeline, commit: str | None = None, *, at: Any = None) -> Execution:
    """Run ``commit`` through ``pipeline`` (made by :func:`create`); see :meth:`Pipeline.run`.

    Raises:
        InputError: ``pipeline`` is a definition that was not created, or belongs to another
            workshop context.
    """
    if isinstance(pipeline, PipelineDefinition):
        raise InputError(
            f"{pipeline.name!r} is a definition: create the pipeline first.",
            hint="pipe = labs.cicd.pipeline.create(ctx, definition); then run(ctx, pipe, …).",
        )
    if not isinstance(pipeline, Pipeline):
        raise InputError(
            f"run() takes the Pipeline that create() returned, not {type(pipeline).__name__}."
        )
    if ctx is not None and pipeline.ctx is not None and ctx != pipeline.ctx:
        raise InputError(
            "This pipeline was created with another workshop context.",
            hint="Create it again with this ctx.",
        )
    return pipeline.run(commit, at=at)
