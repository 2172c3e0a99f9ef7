"""The network options cdk.json does not switch on (an existing VPC, interface endpoints), on the construct alone."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from stacks.config import load_environment
from stacks.data_platform.network import DataPlatformNetwork
from stacks.data_platform_stack import DataPlatformStack
from tests.conftest import cdk_json_context
from tests.infrastructure.data_platform.test_data_platform_config import ACCOUNT, EXISTING_VPC
from tests.infrastructure.test_config import context_for


def test_an_existing_vpc_is_joined_by_id_with_its_subnets_and_the_interface_endpoints_it_lacks():
    # given
    platform = load_environment(
        context_for(
            "dev",
            **{
                "dataPlatform.network.existingVpc": {**EXISTING_VPC, "interfaceEndpointsPresent": ["logs"]},
                "dataPlatform.network.interfaceEndpoints": ["sqs"],
            },
        ),
        ACCOUNT,
    ).data_platform
    stack = cdk.Stack(cdk.App(), "Network", env=cdk.Environment(account="111122223333", region="eu-west-1"))

    # when
    network = DataPlatformNetwork(
        stack,
        "Network",
        network=platform.network,
        interface_endpoints=platform.interface_endpoints,
        flow_log_group_name="/data-platform/dev/vpc-flow-logs",
        log_retention=logs.RetentionDays.TWO_WEEKS,
        encryption_key=kms.Key(stack, "Key"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)

    # then no VPC, subnet, NAT or flow log is created; the platform's subnets are the three given, MWAA's the first two
    for resource_type in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::EC2::FlowLog"):
        template.resource_count_is(resource_type, 0)
    assert stack.resolve(network.private_subnets.subnet_ids) == EXISTING_VPC["subnetIds"]
    assert stack.resolve(network.mwaa_subnets.subnet_ids) == EXISTING_VPC["subnetIds"][:2]
    # and the endpoints are the configured one plus the private webserver's, not the one the VPC has
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    assert sorted(e["Properties"]["ServiceName"] for e in endpoints.values()) == [
        "com.amazonaws.eu-west-1.airflow.env",
        "com.amazonaws.eu-west-1.sqs",
    ]
    group = {"Fn::GetAtt": [stack.resolve(network.security_group.node.default_child.logical_id), "GroupId"]}
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["VpcId"] == EXISTING_VPC["vpcId"]
        assert endpoint["Properties"]["SubnetIds"] == EXISTING_VPC["subnetIds"][:2]
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [group]


def _synth_data_platform(environ: dict, **overrides: object) -> dict:
    """DataPlatform-dev's template built the way app.py builds it, with `environ` as CDK_DEFAULT_*."""
    config = load_environment(context_for("dev", **overrides), environ)
    app = cdk.App(context=cdk_json_context())  # the feature flags of cdk.json
    env = cdk.Environment(account=config.account, region=config.region)
    stack = DataPlatformStack(app, config.data_platform_stack_name, config=config, env=env)
    assembly = app.synth()
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    assert not manifest.get("missing"), f"synth needed a context lookup: {manifest['missing']}"
    return assembly.get_stack_by_name(stack.stack_name).template


def test_a_stack_with_an_account_and_region_still_takes_three_zones_at_deploy_time_without_a_lookup():
    # when
    template = _synth_data_platform(ACCOUNT)

    # then
    zones = {
        json.dumps(r["Properties"]["AvailabilityZone"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::EC2::Subnet"
    }
    assert zones == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)}


def test_configured_zone_names_are_the_vpcs_three_zones():
    # when
    template = _synth_data_platform(
        ACCOUNT, **{"dataPlatform.network.availabilityZones": ["eu-west-1c", "eu-west-1a", "eu-west-1b"]}
    )

    # then
    zones = [
        r["Properties"]["AvailabilityZone"] for r in template["Resources"].values() if r["Type"] == "AWS::EC2::Subnet"
    ]
    assert sorted(set(zones)) == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    assert len(zones) == 6
