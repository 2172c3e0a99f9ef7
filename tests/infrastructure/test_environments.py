"""What differs between dev and prod, pinned on the synthesized templates."""

from __future__ import annotations

import pytest

from tests.infrastructure.cfn import CfnTemplate

STATEFUL_TYPES = ("AWS::DynamoDB::Table", "AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::KMS::Key")


@pytest.mark.parametrize(("env", "policy"), [("dev", "Delete"), ("prod", "Retain")])
def test_stateful_resources_are_destroyed_in_dev_and_retained_in_prod(
    env: str, policy: str, dev: CfnTemplate, prod: CfnTemplate
):
    # given
    template = {"dev": dev, "prod": prod}[env]

    # then
    for resource_type in STATEFUL_TYPES:
        for logical_id, resource in template.of_type(resource_type).items():
            assert resource.get("DeletionPolicy") == policy, logical_id
            assert resource.get("UpdateReplacePolicy") == policy, logical_id


def test_prod_tables_are_deletion_protected_and_dev_tables_are_not(dev: CfnTemplate, prod: CfnTemplate):
    for table in dev.of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False
    for table in prod.of_type("AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True


@pytest.mark.parametrize(("env", "days"), [("dev", 14), ("prod", 365)])
def test_log_retention_follows_the_environment(env: str, days: int, dev: CfnTemplate, prod: CfnTemplate):
    template = {"dev": dev, "prod": prod}[env]
    log_groups = template.of_type("AWS::Logs::LogGroup")
    assert len(log_groups) == 11
    assert {g["Properties"]["RetentionInDays"] for g in log_groups.values()} == {days}


def test_prod_pages_on_the_first_lambda_error_and_dev_tolerates_a_few(dev: CfnTemplate, prod: CfnTemplate):
    def thresholds(template: CfnTemplate) -> set[float]:
        return {
            a["Properties"]["Threshold"]
            for a in template.of_type("AWS::CloudWatch::Alarm").values()
            if a["Properties"]["MetricName"] == "Errors"
        }

    assert thresholds(dev) == {5}
    assert thresholds(prod) == {1}


def test_prod_functions_get_more_memory_and_approvers_a_day_to_answer(dev: CfnTemplate, prod: CfnTemplate):
    def memory(template: CfnTemplate) -> set[int]:
        return {f["Properties"]["MemorySize"] for f in template.of_type("AWS::Lambda::Function").values()}

    def approval_timeout(template: CfnTemplate) -> str:
        return template.properties(template.function_id("ValidateOrder"))["Environment"]["Variables"][
            "APPROVAL_TIMEOUT_SECONDS"
        ]

    assert (memory(dev), memory(prod)) == ({256}, {512})
    assert (approval_timeout(dev), approval_timeout(prod)) == ("3600", "86400")


def test_each_environment_names_its_own_state_machine_and_log_groups(prod: CfnTemplate):
    [state_machine] = prod.of_type("AWS::StepFunctions::StateMachine").values()
    assert state_machine["Properties"]["StateMachineName"] == "OrderProcessing-prod"
    for log_group in prod.of_type("AWS::Logs::LogGroup").values():
        name = log_group["Properties"]["LogGroupName"]
        assert name.startswith("/order-processing/prod/") or name == "/aws/vendedlogs/states/OrderProcessing-prod"


def test_environments_are_tagged(dev: CfnTemplate, prod: CfnTemplate):
    for template, env in ((dev, "dev"), (prod, "prod")):
        for table in template.of_type("AWS::DynamoDB::Table").values():
            assert {"Key": "Environment", "Value": env} in table["Properties"]["Tags"]
