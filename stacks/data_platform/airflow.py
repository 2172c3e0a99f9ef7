"""The MWAA environment: its files in the source bucket (by object version), execution role and log groups."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.config import AirflowConfig
from stacks.data_platform.requirements import PLUGINS_ZIP, RequirementsPlan, check_requirements

# MWAA's five log types: CloudFormation property, and the component name in `airflow-<env>-<Component>`.
LOG_TYPES: Mapping[str, str] = {
    "dag_processing_logs": "DAGProcessing",
    "scheduler_logs": "Scheduler",
    "task_logs": "Task",
    "webserver_logs": "WebServer",
    "worker_logs": "Worker",
}
# The Airflow configuration section the DAG reads its resource names from.
DAG_SETTINGS_SECTION = "financial_etl"
# Never uploaded: Python caches and local test files.
_DAG_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache", "tests", "test_*.py", "conftest.py"]


class AirflowFiles(Construct):
    """`dags/` synced to `<dags_prefix>/`, and the requirements file and startup script at the bucket root,
    with `plugins.zip` beside them when `make mwaa-wheels` wrote one (the wheels the image lacks).

    The bucket is versioned; `requirements_version`, `startup_script_version` and `plugins_version` are the S3
    object versions of exactly the files this synth deployed (read back after the upload, keyed by the files'
    content hash), so a change to any changes the environment's properties and CloudFormation updates it. Each
    `(folder, prefix)` of `extra_folders` (the Glue scripts) is synced to its prefix of the same bucket.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        dags_dir: Path,
        dags_prefix: str,
        requirements_file: Path,
        requirements_key: str,
        startup_script: Path,
        startup_script_key: str,
        extra_folders: Sequence[tuple[Path, str]] = (),
        log_group: logs.ILogGroup,
        plugins_zip: Path = PLUGINS_ZIP,
        plugins_key: str = "plugins.zip",
    ) -> None:
        super().__init__(scope, construct_id)
        for required in (dags_dir, requirements_file, startup_script):
            if not required.exists():
                raise FileNotFoundError(f"{required} is missing: the MWAA environment is deployed from it")
        self.dags_dir = dags_dir
        self.requirements_file = requirements_file
        # Only what `make mwaa-wheels` built: a fresh clone has none, and its requirements need none.
        self.plugins_zip: Path | None = plugins_zip if plugins_zip.is_file() else None
        self.plugins_key = plugins_key
        # One role for the deployment and version-reading functions: starts with nothing but its log group.
        self.role = iam.Role(
            self,
            "DeploymentRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Uploads the DAGs, requirements and startup script and reads their object versions",
        )
        log_group.grant_write(self.role)
        self.dags = s3deploy.BucketDeployment(
            self,
            "Dags",
            destination_bucket=bucket,
            destination_key_prefix=f"{dags_prefix}/",
            sources=[s3deploy.Source.asset(str(dags_dir), exclude=_DAG_EXCLUDES)],
            prune=True,
            role=self.role,
            log_group=log_group,
        )
        root_files = [(requirements_file, requirements_key), (startup_script, startup_script_key)]
        self.root_files = s3deploy.BucketDeployment(
            self,
            "RootFiles",
            destination_bucket=bucket,
            sources=[s3deploy.Source.data(key, path.read_text()) for path, key in root_files],
            # The bucket root also holds dags/ (and the Glue scripts): never prune there.
            prune=False,
            role=self.role,
            log_group=log_group,
        )
        for path, prefix in extra_folders:
            s3deploy.BucketDeployment(
                self,
                "".join(part.capitalize() for part in path.name.split("_")),
                destination_bucket=bucket,
                destination_key_prefix=f"{prefix}/",
                sources=[s3deploy.Source.asset(str(path), exclude=_DAG_EXCLUDES)],
                prune=True,
                role=self.role,
                log_group=log_group,
            )
        bucket.grant_read(self.role, requirements_key)
        bucket.grant_read(self.role, startup_script_key)
        self.requirements_version = self._object_version(
            "RequirementsVersion", bucket, requirements_key, requirements_file, log_group, self.root_files
        )
        self.startup_script_version = self._object_version(
            "StartupScriptVersion", bucket, startup_script_key, startup_script, log_group, self.root_files
        )
        self.plugins_version: str | None = None
        if self.plugins_zip:
            # A folder asset is unzipped on upload: the folder holds the zip, so the zip itself lands at the key.
            self.plugins = s3deploy.BucketDeployment(
                self,
                "Plugins",
                destination_bucket=bucket,
                sources=[
                    s3deploy.Source.asset(str(self.plugins_zip.parent), exclude=["*", f"!{self.plugins_zip.name}"])
                ],
                prune=False,
                role=self.role,
                log_group=log_group,
            )
            bucket.grant_read(self.role, plugins_key)
            self.plugins_version = self._object_version(
                "PluginsVersion", bucket, plugins_key, self.plugins_zip, log_group, self.plugins
            )

    def _object_version(
        self,
        construct_id: str,
        bucket: s3.IBucket,
        key: str,
        source: Path,
        log_group: logs.ILogGroup,
        upload: s3deploy.BucketDeployment,
    ) -> str:
        # The content hash is part of the call: a changed file re-runs HeadObject and yields the new version.
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
        call = cr.AwsSdkCall(
            service="S3",
            action="headObject",
            parameters={"Bucket": bucket.bucket_name, "Key": key},
            physical_resource_id=cr.PhysicalResourceId.of(f"{key}@{digest}"),
            output_paths=["VersionId"],
        )
        reader = cr.AwsCustomResource(
            self,
            construct_id,
            on_create=call,
            on_update=call,
            role=self.role,
            log_group=log_group,
            install_latest_aws_sdk=False,
            memory_size=256,
        )
        reader.node.add_dependency(upload)
        return reader.get_response_field("VersionId")


class AirflowEnvironment(Construct):
    """An `AWS::MWAA::Environment` in two private subnets, its execution role and its five log groups.

    The role holds what AWS documents for an MWAA execution role (metrics, the environment's log groups,
    its Celery queues, the key via SQS, read on the source bucket, no ListAllMyBuckets, the account's public
    access block); the stack adds the data access the DAG needs.

    Synth refuses a requirements file the environment could not install (RequirementsError): with a PRIVATE_ONLY
    webserver every requirement must be in the image or a wheel of plugins.zip (stacks/data_platform/requirements.py).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: AirflowConfig,
        environment_name: str,
        source_bucket: s3.IBucket,
        files: AirflowFiles,
        dags_prefix: str,
        requirements_key: str,
        startup_script_key: str,
        subnets: ec2.SelectedSubnets,
        security_group: ec2.ISecurityGroup,
        configuration_options: Mapping[str, str],
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
        tags: Mapping[str, str],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.environment_name = environment_name
        self.requirements: RequirementsPlan = check_requirements(
            files.requirements_file,
            airflow_version=config.version,
            webserver_access_mode=config.webserver_access_mode,
            dags_dir=files.dags_dir,
            plugins_zip=files.plugins_zip,
        )
        self.environment_arn = stack.format_arn(
            service="airflow",
            resource="environment",
            resource_name=environment_name,
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )

        self.log_groups = {
            component: logs.LogGroup(
                self,
                f"{component}Logs",
                log_group_name=f"airflow-{environment_name}-{component}",
                retention=log_retention,
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )
            for component in LOG_TYPES.values()
        }

        self.role = iam.Role(
            self,
            "ExecutionRole",
            description=f"MWAA execution role of {environment_name}",
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("airflow.amazonaws.com"),
                iam.ServicePrincipal("airflow-env.amazonaws.com"),
            ).with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": self.environment_arn},
                }
            ),
        )
        self._add_mwaa_baseline(stack, source_bucket, encryption_key)

        self.environment = mwaa.CfnEnvironment(
            self,
            "Environment",
            name=environment_name,
            airflow_version=config.version,
            environment_class=config.environment_class,
            min_workers=config.min_workers,
            max_workers=config.max_workers,
            schedulers=config.schedulers,
            min_webservers=config.min_webservers,
            max_webservers=config.max_webservers,
            webserver_access_mode=config.webserver_access_mode,
            weekly_maintenance_window_start=config.weekly_maintenance_window_start,
            execution_role_arn=self.role.role_arn,
            kms_key=encryption_key.key_arn,
            source_bucket_arn=source_bucket.bucket_arn,
            dag_s3_path=dags_prefix,
            requirements_s3_path=requirements_key,
            requirements_s3_object_version=files.requirements_version,
            startup_script_s3_path=startup_script_key,
            startup_script_s3_object_version=files.startup_script_version,
            plugins_s3_path=files.plugins_key if files.plugins_version else None,
            plugins_s3_object_version=files.plugins_version,
            network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
                subnet_ids=subnets.subnet_ids, security_group_ids=[security_group.security_group_id]
            ),
            logging_configuration=mwaa.CfnEnvironment.LoggingConfigurationProperty(
                **{
                    prop: mwaa.CfnEnvironment.ModuleLoggingConfigurationProperty(
                        enabled=True,
                        log_level=config.task_log_level if prop == "task_logs" else config.log_level,
                    )
                    for prop in LOG_TYPES
                }
            ),
            airflow_configuration_options=dict(configuration_options),
            tags=dict(tags),
        )
        # The DAGs must be in place before the environment first parses them; the log groups before it logs.
        self.environment.node.add_dependency(files.dags)
        for log_group in self.log_groups.values():
            self.environment.node.add_dependency(log_group)
        self.environment.node.add_dependency(self.role)

    def _add_mwaa_baseline(self, stack: Stack, source_bucket: s3.IBucket, key: kms.IKey) -> None:
        role = self.role
        self.log_groups_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=f"airflow-{self.environment_name}-*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # The Celery queues live in an MWAA-owned account, so the account part of the ARN cannot be ours.
        self.celery_queues_arn = f"arn:{stack.partition}:sqs:{stack.region}:*:airflow-celery-*"
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["airflow:PublishMetrics"], resources=[self.environment_arn])
        )
        # MWAA reads its DAGs, requirements and startup script; it must not enumerate the account's buckets.
        source_bucket.grant_read(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                actions=["s3:ListAllMyBuckets"],
                resources=[source_bucket.bucket_arn, source_bucket.arn_for_objects("*")],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "logs:CreateLogStream",
                    "logs:CreateLogGroup",
                    "logs:PutLogEvents",
                    "logs:GetLogEvents",
                    "logs:GetLogRecord",
                    "logs:GetLogGroupFields",
                    "logs:GetQueryResults",
                ],
                resources=[self.log_groups_arn],
            )
        )
        # These three APIs have no resource-level permissions (acknowledged to cdk-nag with that reason).
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:DescribeLogGroups", "s3:GetAccountPublicAccessBlock", "cloudwatch:PutMetricData"],
                resources=["*"],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sqs:ChangeMessageVisibility",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                ],
                resources=[self.celery_queues_arn],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"],
                resources=[key.key_arn],
                conditions={"StringLike": {"kms:ViaService": [f"sqs.{stack.region}.{stack.url_suffix}"]}},
            )
        )


def configuration_options(
    *,
    catchup_by_default: bool,
    secrets_prefix: str,
    connections_prefix: str,
    variables_prefix: str,
    dag_settings: Mapping[str, str],
) -> dict[str, str]:
    """Airflow options of the environment: UTC, no catch-up unless configured, the Secrets
    Manager backend for connections and variables under this environment's prefixes, and `dag_settings` as
    the section the DAG reads (MWAA exports `financial_etl.<key>` as AIRFLOW__FINANCIAL_ETL__<KEY>)."""
    return {
        "core.default_timezone": "utc",
        "scheduler.catchup_by_default": str(catchup_by_default),
        "secrets.backend": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
        "secrets.backend_kwargs": json.dumps(
            {
                "connections_prefix": f"{secrets_prefix}{connections_prefix}",
                "variables_prefix": f"{secrets_prefix}{variables_prefix}",
            },
            separators=(",", ":"),
        ),
        **{f"{DAG_SETTINGS_SECTION}.{key}": value for key, value in dag_settings.items()},
    }
