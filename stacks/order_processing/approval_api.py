"""The approval API: `POST /approvals/{token}/{decision}`, IAM-authorized, answered by one Lambda function."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.order_processing.functions import invoked

_PATH_PARAMETERS = ("token", "decision")


class ApprovalApi(Construct):
    """A regional REST API with SigV4 (IAM) authorization, path-parameter validation, JSON access logs in
    an encrypted log group, execution logs, X-Ray tracing and stage throttling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        api_name: str,
        stage_name: str,
        rate_limit: int,
        burst_limit: int,
        access_log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=access_log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=api_name,
            description="Answers orders waiting for human approval (task-token callbacks)",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logs go through API Gateway's account-wide CloudWatch role, a per-account, per-region
            # setting: the ApiGatewayAccount stack sets it once (stacks/api_gateway_account_stack.py).
            cloud_watch_role=False,
            fail_on_warnings=True,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.INFO,
                # Request and response bodies stay out of the execution logs.
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
                throttling_rate_limit=rate_limit,
                throttling_burst_limit=burst_limit,
            ),
        )
        # RestApi adds an output of its own; the stack exports the URL under a stable name instead.
        self.api.node.try_remove_child("Endpoint")
        validator = self.api.add_request_validator(
            "PathParameters", validate_request_parameters=True, validate_request_body=False
        )
        resource = self.api.root.add_resource("approvals")
        for parameter in _PATH_PARAMETERS:
            resource = resource.add_resource(f"{{{parameter}}}")
        self.method = resource.add_method(
            "POST",
            apigw.LambdaIntegration(invoked(handler), proxy=True),
            authorization_type=apigw.AuthorizationType.IAM,
            request_validator=validator,
            request_parameters={f"method.request.path.{parameter}": True for parameter in _PATH_PARAMETERS},
        )

    @property
    def url(self) -> str:
        """Base URL of the deployed stage, ending in `/`."""
        return self.api.url
