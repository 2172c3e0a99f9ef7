"""Redshift Serverless: namespace and workgroup in the private subnets, or an existing workgroup by name."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from stacks.config import WarehouseConfig


class Warehouse(Construct):
    """The warehouse `load_warehouse` COPYs the curated data into.

    A new namespace keeps its admin credentials in Secrets Manager (generated, KMS-encrypted), is
    encrypted with the platform key, and may assume `copy_role`, which reads the curated bucket. Its workgroup
    sits in the private subnets with enhanced VPC routing (COPY traffic stays on the S3 gateway endpoint),
    is not publicly accessible and requires TLS.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: WarehouseConfig,
        name_prefix: str,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        curated_bucket: s3.IBucket,
        encryption_key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = config.database_name
        self.namespace: redshift.CfnNamespace | None = None
        self.admin_secret: secretsmanager.ISecret | None = None
        # COPY assumes it; an existing namespace must have it attached (see README, "What is deployed (the platform)").
        self.copy_role = iam.Role(
            self,
            "CopyRole",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
            ),
            description="Assumed by Redshift Serverless to COPY the curated data",
        )
        curated_bucket.grant_read(self.copy_role)
        if config.existing_workgroup_name is not None:
            # A workgroup's ARN carries its id, not its name: the Data API grant covers this account's workgroups.
            self.workgroup_name = config.existing_workgroup_name
            self.workgroup_arn = stack.format_arn(
                service="redshift-serverless", resource="workgroup", resource_name="*"
            )
            return

        # In Secrets Manager, with the username and password keys the Redshift Data API reads (SecretArn).
        self.admin_secret = secretsmanager.Secret(
            self,
            "AdminSecret",
            description=f"Admin credentials of the Redshift Serverless namespace {name_prefix}",
            encryption_key=encryption_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps({"username": config.admin_username}),
                generate_string_key="password",
                exclude_punctuation=True,
                password_length=32,
            ),
        )
        self.namespace = redshift.CfnNamespace(
            self,
            "Namespace",
            namespace_name=name_prefix,
            db_name=config.database_name,
            admin_username=config.admin_username,
            # A CloudFormation dynamic reference: the password never appears in the template.
            admin_user_password=self.admin_secret.secret_value_from_json("password").unsafe_unwrap(),
            kms_key_id=encryption_key.key_arn,
            iam_roles=[self.copy_role.role_arn],
            default_iam_role_arn=self.copy_role.role_arn,
            log_exports=["userlog", "connectionlog", "useractivitylog"],
        )
        self.workgroup_name = name_prefix
        self.workgroup = redshift.CfnWorkgroup(
            self,
            "Workgroup",
            workgroup_name=self.workgroup_name,
            namespace_name=self.namespace.namespace_name,
            base_capacity=config.base_capacity_rpus,
            enhanced_vpc_routing=True,
            publicly_accessible=False,
            subnet_ids=subnets.subnet_ids,
            security_group_ids=[security_group.security_group_id],
            config_parameters=[
                redshift.CfnWorkgroup.ConfigParameterProperty(parameter_key="require_ssl", parameter_value="true"),
                redshift.CfnWorkgroup.ConfigParameterProperty(
                    parameter_key="enable_user_activity_logging", parameter_value="true"
                ),
            ],
        )
        self.workgroup.add_dependency(self.namespace)
        self.workgroup_arn = self.workgroup.attr_workgroup_workgroup_arn
