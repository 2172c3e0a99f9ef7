"""The environment's customer-managed KMS key: tables, queues, topics and log groups are encrypted with it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What CloudWatch Logs needs to encrypt and read back a log group's data.
_LOGS_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]
# What CloudWatch alarms need to publish to a topic encrypted with the key.
_ALARMS_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class OrderEncryption(Construct):
    """One rotating CMK whose key policy also admits CloudWatch Logs (for this environment's log groups only)
    and CloudWatch alarms (for this environment's alarms only)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        environment_name: str,
        log_group_name_patterns: Sequence[str],
        alarm_name_prefix: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=f"Order processing ({environment_name}): tables, queues, topics and logs",
            enable_key_rotation=True,
            removal_policy=removal_policy,
            # Only a destroyed (dev) stack schedules the key's deletion; a week is enough to notice a mistake.
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisEnvironment",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
                actions=_LOGS_KEY_ACTIONS,
                # In a key policy, "*" means this key.
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": [
                            stack.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name=pattern,
                                arn_format=ArnFormat.COLON_RESOURCE_NAME,
                            )
                            for pattern in log_group_name_patterns
                        ]
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisEnvironment",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=_ALARMS_KEY_ACTIONS,
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name=f"{alarm_name_prefix}*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
