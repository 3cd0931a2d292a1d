"""Read, change and delete live resources through their own service APIs, type by type.

CloudFormation's resource handlers create, read, update and delete each resource type through
that service's API; drift detection uses the *read* handler. On the local target the emulator
plays those handlers only in part (FACTS.md), so ``labs.iac`` keeps, for the types the IaC labs
use, what it needs to stand in:

* :func:`read` — the live configuration in CloudFormation's property names (drift detection);
* :func:`get_att` — a ``Fn::GetAtt`` value read from the live resource;
* :func:`apply` — set one declared property (for what the emulator accepted but did not apply);
* :func:`remove` — delete the resource (for what the emulator lost track of in an update).

And a small *ledger* (:func:`stack_resources`, :func:`remember`): the emulator drops a
resource from a stack's resource list when an update modifies a type it cannot update (a
DynamoDB table, a log group) although the resource still exists; the ledger, a JSON file under
``.workshop/`` keyed by stack id, remembers each stack's resources from its last deploy so that
reports, drift detection and deletion still see them. On AWS none of this is used.

Supported types: ``AWS::S3::Bucket``, ``AWS::DynamoDB::Table``, ``AWS::SQS::Queue``,
``AWS::SNS::Topic``, ``AWS::SSM::Parameter``, ``AWS::Logs::LogGroup``, ``AWS::IAM::Role`` and
``AWS::Lambda::Function``.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from labs import emulator
from labs.env import Workshop
from labs.iac.intrinsics import UNRESOLVED

__all__ = [
    "SUPPORTED_TYPES",
    "Gone",
    "Live",
    "StackResource",
    "apply",
    "forget",
    "get_att",
    "read",
    "remember",
    "remove",
    "stack_resources",
]


class Gone(Exception):
    """The resource no longer exists."""


@dataclass
class Live:
    """A resource's live configuration, in CloudFormation's property names.

    Attributes:
        properties: The values read back (a property the resource does not have is absent).
        known: Every property the reader can read; a declared one that is absent from
            ``properties`` was removed from the resource (``REMOVE``).
    """

    properties: dict[str, Any]
    known: frozenset[str] = field(default_factory=frozenset)


# --------------------------------------------------------------------------------------------
# Readers: one per supported resource type
# --------------------------------------------------------------------------------------------


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def _gone_on(call: Callable[[], Any], *codes: str) -> Any:
    try:
        return call()
    except ClientError as exc:
        if _code(exc) in codes or (_status(exc) == 404 and "404" in codes):
            raise Gone() from None
        raise


def _optional(call: Callable[[], Any], *codes: str) -> Any:
    """Run ``call``; return None when it answers one of ``codes`` (the setting is absent)."""
    try:
        return call()
    except ClientError as exc:
        if _code(exc) in codes:
            return None
        raise


def _tag_list(tags: Mapping[str, str] | list[dict[str, str]] | None) -> list[dict[str, str]]:
    if not tags:
        return []
    if isinstance(tags, Mapping):
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return [
        {"Key": t.get("Key", t.get("key")), "Value": t.get("Value", t.get("value"))} for t in tags
    ]


def _read_bucket(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    s3 = ctx.client("s3")
    _gone_on(lambda: s3.head_bucket(Bucket=physical_id), "404", "NoSuchBucket", "NotFound")
    props: dict[str, Any] = {"BucketName": physical_id}
    status = s3.get_bucket_versioning(Bucket=physical_id).get("Status")
    if status:
        props["VersioningConfiguration"] = {"Status": status}
    if "BucketEncryption" in declared:
        enc = _optional(
            lambda: s3.get_bucket_encryption(Bucket=physical_id),
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        if enc:
            rules = []
            for rule in enc["ServerSideEncryptionConfiguration"].get("Rules", []):
                item: dict[str, Any] = {}
                if "ApplyServerSideEncryptionByDefault" in rule:
                    item["ServerSideEncryptionByDefault"] = rule[
                        "ApplyServerSideEncryptionByDefault"
                    ]
                if "BucketKeyEnabled" in rule:
                    item["BucketKeyEnabled"] = rule["BucketKeyEnabled"]
                rules.append(item)
            props["BucketEncryption"] = {"ServerSideEncryptionConfiguration": rules}
    if "PublicAccessBlockConfiguration" in declared:
        block = _optional(
            lambda: s3.get_public_access_block(Bucket=physical_id),
            "NoSuchPublicAccessBlockConfiguration",
        )
        if block:
            props["PublicAccessBlockConfiguration"] = block["PublicAccessBlockConfiguration"]
    if "Tags" in declared:
        tagging = _optional(lambda: s3.get_bucket_tagging(Bucket=physical_id), "NoSuchTagSet")
        props["Tags"] = _tag_list(tagging["TagSet"] if tagging else [])
    known = {
        "BucketName",
        "VersioningConfiguration",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "Tags",
    }
    return Live(props, frozenset(known))


def _read_table(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    ddb = ctx.client("dynamodb")
    table = _gone_on(
        lambda: ddb.describe_table(TableName=physical_id)["Table"], "ResourceNotFoundException"
    )
    billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    props: dict[str, Any] = {
        "TableName": table["TableName"],
        "BillingMode": billing,
        "AttributeDefinitions": table.get("AttributeDefinitions", []),
        "KeySchema": table.get("KeySchema", []),
        "TableClass": table.get("TableClassSummary", {}).get("TableClass", "STANDARD"),
        "DeletionProtectionEnabled": table.get("DeletionProtectionEnabled", False),
    }
    if billing == "PROVISIONED":
        throughput = table.get("ProvisionedThroughput", {})
        props["ProvisionedThroughput"] = {
            "ReadCapacityUnits": throughput.get("ReadCapacityUnits"),
            "WriteCapacityUnits": throughput.get("WriteCapacityUnits"),
        }
    stream = table.get("StreamSpecification") or {}
    if stream.get("StreamEnabled"):
        props["StreamSpecification"] = {"StreamViewType": stream.get("StreamViewType")}
    sse = table.get("SSEDescription") or {}
    props["SSESpecification"] = {"SSEEnabled": sse.get("Status") in ("ENABLED", "ENABLING")}
    if "PointInTimeRecoverySpecification" in declared:
        backups = ddb.describe_continuous_backups(TableName=physical_id)
        pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        props["PointInTimeRecoverySpecification"] = {
            "PointInTimeRecoveryEnabled": pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
        }
    if "TimeToLiveSpecification" in declared:
        ttl = ddb.describe_time_to_live(TableName=physical_id)["TimeToLiveDescription"]
        spec: dict[str, Any] = {"Enabled": ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")}
        if ttl.get("AttributeName"):
            spec["AttributeName"] = ttl["AttributeName"]
        props["TimeToLiveSpecification"] = spec
    if "Tags" in declared:
        tags = ddb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
        props["Tags"] = _tag_list(tags)
    return Live(props, frozenset(props) | {"StreamSpecification", "ProvisionedThroughput"})


_SQS_ATTRIBUTES = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
    "RedriveAllowPolicy",
)


def _queue_url(ctx: Workshop, physical_id: str) -> str:
    name = physical_id.rstrip("/").rsplit("/", 1)[-1]
    sqs = ctx.client("sqs")
    return _gone_on(
        lambda: sqs.get_queue_url(QueueName=name)["QueueUrl"],
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )


def _read_queue(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    sqs = ctx.client("sqs")
    url = _queue_url(ctx, physical_id)
    attributes = _gone_on(
        lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"],
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    )
    props: dict[str, Any] = {"QueueName": url.rsplit("/", 1)[-1]}
    for name in _SQS_ATTRIBUTES:
        if name in attributes:
            value: Any = attributes[name]
            if name in ("RedrivePolicy", "RedriveAllowPolicy"):
                value = json.loads(value)
            props[name] = value
    if "Tags" in declared:
        props["Tags"] = _tag_list(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))
    return Live(props, frozenset(_SQS_ATTRIBUTES) | {"QueueName", "Tags"})


def _read_topic(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    sns = ctx.client("sns")
    attributes = _gone_on(
        lambda: sns.get_topic_attributes(TopicArn=physical_id)["Attributes"], "NotFound"
    )
    props: dict[str, Any] = {"TopicName": physical_id.rsplit(":", 1)[-1]}
    for name in ("DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication"):
        if attributes.get(name) not in (None, ""):
            props[name] = attributes[name]
    if "Subscription" in declared:
        subs = sns.list_subscriptions_by_topic(TopicArn=physical_id).get("Subscriptions", [])
        props["Subscription"] = [
            {"Endpoint": s["Endpoint"], "Protocol": s["Protocol"]} for s in subs
        ]
    if "Tags" in declared:
        tags = sns.list_tags_for_resource(ResourceArn=physical_id).get("Tags", [])
        props["Tags"] = _tag_list(tags)
    known = {"TopicName", "DisplayName", "KmsMasterKeyId", "FifoTopic", "ContentBasedDeduplication"}
    return Live(props, frozenset(known | {"Subscription", "Tags"}))


def _read_parameter(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    ssm = ctx.client("ssm")
    parameter = _gone_on(
        lambda: ssm.get_parameter(Name=physical_id)["Parameter"], "ParameterNotFound"
    )
    props: dict[str, Any] = {
        "Name": parameter["Name"],
        "Type": parameter["Type"],
        "Value": parameter["Value"],
    }
    if parameter.get("DataType"):
        props["DataType"] = parameter["DataType"]
    if {"Description", "AllowedPattern", "Tier"} & set(declared):
        found = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [physical_id]}]
        ).get("Parameters", [])
        for key in ("Description", "AllowedPattern", "Tier"):
            if found and found[0].get(key):
                props[key] = found[0][key]
    if "Tags" in declared:
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=physical_id)
        props["Tags"] = {t["Key"]: t["Value"] for t in tags.get("TagList", [])}
    known = {"Name", "Type", "Value", "DataType", "Description", "AllowedPattern", "Tier", "Tags"}
    return Live(props, frozenset(known))


def _find_log_group(ctx: Workshop, name: str) -> dict[str, Any]:
    logs = ctx.client("logs")
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name):
        for group in page.get("logGroups", []):
            if group["logGroupName"] == name:
                return group
    raise Gone()


def _read_log_group(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    group = _find_log_group(ctx, physical_id)
    props: dict[str, Any] = {"LogGroupName": group["logGroupName"]}
    if group.get("retentionInDays") is not None:
        props["RetentionInDays"] = group["retentionInDays"]
    if group.get("kmsKeyId"):
        props["KmsKeyId"] = group["kmsKeyId"]
    if group.get("logGroupClass"):
        props["LogGroupClass"] = group["logGroupClass"]
    if "Tags" in declared:
        logs = ctx.client("logs")
        tags = logs.list_tags_log_group(logGroupName=physical_id).get("tags", {})
        props["Tags"] = _tag_list(tags)
    return Live(props, frozenset({"LogGroupName", "RetentionInDays", "KmsKeyId", "Tags"}))


def _policy(document: Any) -> Any:
    """A policy document as a dict (IAM URL-encodes it; the emulator may return a repr)."""
    if isinstance(document, str):
        try:
            return _parse_policy_text(document)
        except (ValueError, SyntaxError):
            return document
    return document


def _parse_policy_text(text: str) -> Any:
    text = urllib.parse.unquote(text)
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


def _read_role(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    iam = ctx.client("iam")
    role = _gone_on(lambda: iam.get_role(RoleName=physical_id)["Role"], "NoSuchEntity")
    props: dict[str, Any] = {
        "RoleName": role["RoleName"],
        "Path": role.get("Path", "/"),
        "AssumeRolePolicyDocument": _policy(role.get("AssumeRolePolicyDocument")),
        "MaxSessionDuration": role.get("MaxSessionDuration", 3600),
    }
    if role.get("Description"):
        props["Description"] = role["Description"]
    if role.get("PermissionsBoundary"):
        props["PermissionsBoundary"] = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    if "ManagedPolicyArns" in declared:
        attached = iam.list_attached_role_policies(RoleName=physical_id)["AttachedPolicies"]
        props["ManagedPolicyArns"] = [p["PolicyArn"] for p in attached]
    if "Policies" in declared:
        names = iam.list_role_policies(RoleName=physical_id)["PolicyNames"]
        props["Policies"] = [
            {
                "PolicyName": name,
                "PolicyDocument": _policy(
                    iam.get_role_policy(RoleName=physical_id, PolicyName=name)["PolicyDocument"]
                ),
            }
            for name in names
        ]
    if "Tags" in declared:
        props["Tags"] = _tag_list(iam.list_role_tags(RoleName=physical_id).get("Tags", []))
    known = set(props) | {"Description", "PermissionsBoundary", "ManagedPolicyArns", "Policies"}
    return Live(props, frozenset(known | {"Tags"}))


def _read_function(ctx: Workshop, physical_id: str, declared: Mapping[str, Any]) -> Live:
    lam = ctx.client("lambda")
    found = _gone_on(
        lambda: lam.get_function(FunctionName=physical_id), "ResourceNotFoundException"
    )
    config = found["Configuration"]
    props: dict[str, Any] = {"FunctionName": config["FunctionName"]}
    for key in ("Runtime", "Handler", "Role", "Timeout", "MemorySize", "PackageType"):
        if config.get(key) is not None:
            props[key] = config[key]
    if config.get("Description"):
        props["Description"] = config["Description"]
    variables = (config.get("Environment") or {}).get("Variables")
    if variables:
        props["Environment"] = {"Variables": variables}
    if config.get("Architectures"):
        props["Architectures"] = config["Architectures"]
    if config.get("TracingConfig"):
        props["TracingConfig"] = {"Mode": config["TracingConfig"].get("Mode")}
    if config.get("Layers"):
        props["Layers"] = [layer["Arn"] for layer in config["Layers"]]
    if config.get("EphemeralStorage"):
        props["EphemeralStorage"] = {"Size": config["EphemeralStorage"]["Size"]}
    if "ReservedConcurrentExecutions" in declared:
        reserved = lam.get_function_concurrency(FunctionName=physical_id)
        if "ReservedConcurrentExecutions" in reserved:
            props["ReservedConcurrentExecutions"] = reserved["ReservedConcurrentExecutions"]
    if "Tags" in declared:
        props["Tags"] = _tag_list(found.get("Tags") or {})
    known = set(props) | {
        "Description",
        "Environment",
        "Architectures",
        "TracingConfig",
        "Layers",
        "EphemeralStorage",
        "ReservedConcurrentExecutions",
        "Tags",
    }
    return Live(props, frozenset(known))


READERS: dict[str, Callable[[Workshop, str, Mapping[str, Any]], Live]] = {
    "AWS::S3::Bucket": _read_bucket,
    "AWS::DynamoDB::Table": _read_table,
    "AWS::SQS::Queue": _read_queue,
    "AWS::SNS::Topic": _read_topic,
    "AWS::SSM::Parameter": _read_parameter,
    "AWS::Logs::LogGroup": _read_log_group,
    "AWS::IAM::Role": _read_role,
    "AWS::Lambda::Function": _read_function,
}

SUPPORTED_TYPES: tuple[str, ...] = tuple(READERS)
"""The resource types the local drift detector reads back (others are ``NOT_CHECKED``)."""


def get_att(ctx: Workshop, resource_type: str, physical_id: str, attribute: str) -> Any:
    """Return a ``Fn::GetAtt`` value read from the live resource (UNRESOLVED when unknown)."""
    partition = "aws-cn" if ctx.region.startswith("cn-") else "aws"
    try:
        if resource_type == "AWS::S3::Bucket":
            return {
                "Arn": f"arn:{partition}:s3:::{physical_id}",
                "DomainName": f"{physical_id}.s3.amazonaws.com",
                "RegionalDomainName": f"{physical_id}.s3.{ctx.region}.amazonaws.com",
            }.get(attribute, UNRESOLVED)
        if resource_type == "AWS::DynamoDB::Table":
            table = ctx.client("dynamodb").describe_table(TableName=physical_id)["Table"]
            return {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")}.get(
                attribute, UNRESOLVED
            )
        if resource_type == "AWS::SQS::Queue":
            url = _queue_url(ctx, physical_id)
            if attribute == "QueueUrl":
                return physical_id
            if attribute == "QueueName":
                return url.rsplit("/", 1)[-1]
            attrs = ctx.client("sqs").get_queue_attributes(
                QueueUrl=url, AttributeNames=["QueueArn"]
            )["Attributes"]
            return attrs["QueueArn"] if attribute == "Arn" else UNRESOLVED
        if resource_type == "AWS::SNS::Topic":
            return {"TopicArn": physical_id, "TopicName": physical_id.rsplit(":", 1)[-1]}.get(
                attribute, UNRESOLVED
            )
        if resource_type == "AWS::SSM::Parameter":
            parameter = ctx.client("ssm").get_parameter(Name=physical_id)["Parameter"]
            return {"Type": parameter["Type"], "Value": parameter["Value"]}.get(
                attribute, UNRESOLVED
            )
        if resource_type == "AWS::Logs::LogGroup":
            group = _find_log_group(ctx, physical_id)
            return group.get("arn") if attribute == "Arn" else UNRESOLVED
        if resource_type == "AWS::IAM::Role":
            role = ctx.client("iam").get_role(RoleName=physical_id)["Role"]
            return {"Arn": role["Arn"], "RoleId": role["RoleId"]}.get(attribute, UNRESOLVED)
        if resource_type == "AWS::Lambda::Function":
            config = ctx.client("lambda").get_function(FunctionName=physical_id)["Configuration"]
            return config["FunctionArn"] if attribute == "Arn" else UNRESOLVED
    except (ClientError, Gone, KeyError):
        return UNRESOLVED
    return UNRESOLVED


def read(ctx: Workshop, resource_type: str, physical_id: str, declared: Mapping[str, Any]) -> Live:
    """Read a resource's live configuration.

    Args:
        ctx: The workshop context.
        resource_type: A type in :data:`SUPPORTED_TYPES`.
        physical_id: Its physical id, as the stack lists it.
        declared: The properties the template declares (some are read only when declared).

    Raises:
        Gone: The resource does not exist.
        KeyError: The type is not supported.
    """
    return READERS[resource_type](ctx, physical_id, declared)


# --------------------------------------------------------------------------------------------
# Appliers: set one declared property through the service's API
# --------------------------------------------------------------------------------------------


def _tags_dict(value: Any) -> dict[str, str]:
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    return {str(t["Key"]): str(t["Value"]) for t in value or []}


def _apply_bucket(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    s3 = ctx.client("s3")
    if prop == "VersioningConfiguration":
        s3.put_bucket_versioning(
            Bucket=physical_id, VersioningConfiguration={"Status": value["Status"]}
        )
    elif prop == "Tags":
        tags = [{"Key": k, "Value": v} for k, v in _tags_dict(value).items()]
        s3.put_bucket_tagging(Bucket=physical_id, Tagging={"TagSet": tags})
    elif prop == "BucketEncryption":
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                **(
                    {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                    if "BucketKeyEnabled" in rule
                    else {}
                ),
            }
            for rule in value["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(
            Bucket=physical_id, ServerSideEncryptionConfiguration={"Rules": rules}
        )
    else:
        return False
    return True


def _apply_queue(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    sqs = ctx.client("sqs")
    url = _queue_url(ctx, physical_id)
    if prop == "Tags":
        sqs.tag_queue(QueueUrl=url, Tags=_tags_dict(value))
    elif prop in _SQS_ATTRIBUTES and prop not in ("FifoQueue",):
        text = json.dumps(value) if isinstance(value, dict) else _scalar(value)
        sqs.set_queue_attributes(QueueUrl=url, Attributes={prop: text})
    else:
        return False
    return True


def _apply_topic(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    sns = ctx.client("sns")
    if prop in ("DisplayName", "KmsMasterKeyId", "ContentBasedDeduplication"):
        sns.set_topic_attributes(
            TopicArn=physical_id, AttributeName=prop, AttributeValue=_scalar(value)
        )
    elif prop == "Tags":
        tags = [{"Key": k, "Value": v} for k, v in _tags_dict(value).items()]
        sns.tag_resource(ResourceArn=physical_id, Tags=tags)
    else:
        return False
    return True


def _apply_parameter(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    ssm = ctx.client("ssm")
    if prop in ("Value", "Description", "AllowedPattern"):
        current = ssm.get_parameter(Name=physical_id)["Parameter"]
        ssm.put_parameter(
            Name=physical_id,
            Type=current["Type"],
            Value=_scalar(value) if prop == "Value" else current["Value"],
            Overwrite=True,
            **({prop: _scalar(value)} if prop != "Value" else {}),
        )
    elif prop == "Tags":
        tags = [{"Key": k, "Value": v} for k, v in _tags_dict(value).items()]
        ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=physical_id, Tags=tags)
    else:
        return False
    return True


def _apply_log_group(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    logs = ctx.client("logs")
    if prop == "RetentionInDays":
        logs.put_retention_policy(logGroupName=physical_id, retentionInDays=int(value))
    elif prop == "Tags":
        logs.tag_log_group(logGroupName=physical_id, tags=_tags_dict(value))
    else:
        return False
    return True


def _apply_role(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    iam = ctx.client("iam")
    if prop in ("Description", "MaxSessionDuration"):
        kwargs = {prop: int(value) if prop == "MaxSessionDuration" else str(value)}
        iam.update_role(RoleName=physical_id, **kwargs)
    elif prop == "AssumeRolePolicyDocument":
        iam.update_assume_role_policy(RoleName=physical_id, PolicyDocument=json.dumps(value))
    elif prop == "Policies":
        for policy in value:
            iam.put_role_policy(
                RoleName=physical_id,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
    elif prop == "ManagedPolicyArns":
        for arn in value:
            iam.attach_role_policy(RoleName=physical_id, PolicyArn=arn)
    elif prop == "Tags":
        tags = [{"Key": k, "Value": v} for k, v in _tags_dict(value).items()]
        iam.tag_role(RoleName=physical_id, Tags=tags)
    else:
        return False
    return True


def _apply_table(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    ddb = ctx.client("dynamodb")
    if prop == "Tags":
        arn = ddb.describe_table(TableName=physical_id)["Table"]["TableArn"]
        tags = [{"Key": k, "Value": v} for k, v in _tags_dict(value).items()]
        ddb.tag_resource(ResourceArn=arn, Tags=tags)
    elif prop == "PointInTimeRecoverySpecification":
        ddb.update_continuous_backups(
            TableName=physical_id,
            PointInTimeRecoverySpecification={
                "PointInTimeRecoveryEnabled": _scalar(value["PointInTimeRecoveryEnabled"]) == "true"
            },
        )
    elif prop == "DeletionProtectionEnabled":
        ddb.update_table(TableName=physical_id, DeletionProtectionEnabled=_scalar(value) == "true")
    else:
        return False
    return True


_LAMBDA_CONFIG = ("Runtime", "Handler", "Role", "Timeout", "MemorySize", "Description")


def _apply_function(ctx: Workshop, physical_id: str, prop: str, value: Any) -> bool:
    lam = ctx.client("lambda")
    if prop in _LAMBDA_CONFIG:
        cast = int if prop in ("Timeout", "MemorySize") else str
        lam.update_function_configuration(FunctionName=physical_id, **{prop: cast(value)})
    elif prop == "Environment":
        lam.update_function_configuration(
            FunctionName=physical_id,
            Environment={"Variables": {k: str(v) for k, v in value.get("Variables", {}).items()}},
        )
    elif prop == "Tags":
        arn = lam.get_function(FunctionName=physical_id)["Configuration"]["FunctionArn"]
        lam.tag_resource(Resource=arn, Tags=_tags_dict(value))
    else:
        return False
    return True


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


APPLIERS: dict[str, Callable[[Workshop, str, str, Any], bool]] = {
    "AWS::S3::Bucket": _apply_bucket,
    "AWS::DynamoDB::Table": _apply_table,
    "AWS::SQS::Queue": _apply_queue,
    "AWS::SNS::Topic": _apply_topic,
    "AWS::SSM::Parameter": _apply_parameter,
    "AWS::Logs::LogGroup": _apply_log_group,
    "AWS::IAM::Role": _apply_role,
    "AWS::Lambda::Function": _apply_function,
}


def apply(ctx: Workshop, resource_type: str, physical_id: str, prop: str, value: Any) -> bool:
    """Set one top-level property of a live resource, as CloudFormation's update would.

    Returns:
        True when it was applied; False when ``labs.iac`` does not know how for this
        property (the caller reports it as not applied).
    """
    applier = APPLIERS.get(resource_type)
    if applier is None or value is UNRESOLVED:
        return False
    try:
        return applier(ctx, physical_id, prop, value)
    except (ClientError, KeyError, TypeError, ValueError):
        return False


# --------------------------------------------------------------------------------------------
# Deleters
# --------------------------------------------------------------------------------------------


def _delete_bucket(ctx: Workshop, name: str) -> None:
    s3 = ctx.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        items = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        if items:
            s3.delete_objects(Bucket=name, Delete={"Objects": items})
    s3.delete_bucket(Bucket=name)


def _delete_role(ctx: Workshop, name: str) -> None:
    iam = ctx.client("iam")
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy)
    iam.delete_role(RoleName=name)


DELETERS: dict[str, Callable[[Workshop, str], Any]] = {
    "AWS::S3::Bucket": _delete_bucket,
    "AWS::DynamoDB::Table": lambda ctx, p: ctx.client("dynamodb").delete_table(TableName=p),
    "AWS::SQS::Queue": lambda ctx, p: ctx.client("sqs").delete_queue(QueueUrl=_queue_url(ctx, p)),
    "AWS::SNS::Topic": lambda ctx, p: ctx.client("sns").delete_topic(TopicArn=p),
    "AWS::SSM::Parameter": lambda ctx, p: ctx.client("ssm").delete_parameter(Name=p),
    "AWS::Logs::LogGroup": lambda ctx, p: ctx.client("logs").delete_log_group(logGroupName=p),
    "AWS::IAM::Role": _delete_role,
    "AWS::Lambda::Function": lambda ctx, p: ctx.client("lambda").delete_function(FunctionName=p),
}


def remove(ctx: Workshop, resource_type: str, physical_id: str) -> bool:
    """Delete a live resource; True when it was deleted, False when gone or not supported."""
    deleter = DELETERS.get(resource_type)
    if deleter is None:
        return False
    try:
        deleter(ctx, physical_id)
    except (ClientError, Gone):
        return False
    return True


# --------------------------------------------------------------------------------------------
# The ledger: each stack's resources as of its last deploy (local target)
# --------------------------------------------------------------------------------------------

LEDGER_FILE = "iac-stack-resources.json"


@contextlib.contextmanager
def _ledger() -> Iterator[dict[str, dict[str, dict[str, str]]]]:
    path = emulator.workshop_dir() / LEDGER_FILE
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text()) if path.exists() else {}
        except ValueError:
            data = {}
        yield data
        path.write_text(json.dumps(data, indent=1, sort_keys=True))


@dataclass(frozen=True)
class StackResource:
    """One resource of a stack.

    Attributes:
        logical_id: Its logical id in the template.
        resource_type: Its type.
        physical_id: Its physical id.
        lost: True when the emulator no longer lists it but the ledger remembers it.
    """

    logical_id: str
    resource_type: str
    physical_id: str
    lost: bool = False


def stack_resources(ctx: Workshop, stack: Mapping[str, Any]) -> dict[str, StackResource]:
    """Return a stack's resources by logical id: the stack's list, plus what the emulator lost.

    Args:
        ctx: The workshop context.
        stack: The stack, as ``DescribeStacks`` returns it.
    """
    cfn = ctx.client("cloudformation")
    try:
        listed = {
            r["LogicalResourceId"]: StackResource(
                r["LogicalResourceId"], r["ResourceType"], r.get("PhysicalResourceId", "")
            )
            for page in cfn.get_paginator("list_stack_resources").paginate(
                StackName=stack["StackId"]
            )
            for r in page.get("StackResourceSummaries", [])
            if r.get("LogicalResourceId")
        }
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))
        if not (ctx.is_local and "Template error" in message):
            raise
        from labs.iac.errors import StackRefused

        raise StackRefused(
            f"The emulator cannot list the resources of {stack['StackName']}: {message}",
            where=stack["StackName"],
            hint="A resource refers (Ref or Fn::GetAtt) to one the emulator does not create, "
            "such as an AWS::CloudWatch::Alarm. AWS would deploy it; on the emulator, remove "
            "the reference (or the stack) and deploy again.",
        ) from None
    if not ctx.is_local:
        return listed
    with _ledger() as data:
        remembered = data.get(stack["StackId"], {})
    for logical_id, entry in remembered.items():
        if logical_id not in listed:
            listed[logical_id] = StackResource(
                logical_id, entry["type"], entry["physical"], lost=True
            )
    return listed


def remember(ctx: Workshop, stack: Mapping[str, Any], keep: set[str]) -> None:
    """Record a stack's resources after a deploy; only logical ids in ``keep`` are kept.

    ``keep`` is the set of resources the deployed template declares (with conditions true):
    a resource the update removed is forgotten, one the emulator lost is remembered.
    """
    if not ctx.is_local:
        return
    current = stack_resources(ctx, stack)
    with _ledger() as data:
        data[stack["StackId"]] = {
            lid: {"type": r.resource_type, "physical": r.physical_id}
            for lid, r in current.items()
            if lid in keep and r.physical_id
        }


def forget(ctx: Workshop, stack: Mapping[str, Any]) -> list[StackResource]:
    """Drop a stack from the ledger; return the resources the emulator had lost track of."""
    if not ctx.is_local:
        return []
    lost = [r for r in stack_resources(ctx, stack).values() if r.lost]
    with _ledger() as data:
        data.pop(stack["StackId"], None)
    return lost
