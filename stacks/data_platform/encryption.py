"""The data platform's customer-managed KMS key: MWAA, buckets, log groups, Glue, Redshift, queues, topics."""

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
# What CloudWatch alarms and EventBridge rules need to deliver to a topic or queue encrypted with the key.
_DELIVERY_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


class DataPlatformKey(Construct):
    """One rotating CMK. Besides the account, its key policy admits CloudWatch Logs for this platform's log
    groups only, and CloudWatch alarms and EventBridge rules whose names carry this platform's prefix."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        log_group_name_patterns: Sequence[str],
        alarm_name_prefix: str,
        rule_name_prefix: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.key = kms.Key(
            self,
            "Key",
            description=description,
            enable_key_rotation=True,
            removal_policy=removal_policy,
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsForThisPlatform",
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
        for sid, principal, service, resource, prefix in (
            (
                "AllowCloudWatchAlarmsOfThisPlatform",
                "cloudwatch.amazonaws.com",
                "cloudwatch",
                "alarm",
                alarm_name_prefix,
            ),
            ("AllowEventBridgeRulesOfThisPlatform", "events.amazonaws.com", "events", "rule", rule_name_prefix),
        ):
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    principals=[iam.ServicePrincipal(principal)],
                    actions=_DELIVERY_KEY_ACTIONS,
                    resources=["*"],
                    conditions={
                        "StringEquals": {"aws:SourceAccount": stack.account},
                        "ArnLike": {
                            "aws:SourceArn": stack.format_arn(
                                service=service,
                                resource=resource,
                                resource_name=f"{prefix}*",
                                arn_format=ArnFormat.SLASH_RESOURCE_NAME
                                if service == "events"
                                else ArnFormat.COLON_RESOURCE_NAME,
                            )
                        },
                    },
                )
            )
