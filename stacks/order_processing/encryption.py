"""The environment's customer-managed KMS key: tables, queues, topics and log groups are encrypted with it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from constructs import Construct

from stacks.encryption import project_key


class OrderEncryption(Construct):
    """One rotating CMK whose key policy also admits CloudWatch Logs (for this environment's log groups only)
    and CloudWatch alarms (for this environment's alarms only), and denies grants not made through an AWS service."""

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
        self.key = project_key(
            self,
            description=f"Order processing ({environment_name}): tables, queues, topics and logs",
            log_group_name_patterns=log_group_name_patterns,
            alarm_name_prefix=alarm_name_prefix,
            rule_name_prefix=None,
            removal_policy=removal_policy,
            owner="Environment",
        )
