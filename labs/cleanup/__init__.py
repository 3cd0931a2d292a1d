"""Remove every workshop resource: ``labs.cleanup.cleanup(ctx)`` and ``python -m labs.cleanup``.

Every resource the workshop creates carries the tag ``workshop=devops-on-aws-labs``
(:data:`labs.env.WORKSHOP_TAG`). The Resource Groups Tagging API cannot find most of them in the
local emulator (FACTS.md), so each service has a small *cleaner* here that lists its resources
with the service's own API, reads their tags with that service's own API, and deletes the tagged
ones in an order the service accepts (an S3 bucket is emptied of every object version first, ECS
services go before their cluster, and so on). Nothing without the workshop tag is ever deleted;
the one exception is CloudWatch dashboards, which carry no tags in the emulator: those whose
name starts with ``labs-`` are deleted. ``cleanup(ctx, lab="04")`` and
``inventory(ctx, lab="04")`` keep to the resources tagged ``lab=04``.

Running it twice is fine: a resource that is already gone counts as deleted, and a failure on
one resource is recorded in the returned frame without stopping the others.

What each cleaner can and cannot see on the local emulator (moto 5.2.5, measured):

=============== ========================================================================
Service         On the local emulator
=============== ========================================================================
s3              everything: buckets, tags, object versions, delete markers, uploads
dynamodb        everything
sqs             everything
sns             everything: topics, tags, subscriptions
ssm             everything (parameters)
iam             roles, policies, instance profiles; instance-profile tags come from
                ``GetInstanceProfile`` (``ListInstanceProfileTags`` is unimplemented)
logs            everything (log groups)
cloudwatch      alarms (tagged); dashboards have no tags: deleted by the ``labs-`` prefix
codecommit      cannot list repositories or read their tags: repositories are found through
                the ledger (:func:`track`, :func:`record`); AWS lists and tags them normally
codebuild       everything (projects)
codedeploy      lists applications, tags and deployment groups, but cannot delete them
                (``DeleteApplication``/``DeleteDeploymentGroup`` unimplemented): reported as
                ``skipped``; ``reset_local=True`` removes them
codepipeline    everything (pipelines)
cloudformation  everything (stacks, tagged at stack level)
ecr             everything (repositories, deleted with their images)
ecs             everything; deleted clusters and services stay listed as ``INACTIVE`` (ignored)
eks             everything (node groups, clusters)
elbv2           everything (load balancers, listeners, target groups)
appconfig       cannot list applications (``ListApplications`` unimplemented): found
                through the ledger; cannot list hosted configuration versions or
                environments: the emulator drops them with their profile/application
lambda          everything (functions)
events          everything (rules on every event bus)
=============== ========================================================================

The *ledger* is a small JSON file under ``.workshop/`` that records what was created where the
emulator cannot list it. :func:`track` records CodeCommit repositories and AppConfig
applications created through any client the context makes afterwards — :func:`labs.start` calls
it on the local target, so a repository a learner creates by hand is found too; :func:`record`
adds one by hand. On AWS the services list themselves and the ledger is not needed.

Where the code is:

================= ===========================================================================
Module            What it holds
================= ===========================================================================
``core``          :data:`SERVICES` (the cleaners in deletion order), :func:`cleanup`,
                  :func:`inventory`, the summary and :func:`main` (the command line)
``base``          :class:`Found`, the :class:`Cleaner` protocol, tag and error helpers
``tracking``      :func:`record`, :func:`forget`, :func:`ledger`, :func:`track` (no pandas)
``cicd``          CodePipeline, CodeBuild, CodeDeploy, CodeCommit cleaners
``containers``    ECS, EKS, ELBv2, Lambda, ECR cleaners
``observability`` EventBridge, CloudWatch, CloudWatch Logs cleaners
``data``          SNS, SQS, DynamoDB, SSM, S3 cleaners
``platform``      CloudFormation, AppConfig, IAM cleaners
================= ===========================================================================

``labs.start()`` imports :mod:`labs.cleanup.tracking` and so this package: everything that needs
pandas (``core`` and the cleaners it registers) is imported on first use of its name here, so
that starting the workshop stays fast. ``from labs.cleanup import cleanup`` works as usual.
The ledger and the tracking hooks live in :mod:`labs.cleanup.tracking`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from labs.cleanup.base import Cleaner, Found, is_workshop_resource
from labs.cleanup.tracking import forget, ledger, record, track

if TYPE_CHECKING:
    from labs.cleanup.core import (
        ACTIONS,
        SERVICES,
        cleanup,
        inventory,
        main,
    )

__all__ = [
    "ACTIONS",
    "SERVICES",
    "Cleaner",
    "Found",
    "cleanup",
    "forget",
    "inventory",
    "is_workshop_resource",
    "ledger",
    "main",
    "record",
    "track",
]

# Names imported on first use (most need pandas), and the module that defines each.
_LAZY = {
    "LEDGER_FILE": "tracking",
    "ACTIONS": "core",
    "CLEANUP_COLUMNS": "core",
    "INVENTORY_COLUMNS": "core",
    "SERVICES": "core",
    "cleanup": "core",
    "inventory": "core",
    "main": "core",
    "CodeBuildCleaner": "cicd",
    "CodeCommitCleaner": "cicd",
    "CodeDeployCleaner": "cicd",
    "CodePipelineCleaner": "cicd",
    "ECRCleaner": "containers",
    "ECSCleaner": "containers",
    "EKSCleaner": "containers",
    "ELBv2Cleaner": "containers",
    "LambdaCleaner": "containers",
    "DASHBOARD_PREFIX": "observability",
    "CloudWatchCleaner": "observability",
    "EventsCleaner": "observability",
    "LogsCleaner": "observability",
    "DynamoDBCleaner": "data",
    "S3Cleaner": "data",
    "SNSCleaner": "data",
    "SQSCleaner": "data",
    "SSMCleaner": "data",
    "AppConfigCleaner": "platform",
    "CloudFormationCleaner": "platform",
    "IAMCleaner": "platform",
}


def __getattr__(name: str) -> Any:
    """Import what ``name`` needs on first use (``labs.cleanup.cleanup``, ``SERVICES``, …)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labs.cleanup' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"labs.cleanup.{module}"), name)
    globals()[name] = value  # the same object from now on, without this hook
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
