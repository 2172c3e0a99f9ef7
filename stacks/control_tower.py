"""AWS Control Tower's proactive controls at synth, and this project's acknowledgment of each one it does not meet.

`cdklabs.cdk-validator-cfnguard` ships cfn-guard and the Control Tower rules (no network); it runs as a CDK
policy-validation plugin beside cdk-nag, and its findings fail synth the same way (stacks.compliance). A finding
is acknowledged as `cdk-validator-cfnguard::<rule name>` on the construct it concerns, with the reason the
control does not fit; the control ids (CT.S3.PR.9, ...) are in the reasons for the reader
(docs.aws.amazon.com/controltower/latest/controlreference/proactive-controls.html).

Each stack makes one call here (acknowledge_order_processing, acknowledge_data_platform). Log groups, CDK's own
handlers and API Gateway's invoke permissions are found by type, each only where the reason holds for it (a
retention under a year, a handler at the stack's root); buckets, queues and functions are named, so a fork's new
bucket, queue or function is reported until someone decides about it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
from constructs import IConstruct

from stacks.compliance import acknowledge

if TYPE_CHECKING:
    from stacks.data_platform.storage import DataLake

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


def acknowledge_control(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge one Control Tower rule on the CloudFormation resource of `construct`, with the reason.

    On the resource itself (a bucket's `Resource`, not the bucket), not on a parent: CDK applies an acknowledgment
    to everything below the construct it is made on, and cdk-nag copies it into each of those resources' Metadata,
    so one made on the L2 construct would also waive the rule for its policy, its auto-delete custom resource or
    its event source mapping.
    """
    acknowledge(_resource_of(construct), f"{PLUGIN}::{rule}", reason)


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
        if not child.node.id.startswith(CDK_SINGLETON_PREFIXES):
            continue
        for function in _of_type(child, CfnResource):
            if function.cfn_resource_type != "AWS::Lambda::Function":
                continue
            acknowledge_control(
                function,
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


def acknowledge_data_lake(lake: DataLake) -> None:
    """The S3 controls the data lake's buckets do not meet, bucket by bucket (stacks/data_platform/storage.py).

    Object Lock is acknowledged only on buckets the template leaves unlocked, so a bucket that is locked (the
    reports bucket where the environment sets reportsObjectLockYears) needs nothing, and one that stops being
    locked is acknowledged with the reason that environment has.
    """
    access_logs = lake.access_logs
    acknowledge_control(
        access_logs,
        S3_KMS,
        "CT.S3.PR.10: the destination bucket of S3 server access logging may use default encryption with SSE-S3 "
        "only, not SSE-KMS (docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html).",
    )
    acknowledge_control(
        access_logs,
        S3_LOGGING,
        "CT.S3.PR.2: this is the access-log bucket every other bucket logs to; logging it into itself would add a "
        "record for each of its own log deliveries, and another log bucket for it would only move the question "
        "one bucket on.",
    )
    for bucket in (access_logs, lake.source, lake.raw, lake.curated, lake.quarantine, lake.reports):
        acknowledge_control(
            bucket,
            S3_NOTIFICATIONS,
            "CT.S3.PR.4: nothing consumes this bucket's object events; who changed what is in the S3 server access "
            "logs.",
        )
    acknowledge_control(
        lake.landing,
        S3_NOTIFICATIONS,
        "CT.S3.PR.4: EventBridge notifications are on for this bucket (they start the pipeline); CDK configures "
        "them through its bucket-notifications custom resource, which leaves no NotificationConfiguration on the "
        "bucket for the rule to see.",
    )

    not_a_record = (
        "Object Lock does not stop a rewrite (S3 writes a new version) and protects nothing without a retention "
        "period; with one, every replaced or expired version would be kept and billed for the whole period and "
        "every upload would need a Content-MD5 or x-amz-checksum header; once on, it can never be turned off "
        "(docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html). Versioning keeps replaced "
        "versions until the lifecycle rule expires them."
    )
    without_lock = {
        access_logs: "this is the access-log bucket, and S3 refuses a bucket with Object Lock as a destination of "
        "server access logs (docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).",
        lake.source: "MWAA's DAGs, requirements and startup script, build output that every deploy replaces from "
        f"the repository, not a record. {not_a_record}",
        lake.reports: "reportsObjectLockYears is null in this environment, so `make destroy` can delete the reports; "
        "an environment that sets it (prod) locks them in compliance mode and meets the control.",
        **{
            bucket: "the pipeline's working data, not a record: reruns replace a business date's partition and "
            f"lifecycle rules expire what is superseded. {not_a_record} The reports are the records, locked where "
            "the environment sets reportsObjectLockYears (prod)."
            for bucket in (lake.landing, lake.raw, lake.curated, lake.quarantine)
        },
    }
    for bucket, why in without_lock.items():
        if not _object_lock_enabled(bucket):
            acknowledge_control(bucket, S3_OBJECT_LOCK, f"CT.S3.PR.9: {why}")


def acknowledge_data_platform(
    stack: Stack, *, lake: DataLake, dead_letter_queues: Iterable[sqs.IQueue], log_retention_days: int
) -> None:
    """Every control the data platform stack does not meet, each on its construct with the reason."""
    acknowledge_short_log_retention(stack, log_retention_days)
    acknowledge_cdk_singleton_functions(stack)
    acknowledge_dead_letter_queues(dead_letter_queues)
    acknowledge_data_lake(lake)


def acknowledge_order_processing(
    stack: Stack,
    *,
    functions: Iterable[IConstruct],
    dead_letter_queues: Iterable[sqs.IQueue],
    api: IConstruct,
    log_retention_days: int,
) -> None:
    """Every control the order processing stack does not meet, each on its construct with the reason."""
    acknowledge_short_log_retention(stack, log_retention_days)
    acknowledge_functions_outside_a_vpc(
        functions,
        "the order functions call only regional AWS APIs (DynamoDB, SQS, SNS, Step Functions, KMS) and reach "
        "nothing inside a VPC; in one they would need NAT or an interface endpoint per service and zone, and "
        "ENI attachment, for no gain (the data platform's trigger, which must reach a private webserver, is in "
        "its VPC).",
    )
    acknowledge_dead_letter_queues(dead_letter_queues)
    acknowledge_api_gateway_invoke_permissions(api)


def _object_lock_enabled(bucket: s3.IBucket) -> bool:
    resource = bucket.node.default_child
    return isinstance(resource, s3.CfnBucket) and resource.object_lock_enabled is True


def _resource_of(construct: IConstruct) -> IConstruct:
    """The CloudFormation resource an L2 construct stands for (its default child), or the construct itself."""
    if isinstance(construct, CfnResource):
        return construct
    resource = construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to acknowledge a control on")
    return resource


def _of_type(scope: IConstruct, kind: type) -> Iterator:
    for construct in scope.node.find_all():
        if isinstance(construct, kind):
            yield construct
