"""Who the project's KMS keys (and the topics and queues they encrypt) admit: AWS services only for this stack's
resources, and grants only for AWS resources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.cfn import CfnTemplate, templates_of
from tests.infrastructure.test_alarm_delivery import admits, allows, service_of

TEMPLATES = [(stack, env) for stack in ("OrderProcessing", "DataPlatform") for env in ("dev", "prod")]
# Keys an AWS service principal's statement may be scoped by: the confused-deputy keys, or (CloudWatch Logs) the
# log group in the encryption context.
SCOPING_KEYS = ("aws:SourceArn", "aws:SourceAccount", "kms:EncryptionContext:")


@pytest.fixture(scope="module", params=TEMPLATES, ids=lambda v: f"{v[0]}-{v[1]}")
def template(request: pytest.FixtureRequest, synth: Callable[[str], Path]) -> CfnTemplate:
    stack, env = request.param
    return templates_of(synth, stack)(env)


def resource_policies(t: CfnTemplate) -> Iterator[tuple[str, dict[str, Any]]]:
    """(logical id, policy document) of every key, topic and queue policy of the template."""
    for key_id, key in t.of_type("AWS::KMS::Key").items():
        yield key_id, key["Properties"]["KeyPolicy"]
    for kind in ("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
        for policy_id, policy in t.of_type(kind).items():
            yield policy_id, policy["Properties"]["PolicyDocument"]


def rule_arn(name: str) -> str:
    return f"arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/{name}"


def names_rule(statement: dict[str, Any], rule_id: str) -> bool:
    """Whether the statement admits exactly that rule of this account (aws:SourceArn is the rule's own ARN)."""
    condition = statement.get("Condition", {})
    return condition.get("ArnEquals", {}).get("aws:SourceArn") == {"Fn::GetAtt": [rule_id, "Arn"]} and condition.get(
        "StringEquals", {}
    ).get("aws:SourceAccount") == {"Ref": "AWS::AccountId"}


def key_statements_of(t: CfnTemplate, encrypted_id: str) -> list[dict[str, Any]]:
    key = t.properties(encrypted_id)["KmsMasterKeyId"]
    return t.properties(key["Fn::GetAtt"][0])["KeyPolicy"]["Statement"]


def statements_on(t: CfnTemplate, policy_type: str, target_id: str, attribute: str) -> list[dict[str, Any]]:
    """Statements of the topic or queue policies that attach to `target_id` (listed under `attribute`)."""
    return [
        statement
        for policy in t.of_type(policy_type).values()
        if {"Ref": target_id} in policy["Properties"][attribute]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


# --- Point 10: no service is admitted without a condition ---------------------------------------------------------


def test_no_key_topic_or_queue_policy_admits_an_aws_service_without_scoping_it(template: CfnTemplate):
    for policy_id, document in resource_policies(template):
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow" and service_of(statement):
                condition = json.dumps(statement.get("Condition", {}))
                assert any(key in condition for key in SCOPING_KEYS), (policy_id, statement)


def test_every_rule_may_publish_to_its_topic_targets_and_use_their_key(template: CfnTemplate):
    topics = template.of_type("AWS::SNS::Topic")
    for rule_id, rule in template.of_type("AWS::Events::Rule").items():
        name = rule["Properties"]["Name"]
        for target in rule["Properties"]["Targets"]:
            topic_id = target["Arn"].get("Ref") if isinstance(target["Arn"], dict) else None
            if topic_id not in topics:
                continue
            # given
            on_topic = statements_on(template, "AWS::SNS::TopicPolicy", topic_id, "Topics")
            on_key = key_statements_of(template, topic_id)

            # then: the topic admits this very rule; the key admits it by name
            assert any(
                allows(s, "events.amazonaws.com", {"sns:Publish"}) and names_rule(s, rule_id) for s in on_topic
            ), (name, topic_id)
            assert any(
                allows(s, "events.amazonaws.com", {"kms:Decrypt", "kms:GenerateDataKey*"}) and admits(s, rule_arn(name))
                for s in on_key
            ), (name, topic_id)


def test_the_platform_key_admits_eventbridge_for_this_platforms_rules_only(template: CfnTemplate):
    for key in template.of_type("AWS::KMS::Key").values():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            if service_of(statement) == "events.amazonaws.com":
                assert admits(statement, rule_arn(f"{template.stack_name}-anything"))
                assert not admits(statement, rule_arn("SomeoneElses-rule"))


def test_the_glue_failure_rule_publishes_to_the_operations_topic(synth: Callable[[str], Path]):
    # The rule tests above must not pass for want of a rule with a topic target.
    data_dev = templates_of(synth, "DataPlatform")("dev")
    targets = data_dev.properties(data_dev.logical_id("Monitoring/GlueJobFailed"))["Targets"]
    assert [t["Arn"] for t in targets] == [{"Ref": data_dev.logical_id("Monitoring/OperationsAlerts")}]
