"""The deployability rule pack: AWS rules a template can break while every linter stays green, checked at synth.

Each rule encodes one class of defect that CloudFormation accepts and AWS then refuses at deploy time, or that
deploys and silently does not work (a notification never delivered, a dead letter lost). It runs as a CDK
policy-validation plugin beside cdk-nag and the Control Tower controls (stacks/compliance.py), reads every
synthesized template, and reports each finding on the construct that owns the resource, so a fork's new
function, topic or log group gets the same protection. A finding is acknowledged like any other:
`Validations.of(construct).acknowledge("deployability::<rule>", reason)` (stacks.compliance.acknowledge).

Written by hand: the rules reason across resources (a function, its role, the role's policies, a queue, its key
and the key's policy), resolving CloudFormation references (Ref, Fn::GetAtt, Fn::Join); neither cdk-nag's
per-resource rules nor cfn-guard's property checks express that, and no library resolves intrinsics this way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    IPolicyValidationContextBeta1,
    IPolicyValidationPluginBeta1,
    PolicyValidationPluginReportBeta1,
    PolicyViolatingResourceBeta1,
    PolicyViolationBeta1,
)

from stacks.data_platform.glue_jobs import GLUE_LOGGING_ARGUMENTS, GLUE_LOGGING_DOCS, misplaced_logging_arguments

PLUGIN = "deployability"

# What a VPC function's role needs to create, describe and delete its network interfaces
# (docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).
ENI_ACTIONS = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")
ENI_MANAGED_POLICIES = ("AWSLambdaVPCAccessExecutionRole", "AWSLambdaENIManagementAccess")
# A producer to an SSE-KMS queue or topic needs these on the key (SQS developer guide, "Key management";
# docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
PRODUCER_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# CloudWatch Logs encrypting a log group (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
LOGS_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class Rule:
    """One AWS rule: its id, what AWS says, where it says it."""

    id: str
    aws_rule: str
    doc: str

    def message(self, detail: str) -> str:
        return f"{detail}. AWS rule: {self.aws_rule} ({self.doc})"


VPC_FUNCTION_ENI = Rule(
    "VpcFunctionEniPermissions",
    "a function in a VPC needs an execution role that may create, describe and delete network interfaces; "
    "CDK adds them only to a role it creates, and CreateFunction fails otherwise",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
)
SERVICE_MAY_PUBLISH = Rule(
    "ServicePrincipalMayDeliver",
    "a topic or queue policy replaces the default one, so an AWS service that delivers to it (CloudWatch alarms, "
    "EventBridge rules, S3 notifications) must be allowed by that policy, and by the key's policy when the topic "
    "or queue is encrypted with a customer managed key",
    "https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger, "
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html",
)
DEAD_LETTER_WRITABLE = Rule(
    "FunctionDeadLetterWritable",
    "Lambda sends to a function's dead-letter queue or failure destination with the function's execution role; "
    "for an encrypted queue or topic the role also needs kms:GenerateDataKey and kms:Decrypt on its key",
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html, "
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html",
)
REDSHIFT_SERVERLESS_AZS = Rule(
    "RedshiftServerlessThreeAzs",
    "a Redshift Serverless workgroup needs at least three subnets spanning three Availability Zones",
    "https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html",
)
MWAA_TWO_SUBNETS = Rule(
    "MwaaTwoPrivateSubnets",
    "an MWAA environment takes exactly two private subnets in two different Availability Zones",
    "https://docs.aws.amazon.com/mwaa/latest/userguide/networking-about.html",
)
GLUE_LOGGING_VERSION = Rule(
    "GlueLoggingArgumentsMatchVersion",
    "the continuous-logging arguments are Glue 4.0-and-earlier options; Glue 5.0 logs to its own groups unless "
    "--custom-logGroup-prefix is given",
    GLUE_LOGGING_DOCS["5.0"] + ", " + GLUE_LOGGING_DOCS["4.0"],
)
LOG_GROUP_KEY = Rule(
    "EncryptedLogGroupKeyPolicy",
    "a log group encrypted with a KMS key needs that key's policy to let logs.<region>.amazonaws.com encrypt, "
    "decrypt and generate data keys for it (kms:EncryptionContext:aws:logs:arn), or the log group cannot be created",
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html",
)
PRIVATE_WEBSERVER_ENDPOINT = Rule(
    "PrivateWebserverAirflowEnvEndpoint",
    "with a PRIVATE_ONLY webserver, InvokeRestApi (host env.airflow.<region>.amazonaws.com) answers callers in the "
    "VPC only through the com.amazonaws.<region>.airflow.env interface endpoint with private DNS",
    "https://docs.aws.amazon.com/mwaa/latest/userguide/access-mwaa-apache-airflow-rest-api.html, "
    "https://docs.aws.amazon.com/mwaa/latest/userguide/vpc-vpe-access.html",
)
RULES = (
    VPC_FUNCTION_ENI,
    SERVICE_MAY_PUBLISH,
    DEAD_LETTER_WRITABLE,
    REDSHIFT_SERVERLESS_AZS,
    MWAA_TWO_SUBNETS,
    GLUE_LOGGING_VERSION,
    LOG_GROUP_KEY,
    PRIVATE_WEBSERVER_ENDPOINT,
)


@dataclass(frozen=True)
class Finding:
    rule: Rule
    logical_id: str
    detail: str
    severity: str = "error"


# --- Reading a template -----------------------------------------------------------------------------------------


class Template:
    """One synthesized template, with the reference resolution and policy reading the rules share."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = data.get("Resources", {})

    def of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield logical_id, resource.get("Properties", {})

    def props(self, logical_id: str | None) -> dict[str, Any]:
        return self.resources.get(logical_id or "", {}).get("Properties", {})

    def type_of(self, logical_id: str | None) -> str | None:
        return self.resources.get(logical_id or "", {}).get("Type")

    @staticmethod
    def target(value: Any) -> str | None:
        """The logical id a Ref or Fn::GetAtt names, else None (a literal ARN or name: not in this template)."""
        if isinstance(value, dict):
            if "Ref" in value:
                return value["Ref"]
            if "Fn::GetAtt" in value:
                attribute = value["Fn::GetAtt"]
                return attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0]
        return None

    def policy_statements_of_role(self, role_id: str) -> tuple[list[dict[str, Any]], list[Any]]:
        """Allow/Deny statements of the role's inline and attached AWS::IAM::Policy documents, and its managed ARNs."""
        role = self.props(role_id)
        statements = [
            s for p in role.get("Policies", []) for s in as_list(p.get("PolicyDocument", {}).get("Statement"))
        ]
        for _, policy in self.of_type("AWS::IAM::Policy"):
            if any(self.target(r) == role_id for r in as_list(policy.get("Roles"))):
                statements += as_list(policy.get("PolicyDocument", {}).get("Statement"))
        return statements, as_list(role.get("ManagedPolicyArns"))

    def resource_policy_statements(self, policy_type: str, attribute: str, target_id: str) -> list[dict[str, Any]]:
        return [
            statement
            for _, policy in self.of_type(policy_type)
            if any(self.target(t) == target_id for t in as_list(policy.get(attribute)))
            for statement in as_list(policy.get("PolicyDocument", {}).get("Statement"))
        ]

    def key_of(self, logical_id: str, attribute: str) -> tuple[str | None, Any]:
        """(key logical id in this template or None, the raw value) of an encrypted resource's key property."""
        value = self.props(logical_id).get(attribute)
        return self.target(value), value

    def zone_of_subnet(self, subnet: Any) -> str | None:
        """A comparable text for a subnet's Availability Zone, or None when the subnet is not in this template."""
        subnet_id = self.target(subnet)
        if self.type_of(subnet_id) != "AWS::EC2::Subnet":
            return None
        zone = self.props(subnet_id).get("AvailabilityZone")
        return None if zone is None else json.dumps(zone, sort_keys=True)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    """A value flattened to text (Fn::Join joined, references as <Id>), for matching ARNs and principals."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(text(p) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            attribute = value["Fn::GetAtt"]
            return "<{}.{}>".format(*attribute) if isinstance(attribute, list) else f"<{attribute}>"
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else sub[0]
    return json.dumps(value, sort_keys=True)


def _action_allowed(statement: dict[str, Any], action: str) -> bool:
    patterns = as_list(statement.get("Action"))
    return any(fnmatchcase(action.lower(), text(p).lower()) for p in patterns)


def _resource_covers(statement: dict[str, Any], target_id: str) -> bool:
    """Whether the statement's Resource covers the resource `target_id` of this template ('*' or a reference)."""
    for resource in as_list(statement.get("Resource")):
        flat = text(resource)
        if flat == "*" or f"<{target_id}" in flat:
            return True
    return False


def _service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, dict):
        if principal.get("AWS") == "*":
            return ["*"]
        # CDK writes some service principals with the partition's URL suffix: amazonaws.com in the commercial one.
        return [text(s).replace("<AWS::URLSuffix>", "amazonaws.com") for s in as_list(principal.get("Service"))]
    return []


def _admits_service(statement: dict[str, Any], service_pattern: str) -> bool:
    return any(p == "*" or fnmatchcase(p, service_pattern) for p in _service_principals(statement))


def _allows(
    statements: Iterable[dict[str, Any]], actions: Iterable[str], **matches: Callable[[dict], bool]
) -> list[str]:
    """The actions no Allow statement grants (among those statements that pass every `matches` predicate)."""
    allowing = [s for s in statements if s.get("Effect") == "Allow" and all(m(s) for m in matches.values())]
    return [a for a in actions if not any(_action_allowed(s, a) for s in allowing)]


def _key_lets_iam_decide(key_policy: list[dict[str, Any]]) -> bool:
    """The key policy's statement that lets the account's IAM policies grant use of the key (the default policy)."""
    for statement in key_policy:
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        root = aws is not None and any(text(a).endswith(":root") for a in as_list(aws))
        if (
            statement.get("Effect") == "Allow"
            and root
            and all(_action_allowed(statement, a) for a in PRODUCER_KEY_ACTIONS)
        ):
            return True
    return False


def _key_statements(t: Template, key_id: str) -> list[dict[str, Any]]:
    return as_list(t.props(key_id).get("KeyPolicy", {}).get("Statement"))


# --- The rules ----------------------------------------------------------------------------------------------------


def vpc_functions_have_eni_permissions(t: Template) -> Iterator[Finding]:
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        if not function.get("VpcConfig"):
            continue
        role_id = t.target(function.get("Role"))
        if role_id is None:
            continue  # a role from outside the template: its policies cannot be read here
        statements, managed = t.policy_statements_of_role(role_id)
        if any(any(name in text(arn) for name in ENI_MANAGED_POLICIES) for arn in managed):
            continue
        missing = _allows(statements, ENI_ACTIONS)
        if missing:
            yield Finding(
                VPC_FUNCTION_ENI,
                function_id,
                f"function {function_id} runs in a VPC but its role {role_id} may not {', '.join(missing)}",
            )


def _deliveries(t: Template) -> Iterator[tuple[str, str, str, str]]:
    """(source logical id, service principal pattern, delivery target logical id, source ARN hint) of the template."""
    for alarm_id, alarm in t.of_type("AWS::CloudWatch::Alarm"):
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in as_list(alarm.get(key)):
                target = t.target(action)
                if t.type_of(target) == "AWS::SNS::Topic":
                    yield alarm_id, "cloudwatch.amazonaws.com", target, "alarm"
    for rule_id, rule in t.of_type("AWS::Events::Rule"):
        for target in as_list(rule.get("Targets")):
            destinations = [] if target.get("RoleArn") else [t.target(target.get("Arn"))]
            destinations.append(t.target((target.get("DeadLetterConfig") or {}).get("Arn")))
            for destination in destinations:
                if t.type_of(destination) in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
                    yield rule_id, "events.amazonaws.com", destination, "rule"
    for bucket_id, bucket in t.of_type("AWS::S3::Bucket"):
        notifications = bucket.get("NotificationConfiguration") or {}
        for key, attribute in (("TopicConfigurations", "Topic"), ("QueueConfigurations", "Queue")):
            for configuration in as_list(notifications.get(key)):
                destination = t.target(configuration.get(attribute))
                if destination is not None:
                    yield bucket_id, "s3.amazonaws.com", destination, "bucket"


def services_may_deliver(t: Template) -> Iterator[Finding]:
    for source_id, service, destination, _ in _deliveries(t):
        is_topic = t.type_of(destination) == "AWS::SNS::Topic"
        policy_type, attribute, action, key_attribute = (
            ("AWS::SNS::TopicPolicy", "Topics", "sns:Publish", "KmsMasterKeyId")
            if is_topic
            else ("AWS::SQS::QueuePolicy", "Queues", "sqs:SendMessage", "KmsMasterKeyId")
        )
        statements = t.resource_policy_statements(policy_type, attribute, destination)
        # Without a policy of its own, a topic keeps SNS's default policy, which CloudWatch alarms can publish
        # through; EventBridge and S3 need a resource policy on every topic or queue.
        needs_policy = statements or not (is_topic and service == "cloudwatch.amazonaws.com")
        if needs_policy and _allows(statements, [action], service=lambda s, p=service: _admits_service(s, p)):
            yield Finding(
                SERVICE_MAY_PUBLISH,
                destination,
                f"{source_id} delivers to {destination} as {service}, which its {policy_type} does not allow {action}",
            )
        key_id, raw_key = t.key_of(destination, key_attribute)
        if isinstance(raw_key, str) and raw_key.startswith("alias/aws/"):
            yield Finding(
                SERVICE_MAY_PUBLISH,
                destination,
                f"{destination} is encrypted with the AWS managed key {raw_key}, whose policy no service principal "
                f"such as {service} can be added to: use a customer managed key",
            )
        elif t.type_of(key_id) == "AWS::KMS::Key":
            missing = _allows(
                _key_statements(t, key_id), PRODUCER_KEY_ACTIONS, service=lambda s, p=service: _admits_service(s, p)
            )
            if missing:
                yield Finding(
                    SERVICE_MAY_PUBLISH,
                    key_id,
                    f"{source_id} delivers to {destination} as {service}, but the policy of its key {key_id} does "
                    f"not allow {service} {', '.join(missing)}",
                )


def dead_letters_are_writable(t: Template) -> Iterator[Finding]:
    targets: list[tuple[str, Any]] = []
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        targets.append((function_id, (function.get("DeadLetterConfig") or {}).get("TargetArn")))
    for _, config in t.of_type("AWS::Lambda::EventInvokeConfig"):
        function_id = t.target(config.get("FunctionName"))
        destinations = config.get("DestinationConfig") or {}
        for key in ("OnFailure", "OnSuccess"):
            targets.append((function_id or "", (destinations.get(key) or {}).get("Destination")))
    for function_id, destination_value in targets:
        destination = t.target(destination_value)
        kind = t.type_of(destination)
        if kind not in ("AWS::SQS::Queue", "AWS::SNS::Topic"):
            continue
        role_id = t.target(t.props(function_id).get("Role"))
        if role_id is None:
            continue
        statements, _ = t.policy_statements_of_role(role_id)
        action = "sqs:SendMessage" if kind == "AWS::SQS::Queue" else "sns:Publish"
        if _allows(statements, [action], resource=lambda s, d=destination: _resource_covers(s, d)):
            yield Finding(
                DEAD_LETTER_WRITABLE,
                function_id,
                f"function {function_id} sends its failed events to {destination}, but its role {role_id} may not "
                f"{action} on it",
            )
        key_id, _ = t.key_of(destination, "KmsMasterKeyId")
        if t.type_of(key_id) != "AWS::KMS::Key":
            continue
        key_policy = _key_statements(t, key_id)
        if _key_lets_iam_decide(key_policy):
            missing = _allows(statements, PRODUCER_KEY_ACTIONS, resource=lambda s, k=key_id: _resource_covers(s, k))
        else:
            missing = _allows(key_policy, PRODUCER_KEY_ACTIONS, role=lambda s, r=role_id: f"<{r}" in json.dumps(s))
        if missing:
            yield Finding(
                DEAD_LETTER_WRITABLE,
                function_id,
                f"function {function_id} sends its failed events to {destination}, encrypted with {key_id}, but its "
                f"role {role_id} may not {', '.join(missing)} with that key",
            )


def redshift_serverless_spans_three_azs(t: Template) -> Iterator[Finding]:
    for workgroup_id, workgroup in t.of_type("AWS::RedshiftServerless::Workgroup"):
        subnets = as_list(workgroup.get("SubnetIds"))
        zones = [t.zone_of_subnet(s) for s in subnets]
        known = {z for z in zones if z is not None}
        if None in zones:
            if len(subnets) < 3:
                yield Finding(
                    REDSHIFT_SERVERLESS_AZS, workgroup_id, f"workgroup {workgroup_id} has {len(subnets)} subnet(s)"
                )
            else:
                yield Finding(
                    REDSHIFT_SERVERLESS_AZS,
                    workgroup_id,
                    f"workgroup {workgroup_id} has subnets from outside the template whose zones cannot be checked "
                    "here (the configuration check does: stacks/config.py)",
                    severity="warning",
                )
        elif len(subnets) < 3 or len(known) < 3:
            yield Finding(
                REDSHIFT_SERVERLESS_AZS,
                workgroup_id,
                f"workgroup {workgroup_id} has {len(subnets)} subnet(s) in {len(known)} Availability Zone(s)",
            )


def mwaa_has_two_private_subnets(t: Template) -> Iterator[Finding]:
    for environment_id, environment in t.of_type("AWS::MWAA::Environment"):
        subnets = as_list((environment.get("NetworkConfiguration") or {}).get("SubnetIds"))
        zones = [t.zone_of_subnet(s) for s in subnets]
        if len(subnets) != 2:
            yield Finding(MWAA_TWO_SUBNETS, environment_id, f"environment {environment_id} has {len(subnets)} subnets")
        elif None not in zones and len(set(zones)) != 2:
            yield Finding(MWAA_TWO_SUBNETS, environment_id, f"environment {environment_id}'s subnets share one zone")
        for subnet in subnets:
            subnet_id = t.target(subnet)
            if t.type_of(subnet_id) == "AWS::EC2::Subnet" and t.props(subnet_id).get("MapPublicIpOnLaunch") is True:
                yield Finding(MWAA_TWO_SUBNETS, environment_id, f"subnet {subnet_id} of {environment_id} is public")


def glue_logging_matches_version(t: Template) -> Iterator[Finding]:
    for job_id, job in t.of_type("AWS::Glue::Job"):
        version = str(job.get("GlueVersion", ""))
        misplaced = misplaced_logging_arguments(version, dict(job.get("DefaultArguments") or {}))
        if misplaced:
            accepted = sorted(GLUE_LOGGING_ARGUMENTS.get(version, ()))
            yield Finding(
                GLUE_LOGGING_VERSION,
                job_id,
                f"Glue {version} job {job_id} passes {', '.join(misplaced)}; Glue {version} takes {accepted or 'none'}",
            )


def encrypted_log_groups_are_covered_by_their_key(t: Template) -> Iterator[Finding]:
    for group_id, group in t.of_type("AWS::Logs::LogGroup"):
        key_id = t.target(group.get("KmsKeyId"))
        if t.type_of(key_id) != "AWS::KMS::Key":
            continue
        name = text(group.get("LogGroupName", f"<{group_id}>"))
        arn = f"arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{name}"

        def covers(statement: dict[str, Any], arn: str = arn) -> bool:
            condition = statement.get("Condition") or {}
            patterns = [
                text(p)
                for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals")
                for p in as_list((condition.get(operator) or {}).get("kms:EncryptionContext:aws:logs:arn"))
            ]
            return not condition or any(fnmatchcase(arn, p) or fnmatchcase(arn + ":*", p) for p in patterns)

        missing = _allows(
            _key_statements(t, key_id),
            LOGS_KEY_ACTIONS,
            service=lambda s: _admits_service(s, "logs.*.amazonaws.com"),
            group=covers,
        )
        if missing:
            yield Finding(
                LOG_GROUP_KEY,
                group_id,
                f"log group {name} is encrypted with {key_id}, whose policy does not let CloudWatch Logs "
                f"{', '.join(missing)} for it",
            )


def private_webservers_have_the_env_endpoint(t: Template) -> Iterator[Finding]:
    private = [i for i, e in t.of_type("AWS::MWAA::Environment") if e.get("WebserverAccessMode") == "PRIVATE_ONLY"]
    if not private:
        return
    endpoints = [
        e
        for _, e in t.of_type("AWS::EC2::VPCEndpoint")
        if text(e.get("ServiceName", "")).endswith(".airflow.env") and e.get("PrivateDnsEnabled") is True
    ]
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        if not function.get("VpcConfig"):
            continue
        role_id = t.target(function.get("Role"))
        statements, _ = t.policy_statements_of_role(role_id) if role_id else ([], [])
        if _allows(statements, ["airflow:InvokeRestApi"]):
            continue  # not a caller of the REST API
        vpcs = {
            json.dumps(t.props(t.target(s)).get("VpcId"), sort_keys=True)
            for s in as_list(function["VpcConfig"].get("SubnetIds"))
            if t.type_of(t.target(s)) == "AWS::EC2::Subnet"
        }
        same_vpc = [e for e in endpoints if not vpcs or json.dumps(e.get("VpcId"), sort_keys=True) in vpcs]
        if not same_vpc:
            yield Finding(
                PRIVATE_WEBSERVER_ENDPOINT,
                function_id,
                f"function {function_id} calls InvokeRestApi from a VPC while {', '.join(private)} has a private "
                "webserver, and that VPC has no airflow.env interface endpoint with private DNS in this template",
            )


CHECKS: tuple[Callable[[Template], Iterable[Finding]], ...] = (
    vpc_functions_have_eni_permissions,
    services_may_deliver,
    dead_letters_are_writable,
    redshift_serverless_spans_three_azs,
    mwaa_has_two_private_subnets,
    glue_logging_matches_version,
    encrypted_log_groups_are_covered_by_their_key,
    private_webservers_have_the_env_endpoint,
)


def findings(template: dict[str, Any]) -> list[Finding]:
    """Every finding of the rule pack on one template (the plugin reports these; tests call it directly)."""
    t = Template(template)
    return [finding for check in CHECKS for finding in check(t)]


@jsii.implements(IPolicyValidationPluginBeta1)
class DeployabilityChecks:
    """The rule pack as a CDK policy-validation plugin: runs on every synth, on every template of the app."""

    @property
    def name(self) -> str:
        return PLUGIN

    @property
    def version(self) -> str:
        return "1"

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in RULES]

    def validate(self, context: IPolicyValidationContextBeta1) -> PolicyValidationPluginReportBeta1:
        violations = []
        for template_path in context.template_paths:
            for finding in findings(json.loads(Path(template_path).read_text())):
                violations.append(
                    PolicyViolationBeta1(
                        rule_name=finding.rule.id,
                        description=finding.rule.message(finding.detail),
                        severity=finding.severity,
                        violating_resources=[
                            PolicyViolatingResourceBeta1(
                                resource_logical_id=finding.logical_id,
                                template_path=template_path,
                                locations=["Properties"],
                            )
                        ],
                    )
                )
        return PolicyValidationPluginReportBeta1(
            success=not any(v.severity == "error" for v in violations), violations=violations
        )
