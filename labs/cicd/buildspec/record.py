"""Where a learner would look on AWS: the CodeBuild project and build, the log, the artifact.

:class:`Recorder` writes a local build back to the emulator (and prepares the same resources on
the aws target): a tagged S3 bucket holding the source zip and the artifacts, a CodeBuild project
(created once, idempotently) whose source is that zip, a build started with ``start_build``, and
the build log in CloudWatch Logs under ``/aws/codebuild/<project>``, one stream per build named
after the build id's uuid — CodeBuild's own layout.

The emulator's build record is not the truth: it reports every build SUCCEEDED at once
(FACTS.md). The :class:`~labs.cicd.buildspec.runner.BuildResult` is.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from labs.cicd.buildspec.model import Buildspec
from labs.env import Workshop
from labs.errors import InputError

__all__ = ["Recorder", "bucket_name", "delete_records", "zip_source"]

BUILD_IMAGE = "aws/codebuild/standard:7.0"
_MAX_BATCH = 1000
_SKIP_DIRS = {".git", "__pycache__", ".pytest_cache"}


def zip_source(source: Path) -> bytes:
    """Zip a source folder (without ``.git`` and caches), as an S3 source for CodeBuild."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for directory, subdirs, names in os.walk(source):
            subdirs[:] = sorted(d for d in subdirs if d not in _SKIP_DIRS)
            for name in sorted(names):
                path = Path(directory) / name
                if path.is_file() and not name.endswith(".pyc"):
                    name_in_zip = path.relative_to(source).as_posix()
                    info = zipfile.ZipInfo(name_in_zip, (1980, 1, 1, 0, 0, 0))
                    info.external_attr = (path.stat().st_mode & 0o777) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def bucket_name(ctx: Workshop, project: str) -> str:
    """The artifact bucket of ``project``: ``labs-<project>-artifacts`` (valid, at most 63 chars).

    One bucket per project, tagged with the lab that made the project, so that a lab's cleanup
    (``labs.cleanup.cleanup(ctx, lab=...)``) finds it with the project and its log group.
    """
    base = re.sub(r"[^a-z0-9-]+", "-", project.lower()).strip("-").removeprefix("labs-")
    name = ctx.name(f"{base}-artifacts", globally_unique=True)
    if len(name) > 63:
        digest = hashlib.sha1(project.encode(), usedforsecurity=False).hexdigest()[:8]
        room = len(base) - (len(name) - 63) - 9
        name = ctx.name(f"{base[:room]}-{digest}-artifacts", globally_unique=True)
    return name


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Recorder:
    """Creates and fills the AWS-side records of builds of one project.

    Args:
        ctx: The workshop context.
        project: The CodeBuild project name.
        lab: The lab whose tags the resources carry (``ctx.tags(lab=…)``), if any.
        service_role: The project's service role ARN; on the local target a placeholder.
    """

    def __init__(
        self, ctx: Workshop, project: str, lab: str | None = None, service_role: str | None = None
    ) -> None:
        self.ctx = ctx
        self.project = project
        self.tags = ctx.tags(lab=lab)
        self.bucket = bucket_name(ctx, project)
        self.log_group = f"/aws/codebuild/{project}"
        self.source_key = f"{project}/source.zip"
        self.service_role = service_role or (
            f"arn:aws:iam::{ctx.account_id}:role/service-role/labs-codebuild-service-role"
        )
        self._s3: Any = None
        self._codebuild: Any = None

    @property
    def s3(self) -> Any:
        """The S3 client (made on first use)."""
        if self._s3 is None:
            self._s3 = self.ctx.client("s3")
        return self._s3

    @property
    def codebuild(self) -> Any:
        """The CodeBuild client (made on first use)."""
        if self._codebuild is None:
            self._codebuild = self.ctx.client("codebuild")
        return self._codebuild

    def ensure_bucket(self) -> None:
        """Create the tagged artifact bucket unless it exists."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if self.ctx.region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.ctx.region}
        self.s3.create_bucket(**kwargs)
        self.s3.put_bucket_tagging(Bucket=self.bucket, Tagging={"TagSet": self.tags.as_list()})

    def upload(self, path: Path, key: str) -> str:
        """Put a file into the artifact bucket; return its ``s3://`` URI."""
        self.ensure_bucket()
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=path.read_bytes())
        return f"s3://{self.bucket}/{key}"

    def upload_source(self, source: Path) -> None:
        """Put the zipped source where the project's S3 source points."""
        self.ensure_bucket()
        self.s3.put_object(Bucket=self.bucket, Key=self.source_key, Body=zip_source(source))

    def project_settings(self, spec: Buildspec) -> dict[str, Any]:
        """The project definition: S3 source with the buildspec inline, S3 zip artifacts."""
        return {
            "name": self.project,
            "description": "Built by the DevOps on AWS Labs buildspec runner",
            "source": {
                "type": "S3",
                "location": f"{self.bucket}/{self.source_key}",
                "buildspec": spec.text,
            },
            "artifacts": {
                "type": "S3",
                "location": self.bucket,
                "path": self.project,
                "namespaceType": "BUILD_ID",
                "name": self.project,
                "packaging": "ZIP",
                "overrideArtifactName": True,
            },
            "environment": {
                "type": "LINUX_CONTAINER",
                "image": BUILD_IMAGE,
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            "serviceRole": self.service_role,
            "logsConfig": {
                "cloudWatchLogs": {"status": "ENABLED", "groupName": self.log_group},
            },
            "tags": self.tags.as_list("key", "value"),
        }

    def ensure_project(self, spec: Buildspec, *, update: bool = False) -> None:
        """Create the project unless it exists (``update``: bring an existing one up to date)."""
        settings = self.project_settings(spec)
        found = self.codebuild.batch_get_projects(names=[self.project]).get("projects", [])
        if not found:
            self.codebuild.create_project(**settings)
        elif update:
            settings.pop("tags")
            self.codebuild.update_project(**settings)

    def start_build(
        self, spec: Buildspec, env: Mapping[str, str], source_version: str | None = None
    ) -> dict[str, Any]:
        """Start a build of the project; return the ``build`` record the service answers."""
        kwargs: dict[str, Any] = {
            "projectName": self.project,
            "buildspecOverride": spec.text,
            "environmentVariablesOverride": [
                {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
            ],
        }
        if source_version:
            kwargs["sourceVersion"] = source_version
        return self.codebuild.start_build(**kwargs)["build"]

    def build_count(self) -> int:
        """How many builds the project has had (the emulator's build numbers are random)."""
        ids = self.codebuild.list_builds_for_project(projectName=self.project).get("ids", [])
        return len(ids)

    def stop_build(self, build_id: str) -> None:
        """Tell the service the build was stopped (the emulator still reports it SUCCEEDED)."""
        self.codebuild.stop_build(id=build_id)

    def write_log(self, stream: str, events: list[tuple[datetime, str]]) -> None:
        """Put the build log into ``/aws/codebuild/<project>``, stream ``stream``.

        CloudWatch Logs only accepts events from the last 14 days, so the events keep the
        build's own spacing but are anchored at the wall-clock time of writing.
        """
        logs = self.ctx.client("logs")
        try:
            logs.create_log_group(logGroupName=self.log_group, tags=dict(self.tags))
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        try:
            logs.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
        except ClientError as exc:
            if _code(exc) != "ResourceAlreadyExistsException":
                raise
        if not events:
            return
        first = events[0][0]
        anchor = datetime.now(UTC)
        batch: list[dict[str, Any]] = []
        last = 0
        for when, message in events:
            stamp = int((anchor + (when - first)).timestamp() * 1000)
            last = max(last, stamp)
            batch.append({"timestamp": last, "message": message or " "})
            if len(batch) == _MAX_BATCH:
                logs.put_log_events(
                    logGroupName=self.log_group, logStreamName=stream, logEvents=batch
                )
                batch = []
        if batch:
            logs.put_log_events(logGroupName=self.log_group, logStreamName=stream, logEvents=batch)

    def resolve_secrets(self, spec: Buildspec) -> dict[str, str]:
        """Read ``env/parameter-store`` from SSM and ``env/secrets-manager`` from Secrets Manager.

        Raises:
            InputError: A parameter or secret (or its JSON key) does not exist.
        """
        values: dict[str, str] = {}
        if spec.parameter_store:
            ssm = self.ctx.client("ssm")
            names = sorted(set(spec.parameter_store.values()))
            answer = ssm.get_parameters(Names=names, WithDecryption=True)
            found = {p["Name"]: p["Value"] for p in answer.get("Parameters", [])}
            for variable, name in spec.parameter_store.items():
                if name not in found:
                    raise InputError(
                        f"parameter does not exist: {name}",
                        where=f"env.parameter-store.{variable}",
                    )
                values[variable] = found[name]
        if spec.secrets_manager:
            secrets = self.ctx.client("secretsmanager")
            for variable, reference in spec.secrets_manager.items():
                secret_id, json_key, stage, version = [*reference.split(":"), "", "", ""][:4]
                if reference.startswith("arn:"):  # an ARN has colons of its own
                    parts = reference.split(":")
                    secret_id = ":".join(parts[:7])
                    json_key, stage, version = [*parts[7:], "", "", ""][:3]
                kwargs: dict[str, Any] = {"SecretId": secret_id}
                if stage:
                    kwargs["VersionStage"] = stage
                if version:
                    kwargs["VersionId"] = version
                try:
                    text = secrets.get_secret_value(**kwargs)["SecretString"]
                except ClientError as exc:
                    raise InputError(
                        f"secret {secret_id} cannot be read ({_code(exc)})",
                        where=f"env.secrets-manager.{variable}",
                    ) from None
                if json_key:
                    document = json.loads(text)
                    if json_key not in document:
                        raise InputError(
                            f"secret {secret_id} has no key {json_key}",
                            where=f"env.secrets-manager.{variable}",
                        )
                    text = str(document[json_key])
                values[variable] = text
        return values


def delete_records(ctx: Workshop, project: str) -> list[dict[str, str]]:
    """Delete a project's records: the CodeBuild project, its log group, its S3 objects.

    The project's artifact bucket goes too once nothing else is in it; on the aws target so do
    the report groups CodeBuild made from the buildspec (``<project>-<name>``), which outlive
    the project there. Safe to run again: what is already gone is reported as ``absent``.

    Returns:
        One row per resource: ``service``, ``kind``, ``name``, ``action``.
    """
    recorder = Recorder(ctx, project)
    rows: list[dict[str, str]] = []

    def note(service: str, kind: str, name: str, action: str) -> None:
        rows.append({"service": service, "kind": kind, "name": name, "action": action})

    found = recorder.codebuild.batch_get_projects(names=[project]).get("projects", [])
    if found:
        recorder.codebuild.delete_project(name=project)
    note("codebuild", "project", project, "deleted" if found else "absent")
    if not ctx.is_local:  # the emulator has no report groups
        for arn in _report_groups(recorder.codebuild, project):
            recorder.codebuild.delete_report_group(arn=arn, deleteReports=True)
            note("codebuild", "report group", arn.rsplit("/", 1)[-1], "deleted")
    logs = ctx.client("logs")
    try:
        logs.delete_log_group(logGroupName=recorder.log_group)
        note("logs", "log group", recorder.log_group, "deleted")
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
        note("logs", "log group", recorder.log_group, "absent")
    s3 = recorder.s3
    try:
        s3.head_bucket(Bucket=recorder.bucket)
    except ClientError:
        note("s3", "bucket", recorder.bucket, "absent")
        return rows
    paginator = s3.get_paginator("list_objects_v2")
    keys = [
        obj["Key"]
        for page in paginator.paginate(Bucket=recorder.bucket, Prefix=f"{project}/")
        for obj in page.get("Contents", [])
    ]
    for start in range(0, len(keys), 1000):
        chunk = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=recorder.bucket, Delete={"Objects": chunk, "Quiet": True})
    note("s3", "objects", f"{recorder.bucket}/{project}/", f"deleted {len(keys)}")
    if not s3.list_objects_v2(Bucket=recorder.bucket, MaxKeys=1).get("KeyCount"):
        s3.delete_bucket(Bucket=recorder.bucket)
        note("s3", "bucket", recorder.bucket, "deleted")
    else:
        note("s3", "bucket", recorder.bucket, "kept (holds other projects' objects)")
    return rows


def _report_groups(codebuild: Any, project: str) -> list[str]:
    """ARNs of the report groups named ``<project>-…`` (aws target only)."""
    arns: list[str] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = codebuild.list_report_groups(**kwargs)
        arns.extend(
            a
            for a in page.get("reportGroups", [])
            if a.rsplit("/", 1)[-1].startswith(f"{project}-")
        )
        if not page.get("nextToken"):
            return arns
        kwargs["nextToken"] = page["nextToken"]
