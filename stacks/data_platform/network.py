"""The network MWAA, Glue and Redshift Serverless run in: a new three-AZ VPC, or an existing VPC from config."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.config import NetworkConfig


class DataPlatformNetwork(Construct):
    """Private subnets in three AZs, one self-referencing security group, flow logs.

    `private_subnets` are all of them (the warehouse, which needs three AZs, and the trigger function);
    `mwaa_subnets` are exactly two of them in two AZs (MWAA's rule). A new VPC has NAT egress (`nat_gateways` of
    them), an S3 gateway endpoint and the `interface_endpoints` asked for; an existing VPC is used as is (by id,
    no lookup), with the interface endpoints it lacks.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        network: NetworkConfig,
        interface_endpoints: Sequence[str],
        flow_log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        if network.existing is not None:
            existing = network.existing
            self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
                self, "Vpc", vpc_id=existing.vpc_id, availability_zones=sorted(set(existing.availability_zones))
            )
            subnets = [
                ec2.Subnet.from_subnet_attributes(self, f"Subnet{index}", subnet_id=subnet_id, availability_zone=zone)
                for index, (subnet_id, zone) in enumerate(
                    zip(existing.subnet_ids, existing.availability_zones, strict=True)
                )
            ]
            self.private_subnets = self.vpc.select_subnets(subnets=subnets)
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
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(network.vpc_cidr),
                # Three zones: the configured names, or else the stack's (DataPlatformStack.availability_zones:
                # Fn::GetAZs at deploy time, never names guessed at synth).
                **(
                    {"availability_zones": list(network.availability_zones)}
                    if network.availability_zones
                    else {"max_azs": network.max_azs}
                ),
                nat_gateways=network.nat_gateways,
                subnet_configuration=[
                    # The public subnets hold only the NAT gateways, which bring their own Elastic IPs: nothing there
                    # gets a public address by default (Control Tower CT.EC2.PR.11).
                    ec2.SubnetConfiguration(
                        name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24, map_public_ip_on_launch=False
                    ),
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
            self.private_subnets = self.vpc.select_subnets(
                subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS
                if network.nat_gateways
                else ec2.SubnetType.PRIVATE_ISOLATED
            )
        # A new VPC lists one subnet per zone; an existing VPC's first two are MWAA's (config checks their zones).
        self.mwaa_subnets = self.vpc.select_subnets(subnets=list(self.private_subnets.subnets[: network.mwaa_subnets]))
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
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for service in interface_endpoints:
            # In MWAA's two zones (one subnet per zone, as an endpoint requires): with private DNS, callers in the
            # third zone resolve the same endpoint; two zones keep it available at two thirds of the hourly price.
            self.interface_endpoints[service] = self.vpc.add_interface_endpoint(
                "".join(part.capitalize() for part in service.replace("-", ".").split(".")) + "Endpoint",
                service=ec2.InterfaceVpcEndpointAwsService(service),
                subnets=ec2.SubnetSelection(subnets=self.mwaa_subnets.subnets),
                security_groups=[self.security_group],
                private_dns_enabled=True,
                # Reachable from the platform's own security group (self-referencing), not the whole VPC CIDR.
                open=False,
            )
