"""What the project asks of the account, read offline from cdk.json, stacks.config and (when present) cdk.out.

No synth here: cdk.out is read only if a previous `make synth` left it for the chosen environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.config import EnvironmentConfig, OrdersConfig

DEFAULT_QUALIFIER = "hnb659fds"
DEFAULT_TOOLKIT_STACK_NAME = "CDKToolkit"
# The context key `cdk bootstrap --qualifier` pairs with (docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html).
QUALIFIER_CONTEXT_KEY = "@aws-cdk/core:bootstrapQualifier"
# DefaultStackSynthesizer's own minimum: every synthesized template carries a CheckBootstrapVersion rule rejecting
# versions 1 to 5 ("CDK bootstrap stack version 6 required"). Used only when cdk.out is absent.
SYNTHESIZER_MINIMUM_BOOTSTRAP_VERSION = 6


@dataclass(frozen=True)
class BootstrapRequirement:
    """The bootstrap version the cloud assembly needs, where that figure came from, and where to read the version."""

    version: int
    source: str
    ssm_parameter: str


@dataclass(frozen=True)
class Needs:
    """What a first deploy of DataPlatform-<env> creates that counts against regional quotas."""

    vpcs: int
    internet_gateways: int
    nat_gateways: int
    elastic_ips: int
    gateway_endpoints: int
    mwaa_environments: int
    source: str


def read_cdk_json(root: Path) -> dict[str, Any]:
    return json.loads((root / "cdk.json").read_text())


def qualifier(cdk_json: Mapping[str, Any]) -> str:
    return cdk_json.get("context", {}).get(QUALIFIER_CONTEXT_KEY) or DEFAULT_QUALIFIER


def toolkit_stack_name(cdk_json: Mapping[str, Any]) -> str:
    # `cdk bootstrap --toolkit-stack-name` may be pinned in cdk.json as "toolkitStackName".
    return cdk_json.get("toolkitStackName") or DEFAULT_TOOLKIT_STACK_NAME


def powertools_parameter_name(config: EnvironmentConfig) -> str:
    """The public SSM parameter the stacks resolve the Powertools layer ARN from, exactly as they build it."""
    return f"{OrdersConfig.powertools_layer_parameter_prefix}/{config.orders.powertools_version}"


def _assembly_stacks(cdk_out: Path, config: EnvironmentConfig) -> dict[str, Any] | None:
    """The manifest's artifacts, if cdk.out holds this environment's assembly (a `make synth` with ENV=<env>)."""
    manifest_file = cdk_out / "manifest.json"
    if not manifest_file.is_file():
        return None
    artifacts = json.loads(manifest_file.read_text()).get("artifacts", {})
    if config.order_processing_stack_name not in artifacts and config.data_platform_stack_name not in artifacts:
        return None
    return artifacts


def bootstrap_requirement(
    cdk_out: Path, config: EnvironmentConfig, cdk_json: Mapping[str, Any]
) -> BootstrapRequirement:
    """The highest `requiresBootstrapStackVersion` of the assembly's stacks and asset manifests, as the CDK CLI
    compares it with the bootstrap version before deploying (aws/aws-cdk pull 12594: the version is read from the
    SSM parameter named by `bootstrapStackVersionSsmParameter`).

    A stack's lookup role carries its own, higher requirement; it is left out: the CLI uses that role only for
    context lookups, which this project never needs. Without the manifest's figure, the templates'
    CheckBootstrapVersion rule gives it; without cdk.out, the synthesizer's minimum does.
    """
    default_parameter = f"/cdk-bootstrap/{qualifier(cdk_json)}/version"
    artifacts = _assembly_stacks(cdk_out, config)
    if artifacts is None:
        return BootstrapRequirement(
            SYNTHESIZER_MINIMUM_BOOTSTRAP_VERSION,
            f"the CDK synthesizer's minimum (no cdk.out for {config.name}: `make synth ENV={config.name}` for the exact figure)",
            default_parameter,
        )
    versions: list[int] = []
    parameter = default_parameter
    for artifact in artifacts.values():
        if artifact.get("type") not in ("aws:cloudformation:stack", "cdk:asset-manifest"):
            continue
        properties = artifact.get("properties", {})
        if "requiresBootstrapStackVersion" in properties:
            versions.append(int(properties["requiresBootstrapStackVersion"]))
            parameter = properties.get("bootstrapStackVersionSsmParameter", parameter)
    if versions:
        return BootstrapRequirement(max(versions), f"{cdk_out.name}/manifest.json", parameter)
    from_rules = [
        v
        for artifact in artifacts.values()
        if artifact.get("type") == "aws:cloudformation:stack"
        and (v := _rule_requirement(cdk_out / artifact.get("properties", {}).get("templateFile", ""))) is not None
    ]
    if from_rules:
        return BootstrapRequirement(
            max(from_rules), f"the templates' CheckBootstrapVersion rule in {cdk_out.name}", parameter
        )
    return BootstrapRequirement(
        SYNTHESIZER_MINIMUM_BOOTSTRAP_VERSION, "the CDK synthesizer's minimum (cdk.out names none)", parameter
    )


def _rule_requirement(template_file: Path) -> int | None:
    """CheckBootstrapVersion asserts the version is not one of a list of old ones: one more than the highest."""
    if not template_file.is_file():
        return None
    rule = json.loads(template_file.read_text()).get("Rules", {}).get("CheckBootstrapVersion")
    if not rule:
        return None
    rejected: list[int] = []
    for assertion in rule.get("Assertions", []):
        contains = assertion.get("Assert", {}).get("Fn::Not", [{}])[0].get("Fn::Contains", [[]])
        rejected.extend(int(v) for v in contains[0] if str(v).isdigit())
    return max(rejected) + 1 if rejected else None


def data_platform_needs(cdk_out: Path, config: EnvironmentConfig) -> Needs:
    """Counted from cdk.out/DataPlatform-<env>.template.json when present, else derived from the configuration."""
    template_file = cdk_out / f"{config.data_platform_stack_name}.template.json"
    if _assembly_stacks(cdk_out, config) is not None and template_file.is_file():
        resources = json.loads(template_file.read_text()).get("Resources", {}).values()

        def count(resource_type: str) -> int:
            return sum(1 for r in resources if r.get("Type") == resource_type)

        gateway_endpoints = sum(
            1
            for r in resources
            if r.get("Type") == "AWS::EC2::VPCEndpoint"
            # A VPCEndpoint without a type is a gateway endpoint (CloudFormation's default).
            and r.get("Properties", {}).get("VpcEndpointType", "Gateway") == "Gateway"
        )
        return Needs(
            vpcs=count("AWS::EC2::VPC"),
            internet_gateways=count("AWS::EC2::InternetGateway"),
            nat_gateways=count("AWS::EC2::NatGateway"),
            elastic_ips=count("AWS::EC2::EIP"),
            gateway_endpoints=gateway_endpoints,
            mwaa_environments=count("AWS::MWAA::Environment"),
            source=f"{cdk_out.name}/{template_file.name}",
        )
    network = config.data_platform.network
    creates_vpc = network.existing is None
    nat = network.nat_gateways if creates_vpc else 0
    return Needs(
        vpcs=int(creates_vpc),
        # A new VPC has public subnets (for NAT) and so an internet gateway; an S3 gateway endpoint.
        internet_gateways=int(creates_vpc),
        nat_gateways=nat,
        # Each NAT gateway gets its own Elastic IP.
        elastic_ips=nat,
        gateway_endpoints=int(creates_vpc),
        mwaa_environments=1,
        source=f"cdk.json environments.{config.name}",
    )


def required_availability_zones(config: EnvironmentConfig) -> tuple[int, str]:
    """Three for a new VPC (it spans three) or a new Redshift Serverless workgroup, else two for MWAA."""
    if config.data_platform.network.existing is None:
        # The new VPC's subnets take zones 0, 1 and 2 of Fn::GetAZs: a region with two zones fails the deploy.
        return 3, "the new VPC spans three AZs (Redshift Serverless needs subnets in three)"
    if config.data_platform.warehouse.existing_workgroup_name is None:
        # docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html: at least three subnets
        # spanning three Availability Zones.
        return 3, "Redshift Serverless needs subnets in three AZs"
    # docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-mwaa-environment-networkconfiguration.html:
    # exactly two private subnets in two different Availability Zones.
    return 2, "MWAA needs private subnets in two AZs"
