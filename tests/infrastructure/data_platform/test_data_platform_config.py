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
    "subnetIds": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
    "availabilityZones": ["eu-west-1a", "eu-west-1b"],
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
        ("dataPlatform.network.natGateways", 3, "dataPlatform.network.natGateways must be an integer <= 2"),
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


def test_an_existing_vpc_with_two_subnets_in_two_zones_is_read():
    # when
    network = load("dev", environ=ACCOUNT, **{"dataPlatform.network.existingVpc": EXISTING_VPC}).data_platform.network

    # then
    assert network.existing is not None
    assert network.existing.vpc_id == "vpc-0123456789abcdef0"
    assert network.existing.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0fedcba9876543210")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"subnetIds": ["subnet-0123456789abcdef0"]}, "subnetIds must be two subnet ids"),
        ({"availabilityZones": ["eu-west-1a", "eu-west-1a"]}, "availabilityZones must name two different zones"),
        ({"vpcId": "my-vpc"}, "vpcId must be a VPC id"),
    ],
)
def test_an_existing_vpc_needs_two_subnets_in_two_different_zones(change: dict, message: str):
    with pytest.raises(ConfigError, match=f"^environments.dev.dataPlatform.network.existingVpc.{message}"):
        load("dev", environ=ACCOUNT, **{"dataPlatform.network.existingVpc": {**EXISTING_VPC, **change}})


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
