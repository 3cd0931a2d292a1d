"""What CodePipeline's read APIs would answer about the executor's executions, and as DataFrames.

The emulator has no ``GetPipelineState`` and no ``ListActionExecutions``, and its execution
history says ``Succeeded`` for everything (FACTS.md). These functions answer from the executor
instead, in the response shapes of the CodePipeline API reference
(https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_GetPipelineState.html,
https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ListActionExecutions.html,
https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ListPipelineExecutions.html):
timestamps are simulated. The frames flatten them for reading.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from labs.cicd.pipeline.executor import ActionExecution, Execution, Executor

__all__ = [
    "ACTION_COLUMNS",
    "EXECUTION_COLUMNS",
    "STATE_COLUMNS",
    "action_executions_frame",
    "executions_frame",
    "get_pipeline_execution",
    "get_pipeline_state",
    "list_action_executions",
    "list_pipeline_executions",
    "state_frame",
]

EXECUTION_COLUMNS = [
    "execution",
    "pipelineExecutionId",
    "status",
    "commit",
    "author",
    "message",
    "started",
    "lastUpdate",
    "minutes",
    "trigger",
    "statusSummary",
]
ACTION_COLUMNS = [
    "execution",
    "stage",
    "action",
    "category",
    "provider",
    "attempt",
    "status",
    "start",
    "end",
    "minutes",
    "summary",
    "inputArtifacts",
    "outputArtifacts",
    "outputVariables",
    "externalExecutionId",
    "actionExecutionId",
    "pipelineExecutionId",
]
STATE_COLUMNS = [
    "stage",
    "stageStatus",
    "stageExecution",
    "inbound",
    "action",
    "actionStatus",
    "actionExecution",
    "summary",
    "lastStatusChange",
    "revision",
]


def _summary(execution: Execution) -> dict[str, Any]:
    source = _source_name(execution)
    return {
        "pipelineExecutionId": execution.id,
        "status": execution.status,
        "statusSummary": execution.summary,
        "startTime": execution.triggered.to_pydatetime(),
        "lastUpdateTime": (execution.updated or execution.triggered).to_pydatetime(),
        "sourceRevisions": [
            {
                "actionName": source,
                "revisionId": execution.commit,
                "revisionSummary": execution.message,
            }
        ],
        "trigger": {"triggerType": execution.trigger_type, "triggerDetail": ""},
        "executionMode": execution.execution_mode,
        "executionType": "STANDARD",
    }


def _source_name(execution: Execution) -> str:
    sources = [a.name for a in execution.actions if a.action.category == "Source"]
    return sources[0] if sources else "Source"


def list_pipeline_executions(executor: Executor) -> dict[str, Any]:
    """``ListPipelineExecutions``: the executions, most recent first."""
    executions = sorted(executor.executions.values(), key=lambda e: e.number, reverse=True)
    return {"pipelineExecutionSummaries": [_summary(e) for e in executions]}


def get_pipeline_execution(executor: Executor, execution: str | int) -> dict[str, Any]:
    """``GetPipelineExecution``: one execution, with its artifact revisions and variables."""
    run = executor.execution(execution)
    return {
        "pipelineExecution": {
            "pipelineName": run.pipeline,
            "pipelineVersion": run.pipeline_version,
            "pipelineExecutionId": run.id,
            "status": run.status,
            "statusSummary": run.summary,
            "artifactRevisions": [
                {"name": ref.name, "revisionId": run.commit, "revisionSummary": run.message}
                for ref in run.artifacts.values()
                if ref.name in _source_outputs(run)
            ],
            "trigger": {"triggerType": run.trigger_type, "triggerDetail": ""},
            "executionMode": run.execution_mode,
            "executionType": "STANDARD",
        }
    }


def _source_outputs(execution: Execution) -> set[str]:
    return {
        name
        for a in execution.actions
        if a.action.category == "Source"
        for name in a.action.output_artifacts
    }


def _detail(run: ActionExecution, executor: Executor) -> dict[str, Any]:
    result: dict[str, Any] = {
        "externalExecutionSummary": run.summary,
    }
    if run.external_id:
        result["externalExecutionId"] = run.external_id
    if run.external_url:
        result["externalExecutionUrl"] = run.external_url
    if run.status == "Failed":
        result["errorDetails"] = {"code": run.error_code or "JobFailed", "message": run.summary}
    detail = {
        "pipelineExecutionId": run.execution_id,
        "actionExecutionId": run.id,
        "pipelineVersion": executor.executions[run.execution_id].pipeline_version,
        "stageName": run.stage,
        "actionName": run.name,
        "startTime": run.start.to_pydatetime(),
        "lastUpdateTime": (run.end or run.start).to_pydatetime(),
        "updatedBy": run.updated_by,
        "status": run.status,
        "input": {
            "actionTypeId": run.action.action_type.declaration(),
            "configuration": dict(run.configuration),
            "resolvedConfiguration": dict(run.resolved_configuration),
            "region": executor.region,
            "inputArtifacts": [ref.detail() for ref in run.input_artifacts],
        },
        "output": {
            "outputArtifacts": [ref.detail() for ref in run.output_artifacts],
            "executionResult": result,
            "outputVariables": dict(run.output_variables),
        },
    }
    if run.action.namespace:
        detail["input"]["namespace"] = run.action.namespace
    return detail


def list_action_executions(
    executor: Executor, execution: str | int | None = None
) -> dict[str, Any]:
    """``ListActionExecutions``: action runs, most recent first (of one execution if given)."""
    runs = [
        a
        for e in executor.executions.values()
        if execution is None or e is executor.execution(execution)
        for a in e.actions
    ]
    runs.sort(key=lambda a: (a.start, a.execution_number), reverse=True)
    return {"actionExecutionDetails": [_detail(a, executor) for a in runs]}


def get_pipeline_state(executor: Executor) -> dict[str, Any]:
    """``GetPipelineState``: each stage's latest execution, its inbound one, its actions."""
    stages = []
    runs = [a for e in executor.executions.values() for a in e.actions]
    for stage in executor.definition.stages:
        slot = executor.slots[stage.name]
        state: dict[str, Any] = {
            "stageName": stage.name,
            "inboundTransitionState": {"enabled": True},
            "actionStates": [],
        }
        latest = executor.executions.get(slot.last_entered or "")
        if latest is not None and stage.name in latest.stage_runs:
            state["latestExecution"] = {
                "pipelineExecutionId": latest.id,
                "status": latest.stage_runs[stage.name].status,
                "type": "STANDARD",
            }
        waiting = [executor.executions[i] for i in slot.waiting]
        if waiting:
            state["inboundExecution"] = {
                "pipelineExecutionId": waiting[0].id,
                "status": "InProgress",
                "type": "STANDARD",
            }
            state["inboundExecutions"] = [
                {"pipelineExecutionId": e.id, "status": "InProgress", "type": "STANDARD"}
                for e in waiting
            ]
        for action in stage.actions:
            mine = [a for a in runs if a.stage == stage.name and a.name == action.name]
            entry: dict[str, Any] = {"actionName": action.name}
            if mine:
                last = max(mine, key=lambda a: (a.start, a.execution_number, a.attempt))
                execution = {
                    "actionExecutionId": last.id,
                    "status": last.status,
                    "summary": last.summary,
                    "lastStatusChange": (last.end or last.start).to_pydatetime(),
                    "lastUpdatedBy": last.updated_by,
                }
                if last.token and last.status == "InProgress":
                    execution["token"] = last.token
                if last.external_id:
                    execution["externalExecutionId"] = last.external_id
                if last.status == "Failed":
                    execution["errorDetails"] = {
                        "code": last.error_code or "JobFailed",
                        "message": last.summary,
                    }
                entry["latestExecution"] = execution
                if action.category == "Source":
                    owner = executor.executions[last.execution_id]
                    entry["currentRevision"] = {
                        "revisionId": owner.commit,
                        "created": owner.triggered.to_pydatetime(),
                    }
            state["actionStates"].append(entry)
        stages.append(state)
    return {
        "pipelineName": executor.definition.name,
        "pipelineVersion": executor.version,
        "stageStates": stages,
    }


# -- frames ----------------------------------------------------------------------------------


def executions_frame(executor: Executor) -> pd.DataFrame:
    """One row per execution, oldest first (``list_pipeline_executions`` lists newest first)."""
    rows = [
        {
            "execution": e.number,
            "pipelineExecutionId": e.id,
            "status": e.status,
            "commit": e.commit,
            "author": e.author,
            "message": e.message,
            "started": e.triggered,
            "lastUpdate": e.updated,
            "minutes": round(e.minutes, 1),
            "trigger": e.trigger_type,
            "statusSummary": e.summary,
        }
        for e in sorted(executor.executions.values(), key=lambda e: e.number)
    ]
    return pd.DataFrame(rows, columns=EXECUTION_COLUMNS)


def action_executions_frame(executor: Executor, execution: str | int | None = None) -> pd.DataFrame:
    """One row per action run, in start order (of one execution if given)."""
    rows = []
    for e in sorted(executor.executions.values(), key=lambda e: e.number):
        if execution is not None and e is not executor.execution(execution):
            continue
        for a in e.actions:
            rows.append(
                {
                    "execution": e.number,
                    "stage": a.stage,
                    "action": a.name,
                    "category": a.action.category,
                    "provider": a.action.provider,
                    "attempt": a.attempt,
                    "status": a.status,
                    "start": a.start,
                    "end": a.end,
                    "minutes": None if a.end is None else round(a.minutes, 1),
                    "summary": a.summary,
                    "inputArtifacts": ", ".join(r.name for r in a.input_artifacts),
                    "outputArtifacts": ", ".join(r.name for r in a.output_artifacts),
                    "outputVariables": dict(a.output_variables),
                    "externalExecutionId": a.external_id,
                    "actionExecutionId": a.id,
                    "pipelineExecutionId": e.id,
                }
            )
    frame = pd.DataFrame(rows, columns=ACTION_COLUMNS)
    return frame.sort_values(["start", "execution"], kind="stable", ignore_index=True)


def state_frame(executor: Executor) -> pd.DataFrame:
    """``get_pipeline_state`` flattened: one row per action, with its stage's state."""
    numbers = {e.id: e.number for e in executor.executions.values()}
    rows = []
    for stage in get_pipeline_state(executor)["stageStates"]:
        latest = stage.get("latestExecution", {})
        inbound = [numbers[e["pipelineExecutionId"]] for e in stage.get("inboundExecutions", [])]
        for action in stage["actionStates"]:
            last = action.get("latestExecution", {})
            owner = next(
                (
                    numbers[a.execution_id]
                    for e in executor.executions.values()
                    for a in e.actions
                    if a.id == last.get("actionExecutionId")
                ),
                None,
            )
            rows.append(
                {
                    "stage": stage["stageName"],
                    "stageStatus": latest.get("status", ""),
                    "stageExecution": numbers.get(latest.get("pipelineExecutionId", "")),
                    "inbound": ", ".join(f"#{n}" for n in inbound),
                    "action": action["actionName"],
                    "actionStatus": last.get("status", ""),
                    "actionExecution": owner,
                    "summary": last.get("summary", ""),
                    "lastStatusChange": pd.Timestamp(last["lastStatusChange"])
                    if "lastStatusChange" in last
                    else pd.NaT,
                    "revision": action.get("currentRevision", {}).get("revisionId", ""),
                }
            )
    return pd.DataFrame(rows, columns=STATE_COLUMNS)
