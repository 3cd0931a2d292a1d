"""The pipeline end to end on the emulator: real git commits, the real buildspec runner running
the bookstore's tests, the deployment engine (a dry run, with an in-memory alarm) rolling back
a bad release, artifacts in the S3 artifact store, the emulator's pipeline and executions, the
DORA records — and the cleanup of it all.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import labs
from labs import dora
from labs.cicd import pipeline as cp
from labs.cicd.git import bookstore_repo
from labs.observability.alarms import Alarm

LAB = "05-e2e"


def _alarm() -> Alarm:
    return Alarm(
        alarm_name="labs-e2e-orders-errors",
        namespace="Bookstore",
        metric_name="ErrorRate",
        dimensions=[("Service", "orders")],
        statistic="Average",
        period=60,
        evaluation_periods=2,
        datapoints_to_alarm=2,
        threshold=1.0,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
    )


def _definition(ctx: Any, suffix: str) -> cp.PipelineDefinition:
    base = cp.bookstore_pipeline(ctx)
    build = base.stage("Build").actions[0]
    project = ctx.name(f"e2e-build-{suffix}")
    renamed = cp.build_action(
        "Build",
        project=project,
        namespace="BuildVariables",
        env={"COMMIT_ID": "#{SourceVariables.CommitId}", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert (
        renamed.configuration["EnvironmentVariables"] == build.configuration["EnvironmentVariables"]
    )
    return cp.PipelineDefinition(
        ctx.name(f"e2e-pipeline-{suffix}"),
        (base.stages[0], cp.Stage("Build", [renamed]), base.stages[2]),
    )


def test_commits_flow_through_the_pipeline_on_the_emulator(ctx: Any, tmp_path: Path) -> None:
    suffix = uuid.uuid4().hex[:8]
    repo = bookstore_repo(path=tmp_path / "bookstore")
    definition = _definition(ctx, suffix)
    deployer = cp.Deployer(alarms=[_alarm()], where=None)
    pipe = cp.create(ctx, definition, repo=repo, deployer=deployer, lab=LAB)
    try:
        assert deployer.commit == repo.head  # production starts at the branch's head
        me = ("Sam Rivera", "sam@bookstore.example")
        good = repo.commit(
            "Describe the release",
            {cp.RELEASE_PATH: cp.release_json("v2", "first release")},
            when=datetime(2026, 1, 6, 10, 0, tzinfo=UTC),
            author=me,
        )
        first = cp.run(ctx, pipe, good)
        assert first.status == "Succeeded", first.summary
        build = first.action("Build")
        assert build.summary.startswith("Build SUCCEEDED: 36 tests, 36 passed")
        assert build.output_variables == {}  # the bookstore's buildspec exports none
        assert first.action("Deploy").summary.startswith("v2.1 deployed")
        assert first.minutes == 1 + 6 + first.action("Deploy").minutes

        # The artifacts are zips in the tagged S3 artifact store.
        s3 = ctx.client("s3")
        keys = {o["Key"] for o in s3.list_objects_v2(Bucket=pipe.artifact_bucket)["Contents"]}
        for ref in (first.artifacts["SourceArtifact"], first.artifacts["BuildArtifact"]):
            assert ref.key in keys and ref.bucket == pipe.artifact_bucket
        tags = s3.get_bucket_tagging(Bucket=pipe.artifact_bucket)["TagSet"]
        assert {"Key": "lab", "Value": LAB} in tags

        # The emulator holds the V2 pipeline and an execution for each run (all "Succeeded").
        cp_client = ctx.client("codepipeline")
        stored = cp_client.get_pipeline(name=definition.name)["pipeline"]
        assert stored["pipelineType"] == "V2" and stored["executionMode"] == "SUPERSEDED"
        broken = repo.commit(
            "Test gift cards",
            {"bookstore/tests/test_gift.py": "def test_gift():\n    assert 25 >= 30\n"},
            when=datetime(2026, 1, 6, 11, 0, tzinfo=UTC),
            author=me,
        )
        second = pipe.run(broken)
        assert second.status == "Failed" and second.failed_stage == "Build"
        assert "failed: test_gift" in second.action("Build").summary
        assert "Deploy" not in second.stage_runs
        emulated = cp_client.list_pipeline_executions(pipelineName=definition.name)
        ids = [e["pipelineExecutionId"] for e in emulated["pipelineExecutionSummaries"]]
        assert ids == [second.id, first.id]
        assert {e["status"] for e in emulated["pipelineExecutionSummaries"]} == {"Succeeded"}

        bad = repo.commit(
            "Batch the stock lookups",
            {
                "bookstore/tests/test_gift.py": None,
                cp.RELEASE_PATH: cp.release_json("v2-bad", "batched"),
            },
            when=datetime(2026, 1, 6, 14, 0, tzinfo=UTC),
            author=me,
        )
        third = pipe.run(bad)
        deploy = third.action("Deploy")
        assert third.status == "Failed" and deploy.error_code == "DeploymentRolledBack"
        assert deploy.summary.startswith("v2-bad rolled back to v2.1")
        assert deployer.release == "v2.1" and deployer.commit == good

        # The records are what labs.dora reads.
        changes, deployments, incidents = pipe.records()
        assert changes["change_id"].tolist() == [good, broken, bad]
        assert deployments["rolled_back"].tolist() == [False, True]
        assert deployments["change_ids"].tolist()[1] == [broken, bad]
        assert incidents["caused_by_deploy_id"].tolist() == ["D-2"]
        report = dora.metrics(changes, deployments, incidents)
        assert report.change_fail_rate.value == pytest.approx(0.5)

        # Creating it again changes nothing; a new stage is an update (version 2).
        again = cp.create(ctx, definition, repo=repo, deployer=deployer, lab=LAB)
        assert again.version == 1
        tested = definition.with_stage(cp.Stage("Test", [cp.smoke_test_action(ctx)]), after="Build")
        assert pipe.update(tested) == "updated" and pipe.version == 2
        fixed = repo.commit(
            "Use v2 again",
            {cp.RELEASE_PATH: cp.release_json("v2", "back")},
            when=datetime(2026, 1, 6, 15, 0, tzinfo=UTC),
            author=me,
        )
        fourth = pipe.run(fixed)
        assert fourth.status == "Succeeded", fourth.summary
        assert fourth.action("Test").summary == "Build SUCCEEDED"
        again.close()
    finally:
        pipe.close()
        removed = labs.cleanup.cleanup(ctx, lab=LAB)
        pipe.records_file.unlink(missing_ok=True)
    assert "codepipeline" in set(removed["service"])
    assert not [p for p in cp_client.list_pipelines()["pipelines"] if p["name"] == definition.name]
    again_removed = labs.cleanup.cleanup(ctx, lab=LAB)
    assert again_removed.empty or set(again_removed["action"]) <= {"skipped"}
