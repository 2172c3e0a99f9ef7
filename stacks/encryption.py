"""The project's customer-managed KMS key, shared by both stacks' encryption constructs, and who may deliver to
what it encrypts.

Besides the account, the key policy admits CloudWatch Logs for the stack's own log groups only, and the
CloudWatch alarms and EventBridge rules whose names carry the stack's prefix (to deliver to encrypted topics
and queues). A topic or queue those services publish to admits them by the same conditions (`source_conditions`).
No one creates a grant on the key except through an AWS service (Control Tower CT.KMS.PR.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

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
# What an AWS service that publishes to a topic (or sends to a queue) encrypted with the key needs: SNS's
# "Enable compatibility between event sources from AWS services and encrypted topics"
# (docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services; for CloudWatch alarms,
# repost.aws/knowledge-center/cloudwatch-configure-alarm-sns); SQS asks for the subset Decrypt and GenerateDataKey
# (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
DELIVERY_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey*"]


@dataclass(frozen=True)
class ServiceSource:
    """An AWS service that delivers on behalf of a named resource of ours (an alarm, a rule)."""

    principal: str
    service: str
    resource: str
    # Alarm ARNs are alarm:<name>; EventBridge rule ARNs are rule/<name>.
    arn_format: ArnFormat


CLOUDWATCH_ALARMS = ServiceSource("cloudwatch.amazonaws.com", "cloudwatch", "alarm", ArnFormat.COLON_RESOURCE_NAME)
EVENTBRIDGE_RULES = ServiceSource("events.amazonaws.com", "events", "rule", ArnFormat.SLASH_RESOURCE_NAME)


def source_conditions(scope: IConstruct, source: ServiceSource, name_prefix: str) -> dict[str, Any]:
    """Only `source`'s resources in this account and region whose names start with `name_prefix`.

    aws:SourceArn and aws:SourceAccount are the confused-deputy keys AWS documents for service principals in topic,
    queue and key policies (docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html; for SQS-encrypted queues,
    sqs-key-management.html lists CloudWatch Events among the services that send aws:SourceArn).
    """
    stack = Stack.of(scope)
    return {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {
            "aws:SourceArn": stack.format_arn(
                service=source.service,
                resource=source.resource,
                resource_name=f"{name_prefix}*",
                arn_format=source.arn_format,
            )
        },
    }


def allow_alarms_to_publish(topic: sns.ITopic, alarm_name_prefix: str) -> None:
    """Let this stack's alarms (by name prefix) publish to `topic`.

    `enforce_ssl` gives the topic a policy of its own, which replaces SNS's default one: without this statement
    CloudWatch may not publish and alarm notifications are never delivered
    (repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger).
    """
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowThisStacksAlarmsToPublish",
            principals=[iam.ServicePrincipal(CLOUDWATCH_ALARMS.principal)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=source_conditions(topic, CLOUDWATCH_ALARMS, alarm_name_prefix),
        )
    )


def allow_rule_to_publish(topic: sns.ITopic, rule: events.IRule) -> None:
    """Let exactly `rule` (this account's) publish to `topic` (confused-deputy keys as for the alarms)."""
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=f"AllowRule{Names.unique_id(rule)}ToPublish",
            principals=[iam.ServicePrincipal(EVENTBRIDGE_RULES.principal)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={
                "StringEquals": {"aws:SourceAccount": Stack.of(topic).account},
                "ArnEquals": {"aws:SourceArn": rule.rule_arn},
            },
        )
    )


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
    # Control Tower's CT.KMS.PR.3 (docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html), in the
    # exact shape its guard rule expects: no principal creates a grant on the key unless an AWS service integrated
    # with KMS asks on its behalf (kms:GrantIsForAWSResource) or it is itself an AWS service principal
    # (aws:PrincipalIsAWSService; docs.aws.amazon.com/kms/latest/developerguide/grant-authorization.html). The grants
    # these keys need are of that kind: DynamoDB (tables), Redshift Serverless (namespace) and MWAA (environment)
    # create them on the deployer's behalf; no role of the project holds kms:CreateGrant, and no person needs to grant
    # the key to an IAM principal.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptThroughAWSServices",
            effect=iam.Effect.DENY,
            principals=[iam.StarPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],
            conditions={"BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
        )
    )
    deliveries = [(f"AllowCloudWatchAlarmsOfThis{owner}", CLOUDWATCH_ALARMS, alarm_name_prefix)]
    if rule_name_prefix is not None:
        deliveries.append((f"AllowEventBridgeRulesOfThis{owner}", EVENTBRIDGE_RULES, rule_name_prefix))
    for sid, source, prefix in deliveries:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(source.principal)],
                actions=DELIVERY_KEY_ACTIONS,
                resources=["*"],
                conditions=source_conditions(key, source, prefix),
            )
        )
    return key
