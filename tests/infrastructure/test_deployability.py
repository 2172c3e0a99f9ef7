"""The deployability rule pack (stacks/deployability.py): each rule fires on a minimal stack that breaks it, stays
quiet on the same stack fixed, and the pack runs on every synth of the app."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from stacks import deployability
from stacks.compliance import VALIDATION_REPORT, CompliantApp, NonCompliantError, acknowledge, apply_rule_packs
from stacks.deployability import findings

CODE = lambda_.Code.from_inline("def handler(event, context):\n    return None\n")


def rules_fired(stack: cdk.Stack) -> dict[str, list[str]]:
    """Rule id -> the details of its findings on the stack's template."""
    fired: dict[str, list[str]] = {}
    for finding in findings(Template.from_stack(stack).to_json()):
        fired.setdefault(finding.rule.id, []).append(finding.detail)
    return fired


def new_stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Minimal")


def vpc_of(stack: cdk.Stack) -> ec2.Vpc:
    return ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0, restrict_default_security_group=False)


def function(stack: cdk.Stack, role: iam.IRole | None = None, **kwargs) -> lambda_.Function:
    return lambda_.Function(
        stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler", code=CODE, role=role, **kwargs
    )


def own_role(stack: cdk.Stack) -> iam.Role:
    return iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))


# --- A function in a VPC has ENI permissions ------------------------------------------------------------------


def test_a_vpc_function_with_its_own_role_and_no_eni_permissions_is_refused():
    # given the role a stack passes itself: CDK adds no ENI permissions to it
    stack = new_stack()
    function(stack, own_role(stack), vpc=vpc_of(stack), allow_public_subnet=True)

    # then
    [detail] = rules_fired(stack)[deployability.VPC_FUNCTION_ENI.id]
    assert "may not ec2:CreateNetworkInterface, ec2:DescribeNetworkInterfaces, ec2:DeleteNetworkInterface" in detail


@pytest.mark.parametrize("grant", ["managed policy", "statement"])
def test_a_vpc_function_whose_role_may_manage_its_network_interfaces_passes(grant: str):
    # given
    stack = new_stack()
    role = own_role(stack)
    if grant == "managed policy":
        role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
        )
    else:
        role.add_to_policy(iam.PolicyStatement(actions=list(deployability.ENI_ACTIONS), resources=["*"]))
    function(stack, role, vpc=vpc_of(stack), allow_public_subnet=True)

    # then
    assert deployability.VPC_FUNCTION_ENI.id not in rules_fired(stack)


def eni_granted_by_a_separate_policy(*, function_waits: bool) -> cdk.Stack:
    stack = new_stack()
    role = own_role(stack)
    policy = iam.Policy(
        stack, "Eni", statements=[iam.PolicyStatement(actions=list(deployability.ENI_ACTIONS), resources=["*"])]
    )
    policy.attach_to_role(role)
    fn = function(stack, role, vpc=vpc_of(stack), allow_public_subnet=True)
    if function_waits:
        fn.node.add_dependency(policy)
    return stack


def test_a_vpc_function_granted_eni_permissions_by_a_policy_it_does_not_wait_for_is_refused():
    # given the ENI statement in a separate policy resource: CloudFormation may create the function before it
    stack = eni_granted_by_a_separate_policy(function_waits=False)

    # then
    [detail] = rules_fired(stack)[deployability.VPC_FUNCTION_ENI.id]
    assert "only from Eni" in detail
    assert "add a DependsOn" in detail

    # and once the function waits for the policy, it passes
    assert deployability.VPC_FUNCTION_ENI.id not in rules_fired(eni_granted_by_a_separate_policy(function_waits=True))


def test_a_vpc_function_whose_role_lists_a_customer_managed_policy_with_eni_permissions_passes():
    # given
    stack = new_stack()
    role = own_role(stack)
    role.add_managed_policy(
        iam.ManagedPolicy(
            stack, "Eni", statements=[iam.PolicyStatement(actions=list(deployability.ENI_ACTIONS), resources=["*"])]
        )
    )
    function(stack, role, vpc=vpc_of(stack), allow_public_subnet=True)

    # then
    assert deployability.VPC_FUNCTION_ENI.id not in rules_fired(stack)


# --- A service principal that delivers to a topic or queue is allowed by its policy and key ---------------------


def alarm_to(stack: cdk.Stack, topic: sns.ITopic) -> None:
    metric = cloudwatch.Metric(namespace="Test", metric_name="Errors")
    alarm = cloudwatch.Alarm(stack, "Alarm", metric=metric, threshold=1, evaluation_periods=1)
    alarm.add_alarm_action(cw_actions.SnsAction(topic))


def test_an_alarm_to_a_topic_whose_policy_replaced_the_default_is_refused():
    # given enforce_ssl: the topic policy replaces SNS's default one, and admits no CloudWatch
    stack = new_stack()
    topic = sns.Topic(stack, "Topic", enforce_ssl=True)
    alarm_to(stack, topic)

    # then
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "as cloudwatch.amazonaws.com" in detail
    assert "does not allow sns:Publish" in detail


def alarmed_encrypted_topic(*, key_admits_cloudwatch: bool) -> cdk.Stack:
    stack = new_stack()
    key = kms.Key(stack, "Key")
    if key_admits_cloudwatch:
        key.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                resources=["*"],
            )
        )
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["sns:Publish"], principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")], resources=["*"]
        )
    )
    alarm_to(stack, topic)
    return stack


def test_an_alarm_to_an_encrypted_topic_needs_the_key_policy_too():
    # given the topic policy admits CloudWatch, the key's does not
    stack = alarmed_encrypted_topic(key_admits_cloudwatch=False)

    # then the finding names the key
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "the policy of its key" in detail
    assert "kms:GenerateDataKey, kms:Decrypt" in detail


def test_an_alarm_to_an_encrypted_topic_whose_key_admits_cloudwatch_passes():
    assert deployability.SERVICE_MAY_PUBLISH.id not in rules_fired(alarmed_encrypted_topic(key_admits_cloudwatch=True))


def test_an_alarm_to_a_topic_with_the_default_policy_passes():
    # given no topic policy at all: SNS's default one lets the account's alarms publish
    stack = new_stack()
    alarm_to(stack, sns.Topic(stack, "Topic"))

    # then
    assert deployability.SERVICE_MAY_PUBLISH.id not in rules_fired(stack)


def test_an_eventbridge_rule_needs_a_queue_policy_that_admits_it():
    # given a rule targeting a queue through a low-level target with no queue policy
    stack = new_stack()
    queue = sqs.Queue(stack, "Queue")
    events.CfnRule(
        stack,
        "Rule",
        event_pattern={"source": ["aws.s3"]},
        targets=[events.CfnRule.TargetProperty(arn=queue.queue_arn, id="queue")],
    )

    # then
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "as events.amazonaws.com" in detail

    # and CDK's own target, which writes the queue policy, satisfies it
    stack = new_stack()
    rule = events.Rule(stack, "Rule", event_pattern=events.EventPattern(source=["aws.s3"]))
    rule.add_target(targets.SqsQueue(sqs.Queue(stack, "Queue")))
    assert deployability.SERVICE_MAY_PUBLISH.id not in rules_fired(stack)


def test_an_encrypted_topic_with_the_aws_managed_key_cannot_take_service_deliveries():
    # given
    stack = new_stack()
    topic = sns.CfnTopic(stack, "Topic", kms_master_key_id="alias/aws/sns")
    rule = events.CfnRule(
        stack,
        "Rule",
        event_pattern={"source": ["aws.glue"]},
        targets=[events.CfnRule.TargetProperty(arn=topic.ref, id="topic")],
    )
    sns.CfnTopicPolicy(
        stack,
        "Policy",
        topics=[topic.ref],
        policy_document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": "*",
                }
            ]
        },
    )
    assert rule

    # then
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "AWS managed key alias/aws/sns" in detail


def test_an_s3_notification_to_a_queue_without_a_queue_policy_is_refused():
    # given a low-level bucket notifying a queue that no policy opens to S3 (S3 refuses the bucket's configuration)
    stack = new_stack()
    queue = sqs.Queue(stack, "Queue")
    s3.CfnBucket(
        stack,
        "Bucket",
        notification_configuration=s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(event="s3:ObjectCreated:*", queue=queue.queue_arn)
            ]
        ),
    )

    # then
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "as s3.amazonaws.com" in detail
    assert "has no AWS::SQS::QueuePolicy" in detail


@pytest.mark.parametrize("key_admits_s3", [False, True])
def test_an_s3_notification_through_cdk_to_an_encrypted_queue_needs_the_key(key_admits_s3: bool):
    # given CDK's notification (its custom resource), which writes the queue policy; the key is CDK's, or a key
    # imported into the queue's construct so that CDK cannot add the S3 statement to it
    stack = new_stack()
    key = kms.Key(stack, "Key")
    queue = sqs.Queue(
        stack,
        "Queue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key if key_admits_s3 else kms.Key.from_key_arn(stack, "Imported", key.key_arn),
    )
    s3.Bucket(stack, "Bucket").add_event_notification(s3.EventType.OBJECT_CREATED, s3n.SqsDestination(queue))

    # then
    fired = rules_fired(stack).get(deployability.SERVICE_MAY_PUBLISH.id, [])
    assert fired == ([] if key_admits_s3 else [fired[0]])
    assert key_admits_s3 or "does not allow s3.amazonaws.com kms:GenerateDataKey, kms:Decrypt" in fired[0]


def test_an_sns_subscription_to_a_queue_that_does_not_admit_sns_is_refused():
    # given a low-level subscription: SNS delivers, but the queue has no policy for it
    stack = new_stack()
    queue = sqs.Queue(stack, "Queue")
    topic = sns.Topic(stack, "Topic")
    sns.CfnSubscription(stack, "Subscription", protocol="sqs", endpoint=queue.queue_arn, topic_arn=topic.topic_arn)

    # then
    [detail] = rules_fired(stack)[deployability.SERVICE_MAY_PUBLISH.id]
    assert "as sns.amazonaws.com" in detail

    # and CDK's subscription, which writes the queue policy and the key statement, satisfies it
    stack = new_stack()
    key = kms.Key(stack, "Key")
    queue = sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    sns.Topic(stack, "Topic").add_subscription(subs.SqsSubscription(queue))
    assert deployability.SERVICE_MAY_PUBLISH.id not in rules_fired(stack)


# --- A function's dead-letter queue is writable by its role, key included ----------------------------------------


def test_a_dead_letter_queue_the_role_cannot_write_is_refused():
    # given a low-level function whose role was granted nothing on its dead-letter queue
    stack = new_stack()
    dlq = sqs.Queue(stack, "Dlq")
    lambda_.CfnFunction(
        stack,
        "Fn",
        role=own_role(stack).role_arn,
        runtime="python3.12",
        handler="index.handler",
        code=lambda_.CfnFunction.CodeProperty(zip_file="def handler(e, c): return None"),
        dead_letter_config=lambda_.CfnFunction.DeadLetterConfigProperty(target_arn=dlq.queue_arn),
    )

    # then
    [detail] = rules_fired(stack)[deployability.DEAD_LETTER_WRITABLE.id]
    assert "may not sqs:SendMessage" in detail


def test_an_encrypted_dead_letter_queue_needs_its_key_granted_to_the_role():
    # given CDK grants the role sqs:SendMessage on the DLQ, but nothing on its customer managed key
    stack = new_stack()
    key = kms.Key(stack, "Key")
    dlq = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    function(stack, own_role(stack), dead_letter_queue=dlq)

    # then the key is named
    [detail] = rules_fired(stack)[deployability.DEAD_LETTER_WRITABLE.id]
    assert "may not kms:GenerateDataKey, kms:Decrypt with that key" in detail


def test_a_dead_letter_queue_granted_to_the_role_passes():
    # given
    stack = new_stack()
    key = kms.Key(stack, "Key")
    dlq = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    role = own_role(stack)
    dlq.grant_send_messages(role)
    function(stack, role, dead_letter_queue=dlq)

    # then
    assert deployability.DEAD_LETTER_WRITABLE.id not in rules_fired(stack)


def test_a_key_policy_that_names_the_role_covers_an_encrypted_dead_letter_queue():
    # given the default key policy (IAM may decide) and, besides, a key statement for the role itself
    stack = new_stack()
    key = kms.Key(stack, "Key")
    dlq = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    role = own_role(stack)
    role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]))
    key.add_to_resource_policy(
        iam.PolicyStatement(actions=["kms:GenerateDataKey*", "kms:Decrypt"], principals=[role], resources=["*"])
    )
    function(stack, role, dead_letter_queue=dlq)

    # then
    assert deployability.DEAD_LETTER_WRITABLE.id not in rules_fired(stack)


def test_a_failure_destination_the_role_cannot_reach_is_refused():
    # given an asynchronous-invocation destination configured low-level, with no grant on the topic
    stack = new_stack()
    topic = sns.Topic(stack, "Failures")
    fn = function(stack, own_role(stack))
    lambda_.CfnEventInvokeConfig(
        stack,
        "Async",
        function_name=fn.function_name,
        qualifier="$LATEST",
        destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
            on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=topic.topic_arn)
        ),
    )

    # then
    [detail] = rules_fired(stack)[deployability.DEAD_LETTER_WRITABLE.id]
    assert "may not sns:Publish" in detail

    # and CDK's destination, which grants the role, satisfies it
    stack = new_stack()
    function(stack, own_role(stack), on_failure=destinations.SnsDestination(sns.Topic(stack, "Failures")))
    assert deployability.DEAD_LETTER_WRITABLE.id not in rules_fired(stack)


# --- Redshift Serverless in three AZs; MWAA in exactly two private subnets ---------------------------------------


def private_subnets(stack: cdk.Stack, zones: int) -> list[str]:
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=[f"eu-west-1{z}" for z in "abc"[:zones]],
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    return [s.subnet_id for s in vpc.isolated_subnets]


@pytest.mark.parametrize(("zones", "fires"), [(2, True), (3, False)])
def test_a_redshift_serverless_workgroup_needs_subnets_in_three_zones(zones: int, fires: bool):
    # given
    stack = new_stack()
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="wg", subnet_ids=private_subnets(stack, zones))

    # then
    assert (deployability.REDSHIFT_SERVERLESS_AZS.id in rules_fired(stack)) is fires


@pytest.mark.parametrize(("zones", "fires"), [(3, True), (2, False)])
def test_an_mwaa_environment_takes_exactly_two_subnets(zones: int, fires: bool):
    # given
    stack = new_stack()
    mwaa.CfnEnvironment(
        stack,
        "Environment",
        name="env",
        network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
            subnet_ids=private_subnets(stack, zones), security_group_ids=["sg-0123456789abcdef0"]
        ),
    )

    # then
    assert (deployability.MWAA_TWO_SUBNETS.id in rules_fired(stack)) is fires


def test_three_subnets_over_two_zones_are_enough_only_in_us_west_1():
    # given three subnets, two of them in one zone
    stack = new_stack()
    vpc = ec2.CfnVPC(stack, "Vpc", cidr_block="10.0.0.0/16")
    subnets = [
        ec2.CfnSubnet(
            stack,
            f"Subnet{i}",
            vpc_id=vpc.ref,
            cidr_block=f"10.0.{i}.0/24",
            availability_zone=cdk.Fn.select(zone, cdk.Fn.get_azs()),
        ).ref
        for i, zone in enumerate((0, 1, 1))
    ]
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="wg", subnet_ids=subnets)
    template = Template.from_stack(stack).to_json()

    # then (serverless-usage-considerations: N. California has two AZs and takes three subnets over them)
    assert {f.rule.id for f in findings(template)} == {deployability.REDSHIFT_SERVERLESS_AZS.id}
    assert {f.rule.id for f in findings(template, region="eu-west-1")} == {deployability.REDSHIFT_SERVERLESS_AZS.id}
    assert findings(template, region="us-west-1") == []


@pytest.mark.parametrize(("count", "severity"), [(2, "error"), (3, "warning")])
def test_subnets_from_outside_the_template_are_counted_and_their_zones_left_to_a_warning(count: int, severity: str):
    # given an imported VPC's subnet ids: the template cannot say their zones
    stack = new_stack()
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="wg", subnet_ids=[f"subnet-0{i}" for i in range(count)])

    # then
    [finding] = findings(Template.from_stack(stack).to_json())
    assert (finding.rule, finding.severity) == (deployability.REDSHIFT_SERVERLESS_AZS, severity)


def test_subnets_are_placed_by_availability_zone_id_too():
    # given three subnets named by zone id, two of them the same
    stack = new_stack()
    vpc = ec2.CfnVPC(stack, "Vpc", cidr_block="10.0.0.0/16")
    subnets = [
        ec2.CfnSubnet(
            stack, f"Subnet{i}", vpc_id=vpc.ref, cidr_block=f"10.0.{i}.0/24", availability_zone_id=zone_id
        ).ref
        for i, zone_id in enumerate(("euw1-az1", "euw1-az2", "euw1-az2"))
    ]
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="wg", subnet_ids=subnets)

    # then
    [detail] = rules_fired(stack)[deployability.REDSHIFT_SERVERLESS_AZS.id]
    assert "3 subnets in 2 Availability Zone(s)" in detail


def test_an_mwaa_environment_in_subnets_routed_to_an_internet_gateway_is_refused():
    # given CDK's public subnets, which (CT.EC2.PR.11) assign no public IPs but route to the internet gateway
    stack = new_stack()
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PUBLIC, map_public_ip_on_launch=False)
        ],
    )
    mwaa.CfnEnvironment(
        stack,
        "Environment",
        name="env",
        network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
            subnet_ids=[s.subnet_id for s in vpc.public_subnets], security_group_ids=["sg-0123456789abcdef0"]
        ),
    )

    # then
    details = rules_fired(stack)[deployability.MWAA_TWO_SUBNETS.id]
    assert len(details) == 2
    assert all("routes to an internet gateway" in d for d in details)


# --- Glue logging arguments match the Glue version --------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "argument", "fires"),
    [
        ("5.0", "--enable-continuous-cloudwatch-log", True),
        ("5.0", "--custom-logGroup-prefix", False),
        ("4.0", "--custom-logGroup-prefix", True),
        ("4.0", "--continuous-log-logGroup", False),
    ],
)
def test_glue_logging_arguments_must_be_those_of_the_jobs_version(version: str, argument: str, fires: bool):
    # given
    stack = new_stack()
    glue.CfnJob(
        stack,
        "Job",
        role="arn:aws:iam::111122223333:role/glue",
        glue_version=version,
        command=glue.CfnJob.JobCommandProperty(name="glueetl", script_location="s3://bucket/job.py"),
        default_arguments={argument: "/my/logs"},
    )

    # then
    assert (deployability.GLUE_LOGGING_VERSION.id in rules_fired(stack)) is fires


def test_a_glue_job_without_a_version_is_told_so():
    # given
    stack = new_stack()
    glue.CfnJob(
        stack,
        "Job",
        role="arn:aws:iam::111122223333:role/glue",
        command=glue.CfnJob.JobCommandProperty(name="glueetl", script_location="s3://bucket/job.py"),
        default_arguments={"--custom-logGroup-prefix": "/my/logs"},
    )

    # then
    [detail] = rules_fired(stack)[deployability.GLUE_LOGGING_VERSION.id]
    assert detail.startswith("A Glue job without GlueVersion job Job passes --custom-logGroup-prefix")


# --- An encrypted log group is covered by its key's policy -------------------------------------------------------


def test_a_log_group_encrypted_with_a_key_that_does_not_admit_cloudwatch_logs_is_refused():
    # given CDK's default key policy (the account only)
    stack = new_stack()
    key = kms.Key(stack, "Key")
    logs.LogGroup(stack, "Logs", log_group_name="/app/dev/logs", encryption_key=key)

    # then
    [detail] = rules_fired(stack)[deployability.LOG_GROUP_KEY.id]
    assert "log group /app/dev/logs" in detail

    # and a statement for CloudWatch Logs scoped to another prefix does not cover it either
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("logs.amazonaws.com")],
            resources=["*"],
            conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:*:*:log-group:/other/*"}},
        )
    )
    assert deployability.LOG_GROUP_KEY.id in rules_fired(stack)


def test_a_log_group_whose_key_admits_cloudwatch_logs_for_it_passes():
    # given
    stack = new_stack()
    key = kms.Key(stack, "Key")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal(f"logs.{cdk.Aws.REGION}.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:{cdk.Aws.PARTITION}:logs:{cdk.Aws.REGION}:"
                    f"{cdk.Aws.ACCOUNT_ID}:log-group:/app/dev/*"
                }
            },
        )
    )
    logs.LogGroup(stack, "Logs", log_group_name="/app/dev/logs", encryption_key=key)

    # then
    assert deployability.LOG_GROUP_KEY.id not in rules_fired(stack)


def test_a_key_condition_with_the_literal_region_and_account_covers_the_group():
    # given a stack with an environment: the condition names Region and account as text, the group's ARN does not
    stack = cdk.Stack(cdk.App(), "Minimal", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    key = kms.Key(stack, "Key")
    key.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"],
            principals=[iam.ServicePrincipal("logs.eu-west-1.amazonaws.com")],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:111122223333:log-group:/app/*"
                }
            },
        )
    )
    logs.LogGroup(stack, "Logs", log_group_name="/app/dev/logs", encryption_key=key)

    # then
    assert deployability.LOG_GROUP_KEY.id not in rules_fired(stack)


# --- A private webserver's in-VPC callers have the airflow.env endpoint -----------------------------------------


@pytest.mark.parametrize("with_endpoint", [False, True])
def test_a_vpc_caller_of_a_private_webserver_needs_the_airflow_env_endpoint(with_endpoint: bool):
    # given a PRIVATE_ONLY environment and a function in the VPC that may call InvokeRestApi
    stack = cdk.Stack(cdk.App(), "Minimal", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=["eu-west-1a", "eu-west-1b"],
        nat_gateways=0,
        restrict_default_security_group=False,
        subnet_configuration=[ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    mwaa.CfnEnvironment(
        stack,
        "Environment",
        name="env",
        webserver_access_mode="PRIVATE_ONLY",
        network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
            subnet_ids=[s.subnet_id for s in vpc.isolated_subnets], security_group_ids=["sg-0123456789abcdef0"]
        ),
    )
    caller = function(stack, vpc=vpc)
    caller.add_to_role_policy(iam.PolicyStatement(actions=["airflow:InvokeRestApi"], resources=["*"]))
    if with_endpoint:
        vpc.add_interface_endpoint("Env", service=ec2.InterfaceVpcEndpointAwsService("airflow.env"))

    # then
    assert (deployability.PRIVATE_WEBSERVER_ENDPOINT.id in rules_fired(stack)) is not with_endpoint


def test_an_airflow_env_endpoint_of_the_gateway_type_does_not_count():
    # given a low-level endpoint that leaves VpcEndpointType to CloudFormation's default (Gateway)
    stack = new_stack()
    vpc = vpc_of(stack)
    mwaa.CfnEnvironment(
        stack,
        "Environment",
        name="env",
        webserver_access_mode="PRIVATE_ONLY",
        network_configuration=mwaa.CfnEnvironment.NetworkConfigurationProperty(
            subnet_ids=[s.subnet_id for s in vpc.public_subnets], security_group_ids=["sg-0123456789abcdef0"]
        ),
    )
    ec2.CfnVPCEndpoint(
        stack,
        "Env",
        vpc_id=vpc.vpc_id,
        service_name=f"com.amazonaws.{cdk.Aws.REGION}.airflow.env",
        private_dns_enabled=True,
    )
    caller = function(stack, vpc=vpc, allow_public_subnet=True)
    caller.add_to_role_policy(iam.PolicyStatement(actions=["airflow:InvokeRestApi"], resources=["*"]))

    # then
    assert deployability.PRIVATE_WEBSERVER_ENDPOINT.id in rules_fired(stack)


# --- The pack runs on every synth ------------------------------------------------------------------------------


def glue_5_job_with_4_0_logging(stack: cdk.Stack) -> glue.CfnJob:
    return glue.CfnJob(
        stack,
        "Job",
        role="arn:aws:iam::111122223333:role/glue",
        glue_version="5.0",
        command=glue.CfnJob.JobCommandProperty(name="glueetl", script_location="s3://bucket/job.py"),
        default_arguments={"--enable-continuous-cloudwatch-log": "true"},
    )


def test_the_pack_fails_synth_with_the_aws_rule_and_its_documentation(tmp_path: Path):
    # given an app with the project's rule packs (apply_rule_packs registers this one) and a stack breaking one rule
    app = CompliantApp(outdir=str(tmp_path))
    glue_5_job_with_4_0_logging(cdk.Stack(app, "Fork"))
    apply_rule_packs(app)

    # then
    with pytest.raises(NonCompliantError) as refused:
        app.synth()
    message = str(refused.value)
    assert "GlueLoggingArgumentsMatchVersion (deployability)" in message
    assert "docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html" in message
    assert "Fork/Job" in message


def test_an_acknowledged_finding_passes_synth_and_the_report_keeps_it_with_its_reason(tmp_path: Path):
    # given the finding acknowledged on its construct, as cdk-nag's and Control Tower's are
    app = CompliantApp(outdir=str(tmp_path))
    job = glue_5_job_with_4_0_logging(cdk.Stack(app, "Fork"))
    acknowledge(job, f"{deployability.PLUGIN}::{deployability.GLUE_LOGGING_VERSION.id}", "the fork's own reason")
    cdk.Validations.of(app).add_plugins(deployability.DeployabilityChecks())

    # when
    app.synth()

    # then
    [report] = json.loads((tmp_path / VALIDATION_REPORT).read_text())["pluginReports"]
    [suppressed] = report["suppressedViolations"]
    assert (suppressed["ruleName"], suppressed["reason"]) == (
        deployability.GLUE_LOGGING_VERSION.id,
        "the fork's own reason",
    )
    assert [c["constructPath"] for c in suppressed["violatingConstructs"]] == ["Fork/Job"]
    assert report["violations"] == []


@pytest.mark.parametrize(("region", "refused"), [("us-west-1", False), ("eu-west-1", True)])
def test_the_plugin_judges_each_stack_in_its_region(tmp_path: Path, region: str, refused: bool):
    # given a workgroup over three subnets in two zones, in a stack deployed to `region`
    app = CompliantApp(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Warehouse", env=cdk.Environment(account="111122223333", region=region))
    vpc = ec2.CfnVPC(stack, "Vpc", cidr_block="10.0.0.0/16")
    subnets = [
        ec2.CfnSubnet(
            stack,
            f"Subnet{i}",
            vpc_id=vpc.ref,
            cidr_block=f"10.0.{i}.0/24",
            availability_zone=cdk.Fn.select(zone, cdk.Fn.get_azs()),
        ).ref
        for i, zone in enumerate((0, 1, 1))
    ]
    redshift.CfnWorkgroup(stack, "Workgroup", workgroup_name="wg", subnet_ids=subnets)
    cdk.Validations.of(app).add_plugins(deployability.DeployabilityChecks())

    # then (the Region comes from the assembly's manifest, which exists when the plugins run)
    if refused:
        with pytest.raises(NonCompliantError, match="RedshiftServerlessThreeAzs"):
            app.synth()
    else:
        app.synth()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_project_stacks_pass_every_rule_without_acknowledging_any(synth: Callable[[str], Path], env: str):
    # when
    assembly = synth(env)
    found = [
        f"{template.name}: [{f.severity}] {f.rule.id} {f.logical_id}: {f.detail}"
        for template in sorted(assembly.glob("*.template.json"))
        for f in findings(json.loads(template.read_text()), deployability.stack_region(template))
    ]
    # (a plugin with nothing to report, violated or acknowledged, leaves no entry in the report)
    reports = [
        r
        for r in json.loads((assembly / VALIDATION_REPORT).read_text())["pluginReports"]
        if r["pluginName"] == deployability.PLUGIN
    ]

    # then
    assert found == []
    assert all(r["violations"] == [] and not r.get("suppressedViolations") for r in reports)


def test_every_rule_names_its_aws_documentation():
    for rule in deployability.RULES:
        assert "https://" in rule.doc, rule.id
        assert rule.doc in rule.message("x")
