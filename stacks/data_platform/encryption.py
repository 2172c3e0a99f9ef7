"""The data platform's customer-managed KMS key: MWAA, buckets, log groups, Glue, Redshift, queues, topics."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from constructs import Construct

from stacks.encryption import project_key


class DataPlatformKey(Construct):
    """One rotating CMK. Besides the account, its key policy admits CloudWatch Logs for this platform's log
    groups only, and CloudWatch alarms and EventBridge rules whose names carry this platform's prefix; it denies
    grants not made through an AWS service."""

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
        self.key = project_key(
            self,
            description=description,
            log_group_name_patterns=log_group_name_patterns,
            alarm_name_prefix=alarm_name_prefix,
            rule_name_prefix=rule_name_prefix,
            removal_policy=removal_policy,
            owner="Platform",
        )
