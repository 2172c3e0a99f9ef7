"""Constructs on their own, for behaviour the default cdk.json does not switch on (e-mail subscriptions)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Match, Template

from stacks.order_processing.messaging import OrderTopics


def test_configured_emails_subscribe_to_their_topic_only():
    # given
    stack = cdk.Stack(cdk.App(), "Topics")
    topics = OrderTopics(
        stack,
        "Topics",
        encryption_key=kms.Key(stack, "Key"),
        approver_emails=["approver@example.com"],
        operations_emails=["oncall@example.com", "lead@example.com"],
    )

    # when
    template = Template.from_stack(stack)

    # then
    template.resource_count_is("AWS::SNS::Subscription", 3)
    for email, topic in (
        ("approver@example.com", topics.approval_requests),
        ("oncall@example.com", topics.operations_alerts),
        ("lead@example.com", topics.operations_alerts),
    ):
        template.has_resource_properties(
            "AWS::SNS::Subscription",
            {
                "Protocol": "email",
                "Endpoint": email,
                "TopicArn": {"Ref": stack.resolve(topic.node.default_child.logical_id)},
            },
        )
    template.resource_properties_count_is(
        "AWS::SNS::Subscription",
        {
            "TopicArn": {"Ref": stack.resolve(topics.customer_notifications.node.default_child.logical_id)},
            "Protocol": Match.any_value(),
        },
        0,
    )
