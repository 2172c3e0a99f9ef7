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
from aws_cdk import aws_logs as logs
from aws_cdk import aws_mwaa as mwaa
from aws_cdk import aws_redshiftserverless as redshift
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from stacks import deployability
from stacks.compliance import VALIDATION_REPORT, CompliantApp, NonCompliantError, apply_rule_packs
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


# --- The pack runs on every synth ------------------------------------------------------------------------------


def test_the_pack_fails_synth_with_the_aws_rule_and_its_documentation(tmp_path: Path):
    # given an app with the project's rule packs and a stack breaking one deployability rule
    app = CompliantApp(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Fork")
    glue.CfnJob(
        stack,
        "Job",
        role="arn:aws:iam::111122223333:role/glue",
        glue_version="5.0",
        command=glue.CfnJob.JobCommandProperty(name="glueetl", script_location="s3://bucket/job.py"),
        default_arguments={"--enable-continuous-cloudwatch-log": "true"},
    )
    apply_rule_packs(app)

    # then
    with pytest.raises(NonCompliantError) as refused:
        app.synth()
    message = str(refused.value)
    assert "GlueLoggingArgumentsMatchVersion (deployability)" in message
    assert "docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html" in message
    assert "Fork/Job" in message


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_project_stacks_pass_every_rule_without_acknowledging_any(synth: Callable[[str], Path], env: str):
    # when (a plugin with nothing to report, violated or acknowledged, leaves no entry in the report)
    reports = [
        r
        for r in json.loads((synth(env) / VALIDATION_REPORT).read_text())["pluginReports"]
        if r["pluginName"] == deployability.PLUGIN
    ]

    # then
    assert all(r["violations"] == [] and not r.get("suppressedViolations") for r in reports)


def test_every_rule_names_its_aws_documentation():
    for rule in deployability.RULES:
        assert "https://" in rule.doc, rule.id
        assert rule.doc in rule.message("x")
