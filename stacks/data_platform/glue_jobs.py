"""Glue Spark jobs, one per heavy step of the DAG, with a role per job family and a KMS security configuration."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import GlueConfig


class GlueJobs(Construct):
    """`jobs/<script>.py` as Glue 5.0 jobs (Spark 3.5, Python 3.11) reading their scripts from `scripts_bucket`.

    Each family's role reads exactly the buckets its jobs read and writes exactly those they write
    (`access[family]`), besides the scripts and its own log group. Every job runs under one security
    configuration: SSE-KMS for S3, CloudWatch Logs and job bookmarks, all with the platform key.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: GlueConfig,
        name_prefix: str,
        scripts_bucket: s3.IBucket,
        scripts_prefix: str,
        temp_location: tuple[s3.IBucket, str],
        access: Mapping[str, tuple[tuple[s3.IBucket, ...], tuple[s3.IBucket, ...]]],
        log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.log_group_name = log_group_name
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=f"{name_prefix}-glue",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=encryption_key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=encryption_key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=encryption_key.key_arn
                ),
            ),
        )
        temp_bucket, temp_prefix = temp_location
        self.key_association_arns = tuple(
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=name,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in (f"{log_group_name}:*", "/aws-glue/jobs/*")
        )
        self.roles: dict[str, iam.Role] = {}
        self.jobs: dict[str, glue.CfnJob] = {}
        self.job_names: dict[str, str] = {}
        for family, scripts in config.job_families.items():
            role = iam.Role(
                self,
                f"{family.capitalize()}Role",
                assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
                description=f"Glue {family} jobs: {', '.join(scripts)}",
            )
            reads, writes = access[family]
            for bucket in reads:
                bucket.grant_read(role)
            for bucket in writes:
                bucket.grant_read_write(role)
            scripts_bucket.grant_read(role, f"{scripts_prefix}/*")
            temp_bucket.grant_read_write(role, f"{temp_prefix}/*")
            self.log_group.grant_write(role)
            encryption_key.grant_encrypt_decrypt(role)
            # A security configuration with CloudWatch encryption makes Glue associate the key with the log
            # groups it writes; no grant covers logs:AssociateKmsKey.
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["logs:AssociateKmsKey"], resources=list(self.key_association_arns))
            )
            self.roles[family] = role
            for script in scripts:
                name = f"{name_prefix}-{script.replace('_', '-')}"
                self.job_names[script] = name
                self.jobs[script] = glue.CfnJob(
                    self,
                    "".join(part.capitalize() for part in script.split("_")),
                    name=name,
                    description=f"jobs/{script}.py ({family})",
                    role=role.role_arn,
                    command=glue.CfnJob.JobCommandProperty(
                        name="glueetl",
                        python_version=config.python_version,
                        script_location=scripts_bucket.s3_url_for_object(f"{scripts_prefix}/{script}.py"),
                    ),
                    glue_version=config.glue_version,
                    worker_type=config.worker_type,
                    number_of_workers=config.number_of_workers,
                    timeout=config.timeout_minutes,
                    max_retries=config.max_retries,
                    # A DAG run per business date: a second concurrent run of a step would race the first.
                    execution_property=glue.CfnJob.ExecutionPropertyProperty(max_concurrent_runs=1),
                    security_configuration=self.security_configuration.ref,
                    default_arguments={
                        "--job-language": "python",
                        "--extra-py-files": scripts_bucket.s3_url_for_object(
                            f"{scripts_prefix}/{config.shared_module}"
                        ),
                        "--TempDir": temp_bucket.s3_url_for_object(temp_prefix),
                        "--enable-continuous-cloudwatch-log": "true",
                        "--continuous-log-logGroup": log_group_name,
                        "--enable-metrics": "true",
                        "--enable-observability-metrics": "true",
                        # The DAG passes explicit partitions per business date; bookmarks would skip reruns.
                        "--job-bookmark-option": "job-bookmark-disable",
                    },
                )

    def job_arn(self, script: str) -> str:
        return Stack.of(self).format_arn(service="glue", resource="job", resource_name=self.job_names[script])
