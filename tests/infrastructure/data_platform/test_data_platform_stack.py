"""Fine-grained assertions on the DataPlatform-<env> templates: what must hold, whatever the snapshot says."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from stacks.config import GlueConfig
from stacks.data_platform.airflow import LOG_TYPES
from stacks.data_platform_stack import DAGS_DIR, JOBS_DIR, REQUIREMENTS_FILE, STARTUP_SCRIPT
from tests.conftest import ROOT
from tests.infrastructure.cfn import CfnTemplate, as_list, mentions, references
from tests.infrastructure.data_platform.conftest import allowed_actions, statements, statements_with

ENV_NAME = "financial-etl-dev"
SCRIPTS = [script for scripts in GlueConfig.job_families.values() for script in scripts]
EXECUTION_ROLE = "Airflow/ExecutionRole"
DATA_BUCKETS = ("Landing", "Raw", "Curated", "Quarantine", "Reports")


def both(data_dev: CfnTemplate, data_prod: CfnTemplate, env: str) -> CfnTemplate:
    return {"dev": data_dev, "prod": data_prod}[env]


def environment(t: CfnTemplate) -> dict[str, Any]:
    return t.properties(t.logical_id("Airflow/Environment"))


def key_arn(t: CfnTemplate) -> dict[str, Any]:
    return {"Fn::GetAtt": [t.logical_id("Encryption/Key"), "Arn"]}


def bucket_id(t: CfnTemplate, name: str) -> str:
    return t.logical_id(f"Buckets/{name}")


def join_text(value: Any) -> str:
    """An Fn::Join / Fn::Sub / Ref value flattened to text, references written as <LogicalId>."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(join_text(p) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
        if "Fn::Sub" in value:
            return value["Fn::Sub"]
    return json.dumps(value)


# --- Network -----------------------------------------------------------------------------------------------


def zone_of(t: CfnTemplate, subnet: dict) -> dict:
    return t.properties(subnet["Ref"])["AvailabilityZone"]


@pytest.mark.parametrize(("env", "nat_gateways"), [("dev", 1), ("prod", 2)])
def test_the_vpc_spans_three_zones_chosen_at_deploy_time_and_mwaa_runs_in_two_of_them_with_nat_egress(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str, nat_gateways: int
):
    # given
    t = both(data_dev, data_prod, env)
    private = [i for i, r in t.of_type("AWS::EC2::Subnet").items() if "/private" in r["Metadata"]["aws:cdk:path"]]
    mwaa_subnets = environment(t)["NetworkConfiguration"]["SubnetIds"]

    # when
    zones = [t.properties(s)["AvailabilityZone"] for s in private]
    mwaa_zones = [zone_of(t, s) for s in mwaa_subnets]

    # then the three private subnets take the region's zones 0, 1, 2 at deploy time: no zone name is written in
    assert sorted(json.dumps(z) for z in zones) == sorted(
        json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)
    )
    assert not re.search(r'"[a-z]{2}-[a-z]+-\d[a-z]"', json.dumps(t.data))
    # and MWAA has exactly two private subnets in two different zones
    assert len(mwaa_subnets) == 2
    assert len({json.dumps(z) for z in mwaa_zones}) == 2
    assert all(s["Ref"] in private for s in mwaa_subnets)
    assert all(t.properties(s)["MapPublicIpOnLaunch"] is False for s in private)
    assert len(t.of_type("AWS::EC2::NatGateway")) == nat_gateways
    for route in t.of_type("AWS::EC2::Route").values():
        if "/private" in route["Metadata"]["aws:cdk:path"]:
            assert "NatGatewayId" in route["Properties"]


def test_vpc_has_an_s3_gateway_endpoint_and_flow_logs_to_an_encrypted_log_group(data_dev: CfnTemplate):
    # given
    [endpoint] = [e for e in data_dev.of_type("AWS::EC2::VPCEndpoint").values() if ".s3" in json.dumps(e)]
    [flow_log] = data_dev.of_type("AWS::EC2::FlowLog").values()
    flow_log_group = data_dev.properties(data_dev.logical_id("Network/FlowLogs"))

    # then
    assert endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    assert ".s3" in join_text(endpoint["Properties"]["ServiceName"])
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    assert flow_log["Properties"]["LogDestinationType"] == "cloud-watch-logs"
    assert flow_log_group["KmsKeyId"] == key_arn(data_dev)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_private_webserver_gets_the_airflow_env_endpoint_the_trigger_reaches_it_through(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str
):
    # given a PRIVATE_ONLY webserver (both environments) and the trigger calling InvokeRestApi from the VPC
    t = both(data_dev, data_prod, env)
    assert environment(t)["WebserverAccessMode"] == "PRIVATE_ONLY"
    [endpoint] = [e for e in t.of_type("AWS::EC2::VPCEndpoint").values() if ".airflow.env" in json.dumps(e)]
    function = t.properties(t.logical_id("Trigger/Function"))

    # then the endpoint resolves env.airflow.<region>.amazonaws.com privately, in MWAA's two zones,
    assert endpoint["Properties"]["VpcEndpointType"] == "Interface"
    assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    assert endpoint["Properties"]["SubnetIds"] == environment(t)["NetworkConfiguration"]["SubnetIds"]
    # and admits the trigger's security group
    assert endpoint["Properties"]["SecurityGroupIds"] == function["VpcConfig"]["SecurityGroupIds"]


def test_one_security_group_admits_only_itself_and_nothing_from_the_internet(data_dev: CfnTemplate):
    # given
    [group_id] = data_dev.of_type("AWS::EC2::SecurityGroup")
    ingress = list(data_dev.of_type("AWS::EC2::SecurityGroupIngress").values())

    # then
    assert [i["Properties"]["SourceSecurityGroupId"] for i in ingress] == [{"Fn::GetAtt": [group_id, "GroupId"]}]
    assert "SecurityGroupIngress" not in data_dev.properties(group_id)
    assert "0.0.0.0/0" not in json.dumps([i["Properties"] for i in ingress])
    for resource_type in ("AWS::MWAA::Environment", "AWS::RedshiftServerless::Workgroup", "AWS::Lambda::Function"):
        for resource in data_dev.of_type(resource_type).values():
            if "VpcConfig" in resource["Properties"] or resource_type != "AWS::Lambda::Function":
                assert mentions(resource["Properties"], group_id), resource_type


# --- Encryption and buckets --------------------------------------------------------------------------------


def test_key_rotates_and_admits_cloudwatch_logs_only_for_this_platforms_log_groups(data_dev: CfnTemplate):
    # given
    key = data_dev.properties(data_dev.logical_id("Encryption/Key"))
    [logs_statement] = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowCloudWatchLogsForThisPlatform"
    ]

    # when
    patterns = join_text(logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"][0]) + join_text(
        logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"][1]
    )

    # then
    assert key["EnableKeyRotation"] is True
    assert ":log-group:/data-platform/dev/*" in patterns
    assert f":log-group:airflow-{ENV_NAME}-*" in patterns
    for log_group in data_dev.of_type("AWS::Logs::LogGroup").values():
        name = log_group["Properties"]["LogGroupName"]
        assert name.startswith(("/data-platform/dev/", f"airflow-{ENV_NAME}-")), name
        assert log_group["Properties"]["KmsKeyId"] == key_arn(data_dev)
        assert log_group["Properties"]["RetentionInDays"] == 14


def test_every_bucket_is_private_versioned_tls_only_and_kms_encrypted_but_the_access_log_bucket(
    data_dev: CfnTemplate,
):
    # given
    access_logs = bucket_id(data_dev, "AccessLogs")
    tls_denied = {
        ref
        for policy in data_dev.of_type("AWS::S3::BucketPolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny" and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for ref in references(statement["Resource"])
    }

    # then
    assert len(data_dev.of_type("AWS::S3::Bucket")) == 7
    for logical_id, bucket in data_dev.of_type("AWS::S3::Bucket").items():
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert logical_id in tls_denied
        [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        if logical_id == access_logs:
            assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
        else:
            assert encryption["ServerSideEncryptionByDefault"] == {
                "KMSMasterKeyID": key_arn(data_dev),
                "SSEAlgorithm": "aws:kms",
            }
            assert properties["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": access_logs}


def test_landing_expires_raw_moves_to_infrequent_access_and_landing_events_go_to_eventbridge(data_dev: CfnTemplate):
    # given
    def rules(name: str) -> dict[str, dict]:
        properties = data_dev.properties(bucket_id(data_dev, name))
        return {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}

    [notifications] = data_dev.of_type("Custom::S3BucketNotifications").values()

    # then
    assert rules("Landing")["expire-landing"]["ExpirationInDays"] == 7
    assert rules("Raw")["raw-to-infrequent-access"]["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30}
    ]
    assert notifications["Properties"]["BucketName"] == {"Ref": bucket_id(data_dev, "Landing")}
    assert notifications["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}


def test_prod_reports_are_locked_in_compliance_mode_for_the_configured_years_and_dev_reports_are_not(
    data_dev: CfnTemplate, data_prod: CfnTemplate
):
    # given
    prod_reports = data_prod.resources[bucket_id(data_prod, "Reports")]
    dev_reports = data_dev.properties(bucket_id(data_dev, "Reports"))

    # then
    assert prod_reports["Properties"]["ObjectLockEnabled"] is True
    assert prod_reports["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 7 * 365}},
    }
    assert prod_reports["DeletionPolicy"] == "Retain"
    assert "ObjectLockConfiguration" not in dev_reports


@pytest.mark.parametrize(("env", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_buckets_key_and_log_groups_are_destroyed_in_dev_and_retained_in_prod(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str, policy: str
):
    t = both(data_dev, data_prod, env)
    for resource_type in ("AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup", "AWS::SQS::Queue"):
        for logical_id, resource in t.of_type(resource_type).items():
            assert resource.get("DeletionPolicy") == policy, logical_id
    assert bool(t.of_type("Custom::S3AutoDeleteObjects")) is (env == "dev")


# --- DAG deployment ----------------------------------------------------------------------------------------


def asset_dir(assembly: Path, deployment: dict) -> list[Path]:
    return [assembly / f"asset.{key.removesuffix('.zip')}" for key in deployment["Properties"]["SourceObjectKeys"]]


def deployment(t: CfnTemplate, name: str) -> dict:
    return t.resources[t.logical_id(f"AirflowFiles/{name}/CustomResource/Default")]


def tracked_files(folder: Path) -> set[Path]:
    return {
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not p.name.endswith(".pyc")
    }


def test_dags_folder_is_synced_to_the_dags_prefix_as_it_is(synth, data_dev: CfnTemplate):
    # given
    dags = deployment(data_dev, "Dags")
    [folder] = asset_dir(synth("dev"), dags)

    # then
    assert dags["Properties"]["DestinationBucketKeyPrefix"] == "dags/"
    assert dags["Properties"]["Prune"] is True
    assert environment(data_dev)["DagS3Path"] == "dags"
    assert tracked_files(folder) == tracked_files(DAGS_DIR)
    assert {Path("financial_etl_pipeline.py"), Path(".airflowignore")} <= tracked_files(folder)


def test_requirements_constraint_file_ships_beside_the_dags_and_pins_the_mwaa_airflow_version():
    # given
    lines = [line.strip() for line in REQUIREMENTS_FILE.read_text().splitlines()]
    [constraint] = [line for line in lines if line.startswith("--constraint")]
    path = constraint.split(None, 1)[1].strip("\"'")

    # then
    assert path.startswith("/usr/local/airflow/dags/")
    shipped = DAGS_DIR / path.removeprefix("/usr/local/airflow/dags/")
    assert shipped.is_file()
    assert "apache-airflow==3.3.1" in shipped.read_text() or "constraints-3.3.1" in shipped.read_text()


def test_glue_scripts_are_deployed_to_the_scripts_prefix(synth, data_dev: CfnTemplate):
    # given
    jobs = deployment(data_dev, "Jobs")
    [folder] = asset_dir(synth("dev"), jobs)

    # then
    assert jobs["Properties"]["DestinationBucketKeyPrefix"] == "glue/scripts/"
    assert tracked_files(folder) == tracked_files(JOBS_DIR)
    assert {Path(f"{s}.py") for s in SCRIPTS} | {Path("common.py")} <= tracked_files(folder)


@pytest.mark.parametrize(
    ("property_prefix", "key", "source", "reader"),
    [
        ("Requirements", "requirements.txt", REQUIREMENTS_FILE, "RequirementsVersion"),
        ("StartupScript", "startup.sh", STARTUP_SCRIPT, "StartupScriptVersion"),
    ],
)
def test_environment_references_requirements_and_startup_script_by_the_object_version_of_this_content(
    synth, data_dev: CfnTemplate, property_prefix: str, key: str, source: Path, reader: str
):
    # given
    env = environment(data_dev)
    reader_id = data_dev.logical_id(f"AirflowFiles/{reader}/Resource/Default")
    call = json.loads(join_text(data_dev.properties(reader_id)["Update"]))
    root_files = deployment(data_dev, "RootFiles")
    uploaded = {p.name: p for folder in asset_dir(synth("dev"), root_files) for p in folder.iterdir()}

    # then the environment reads the version the HeadObject call returns...
    assert env[f"{property_prefix}S3Path"] == key
    assert env[f"{property_prefix}S3ObjectVersion"] == {"Fn::GetAtt": [reader_id, "VersionId"]}
    # ...of exactly this file, read after it was uploaded, re-read whenever the content changes
    assert call["action"] == "headObject"
    assert call["parameters"]["Key"] == key
    assert call["physicalResourceId"]["id"] == f"{key}@{hashlib.sha256(source.read_bytes()).hexdigest()[:16]}"
    assert (
        data_dev.logical_id("AirflowFiles/RootFiles/CustomResource/Default")
        in data_dev.resources[reader_id]["DependsOn"]
    )
    assert uploaded[key].read_bytes() == source.read_bytes()
    assert root_files["Properties"]["Prune"] is False


# --- MWAA environment --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("dev", {"EnvironmentClass": "mw1.small", "MinWorkers": 1, "MaxWorkers": 2, "Schedulers": 2}),
        ("prod", {"EnvironmentClass": "mw1.medium", "MinWorkers": 2, "MaxWorkers": 10, "Schedulers": 2}),
    ],
)
def test_environment_runs_airflow_331_privately_sized_per_environment(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str, expected: dict
):
    # when
    properties = environment(both(data_dev, data_prod, env))

    # then
    assert properties["AirflowVersion"] == "3.3.1"
    assert properties["Name"] == f"financial-etl-{env}"
    assert properties["WebserverAccessMode"] == "PRIVATE_ONLY"
    assert properties["WeeklyMaintenanceWindowStart"] == "SUN:03:00"
    assert properties["KmsKey"] == key_arn(both(data_dev, data_prod, env))
    assert {k: properties[k] for k in expected} == expected
    assert properties["MinWebservers"] >= 2


def test_all_five_log_types_are_enabled_into_pre_created_encrypted_log_groups(data_dev: CfnTemplate):
    # given
    env_resource = data_dev.resources[data_dev.logical_id("Airflow/Environment")]
    logging = env_resource["Properties"]["LoggingConfiguration"]

    # then
    assert set(logging) == {"DagProcessingLogs", "SchedulerLogs", "TaskLogs", "WebserverLogs", "WorkerLogs"}
    assert all(config["Enabled"] is True for config in logging.values())
    assert logging["TaskLogs"]["LogLevel"] == "INFO"
    assert {config["LogLevel"] for name, config in logging.items() if name != "TaskLogs"} == {"WARNING"}
    for component in LOG_TYPES.values():
        log_group = data_dev.logical_id(f"Airflow/{component}Logs")
        assert data_dev.properties(log_group)["LogGroupName"] == f"airflow-{ENV_NAME}-{component}"
        assert log_group in env_resource["DependsOn"]


def test_airflow_runs_in_utc_without_catch_up_reading_secrets_from_this_environments_prefixes(
    data_dev: CfnTemplate,
):
    # when
    options = environment(data_dev)["AirflowConfigurationOptions"]

    # then
    assert options["core.default_timezone"] == "utc"
    assert options["scheduler.catchup_by_default"] == "False"
    assert options["secrets.backend"] == "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend"
    assert json.loads(options["secrets.backend_kwargs"]) == {
        "connections_prefix": "data-platform-dev/airflow/connections",
        "variables_prefix": "data-platform-dev/airflow/variables",
    }


def test_the_dags_settings_section_names_this_stacks_resources_and_satisfies_the_dags_own_parser(
    data_dev: CfnTemplate, monkeypatch: pytest.MonkeyPatch
):
    # given the DAG's config module, as Airflow imports it from the dags folder
    monkeypatch.syspath_prepend(str(DAGS_DIR))
    sys.modules.pop("financial_etl.config", None)
    from financial_etl.config import KEYS, SECTION, EtlConfig

    options = environment(data_dev)["AirflowConfigurationOptions"]
    settings = {
        key.removeprefix(f"{SECTION}."): join_text(value)
        for key, value in options.items()
        if key.startswith(f"{SECTION}.")
    }

    # when
    parsed = EtlConfig.from_mapping(settings)

    # then
    assert set(settings) <= set(KEYS)
    assert set(parsed.glue_jobs.values()) == {
        data_dev.properties(data_dev.logical_id(f"Glue/{_construct(s)}"))["Name"] for s in SCRIPTS
    }
    assert parsed.landing_bucket == f"<{bucket_id(data_dev, 'Landing')}>"
    assert parsed.redshift.workgroup_name == "data-platform-dev"
    assert parsed.redshift.copy_role_arn == f"<{data_dev.logical_id('Warehouse/CopyRole')}.Arn>"
    assert parsed.redshift.secret_arn == f"<{data_dev.logical_id('Warehouse/AdminSecret')}>"
    assert parsed.operations_topic_arn == f"<{data_dev.logical_id('Monitoring/OperationsAlerts')}>"


def _construct(script: str) -> str:
    return "".join(part.capitalize() for part in script.split("_"))


# --- Execution role ----------------------------------------------------------------------------------------


def test_execution_role_trusts_mwaa_only_for_this_environment_in_this_account(data_dev: CfnTemplate):
    # given
    role = data_dev.properties(data_dev.logical_id(EXECUTION_ROLE))
    [statement] = role["AssumeRolePolicyDocument"]["Statement"]

    # then
    assert set(statement["Principal"]["Service"]) == {"airflow.amazonaws.com", "airflow-env.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert join_text(statement["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(f":environment/{ENV_NAME}")


def test_execution_role_holds_the_mwaa_baseline_aws_documents(data_dev: CfnTemplate):
    # given
    role_statements = statements(data_dev, EXECUTION_ROLE)
    [deny] = [s for s in role_statements if s["Effect"] == "Deny"]
    [celery] = statements_with(data_dev, EXECUTION_ROLE, "sqs:ReceiveMessage")
    [via_sqs] = [s for s in statements_with(data_dev, EXECUTION_ROLE, "kms:Decrypt") if "Condition" in s]
    [metrics] = statements_with(data_dev, EXECUTION_ROLE, "airflow:PublishMetrics")
    [log_groups] = statements_with(data_dev, EXECUTION_ROLE, "logs:PutLogEvents")

    # then
    assert deny["Action"] == "s3:ListAllMyBuckets"
    assert join_text(celery["Resource"]).endswith(":*:airflow-celery-*")
    assert [join_text(v) for v in via_sqs["Condition"]["StringLike"]["kms:ViaService"]] == [
        "sqs.<AWS::Region>.<AWS::URLSuffix>"
    ]
    assert via_sqs["Resource"] == key_arn(data_dev)
    assert join_text(metrics["Resource"]).endswith(f":environment/{ENV_NAME}")
    assert join_text(log_groups["Resource"]).endswith(f":log-group:airflow-{ENV_NAME}-*")
    assert list(statements_with(data_dev, EXECUTION_ROLE, "s3:GetAccountPublicAccessBlock"))


def test_execution_role_reaches_exactly_the_dags_resources(data_dev: CfnTemplate):
    # given
    glue_jobs = {data_dev.logical_id(f"Glue/{_construct(s)}") for s in SCRIPTS}
    [glue_statement] = statements_with(data_dev, EXECUTION_ROLE, "glue:StartJobRun")
    [data_api] = statements_with(data_dev, EXECUTION_ROLE, "redshift-data:ExecuteStatement")
    [owned] = statements_with(data_dev, EXECUTION_ROLE, "redshift-data:DescribeStatement")
    [publish] = statements_with(data_dev, EXECUTION_ROLE, "sns:Publish")
    secret_reads = {
        ref
        for s in statements_with(data_dev, EXECUTION_ROLE, "secretsmanager:GetSecretValue")
        for ref in references(s["Resource"])
    }

    # then
    assert {join_text(r).rsplit("/", 1)[1] for r in as_list(glue_statement["Resource"])} == {
        data_dev.properties(j)["Name"] for j in glue_jobs
    }
    assert data_api["Resource"] == {
        "Fn::GetAtt": [data_dev.logical_id("Warehouse/Workgroup"), "Workgroup.WorkgroupArn"]
    }
    assert owned["Condition"] == {"StringEquals": {"redshift-data:statement-owner-iam-userid": "${aws:userid}"}}
    assert publish["Resource"] == {"Ref": data_dev.logical_id("Monitoring/OperationsAlerts")}
    assert data_dev.logical_id("Warehouse/AdminSecret") in secret_reads


def test_execution_role_reads_data_but_never_writes_or_deletes_it(data_dev: CfnTemplate):
    # given
    writes = {"s3:PutObject", "s3:DeleteObject*", "s3:PutObjectLegalHold", "s3:Abort*", "s3:DeleteObject"}

    # then
    for statement in statements(data_dev, EXECUTION_ROLE):
        if statement["Effect"] == "Allow":
            assert not allowed_actions(statement) & writes, statement


def test_no_policy_of_the_stack_allows_a_wildcard_action(data_dev: CfnTemplate, data_prod: CfnTemplate):
    for t in (data_dev, data_prod):
        for policy in t.of_type("AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                for action in allowed_actions(statement):
                    assert action != "*", statement
                    assert not action.endswith(":*"), statement


def test_resource_star_only_for_actions_aws_offers_no_resource_level_permission_for(data_dev: CfnTemplate):
    # given
    unscopable = {
        "logs:DescribeLogGroups",
        "s3:GetAccountPublicAccessBlock",
        "cloudwatch:PutMetricData",
        "redshift-data:DescribeStatement",
        "redshift-data:GetStatementResult",
        "redshift-data:CancelStatement",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }

    # then
    for role in (EXECUTION_ROLE, "Trigger/Role", "Glue/IngestRole", "Glue/TransformRole", "Glue/ReportsRole"):
        for statement in statements(data_dev, role):
            if statement["Resource"] == "*" and statement["Effect"] == "Allow":
                assert allowed_actions(statement) <= unscopable, (role, statement)


# --- Glue --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "worker", "count", "timeout"), [("dev", "G.1X", 2, 120), ("prod", "G.2X", 20, 720)])
def test_one_glue_5_job_per_script_sized_per_environment_under_the_kms_security_configuration(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str, worker: str, count: int, timeout: int
):
    # given
    t = both(data_dev, data_prod, env)
    security = t.logical_id("Glue/SecurityConfiguration")

    # then
    assert len(t.of_type("AWS::Glue::Job")) == len(SCRIPTS)
    for script in SCRIPTS:
        job = t.properties(t.logical_id(f"Glue/{_construct(script)}"))
        assert job["GlueVersion"] == "5.0"
        assert job["Command"]["Name"] == "glueetl"
        assert job["Command"]["PythonVersion"] == "3"
        assert join_text(job["Command"]["ScriptLocation"]).endswith(f"/glue/scripts/{script}.py")
        assert (JOBS_DIR / f"{script}.py").is_file()
        assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == (worker, count, timeout)
        assert job["SecurityConfiguration"] == {"Ref": security}
        assert job["DefaultArguments"]["--custom-logGroup-prefix"] == f"/data-platform/{env}/glue"
        assert join_text(job["DefaultArguments"]["--extra-py-files"]).endswith("/glue/scripts/common.py")
        assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    encryption = t.properties(security)["EncryptionConfiguration"]
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn(t)}]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key_arn(t)}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key_arn(t)}


@pytest.mark.parametrize(
    ("family", "writes"),
    [("Ingest", {"Raw"}), ("Transform", {"Curated", "Quarantine"}), ("Reports", {"Reports"})],
)
def test_each_job_family_writes_only_its_own_zone(data_dev: CfnTemplate, family: str, writes: set[str]):
    # given
    written = {
        ref
        for statement in statements_with(data_dev, f"Glue/{family}Role", "s3:PutObject")
        for ref in references(statement["Resource"])
    }
    buckets = {name: bucket_id(data_dev, name) for name in DATA_BUCKETS}

    # then (the raw bucket's _glue-temp/ prefix is every family's scratch space)
    expected = {buckets[name] for name in writes} | {buckets["Raw"]}
    assert written == expected
    for name in DATA_BUCKETS:
        if name not in writes and name != "Raw":
            assert buckets[name] not in written


# --- Redshift Serverless -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("env", "rpus"), [("dev", 8), ("prod", 32)])
def test_warehouse_is_private_with_enhanced_vpc_routing_and_the_configured_base_capacity(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str, rpus: int
):
    # given
    t = both(data_dev, data_prod, env)
    workgroup = t.properties(t.logical_id("Warehouse/Workgroup"))
    namespace = t.properties(t.logical_id("Warehouse/Namespace"))

    # then
    assert workgroup["BaseCapacity"] == rpus
    assert workgroup["EnhancedVpcRouting"] is True
    assert workgroup["PubliclyAccessible"] is False
    # Redshift Serverless: at least three subnets over three zones (serverless-usage-considerations.html)
    assert len(workgroup["SubnetIds"]) == 3
    assert len({json.dumps(zone_of(t, s)) for s in workgroup["SubnetIds"]}) == 3
    assert {"ParameterKey": "require_ssl", "ParameterValue": "true"} in workgroup["ConfigParameters"]
    assert namespace["KmsKeyId"] == key_arn(t)
    assert "{{resolve:secretsmanager:" in join_text(namespace["AdminUserPassword"])
    copy_role = {"Fn::GetAtt": [t.logical_id("Warehouse/CopyRole"), "Arn"]}
    assert namespace["IamRoles"] == [copy_role]
    assert namespace["DefaultIamRoleArn"] == copy_role


def test_copy_role_only_reads_the_curated_bucket(data_dev: CfnTemplate):
    # when
    touched = {ref for s in statements(data_dev, "Warehouse/CopyRole") for ref in references(s["Resource"])}

    # then
    assert touched == {bucket_id(data_dev, "Curated"), data_dev.logical_id("Encryption/Key")}
    assert not any("s3:PutObject" in allowed_actions(s) for s in statements(data_dev, "Warehouse/CopyRole"))


# --- Event trigger -----------------------------------------------------------------------------------------


def test_the_days_manifest_in_the_landing_bucket_triggers_the_function_with_retries_and_a_dlq(
    data_dev: CfnTemplate,
):
    # given
    rule = data_dev.properties(data_dev.logical_id("Trigger/ManifestLanded"))
    [target] = rule["Targets"]

    # then
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": [{"Ref": bucket_id(data_dev, "Landing")}]},
            "object": {"key": [{"wildcard": "transactions/business_date=*/_SUCCESS"}]},
        },
    }
    assert target["Arn"] == {"Fn::GetAtt": [data_dev.logical_id("Trigger/Function"), "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 6 * 3600}
    assert target["DeadLetterConfig"] == {
        "Arn": {"Fn::GetAtt": [data_dev.logical_id("Trigger/DeadLetterQueue"), "Arn"]}
    }


def test_trigger_function_runs_in_the_private_subnets_and_dead_letters_its_own_failures(data_dev: CfnTemplate):
    # given
    function = data_dev.properties(data_dev.logical_id("Trigger/Function"))
    [invoke_config] = data_dev.of_type("AWS::Lambda::EventInvokeConfig").values()

    # then
    assert (
        function["VpcConfig"]["SubnetIds"]
        == data_dev.properties(data_dev.logical_id("Warehouse/Workgroup"))["SubnetIds"]
    )
    assert function["Handler"] == "trigger_etl_dag.handler.lambda_handler"
    assert (ROOT / "lambdas" / "trigger_etl_dag" / "handler.py").is_file()
    assert function["Environment"]["Variables"]["MWAA_ENVIRONMENT_NAME"] == ENV_NAME
    assert function["Environment"]["Variables"]["DAG_ID"] == "financial_etl_pipeline"
    assert function["DeadLetterConfig"] == {
        "TargetArn": {"Fn::GetAtt": [data_dev.logical_id("Trigger/DeadLetterQueue"), "Arn"]}
    }
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 2
    assert data_dev.properties(data_dev.logical_id("Trigger/DeadLetterQueue"))["KmsMasterKeyId"] == key_arn(data_dev)


def test_trigger_may_invoke_the_rest_api_only_as_this_environments_user_role(data_dev: CfnTemplate):
    # given
    [invoke] = statements_with(data_dev, "Trigger/Role", "airflow:InvokeRestApi")

    # then
    assert allowed_actions(invoke) == {"airflow:InvokeRestApi"}
    assert join_text(invoke["Resource"]).endswith(f":role/{ENV_NAME}/User")


def test_trigger_asset_holds_only_its_own_folder(synth, data_dev: CfnTemplate):
    # given
    function_id = data_dev.logical_id("Trigger/Function")
    asset = synth("dev") / data_dev.resources[function_id]["Metadata"]["aws:asset:path"]

    # then
    assert {p.relative_to(asset).parts[0] for p in asset.rglob("*") if p.is_file()} == {"trigger_etl_dag"}


# --- Monitoring --------------------------------------------------------------------------------------------


def test_alarms_page_the_encrypted_operations_topic(data_dev: CfnTemplate):
    # given
    topic = data_dev.logical_id("Monitoring/OperationsAlerts")
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in data_dev.of_type("AWS::CloudWatch::Alarm").values()
    }

    # then
    assert data_dev.properties(topic)["KmsMasterKeyId"] == key_arn(data_dev)
    assert set(alarms) == {
        "DataPlatform-dev-scheduler-heartbeat",
        "DataPlatform-dev-task-failures",
        "DataPlatform-dev-trigger-errors",
        "DataPlatform-dev-events-dlq-not-empty",
    }
    assert all(a["AlarmActions"] == [{"Ref": topic}] for a in alarms.values())
    heartbeat = alarms["DataPlatform-dev-scheduler-heartbeat"]
    assert (heartbeat["Namespace"], heartbeat["MetricName"]) == ("AmazonMWAA", "SchedulerHeartbeat")
    assert {"Name": "Environment", "Value": ENV_NAME} in heartbeat["Dimensions"]
    assert heartbeat["ComparisonOperator"] == "LessThanThreshold"
    assert heartbeat["TreatMissingData"] == "breaching"
    assert alarms["DataPlatform-dev-task-failures"]["Threshold"] == 3


def test_a_failed_glue_job_run_notifies_operations(data_dev: CfnTemplate):
    # given
    rule = data_dev.properties(data_dev.logical_id("Monitoring/GlueJobFailed"))
    [target] = rule["Targets"]
    job_names = {data_dev.properties(data_dev.logical_id(f"Glue/{_construct(s)}"))["Name"] for s in SCRIPTS}

    # then
    assert rule["EventPattern"]["source"] == ["aws.glue"]
    assert rule["EventPattern"]["detail-type"] == ["Glue Job State Change"]
    assert set(rule["EventPattern"]["detail"]["jobName"]) == job_names
    assert set(rule["EventPattern"]["detail"]["state"]) == {"FAILED", "TIMEOUT", "ERROR", "STOPPED"}
    assert target["Arn"] == {"Ref": data_dev.logical_id("Monitoring/OperationsAlerts")}
    assert "DeadLetterConfig" in target


def test_one_dashboard_shows_the_pipeline(data_dev: CfnTemplate):
    [dashboard] = data_dev.of_type("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == "DataPlatform-dev-pipeline"
    body = join_text(dashboard["Properties"]["DashboardBody"])
    for metric in ("SchedulerHeartbeat", "TaskInstanceFailures", "MatchedEvents", "glue.driver.aggregate"):
        assert metric in body


def test_key_policy_admits_alarms_and_rules_only_by_this_platforms_name_prefix(data_dev: CfnTemplate):
    # given
    statements_by_sid = {
        s.get("Sid"): s for s in data_dev.properties(data_dev.logical_id("Encryption/Key"))["KeyPolicy"]["Statement"]
    }
    rules = [r["Properties"]["Name"] for r in data_dev.of_type("AWS::Events::Rule").values()]

    # then
    assert join_text(
        statements_by_sid["AllowCloudWatchAlarmsOfThisPlatform"]["Condition"]["ArnLike"]["aws:SourceArn"]
    ).endswith(":alarm:DataPlatform-dev-*")
    assert join_text(
        statements_by_sid["AllowEventBridgeRulesOfThisPlatform"]["Condition"]["ArnLike"]["aws:SourceArn"]
    ).endswith(":rule/DataPlatform-dev-*")
    assert all(name.startswith("DataPlatform-dev-") for name in rules)


def test_outputs_tell_an_operator_where_to_upload_and_what_to_watch(data_dev: CfnTemplate):
    assert {"MwaaEnvironmentName", "LandingBucketName", "DashboardName", "OperationsTopicArn"} <= set(
        data_dev.data["Outputs"]
    )
