"""Quotas a first deploy hits: usage from EC2/MWAA, the quota from Service Quotas, its default as a fallback."""

from __future__ import annotations

import boto3

from preflight import checks
from preflight.checks import ELASTIC_IPS, MWAA_ENVIRONMENTS, NAT_GATEWAYS_PER_AZ, VPCS, check_quota
from tests.preflight.conftest import CREDENTIALS, REGION, quota, stubbed


def _quota_client(*answers):
    client, stub = stubbed("service-quotas")
    for operation, response in answers:
        if isinstance(response, str):
            stub.add_client_error(operation, service_error_code=response, http_status_code=400)
        else:
            stub.add_response(operation, response)
    return client, stub


def test_room_under_the_vpc_quota_is_ok():
    client, stub = _quota_client(("get_service_quota", quota("vpc", "L-F678F1CE", "VPCs per Region", 5.0)))
    with stub:
        result = check_quota(client, VPCS, usage=3, needed=1, needed_for="DataPlatform-dev")
    assert result.status == "ok"
    assert "3 in use + 1 for DataPlatform-dev = 4 <= 5 (applied; vpc/L-F678F1CE)" in result.detail


def test_a_full_vpc_quota_is_a_fix_with_the_increase_command():
    # given five VPCs in use of five
    client, stub = _quota_client(("get_service_quota", quota("vpc", "L-F678F1CE", "VPCs per Region", 5.0)))
    with stub:
        result = check_quota(client, VPCS, usage=5, needed=1, needed_for="DataPlatform-dev")
    # then the fix says so and how to ask for more
    assert result.status == "fix"
    assert "= 6 > 5" in result.detail
    assert "--service-code vpc --quota-code L-F678F1CE --desired-value 6" in result.detail


def test_elastic_ips_for_the_nat_gateways_beyond_the_quota_is_a_fix_and_the_unconfirmed_code_is_named():
    # given 4 of 5 Elastic IPs used and two NAT gateways to come; the account knows no applied value
    client, stub = _quota_client(
        ("get_service_quota", "NoSuchResourceException"),
        ("get_aws_default_service_quota", quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5.0)),
    )
    with stub:
        result = check_quota(client, ELASTIC_IPS, usage=4, needed=2, needed_for="DataPlatform-prod")
    assert result.status == "fix"
    assert "AWS default" in result.detail
    assert "code not confirmed by AWS docs; the account names it 'EC2-VPC Elastic IPs'" in result.detail


def test_unreadable_quota_falls_back_to_the_documented_default():
    client, stub = _quota_client(("get_service_quota", "AccessDeniedException"))
    with stub:
        result = check_quota(client, NAT_GATEWAYS_PER_AZ, usage=0, needed=1, needed_for="DataPlatform-dev")
    assert result.status == "ok"
    assert "documented default" in result.detail


def test_unreadable_quota_without_a_documented_default_is_a_fix():
    client, stub = _quota_client(("get_service_quota", "AccessDeniedException"))
    with stub:
        result = check_quota(client, ELASTIC_IPS, usage=0, needed=1, needed_for="DataPlatform-dev")
    assert result.status == "fix"
    assert "could not read the quota" in result.detail


def test_mwaa_environments_quota_is_found_by_name_then_read():
    client, stub = _quota_client(
        (
            "list_service_quotas",
            {
                "Quotas": [
                    {"ServiceCode": "airflow", "QuotaCode": "L-AAAA1111", "QuotaName": "Workers per environment"},
                    {"ServiceCode": "airflow", "QuotaCode": "L-BBBB2222", "QuotaName": "Environments"},
                ]
            },
        ),
        ("get_service_quota", quota("airflow", "L-BBBB2222", "Environments", 10.0)),
    )
    with stub:
        full = check_quota(client, MWAA_ENVIRONMENTS, usage=10, needed=1, needed_for="DataPlatform-dev")
    assert full.status == "fix"
    assert "airflow/L-BBBB2222" in full.detail


def test_usage_is_counted_from_the_account(ec2):
    # given moto's default VPC, two allocated addresses and a NAT gateway in eu-west-1a and two in eu-west-1b
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for zone, cidr in (("eu-west-1a", "172.31.200.0/24"), ("eu-west-1b", "172.31.201.0/24"))
    }
    for zone in ("eu-west-1a", "eu-west-1b", "eu-west-1b"):
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(SubnetId=subnets[zone], AllocationId=allocation)
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway")
    # then
    assert checks.count_vpcs(ec2) == 1
    assert checks.count_elastic_ips(ec2) == 3
    assert checks.max_nat_gateways_in_one_zone(ec2) == 2
    assert checks.count_gateway_endpoints(ec2) == 1
    assert checks.count_internet_gateways(boto3.client("ec2", region_name=REGION, **CREDENTIALS)) == 0
