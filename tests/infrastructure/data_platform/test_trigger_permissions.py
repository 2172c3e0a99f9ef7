"""What the trigger function's role and its dead-letter queue must allow for AWS to accept and run them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure.cfn import CfnTemplate, as_list

# AWSLambdaVPCAccessExecutionRole's EC2 actions (docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html).
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


def _templates(request: pytest.FixtureRequest) -> list[CfnTemplate]:
    return [request.getfixturevalue(name) for name in ("data_dev", "data_prod", "dev", "prod")]


def _vpc_functions(t: CfnTemplate) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in t.of_type("AWS::Lambda::Function").items() if "VpcConfig" in v["Properties"]}


def _policies_granting(t: CfnTemplate, role_id: str, actions: set[str]) -> set[str]:
    """Logical ids of the role's AWS::IAM::Policy resources whose Resource-'*' statements allow all `actions`."""
    found = set()
    for policy_id, policy in t.of_type("AWS::IAM::Policy").items():
        if {"Ref": role_id} not in policy["Properties"]["Roles"]:
            continue
        allowed = {
            action
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if statement["Effect"] == "Allow" and statement["Resource"] == "*" and "Condition" not in statement
            for action in as_list(statement["Action"])
        }
        if actions <= allowed:
            found.add(policy_id)
    return found


# --- A function in a VPC: its role manages the function's network interfaces ------------------------------------


def test_the_trigger_runs_in_the_vpc(data_dev: CfnTemplate):
    # The rule below must not pass for want of a VPC function.
    assert data_dev.logical_id("Trigger/Function") in _vpc_functions(data_dev)


def test_every_function_in_a_vpc_can_create_its_network_interfaces_before_it_is_created(
    request: pytest.FixtureRequest,
):
    for t in _templates(request):
        for function_id, function in _vpc_functions(t).items():
            # given
            role_id = t.role_id_of_function(function_id)

            # when
            granting = _policies_granting(t, role_id, ENI_ACTIONS)

            # then: the role allows the six actions, and CloudFormation creates that policy before the function
            assert granting, (t.stack_name, function_id)
            assert granting & set(as_list(function.get("DependsOn", []))), (t.stack_name, function_id)


def test_order_processing_functions_run_outside_any_vpc(dev: CfnTemplate, prod: CfnTemplate):
    # They reach only regional AWS APIs; if one moves into a VPC, the rule above applies to it.
    assert not _vpc_functions(dev)
    assert not _vpc_functions(prod)


def test_network_interface_actions_are_the_only_ec2_actions_of_the_trigger_role(data_dev: CfnTemplate):
    # given
    role_id = data_dev.logical_id("Trigger/Role")

    # when
    ec2_actions = {
        action
        for statement in data_dev.statements_of_role(role_id)
        for action in as_list(statement["Action"])
        if action.startswith("ec2:")
    }

    # then
    assert ec2_actions == ENI_ACTIONS
