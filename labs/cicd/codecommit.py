"""AWS CodeCommit: the repository in the emulator, and what a real account adds.

What the local emulator (moto 5.2.5) does with CodeCommit, measured with :func:`probe`:
``CreateRepository`` (tags accepted), ``GetRepository`` and ``DeleteRepository`` work; every
other operation — listing repositories, reading tags, branches, files, pull requests, approval
rule templates, triggers — answers HTTP 500, and there is no git endpoint, so nothing can be
cloned or pushed. The workshop's git history therefore lives in the local repository
(:mod:`labs.cicd.git`), and this module gives, for a real account, the exact JSON and commands:

* :func:`approval_rule_template` — the approval rule template content (``Version 2018-11-08``),
  https://docs.aws.amazon.com/codecommit/latest/userguide/approval-rule-templates.html
* :func:`repository_trigger` — one entry of ``PutRepositoryTriggers``' ``triggers``,
  https://docs.aws.amazon.com/codecommit/latest/APIReference/API_RepositoryTrigger.html
* :func:`grc_url` / :func:`grc_commands` — cloning and pushing with ``git-remote-codecommit``,
  https://docs.aws.amazon.com/codecommit/latest/userguide/setting-up-git-remote-codecommit.html
* :func:`connection_commands` / :func:`connection_source_action` — AWS CodeConnections to
  GitHub, GitLab or Bitbucket, the usual alternative source for CodePipeline,
  https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections.html

Service status (FACTS.md): CodeCommit was closed to new customers on 2024-07-25 and returned to
general availability on 2025-11-24 (AWS DevOps blog, "AWS CodeCommit returns to general
availability").
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

from labs import cleanup
from labs.env import Workshop
from labs.errors import InputError

__all__ = [
    "APPROVAL_RULE_VERSION",
    "CONNECTION_PROVIDERS",
    "TRIGGER_EVENTS",
    "approval_rule_template",
    "approval_rule_template_commands",
    "attempt",
    "connection_commands",
    "connection_source_action",
    "create_repository",
    "delete_approval_rule_template",
    "delete_repository",
    "grc_commands",
    "grc_url",
    "probe",
    "repository_trigger",
    "trigger_commands",
]

APPROVAL_RULE_VERSION = "2018-11-08"
"""The only ``Version`` of approval rule (template) content CodeCommit accepts."""

TRIGGER_EVENTS: tuple[str, ...] = ("all", "updateReference", "createReference", "deleteReference")
"""Valid ``events`` of a repository trigger; ``all`` cannot be combined with the others."""

CONNECTION_PROVIDERS: tuple[str, ...] = (
    "GitHub",
    "GitHubEnterpriseServer",
    "GitLab",
    "GitLabSelfManaged",
    "Bitbucket",
)
"""``--provider-type`` values of ``aws codeconnections create-connection``."""

_NAME = re.compile(r"[\w.-]{1,100}")


def _check_name(name: Any) -> str:
    """CodeCommit repository names: 1–100 letters, digits, ``.``, ``_``, ``-``; not ``*.git``."""
    if (
        not isinstance(name, str)
        or not _NAME.fullmatch(name)
        or name.lower().endswith(".git")
        or not name.isascii()
    ):
        raise InputError(
            f"{name!r} is not a valid CodeCommit repository name.",
            where="repository name",
            hint="Use up to 100 ASCII letters, digits, '.', '_' or '-', not ending in '.git' "
            "(e.g. ctx.name('bookstore')).",
        )
    return name


def _code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _unimplemented(ctx: Workshop, exc: BaseException) -> bool:
    """True when the local emulator answered "not implemented" (HTTP 500/501, unparsable)."""
    if not ctx.is_local:
        return False
    if isinstance(exc, ResponseParserError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status in (500, 501)
    return False


# --------------------------------------------------------------------------------------------
# The repository
# --------------------------------------------------------------------------------------------


def create_repository(
    ctx: Workshop, name: str, *, lab: str, description: str | None = None
) -> dict[str, Any]:
    """Create CodeCommit repository ``name`` with the workshop's tags, or return the existing one.

    Idempotent: ``GetRepository`` first, ``CreateRepository`` (with ``tags``) only when it is
    missing. The repository is written into the cleanup ledger (:func:`labs.cleanup.record`),
    because the emulator cannot list CodeCommit repositories; on AWS its tags are (re)applied
    with ``TagResource`` when it already existed.

    Args:
        ctx: The workshop context.
        name: The repository name, e.g. ``ctx.name("bookstore")``.
        lab: The lab that owns it (the ``lab`` tag).
        description: The repository description.

    Returns:
        The ``repositoryMetadata`` of ``GetRepository``/``CreateRepository``: name, id, ARN,
        clone URLs, account id, dates.

    Raises:
        InputError: The name is not a valid repository name.
    """
    _check_name(name)
    tags = ctx.tags(lab=lab)
    cc = ctx.client("codecommit")
    try:
        meta = cc.get_repository(repositoryName=name)["repositoryMetadata"]
        if not ctx.is_local:
            cc.tag_resource(resourceArn=meta["Arn"], tags=dict(tags))
    except ClientError as exc:
        if _code(exc) != "RepositoryDoesNotExistException":
            raise
        params: dict[str, Any] = {"repositoryName": name, "tags": dict(tags)}
        if description:
            params["repositoryDescription"] = description
        meta = cc.create_repository(**params)["repositoryMetadata"]
    if ctx.is_local:
        cleanup.record(ctx, "codecommit", "repository", name, tags=tags)
    return meta


def delete_repository(ctx: Workshop, name: str) -> bool:
    """Delete CodeCommit repository ``name``; return True if it existed. Safe to repeat.

    On AWS, deleting a repository deletes its history for good: clone it first if in doubt.
    """
    _check_name(name)
    cc = ctx.client("codecommit")
    try:
        cc.get_repository(repositoryName=name)
    except ClientError as exc:
        if _code(exc) != "RepositoryDoesNotExistException":
            raise
        existed = False
    else:
        cc.delete_repository(repositoryName=name)
        existed = True
    cleanup.forget(ctx, "codecommit", name=name)
    return existed


def delete_approval_rule_template(ctx: Workshop, name: str) -> bool:
    """Delete approval rule template ``name``; return True if it existed. Safe to repeat.

    The local emulator does not implement approval rule templates, so there it returns False.
    A template still associated with repositories must be disassociated first on AWS.
    """
    cc = ctx.client("codecommit")
    try:
        cc.delete_approval_rule_template(approvalRuleTemplateName=name)
    except (ClientError, ResponseParserError) as exc:
        if _unimplemented(ctx, exc) or _code(exc) == "ApprovalRuleTemplateDoesNotExistException":
            return False
        raise
    return True


def attempt(
    ctx: Workshop, call: Callable[..., Any], on_aws: str, **params: Any
) -> dict[str, Any] | None:
    """Make one AWS call; where the local emulator lacks it, say so and what AWS would return.

    Args:
        ctx: The workshop context.
        call: A client method, e.g. ``cc.put_repository_triggers``.
        on_aws: What the call returns on AWS, for the message (``"the trigger's configurationId"``).
        **params: The call's parameters.

    Returns:
        The response (without ``ResponseMetadata``), or None when the call failed: a line
        says either that the emulator does not implement the operation, or the error code and
        message AWS (or the emulator) answered.
    """
    operation = _operation_name(call)
    try:
        response = dict(call(**params))
    except (ClientError, ResponseParserError) as exc:
        if _unimplemented(ctx, exc):
            print(
                f"✘ The local emulator does not implement {operation}; on AWS it returns {on_aws}."
            )
        else:
            error = getattr(exc, "response", {}).get("Error", {})
            print(
                f"✘ {operation} failed: {error.get('Code', type(exc).__name__)}: "
                f"{error.get('Message', str(exc))}"
            )
        return None
    response.pop("ResponseMetadata", None)
    print(f"✔ {operation} worked.")
    return response


def _operation_name(call: Callable[..., Any]) -> str:
    client = getattr(call, "__self__", None)
    name = getattr(call, "__name__", "the call")
    if client is not None:
        return str(client.meta.method_to_api_mapping.get(name, name))
    return name


# What probe() tries, in order: (operation, what it is for, parameters, changes something).
_PROBES: tuple[tuple[str, str, Callable[[str, Workshop], dict[str, Any]], bool], ...] = (
    ("GetRepository", "describe a repository", lambda r, c: {"repositoryName": r}, False),
    ("ListRepositories", "list repositories", lambda r, c: {}, False),
    (
        "BatchGetRepositories",
        "describe several repositories",
        lambda r, c: {"repositoryNames": [r]},
        False,
    ),
    (
        "ListTagsForResource",
        "read a repository's tags",
        lambda r, c: {"resourceArn": f"arn:aws:codecommit:{c.region}:{c.account_id}:{r}"},
        False,
    ),
    (
        "TagResource",
        "tag a repository",
        lambda r, c: {
            "resourceArn": f"arn:aws:codecommit:{c.region}:{c.account_id}:{r}",
            "tags": {"probe": "yes"},
        },
        True,
    ),
    (
        "UpdateRepositoryDescription",
        "change the description",
        lambda r, c: {"repositoryName": r, "repositoryDescription": "probed"},
        True,
    ),
    ("ListBranches", "list branches", lambda r, c: {"repositoryName": r}, False),
    (
        "PutFile",
        "commit a file through the API",
        lambda r, c: {
            "repositoryName": r,
            "branchName": "main",
            "filePath": "PROBE.md",
            "fileContent": b"probe\n",
        },
        True,
    ),
    (
        "ListPullRequests",
        "list pull requests",
        lambda r, c: {"repositoryName": r},
        False,
    ),
    ("ListApprovalRuleTemplates", "list approval rule templates", lambda r, c: {}, False),
    (
        "CreateApprovalRuleTemplate",
        "create an approval rule template",
        lambda r, c: {
            "approvalRuleTemplateName": f"{r}-probe",
            "approvalRuleTemplateContent": json.dumps(approval_rule_template()),
        },
        True,
    ),
    ("GetRepositoryTriggers", "read triggers", lambda r, c: {"repositoryName": r}, False),
    (
        "PutRepositoryTriggers",
        "set triggers",
        lambda r, c: {
            "repositoryName": r,
            "triggers": [
                repository_trigger(
                    "probe", f"arn:aws:sns:{c.region}:{c.account_id}:{r}-probe", branches=()
                )
            ],
        },
        True,
    ),
)


def probe(ctx: Workshop, repository: str) -> pd.DataFrame:
    """Try CodeCommit's operations against ``repository`` and report which the target answers.

    On the local target every operation is tried (the emulator is disposable), plus a
    ``git ls-remote`` against the emulator's address for git's own protocol. On the aws target
    only the read-only operations are tried: the others would change a real account.

    Returns:
        One row per operation: ``operation``, ``what`` it is for, and ``result`` — ``works``,
        ``not implemented (HTTP 500)``, the error code AWS answered, or ``not tried``.
    """
    _check_name(repository)
    cc = ctx.client("codecommit")
    rows = []
    scratch = f"{repository[:90]}-probe"
    probes: list[tuple[str, str, Callable[[str, Workshop], dict[str, Any]], bool]] = [
        (
            "CreateRepository",
            "create a repository, with tags",
            lambda r, c: {"repositoryName": scratch, "tags": dict(c.tags())},
            True,
        ),
        ("DeleteRepository", "delete a repository", lambda r, c: {"repositoryName": scratch}, True),
        *_PROBES,
    ]
    for operation, what, params, changes in probes:
        if changes and not ctx.is_local:
            rows.append((operation, what, "not tried (it would change the account)"))
            continue
        method = getattr(cc, _snake(operation))
        try:
            method(**params(repository, ctx))
            result = "works"
        except (ClientError, ResponseParserError) as exc:
            if _unimplemented(ctx, exc):
                status = getattr(exc, "response", {}).get("ResponseMetadata", {})
                result = f"not implemented (HTTP {status.get('HTTPStatusCode', '?')})"
            else:
                result = f"answers {_code(exc) or type(exc).__name__}"
        rows.append((operation, what, result))
    rows.append(("git clone / push", "git's own protocol over HTTPS", _git_probe(ctx, repository)))
    return pd.DataFrame(rows, columns=["operation", "what", "result"])


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _git_probe(ctx: Workshop, repository: str) -> str:
    if not ctx.is_local or not ctx.endpoint:
        return "not tried (needs git-remote-codecommit and your credentials)"
    try:
        done = subprocess.run(
            ["git", "ls-remote", f"{ctx.endpoint}/v1/repos/{repository}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_CONFIG_NOSYSTEM": "1",
                "LC_ALL": "C",
            },
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"not tried ({type(exc).__name__})"
    if done.returncode == 0:
        return "works"
    return "not served (no git endpoint)"


# --------------------------------------------------------------------------------------------
# For a real account: JSON documents and commands
# --------------------------------------------------------------------------------------------


def approval_rule_template(
    *,
    approvals: int = 2,
    pool: Iterable[str] = (),
    branches: Iterable[str] = ("main",),
) -> dict[str, Any]:
    """Build the content of a CodeCommit approval rule template (``Version 2018-11-08``).

    Associated with a repository, the template adds an approval rule to every pull request whose
    destination is one of ``branches``: it cannot be merged before ``approvals`` members of
    ``pool`` approve it. See "Working with approval rule templates",
    https://docs.aws.amazon.com/codecommit/latest/userguide/approval-rule-templates.html

    Args:
        approvals: ``NumberOfApprovalsNeeded``.
        pool: ``ApprovalPoolMembers``: IAM ARNs (wildcards allowed, e.g.
            ``arn:aws:sts::123456789012:assumed-role/CodeCommitReview/*``) or
            ``CodeCommitApprovers:<account>:<name>``. Empty: anyone with access may approve.
        branches: Destination branches (``main`` or ``refs/heads/main``); empty: all branches.

    Returns:
        The content as a dict; pass ``json.dumps(...)`` as ``approvalRuleTemplateContent``.
    """
    if not isinstance(approvals, int) or isinstance(approvals, bool) or approvals < 1:
        raise InputError(
            f"approvals must be a whole number of at least 1, not {approvals!r}.",
            where="approval_rule_template(approvals=…)",
        )
    members = list(pool)
    for member in members:
        if not isinstance(member, str) or not (
            member.startswith("arn:aws") or member.startswith("CodeCommitApprovers:")
        ):
            raise InputError(
                f"{member!r} is not an approval pool member.",
                where="approval_rule_template(pool=…)",
                hint="Use an IAM ARN such as arn:aws:sts::123456789012:assumed-role/"
                "CodeCommitReview/* or CodeCommitApprovers:123456789012:Mary_Major.",
            )
    statement: dict[str, Any] = {"Type": "Approvers", "NumberOfApprovalsNeeded": approvals}
    if members:
        statement["ApprovalPoolMembers"] = members
    content: dict[str, Any] = {"Version": APPROVAL_RULE_VERSION}
    refs = [b if b.startswith("refs/") else f"refs/heads/{b}" for b in branches]
    if refs:
        content["DestinationReferences"] = refs
    content["Statements"] = [statement]
    return content


def approval_rule_template_commands(
    template_name: str,
    repository: str,
    *,
    description: str = "",
    content_file: str = "approval-rule-template.json",
) -> list[str]:
    """Return the AWS CLI commands that create an approval rule template and associate it.

    Write :func:`approval_rule_template`'s JSON to ``content_file`` first.
    """
    _check_name(repository)
    create = (
        "aws codecommit create-approval-rule-template "
        f"--approval-rule-template-name {template_name} "
        + (f'--approval-rule-template-description "{description}" ' if description else "")
        + f"--approval-rule-template-content file://{content_file}"
    )
    return [
        create,
        "aws codecommit associate-approval-rule-template-with-repository "
        f"--approval-rule-template-name {template_name} --repository-name {repository}",
        f"aws codecommit list-associated-approval-rule-templates-for-repository "
        f"--repository-name {repository}",
    ]


def repository_trigger(
    name: str,
    destination_arn: str,
    *,
    events: Iterable[str] = ("all",),
    branches: Iterable[str] = ("main",),
    custom_data: str | None = None,
) -> dict[str, Any]:
    """Build one repository trigger, the shape ``PutRepositoryTriggers`` takes in ``triggers``.

    A trigger sends repository events (pushes, branch or tag creation and deletion) to an SNS
    topic or a Lambda function. AWS recommends notification rules (EventBridge) for plain
    notifications; triggers remain for invoking SNS/Lambda directly. See
    https://docs.aws.amazon.com/codecommit/latest/userguide/how-to-notify.html

    Args:
        name: The trigger's name.
        destination_arn: An SNS topic ARN or a Lambda function ARN.
        events: Among :data:`TRIGGER_EVENTS`; ``all`` alone or any of the other three.
        branches: Branch names; empty means every branch (the list itself is still sent).
        custom_data: Text included in what the trigger sends.
    """
    chosen = list(events)
    unknown = [e for e in chosen if e not in TRIGGER_EVENTS]
    if not chosen or unknown or ("all" in chosen and len(chosen) > 1):
        raise InputError(
            f"events {chosen!r} are not valid trigger events.",
            where="repository_trigger(events=…)",
            hint="Use ['all'] alone, or any of updateReference, createReference, deleteReference.",
        )
    if not re.match(r"arn:aws[\w-]*:(sns|lambda):", str(destination_arn)):
        raise InputError(
            f"{destination_arn!r} is not an SNS topic or Lambda function ARN.",
            where="repository_trigger(destination_arn=…)",
            hint="For example arn:aws:sns:us-east-1:123456789012:bookstore-pushes.",
        )
    if not name or not isinstance(name, str):
        raise InputError("A trigger needs a name.", where="repository_trigger(name=…)")
    trigger: dict[str, Any] = {
        "name": name,
        "destinationArn": destination_arn,
        "branches": list(branches),
        "events": chosen,
    }
    if custom_data:
        trigger["customData"] = custom_data
    return trigger


def trigger_commands(
    repository: str,
    triggers: Iterable[Mapping[str, Any]],
    *,
    region: str,
    account_id: str,
    triggers_file: str = "triggers.json",
) -> list[str]:
    """Return the AWS CLI commands that set, test and read a repository's triggers.

    Write ``json.dumps(list(triggers))`` to ``triggers_file`` first. A Lambda destination
    also needs a resource policy that lets CodeCommit invoke it (the ``add-permission`` line).
    """
    _check_name(repository)
    lines = []
    for trigger in triggers:
        arn = str(trigger.get("destinationArn", ""))
        if ":lambda:" in arn:
            function = arn.split(":function:", 1)[-1]
            lines.append(
                f"aws lambda add-permission --function-name {function} "
                "--statement-id codecommit-trigger --action lambda:InvokeFunction "
                "--principal codecommit.amazonaws.com "
                f"--source-arn arn:aws:codecommit:{region}:{account_id}:{repository} "
                f"--source-account {account_id}"
            )
    return [
        *lines,
        f"aws codecommit put-repository-triggers --repository-name {repository} "
        f"--triggers file://{triggers_file}",
        f"aws codecommit test-repository-triggers --repository-name {repository} "
        f"--triggers file://{triggers_file}",
        f"aws codecommit get-repository-triggers --repository-name {repository}",
    ]


def grc_url(repository: str, region: str, *, profile: str | None = None) -> str:
    """Return the ``git-remote-codecommit`` URL: ``codecommit::REGION://[PROFILE@]NAME``.

    git-remote-codecommit signs git's requests with your AWS credentials (a profile, SSO or a
    role), so no Git credentials or SSH keys are needed.
    """
    _check_name(repository)
    who = f"{profile}@" if profile else ""
    return f"codecommit::{region}://{who}{repository}"


def grc_commands(
    repository: str,
    region: str,
    *,
    profile: str | None = None,
    local_path: str = ".",
    branch: str = "main",
) -> list[str]:
    """Return the commands that push the local repository to CodeCommit and clone it back.

    Args:
        repository: The CodeCommit repository name.
        region: Its region.
        profile: An AWS CLI profile to sign with; default the current credentials.
        local_path: The local repository to push (``repo.path``).
        branch: The branch to push; the first push makes it the default branch.
    """
    url = grc_url(repository, region, profile=profile)
    return [
        "python -m pip install git-remote-codecommit",
        f"git -C {local_path} remote add codecommit {url}",
        f"git -C {local_path} push codecommit {branch}",
        f"git clone {url} {repository}-clone",
    ]


def connection_commands(
    name: str, *, provider: str = "GitHub", region: str = "us-east-1"
) -> list[str]:
    """Return the AWS CLI commands that create a CodeConnections connection and check it.

    A connection made from the CLI starts ``PENDING``; it becomes ``AVAILABLE`` only after
    the one-time handshake with the provider in the console (Developer Tools → Settings →
    Connections → *Update pending connection*). See
    https://docs.aws.amazon.com/dtconsole/latest/userguide/connections-update.html
    """
    if provider not in CONNECTION_PROVIDERS:
        raise InputError(
            f"{provider!r} is not a CodeConnections provider type.",
            where="connection_commands(provider=…)",
            hint=f"Use one of {', '.join(CONNECTION_PROVIDERS)}.",
        )
    return [
        f"aws codeconnections create-connection --provider-type {provider} "
        f"--connection-name {name} --region {region}",
        "# then, once: console → Developer Tools → Settings → Connections → "
        "Update pending connection",
        "aws codeconnections get-connection --connection-arn <ConnectionArn from above> "
        f"--region {region}   # ConnectionStatus: AVAILABLE",
    ]


def connection_source_action(
    connection_arn: str, full_repository_id: str, *, branch: str = "main"
) -> dict[str, Any]:
    """Return a CodePipeline source action reading ``owner/repo`` through a connection.

    The action provider keeps its original name, ``CodeStarSourceConnection``; see
    https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html
    """
    if "/" not in full_repository_id:
        raise InputError(
            f"{full_repository_id!r} is not an owner/repository id.",
            where="connection_source_action(full_repository_id=…)",
            hint="For example 'my-org/bookstore'.",
        )
    return {
        "name": "Source",
        "actionTypeId": {
            "category": "Source",
            "owner": "AWS",
            "provider": "CodeStarSourceConnection",
            "version": "1",
        },
        "configuration": {
            "ConnectionArn": connection_arn,
            "FullRepositoryId": full_repository_id,
            "BranchName": branch,
        },
        "outputArtifacts": [{"name": "SourceOutput"}],
        "runOrder": 1,
    }
