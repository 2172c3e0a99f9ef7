"""What the project requires, read offline from cdk.json, the configuration and cdk.out."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from preflight import project
from stacks.config import ExistingNetwork


def _assembly(tmp_path: Path, artifacts: dict, templates: dict | None = None) -> Path:
    cdk_out = tmp_path / "cdk.out"
    cdk_out.mkdir()
    (cdk_out / "manifest.json").write_text(json.dumps({"version": "55.0.0", "artifacts": artifacts}))
    for name, body in (templates or {}).items():
        (cdk_out / name).write_text(json.dumps(body))
    return cdk_out


def _stack_artifact(version: int | None, template: str, lookup: int | None = None) -> dict:
    properties: dict = {"templateFile": template}
    if version is not None:
        properties |= {
            "requiresBootstrapStackVersion": version,
            "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/custom/version",
        }
    if lookup is not None:
        properties["lookupRole"] = {"arn": "x", "requiresBootstrapStackVersion": lookup}
    return {"type": "aws:cloudformation:stack", "properties": properties}


def test_bootstrap_requirement_is_the_highest_of_the_assemblys_stacks_and_asset_manifests(tmp_path, dev_config):
    # given stacks needing 6, an asset manifest needing 7, and a lookup role needing 8 (never used: no lookups)
    cdk_out = _assembly(
        tmp_path,
        {
            "OrderProcessing-dev": _stack_artifact(6, "OrderProcessing-dev.template.json", lookup=8),
            "DataPlatform-dev.assets": {
                "type": "cdk:asset-manifest",
                "properties": {"file": "x.json", "requiresBootstrapStackVersion": 7},
            },
        },
    )
    # when the requirement is read
    requirement = project.bootstrap_requirement(cdk_out, dev_config, {})
    # then it is 7, from the manifest, with the parameter the manifest names
    assert requirement.version == 7
    assert requirement.source == "cdk.out/manifest.json"
    assert requirement.ssm_parameter == "/cdk-bootstrap/custom/version"


def test_bootstrap_requirement_falls_back_to_the_templates_check_rule(tmp_path, dev_config):
    rule = {
        "Assertions": [
            {"Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5", "6"], {"Ref": "BootstrapVersion"}]}]}}
        ]
    }
    cdk_out = _assembly(
        tmp_path,
        {"DataPlatform-dev": _stack_artifact(None, "DataPlatform-dev.template.json")},
        {"DataPlatform-dev.template.json": {"Rules": {"CheckBootstrapVersion": rule}}},
    )
    requirement = project.bootstrap_requirement(cdk_out, dev_config, {})
    assert requirement.version == 7
    assert "CheckBootstrapVersion" in requirement.source


def test_without_cdk_out_the_synthesizer_minimum_and_the_cdk_json_qualifier_apply(tmp_path, dev_config):
    cdk_json = {"context": {"@aws-cdk/core:bootstrapQualifier": "myqual"}}
    requirement = project.bootstrap_requirement(tmp_path / "absent", dev_config, cdk_json)
    assert requirement.version == project.SYNTHESIZER_MINIMUM_BOOTSTRAP_VERSION
    assert requirement.ssm_parameter == "/cdk-bootstrap/myqual/version"
    assert "make synth ENV=dev" in requirement.source


def test_an_assembly_of_another_environment_is_ignored(tmp_path, dev_config):
    cdk_out = _assembly(tmp_path, {"OrderProcessing-prod": _stack_artifact(9, "OrderProcessing-prod.template.json")})
    assert project.bootstrap_requirement(cdk_out, dev_config, {}).version == 6


def test_needs_from_config_count_one_eip_per_nat_gateway(tmp_path, dev_config):
    needs = project.data_platform_needs(tmp_path / "absent", dev_config)
    nat = dev_config.data_platform.network.nat_gateways
    assert (needs.vpcs, needs.internet_gateways, needs.nat_gateways, needs.elastic_ips) == (1, 1, nat, nat)
    assert needs.mwaa_environments == 1
    assert needs.source == "cdk.json environments.dev"


def test_needs_are_counted_from_the_template_when_cdk_out_has_it(tmp_path, dev_config):
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC"},
        "Igw": {"Type": "AWS::EC2::InternetGateway"},
        **{f"Nat{i}": {"Type": "AWS::EC2::NatGateway"} for i in range(3)},
        **{f"Eip{i}": {"Type": "AWS::EC2::EIP"} for i in range(3)},
        "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
        "Logs": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Interface"}},
        "Env": {"Type": "AWS::MWAA::Environment"},
    }
    cdk_out = _assembly(
        tmp_path,
        {"DataPlatform-dev": _stack_artifact(6, "DataPlatform-dev.template.json")},
        {"DataPlatform-dev.template.json": {"Resources": resources}},
    )
    needs = project.data_platform_needs(cdk_out, dev_config)
    assert (needs.nat_gateways, needs.elastic_ips, needs.gateway_endpoints, needs.mwaa_environments) == (3, 3, 1, 1)
    assert needs.source == "cdk.out/DataPlatform-dev.template.json"


def test_powertools_parameter_is_built_like_the_stacks_build_it(dev_config):
    name = project.powertools_parameter_name(dev_config)
    assert name.startswith("/aws/service/powertools/python/")
    assert name.endswith("/" + dev_config.orders.powertools_version)


def test_a_new_warehouse_needs_three_zones(dev_config):
    assert project.required_availability_zones(dev_config)[0] == 3


def test_a_new_vpc_needs_three_zones_even_with_an_existing_workgroup(dev_config):
    # given
    config = dataclasses.replace(
        dev_config,
        data_platform=dataclasses.replace(
            dev_config.data_platform,
            warehouse=dataclasses.replace(dev_config.data_platform.warehouse, existing_workgroup_name="finance"),
        ),
    )
    # then the new VPC's third subnet still needs a third zone
    assert project.required_availability_zones(config)[0] == 3


def test_an_existing_vpc_and_workgroup_need_only_mwaas_two_zones(dev_config):
    # given
    existing = ExistingNetwork(
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=("subnet-0123456789abcdef0", "subnet-0fedcba9876543210"),
        availability_zones=("eu-west-1a", "eu-west-1b"),
    )
    platform = dev_config.data_platform
    config = dataclasses.replace(
        dev_config,
        data_platform=dataclasses.replace(
            platform,
            network=dataclasses.replace(platform.network, existing=existing),
            warehouse=dataclasses.replace(platform.warehouse, existing_workgroup_name="finance"),
        ),
    )
    # then
    assert project.required_availability_zones(config)[0] == 2


def test_the_real_dev_assembly_is_read_as_the_cli_would(synth, dev_config):
    # given the dev cloud assembly, synthesized like `cdk synth` does
    cdk_out = synth("dev")
    # when preflight reads what it requires
    requirement = project.bootstrap_requirement(cdk_out, dev_config, {})
    needs = project.data_platform_needs(cdk_out, dev_config)
    # then the figures come from the assembly and agree with the configuration
    assert requirement.source.endswith("/manifest.json")
    assert requirement.version >= project.SYNTHESIZER_MINIMUM_BOOTSTRAP_VERSION
    assert requirement.ssm_parameter == "/cdk-bootstrap/hnb659fds/version"
    assert needs.source.endswith("/DataPlatform-dev.template.json")
    nat = dev_config.data_platform.network.nat_gateways
    assert (needs.vpcs, needs.internet_gateways, needs.nat_gateways, needs.elastic_ips) == (1, 1, nat, nat)
    assert (needs.gateway_endpoints, needs.mwaa_environments) == (1, 1)
