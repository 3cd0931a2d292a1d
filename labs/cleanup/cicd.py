"""Cleaners for the CI/CD services: CodePipeline, CodeBuild, CodeDeploy and CodeCommit."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from labs.cleanup.base import (
    Found,
    _Base,
    _ignore_gone,
    _is_gone,
    _is_unimplemented,
    _n,
    _pages,
    is_workshop_resource,
)
from labs.cleanup.tracking import forget, ledger
from labs.env import Workshop

__all__ = ["CodeBuildCleaner", "CodeCommitCleaner", "CodeDeployCleaner", "CodePipelineCleaner"]


class CodePipelineCleaner(_Base):
    """Pipelines."""

    service = "codepipeline"

    def list(self, ctx: Workshop) -> list[Found]:
        cp = ctx.client("codepipeline")
        out = []
        for page in _pages(cp, "list_pipelines"):
            for pipe in page.get("pipelines", []):
                arn = f"arn:aws:codepipeline:{ctx.region}:{ctx.account_id}:{pipe['name']}"
                tags = _ignore_gone(lambda a=arn: cp.list_tags_for_resource(resourceArn=a))
                if tags and is_workshop_resource(tags.get("tags")):
                    out.append(self.found("pipeline", pipe["name"], arn, tags.get("tags")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codepipeline").delete_pipeline(name=found.name)
        return ""


class CodeBuildCleaner(_Base):
    """Build projects (their build records go with them)."""

    service = "codebuild"

    def list(self, ctx: Workshop) -> list[Found]:
        cb = ctx.client("codebuild")
        names = [n for page in _pages(cb, "list_projects") for n in page.get("projects", [])]
        out = []
        for start in range(0, len(names), 100):
            for project in cb.batch_get_projects(names=names[start : start + 100])["projects"]:
                if is_workshop_resource(project.get("tags")):
                    out.append(
                        self.found("project", project["name"], project["arn"], project.get("tags"))
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codebuild").delete_project(name=found.name)
        return ""


class CodeDeployCleaner(_Base):
    """Applications, their deployment groups first."""

    service = "codedeploy"
    local_notes = (
        "lists applications, tags and deployment groups; cannot delete them "
        "(DeleteApplication unimplemented): skipped, removed by reset_local=True"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        cd = ctx.client("codedeploy")
        out = []
        for page in _pages(cd, "list_applications"):
            for name in page.get("applications", []):
                arn = f"arn:aws:codedeploy:{ctx.region}:{ctx.account_id}:application:{name}"
                tags = _ignore_gone(lambda a=arn: cd.list_tags_for_resource(ResourceArn=a))
                if tags and is_workshop_resource(tags.get("Tags")):
                    groups = self._groups(cd, name)
                    detail = f"deployment groups: {', '.join(groups)}" if groups else ""
                    out.append(self.found("application", name, arn, tags.get("Tags"), detail))
        return out

    @staticmethod
    def _groups(cd: Any, app: str) -> list[str]:
        groups: list[str] = []
        token: str | None = None
        while True:  # the emulator answers nextToken "" (not absent): no paginator
            page = cd.list_deployment_groups(
                applicationName=app, **({"nextToken": token} if token else {})
            )
            groups += page.get("deploymentGroups", [])
            token = page.get("nextToken")
            if not token:
                return groups

    def delete(self, ctx: Workshop, found: Found) -> str:
        cd = ctx.client("codedeploy")
        groups = self._groups(cd, found.name)
        for group in groups:
            _ignore_gone(
                lambda g=group: cd.delete_deployment_group(
                    applicationName=found.name, deploymentGroupName=g
                )
            )
        cd.delete_application(applicationName=found.name)
        return f"with {_n(len(groups), 'deployment group')}" if groups else ""


class CodeCommitCleaner(_Base):
    """Repositories; the emulator lists none, so locally the ledger names them."""

    service = "codecommit"
    local_notes = (
        "cannot list repositories or read their tags: found through the ledger "
        "(track/record), then confirmed with GetRepository"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        cc = ctx.client("codecommit")
        try:
            names = [
                r["repositoryName"]
                for page in _pages(cc, "list_repositories")
                for r in page.get("repositories", [])
            ]
        except (ClientError, ResponseParserError) as exc:
            if not _is_unimplemented(ctx, exc):
                raise
            return self._from_ledger(ctx, cc)
        out = []
        for name in names:
            arn = f"arn:aws:codecommit:{ctx.region}:{ctx.account_id}:{name}"
            tags = cc.list_tags_for_resource(resourceArn=arn).get("tags", {})
            if is_workshop_resource(tags):
                out.append(self.found("repository", name, arn, tags))
        return out

    def _from_ledger(self, ctx: Workshop, cc: Any) -> list[Found]:
        out = []
        for entry in ledger(ctx, "codecommit"):
            try:
                meta = cc.get_repository(repositoryName=entry["name"])["repositoryMetadata"]
            except ClientError as exc:
                if not _is_gone(exc):
                    raise
                forget(ctx, "codecommit", name=entry["name"])
                continue
            if is_workshop_resource(entry.get("tags")):
                out.append(
                    self.found(
                        "repository",
                        entry["name"],
                        meta.get("Arn", ""),
                        entry.get("tags"),
                        "found through the ledger",
                    )
                )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("codecommit").delete_repository(repositoryName=found.name)
        forget(ctx, "codecommit", name=found.name)
        return ""
