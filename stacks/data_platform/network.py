"""The network MWAA, Glue and Redshift Serverless run in: a new two-AZ VPC, or an existing VPC from config."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import NetworkConfig


class DataPlatformNetwork(Construct):
    """Exactly two private subnets in two AZs, one self-referencing security group, flow logs.

    A new VPC has NAT egress (`nat_gateways` of them), an S3 gateway endpoint and, when configured, interface
    endpoints for a network without internet egress. An existing VPC is used as is (by id, no lookup).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: NetworkConfig,
        flow_log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if network.existing is not None:
            self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
                self,
                "Vpc",
                vpc_id=network.existing.vpc_id,
                availability_zones=list(network.existing.availability_zones),
                private_subnet_ids=list(network.existing.subnet_ids),
            )
            self.flow_log_group: logs.LogGroup | None = None
        else:
            self.flow_log_group = logs.LogGroup(
                self,
                "FlowLogs",
                log_group_name=flow_log_group_name,
                retention=log_retention,
                encryption_key=encryption_key,
                removal_policy=removal_policy,
            )
            vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(network.vpc_cidr),
                # Environment-agnostic: Fn::GetAZs at deploy time. With an explicit region, zones a and b are
                # named, because Stack.availability_zones would need a context lookup (credentials) at synth.
                **_zones(self, network.max_azs),
                nat_gateways=network.nat_gateways,
                subnet_configuration=[
                    ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                    ec2.SubnetConfiguration(
                        name="private",
                        subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                        if network.nat_gateways
                        else ec2.SubnetType.PRIVATE_ISOLATED,
                        cidr_mask=20,
                    ),
                ],
                restrict_default_security_group=False,
                gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
                flow_logs={
                    "All": ec2.FlowLogOptions(
                        destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
                        traffic_type=ec2.FlowLogTrafficType.ALL,
                    )
                },
            )
            self.vpc = vpc
        self.private_subnets = self.vpc.select_subnets(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            if network.existing is None and not network.nat_gateways
            else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=self.vpc,
            description="MWAA, Glue, Redshift Serverless and the trigger function: traffic among themselves only",
            allow_all_outbound=True,
        )
        # Self-referencing: MWAA's components, Glue's workers and Redshift talk to each other; nothing else in.
        self.security_group.add_ingress_rule(
            self.security_group, ec2.Port.all_traffic(), "Members of the data platform reach each other"
        )
        for service in network.interface_endpoints:
            self.vpc.add_interface_endpoint(
                "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=ec2.SubnetSelection(subnets=self.private_subnets.subnets),
                security_groups=[self.security_group],
                private_dns_enabled=True,
                # Reachable from the platform's own security group (self-referencing), not the whole VPC CIDR.
                open=False,
            )


def _zones(scope: Construct, count: int) -> dict:
    region = Stack.of(scope).region
    if Token.is_unresolved(region):
        return {"max_azs": count}
    return {"availability_zones": [f"{region}{letter}" for letter in "abcdef"[:count]]}
