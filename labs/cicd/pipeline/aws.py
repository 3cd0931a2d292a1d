"""On the aws target: start a real pipeline execution and follow it (not tested offline).

Kept small and apart on purpose: it cannot run without an AWS account. It starts an execution
at the commit (``start_pipeline_execution`` with ``sourceRevisions``, pipeline type V2), polls
``get_pipeline_execution`` until the execution is no longer ``InProgress``/``Stopping``, then
reads ``list_action_executions`` into the same :class:`~labs.cicd.pipeline.executor.Execution`
the local executor makes, so the :class:`~labs.cicd.pipeline.live.Pipeline`'s frames work.

What a real run needs and this module does not create: the CodeCommit repository named by the
source action with the commit pushed to it (lab 02), the CodeBuild projects the build and test
actions name, and the CodeDeploy application and deployment group of the deploy action (lab 04
and lab 09). A manual approval is answered in the console or with ``put_approval_result``;
this function keeps polling meanwhile, up to ``timeout_minutes``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from labs.cicd.pipeline.artifacts import ArtifactRef
from labs.cicd.pipeline.executor import ActionExecution, Execution, StageRun
from labs.errors import InputError

__all__ = ["follow"]

_RUNNING = ("InProgress", "Stopping")


def _ts(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def follow(
    pipeline: Any,
    commit: str | None,
    *,
    poll_seconds: float = 15.0,
    timeout_minutes: float = 120.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Execution:
    """Start a real execution of ``commit`` and wait for it to finish.

    Args:
        pipeline: The :class:`~labs.cicd.pipeline.live.Pipeline` (aws target).
        commit: The full commit SHA to run (it must be pushed to the source repository).
        poll_seconds: Seconds between polls.
        timeout_minutes: Give up waiting after this long (the execution goes on).
        sleep: Waits between polls (tests pass a fake).
    """
    if not commit or len(commit) != 40:
        raise InputError(
            "On the aws target, run() needs the full SHA of a commit pushed to the source "
            "repository.",
            hint="pipeline.run(repo.head) after pushing it.",
        )
    cp = pipeline.ctx.client("codepipeline")
    source = pipeline.definition.stages[0].actions[0].name
    started = cp.start_pipeline_execution(
        name=pipeline.name,
        sourceRevisions=[
            {"actionName": source, "revisionType": "COMMIT_ID", "revisionValue": commit}
        ],
    )["pipelineExecutionId"]
    deadline = time.monotonic() + timeout_minutes * 60
    while True:
        answer = cp.get_pipeline_execution(pipelineName=pipeline.name, pipelineExecutionId=started)
        status = answer["pipelineExecution"]["status"]
        if status not in _RUNNING or time.monotonic() > deadline:
            break
        sleep(poll_seconds)
    details: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "pipelineName": pipeline.name,
        "filter": {"pipelineExecutionId": started},
    }
    while True:
        page = cp.list_action_executions(**kwargs)
        details.extend(page.get("actionExecutionDetails", []))
        if not page.get("nextToken"):
            break
        kwargs["nextToken"] = page["nextToken"]
    summary = next(
        (
            s
            for s in cp.list_pipeline_executions(pipelineName=pipeline.name)[
                "pipelineExecutionSummaries"
            ]
            if s["pipelineExecutionId"] == started
        ),
        {},
    )
    execution = Execution(
        id=started,
        number=len(pipeline.executor.executions) + 1,
        pipeline=pipeline.name,
        pipeline_version=int(answer["pipelineExecution"].get("pipelineVersion", 1)),
        commit=commit,
        message="",
        author="",
        triggered=_ts(summary.get("startTime", pd.Timestamp.now(tz="UTC"))),
        status=status,
        summary=answer["pipelineExecution"].get("statusSummary", ""),
        updated=_ts(summary.get("lastUpdateTime", pd.Timestamp.now(tz="UTC"))),
    )
    actions = {(s.name, a.name): a for s in pipeline.definition.stages for a in s.actions}
    for detail in sorted(details, key=lambda d: d["startTime"]):
        key = (detail["stageName"], detail["actionName"])
        if key not in actions:
            continue
        output = detail.get("output", {})
        result = output.get("executionResult", {})
        run = ActionExecution(
            id=detail["actionExecutionId"],
            execution_id=started,
            execution_number=execution.number,
            stage=key[0],
            action=actions[key],
            attempt=1 + sum(1 for a in execution.actions if (a.stage, a.name) == key),
            start=_ts(detail["startTime"]),
            status=detail["status"],
            end=_ts(detail["lastUpdateTime"]),
            summary=result.get("externalExecutionSummary", ""),
            configuration=dict(detail.get("input", {}).get("configuration", {})),
            resolved_configuration=dict(detail.get("input", {}).get("resolvedConfiguration", {})),
            input_artifacts=[
                ArtifactRef(a["name"], a["s3location"]["bucket"], a["s3location"]["key"])
                for a in detail.get("input", {}).get("inputArtifacts", [])
            ],
            output_artifacts=[
                ArtifactRef(a["name"], a["s3location"]["bucket"], a["s3location"]["key"])
                for a in output.get("outputArtifacts", [])
            ],
            output_variables=dict(output.get("outputVariables", {})),
            external_id=result.get("externalExecutionId"),
            error_code=(result.get("errorDetails") or {}).get("code"),
        )
        execution.actions.append(run)
        execution.latest[key] = run
        stage_run = execution.stage_runs.setdefault(
            key[0], StageRun(key[0], run.status, run.start, run.end)
        )
        stage_run.end = run.end
        if run.status == "Failed":
            stage_run.status = "Failed"
    pipeline.executor.executions[execution.id] = execution
    return execution
