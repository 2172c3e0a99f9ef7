"""ApiGatewayAccount: API Gateway's account-level CloudWatch Logs role, created once per account and region.

`AWS::ApiGateway::Account` is a per-account, per-region setting: AWS advises one such resource per region
and account, because each one overwrites the role of the others
(docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigateway-account.html).
It therefore lives in its own stack, whose name carries no environment: dev and prod deployed to one account
and region deploy the same stack and share the one setting. Deleting the stack deletes neither the role nor
the setting (both retained), so destroying one environment never turns off another's API logging.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.compliance import acknowledge

# The AWS-managed policy the API Gateway guide names for this role
# (docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
PUSH_TO_CLOUDWATCH_LOGS = "service-role/AmazonAPIGatewayPushToCloudWatchLogs"


class ApiGatewayAccountStack(Stack):
    """The account's API Gateway CloudWatch role (trusted by apigateway.amazonaws.com) and the account setting
    that points API Gateway at it. Execution logging of every REST API stage in the region needs it."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="API Gateway account settings: the CloudWatch Logs role (one per account and region)",
            **kwargs,
        )
        self.role = iam.Role(
            self,
            "CloudWatchRole",
            assumed_by=iam.ServicePrincipal("apigateway.amazonaws.com"),
            description="API Gateway writes execution and access logs of this region's REST APIs with it",
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(PUSH_TO_CLOUDWATCH_LOGS)],
        )
        role_resource = self.role.node.default_child
        assert isinstance(role_resource, iam.CfnRole)
        role_resource.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account_setting = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.account_setting.apply_removal_policy(RemovalPolicy.RETAIN)
        self.account_setting.node.add_dependency(self.role)
        acknowledge(
            self.role,
            "AwsSolutions-IAM4",
            "API Gateway's account-level CloudWatch role uses the AWS-managed AmazonAPIGatewayPushToCloudWatchLogs "
            "policy the API Gateway guide prescribes: API Gateway creates each stage's execution log group "
            "itself, so the names are not known in advance.",
            findings=[f"Policy::arn:<AWS::Partition>:iam::aws:policy/{PUSH_TO_CLOUDWATCH_LOGS}"],
        )
