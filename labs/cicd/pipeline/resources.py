"""The pipeline in CodePipeline: its service role, its artifact bucket, create or update.

``create_pipeline`` needs a service role CodePipeline can assume (the emulator checks the role
exists and trusts ``codepipeline.amazonaws.com``) and an S3 artifact store in the pipeline's
region. :func:`put_pipeline` creates the pipeline, or updates it only when the declaration
changed, so that running a notebook again leaves the version where it was
(``update_pipeline`` adds one to the version every time it is called).
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from labs.env import TagSet, Workshop

__all__ = [
    "artifact_bucket_name",
    "delete_pipeline",
    "ensure_artifact_bucket",
    "ensure_service_role",
    "put_pipeline",
]

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "codepipeline.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
# What the pipeline's actions need on a real account: the artifact store, CodeCommit, the
# CodeBuild projects and CodeDeploy (https://docs.aws.amazon.com/codepipeline/latest/userguide/
# security-iam.html#how-to-custom-role). Scoped to the workshop's names.
_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucket*"],
            "Resource": ["arn:aws:s3:::labs-*", "arn:aws:s3:::labs-*/*"],
        },
        {
            "Effect": "Allow",
            "Action": [
                "codecommit:GetBranch",
                "codecommit:GetCommit",
                "codecommit:GetRepository",
                "codecommit:UploadArchive",
                "codecommit:GetUploadArchiveStatus",
                "codebuild:StartBuild",
                "codebuild:BatchGetBuilds",
                "codedeploy:CreateDeployment",
                "codedeploy:GetApplication",
                "codedeploy:GetApplicationRevision",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentConfig",
                "codedeploy:RegisterApplicationRevision",
                "ecs:RegisterTaskDefinition",
            ],
            "Resource": "*",
        },
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
    ],
}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def artifact_bucket_name(ctx: Workshop, pipeline: str) -> str:
    """The pipeline's artifact bucket: ``labs-<pipeline>-artifacts`` (unique on AWS)."""
    base = pipeline.removeprefix("labs-").lower()
    return ctx.name(f"{base}-artifacts", globally_unique=True)[:63]


def ensure_service_role(ctx: Workshop, tags: TagSet) -> str:
    """Return the ARN of the CodePipeline service role ``labs-codepipeline-service-role``."""
    iam = ctx.client("iam")
    name = ctx.name("codepipeline-service-role")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(_TRUST),
        Description="DevOps on AWS Labs: the service role of the workshop's pipelines",
        Tags=tags.as_list(),
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="pipeline-actions", PolicyDocument=json.dumps(_POLICY)
    )
    return arn


def ensure_artifact_bucket(ctx: Workshop, bucket: str, tags: TagSet) -> None:
    """Create the tagged artifact bucket unless it exists."""
    s3 = ctx.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as exc:
        if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if ctx.region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": ctx.region}
    s3.create_bucket(**kwargs)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags.as_list()})


def _comparable(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pipeline.items() if k not in ("version", "triggers")}


def put_pipeline(ctx: Workshop, declaration: dict[str, Any], tags: TagSet) -> tuple[int, str, str]:
    """Create the pipeline, or update it if its declaration changed.

    Returns:
        ``(version, what was done, ARN)``; what was done is ``created``, ``updated`` or
        ``unchanged``.
    """
    cp = ctx.client("codepipeline")
    name = declaration["name"]
    try:
        found = cp.get_pipeline(name=name)
    except ClientError as exc:
        if _code(exc) != "PipelineNotFoundException":
            raise
        created = cp.create_pipeline(pipeline=declaration, tags=tags.as_list("key", "value"))
        arn = f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{name}"
        return int(created["pipeline"].get("version", 1)), "created", arn
    arn = found["metadata"]["pipelineArn"]
    cp.tag_resource(resourceArn=arn, tags=tags.as_list("key", "value"))
    if _comparable(found["pipeline"]) == _comparable(declaration):
        return int(found["pipeline"]["version"]), "unchanged", arn
    updated = cp.update_pipeline(pipeline=declaration)
    return int(updated["pipeline"]["version"]), "updated", arn


def delete_pipeline(ctx: Workshop, name: str) -> bool:
    """Delete the pipeline ``name``; False when there was none."""
    cp = ctx.client("codepipeline")
    try:
        cp.get_pipeline(name=name)
    except ClientError as exc:
        if _code(exc) == "PipelineNotFoundException":
            return False
        raise
    cp.delete_pipeline(name=name)
    return True
