"""The pipeline executor: run order, parallel actions, artifacts, failure and retry, approval,
superseded executions, stop and update — with small stand-in actions — and the definition's
structure rules, the API response shapes, the DORA records and the lab's checks.

The end-to-end test with the real buildspec runner and the deployment engine is in
``tests/test_pipeline_e2e.py``.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import botocore.session
import pandas as pd
import pytest

from labs.cicd import pipeline as cp
from labs.cicd import pipeline_checks
from labs.cicd.pipeline.executor import ActionOutcome, ActionRequest
from labs.cicd.pipeline.model import Action, ActionTypeId, PipelineDefinition, Stage
from labs.errors import CheckFailed, InputError

T0 = pd.Timestamp("2026-01-06T10:00:00Z")


def _zip(**files: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


class Fake:
    """A stand-in action: takes ``minutes``, records its calls, fails when told to."""

    def __init__(
        self,
        minutes: float | Callable[[ActionRequest], float] = 1.0,
        *,
        fail: Callable[[ActionRequest], bool] = lambda r: False,
        variables: dict[str, str] | None = None,
    ) -> None:
        self.minutes, self.fail, self.variables = minutes, fail, variables or {}
        self.calls: list[ActionRequest] = []

    def __call__(self, request: ActionRequest) -> ActionOutcome:
        self.calls.append(request)
        minutes = self.minutes(request) if callable(self.minutes) else self.minutes
        if self.fail(request):
            return ActionOutcome.failed(f"{request.action.name} failed", minutes=minutes)
        seen = {
            name: zipfile.ZipFile(io.BytesIO(b)).namelist() for name, b in request.inputs.items()
        }
        outputs = {
            name: _zip(**{f"{name}.txt": json.dumps({"by": request.action.name, "saw": seen})})
            for name in request.action.output_artifacts
        }
        return ActionOutcome(
            minutes=minutes,
            summary=f"{request.action.name} ok",
            outputs=outputs,
            variables=self.variables,
        )

    def started(self) -> list[tuple[int, str, pd.Timestamp]]:
        return [(r.execution.number, r.action.name, r.started) for r in self.calls]


def _action(name: str, category: str, provider: str = "Fake", **kwargs: Any) -> Action:
    return Action(name, ActionTypeId(category, provider), **kwargs)


def three_stages(**build: Any) -> PipelineDefinition:
    """Source (1 min) → Build (its actions given) → Deploy (1 min)."""
    return PipelineDefinition(
        "test-pipeline",
        [
            Stage(
                "Source",
                [
                    _action(
                        "Source",
                        "Source",
                        "Src",
                        output_artifacts=["SourceArtifact"],
                        namespace="SourceVariables",
                    )
                ],
            ),
            Stage(
                "Build",
                build.get("actions")
                or [
                    _action(
                        "Build",
                        "Build",
                        input_artifacts=["SourceArtifact"],
                        output_artifacts=["BuildArtifact"],
                    )
                ],
            ),
            Stage(
                "Deploy", [_action("Deploy", "Deploy", "Dep", input_artifacts=["BuildArtifact"])]
            ),
        ],
        execution_mode=build.get("mode", "SUPERSEDED"),
    )


def pipeline(
    definition: PipelineDefinition,
    *,
    build: Fake | None = None,
    deploy: Fake | None = None,
    source: Fake | None = None,
    **kwargs: Any,
) -> tuple[cp.Pipeline, dict[str, Fake]]:
    fakes = {
        "Src": source or Fake(1, variables={"CommitId": "abc"}),
        "Fake": build or Fake(6),
        "Dep": deploy or Fake(10),
    }
    return cp.Pipeline(definition, fakes, **kwargs), fakes


def minutes_after(t: pd.Timestamp, start: pd.Timestamp = T0) -> float:
    return (t - start).total_seconds() / 60


# -- one execution ---------------------------------------------------------------------------


def test_an_execution_runs_every_stage_in_order_on_the_simulated_clock() -> None:
    pipe, _ = pipeline(three_stages())
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Succeeded"
    assert list(execution.stage_runs) == ["Source", "Build", "Deploy"]
    table = execution.stages()
    assert [minutes_after(t) for t in table["start"]] == [0, 1, 7]
    assert table["minutes"].tolist() == [1.0, 6.0, 10.0]
    assert execution.minutes == 17
    assert pipe.now == T0 + pd.Timedelta(minutes=17)


def test_actions_with_the_same_run_order_run_in_parallel_and_the_next_group_waits() -> None:
    build = Fake(lambda r: {"Unit": 3, "Lint": 5, "Package": 2}[r.action.name])
    actions = [
        _action("Unit", "Build", input_artifacts=["SourceArtifact"], run_order=1),
        _action("Lint", "Test", input_artifacts=["SourceArtifact"], run_order=1),
        _action(
            "Package",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            run_order=2,
        ),
    ]
    pipe, _ = pipeline(three_stages(actions=actions), build=build)
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Succeeded"
    started = {name: minutes_after(t) for _, name, t in build.started()}
    assert started == {"Unit": 1, "Lint": 1, "Package": 6}  # after the slower of the first group
    assert minutes_after(execution.stage_runs["Build"].end) == 8


def test_run_order_values_need_not_be_consecutive() -> None:
    build = Fake(2)
    actions = [
        _action(
            "Third",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            run_order=30,
        ),
        _action("First", "Build", input_artifacts=["SourceArtifact"], run_order=1),
    ]
    pipe, _ = pipeline(three_stages(actions=actions), build=build)
    pipe.run("c1", at=T0)
    assert [name for _, name, _ in build.started()] == ["First", "Third"]


def test_artifacts_travel_as_zips_through_the_store_and_variables_are_resolved() -> None:
    actions = [
        _action(
            "Build",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            configuration={
                "Commit": "#{SourceVariables.CommitId}",
                "Run": "#{codepipeline.PipelineExecutionId}",
            },
        ),
    ]
    pipe, fakes = pipeline(three_stages(actions=actions))
    execution = pipe.run("c1", at=T0)
    build_call = fakes["Fake"].calls[0]
    assert build_call.configuration == {"Commit": "abc", "Run": execution.id}
    assert zipfile.ZipFile(io.BytesIO(build_call.inputs["SourceArtifact"])).namelist() == [
        "SourceArtifact.txt"
    ]
    deploy_call = fakes["Dep"].calls[0]
    inside = zipfile.ZipFile(io.BytesIO(deploy_call.inputs["BuildArtifact"]))
    assert json.loads(inside.read("BuildArtifact.txt"))["by"] == "Build"
    refs = {a.name: a for a in execution.actions}
    key = refs["Build"].output_artifacts[0].key
    assert key.startswith("test-pipeline/BuildArtif/") and len(key.rsplit("/", 1)[1]) == 7
    assert refs["Deploy"].input_artifacts[0] == refs["Build"].output_artifacts[0]
    assert pipe.store.get(key) == deploy_call.inputs["BuildArtifact"]
    assert refs["Build"].resolved_configuration["Commit"] == "abc"
    assert refs["Build"].configuration["Commit"] == "#{SourceVariables.CommitId}"


def test_a_variable_that_was_not_produced_fails_the_action() -> None:
    actions = [
        _action(
            "Build",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            configuration={"Commit": "#{SourceVariables.NoSuchThing}"},
        ),
    ]
    pipe, fakes = pipeline(three_stages(actions=actions))
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Failed"
    assert "NoSuchThing" in execution.action("Build").summary
    assert not fakes["Fake"].calls


def test_a_missing_declared_output_fails_the_action() -> None:
    def no_output(request: ActionRequest) -> ActionOutcome:
        return ActionOutcome(minutes=1)

    pipe = cp.Pipeline(three_stages(), {"Src": Fake(), "Fake": no_output, "Dep": Fake()})
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Failed"
    assert "BuildArtifact" in execution.action("Build").summary


# -- failure and retry ----------------------------------------------------------------------


def test_a_failed_action_lets_its_parallel_sibling_finish_and_fails_the_execution() -> None:
    build = Fake(
        lambda r: {"Unit": 2, "Lint": 5, "Package": 1}[r.action.name],
        fail=lambda r: r.action.name == "Unit",
    )
    actions = [
        _action("Unit", "Build", input_artifacts=["SourceArtifact"], run_order=1),
        _action("Lint", "Test", input_artifacts=["SourceArtifact"], run_order=1),
        _action(
            "Package",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            run_order=2,
        ),
    ]
    pipe, fakes = pipeline(three_stages(actions=actions), build=build)
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Failed"
    assert execution.failed_stage == "Build"
    assert {a.name: a.status for a in execution.actions} == {
        "Source": "Succeeded",
        "Unit": "Failed",
        "Lint": "Succeeded",
    }
    assert minutes_after(execution.stage_runs["Build"].end) == 6  # when Lint ended
    assert "Deploy" not in execution.stage_runs and not fakes["Dep"].calls
    assert "stage Build failed: Unit" in execution.summary


def test_retry_failed_actions_reruns_only_them_and_carries_on() -> None:
    attempts: list[tuple[str, int]] = []
    build = Fake(
        2,
        fail=lambda r: (
            attempts.append((r.action.name, r.attempt))
            or (r.action.name == "Unit" and r.attempt == 1)
        ),
    )
    actions = [
        _action("Unit", "Build", input_artifacts=["SourceArtifact"], run_order=1),
        _action("Lint", "Test", input_artifacts=["SourceArtifact"], run_order=1),
        _action(
            "Package",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            run_order=2,
        ),
    ]
    pipe, _ = pipeline(three_stages(actions=actions), build=build)
    execution = pipe.run("c1", at=T0)
    assert execution.status == "Failed"
    pipe.retry(execution)
    assert execution.status == "Succeeded"
    assert attempts == [("Unit", 1), ("Lint", 1), ("Unit", 2), ("Package", 1)]
    assert execution.stage_runs["Build"].attempts == 2
    assert [a.status for a in execution.actions if a.name == "Unit"] == ["Failed", "Succeeded"]


def test_retry_all_actions_reruns_the_stage_from_its_first_action() -> None:
    calls: list[tuple[str, int]] = []
    build = Fake(
        2,
        fail=lambda r: (
            calls.append((r.action.name, r.attempt))
            or (r.action.name == "Package" and r.attempt == 1)
        ),
    )
    actions = [
        _action("Unit", "Build", input_artifacts=["SourceArtifact"], run_order=1),
        _action(
            "Package",
            "Build",
            input_artifacts=["SourceArtifact"],
            output_artifacts=["BuildArtifact"],
            run_order=2,
        ),
    ]
    pipe, _ = pipeline(three_stages(actions=actions), build=build)
    execution = pipe.run("c1", at=T0)
    pipe.retry(execution, "Build", mode="ALL_ACTIONS")
    assert execution.status == "Succeeded"
    assert calls == [("Unit", 1), ("Package", 1), ("Unit", 2), ("Package", 2)]


def test_a_failed_execution_cannot_be_retried_once_another_entered_the_stage() -> None:
    pipe, _ = pipeline(three_stages(), build=Fake(6, fail=lambda r: r.execution.number == 1))
    first = pipe.run("c1", at=T0)
    pipe.run("c2", at=T0 + pd.Timedelta(minutes=30))
    with pytest.raises(InputError, match="can no longer be retried"):
        pipe.retry(first)
    with pytest.raises(InputError, match="only a failed execution"):
        pipe.retry(2)


def test_retry_needs_a_known_mode_and_the_failed_stage() -> None:
    pipe, _ = pipeline(three_stages(), build=Fake(6, fail=lambda r: True))
    execution = pipe.run("c1", at=T0)
    with pytest.raises(InputError, match="retryMode"):
        pipe.retry(execution, mode="SOME")
    with pytest.raises(InputError, match="failed in stage 'Build'"):
        pipe.retry(execution, "Deploy")


# -- manual approval ----------------------------------------------------------------------


def with_approval() -> PipelineDefinition:
    base = three_stages()
    return base.with_stage(Stage("Approve", [cp.approval_action("Release")]), before="Deploy")


def test_an_approval_holds_the_execution_until_approved() -> None:
    pipe, fakes = pipeline(with_approval())
    execution = pipe.run("c1", at=T0)
    assert execution.status == "InProgress" and not fakes["Dep"].calls
    waiting = pipe.pending_approvals()
    assert waiting[["execution", "stage", "action"]].values.tolist() == [[1, "Approve", "Release"]]
    assert isinstance(waiting["token"][0], str)
    pipe.approve(summary="ship it", after_minutes=30)
    assert execution.status == "Succeeded"
    approval = execution.action("Approve")
    assert approval.summary == "Approved by you: ship it" and approval.minutes == 30
    assert execution.stage_runs["Deploy"].start == approval.end


def test_a_rejected_approval_fails_the_execution() -> None:
    pipe, fakes = pipeline(with_approval())
    execution = pipe.run("c1", at=T0)
    pipe.reject(execution, summary="not today")
    assert execution.status == "Failed" and not fakes["Dep"].calls
    assert execution.action("Approve").error_code == "Rejected"


def test_an_approval_nobody_answers_fails_after_seven_days() -> None:
    pipe, _ = pipeline(with_approval())
    first = pipe.run("c1", at=T0)
    assert first.status == "InProgress"  # nothing else to do: the clock waits for people
    assert pipe.now < T0 + pd.Timedelta(hours=1)
    pipe.run("c2", at=T0 + pd.Timedelta(days=8))
    approval = first.action("Approve")
    assert first.status == "Failed" and approval.error_code == "TimedOut"
    assert approval.end - approval.start == cp.APPROVAL_TIMEOUT


def test_an_automatic_approver_answers_for_tests() -> None:
    pipe, _ = pipeline(with_approval(), approver=cp.approve_after(15))
    assert pipe.run("c1", at=T0).status == "Succeeded"
    pipe2, _ = pipeline(with_approval(), approver=cp.reject_after(15))
    assert pipe2.run("c1", at=T0).status == "Failed"


def test_answering_needs_a_waiting_approval_and_a_choice_among_several() -> None:
    pipe, _ = pipeline(replace(with_approval(), execution_mode="PARALLEL"))
    with pytest.raises(InputError, match="No approval is waiting"):
        pipe.approve()
    pipe.run("c1", at=T0)
    pipe.run("c2", at=T0 + pd.Timedelta(minutes=1))
    with pytest.raises(InputError, match="2 approvals are waiting"):
        pipe.approve()
    assert pipe.approve(2).status == "Succeeded"


# -- several executions ---------------------------------------------------------------------


def test_a_newer_execution_supersedes_the_one_waiting_for_a_locked_stage() -> None:
    pipe, fakes = pipeline(three_stages())
    runs = pipe.run_commits(
        [("c1", T0), ("c2", T0 + pd.Timedelta(minutes=2)), ("c3", T0 + pd.Timedelta(minutes=4))]
    )
    first, second, third = runs
    assert [r.status for r in runs] == ["Succeeded", "Superseded", "Succeeded"]
    assert second.summary == "superseded by execution #3 while waiting for stage Build"
    assert list(second.stage_runs) == ["Source"]  # superseded between stages
    built = [n for n, _, _ in fakes["Fake"].started()]
    assert built == [1, 3]
    # execution 3 entered Build the minute execution 1 left it
    assert third.stage_runs["Build"].start == first.stage_runs["Build"].end
    assert all(r.trigger_type == "CloudWatchEvent" for r in runs)


def test_the_pipeline_state_shows_the_execution_waiting_in_front_of_a_stage() -> None:
    pipe, _ = pipeline(with_approval())
    pipe.run("c1", at=T0)
    pipe.run("c2", at=T0 + pd.Timedelta(minutes=20))
    state = pipe.state().set_index("stage")
    assert state.loc["Approve", "stageStatus"] == "InProgress"
    assert state.loc["Approve", "stageExecution"] == 1
    assert state.loc["Approve", "inbound"] == "#2"
    response = pipe.get_pipeline_state()
    approve = next(s for s in response["stageStates"] if s["stageName"] == "Approve")
    assert approve["inboundExecution"]["pipelineExecutionId"] == pipe.execution(2).id
    assert "token" in approve["actionStates"][0]["latestExecution"]
    pipe.run("c3", at=T0 + pd.Timedelta(minutes=40))
    assert pipe.execution(2).status == "Superseded"
    pipe.approve(1)
    pipe.approve(3)
    assert [e.status for e in pipe.history] == ["Succeeded", "Superseded", "Succeeded"]


def test_a_failed_execution_releases_its_stage_to_the_waiting_one() -> None:
    pipe, _ = pipeline(three_stages(), build=Fake(6, fail=lambda r: r.execution.number == 1))
    first, second = pipe.run_commits([("c1", T0), ("c2", T0 + pd.Timedelta(minutes=2))])
    assert first.status == "Failed" and second.status == "Succeeded"
    assert second.stage_runs["Build"].start == first.stage_runs["Build"].end


def test_queued_mode_runs_every_execution_in_order() -> None:
    pipe, fakes = pipeline(three_stages(mode="QUEUED"))
    runs = pipe.run_commits([(f"c{i}", T0 + pd.Timedelta(minutes=i)) for i in range(4)])
    assert [r.status for r in runs] == ["Succeeded"] * 4
    assert [n for n, _, _ in fakes["Dep"].started()] == [1, 2, 3, 4]
    deploy_starts = [r.stage_runs["Deploy"].start for r in runs]
    deploy_ends = [r.stage_runs["Deploy"].end for r in runs]
    assert all(b >= a for a, b in zip(deploy_ends, deploy_starts[1:], strict=False))


def test_parallel_mode_does_not_lock_stages() -> None:
    pipe, _ = pipeline(three_stages(mode="PARALLEL"))
    runs = pipe.run_commits([(f"c{i}", T0 + pd.Timedelta(minutes=i)) for i in range(3)])
    assert [r.status for r in runs] == ["Succeeded"] * 3
    assert [minutes_after(r.stage_runs["Build"].start) for r in runs] == [1, 2, 3]


def test_stop_and_abandon_or_stop_and_wait() -> None:
    pipe, _ = pipeline(with_approval())
    first = pipe.run("c1", at=T0)
    pipe.stop(first, abandon=True, reason="wrong commit")
    assert first.status == "Stopped" and first.action("Approve").status == "Abandoned"
    assert first.stage_runs["Approve"].status == "Stopped"
    second = pipe.run("c2", at=T0 + pd.Timedelta(minutes=30))
    assert second.status == "InProgress"  # the stopped one released the stage
    pipe.stop(second)  # stop and wait: the approval is still running
    assert second.status == "Stopping"
    pipe.approve(second)
    assert second.status == "Stopped" and "Deploy" not in second.stage_runs
    with pytest.raises(InputError, match="nothing to stop"):
        pipe.stop(second)


def test_updating_the_pipeline_cancels_executions_in_progress() -> None:
    pipe, _ = pipeline(with_approval())
    execution = pipe.run("c1", at=T0)
    assert pipe.update(three_stages()) == "updated locally"
    assert execution.status == "Cancelled" and pipe.version == 2
    assert pipe.run("c2", at=T0 + pd.Timedelta(hours=1)).status == "Succeeded"
    assert pipe.execution(2).pipeline_version == 2


def test_a_provider_without_a_handler_is_refused_up_front() -> None:
    with pytest.raises(InputError, match="No handler runs actions of provider Dep"):
        cp.Pipeline(three_stages(), {"Src": Fake(), "Fake": Fake()})


# -- the definition -----------------------------------------------------------------------


def test_the_declaration_is_a_v2_pipeline_structure_and_reads_back() -> None:
    definition = cp.PipelineDefinition(
        "labs-demo",
        [
            Stage("Source", [cp.source_action(repository="labs-bookstore")]),
            Stage(
                "Build",
                [
                    cp.build_action(
                        project="labs-build",
                        namespace="BuildVariables",
                        env={"COMMIT_ID": "#{SourceVariables.CommitId}"},
                    )
                ],
            ),
            Stage(
                "Deploy",
                [
                    cp.approval_action("Approve"),
                    cp.deploy_action(application="app", deployment_group="group", run_order=2),
                ],
            ),
        ],
    ).validate()
    declaration = definition.declaration(role_arn="arn:role", artifact_bucket="bucket")
    assert declaration["pipelineType"] == "V2" and declaration["executionMode"] == "SUPERSEDED"
    assert declaration["artifactStore"] == {"type": "S3", "location": "bucket"}
    source = declaration["stages"][0]["actions"][0]
    assert source["actionTypeId"] == {
        "category": "Source",
        "owner": "AWS",
        "provider": "CodeCommit",
        "version": "1",
    }
    assert source["namespace"] == "SourceVariables"
    build = declaration["stages"][1]["actions"][0]
    assert json.loads(build["configuration"]["EnvironmentVariables"]) == [
        {"name": "COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"}
    ]
    assert "buildspec" not in json.dumps(declaration)  # the project's, not the pipeline's
    back = cp.PipelineDefinition.from_declaration(declaration)
    assert back.declaration(role_arn="arn:role", artifact_bucket="bucket") == declaration
    model = botocore.session.get_session().get_service_model("codepipeline")
    _conforms(declaration, model.shape_for("PipelineDeclaration"))
    summary = definition.summary()
    assert summary["runOrder"].tolist() == [1, 1, 1, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.without_stage("Build").without_stage("Deploy"), "at least two stages"),
        (lambda d: d.with_stage(Stage("Source", [])), "already has a stage"),
        (
            lambda d: d.with_action("Build", _action("Src2", "Source", output_artifacts=["X"])),
            "Only the first stage",
        ),
        (
            lambda d: d.with_action(
                "Source", _action("B", "Build", input_artifacts=["SourceArtifact"])
            ),
            "first stage can hold only source",
        ),
        (
            lambda d: d.with_action(
                "Build", _action("Early", "Test", input_artifacts=["BuildArtifact"])
            ),
            "Input artifact 'BuildArtifact'",
        ),
        (
            lambda d: d.with_action(
                "Deploy",
                _action(
                    "Twice",
                    "Build",
                    input_artifacts=["SourceArtifact"],
                    output_artifacts=["BuildArtifact"],
                ),
            ),
            "produced by two actions",
        ),
        (lambda d: d.with_action("Build", _action("Zero", "Build", run_order=0)), "runOrder"),
        (
            lambda d: d.with_action(
                "Build", _action("V", "Build", configuration={"X": "#{Later.Y}"})
            ),
            "namespace 'Later'",
        ),
        (
            lambda d: d.with_action("Build", _action("N", "Build", namespace="SourceArtifact")),
            "both an artifact name and a namespace",
        ),
        (
            lambda d: d.with_action(
                "Build", Action("W", ActionTypeId("Build", "Fake", version="2"))
            ),
            "only valid version",
        ),
        (lambda d: d.with_action("Build", _action("C", "Cook")), "not a CodePipeline category"),
        (
            lambda d: replace(d, execution_mode="QUEUED", pipeline_type="V1"),
            "needs pipeline type V2",
        ),
    ],
)
def test_the_structure_rules_name_what_is_wrong(change: Callable, message: str) -> None:
    with pytest.raises(cp.PipelineError, match=message):
        change(three_stages()).validate()


def test_a_later_namespace_in_the_same_stage_needs_a_larger_run_order() -> None:
    stage = Stage(
        "Build",
        [
            _action(
                "Make",
                "Build",
                input_artifacts=["SourceArtifact"],
                output_artifacts=["BuildArtifact"],
                namespace="MakeVars",
            ),
            _action("Use", "Test", configuration={"V": "#{MakeVars.X}"}, run_order=1),
        ],
    )
    base = three_stages()
    broken = replace(base, stages=(base.stages[0], stage, base.stages[2]))
    with pytest.raises(cp.PipelineError, match="its action runs later"):
        broken.validate()
    fixed_stage = Stage(
        "Build",
        (
            stage.actions[0],
            Action(
                "Use",
                ActionTypeId("Test", "Fake"),
                run_order=2,
                configuration={"V": "#{MakeVars.X}"},
            ),
        ),
    )
    replace(base, stages=(base.stages[0], fixed_stage, base.stages[2])).validate()


# -- the API's response shapes ----------------------------------------------------------------


def _conforms(value: Any, shape: Any, path: str = "") -> None:
    """Every key of ``value`` is a member of botocore's ``shape`` (recursively)."""
    if shape.type_name == "structure":
        assert isinstance(value, dict), path
        for key, item in value.items():
            assert key in shape.members, f"{path}.{key} is not in {shape.name}"
            _conforms(item, shape.members[key], f"{path}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), path
        for i, item in enumerate(value):
            _conforms(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        assert isinstance(value, dict), path
    elif getattr(shape, "enum", None):
        assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"


def test_the_responses_have_the_shapes_of_the_codepipeline_api() -> None:
    model = botocore.session.get_session().get_service_model("codepipeline")
    pipe, _ = pipeline(with_approval())
    pipe.run_commits(
        [("c1", T0), ("c2", T0 + pd.Timedelta(minutes=2)), ("c3", T0 + pd.Timedelta(minutes=3))]
    )
    for operation, response in [
        ("GetPipelineState", pipe.get_pipeline_state()),
        ("ListActionExecutions", pipe.list_action_executions()),
        ("ListPipelineExecutions", pipe.list_pipeline_executions()),
        ("GetPipelineExecution", pipe.get_pipeline_execution(1)),
    ]:
        _conforms(response, model.operation_model(operation).output_shape, operation)
    summaries = pipe.list_pipeline_executions()["pipelineExecutionSummaries"]
    assert [s["status"] for s in summaries] == ["InProgress", "Superseded", "InProgress"]
    details = pipe.list_action_executions(1)["actionExecutionDetails"]
    assert [d["actionName"] for d in details] == ["Release", "Build", "Source"]  # newest first
    build = details[1]
    assert build["input"]["inputArtifacts"][0]["name"] == "SourceArtifact"
    assert build["output"]["outputArtifacts"][0]["s3location"]["bucket"] == pipe.artifact_bucket


def test_the_frames_flatten_the_history() -> None:
    pipe, _ = pipeline(three_stages(), build=Fake(6, fail=lambda r: r.execution.number == 2))
    pipe.run_commits([("c1", T0), ("c2", T0 + pd.Timedelta(hours=1))])
    executions = pipe.executions()
    assert executions["status"].tolist() == ["Succeeded", "Failed"]
    actions = pipe.action_executions()
    assert actions.groupby("execution")["action"].apply(list).to_dict() == {
        1: ["Source", "Build", "Deploy"],
        2: ["Source", "Build"],
    }
    assert actions.loc[actions["status"] == "Failed", "summary"].tolist() == ["Build failed"]
    assert pipe.action_executions(2)["execution"].unique().tolist() == [2]


# -- release.json, records and helpers --------------------------------------------------------


def test_release_json_chooses_the_label_a_commit_is_deployed_under(tmp_path: Any) -> None:
    assert cp.read_release(tmp_path) == {"version": "v2", "file": None}
    (tmp_path / "bookstore").mkdir()
    (tmp_path / "bookstore" / "release.json").write_text(cp.release_json("v2-bad", "why"))
    assert cp.read_release(tmp_path)["version"] == "v2-bad"
    (tmp_path / "release.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        cp.read_release(tmp_path)
    assert cp.release_label("v2", 7) == "v2.7"
    assert cp.release_label("v3", 2) == "v3.2"
    assert cp.release_label("v2-bad", 7) == "v2-bad"
    assert cp.release_label("v2-slow", 7) == "v2-slow"
    assert cp.release_label("v2-crash", 7) == "v2-crash"


def test_the_lean_buildspec_is_the_same_build_without_install() -> None:
    from labs.bookstore import package_path
    from labs.cicd import buildspec

    text = (package_path() / "buildspec.yml").read_text()
    lean = buildspec.parse(cp.lean_buildspec(text))
    full = buildspec.parse(text)
    assert "install" in full.phases and "install" not in lean.phases
    assert lean.phases["build"].commands == full.phases["build"].commands
    assert lean.artifacts == full.artifacts


def _deployment(status: str, commit: str, previous: str | None, **kw: Any) -> cp.Deployment:
    defaults = dict(deployed_minute=6.0, detected_minute=None, restored_minute=None)
    defaults.update(kw)
    return cp.Deployment(
        release="v2.1",
        baseline="v1",
        status=status,
        commit=commit,
        previous_commit=previous,
        deployment_id="d-1",
        **defaults,
    )


def test_deployments_write_the_records_labs_dora_reads(tmp_path: Any) -> None:
    from labs import dora
    from labs.cicd.git import bookstore_repo

    repo = bookstore_repo(path=tmp_path / "repo")
    root = repo.head
    when = pd.Timestamp("2026-01-06T10:00:00Z")
    a = repo.commit("A", {"a.txt": "a"}, when=when.to_pydatetime())
    b = repo.commit("B", {"b.txt": "b"}, when=(when + pd.Timedelta(minutes=5)).to_pydatetime())
    bad = repo.commit("Bad", {"c.txt": "c"}, when=(when + pd.Timedelta(hours=1)).to_pydatetime())
    revert = repo.commit(
        f'Revert "Bad"\n\nThis reverts commit {bad}.',
        {"c.txt": None},
        when=(when + pd.Timedelta(hours=2)).to_pydatetime(),
    )
    outcomes = iter(
        [
            _deployment("Succeeded", b, root),
            _deployment("RolledBack", bad, b, detected_minute=4.0, restored_minute=8.0),
            _deployment("Succeeded", revert, b),
        ]
    )

    def deploy(request: ActionRequest) -> ActionOutcome:
        deployment = next(outcomes)
        status = "Succeeded" if deployment.status == "Succeeded" else "Failed"
        return ActionOutcome(status=status, minutes=12, details={"deployment": deployment})

    records = tmp_path / "dora.jsonl"
    pipe = cp.Pipeline(
        three_stages(), {"Src": Fake(), "Fake": Fake(), "Dep": deploy}, repo=repo, records=records
    )
    pipe.run_commits([b, bad, revert])
    changes, deployments, incidents = dora.from_records(records)
    assert changes["change_id"].tolist() == [a, b, bad, revert]
    assert deployments["change_ids"].tolist() == [[a, b], [bad], [bad, revert]]
    assert deployments["rolled_back"].tolist() == [False, True, False]
    assert deployments["fixes_incident_id"].tolist()[2] == "INC-1"
    assert deployments["execution"].tolist() == [1, 2, 3]
    started = pipe.execution(2).action("Deploy").start
    assert deployments["deployed_at"][1] == started + pd.Timedelta(minutes=6)
    assert incidents["created_at"][0] == started + pd.Timedelta(minutes=6)  # its first traffic
    detected = pd.Timestamp(incidents["detected_at"][0])  # the alarm (an extra field)
    assert detected == started + pd.Timedelta(minutes=4)
    assert incidents["resolved_at"][0] == started + pd.Timedelta(minutes=8)
    assert incidents["caused_by_deploy_id"].tolist() == ["D-2"]
    report = dora.metrics(changes, deployments, incidents)
    assert report.change_fail_rate.value == pytest.approx(1 / 3)
    assert report.recovery_time.value == pytest.approx(2 / 60)
    assert report.rework_rate.value == pytest.approx(1 / 3)


def test_a_day_of_commits_is_real_git_history_and_the_same_every_time(tmp_path: Any) -> None:
    from labs.cicd.git import bookstore_repo

    days = []
    for name in ("one", "two"):
        repo = bookstore_repo(path=tmp_path / name)
        days.append(cp.day_of_commits(repo, "2026-01-07"))
    assert [d.commit for d in days[0]] == [d.commit for d in days[1]]
    plan = cp.day_plan(days[0])
    assert plan["kind"].tolist().count("change") == 8
    assert plan["kind"].tolist()[3:5] == ["adds a failing test", "fixes it"]
    assert plan["kind"].tolist()[7:9] == ["bad release (v2-bad)", "reverts it"]
    assert plan["time"].is_monotonic_increasing and plan["time"].iloc[0].hour == 9
    assert len(set(plan["author"])) == 3
    log = repo.log()
    assert log["sha"].iloc[0] == days[1][-1].commit
    with pytest.raises(InputError, match="need their next commit"):
        cp.day_of_commits(repo, commits=5, broken=3, bad=4)


# -- the lab's checks, graded both ways -------------------------------------------------------


def test_check_test_stage_added_both_ways() -> None:
    def test_stage(definition: PipelineDefinition) -> PipelineDefinition:
        return definition.with_stage(
            Stage("Test", [_action("Smoke", "Test", input_artifacts=["BuildArtifact"])]),
            after="Build",
        )

    pipe, _ = pipeline(three_stages())
    with pytest.raises(CheckFailed, match="no answer"):
        pipeline_checks.test_stage_added(pipe, None)
    with pytest.raises(CheckFailed, match="ran no Test action"):
        pipeline_checks.test_stage_added(pipe, pipe.run("c1", at=T0))
    pipe.update(test_stage(pipe.definition))
    pipeline_checks.test_stage_added(pipe, pipe.run("c2", at=T0 + pd.Timedelta(hours=1)))


def test_check_approval_before_production_both_ways(capsys: Any) -> None:
    with pytest.raises(CheckFailed, match="no answer"):
        pipeline_checks.approval_before_production(None)
    with pytest.raises(CheckFailed, match="no approval action"):
        pipeline_checks.approval_before_production(three_stages())
    after = three_stages().with_stage(Stage("Approve", [cp.approval_action()]))
    with pytest.raises(CheckFailed, match="can run before any approval"):
        pipeline_checks.approval_before_production(after)
    same_stage = three_stages().with_action("Deploy", cp.approval_action(run_order=1))
    with pytest.raises(CheckFailed, match="can run before any approval"):
        pipeline_checks.approval_before_production(same_stage)
    pipeline_checks.approval_before_production(with_approval())
    assert "✔" in capsys.readouterr().out
    ctx = SimpleNamespace(name=lambda base, **_: f"labs-{base}")
    bookstore = cp.bookstore_pipeline(ctx)  # its Build reads #{SourceVariables.CommitId}
    gated = bookstore.with_stage(Stage("Approve", [cp.approval_action()]), before="Deploy")
    pipeline_checks.approval_before_production(gated)


def test_check_rolled_back_commit_both_ways() -> None:
    def deploy(request: ActionRequest) -> ActionOutcome:
        rolled = request.execution.commit.startswith("bad")
        deployment = _deployment("RolledBack" if rolled else "Succeeded", "x", None)
        return ActionOutcome(
            status="Failed" if rolled else "Succeeded",
            minutes=5,
            details={"deployment": deployment},
        )

    pipe = cp.Pipeline(three_stages(), {"Src": Fake(), "Fake": Fake(), "Dep": deploy})
    day = pipe.run_commits([("good0000001", T0), ("bad00000002", T0 + pd.Timedelta(hours=1))])
    with pytest.raises(CheckFailed, match="no answer"):
        pipeline_checks.rolled_back_commit(day, None)
    with pytest.raises(CheckFailed, match="not the commit"):
        pipeline_checks.rolled_back_commit(day, "good0000001")
    pipeline_checks.rolled_back_commit(day, "bad0000")


def test_on_the_aws_target_run_follows_the_real_execution() -> None:
    """With a stand-in CodePipeline client: start at the commit, poll, read the action runs."""
    from datetime import UTC, datetime

    from labs.cicd.pipeline import aws

    sha = "a" * 40
    t = datetime(2026, 1, 6, 10, 0, tzinfo=UTC)
    polls = iter(["InProgress", "Succeeded"])
    calls: list[tuple[str, dict[str, Any]]] = []

    class Client:
        def start_pipeline_execution(self, **kw: Any) -> dict[str, Any]:
            calls.append(("start", kw))
            return {"pipelineExecutionId": "e-1"}

        def get_pipeline_execution(self, **kw: Any) -> dict[str, Any]:
            return {"pipelineExecution": {"status": next(polls), "pipelineVersion": 3}}

        def list_action_executions(self, **kw: Any) -> dict[str, Any]:
            calls.append(("list", kw))
            detail = {
                "actionExecutionId": "a-1",
                "stageName": "Build",
                "actionName": "Build",
                "startTime": t,
                "lastUpdateTime": t,
                "status": "Succeeded",
                "input": {
                    "configuration": {},
                    "inputArtifacts": [
                        {"name": "SourceArtifact", "s3location": {"bucket": "b", "key": "k"}}
                    ],
                },
                "output": {
                    "executionResult": {
                        "externalExecutionId": "build:1",
                        "externalExecutionSummary": "ok",
                    },
                    "outputVariables": {"X": "1"},
                },
            }
            return {"actionExecutionDetails": [detail]}

        def list_pipeline_executions(self, **kw: Any) -> dict[str, Any]:
            return {
                "pipelineExecutionSummaries": [
                    {"pipelineExecutionId": "e-1", "startTime": t, "lastUpdateTime": t}
                ]
            }

    pipe, _ = pipeline(three_stages())
    pipe.ctx = SimpleNamespace(client=lambda service: Client(), is_local=False)
    execution = aws.follow(pipe, sha, sleep=lambda s: None)
    assert calls[0][1]["sourceRevisions"] == [
        {"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": sha}
    ]
    assert calls[1][1]["filter"] == {"pipelineExecutionId": "e-1"}
    assert execution.status == "Succeeded" and execution.pipeline_version == 3
    build = execution.action("Build")
    assert build.output_variables == {"X": "1"} and build.external_id == "build:1"
    assert pipe.execution("e-1") is execution
    with pytest.raises(InputError, match="full SHA"):
        aws.follow(pipe, "abc")
