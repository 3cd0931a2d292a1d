"""Cleaners for data and messaging: SNS, SQS, DynamoDB, SSM parameters and S3 buckets."""

from __future__ import annotations

from botocore.exceptions import ClientError

from labs.cleanup.base import Found, _Base, _ignore_gone, _is_gone, _n, _pages, is_workshop_resource
from labs.env import Workshop

__all__ = ["DynamoDBCleaner", "S3Cleaner", "SNSCleaner", "SQSCleaner", "SSMCleaner"]


class SNSCleaner(_Base):
    """Topics, their subscriptions unsubscribed first."""

    service = "sns"

    def list(self, ctx: Workshop) -> list[Found]:
        sns = ctx.client("sns")
        out = []
        for page in _pages(sns, "list_topics"):
            for topic in page.get("Topics", []):
                arn = topic["TopicArn"]
                tags = _ignore_gone(lambda a=arn: sns.list_tags_for_resource(ResourceArn=a))
                if tags and is_workshop_resource(tags.get("Tags")):
                    out.append(self.found("topic", arn.rsplit(":", 1)[-1], arn, tags.get("Tags")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        sns = ctx.client("sns")
        subs = [
            s["SubscriptionArn"]
            for page in _pages(sns, "list_subscriptions_by_topic", TopicArn=found.arn)
            for s in page.get("Subscriptions", [])
        ]
        confirmed = [s for s in subs if s.startswith("arn:")]  # not "PendingConfirmation"
        for sub in confirmed:
            _ignore_gone(lambda s=sub: sns.unsubscribe(SubscriptionArn=s))
        sns.delete_topic(TopicArn=found.arn)
        return f"with {_n(len(confirmed), 'subscription')}" if confirmed else ""


class SQSCleaner(_Base):
    """Queues."""

    service = "sqs"

    def list(self, ctx: Workshop) -> list[Found]:
        sqs = ctx.client("sqs")
        out = []
        for page in _pages(sqs, "list_queues"):
            for url in page.get("QueueUrls", []):
                tags = _ignore_gone(lambda u=url: sqs.list_queue_tags(QueueUrl=u))
                if tags and is_workshop_resource(tags.get("Tags")):
                    out.append(
                        self.found(
                            "queue", url.rstrip("/").rsplit("/", 1)[-1], url, tags.get("Tags")
                        )
                    )
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("sqs").delete_queue(QueueUrl=found.arn)
        return ""


class DynamoDBCleaner(_Base):
    """Tables."""

    service = "dynamodb"

    def list(self, ctx: Workshop) -> list[Found]:
        ddb = ctx.client("dynamodb")
        out = []
        for page in _pages(ddb, "list_tables"):
            for name in page.get("TableNames", []):
                arn = f"arn:aws:dynamodb:{ctx.region}:{ctx.account_id}:table/{name}"
                tags = _ignore_gone(
                    lambda a=arn: [
                        t
                        for p in _pages(ddb, "list_tags_of_resource", ResourceArn=a)
                        for t in p.get("Tags", [])
                    ]
                )
                if is_workshop_resource(tags):
                    out.append(self.found("table", name, arn, tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("dynamodb").delete_table(TableName=found.name)
        return ""


class SSMCleaner(_Base):
    """Parameters."""

    service = "ssm"

    def list(self, ctx: Workshop) -> list[Found]:
        ssm = ctx.client("ssm")
        out = []
        for page in _pages(ssm, "describe_parameters"):
            for param in page.get("Parameters", []):
                name = param["Name"]
                tags = _ignore_gone(
                    lambda n=name: ssm.list_tags_for_resource(
                        ResourceType="Parameter", ResourceId=n
                    )
                )
                if tags and is_workshop_resource(tags.get("TagList")):
                    arn = param.get("ARN") or (
                        f"arn:aws:ssm:{ctx.region}:{ctx.account_id}:parameter/{name.lstrip('/')}"
                    )
                    out.append(self.found("parameter", name, arn, tags.get("TagList")))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        ctx.client("ssm").delete_parameter(Name=found.name)
        return ""


class S3Cleaner(_Base):
    """Buckets in the context's region, emptied of every version, marker and upload first."""

    service = "s3"

    def list(self, ctx: Workshop) -> list[Found]:
        s3 = ctx.client("s3")
        out = []
        for page in _pages(s3, "list_buckets"):
            for bucket in page.get("Buckets", []):
                name = bucket["Name"]
                try:
                    where = s3.get_bucket_location(Bucket=name).get("LocationConstraint")
                    if (where or "us-east-1") != ctx.region:
                        continue  # another region's client must delete it
                    tags = s3.get_bucket_tagging(Bucket=name).get("TagSet", [])
                except ClientError as exc:
                    if _is_gone(exc):  # includes NoSuchTagSet: an untagged bucket
                        continue
                    raise
                if is_workshop_resource(tags):
                    out.append(self.found("bucket", name, f"arn:aws:s3:::{name}", tags))
        return out

    def delete(self, ctx: Workshop, found: Found) -> str:
        s3 = ctx.client("s3")
        removed = 0
        for page in _pages(s3, "list_object_versions", Bucket=found.name):
            keys = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for start in range(0, len(keys), 1000):
                answer = s3.delete_objects(
                    Bucket=found.name, Delete={"Objects": keys[start : start + 1000], "Quiet": True}
                )
                if answer.get("Errors"):
                    first = answer["Errors"][0]
                    raise RuntimeError(
                        f"could not delete {first.get('Key')}: "
                        f"{first.get('Code')} {first.get('Message', '')}"
                    )
            removed += len(keys)
        for page in _pages(s3, "list_multipart_uploads", Bucket=found.name):
            for upload in page.get("Uploads", []):
                _ignore_gone(
                    lambda u=upload: s3.abort_multipart_upload(
                        Bucket=found.name, Key=u["Key"], UploadId=u["UploadId"]
                    )
                )
        s3.delete_bucket(Bucket=found.name)
        what = _n(removed, "object version or delete marker", "object versions and delete markers")
        return f"emptied first: {what}"
