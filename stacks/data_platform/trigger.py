"""The event trigger: the day's manifest in the landing bucket -> EventBridge -> function -> MWAA DAG run."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
FUNCTION_FOLDER = "trigger_etl_dag"
# Every function in lambdas/ has its entry point in <folder>/handler.py.
ENTRY_MODULE = "handler"
# The Airflow role the function acts as: "User" may trigger DAG runs, nothing administrative.
AIRFLOW_ROLE = "User"
# Lambda creates, describes and deletes a VPC function's network interfaces with the function's execution role; CDK
# adds these only to a role it creates itself. They are the EC2 actions of AWSLambdaVPCAccessExecutionRole
# (docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html, docs.aws.amazon.com/aws-managed-policy/latest/
# reference/AWSLambdaVPCAccessExecutionRole.html), on "*": DescribeNetworkInterfaces works on "*" only, and Lambda makes
# these calls outside the execution environment, without the lambda:SourceFunctionArn condition key
# (docs.aws.amazon.com/lambda/latest/dg/permissions-source-function-arn.html), so that key cannot narrow them.
VPC_NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


class EtlTrigger(Construct):
    """An EventBridge rule on `Object Created` of `<manifest_prefix>business_date=*/<manifest_name>` in the
    landing bucket, whose target function creates the DAG run of that business date through MWAA's
    InvokeRestApi.

    The function runs in the platform's private subnets: with a PRIVATE_ONLY webserver it must reach the
    webserver's VPC endpoint, and in the VPC it does whatever the access mode. EventBridge retries delivery
    and then dead-letters the event; the function's own failures are retried by Lambda and dead-lettered to
    the same queue.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        landing_bucket: s3.IBucket,
        manifest_prefix: str,
        manifest_name: str,
        rule_name: str,
        environment_name: str,
        dag_id: str,
        vpc: ec2.IVpc,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        powertools_layer_arn: str,
        retry_attempts: int,
        max_event_age: Duration,
        log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the trigger_etl_dag function",
        )
        # The function depends on its role's policy, so CloudFormation creates this first: Lambda refuses a VPC function
        # whose role cannot create network interfaces.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(VPC_NETWORK_INTERFACE_ACTIONS), resources=["*"])
        )
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Creates the financial ETL DAG run of the business date whose manifest landed",
            code=lambda_.Code.from_asset(
                str(LAMBDAS_DIR),
                exclude=["/*", f"!/{FUNCTION_FOLDER}/", "__pycache__/", "*.pyc", "tests/", "test_*.py"],
                ignore_mode=IgnoreMode.GIT,
            ),
            handler=f"{FUNCTION_FOLDER}.{ENTRY_MODULE}.lambda_handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            layers=[lambda_.LayerVersion.from_layer_version_arn(self, "PowertoolsLayer", powertools_layer_arn)],
            memory_size=256,
            # InvokeRestApi gives up after 10 s; one retry of it fits.
            timeout=Duration.seconds(30),
            role=self.role,
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnets=subnets.subnets),
            security_groups=[security_group],
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            log_group=self.log_group,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
            max_event_age=max_event_age,
            environment={
                "MWAA_ENVIRONMENT_NAME": environment_name,
                "DAG_ID": dag_id,
                "MANIFEST_PREFIX": manifest_prefix,
                "MANIFEST_NAME": manifest_name,
                "POWERTOOLS_SERVICE_NAME": "financial-etl-trigger",
            },
        )
        self.log_group.grant_write(self.role)
        # Lambda dead-letters a failed event with the function's role
        # (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html#invocation-dlq), and a producer to
        # a KMS-encrypted queue needs the key's GenerateDataKey and Decrypt as well (docs.aws.amazon.com/
        # AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html): the function's dead_letter_queue
        # adds sqs:SendMessage only, this grant the key too. EventBridge reaches the same queue through the queue policy
        # CDK writes for each rule's dead_letter_queue (aws:SourceArn of the rule) and the key policy's statement for
        # this platform's rules (stacks/encryption.py).
        self.dead_letter_queue.grant_send_messages(self.role)
        # No grant exists for MWAA: InvokeRestApi, as this environment's Airflow "User" role only.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["airflow:InvokeRestApi"],
                resources=[
                    stack.format_arn(
                        service="airflow",
                        resource="role",
                        resource_name=f"{environment_name}/{AIRFLOW_ROLE}",
                        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
                    )
                ],
            )
        )
        self.rule = events.Rule(
            self,
            "ManifestLanded",
            rule_name=rule_name,
            description="The day's transactions manifest arrived in the landing bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [landing_bucket.bucket_name]},
                    "object": {"key": [{"wildcard": f"{manifest_prefix}business_date=*/{manifest_name}"}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    dead_letter_queue=self.dead_letter_queue,
                    retry_attempts=retry_attempts,
                    max_event_age=max_event_age,
                )
            ],
        )
