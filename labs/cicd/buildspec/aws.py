"""On the aws target: start a real CodeBuild build and follow it, instead of running it here.

Kept small and apart from the local engine on purpose: it cannot be exercised offline. It
uploads the zipped source to the workshop's artifact bucket, creates or updates the project
(S3 source, the buildspec inline, S3 zip artifacts, CloudWatch Logs), starts a build, polls
``batch_get_builds`` until it completes, then reads back what the local runner would have
produced: phases, the log, exported variables, the artifact zip and the test cases of each
report (``describe_test_cases``).

It needs a CodeBuild service role that can write the log group and the bucket: pass
``service_role=`` or set ``LABS_CODEBUILD_SERVICE_ROLE``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from labs.cicd.buildspec.model import Buildspec
from labs.cicd.buildspec.outputs import REPORT_COLUMNS
from labs.cicd.buildspec.record import Recorder
from labs.cicd.buildspec.result import BuildResult, PhaseResult
from labs.env import Workshop
from labs.errors import InputError

__all__ = ["run_on_aws"]

_CASE_STATUS = {"SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN"}


def run_on_aws(
    ctx: Workshop,
    spec: Buildspec,
    source_dir: Path,
    *,
    project: str,
    env: Mapping[str, str],
    lab: str | None,
    output_dir: Path,
    timeout_minutes: float,
    service_role: str | None = None,
    poll_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
) -> BuildResult:
    """Run ``spec`` as a real CodeBuild build of ``source_dir`` and return its BuildResult."""
    role = service_role or os.environ.get("LABS_CODEBUILD_SERVICE_ROLE")
    if not role:
        raise InputError(
            "A real CodeBuild build needs a service role.",
            hint="Pass service_role='arn:aws:iam::<account>:role/<role>' or set "
            "LABS_CODEBUILD_SERVICE_ROLE; CodeBuild assumes it to write its CloudWatch Logs "
            "group and the workshop's artifact bucket.",
        )
    recorder = Recorder(ctx, project, lab=lab, service_role=role)
    recorder.upload_source(source_dir)
    recorder.ensure_project(spec, update=True)
    build = recorder.start_build(spec, env)
    codebuild = recorder.codebuild
    deadline = time.monotonic() + timeout_minutes * 60 + 600
    while not build.get("buildComplete") and time.monotonic() < deadline:
        sleep(poll_seconds)
        build = codebuild.batch_get_builds(ids=[build["id"]])["builds"][0]
    logs_info = build.get("logs", {})
    group, stream = logs_info.get("groupName"), logs_info.get("streamName")
    log = _read_log(ctx, group, stream) if group and stream else []
    phases = [_phase(p) for p in build.get("phases", []) if p.get("phaseType") != "COMPLETED"]
    artifacts = _download_artifact(recorder, build, output_dir)
    reports, report_status = _read_reports(codebuild, build.get("reportArns", []))
    exported = {
        v["name"]: v.get("value", "") for v in build.get("exportedEnvironmentVariables", [])
    }
    status = build.get("buildStatus", "IN_PROGRESS")
    return BuildResult(
        status="FAILED" if status == "FAULT" else status,
        phases=phases,
        exported_variables=exported,
        artifacts=artifacts,
        secondary_artifacts={},
        reports=reports,
        report_status=report_status,
        project=project,
        build_id=build["id"],
        build_number=int(build.get("buildNumber", 0)),
        build_arn=build.get("arn"),
        source_version=build.get("resolvedSourceVersion", ""),
        log=log,
        log_group=group,
        log_stream=stream,
        artifact_uri=_artifact_uri(build),
        start=build.get("startTime"),
        end=build.get("endTime"),
    )


def _phase(record: Mapping[str, Any]) -> PhaseResult:
    start: datetime | None = record.get("startTime")
    contexts = [
        f"{c.get('statusCode', '')}: {c.get('message', '')}"
        for c in record.get("contexts", [])
        if c.get("statusCode") or c.get("message")
    ]
    return PhaseResult(
        name=record["phaseType"],
        status=record.get("phaseStatus", "IN_PROGRESS"),
        start=start,
        end=record.get("endTime"),
        duration_s=float(record.get("durationInSeconds", 0)),
        context="; ".join(contexts),
    )


def _read_log(ctx: Workshop, group: str, stream: str) -> list[str]:
    logs = ctx.client("logs")
    lines: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
    while True:
        page = logs.get_log_events(**kwargs)
        lines.extend(e["message"].rstrip("\n") for e in page.get("events", []))
        token = page.get("nextForwardToken")
        if not page.get("events") or token == kwargs.get("nextToken"):
            return lines
        kwargs["nextToken"] = token


def _artifact_uri(build: Mapping[str, Any]) -> str | None:
    location = build.get("artifacts", {}).get("location", "")
    if location.startswith("arn:aws:s3:::"):
        return "s3://" + location.removeprefix("arn:aws:s3:::")
    return None


def _download_artifact(recorder: Recorder, build: Mapping[str, Any], output: Path) -> Path | None:
    uri = _artifact_uri(build)
    if uri is None:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    target = output / Path(key).name
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        body = recorder.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # the build failed before uploading: no artifact
        return None
    target.write_bytes(body)
    return target


def _read_reports(codebuild: Any, arns: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    rows: list[dict[str, Any]] = []
    status: dict[str, str] = {}
    if arns:
        for report in codebuild.batch_get_reports(reportArns=arns).get("reports", []):
            group = report.get("reportGroupArn", "").rsplit("/", 1)[-1]
            status[group] = report.get("status", "")
    for arn in arns:
        group = arn.split("report/", 1)[-1].rsplit(":", 1)[0]
        kwargs: dict[str, Any] = {"reportArn": arn}
        while True:
            page = codebuild.describe_test_cases(**kwargs)
            for case in page.get("testCases", []):
                rows.append(
                    {
                        "report_group": group,
                        "test_suite": case.get("testSuiteName", ""),
                        "prefix": case.get("prefix", ""),
                        "name": case.get("name", ""),
                        "status": case.get("status")
                        if case.get("status") in _CASE_STATUS
                        else "UNKNOWN",
                        "duration_s": case.get("durationInNanoSeconds", 0) / 1e9,
                        "message": case.get("message", ""),
                    }
                )
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    return pd.DataFrame(rows, columns=REPORT_COLUMNS), status
