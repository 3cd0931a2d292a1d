"""*Check your work* for the pipeline lab: a test stage, an approval before production, a rollback.

Each check prints one ``✔`` line (:func:`labs.checks.passed`) or raises
:class:`labs.errors.CheckFailed` saying what was expected, what was found, and a hint. The
approval check runs the learner's definition for real on the executor, with quick stand-in
actions, to see that a rejection keeps the release out of production.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labs.checks import answered, exercise, passed
from labs.cicd.pipeline.executor import ActionOutcome, ActionRequest, Execution
from labs.cicd.pipeline.live import Pipeline
from labs.cicd.pipeline.model import PipelineDefinition, PipelineError, references
from labs.errors import CheckFailed

__all__ = ["approval_before_production", "rolled_back_commit", "test_stage_added"]


def _execution(value: Any, what: str) -> Execution:
    value = answered(value, what, hint="Keep what pipe.run(...) returns in `answer`.")
    if not isinstance(value, Execution):
        raise CheckFailed(
            f"{what} is not a pipeline execution.",
            expected="what pipe.run(...) returns (an Execution)",
            found=type(value).__name__,
            hint="answer = pipe.run()",
        )
    return value


@exercise("05", 1)
def test_stage_added(pipe: Pipeline, answer: Any) -> None:
    """Pass when ``answer`` ran a Test action on the build, after Build and before Deploy, and
    the execution succeeded.

    Args:
        pipe: The lab's pipeline.
        answer: The execution the learner ran after updating the pipeline.
    """
    execution = _execution(answer, "answer")
    stages = pipe.definition.stage_names
    tests = [a for a in execution.actions if a.action.category == "Test"]
    if not tests:
        ran = ", ".join(f"{a.stage}/{a.name} ({a.action.category})" for a in execution.actions)
        raise CheckFailed(
            f"execution #{execution.number} ran no Test action.",
            expected="an action with actionTypeId category 'Test' (e.g. smoke_test_action(ctx))",
            found=ran or "no actions",
            hint="Add Stage('Test', [cp.smoke_test_action(ctx)]) with with_stage(..., "
            "after='Build'), call pipe.update(...), then run again.",
        )
    test = tests[-1]
    builds = [a for a in execution.actions if a.action.category == "Build"]
    deploys = [a for a in execution.actions if a.action.category == "Deploy"]
    if test.stage not in stages or not builds or not deploys:
        raise CheckFailed(
            "the test did not run between the build and the deployment.",
            expected="Source → Build → Test → Deploy, all run by the same execution",
            found=f"stages run: {', '.join(execution.stage_runs)}",
            hint="Run the whole pipeline after pipe.update(...): answer = pipe.run().",
        )
    order = stages.index
    if not order(builds[-1].stage) < order(test.stage) < order(deploys[-1].stage):
        raise CheckFailed(
            "the Test stage is not between Build and Deploy.",
            expected="Source, Build, Test, Deploy",
            found=", ".join(stages),
            hint="with_stage(stage, after='Build') inserts it right after Build.",
        )
    if "BuildArtifact" not in test.action.input_artifacts:
        raise CheckFailed(
            f"the test action reads {', '.join(test.action.input_artifacts) or 'nothing'}.",
            expected="inputArtifacts ['BuildArtifact']: test what the build produced",
            found=list(test.action.input_artifacts),
            hint="smoke_test_action(ctx) reads BuildArtifact.",
        )
    if test.status != "Succeeded" or execution.status != "Succeeded":
        raise CheckFailed(
            f"execution #{execution.number} did not succeed.",
            expected="the test action and the execution Succeeded",
            found=f"test {test.status}, execution {execution.status}: {execution.summary}",
            hint="Read pipe.action_executions(answer.number) for the failing action's summary.",
        )
    passed(
        f"execution #{execution.number}: {test.stage}/{test.name} tested the build "
        f"between {builds[-1].stage} and {deploys[-1].stage}, and the release went out"
    )


test_stage_added.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _approval_precedes(definition: PipelineDefinition) -> list[str]:
    """Names of Deploy actions with no approval running before them."""
    stages = definition.stages
    missing = []
    for index, stage in enumerate(stages):
        for action in stage.actions:
            if action.category != "Deploy":
                continue
            earlier = any(
                a.category == "Approval" for s in stages[:index] for a in s.actions
            ) or any(
                a.category == "Approval" and a.run_order < action.run_order for a in stage.actions
            )
            if not earlier:
                missing.append(f"{stage.name}/{action.name}")
    return missing


def _stand_ins(definition: PipelineDefinition, deployed: list[int]) -> dict[str, Any]:
    """Quick stand-in actions: each makes its outputs and the variables others reference."""
    wanted: dict[str, set[str]] = {}
    for _, action in definition.actions():
        for namespace, variable in references(action.configuration):
            wanted.setdefault(namespace, set()).add(variable)

    def run(request: ActionRequest) -> ActionOutcome:
        if request.action.category == "Deploy":
            deployed.append(request.execution.number)
        empty_zip = b"PK\x05\x06" + bytes(18)
        return ActionOutcome(
            minutes=1,
            outputs={name: empty_zip for name in request.action.output_artifacts},
            variables={v: "stand-in" for v in wanted.get(request.action.namespace or "", ())},
        )

    return {a.provider: run for _, a in definition.actions() if a.category != "Approval"}


@exercise("05", 2)
def approval_before_production(answer: Any) -> None:
    """Pass when ``answer`` (a definition) makes every deployment wait for a manual approval:
    structurally, and when run — rejected, nothing is deployed; approved, it is.
    """
    definition = answered(answer, "answer", hint="Build the new definition and keep it in answer.")
    if not isinstance(definition, PipelineDefinition):
        raise CheckFailed(
            "answer is not a pipeline definition.",
            expected="a PipelineDefinition (e.g. pipe.definition.with_stage(...))",
            found=type(definition).__name__,
        )
    try:
        definition.validate()
    except PipelineError as exc:
        raise CheckFailed(
            "the definition breaks a CodePipeline rule.",
            found=str(exc).splitlines()[0],
            hint=exc.hint,
        ) from None
    approvals = [a for _, a in definition.actions() if a.category == "Approval"]
    if not approvals:
        raise CheckFailed(
            "the pipeline has no approval action.",
            expected="an action of category Approval, provider Manual (approval_action(...))",
            found=", ".join(f"{s.name}/{a.name}" for s, a in definition.actions()),
            hint="Stage('Approve', [cp.approval_action('ApproveRelease')]) before Deploy.",
        )
    missing = _approval_precedes(definition)
    if missing:
        raise CheckFailed(
            f"{', '.join(missing)} can run before any approval.",
            expected="the approval in an earlier stage, or in the Deploy stage with a smaller "
            "runOrder",
            found=", ".join(
                f"{s.name}/{a.name} (runOrder {a.run_order})" for s, a in definition.actions()
            ),
            hint="with_stage(Stage('Approve', [...]), before='Deploy').",
        )
    deployed: list[int] = []
    pipe = Pipeline(definition, _stand_ins(definition, deployed))
    try:
        first = pipe.run("0" * 40)
        waiting = pipe.executor.pending_approvals()
        if first.status != "InProgress" or not waiting or deployed:
            raise CheckFailed(
                "an execution did not stop at the approval.",
                expected="InProgress, waiting for approval, nothing deployed",
                found=f"{first.status}: {first.summary}",
            )
        pipe.reject(first, summary="check: rejected")
        if first.status != "Failed" or deployed:
            raise CheckFailed(
                "a rejected approval did not stop the release.",
                expected="the execution Failed and no deployment",
                found=f"{first.status}; deployments {deployed}",
            )
        second = pipe.run("1" * 40)
        while pipe.executor.pending_approvals():
            pipe.approve(second, summary="check: approved")
        if second.status != "Succeeded" or deployed != [second.number]:
            raise CheckFailed(
                "an approved execution did not deploy.",
                expected="Succeeded, deployed once",
                found=f"{second.status}: {second.summary}",
            )
    finally:
        pipe.close()
    names = ", ".join(f"{a.name}" for a in approvals)
    passed(f"every deployment waits for {names}: rejected, nothing shipped; approved, it shipped")


@exercise("05", 3)
def rolled_back_commit(executions: Sequence[Execution], answer: Any) -> None:
    """Pass when ``answer`` is the commit whose deployment was rolled back among ``executions``.

    Args:
        executions: The day's executions (what ``run_commits`` returned).
        answer: A commit SHA (full, or at least its first 7 characters).
    """
    value = answered(answer, "answer", hint="Put the commit SHA (a string) in answer.")
    if not isinstance(value, str) or len(value.strip()) < 7:
        raise CheckFailed(
            "answer is not a commit SHA.",
            expected="the commit's SHA, e.g. from pipe.executions()['commit']",
            found=repr(value),
        )
    value = value.strip().lower()
    rolled = [
        e
        for e in executions
        for a in e.actions
        if a.action.category == "Deploy"
        and getattr(a.details.get("deployment"), "rolled_back", False)
    ]
    if not rolled:
        raise CheckFailed(
            "no deployment of these executions was rolled back, so there is nothing to find.",
            hint="Pass the executions of the day of commits.",
        )
    truth = {e.commit for e in rolled}
    if not any(sha.startswith(value) for sha in truth):
        others = {e.commit: e for e in executions}
        found = others.get(next((sha for sha in others if sha.startswith(value)), ""))
        why = (
            f"execution #{found.number} ({found.status}: {found.summary})"
            if found is not None
            else "a commit none of the day's executions ran"
        )
        raise CheckFailed(
            "that is not the commit whose deployment was rolled back.",
            found=why,
            hint="Look for the execution that failed in the Deploy stage: "
            "pipe.action_executions() has a row per action, with its status and summary.",
        )
    execution = next(e for e in rolled if e.commit.startswith(value))
    passed(
        f"execution #{execution.number} ({execution.message!r}) was rolled back: "
        "its Deploy action failed when the alarm fired"
    )
