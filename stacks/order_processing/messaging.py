"""Messaging: the intake queue with its dead-letter queue, and the three SNS topics."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct


class IntakeQueue(Construct):
    """Where orders arrive. A message that fails `max_receive_count` times moves to the DLQ for a human."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        visibility_timeout: Duration,
        max_receive_count: int,
        max_message_bytes: int,
        dlq_retention: Duration,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=dlq_retention,
            removal_policy=removal_policy,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            visibility_timeout=visibility_timeout,
            # SQS MaximumMessageSize: 1,024 to 1,048,576 bytes
            # (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).
            max_message_size_bytes=max_message_bytes,
            dead_letter_queue=sqs.DeadLetterQueue(queue=self.dead_letter_queue, max_receive_count=max_receive_count),
            removal_policy=removal_policy,
        )


class OrderTopics(Construct):
    """Customer notifications, approval requests (to approvers) and operations alerts (to on-call)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        approver_emails: Sequence[str],
        operations_emails: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)

        def topic(topic_id: str, display_name: str, emails: Sequence[str] = ()) -> sns.Topic:
            created = sns.Topic(self, topic_id, display_name=display_name, master_key=encryption_key, enforce_ssl=True)
            for email in emails:
                created.add_subscription(subscriptions.EmailSubscription(email))
            return created

        self.customer_notifications = topic("CustomerNotifications", "Order status notifications")
        self.approval_requests = topic("ApprovalRequests", "Orders awaiting approval", approver_emails)
        self.operations_alerts = topic("OperationsAlerts", "Order processing alerts", operations_emails)
