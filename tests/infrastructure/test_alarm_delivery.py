"""Alarm notifications reach their topic: the topic's policy and its key's policy admit this stack's alarms, and
only them (repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger,
docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.cfn import CfnTemplate, admits, allows, service_of, templates_of

ENVIRONMENTS = ("dev", "prod")
# (stack prefix, alarm name prefix): the names config gives them (stacks/config.py).
STACKS = (("OrderProcessing", "OrderProcessing-{env}-"), ("DataPlatform", "DataPlatform-{env}-"))


def alarm_arn(name: str) -> str:
    return f"arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:{name}"


def alarm_topics(t: CfnTemplate) -> Iterator[tuple[str, str]]:
    """(alarm name, topic logical id) for every alarm action that publishes to a topic of the stack."""
    topics = t.of_type("AWS::SNS::Topic")
    for alarm in t.of_type("AWS::CloudWatch::Alarm").values():
        for action in alarm["Properties"].get("AlarmActions", []):
            if isinstance(action, dict) and action.get("Ref") in topics:
                yield alarm["Properties"]["AlarmName"], action["Ref"]


def topic_statements(t: CfnTemplate, topic_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in t.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def key_statements_of_topic(t: CfnTemplate, topic_id: str) -> list[dict[str, Any]]:
    key_id = t.properties(topic_id)["KmsMasterKeyId"]["Fn::GetAtt"][0]
    return t.properties(key_id)["KeyPolicy"]["Statement"]


@pytest.fixture(
    scope="module", params=[(s, p, e) for s, p in STACKS for e in ENVIRONMENTS], ids=lambda v: f"{v[0]}-{v[2]}"
)
def stack(request: pytest.FixtureRequest, synth: Callable[[str], Path]) -> tuple[CfnTemplate, str]:
    """A stack's template of an environment, and the prefix its alarms' names carry."""
    stack_prefix, alarm_prefix, env = request.param
    return templates_of(synth, stack_prefix)(env), alarm_prefix.format(env=env)


def test_every_alarm_notifies_a_topic_and_carries_the_stacks_name_prefix(stack: tuple[CfnTemplate, str]):
    t, prefix = stack
    names = [a["Properties"]["AlarmName"] for a in t.of_type("AWS::CloudWatch::Alarm").values()]
    notifying = [name for name, _ in alarm_topics(t)]
    assert names
    assert sorted(names) == sorted(notifying)
    assert all(name.startswith(prefix) for name in names)


def test_the_topic_policy_lets_cloudwatch_publish_for_each_alarm_that_notifies_it(stack: tuple[CfnTemplate, str]):
    t, _ = stack
    for alarm_name, topic_id in alarm_topics(t):
        # given
        statements = topic_statements(t, topic_id)

        # then
        assert any(
            allows(s, "cloudwatch.amazonaws.com", {"sns:Publish"}) and admits(s, alarm_arn(alarm_name))
            for s in statements
        ), (alarm_name, topic_id)


def test_the_topic_policy_admits_alarms_of_this_stack_only(stack: tuple[CfnTemplate, str]):
    t, prefix = stack
    for _, topic_id in alarm_topics(t):
        for statement in topic_statements(t, topic_id):
            if allows(statement, "cloudwatch.amazonaws.com", {"sns:Publish"}):
                assert admits(statement, alarm_arn(f"{prefix}anything"))
                assert not admits(statement, alarm_arn("SomeoneElses-alarm"))


def test_the_topics_key_lets_cloudwatch_encrypt_for_each_alarm_that_notifies_it(stack: tuple[CfnTemplate, str]):
    t, _ = stack
    for alarm_name, topic_id in alarm_topics(t):
        # given
        statements = key_statements_of_topic(t, topic_id)

        # then
        assert any(
            allows(s, "cloudwatch.amazonaws.com", {"kms:Decrypt", "kms:GenerateDataKey*"})
            and admits(s, alarm_arn(alarm_name))
            for s in statements
        ), (alarm_name, topic_id)


def test_cloudwatch_is_admitted_nowhere_without_conditions(stack: tuple[CfnTemplate, str]):
    t, _ = stack
    policies = [p["Properties"]["PolicyDocument"] for p in t.of_type("AWS::SNS::TopicPolicy").values()]
    policies += [k["Properties"]["KeyPolicy"] for k in t.of_type("AWS::KMS::Key").values()]
    for policy in policies:
        for statement in policy["Statement"]:
            if service_of(statement) == "cloudwatch.amazonaws.com":
                assert "aws:SourceArn" in json.dumps(statement.get("Condition", {})), statement
