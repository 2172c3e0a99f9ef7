"""DataPlatform-<env>: the financial ETL of the seed on MWAA, Glue and Redshift Serverless, started by a
manifest landing in S3.

Read it as the wiring diagram: which construct exists, and who may do what to whom.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, CfnOutput, Duration, Fn, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks import control_tower
from stacks.config import EnvironmentConfig, NetworkConfig
from stacks.data_platform.airflow import AirflowEnvironment, AirflowFiles, configuration_options
from stacks.data_platform.encryption import DataPlatformKey
from stacks.data_platform.glue_jobs import GlueJobs
from stacks.data_platform.monitoring import PipelineMonitoring
from stacks.data_platform.network import DataPlatformNetwork
from stacks.data_platform.storage import DataLake
from stacks.data_platform.trigger import EtlTrigger
from stacks.data_platform.warehouse import Warehouse
from stacks.data_platform_nag import acknowledge_findings

ROOT = Path(__file__).resolve().parent.parent
DAGS_DIR = ROOT / "dags"
JOBS_DIR = ROOT / "jobs"
REQUIREMENTS_FILE = DAGS_DIR / "requirements.txt"
STARTUP_SCRIPT = ROOT / "mwaa" / "startup.sh"
GLUE_ACTIONS = ["glue:GetJob", "glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"]


class DataPlatformStack(Stack):
    """The data platform of one environment."""

    @property
    def availability_zones(self) -> list[str]:
        """The VPC's three zones: the configured names, else the region's first three by Fn::GetAZs at deploy time.

        CDK's own answer is two zones for an environment-agnostic stack, and a context lookup (credentials at
        synth) for one with an account and region; Redshift Serverless needs three. Fn::GetAZs lists the zones
        that have a default subnet, or all of them when none has
        (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-getavailabilityzones.html).
        """
        names = getattr(self, "_zone_names", None)
        if names:
            return list(names)
        return [Fn.select(index, Fn.get_azs()) for index in range(NetworkConfig.max_azs)]

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Financial ETL on Amazon MWAA, AWS Glue and Redshift Serverless ({config.name})",
            **kwargs,
        )
        platform = config.data_platform
        prefix = config.data_platform_prefix
        self._zone_names = platform.network.availability_zones
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)

        key = DataPlatformKey(
            self,
            "Encryption",
            description=f"Financial ETL data platform ({config.name}): MWAA, buckets, Glue, Redshift, logs",
            log_group_name_patterns=config.data_log_group_name_patterns,
            alarm_name_prefix=config.data_alarm_name_prefix,
            rule_name_prefix=config.data_alarm_name_prefix,
            removal_policy=config.removal_policy,
        ).key
        network = DataPlatformNetwork(
            self,
            "Network",
            network=platform.network,
            interface_endpoints=platform.interface_endpoints,
            flow_log_group_name=config.data_log_group_name("vpc-flow-logs"),
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        lake = DataLake(
            self,
            "Buckets",
            encryption_key=key,
            landing_expiration_days=platform.landing_expiration_days,
            raw_transition_days=platform.raw_transition_days,
            reports_retention_years=platform.reports_retention_years,
            access_log_retention_days=config.log_retention_days,
            removal_policy=config.removal_policy,
        )

        # Files: DAGs, requirements and startup script for MWAA; the Spark scripts for Glue.
        deployment_logs = logs.LogGroup(
            self,
            "DeploymentLogs",
            log_group_name=config.data_log_group_name("deployments"),
            retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        files = AirflowFiles(
            self,
            "AirflowFiles",
            bucket=lake.source,
            dags_dir=DAGS_DIR,
            dags_prefix=platform.dags_prefix,
            requirements_file=REQUIREMENTS_FILE,
            requirements_key=platform.requirements_key,
            startup_script=STARTUP_SCRIPT,
            startup_script_key=platform.startup_script_key,
            extra_folders=[(JOBS_DIR, platform.scripts_prefix)],
            log_group=deployment_logs,
        )

        glue = GlueJobs(
            self,
            "Glue",
            config=platform.glue,
            name_prefix=prefix,
            scripts_bucket=lake.source,
            scripts_prefix=platform.scripts_prefix,
            temp_location=(lake.raw, "_glue-temp"),
            # Family: (buckets read, buckets written). Quarantine and reconciliation live under curated/.
            access={
                "ingest": ((lake.landing,), (lake.raw,)),
                "transform": ((lake.raw,), (lake.curated, lake.quarantine)),
                "reports": ((lake.curated,), ()),
            },
            # generate_reports stages its CSVs under the temp location and puts each one to the reports bucket
            # (Object Lock in prod) with its checksums (jobs/generate_reports.py): put only, never a delete.
            publishes={"reports": (lake.reports,)},
            log_group_prefix=config.data_log_group_name("glue"),
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        warehouse = Warehouse(
            self,
            "Warehouse",
            config=platform.warehouse,
            name_prefix=prefix,
            subnets=network.private_subnets,
            security_group=network.security_group,
            curated_bucket=lake.curated,
            encryption_key=key,
        )

        trigger = EtlTrigger(
            self,
            "Trigger",
            landing_bucket=lake.landing,
            manifest_prefix=platform.manifest_prefix,
            manifest_name=platform.manifest_name,
            rule_name=f"{config.data_alarm_name_prefix}manifest-landed",
            environment_name=config.mwaa_environment_name,
            dag_id=platform.airflow.dag_id,
            vpc=network.vpc,
            subnets=network.private_subnets,
            security_group=network.security_group,
            powertools_layer_arn=ssm.StringParameter.value_for_string_parameter(
                self, f"{config.orders.powertools_layer_parameter_prefix}/{config.orders.powertools_version}"
            ),
            retry_attempts=platform.trigger_retry_attempts,
            max_event_age=Duration.hours(platform.trigger_max_event_age_hours),
            log_group_name=config.data_log_group_name("functions", "trigger_etl_dag"),
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
        )
        monitoring = PipelineMonitoring(
            self,
            "Monitoring",
            alarm_name_prefix=config.data_alarm_name_prefix,
            rule_name_prefix=config.data_alarm_name_prefix,
            dashboard_name=f"{config.data_alarm_name_prefix}pipeline",
            thresholds=platform.alarms,
            environment_name=config.mwaa_environment_name,
            glue_job_names=list(glue.job_names.values()),
            trigger_function=trigger.function,
            event_dead_letter_queue=trigger.dead_letter_queue,
            operations_emails=config.operations_emails,
            encryption_key=key,
        )

        # What the DAG reads from the Airflow configuration section [financial_etl] (dags/financial_etl/config.py).
        dag_settings = {
            "landing_bucket": lake.landing.bucket_name,
            "raw_bucket": lake.raw.bucket_name,
            "curated_bucket": lake.curated.bucket_name,
            "reports_bucket": lake.reports.bucket_name,
            **{f"glue_job_{script}": name for script, name in glue.job_names.items()},
            "redshift_workgroup": warehouse.workgroup_name,
            "redshift_database": warehouse.database_name,
            "redshift_copy_role_arn": warehouse.copy_role.role_arn,
            "operations_topic_arn": monitoring.topic.topic_arn,
        }
        if warehouse.admin_secret is not None:
            dag_settings["redshift_secret_arn"] = warehouse.admin_secret.secret_arn

        airflow = AirflowEnvironment(
            self,
            "Airflow",
            config=platform.airflow,
            environment_name=config.mwaa_environment_name,
            source_bucket=lake.source,
            files=files,
            dags_prefix=platform.dags_prefix,
            requirements_key=platform.requirements_key,
            startup_script_key=platform.startup_script_key,
            subnets=network.mwaa_subnets,
            security_group=network.security_group,
            configuration_options=configuration_options(
                catchup_by_default=platform.airflow.catchup_by_default,
                secrets_prefix=config.airflow_secrets_prefix,
                connections_prefix=platform.secrets_connections_prefix,
                variables_prefix=platform.secrets_variables_prefix,
                dag_settings=dag_settings,
            ),
            log_retention=config.log_retention,
            encryption_key=key,
            removal_policy=config.removal_policy,
            tags=config.tags,
        )

        # The DAG's data access, on top of MWAA's baseline: exactly its jobs, workgroup, secret, buckets, topic.
        role = airflow.role
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=GLUE_ACTIONS, resources=[glue.job_arn(s) for s in glue.job_names])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
                resources=[warehouse.workgroup_arn],
            )
        )
        # Statement ids are not ARNs: the Data API scopes these to statements the caller itself ran.
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "redshift-data:DescribeStatement",
                    "redshift-data:GetStatementResult",
                    "redshift-data:CancelStatement",
                ],
                resources=["*"],
                conditions={"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}},
            )
        )
        if warehouse.admin_secret is not None:
            warehouse.admin_secret.grant_read(role)
        # Airflow connections and variables the operators add later, under this environment's prefixes only.
        airflow_secrets = tuple(
            self.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{config.airflow_secrets_prefix}{kind}/*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for kind in (platform.secrets_connections_prefix, platform.secrets_variables_prefix)
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=list(airflow_secrets),
            )
        )
        lake.curated.grant_read(role)
        lake.landing.grant_read(role, f"{platform.manifest_prefix}*")
        monitoring.topic.grant_publish(role)

        acknowledge_findings(
            self,
            network=network,
            lake=lake,
            files=files,
            glue=glue,
            warehouse=warehouse,
            airflow=airflow,
            trigger=trigger,
            airflow_secrets=airflow_secrets,
        )
        # Control Tower's proactive controls (stacks/control_tower.py): what this stack does not meet, and why.
        control_tower.acknowledge_data_platform(
            self,
            lake=lake,
            dead_letter_queues=[trigger.dead_letter_queue],
            log_retention_days=config.log_retention_days,
        )

        for output_id, value, description in (
            ("MwaaEnvironmentName", config.mwaa_environment_name, "aws mwaa create-web-login-token --name <this>"),
            ("LandingBucketName", lake.landing.bucket_name, "Upload a day's files here"),
            ("RawBucketName", lake.raw.bucket_name, "Ingested copies"),
            ("CuratedBucketName", lake.curated.bucket_name, "Transformed data, quarantine, reconciliation"),
            ("ReportsBucketName", lake.reports.bucket_name, "Regulatory reports"),
            ("SourceBucketName", lake.source.bucket_name, "MWAA DAGs, requirements, startup script, Glue scripts"),
            ("RedshiftWorkgroupName", warehouse.workgroup_name, "Redshift Serverless workgroup"),
            ("OperationsTopicArn", monitoring.topic.topic_arn, "Pipeline alerts"),
            ("EventDeadLetterQueueUrl", trigger.dead_letter_queue.queue_url, "Events that were not delivered"),
            ("DashboardName", monitoring.dashboard.dashboard_name, "CloudWatch dashboard of the pipeline"),
        ):
            CfnOutput(self, output_id, value=value, description=description)
