"""``MonitoredService``: a bookstore service's queue with its alarms and dashboard, as a construct.

A *construct* is the CDK's unit of reuse ("Constructs", AWS CDK Developer Guide,
https://docs.aws.amazon.com/cdk/v2/guide/constructs.html): a class that creates a group of
resources with good defaults, configured through a few props. Every bookstore service that
consumes work from a queue needs the same things around it, so the team writes them once:

* the work queue and its dead-letter queue (SSL required, messages retried ``max_receive_count``
  times, dead letters kept 14 days);
* the service's log group, kept ``log_retention`` days;
* an alarm topic and two alarms on it: a backlog on the queue, and anything at all in the
  dead-letter queue;
* a CloudWatch dashboard showing the queue and the alarms;
* optionally, an SSM parameter holding the name of a table the service uses (which makes a
  cross-stack reference when the table lives in another stack).

Physical names are fixed (``labs-cdk-<service>…``) so that the labs' output is the same on every
run; a construct for general use would let CloudFormation generate them.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from labs.errors import InputError

__all__ = ["MonitoredService"]


class MonitoredService(Construct):
    """A service's work queue with a dead-letter queue, logs, alarms and a dashboard.

    Args:
        scope: The construct (usually a stack) this one belongs to.
        construct_id: Its id within ``scope``.
        service_name: Short name of the service, e.g. ``"orders"``; names every resource.
        backlog_threshold: Messages waiting in the queue that raise the backlog alarm.
        max_receive_count: Deliveries before a message goes to the dead-letter queue.
        log_retention: How long the service's logs are kept.
        table: A table the service reads; its name is published as an SSM parameter.

    Attributes:
        queue: The work queue.
        dead_letter_queue: Where messages go after ``max_receive_count`` failed deliveries.
        log_group: The service's log group.
        alarm_topic: The SNS topic both alarms notify.
        backlog_alarm: In alarm when the queue holds more than ``backlog_threshold`` messages
            for 5 minutes.
        dead_letter_alarm: In alarm as soon as the dead-letter queue holds a message.
        dashboard: The service's CloudWatch dashboard.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service_name: str,
        backlog_threshold: int = 100,
        max_receive_count: int = 5,
        log_retention: logs.RetentionDays = logs.RetentionDays.TWO_WEEKS,
        table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        for prop, value in (
            ("backlog_threshold", backlog_threshold),
            ("max_receive_count", max_receive_count),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(
                    f"{prop} must be a whole number of at least 1, got {value!r}.",
                    where=f"MonitoredService {construct_id!r}, {prop}",
                    hint="e.g. backlog_threshold=100, max_receive_count=5.",
                )
        if (
            not isinstance(service_name, str)
            or not service_name.replace("-", "").isalnum()
            or not service_name.islower()
        ):
            raise InputError(
                f"service_name {service_name!r} must be lower-case letters, digits and dashes.",
                where=f"MonitoredService {construct_id!r}",
                hint="It becomes part of queue, topic and dashboard names, e.g. 'orders'.",
            )
        prefix = f"labs-cdk-{service_name}"
        destroy = cdk.RemovalPolicy.DESTROY
        self.service_name = service_name

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"{prefix}-dlq",
            retention_period=cdk.Duration.days(14),
            enforce_ssl=True,
            removal_policy=destroy,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            queue_name=prefix,
            visibility_timeout=cdk.Duration.seconds(30),
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=max_receive_count
            ),
            removal_policy=destroy,
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/labs/cdk/{service_name}",
            retention=log_retention,
            removal_policy=destroy,
        )
        self.alarm_topic = sns.Topic(
            self,
            "Alarms",
            topic_name=f"{prefix}-alarms",
            display_name=f"{service_name} alarms",
            enforce_ssl=True,
            master_key=kms.Alias.from_alias_name(self, "SnsKey", "alias/aws/sns"),
        )

        backlog = self.queue.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(1), statistic="Maximum"
        )
        self.backlog_alarm = cloudwatch.Alarm(
            self,
            "BacklogAlarm",
            alarm_name=f"{prefix}-backlog",
            alarm_description=f"More than {backlog_threshold} {service_name} messages waiting.",
            metric=backlog,
            threshold=backlog_threshold,
            evaluation_periods=5,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        dead_letters = self.dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=cdk.Duration.minutes(1), statistic="Maximum"
        )
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterAlarm",
            alarm_name=f"{prefix}-dead-letters",
            alarm_description=f"A {service_name} message failed {max_receive_count} times.",
            metric=dead_letters,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.backlog_alarm, self.dead_letter_alarm):
            alarm.add_alarm_action(actions.SnsAction(self.alarm_topic))

        # The dashboard shows each metric with its alarm's threshold. (An alarm status widget
        # would refer to the alarms' ARNs, which the local emulator cannot resolve: it does not
        # create alarms.)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=prefix,
            widgets=[
                [
                    cloudwatch.GraphWidget(
                        title="Messages waiting",
                        left=[backlog],
                        left_annotations=[
                            cloudwatch.HorizontalAnnotation(
                                value=backlog_threshold, label="backlog alarm"
                            )
                        ],
                        width=12,
                    ),
                    cloudwatch.GraphWidget(
                        title="Dead letters",
                        left=[dead_letters],
                        left_annotations=[
                            cloudwatch.HorizontalAnnotation(value=0, label="dead-letter alarm")
                        ],
                        width=12,
                    ),
                ]
            ],
        )
        if table is not None:
            ssm.StringParameter(
                self,
                "TableName",
                parameter_name=f"/labs/cdk/{service_name}/table",
                string_value=table.table_name,
                description=f"The table the {service_name} service reads.",
            )
