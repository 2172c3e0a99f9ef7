"""The project's customer-managed KMS key, shared by both stacks' encryption constructs.

Besides the account, the key policy admits CloudWatch Logs for the stack's own log groups only, and the
CloudWatch alarms and EventBridge rules whose names carry the stack's prefix (to deliver to encrypted topics
and queues)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# What CloudWatch Logs needs to encrypt and read back a log group's data.
LOGS_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]
# What CloudWatch alarms and EventBridge rules need to deliver to a topic or queue encrypted with the key.
DELIVERY_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def project_key(
    scope: Construct,
    *,
    description: str,
    log_group_name_patterns: Sequence[str],
    alarm_name_prefix: str,
    rule_name_prefix: str | None,
    removal_policy: RemovalPolicy,
    owner: str,
) -> kms.Key:
    """A rotating CMK at `<scope>/Key`; `owner` names the key policy's statements (e.g. "Environment")."""
    stack = Stack.of(scope)
    key = kms.Key(
        scope,
        "Key",
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
        # Only a destroyed (dev) stack schedules the key's deletion; a week is enough to notice a mistake.
        pending_window=Duration.days(7),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"AllowCloudWatchLogsForThis{owner}",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
            actions=LOGS_KEY_ACTIONS,
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
    deliveries = [(f"AllowCloudWatchAlarmsOfThis{owner}", "cloudwatch", "alarm", alarm_name_prefix)]
    if rule_name_prefix is not None:
        deliveries.append((f"AllowEventBridgeRulesOfThis{owner}", "events", "rule", rule_name_prefix))
    for sid, service, resource, prefix in deliveries:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(f"{service}.amazonaws.com")],
                actions=DELIVERY_KEY_ACTIONS,
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service=service,
                            resource=resource,
                            resource_name=f"{prefix}*",
                            # EventBridge rule ARNs are rule/<name>; alarm ARNs are alarm:<name>.
                            arn_format=ArnFormat.SLASH_RESOURCE_NAME
                            if service == "events"
                            else ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                },
            )
        )
    return key
