"""Typed, validated deployment configuration: one frozen dataclass per environment, read from cdk.json.

The only place names, limits and thresholds live. `app.py` calls `load_environment` once and passes the
result down as keyword arguments; constructs never read context themselves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, ClassVar

from aws_cdk import RemovalPolicy
from aws_cdk import aws_logs as logs


class ConfigError(ValueError):
    """A missing, unknown or malformed configuration value; the message names its key path."""


# CloudWatch Logs accepts only these retention periods.
_RETENTION_DAYS: Mapping[int, logs.RetentionDays] = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
_REMOVAL_POLICIES: Mapping[str, RemovalPolicy] = {
    "destroy": RemovalPolicy.DESTROY,
    "retain": RemovalPolicy.RETAIN,
}
_API_GATEWAY_ACCOUNT_MODES = ("create", "existing")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ENV_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")


@dataclass(frozen=True)
class AlarmThresholds:
    """When the order-processing alarms notify the operations topic."""

    lambda_errors: int
    failed_executions: int
    timed_out_executions: int
    period_minutes: int


@dataclass(frozen=True)
class OrdersConfig:
    """Settings of the order-processing workload (state machine, functions, queue, approval API)."""

    approval_threshold: Decimal
    approval_timeout_seconds: int
    lambda_memory_mb: int
    lambda_timeout_seconds: int
    intake_batch_size: int
    max_receive_count: int
    # At most this many concurrent intake invocations (ScalingConfig.MaximumConcurrency, 2 to 1000:
    # docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html), so a flood of orders cannot scale the
    # poller without bound into the account's StartExecution quota.
    intake_max_concurrency: int
    # The aws-lambda-powertools release the functions run: the AWS-published layer carrying it is resolved at
    # deploy time from its public SSM parameter, so the layer always matches what tests run locally
    # (requirements-dev.txt pins the same version; a test keeps the two equal).
    powertools_version: str
    approval_api_rate_limit: int
    approval_api_burst_limit: int
    alarms: AlarmThresholds
    approver_emails: tuple[str, ...] = ()
    log_level: str = "INFO"
    # Lambda SnapStart (Python 3.12 and later): each function published as a version with an alias that every
    # caller invokes, restored from a snapshot of its initialized environment instead of initialized anew. Python
    # pays for caching the snapshot and for each restore; it excludes provisioned concurrency, EFS and ephemeral
    # storage over 512 MB (docs.aws.amazon.com/lambda/latest/dg/snapstart.html).
    snap_start: bool = False

    service_name: ClassVar[str] = "order-processing"
    metrics_namespace: ClassVar[str] = "OrderProcessing"
    payment_provider: ClassVar[str] = "simulated"
    approval_api_stage_name: ClassVar[str] = "v1"
    # Public SSM parameter (one per architecture, runtime and release) whose value is the layer ARN.
    powertools_layer_parameter_prefix: ClassVar[str] = "/aws/service/powertools/python/arm64/python3.14"
    # SQS messages must stay invisible while every retry of one batch runs (AWS: 6x the function timeout).
    visibility_timeout_factor: ClassVar[int] = 6
    dlq_retention_days: ClassVar[int] = 14

    # The largest order message the intake queue accepts: Step Functions' 256 KiB state limit less 64 KiB for the
    # validation error a rejected order carries (lambdas/order_domain/rules.py, ORDER_MESSAGE_MAX_BYTES, says why).
    # SQS then refuses a bigger message at SendMessage instead of dead-lettering it after three deliveries.
    intake_max_message_bytes: ClassVar[int] = 192 * 1024

    @property
    def intake_visibility_timeout_seconds(self) -> int:
        return self.visibility_timeout_factor * self.lambda_timeout_seconds


# Airflow versions this project ships constraints and a requirements contract for (dags/requirements.txt).
SUPPORTED_AIRFLOW_VERSIONS = ("3.3.1",)
# MWAA environment classes, smallest first.
_MWAA_CLASSES = ("mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge")
_WEBSERVER_ACCESS_MODES = ("PRIVATE_ONLY", "PUBLIC_ONLY")
_AIRFLOW_LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
_GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
_MAINTENANCE_WINDOW = re.compile(r"^(MON|TUE|WED|THU|FRI|SAT|SUN):([01]\d|2[0-3]):(00|30)$")
_CIDR = re.compile(r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-4])$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_AZ = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")
_NAME = re.compile(r"^[a-z][a-z0-9-]{2,62}$")
# Interface endpoints a network without internet egress needs (service names after com.amazonaws.<region>.).
_INTERFACE_ENDPOINT_SERVICES = (
    "airflow.api",
    "airflow.env",
    "airflow.ops",
    "sqs",
    "logs",
    "monitoring",
    "kms",
    "secretsmanager",
    "glue",
    "redshift-data",
    "redshift-serverless",
    "sns",
    "sts",
    "ecr.api",
    "ecr.dkr",
)


@dataclass(frozen=True)
class ExistingNetwork:
    """A VPC the platform joins instead of creating one.

    `subnet_ids[i]` lies in `availability_zones[i]`. MWAA takes the first two (two zones); a new Redshift
    Serverless workgroup takes them all (three zones at least). `interface_endpoints_present` are the interface
    endpoints (with private DNS) the VPC already has: the platform does not create those again.
    """

    vpc_id: str
    subnet_ids: tuple[str, ...]
    availability_zones: tuple[str, ...]
    interface_endpoints_present: tuple[str, ...] = ()


@dataclass(frozen=True)
class NetworkConfig:
    """The data platform's network: a new three-AZ VPC (the default) or an existing one.

    `availability_zones` names the new VPC's three zones; None takes the region's first three at deploy time
    (Fn::GetAZs), so synth needs no credentials and no context lookup.
    """

    vpc_cidr: str
    nat_gateways: int
    interface_endpoints: tuple[str, ...] = ()
    existing: ExistingNetwork | None = None
    availability_zones: tuple[str, ...] | None = None

    # Redshift Serverless: "at least three subnets, and they must span across three Availability Zones"
    # (docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html).
    max_azs: ClassVar[int] = 3
    warehouse_azs: ClassVar[int] = 3
    # MWAA: exactly two private subnets in two different Availability Zones
    # (docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-mwaa-environment-networkconfiguration.html).
    mwaa_subnets: ClassVar[int] = 2
    # An existing VPC may offer more subnets to the warehouse; Redshift Serverless takes up to this many.
    max_existing_subnets: ClassVar[int] = 16


@dataclass(frozen=True)
class AirflowConfig:
    """The MWAA environment: version, size, access and logging."""

    version: str
    environment_class: str
    min_workers: int
    max_workers: int
    schedulers: int
    min_webservers: int
    max_webservers: int
    webserver_access_mode: str
    weekly_maintenance_window_start: str
    log_level: str
    task_log_level: str
    catchup_by_default: bool = False

    dag_id: ClassVar[str] = "financial_etl_pipeline"


@dataclass(frozen=True)
class GlueConfig:
    """Spark jobs on AWS Glue: worker type and count, timeout, retries."""

    worker_type: str
    number_of_workers: int
    timeout_minutes: int
    max_retries: int

    # The newest Glue release: Spark 3.5, Python 3.11.
    glue_version: ClassVar[str] = "5.0"
    python_version: ClassVar[str] = "3"
    # One job per heavy step of the DAG, each running jobs/<script>.py, grouped in families that share a role
    # (and so the data they may touch). jobs/common.py ships to every job.
    job_families: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {
            "ingest": ("extract_transactions", "extract_market_data"),
            "transform": ("transform_data",),
            "reports": ("generate_reports",),
        }
    )
    shared_module: ClassVar[str] = "common.py"


@dataclass(frozen=True)
class WarehouseConfig:
    """Redshift Serverless: a new namespace and workgroup, or an existing workgroup by name."""

    base_capacity_rpus: int
    database_name: str
    admin_username: str
    existing_workgroup_name: str | None = None


@dataclass(frozen=True)
class DataAlarmThresholds:
    """When the data platform's alarms notify its operations topic."""

    task_failures: int
    glue_job_failures: int
    period_minutes: int


@dataclass(frozen=True)
class DataPlatformConfig:
    """Settings of the financial ETL platform (MWAA, Glue, Redshift Serverless, event trigger)."""

    network: NetworkConfig
    airflow: AirflowConfig
    glue: GlueConfig
    warehouse: WarehouseConfig
    alarms: DataAlarmThresholds
    landing_expiration_days: int
    raw_transition_days: int
    # Object Lock (compliance mode) years on the reports bucket; None leaves the bucket unlocked.
    reports_retention_years: int | None
    trigger_retry_attempts: int
    trigger_max_event_age_hours: int

    # The day's manifest: its arrival starts the DAG run of that business date.
    manifest_prefix: ClassVar[str] = "transactions/"
    manifest_name: ClassVar[str] = "_SUCCESS"
    dags_prefix: ClassVar[str] = "dags"
    requirements_key: ClassVar[str] = "requirements.txt"
    startup_script_key: ClassVar[str] = "startup.sh"
    scripts_prefix: ClassVar[str] = "glue/scripts"
    secrets_connections_prefix: ClassVar[str] = "airflow/connections"
    secrets_variables_prefix: ClassVar[str] = "airflow/variables"

    # boto3's MWAA InvokeRestApi and CreateCliToken go to env.airflow.<region>.amazonaws.com (botocore's hostPrefix
    # "env."): from inside the VPC, a PRIVATE_ONLY webserver answers only through the airflow.env interface
    # endpoint (docs.aws.amazon.com/mwaa/latest/userguide/access-mwaa-apache-airflow-rest-api.html,
    # .../vpc-vpe-access.html).
    private_webserver_endpoint: ClassVar[str] = "airflow.env"

    @property
    def interface_endpoints(self) -> tuple[str, ...]:
        """The interface endpoints the platform creates: those configured, plus `airflow.env` whenever the
        webserver is private (the trigger function calls InvokeRestApi from the VPC), less those an existing
        VPC already has."""
        wanted = list(self.network.interface_endpoints)
        if self.airflow.webserver_access_mode == "PRIVATE_ONLY" and self.private_webserver_endpoint not in wanted:
            wanted.append(self.private_webserver_endpoint)
        present = self.network.existing.interface_endpoints_present if self.network.existing else ()
        return tuple(service for service in wanted if service not in present)


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that differs between deployment environments (dev, prod, ...)."""

    name: str
    removal_policy: RemovalPolicy
    log_retention_days: int
    orders: OrdersConfig
    data_platform: DataPlatformConfig
    account: str | None = None
    region: str | None = None
    operations_emails: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # API Gateway's CloudWatch role is one setting per account and region (AWS::ApiGateway::Account):
    # "create" deploys the shared ApiGatewayAccount stack, "existing" relies on the one already set.
    api_gateway_account: str = "create"

    # The per-account, per-region stack holding AWS::ApiGateway::Account; one name for every environment, so
    # environments sharing an account and region share the one resource.
    api_gateway_account_stack_name: ClassVar[str] = "ApiGatewayAccount"

    @property
    def creates_api_gateway_account(self) -> bool:
        return self.api_gateway_account == "create"

    @property
    def deletion_protection(self) -> bool:
        """Retained environments also refuse table deletion, so a stray `cdk destroy` cannot drop data."""
        return self.removal_policy == RemovalPolicy.RETAIN

    @property
    def log_retention(self) -> logs.RetentionDays:
        return _RETENTION_DAYS[self.log_retention_days]

    @property
    def order_processing_stack_name(self) -> str:
        return f"OrderProcessing-{self.name}"

    @property
    def state_machine_name(self) -> str:
        return f"OrderProcessing-{self.name}"

    @property
    def alarm_name_prefix(self) -> str:
        return f"OrderProcessing-{self.name}-"

    @property
    def approval_api_name(self) -> str:
        return f"OrderProcessing-{self.name}-approvals"

    def log_group_name(self, *parts: str) -> str:
        """Log groups of the environment live under one prefix (the KMS key policy admits only those)."""
        return "/".join((f"/order-processing/{self.name}", *parts))

    @property
    def state_machine_log_group_name(self) -> str:
        # Step Functions delivers "vended" logs; under /aws/vendedlogs/ CloudWatch Logs does not grow a
        # resource policy per log group (whose size is capped).
        return f"/aws/vendedlogs/states/{self.state_machine_name}"

    @property
    def log_group_name_patterns(self) -> tuple[str, ...]:
        """Every log group name this environment may create (for the KMS key policy)."""
        return (self.log_group_name("*"), self.state_machine_log_group_name)

    # --- Data platform -----------------------------------------------------------------------------------

    @property
    def data_platform_stack_name(self) -> str:
        return f"DataPlatform-{self.name}"

    @property
    def data_platform_prefix(self) -> str:
        """Names of the data platform's resources start with it (log groups, alarms, jobs, secrets)."""
        return f"data-platform-{self.name}"

    @property
    def mwaa_environment_name(self) -> str:
        return f"financial-etl-{self.name}"

    def data_log_group_name(self, *parts: str) -> str:
        return "/".join((f"/data-platform/{self.name}", *parts))

    @property
    def mwaa_log_group_prefix(self) -> str:
        """MWAA writes to airflow-<environment>-<Component>; the names are fixed by the service."""
        return f"airflow-{self.mwaa_environment_name}-"

    @property
    def data_log_group_name_patterns(self) -> tuple[str, ...]:
        return (self.data_log_group_name("*"), f"{self.mwaa_log_group_prefix}*")

    @property
    def data_alarm_name_prefix(self) -> str:
        return f"DataPlatform-{self.name}-"

    @property
    def airflow_secrets_prefix(self) -> str:
        return f"{self.data_platform_prefix}/"


def load_environment(context: Mapping[str, Any], environ: Mapping[str, str]) -> EnvironmentConfig:
    """Build the configuration of the environment selected by context `env` from context `environments`.

    Account and region come from CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION when set; otherwise the stacks
    are environment-agnostic.
    """
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError("environments must be an object with one entry per environment, e.g. 'dev'")
    name = context.get("env")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"env must name an environment, one of {sorted(environments)}, got {name!r}")
    if name not in environments:
        raise ConfigError(f"env {name!r} is not configured; known environments: {sorted(environments)}")
    if not _ENV_NAME.match(name):
        raise ConfigError(f"env must be lower-case letters, digits and '-' (max 20), got {name!r}")
    return _parse_environment(_Reader(environments[name], f"environments.{name}"), name, environ)


def _parse_environment(r: _Reader, name: str, environ: Mapping[str, str]) -> EnvironmentConfig:
    removal = r.choice("removalPolicy", tuple(_REMOVAL_POLICIES))
    retention = r.positive_int("logRetentionDays")
    if retention not in _RETENTION_DAYS:
        raise ConfigError(
            f"{r.path}.logRetentionDays must be one of CloudWatch's periods {sorted(_RETENTION_DAYS)}, "
            f"got {retention!r}"
        )
    config = EnvironmentConfig(
        name=name,
        account=environ.get("CDK_DEFAULT_ACCOUNT") or None,
        region=environ.get("CDK_DEFAULT_REGION") or None,
        removal_policy=_REMOVAL_POLICIES[removal],
        log_retention_days=retention,
        operations_emails=r.emails("operationsEmails"),
        tags=r.tags("tags"),
        api_gateway_account=r.choice("apiGatewayAccount", _API_GATEWAY_ACCOUNT_MODES, default="create"),
        orders=_parse_orders(r.child("orders")),
        data_platform=_parse_data_platform(
            r.child("dataPlatform"),
            region=environ.get("CDK_DEFAULT_REGION") or None,
            has_account_and_region=bool(environ.get("CDK_DEFAULT_ACCOUNT") and environ.get("CDK_DEFAULT_REGION")),
        ),
    )
    r.reject_unknown()
    return config


def _parse_orders(r: _Reader) -> OrdersConfig:
    alarms = r.child("alarms")
    config = OrdersConfig(
        approval_threshold=r.positive_decimal("approvalThreshold"),
        approval_timeout_seconds=r.positive_int("approvalTimeoutSeconds", maximum=365 * 24 * 3600),
        lambda_memory_mb=r.positive_int("lambdaMemoryMb", minimum=128, maximum=10240),
        lambda_timeout_seconds=r.positive_int("lambdaTimeoutSeconds", maximum=900),
        intake_batch_size=r.positive_int("intakeBatchSize", maximum=10),
        max_receive_count=r.positive_int("maxReceiveCount", maximum=1000),
        intake_max_concurrency=r.positive_int("intakeMaxConcurrency", minimum=2, maximum=1000),
        powertools_version=r.version("powertoolsVersion"),
        approval_api_rate_limit=r.positive_int("approvalApiRateLimit"),
        approval_api_burst_limit=r.positive_int("approvalApiBurstLimit"),
        approver_emails=r.emails("approverEmails"),
        log_level=r.choice("logLevel", _LOG_LEVELS, default="INFO"),
        snap_start=r.boolean("snapStart", default=False),
        alarms=AlarmThresholds(
            lambda_errors=alarms.positive_int("lambdaErrorsThreshold"),
            failed_executions=alarms.positive_int("failedExecutionsThreshold"),
            timed_out_executions=alarms.positive_int("timedOutExecutionsThreshold"),
            period_minutes=alarms.positive_int("periodMinutes", maximum=1440),
        ),
    )
    # Lambda's SQS poller rejects visibility timeouts over 12 hours; the factor makes this the binding limit.
    if config.intake_visibility_timeout_seconds > 43200:
        raise ConfigError(f"{r.path}.lambdaTimeoutSeconds is too large for the intake queue's visibility timeout")
    alarms.reject_unknown()
    r.reject_unknown()
    return config


def _parse_data_platform(r: _Reader, *, region: str | None, has_account_and_region: bool) -> DataPlatformConfig:
    network = _parse_network(r.child("network"), region=region, has_account_and_region=has_account_and_region)
    airflow = _parse_airflow(r.child("airflow"))
    glue_reader = r.child("glue")
    glue = GlueConfig(
        worker_type=glue_reader.choice("workerType", _GLUE_WORKER_TYPES),
        number_of_workers=glue_reader.positive_int("numberOfWorkers", minimum=2, maximum=299),
        # The seed's jobs run up to 12 hours.
        timeout_minutes=glue_reader.positive_int("timeoutMinutes", maximum=24 * 60),
        max_retries=glue_reader.positive_int("maxRetries", minimum=0, maximum=10),
    )
    glue_reader.reject_unknown()
    warehouse_reader = r.child("warehouse")
    existing_workgroup = warehouse_reader.optional_name("existingWorkgroupName")
    warehouse = WarehouseConfig(
        # Redshift Serverless base capacity: 8 to 512 RPUs in steps of 8.
        base_capacity_rpus=warehouse_reader.positive_int("baseCapacityRpus", minimum=8, maximum=512),
        database_name=warehouse_reader.identifier("databaseName"),
        admin_username=warehouse_reader.identifier("adminUsername"),
        existing_workgroup_name=existing_workgroup,
    )
    if warehouse.base_capacity_rpus % 8:
        raise ConfigError(
            f"{warehouse_reader.path}.baseCapacityRpus must be a multiple of 8, got {warehouse.base_capacity_rpus}"
        )
    warehouse_reader.reject_unknown()
    _check_warehouse_subnets(network, warehouse, r.path)
    alarms = r.child("alarms")
    config = DataPlatformConfig(
        network=network,
        airflow=airflow,
        glue=glue,
        warehouse=warehouse,
        alarms=DataAlarmThresholds(
            task_failures=alarms.positive_int("taskFailuresThreshold"),
            glue_job_failures=alarms.positive_int("glueJobFailuresThreshold"),
            period_minutes=alarms.positive_int("periodMinutes", maximum=1440),
        ),
        landing_expiration_days=r.positive_int("landingExpirationDays", maximum=3650),
        raw_transition_days=r.positive_int("rawTransitionDays", minimum=30, maximum=3650),
        reports_retention_years=r.optional_positive_int("reportsObjectLockYears", maximum=100),
        trigger_retry_attempts=r.positive_int("triggerRetryAttempts", minimum=0, maximum=185),
        trigger_max_event_age_hours=r.positive_int("triggerMaxEventAgeHours", maximum=24),
    )
    alarms.reject_unknown()
    r.reject_unknown()
    return config


def _parse_network(r: _Reader, *, region: str | None, has_account_and_region: bool) -> NetworkConfig:
    existing = None
    existing_reader = r.optional_child("existingVpc")
    if existing_reader is not None:
        vpc_id = existing_reader.matching("vpcId", _VPC_ID, "a VPC id such as vpc-0123456789abcdef0")
        subnets = existing_reader.matching_list(
            "subnetIds",
            _SUBNET_ID,
            f"{NetworkConfig.mwaa_subnets} to {NetworkConfig.max_existing_subnets} private subnet ids, MWAA's two "
            "first",
            length=range(NetworkConfig.mwaa_subnets, NetworkConfig.max_existing_subnets + 1),
        )
        if len(set(subnets)) != len(subnets):
            raise ConfigError(f"{existing_reader.path}.subnetIds must not repeat a subnet, got {list(subnets)}")
        zones = existing_reader.matching_list(
            "availabilityZones",
            _AZ,
            f"the zone of each subnet, in the order of subnetIds ({len(subnets)})",
            length=range(len(subnets), len(subnets) + 1),
        )
        _check_zones_in_region(existing_reader, "availabilityZones", zones, region)
        if len(set(zones[: NetworkConfig.mwaa_subnets])) != NetworkConfig.mwaa_subnets:
            raise ConfigError(
                f"{existing_reader.path}.availabilityZones: MWAA's two subnets (the first two of subnetIds) must be "
                f"in two different zones, got {list(zones[: NetworkConfig.mwaa_subnets])}"
            )
        present = existing_reader.choices("interfaceEndpointsPresent", _INTERFACE_ENDPOINT_SERVICES)
        existing_reader.reject_unknown()
        if not has_account_and_region:
            # Without both, the stack is environment-agnostic and CDK cannot tie the subnets to a region.
            raise ConfigError(
                f"{existing_reader.path} needs an explicit account and region: "
                "export CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION"
            )
        existing = ExistingNetwork(
            vpc_id=vpc_id, subnet_ids=subnets, availability_zones=zones, interface_endpoints_present=present
        )
    endpoints = r.choices("interfaceEndpoints", _INTERFACE_ENDPOINT_SERVICES)
    if existing is not None and set(endpoints) & set(existing.interface_endpoints_present):
        raise ConfigError(
            f"{r.path}.interfaceEndpoints lists {sorted(set(endpoints) & set(existing.interface_endpoints_present))}, "
            f"which existingVpc.interfaceEndpointsPresent says the VPC already has: a second endpoint with private "
            "DNS for the same service in one VPC is refused"
        )
    zones_of_new_vpc = None
    if r.has("availabilityZones"):
        if existing is not None:
            raise ConfigError(
                f"{r.path}.availabilityZones is for a new VPC; with existingVpc, its availabilityZones apply"
            )
        zones_of_new_vpc = r.matching_list(
            "availabilityZones",
            _AZ,
            f"{NetworkConfig.max_azs} different zone names of the region, such as eu-west-1a",
            length=range(NetworkConfig.max_azs, NetworkConfig.max_azs + 1),
        )
        if len(set(zones_of_new_vpc)) != NetworkConfig.max_azs:
            raise ConfigError(f"{r.path}.availabilityZones must name {NetworkConfig.max_azs} different zones")
        _check_zones_in_region(r, "availabilityZones", zones_of_new_vpc, region)
    config = NetworkConfig(
        vpc_cidr=r.matching("vpcCidr", _CIDR, "an IPv4 CIDR block between /16 and /24"),
        nat_gateways=r.positive_int("natGateways", minimum=0, maximum=NetworkConfig.max_azs),
        interface_endpoints=endpoints,
        existing=existing,
        availability_zones=zones_of_new_vpc,
    )
    r.reject_unknown()
    return config


def _check_zones_in_region(r: _Reader, key: str, zones: tuple[str, ...], region: str | None) -> None:
    wrong = [zone for zone in zones if region is not None and not zone.startswith(region)]
    if wrong:
        raise ConfigError(f"{r.path}.{key} must be zones of {region}, got {wrong}")


def _check_warehouse_subnets(network: NetworkConfig, warehouse: WarehouseConfig, path: str) -> None:
    """A new Redshift Serverless workgroup in an existing VPC needs subnets in three zones: refused at synth."""
    if network.existing is None or warehouse.existing_workgroup_name is not None:
        return
    zones = sorted(set(network.existing.availability_zones))
    if len(zones) < NetworkConfig.warehouse_azs:
        raise ConfigError(
            f"{path}.network.existingVpc.subnetIds must include subnets in {NetworkConfig.warehouse_azs} different "
            f"availability zones for the new Redshift Serverless workgroup (at least three subnets over three AZs: "
            f"docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html), got {len(zones)} "
            f"{zones}; add subnets or set {path}.warehouse.existingWorkgroupName to use a workgroup you have"
        )


def _parse_airflow(r: _Reader) -> AirflowConfig:
    version = r._get("version", SUPPORTED_AIRFLOW_VERSIONS[0])
    if version not in SUPPORTED_AIRFLOW_VERSIONS:
        raise ConfigError(
            f"{r.path}.version must be an Airflow version this project supports {list(SUPPORTED_AIRFLOW_VERSIONS)}, "
            f"got {version!r}"
        )
    config = AirflowConfig(
        version=version,
        environment_class=r.choice("environmentClass", _MWAA_CLASSES),
        min_workers=r.positive_int("minWorkers", maximum=25),
        max_workers=r.positive_int("maxWorkers", maximum=25),
        schedulers=r.positive_int("schedulers", minimum=2, maximum=5),
        min_webservers=r.positive_int("minWebservers", minimum=2, maximum=5),
        max_webservers=r.positive_int("maxWebservers", minimum=2, maximum=5),
        webserver_access_mode=r.choice("webserverAccessMode", _WEBSERVER_ACCESS_MODES, default="PRIVATE_ONLY"),
        weekly_maintenance_window_start=r.matching(
            "weeklyMaintenanceWindowStart", _MAINTENANCE_WINDOW, 'a UTC day and half hour such as "SUN:03:00"'
        ),
        log_level=r.choice("logLevel", _AIRFLOW_LOG_LEVELS, default="WARNING"),
        task_log_level=r.choice("taskLogLevel", _AIRFLOW_LOG_LEVELS, default="INFO"),
        catchup_by_default=r.boolean("catchupByDefault", default=False),
    )
    if config.max_workers < config.min_workers:
        raise ConfigError(f"{r.path}.maxWorkers must be >= minWorkers ({config.min_workers}), got {config.max_workers}")
    if config.max_webservers < config.min_webservers:
        raise ConfigError(
            f"{r.path}.maxWebservers must be >= minWebservers ({config.min_webservers}), got {config.max_webservers}"
        )
    r.reject_unknown()
    return config


class _Reader:
    """Typed access to one JSON object of the configuration; every error names the full key path."""

    _MISSING: ClassVar[object] = object()

    def __init__(self, data: Any, path: str):
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path} must be an object, got {data!r}")
        self._data = data
        self._seen: set[str] = set()
        self.path = path

    def _get(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self._data:
            return self._data[key]
        if default is self._MISSING:
            raise ConfigError(f"{self.path}.{key} is missing")
        return default

    def _fail(self, key: str, expectation: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.path}.{key} must be {expectation}, got {value!r}")

    def child(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self.path}.{key}")

    def positive_int(self, key: str, *, minimum: int = 1, maximum: int | None = None) -> int:
        value = self._get(key)
        # bool is an int in Python; `true` is never a sensible count.
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}", value)
        if maximum is not None and value > maximum:
            raise self._fail(key, f"an integer <= {maximum}", value)
        return value

    def positive_decimal(self, key: str) -> Decimal:
        value = self._get(key)
        # A string, so JSON never turns an amount of money into a float.
        if not isinstance(value, str):
            raise self._fail(key, 'a positive decimal written as a string (e.g. "10000")', value)
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise self._fail(key, "a positive decimal", value) from None
        if not amount.is_finite() or amount <= 0:
            raise self._fail(key, "a positive decimal", value)
        return amount

    def version(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not re.fullmatch(r"\d+\.\d+\.\d+", value):
            raise self._fail(key, 'a release number such as "3.37.0"', value)
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = _MISSING) -> str:
        value = self._get(key, default)
        if value not in allowed:
            raise self._fail(key, f"one of {list(allowed)}", value)
        return value

    def emails(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and _EMAIL.match(v) for v in value):
            raise self._fail(key, "a list of e-mail addresses", value)
        return tuple(value)

    def tags(self, key: str) -> Mapping[str, str]:
        value = self._get(key, {})
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and _TAG_KEY.match(k) and isinstance(v, str) and len(v) <= 256 for k, v in value.items()
        ):
            raise self._fail(key, "an object of tag names to string values", value)
        return MappingProxyType(dict(value))

    def has(self, key: str) -> bool:
        """Whether the optional `key` is set (and not null); marks it as known."""
        return self._get(key, None) is not None

    def optional_child(self, key: str) -> _Reader | None:
        value = self._get(key, None)
        return None if value is None else _Reader(value, f"{self.path}.{key}")

    def optional_positive_int(self, key: str, *, maximum: int | None = None) -> int | None:
        if self._get(key, None) is None:
            return None
        return self.positive_int(key, maximum=maximum)

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def matching(self, key: str, pattern: re.Pattern[str], expectation: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise self._fail(key, expectation, value)
        return value

    def matching_list(
        self, key: str, pattern: re.Pattern[str], expectation: str, *, length: int | range
    ) -> tuple[str, ...]:
        value = self._get(key)
        lengths = length if isinstance(length, range) else range(length, length + 1)
        if (
            not isinstance(value, list)
            or len(value) not in lengths
            or not all(isinstance(v, str) and pattern.match(v) for v in value)
        ):
            raise self._fail(key, expectation, value)
        return tuple(value)

    def choices(self, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(v in allowed for v in value) or len(set(value)) != len(value):
            raise self._fail(key, f"a list without repeats drawn from {list(allowed)}", value)
        return tuple(value)

    def identifier(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise self._fail(key, "a lower-case identifier (letters, digits, _)", value)
        return value

    def optional_name(self, key: str) -> str | None:
        value = self._get(key, None)
        if value is None:
            return None
        if not isinstance(value, str) or not _NAME.match(value):
            raise self._fail(key, "a resource name (lower-case letters, digits and -)", value)
        return value

    def reject_unknown(self) -> None:
        """A misspelt key would otherwise be silently ignored and its default used."""
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            raise ConfigError(f"{self.path} has unknown keys {unknown}; known keys: {sorted(self._seen)}")
