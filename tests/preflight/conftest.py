"""Offline AWS for the preflight checks: botocore Stubber for the read calls moto lacks, moto for EC2."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from stacks.config import EnvironmentConfig, load_environment
from tests.conftest import cdk_json_context

REGION = "eu-west-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version"


def stubbed(service: str, region: str = REGION) -> tuple[Any, Stubber]:
    """A client whose every call must have been queued on its Stubber; nothing leaves the machine."""
    client = boto3.client(service, region_name=region, **CREDENTIALS)
    return client, Stubber(client)


def stack(name: str, status: str = "CREATE_COMPLETE", outputs: dict[str, str] | None = None) -> dict[str, Any]:
    """A DescribeStacks answer for one stack."""
    return {
        "Stacks": [
            {
                "StackName": name,
                "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
                "StackStatus": status,
                "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in (outputs or {}).items()],
            }
        ]
    }


def no_such_stack(stubber: Stubber, name: str) -> None:
    stubber.add_client_error(
        "describe_stacks",
        service_error_code="ValidationError",
        service_message=f"Stack with id {name} does not exist",
        http_status_code=400,
        expected_params={"StackName": name},
    )


def parameter(name: str, value: str) -> dict[str, Any]:
    return {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 1}}


def no_such_parameter(stubber: Stubber, name: str) -> None:
    stubber.add_client_error(
        "get_parameter", service_error_code="ParameterNotFound", http_status_code=400, expected_params={"Name": name}
    )


def quota(service_code: str, code: str, name: str, value: float) -> dict[str, Any]:
    return {"Quota": {"ServiceCode": service_code, "QuotaCode": code, "QuotaName": name, "Value": value}}


@pytest.fixture
def dev_config() -> EnvironmentConfig:
    """The dev environment exactly as cdk.json configures it, with no account or region pinned."""
    return load_environment({"env": "dev", "environments": cdk_json_context()["environments"]}, {})


@pytest.fixture
def ec2() -> Iterator[Any]:
    """EC2 on moto: real AZ lists per region, one default VPC, nothing else."""
    with mock_aws():
        yield boto3.client("ec2", region_name=REGION, **CREDENTIALS)
