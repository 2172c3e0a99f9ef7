"""Glue Spark jobs, one per heavy step of the DAG, with a role per job family and a KMS security configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.config import GlueConfig

# Which logging job arguments each Glue version accepts: the table behind the synth-time rule "Glue logging
# arguments match the Glue version". Glue 5.0 logs in real time to /aws-glue/jobs/error|output, or to
# <prefix>/error|output with --custom-logGroup-prefix (docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html);
# the continuous-logging arguments are for Glue 4.0 and earlier only
# (docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html).
GLUE_5_LOGGING_DOC = "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html"
GLUE_4_LOGGING_DOC = "https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging-enable.html"
_CONTINUOUS_LOGGING_ARGUMENTS = frozenset(
    {
        "--enable-continuous-cloudwatch-log",
        "--enable-continuous-log-filter",
        "--continuous-log-logGroup",
        "--continuous-log-logStreamPrefix",
        "--continuous-log-conversionPattern",
    }
)
_CUSTOM_LOGGING_ARGUMENTS = frozenset({"--custom-logGroup-prefix", "--custom-logStream-prefix"})
GLUE_LOGGING_ARGUMENTS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "5.0": _CUSTOM_LOGGING_ARGUMENTS,
        "4.0": _CONTINUOUS_LOGGING_ARGUMENTS,
        "3.0": _CONTINUOUS_LOGGING_ARGUMENTS,
        "2.0": _CONTINUOUS_LOGGING_ARGUMENTS,
    }
)
GLUE_LOGGING_DOCS: Mapping[str, str] = MappingProxyType(
    {"5.0": GLUE_5_LOGGING_DOC, "4.0": GLUE_4_LOGGING_DOC, "3.0": GLUE_4_LOGGING_DOC, "2.0": GLUE_4_LOGGING_DOC}
)
ALL_LOGGING_ARGUMENTS = _CONTINUOUS_LOGGING_ARGUMENTS | _CUSTOM_LOGGING_ARGUMENTS
# The prefix: at most 400 characters, no ':' or '*' (monitor-continuous-logging.html, "Custom logging").
_LOG_GROUP_PREFIX = re.compile(r"[^:*]{1,400}")


def misplaced_logging_arguments(glue_version: str, arguments: Mapping[str, object]) -> tuple[str, ...]:
    """The logging arguments in `arguments` that `glue_version` does not take (all of them for an unknown version)."""
    accepted = GLUE_LOGGING_ARGUMENTS.get(glue_version, frozenset())
    return tuple(sorted(a for a in arguments if a in ALL_LOGGING_ARGUMENTS and a not in accepted))


def glue_5_log_group_names(prefix: str, security_configuration_name: str) -> tuple[str, ...]:
    """The log groups a Glue 5.0 job with `--custom-logGroup-prefix prefix` writes to.

    Documented: `<prefix>/error` (system, Spark and GlueLogger logs) and `<prefix>/output` (stdout, stderr).
    With a security configuration that encrypts CloudWatch Logs, Glue 4.0 and earlier append
    `-<security configuration name>` to the group name (monitor-continuous-logging-enable.html, "Security
    configuration with continuous logging"); the 5.0 page is silent on it, so both spellings are pre-created,
    encrypted and retained, and none is left for Glue to create without retention.
    """
    if not _LOG_GROUP_PREFIX.fullmatch(prefix):
        raise ValueError(f"--custom-logGroup-prefix {prefix!r}: 1-400 characters, no ':' or '*' ({GLUE_5_LOGGING_DOC})")
    documented = (f"{prefix}/error", f"{prefix}/output")
    return (*documented, *(f"{name}-{security_configuration_name}" for name in documented))


class GlueJobs(Construct):
    """`jobs/<script>.py` as Glue 5.0 jobs (Spark 3.5, Python 3.11) reading their scripts from `scripts_bucket`.

    Each family's role reads exactly the buckets its jobs read and writes exactly those they write
    (`access[family]`), may only add objects to those it publishes to (`publishes[family]`), besides the scripts and the log groups Glue writes under `log_group_prefix`. Every job
    runs under one security configuration: SSE-KMS for S3, CloudWatch Logs and job bookmarks, all with the
    platform key.
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
        publishes: Mapping[str, tuple[s3.IBucket, ...]] = MappingProxyType({}),
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        security_configuration_name = f"{name_prefix}-glue"
        self.log_group_prefix = log_group_prefix
        self.log_group_names = glue_5_log_group_names(log_group_prefix, security_configuration_name)
        self.log_groups = tuple(
            logs.LogGroup(
                self,
                f"LogGroup{index}",
                log_group_name=name,
                retention=log_retention,
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )
            for index, name in enumerate(self.log_group_names)
        )
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=security_configuration_name,
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
        # The groups by name, with and without the ':*' that CloudWatch Logs appends to a group's ARN.
        self.key_association_arns = tuple(
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=resource,
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in self.log_group_names
            for resource in (name, f"{name}:*")
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
            # Buckets a family's driver only adds objects to (with boto3, never Spark): no read, no delete.
            for bucket in publishes.get(family, ()):
                bucket.grant_put(role)
            scripts_bucket.grant_read(role, f"{scripts_prefix}/*")
            temp_bucket.grant_read_write(role, f"{temp_prefix}/*")
            for log_group in self.log_groups:
                log_group.grant_write(role)
            encryption_key.grant_encrypt_decrypt(role)
            # A security configuration with CloudWatch encryption makes Glue associate the key with the log
            # groups it writes, and without logs:AssociateKmsKey the job logs nothing
            # (monitor-continuous-logging-enable.html; docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html).
            # Whether Glue 5.0 also tries to create the custom groups is not documented: CreateLogGroup is allowed
            # on exactly the names this construct already created. No grant covers either action.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["logs:AssociateKmsKey", "logs:CreateLogGroup"], resources=list(self.key_association_arns)
                )
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
                    default_arguments=self._checked(
                        config.glue_version,
                        {
                            "--job-language": "python",
                            "--extra-py-files": scripts_bucket.s3_url_for_object(
                                f"{scripts_prefix}/{config.shared_module}"
                            ),
                            "--TempDir": temp_bucket.s3_url_for_object(temp_prefix),
                            # Glue 5.0 logs in real time to <prefix>/error and <prefix>/output; the stream names keep
                            # Glue's default (run id), so no --custom-logStream-prefix.
                            "--custom-logGroup-prefix": log_group_prefix,
                            "--enable-metrics": "true",
                            "--enable-observability-metrics": "true",
                            # The DAG passes explicit partitions per business date; bookmarks would skip reruns.
                            "--job-bookmark-option": "job-bookmark-disable",
                        },
                    ),
                )

    @staticmethod
    def _checked(glue_version: str, arguments: dict[str, str]) -> dict[str, str]:
        if misplaced := misplaced_logging_arguments(glue_version, arguments):
            raise ValueError(
                f"Glue {glue_version} does not take {', '.join(misplaced)} "
                f"({GLUE_LOGGING_DOCS.get(glue_version, GLUE_5_LOGGING_DOC)})"
            )
        return arguments

    def job_arn(self, script: str) -> str:
        return Stack.of(self).format_arn(service="glue", resource="job", resource_name=self.job_names[script])
