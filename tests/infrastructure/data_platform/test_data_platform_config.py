"""stacks/config.py, dataPlatform block: cdk.json loads, every bad value is named by its key path."""

from __future__ import annotations

import re
from typing import Any

import pytest

from stacks.config import SUPPORTED_AIRFLOW_VERSIONS, ConfigError
from tests.infrastructure.test_config import _DELETE, load

ACCOUNT = {"CDK_DEFAULT_ACCOUNT": "111122223333", "CDK_DEFAULT_REGION": "eu-west-1"}
EXISTING_VPC = {
    "vpcId": "vpc-0123456789abcdef0",
    "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210", "subnet-0aaaabbbbccccdddd"],
    "availabilityZones": ["eu-west-1a", "eu-west-1b", "eu-west-1c"],
}
# Two subnets are enough for MWAA alone: the warehouse is an existing workgroup.
MWAA_ONLY = {
    "dataPlatform.network.existingVpc": {
        **EXISTING_VPC,
        "subnetIds": EXISTING_VPC["subnetIds"][:2],
        "availabilityZones": EXISTING_VPC["availabilityZones"][:2],
    },
    "dataPlatform.warehouse.existingWorkgroupName": "finance",
}


def test_dev_and_prod_data_platforms_from_cdk_json_differ_in_size_and_protection():
    # when
    dev, prod = load("dev").data_platform, load("prod").data_platform

    # then
    assert dev.airflow.version == prod.airflow.version == "3.3.1"
    assert (dev.airflow.environment_class, prod.airflow.environment_class) == ("mw1.small", "mw1.medium")
    assert (dev.network.nat_gateways, prod.network.nat_gateways) == (1, 2)
    assert (dev.warehouse.base_capacity_rpus, prod.warehouse.base_capacity_rpus) == (8, 32)
    assert (dev.reports_retention_years, prod.reports_retention_years) == (None, 7)
    assert dev.airflow.webserver_access_mode == prod.airflow.webserver_access_mode == "PRIVATE_ONLY"
    assert dev.network.existing is None


def test_airflow_version_must_be_one_the_project_ships_constraints_for():
    with pytest.raises(
        ConfigError,
        match="^"
        + re.escape(
            f"environments.dev.dataPlatform.airflow.version must be an Airflow version this project supports "
            f"{list(SUPPORTED_AIRFLOW_VERSIONS)}, got '2.10.3'"
        ),
    ):
        load("dev", **{"dataPlatform.airflow.version": "2.10.3"})


def test_airflow_version_defaults_to_331():
    assert load("dev", **{"dataPlatform.airflow.version": _DELETE}).data_platform.airflow.version == "3.3.1"


@pytest.mark.parametrize(
    ("dotted_key", "value", "message"),
    [
        ("dataPlatform.airflow.environmentClass", "mw2.huge", "dataPlatform.airflow.environmentClass must be one of"),
        ("dataPlatform.airflow.webserverAccessMode", "OPEN", "dataPlatform.airflow.webserverAccessMode must be one of"),
        ("dataPlatform.airflow.maxWorkers", 26, "dataPlatform.airflow.maxWorkers must be an integer <= 25"),
        (
            "dataPlatform.airflow.weeklyMaintenanceWindowStart",
            "SUNDAY 3am",
            'dataPlatform.airflow.weeklyMaintenanceWindowStart must be a UTC day and half hour such as "SUN:03:00"',
        ),
        ("dataPlatform.airflow.catchupByDefault", "no", "dataPlatform.airflow.catchupByDefault must be true or false"),
        ("dataPlatform.network.vpcCidr", "10.0.0.0/8", "dataPlatform.network.vpcCidr must be an IPv4 CIDR block"),
        ("dataPlatform.network.natGateways", 4, "dataPlatform.network.natGateways must be an integer <= 3"),
        (
            "dataPlatform.network.availabilityZones",
            ["eu-west-1a", "eu-west-1b"],
            "dataPlatform.network.availabilityZones must be 3 different zone names of the region",
        ),
        ("dataPlatform.network.interfaceEndpoints", ["ftp"], "dataPlatform.network.interfaceEndpoints must be a list"),
        ("dataPlatform.glue.workerType", "Standard", "dataPlatform.glue.workerType must be one of"),
        ("dataPlatform.glue.timeoutMinutes", 0, "dataPlatform.glue.timeoutMinutes must be an integer >= 1"),
        (
            "dataPlatform.warehouse.baseCapacityRpus",
            12,
            "dataPlatform.warehouse.baseCapacityRpus must be a multiple of 8",
        ),
        ("dataPlatform.warehouse.databaseName", "Finance!", "dataPlatform.warehouse.databaseName must be a lower-case"),
        ("dataPlatform.rawTransitionDays", 7, "dataPlatform.rawTransitionDays must be an integer >= 30"),
        ("dataPlatform.reportsObjectLockYears", 0, "dataPlatform.reportsObjectLockYears must be an integer >= 1"),
        ("dataPlatform.alarms.periodMinutes", 0, "dataPlatform.alarms.periodMinutes must be an integer >= 1"),
    ],
)
def test_a_wrong_data_platform_value_fails_with_its_key_path(dotted_key: str, value: Any, message: str):
    with pytest.raises(ConfigError, match="^" + re.escape(f"environments.prod.{message}")):
        load("prod", **{dotted_key: value})


def test_max_workers_below_min_workers_is_rejected():
    with pytest.raises(ConfigError, match=r"^environments.dev.dataPlatform.airflow.maxWorkers must be >= minWorkers"):
        load("dev", **{"dataPlatform.airflow.minWorkers": 3, "dataPlatform.airflow.maxWorkers": 2})


@pytest.mark.parametrize(
    "dotted_key", ["dataPlatform", "dataPlatform.glue.workerType", "dataPlatform.airflow.schedulers"]
)
def test_a_missing_data_platform_value_fails_with_its_key_path(dotted_key: str):
    with pytest.raises(ConfigError, match=f"^environments.dev.{re.escape(dotted_key)} is missing$"):
        load("dev", **{dotted_key: _DELETE})


def test_a_misspelt_data_platform_key_is_rejected_rather_than_ignored():
    with pytest.raises(ConfigError, match=r"^environments.dev.dataPlatform.glue has unknown keys \['workers'\]"):
        load("dev", **{"dataPlatform.glue.workers": 5})


def test_an_existing_vpc_needs_an_explicit_account_and_region_and_synth_says_so():
    with pytest.raises(
        ConfigError,
        match=r"^environments.dev.dataPlatform.network.existingVpc needs an explicit account and region: "
        r"export CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION",
    ):
        load("dev", **{"dataPlatform.network.existingVpc": EXISTING_VPC})


def test_an_existing_vpc_with_three_subnets_in_three_zones_is_read():
    # when
    network = load("dev", environ=ACCOUNT, **{"dataPlatform.network.existingVpc": EXISTING_VPC}).data_platform.network

    # then
    assert network.existing is not None
    assert network.existing.vpc_id == "vpc-0123456789abcdef0"
    assert network.existing.subnet_ids == tuple(EXISTING_VPC["subnetIds"])
    assert network.existing.availability_zones == tuple(EXISTING_VPC["availabilityZones"])


def test_an_existing_vpc_with_two_subnets_serves_mwaa_when_the_warehouse_is_an_existing_workgroup():
    # when
    platform = load("dev", environ=ACCOUNT, **MWAA_ONLY).data_platform

    # then
    assert platform.network.existing is not None
    assert len(platform.network.existing.subnet_ids) == 2
    assert platform.warehouse.existing_workgroup_name == "finance"


@pytest.mark.parametrize(
    ("subnets", "zones"),
    [
        (EXISTING_VPC["subnetIds"][:2], EXISTING_VPC["availabilityZones"][:2]),
        (EXISTING_VPC["subnetIds"], ["eu-west-1a", "eu-west-1b", "eu-west-1a"]),
    ],
)
def test_a_new_workgroup_in_an_existing_vpc_without_three_zones_is_refused_naming_the_keys(subnets, zones):
    # given subnets over two zones only, and a new Redshift Serverless workgroup
    vpc = {**EXISTING_VPC, "subnetIds": subnets, "availabilityZones": zones}

    # then synth is refused before AWS would refuse the workgroup
    with pytest.raises(ConfigError) as refused:
        load("dev", environ=ACCOUNT, **{"dataPlatform.network.existingVpc": vpc})
    message = str(refused.value)
    assert message.startswith(
        "environments.dev.dataPlatform.network.existingVpc.subnetIds must include subnets in 3 different "
        "availability zones for the new Redshift Serverless workgroup"
    )
    assert "serverless-usage-considerations.html" in message
    assert "environments.dev.dataPlatform.warehouse.existingWorkgroupName" in message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"subnetIds": ["subnet-0123456789abcdef0"]}, "subnetIds must be 2 to 16 private subnet ids"),
        ({"availabilityZones": ["eu-west-1a", "eu-west-1b"]}, "availabilityZones must be the zone of each subnet"),
        (
            {"availabilityZones": ["eu-west-1a", "eu-west-1a", "eu-west-1b"]},
            "availabilityZones: MWAA's two subnets (the first two of subnetIds) must be in two different zones",
        ),
        (
            {"availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]},
            "availabilityZones must be zones of eu-west-1",
        ),
        ({"subnetIds": [EXISTING_VPC["subnetIds"][0]] * 3}, "subnetIds must not repeat a subnet"),
        ({"vpcId": "my-vpc"}, "vpcId must be a VPC id"),
        ({"interfaceEndpointsPresent": ["ftp"]}, "interfaceEndpointsPresent must be a list"),
    ],
)
def test_an_existing_vpc_that_cannot_work_is_refused_naming_the_key(change: dict, message: str):
    with pytest.raises(ConfigError, match=f"^environments.dev.dataPlatform.network.existingVpc.{re.escape(message)}"):
        load("dev", environ=ACCOUNT, **{"dataPlatform.network.existingVpc": {**EXISTING_VPC, **change}})


@pytest.mark.parametrize(
    ("mode", "configured", "present", "created"),
    [
        ("PRIVATE_ONLY", [], [], ("airflow.env",)),
        ("PRIVATE_ONLY", ["sqs"], [], ("sqs", "airflow.env")),
        ("PRIVATE_ONLY", ["airflow.env", "logs"], [], ("airflow.env", "logs")),
        ("PUBLIC_ONLY", [], [], ()),
        ("PUBLIC_ONLY", ["airflow.env"], [], ("airflow.env",)),
        ("PRIVATE_ONLY", ["sqs"], ["airflow.env"], ("sqs",)),
    ],
)
def test_a_private_webserver_always_gets_the_airflow_env_endpoint_unless_the_vpc_has_it(
    mode: str, configured: list, present: list, created: tuple
):
    # given
    overrides = {
        "dataPlatform.airflow.webserverAccessMode": mode,
        "dataPlatform.network.interfaceEndpoints": configured,
    }
    if present:
        overrides["dataPlatform.network.existingVpc"] = {**EXISTING_VPC, "interfaceEndpointsPresent": present}

    # then
    assert load("dev", environ=ACCOUNT, **overrides).data_platform.interface_endpoints == created


def test_an_endpoint_both_configured_and_present_in_the_vpc_is_refused():
    with pytest.raises(ConfigError, match=r"^environments.dev.dataPlatform.network.interfaceEndpoints lists \['sqs'\]"):
        load(
            "dev",
            environ=ACCOUNT,
            **{
                "dataPlatform.network.interfaceEndpoints": ["sqs"],
                "dataPlatform.network.existingVpc": {**EXISTING_VPC, "interfaceEndpointsPresent": ["sqs"]},
            },
        )


def test_a_new_vpc_takes_three_named_zones_of_the_region_when_configured():
    # when
    network = load(
        "dev", environ=ACCOUNT, **{"dataPlatform.network.availabilityZones": ["eu-west-1a", "eu-west-1c", "eu-west-1b"]}
    ).data_platform.network

    # then
    assert network.availability_zones == ("eu-west-1a", "eu-west-1c", "eu-west-1b")


@pytest.mark.parametrize(
    ("zones", "message"),
    [
        (["eu-west-1a", "eu-west-1a", "eu-west-1b"], "availabilityZones must name 3 different zones"),
        (["us-east-1a", "us-east-1b", "us-east-1c"], "availabilityZones must be zones of eu-west-1"),
    ],
)
def test_named_zones_of_a_new_vpc_are_three_different_zones_of_the_region(zones: list, message: str):
    with pytest.raises(ConfigError, match=f"^environments.dev.dataPlatform.network.{message}"):
        load("dev", environ=ACCOUNT, **{"dataPlatform.network.availabilityZones": zones})


@pytest.mark.parametrize("mode", ["PRIVATE_ONLY", "PUBLIC_ONLY"])
def test_webserver_access_mode_is_chosen_per_environment_and_defaults_to_private(mode: str):
    # then
    assert (
        load("dev", **{"dataPlatform.airflow.webserverAccessMode": mode}).data_platform.airflow.webserver_access_mode
        == mode
    )
    assert (
        load("dev", **{"dataPlatform.airflow.webserverAccessMode": _DELETE}).data_platform.airflow.webserver_access_mode
        == "PRIVATE_ONLY"
    )
