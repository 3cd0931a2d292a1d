"""Cleaners for the platform services: CloudFormation stacks, AppConfig applications and IAM."""

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
    _optional,
    _pages,
    _wait,
    is_workshop_resource,
)
from labs.cleanup.tracking import forget, ledger
from labs.env import Workshop

__all__ = ["AppConfigCleaner", "CloudFormationCleaner", "IAMCleaner"]


class CloudFormationCleaner(_Base):
    """Stacks tagged at stack level; on AWS it waits until each stack is deleted."""

    service = "cloudformation"

    def list(self, ctx: Workshop) -> list[Found]:
        cfn = ctx.client("cloudformation")
        out = []
        for page in _pages(cfn, "describe_stacks"):
            for stack in page.get("Stacks", []):
                if stack["StackStatus"] == "DELETE_COMPLETE" or stack.get("ParentId"):
                    continue  # gone, or a nested stack that goes with its root stack
                if is_workshop_resource(stack.get("Tags")):
                    out.append(
                        self.found(
                            "stack",
                            stack["StackName"],
                            stack["StackId"],
                            stack.get("Tags"),
                            stack["StackStatus"],
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        cfn = ctx.client("cloudformation")
        cfn.delete_stack(StackName=found.arn)
        _wait(ctx, cfn, "stack_delete_complete", StackName=found.arn)
        return "stack and the resources it created"


class AppConfigCleaner(_Base):
    """Applications with their environments, profiles and hosted configuration versions."""

    service = "appconfig"
    local_notes = (
        "cannot list applications (ListApplications unimplemented): found through "
        "the ledger; cannot list environments or hosted configuration versions: the "
        "emulator drops them with their profile"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        ac = ctx.client("appconfig")
        try:
            apps = [
                (a["Id"], a["Name"])
                for page in _pages(ac, "list_applications")
                for a in page.get("Items", [])
            ]
            via = ""
        except (ClientError, ResponseParserError) as exc:
            if not _is_unimplemented(ctx, exc):
                raise
            apps = [(e["id"], e["name"]) for e in ledger(ctx, "appconfig") if e.get("id")]
            via = "found through the ledger"
        out = []
        for app_id, name in apps:
            try:
                ac.get_application(ApplicationId=app_id)
            except ClientError as exc:
                if not _is_gone(exc):
                    raise
                forget(ctx, "appconfig", id=app_id)
                continue
            arn = f"arn:aws:appconfig:{ctx.region}:{ctx.account_id}:application/{app_id}"
            tags = ac.list_tags_for_resource(ResourceArn=arn).get("Tags", {})
            if is_workshop_resource(tags):
                profiles = self._profiles(ac, app_id)
                detail = "; ".join(
                    filter(
                        None,
                        [
                            f"profiles: {', '.join(p['Name'] for p in profiles)}"
                            if profiles
                            else "",
                            via,
                        ],
                    )
                )
                out.append(self.found("application", name, arn, tags, detail, id=app_id))
        return out

    @staticmethod
    def _profiles(ac: Any, app_id: str) -> list[dict[str, Any]]:
        return [
            p
            for page in _pages(ac, "list_configuration_profiles", ApplicationId=app_id)
            for p in page.get("Items", [])
        ]

    def delete(self, ctx: Workshop, found: Found) -> str:
        ac = ctx.client("appconfig")
        app_id = found.ref["id"]
        envs = _optional(
            ctx,
            lambda: [
                e
                for page in _pages(ac, "list_environments", ApplicationId=app_id)
                for e in page.get("Items", [])
            ],
            None,
        )
        unlisted = envs is None
        for env in envs or []:
            _ignore_gone(
                lambda e=env: ac.delete_environment(ApplicationId=app_id, EnvironmentId=e["Id"])
            )
        profiles = self._profiles(ac, app_id)
        versions = 0
        for profile in profiles:
            numbers = _optional(
                ctx,
                lambda p=profile: [
                    v["VersionNumber"]
                    for page in _pages(
                        ac,
                        "list_hosted_configuration_versions",
                        ApplicationId=app_id,
                        ConfigurationProfileId=p["Id"],
                    )
                    for v in page.get("Items", [])
                ],
                None,
            )
            unlisted = unlisted or numbers is None
            numbers = numbers or []
            for number in numbers:
                _ignore_gone(
                    lambda p=profile, n=number: ac.delete_hosted_configuration_version(
                        ApplicationId=app_id, ConfigurationProfileId=p["Id"], VersionNumber=n
                    )
                )
            versions += len(numbers)
            _ignore_gone(
                lambda p=profile: ac.delete_configuration_profile(
                    ApplicationId=app_id, ConfigurationProfileId=p["Id"]
                )
            )
        ac.delete_application(ApplicationId=app_id)
        forget(ctx, "appconfig", id=app_id)
        parts = [
            _n(len(envs or []), "environment"),
            _n(len(profiles), "profile"),
            _n(versions, "hosted version"),
        ]
        done = ", ".join(p for p in parts if not p.startswith("0 "))
        return "; ".join(
            p
            for p in (
                f"with {done}" if done else "",
                "the emulator cannot list environments or hosted versions: they went with it"
                if unlisted
                else "",
            )
            if p
        )


class IAMCleaner(_Base):
    """Instance profiles, roles (policies detached, inline deleted), then managed policies.

    IAM is global: on AWS this finds the workshop's IAM resources whatever the region.
    """

    service = "iam"
    local_notes = (
        "roles, policies, instance profiles; instance-profile tags come from "
        "GetInstanceProfile (ListInstanceProfileTags unimplemented)"
    )

    def list(self, ctx: Workshop) -> list[Found]:
        iam = ctx.client("iam")
        profiles, roles, policies = [], [], []
        for page in _pages(iam, "list_instance_profiles"):
            for prof in page.get("InstanceProfiles", []):
                name = prof["InstanceProfileName"]
                try:
                    tags = _optional(
                        ctx,
                        lambda n=name: [
                            t
                            for p in _pages(
                                iam, "list_instance_profile_tags", InstanceProfileName=n
                            )
                            for t in p.get("Tags", [])
                        ],
                        None,
                    )
                    if tags is None:  # the emulator: tags come with GetInstanceProfile
                        tags = iam.get_instance_profile(InstanceProfileName=name)[
                            "InstanceProfile"
                        ].get("Tags", [])
                except ClientError as exc:
                    if _is_gone(exc):
                        continue
                    raise
                if is_workshop_resource(tags):
                    profiles.append(self.found("instance-profile", name, prof["Arn"], tags))
        for page in _pages(iam, "list_roles"):
            for role in page.get("Roles", []):
                if role.get("Path", "/").startswith("/aws-service-role/"):
                    continue  # service-linked roles belong to their service
                tags = _ignore_gone(
                    lambda n=role["RoleName"]: [
                        t
                        for p in _pages(iam, "list_role_tags", RoleName=n)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    roles.append(self.found("role", role["RoleName"], role["Arn"], tags))
        for page in _pages(iam, "list_policies", Scope="Local"):
            for pol in page.get("Policies", []):
                tags = _ignore_gone(
                    lambda a=pol["Arn"]: [
                        t
                        for p in _pages(iam, "list_policy_tags", PolicyArn=a)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    policies.append(self.found("policy", pol["PolicyName"], pol["Arn"], tags))
        return profiles + roles + policies

    def delete(self, ctx: Workshop, found: Found) -> str:
        iam = ctx.client("iam")
        if found.kind == "instance-profile":
            roles = iam.get_instance_profile(InstanceProfileName=found.name)["InstanceProfile"].get(
                "Roles", []
            )
            for role in roles:
                _ignore_gone(
                    lambda r=role: iam.remove_role_from_instance_profile(
                        InstanceProfileName=found.name, RoleName=r["RoleName"]
                    )
                )
            iam.delete_instance_profile(InstanceProfileName=found.name)
            return f"{_n(len(roles), 'role')} removed from it first" if roles else ""
        if found.kind == "role":
            return self._delete_role(iam, found.name)
        return self._delete_policy(iam, found.arn)

    @staticmethod
    def _delete_role(iam: Any, role: str) -> str:
        attached = [
            p["PolicyArn"]
            for page in _pages(iam, "list_attached_role_policies", RoleName=role)
            for p in page.get("AttachedPolicies", [])
        ]
        for arn in attached:
            _ignore_gone(lambda a=arn: iam.detach_role_policy(RoleName=role, PolicyArn=a))
        inline = [
            n
            for page in _pages(iam, "list_role_policies", RoleName=role)
            for n in page.get("PolicyNames", [])
        ]
        for name in inline:
            _ignore_gone(lambda n=name: iam.delete_role_policy(RoleName=role, PolicyName=n))
        profiles = [
            p["InstanceProfileName"]
            for page in _pages(iam, "list_instance_profiles_for_role", RoleName=role)
            for p in page.get("InstanceProfiles", [])
        ]
        for prof in profiles:
            _ignore_gone(
                lambda p=prof: iam.remove_role_from_instance_profile(
                    InstanceProfileName=p, RoleName=role
                )
            )
        iam.delete_role(RoleName=role)
        parts = [
            f"{_n(len(attached), 'policy', 'policies')} detached" if attached else "",
            f"{_n(len(inline), 'inline policy', 'inline policies')} deleted" if inline else "",
            f"removed from {_n(len(profiles), 'instance profile')}" if profiles else "",
        ]
        return ", ".join(p for p in parts if p)

    @staticmethod
    def _delete_policy(iam: Any, arn: str) -> str:
        detached = 0
        for page in _pages(iam, "list_entities_for_policy", PolicyArn=arn):
            for role in page.get("PolicyRoles", []):
                _ignore_gone(
                    lambda r=role: iam.detach_role_policy(RoleName=r["RoleName"], PolicyArn=arn)
                )
                detached += 1
            for user in page.get("PolicyUsers", []):
                _ignore_gone(
                    lambda u=user: iam.detach_user_policy(UserName=u["UserName"], PolicyArn=arn)
                )
                detached += 1
            for group in page.get("PolicyGroups", []):
                _ignore_gone(
                    lambda g=group: iam.detach_group_policy(GroupName=g["GroupName"], PolicyArn=arn)
                )
                detached += 1
        for page in _pages(iam, "list_policy_versions", PolicyArn=arn):
            for version in page.get("Versions", []):
                if not version.get("IsDefaultVersion"):
                    _ignore_gone(
                        lambda v=version: iam.delete_policy_version(
                            PolicyArn=arn, VersionId=v["VersionId"]
                        )
                    )
        iam.delete_policy(PolicyArn=arn)
        return f"detached from {_n(detached, 'entity', 'entities')} first" if detached else ""
