"""AWS Control Tower's proactive controls at synth, and this project's acknowledgment of each one it does not meet.

`cdklabs.cdk-validator-cfnguard` ships cfn-guard and the Control Tower rules (no network); it runs as a CDK
policy-validation plugin beside cdk-nag, and its findings fail synth the same way (stacks.compliance). A finding
is acknowledged as `cdk-validator-cfnguard::<rule name>` on the construct it concerns, with the reason the
control does not fit; the control ids (CT.S3.PR.9, ...) are in the reasons for the reader
(docs.aws.amazon.com/controltower/latest/controlreference/proactive-controls.html).

The acknowledgments walk a stack's resources by type, so a fork's new queue or bucket gets the same decision
only where the reason holds for it (a dead-letter queue, a bucket that is not the reports bucket), and is
reported otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

from stacks.compliance import acknowledge

PLUGIN = "cdk-validator-cfnguard"

# CT.CLOUDWATCH.PR.2: log groups retained for at least a year.
LOG_RETENTION = "cloudwatch_log_group_retention_period_check"
# CT.LAMBDA.PR.3: functions in a customer-managed VPC.
LAMBDA_IN_VPC = "lambda_inside_vpc_check"
# CT.LAMBDA.PR.2: function policies prohibit public access.
LAMBDA_PUBLIC = "lambda_function_public_access_prohibited_check"
# CT.S3.PR.10, CT.S3.PR.2, CT.S3.PR.4, CT.S3.PR.9.
S3_KMS = "s3_bucket_default_encryption_kms_check"
S3_LOGGING = "s3_bucket_logging_enabled_check"
S3_NOTIFICATIONS = "s3_event_notifications_enabled_check"
S3_OBJECT_LOCK = "s3_bucket_object_lock_enabled_check"
# CT.SQS.PR.1: queues have a dead-letter queue.
SQS_DLQ = "sqs_dlq_check"

ONE_YEAR_DAYS = 365
# The ids CDK gives its deployment-time handlers at the root of a stack (bucket auto-delete, bucket deployment,
# bucket notifications, AwsCustomResource).
CDK_SINGLETON_PREFIXES = (
    "Custom::S3AutoDeleteObjectsCustomResourceProvider",
    "Custom::CDKBucketDeployment",
    "BucketNotificationsHandler",
    "AWS679f53fac002430cb0da5b7982bd2287",
)


def control_tower_checks() -> CfnGuardValidator:
    """The plugin with the bundled Control Tower rules (cfn-guard runs locally: no account, no network)."""
    return CfnGuardValidator(control_tower_rules_enabled=True)


def acknowledge_control(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one Control Tower rule on `scope` (and below it), with the reason it does not apply."""
    acknowledge(scope, f"{PLUGIN}::{rule}", reason)


def acknowledge_short_log_retention(stack: Stack, retention_days: int) -> None:
    """CT.CLOUDWATCH.PR.2 where the environment chose a shorter retention (dev: 14 days; prod keeps 365)."""
    if retention_days >= ONE_YEAR_DAYS:
        return
    reason = (
        f"CT.CLOUDWATCH.PR.2: this environment keeps logs {retention_days} days by choice (cdk.json "
        f"logRetentionDays) to keep a development environment cheap; prod keeps them {ONE_YEAR_DAYS} days and "
        "meets the control."
    )
    for log_group in _of_type(stack, logs.CfnLogGroup):
        days = log_group.retention_in_days
        if isinstance(days, int) and days < ONE_YEAR_DAYS:
            acknowledge_control(log_group, LOG_RETENTION, reason)


def acknowledge_functions_outside_a_vpc(functions: Iterable[IConstruct], reason: str) -> None:
    """CT.LAMBDA.PR.3 for functions that call only regional AWS APIs and reach nothing inside a VPC."""
    for function in functions:
        acknowledge_control(function, LAMBDA_IN_VPC, f"CT.LAMBDA.PR.3: {reason}")


def acknowledge_cdk_singleton_functions(stack: Stack) -> None:
    """CT.LAMBDA.PR.3 on CDK's own deployment-time handlers at the stack's root (custom resource providers)."""
    for child in stack.node.children:
        if child.node.id.startswith(CDK_SINGLETON_PREFIXES):
            acknowledge_control(
                child,
                LAMBDA_IN_VPC,
                "CT.LAMBDA.PR.3: a CDK custom resource handler that only CloudFormation invokes, during deploys, to "
                "call S3 or AWS APIs; it reaches nothing inside the VPC.",
            )


def acknowledge_dead_letter_queues(queues: Iterable[sqs.IQueue]) -> None:
    """CT.SQS.PR.1 on dead-letter queues: the end of a redrive chain has no dead-letter queue of its own."""
    for queue in queues:
        acknowledge_control(
            queue,
            SQS_DLQ,
            "CT.SQS.PR.1: this queue is itself a dead-letter queue, the end of the redrive chain; its depth is "
            "alarmed and its messages kept for inspection.",
        )


def acknowledge_api_gateway_invoke_permissions(api: IConstruct) -> None:
    """CT.LAMBDA.PR.2 on API Gateway's invoke permissions, which carry a SourceArn the rule cannot read."""
    for permission in _of_type(api, lambda_.CfnPermission):
        acknowledge_control(
            permission,
            LAMBDA_PUBLIC,
            "CT.LAMBDA.PR.2: the permission's principal is apigateway.amazonaws.com and its SourceArn is this "
            "API's execute-api ARN of the one method; the guard rule accepts only a literal string or a Ref/GetAtt "
            "there, and the ARN is built with Fn::Join (the plugin's documented limitation).",
        )


def acknowledge_buckets(
    *,
    access_logs: s3.IBucket,
    event_sources: Iterable[s3.IBucket],
    without_event_consumers: Iterable[s3.IBucket],
    without_object_lock: Iterable[tuple[s3.IBucket, str]],
) -> None:
    """The S3 controls the data platform's buckets do not meet, bucket by bucket."""
    acknowledge_control(
        access_logs,
        S3_KMS,
        "CT.S3.PR.10: the target bucket of S3 server access logging supports SSE-S3 only, not SSE-KMS "
        "(docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).",
    )
    acknowledge_control(
        access_logs,
        S3_LOGGING,
        "CT.S3.PR.2: this is the access-log bucket; logging it into itself would log its own log deliveries "
        "without end, and S3 asks for a different target bucket.",
    )
    for bucket in event_sources:
        acknowledge_control(
            bucket,
            S3_NOTIFICATIONS,
            "CT.S3.PR.4: EventBridge notifications are on for this bucket; CDK configures them through its "
            "bucket-notifications custom resource, which leaves no NotificationConfiguration for the rule to see.",
        )
    for bucket in without_event_consumers:
        acknowledge_control(
            bucket,
            S3_NOTIFICATIONS,
            "CT.S3.PR.4: nothing consumes this bucket's object events; who changed what is in the S3 server access "
            "logs.",
        )
    for bucket, why in without_object_lock:
        acknowledge_control(bucket, S3_OBJECT_LOCK, f"CT.S3.PR.9: {why}")


def _of_type(scope: IConstruct, kind: type) -> Iterator:
    for construct in scope.node.find_all():
        if isinstance(construct, kind):
            yield construct
