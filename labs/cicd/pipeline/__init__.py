"""CodePipeline, defined as AWS declares it and executed for real on a simulated clock.

The emulator stores pipelines and executions but runs no action: every execution is
``Succeeded`` the moment it starts, and there is no ``GetPipelineState`` (FACTS.md). This
package defines a pipeline as CodePipeline does (pipeline type V2: stages, actions with
``actionTypeId`` and ``runOrder``, input and output artifacts, variables), creates it in the
emulator, and executes it with CodePipeline's documented semantics — stage locks, ``runOrder``
groups and parallel actions, artifacts as zips in the S3 artifact store, failure and retry,
manual approval, superseded executions — where every action really happens: the source is a
real git commit, builds and tests run the buildspec runner, deployments run the deployment
engine with its alarms and rollback. Every production deployment writes the change, deployment
and incident records :mod:`labs.dora` reads.

Modules: :mod:`~labs.cicd.pipeline.model` (definition, builders, structure rules),
:mod:`~labs.cicd.pipeline.executor` (the execution semantics), :mod:`~labs.cicd.pipeline.actions`
(what each action does, ``release.json``), :mod:`~labs.cicd.pipeline.artifacts` (the artifact
store), :mod:`~labs.cicd.pipeline.live` (``create``, ``run``, the :class:`Pipeline`),
:mod:`~labs.cicd.pipeline.views` (``GetPipelineState``/``ListActionExecutions`` shapes, frames),
:mod:`~labs.cicd.pipeline.records` (DORA records), :mod:`~labs.cicd.pipeline.resources` (role,
bucket, create/update), :mod:`~labs.cicd.pipeline.plots` (figures),
:mod:`~labs.cicd.pipeline.bookstore` (the bookstore's pipeline and a day of commits),
:mod:`~labs.cicd.pipeline.aws` (the aws target).

Example:
    >>> from labs.cicd import pipeline as cp
    >>> definition = cp.bookstore_pipeline(ctx)  # doctest: +SKIP
    >>> pipe = cp.create(ctx, definition, lab="05")  # doctest: +SKIP
    >>> execution = cp.run(ctx, pipe, commit=repo.head)  # doctest: +SKIP
    >>> execution.status  # doctest: +SKIP
    'Succeeded'
"""

from __future__ import annotations

from labs.cicd.pipeline.actions import (
    CodeBuildRunner,
    Deployer,
    Deployment,
    GitSource,
    read_release,
    release_label,
)
from labs.cicd.pipeline.artifacts import ArtifactRef, FolderArtifactStore, S3ArtifactStore
from labs.cicd.pipeline.bookstore import (
    DEVELOPERS,
    RELEASE_PATH,
    SMOKE_TEST_BUILDSPEC,
    DayCommit,
    bookstore_pipeline,
    day_of_commits,
    day_plan,
    lean_buildspec,
    release_json,
    smoke_test_action,
)
from labs.cicd.pipeline.executor import (
    APPROVAL_TIMEOUT,
    ActionExecution,
    ActionOutcome,
    ActionRequest,
    Execution,
    Executor,
    approve_after,
    reject_after,
)
from labs.cicd.pipeline.live import Pipeline, create, records_path, run
from labs.cicd.pipeline.model import (
    Action,
    ActionTypeId,
    PipelineDefinition,
    PipelineError,
    PipelineVariable,
    Stage,
    approval_action,
    build_action,
    deploy_action,
    source_action,
    test_action,
)
from labs.cicd.pipeline.plots import draw, timeline

__all__ = [
    "APPROVAL_TIMEOUT",
    "DEVELOPERS",
    "RELEASE_PATH",
    "SMOKE_TEST_BUILDSPEC",
    "Action",
    "ActionExecution",
    "ActionOutcome",
    "ActionRequest",
    "ActionTypeId",
    "ArtifactRef",
    "CodeBuildRunner",
    "DayCommit",
    "Deployer",
    "Deployment",
    "Execution",
    "Executor",
    "FolderArtifactStore",
    "GitSource",
    "Pipeline",
    "PipelineDefinition",
    "PipelineError",
    "PipelineVariable",
    "S3ArtifactStore",
    "Stage",
    "approval_action",
    "approve_after",
    "bookstore_pipeline",
    "build_action",
    "create",
    "day_of_commits",
    "day_plan",
    "deploy_action",
    "draw",
    "lean_buildspec",
    "read_release",
    "records_path",
    "reject_after",
    "release_json",
    "release_label",
    "run",
    "smoke_test_action",
    "source_action",
    "test_action",
    "timeline",
]
