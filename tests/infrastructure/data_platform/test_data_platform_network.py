"""The network options cdk.json does not switch on (an existing VPC, interface endpoints), on the construct alone."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from stacks.config import load_environment
from stacks.data_platform.network import DataPlatformNetwork
from tests.infrastructure.data_platform.test_data_platform_config import ACCOUNT, EXISTING_VPC
from tests.infrastructure.test_config import context_for


def test_an_existing_vpc_is_joined_by_id_with_its_two_subnets_and_optional_interface_endpoints():
    # given
    network_config = load_environment(
        context_for(
            "dev",
            **{
                "dataPlatform.network.existingVpc": EXISTING_VPC,
                "dataPlatform.network.interfaceEndpoints": ["airflow.env", "sqs"],
            },
        ),
        ACCOUNT,
    ).data_platform.network
    stack = cdk.Stack(cdk.App(), "Network", env=cdk.Environment(account="111122223333", region="eu-west-1"))

    # when
    network = DataPlatformNetwork(
        stack,
        "Network",
        network=network_config,
        flow_log_group_name="/data-platform/dev/vpc-flow-logs",
        log_retention=logs.RetentionDays.TWO_WEEKS,
        encryption_key=kms.Key(stack, "Key"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
    )
    template = Template.from_stack(stack)

    # then no VPC, subnet, NAT or flow log is created, and the platform's subnets are the two given
    for resource_type in ("AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::NatGateway", "AWS::EC2::FlowLog"):
        template.resource_count_is(resource_type, 0)
    assert stack.resolve(network.private_subnets.subnet_ids) == EXISTING_VPC["subnetIds"]
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    assert sorted(e["Properties"]["ServiceName"] for e in endpoints.values()) == [
        "com.amazonaws.eu-west-1.airflow.env",
        "com.amazonaws.eu-west-1.sqs",
    ]
    group = {"Fn::GetAtt": [stack.resolve(network.security_group.node.default_child.logical_id), "GroupId"]}
    for endpoint in endpoints.values():
        assert endpoint["Properties"]["VpcId"] == EXISTING_VPC["vpcId"]
        assert endpoint["Properties"]["SubnetIds"] == EXISTING_VPC["subnetIds"]
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert endpoint["Properties"]["SecurityGroupIds"] == [group]
