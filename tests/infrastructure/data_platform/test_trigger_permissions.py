"""What the trigger function's role and its dead-letter queue must allow for AWS to accept and run them."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from tests.infrastructure.cfn import CfnTemplate, admits, as_list, service_of, statements_on

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


# --- A dead-letter queue encrypted with a key: every producer may send and use the key ------------------------------

# What a producer to a KMS-encrypted queue needs (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
# sqs-key-management.html, "Configure AWS KMS permissions for producers").
QUEUE_PRODUCER_KEY_ACTIONS = {"kms:GenerateDataKey", "kms:Decrypt"}


def _covers(statement: dict[str, Any], actions: set[str]) -> bool:
    """Whether an Allow statement's actions (wildcards included) cover every one of `actions`."""
    granted = as_list(statement["Action"])
    return statement["Effect"] == "Allow" and all(any(fnmatchcase(a, g) for g in granted) for a in actions)


def _arn_of(t: CfnTemplate, logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _key_of(t: CfnTemplate, queue_id: str) -> str:
    return t.properties(queue_id)["KmsMasterKeyId"]["Fn::GetAtt"][0]


def test_the_trigger_dead_letters_to_a_queue_encrypted_with_the_platform_key(data_dev: CfnTemplate):
    # The rules below must not pass for want of an encrypted dead-letter queue.
    function = data_dev.properties(data_dev.logical_id("Trigger/Function"))
    queue_id = data_dev.logical_id("Trigger/DeadLetterQueue")
    assert function["DeadLetterConfig"]["TargetArn"] == _arn_of(data_dev, queue_id)
    assert _key_of(data_dev, queue_id) == data_dev.logical_id("Encryption/Key")


def test_every_function_can_send_to_its_dead_letter_queue_and_use_the_queues_key(request: pytest.FixtureRequest):
    for t in _templates(request):
        for function_id, function in t.of_type("AWS::Lambda::Function").items():
            if "DeadLetterConfig" not in function["Properties"]:
                continue
            # given
            queue_id = function["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
            statements = t.statements_of_role(t.role_id_of_function(function_id))

            # then
            assert any(_covers(s, {"sqs:SendMessage"}) and s["Resource"] == _arn_of(t, queue_id) for s in statements), (
                t.stack_name,
                function_id,
            )
            if "KmsMasterKeyId" in t.properties(queue_id):
                key_arn = _arn_of(t, _key_of(t, queue_id))
                assert any(
                    _covers(s, QUEUE_PRODUCER_KEY_ACTIONS) and key_arn in as_list(s["Resource"]) for s in statements
                ), (t.stack_name, function_id)


def test_every_rule_can_dead_letter_to_its_queue_and_use_the_queues_key(request: pytest.FixtureRequest):
    for t in _templates(request):
        for rule_id, rule in t.of_type("AWS::Events::Rule").items():
            rule_arn = f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/{rule['Properties']['Name']}"
            for target in rule["Properties"]["Targets"]:
                if "DeadLetterConfig" not in target:
                    continue
                # given
                queue_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
                on_queue = statements_on(t, "AWS::SQS::QueuePolicy", queue_id, "Queues")
                on_key = t.properties(_key_of(t, queue_id))["KeyPolicy"]["Statement"]

                # then: the queue admits this very rule (aws:SourceArn), the key admits it by name
                assert any(
                    service_of(s) == "events.amazonaws.com"
                    and _covers(s, {"sqs:SendMessage"})
                    and s["Condition"]["ArnEquals"]["aws:SourceArn"] == _arn_of(t, rule_id)
                    for s in on_queue
                ), (t.stack_name, rule_id)
                assert any(
                    service_of(s) == "events.amazonaws.com"
                    and _covers(s, QUEUE_PRODUCER_KEY_ACTIONS)
                    and admits(s, rule_arn)
                    for s in on_key
                ), (t.stack_name, rule_id)
