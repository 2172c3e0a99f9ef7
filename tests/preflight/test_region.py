"""Availability Zones for Redshift Serverless and MWAA, and whether their APIs answer in the region."""

from __future__ import annotations

import boto3
from botocore.config import Config

from preflight.checks import check_availability_zones, check_mwaa_region, check_redshift_serverless_region
from tests.preflight.conftest import CREDENTIALS, REGION, stubbed

REASON = "Redshift Serverless needs subnets in three AZs"


def test_region_with_three_zones_is_ok_for_redshift_serverless(ec2):
    # given moto's eu-west-1 (three zones)
    result = check_availability_zones(ec2, region=REGION, required=3, reason=REASON)
    assert result.status == "ok"
    assert result.detail.startswith("3 in eu-west-1")


def test_region_with_two_zones_is_a_fix_naming_the_documented_exception(ec2):
    # given moto's us-west-1 (two zones)
    us_west_1 = boto3.client("ec2", region_name="us-west-1", **CREDENTIALS)
    result = check_availability_zones(us_west_1, region="us-west-1", required=3, reason=REASON)
    assert result.status == "fix"
    assert "only 2 available" in result.detail
    assert "documented exception" in result.detail
    assert "serverless-usage-considerations" in result.detail


def test_zones_not_opted_in_local_zones_and_impaired_zones_do_not_count():
    ec2, stub = stubbed("ec2")
    zones = [
        {"ZoneName": "r-1a", "ZoneId": "r1-az1", "State": "available", "ZoneType": "availability-zone"},
        {"ZoneName": "r-1b", "ZoneId": "r1-az2", "State": "impaired", "ZoneType": "availability-zone"},
        {"ZoneName": "r-1-lz-1a", "ZoneId": "r1-lz1", "State": "available", "ZoneType": "local-zone"},
        {
            "ZoneName": "r-1c",
            "ZoneId": "r1-az3",
            "State": "available",
            "ZoneType": "availability-zone",
            "OptInStatus": "not-opted-in",
        },
        {"ZoneName": "r-1d", "ZoneId": "r1-az4", "State": "available", "ZoneType": "availability-zone"},
    ]
    stub.add_response("describe_availability_zones", {"AvailabilityZones": zones})
    with stub:
        result = check_availability_zones(ec2, region="r-1", required=3, reason=REASON)
    assert result.status == "fix"
    assert "only 2 available" in result.detail


def test_mwaa_answering_in_the_region_is_ok():
    mwaa, stub = stubbed("mwaa")
    stub.add_response("list_environments", {"Environments": ["financial-etl-prod"]})
    with stub:
        result = check_mwaa_region(mwaa, region=REGION)
    assert result.status == "ok"
    assert "1 in the region" in result.detail


def _unreachable(service: str):
    # A closed local port stands in for a region without the service's endpoint: the connection fails.
    return boto3.client(
        service,
        region_name=REGION,
        endpoint_url="http://127.0.0.1:9",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
        **CREDENTIALS,
    )


def test_mwaa_without_an_endpoint_in_the_region_is_a_fix():
    result = check_mwaa_region(_unreachable("mwaa"), region=REGION)
    assert result.status == "fix"
    assert "MWAA has no endpoint in eu-west-1" in result.detail


def test_redshift_serverless_answering_is_ok_and_its_absence_a_fix():
    client, stub = stubbed("redshift-serverless")
    stub.add_response("list_workgroups", {"workgroups": []})
    with stub:
        assert check_redshift_serverless_region(client, region=REGION).status == "ok"
    assert check_redshift_serverless_region(_unreachable("redshift-serverless"), region=REGION).status == "fix"
