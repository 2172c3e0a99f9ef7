"""The deployability rule pack: AWS rules a template can break while every linter stays green, checked at synth.

Each rule encodes one class of defect that CloudFormation accepts and AWS then refuses at deploy time, or that
deploys and silently does not work (a notification never delivered, a dead letter lost). It runs as a CDK
policy-validation plugin beside cdk-nag and the Control Tower controls (stacks/compliance.py), reads every
synthesized template, and reports each finding on the construct that owns the resource (CDK maps the logical id
to the construct path), so a fork's new function, topic or log group gets the same protection. A finding is
acknowledged like any other: `acknowledge(construct, "deployability::<rule id>", reason)` (stacks.compliance).

Written by hand: the rules reason across resources (a function, its role, the role's policies, a queue, its key
and the key's policy), resolving CloudFormation references (Ref, Fn::GetAtt, Fn::Join, Fn::Sub); neither cdk-nag's
per-resource rules nor cfn-guard's property checks express that, and no library resolves intrinsics this way
(cfn-lint resolves some for its own checks only; it exposes no "what does this statement grant whom" API).

What the rules deliberately do not evaluate: Deny statements, conditions (other than the log-group encryption
context), permission boundaries and SCPs. They answer "is there an Allow for this at all", which is what every
defect they were written for lacked; a Deny that breaks a grant is a different class of defect.
"""

from __future__ import annotations

import json
import re
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
# AWS managed policies that carry them (docs.aws.amazon.com/aws-managed-policy/latest/reference/
# AWSLambdaVPCAccessExecutionRole.html, .../AWSLambdaENIManagementAccess.html).
ENI_MANAGED_POLICIES = ("AWSLambdaVPCAccessExecutionRole", "AWSLambdaENIManagementAccess")
# A producer to an SSE-KMS queue or topic needs these on the key (SQS developer guide, "Key management";
# docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
PRODUCER_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
# CloudWatch Logs encrypting a log group (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html).
LOGS_KEY_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey")
# What a function's role needs per kind of asynchronous-invocation destination or dead-letter target
# (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
DESTINATION_ACTIONS = {
    "AWS::SQS::Queue": "sqs:SendMessage",
    "AWS::SNS::Topic": "sns:Publish",
    "AWS::Lambda::Function": "lambda:InvokeFunction",
    "AWS::Events::EventBus": "events:PutEvents",
}
# The one Region where Redshift Serverless takes three subnets over two AZs (serverless-usage-considerations.html).
TWO_AZ_REDSHIFT_SERVERLESS_REGIONS = frozenset({"us-west-1"})


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
    "a function in a VPC needs an execution role that may create, describe and delete network interfaces when "
    "the function is created; CDK adds them only to a role it creates, and CreateFunction fails otherwise",
    "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
)
SERVICE_MAY_PUBLISH = Rule(
    "ServicePrincipalMayDeliver",
    "a topic or queue policy replaces the default one, so an AWS service that delivers to it (CloudWatch alarms, "
    "EventBridge rules, S3 notifications, SNS subscriptions) must be allowed by that policy, and by the key's policy "
    "when the topic or queue is encrypted, which must then be a customer managed key",
    "https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger, "
    "https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification, "
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html, "
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/grant-destinations-permissions-to-s3.html, "
    "https://docs.aws.amazon.com/sns/latest/dg/sns-sqs-as-subscriber.html, "
    "https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html",
)
DEAD_LETTER_WRITABLE = Rule(
    "FunctionDeadLetterWritable",
    "Lambda sends to a function's dead-letter queue or destination with the function's execution role (checked "
    "when the function or its configuration is created); for an encrypted queue or topic the role also needs "
    "kms:GenerateDataKey and kms:Decrypt on its key",
    "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html, "
    "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html",
)
REDSHIFT_SERVERLESS_AZS = Rule(
    "RedshiftServerlessThreeAzs",
    "a Redshift Serverless workgroup needs at least three subnets spanning three Availability Zones (two in us-west-1)",
    "https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-usage-considerations.html",
)
MWAA_TWO_SUBNETS = Rule(
    "MwaaTwoPrivateSubnets",
    "an MWAA environment takes exactly two private subnets (no route to an internet gateway) in two different "
    "Availability Zones",
    "https://docs.aws.amazon.com/mwaa/latest/userguide/networking-about.html, "
    "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-mwaa-environment-networkconfiguration.html",
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
    "https://docs.aws.amazon.com/mwaa/latest/userguide/vpc-vpe-access.html, "
    "https://docs.aws.amazon.com/mwaa/latest/userguide/security-privatelink.html",
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


@dataclass(frozen=True)
class Grant:
    """One policy statement of a role, and the separate policy resource it comes from (None: part of the role)."""

    statement: dict[str, Any]
    source: str | None = None


# --- Reading a template -----------------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text(value: Any) -> str:
    """A value flattened to text (Fn::Join joined, references as <Id> or <Id.Attribute>), for matching ARNs."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(text(p) for p in as_list(parts))
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            attribute = value["Fn::GetAtt"]
            return "<{}.{}>".format(*attribute) if isinstance(attribute, list) else f"<{attribute}>"
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            template = sub if isinstance(sub, str) else sub[0]
            return re.sub(r"\$\{([^!}][^}]*)\}", r"<\1>", template)
    return json.dumps(value, sort_keys=True)


def references(value: Any) -> Iterator[str]:
    """Every logical id or parameter a value refers to (Ref, Fn::GetAtt, Fn::Sub's ${...})."""
    if isinstance(value, list):
        for item in value:
            yield from references(item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
            elif key == "Fn::Sub":
                template = inner if isinstance(inner, str) else inner[0]
                yield from (m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", template))
                if isinstance(inner, list) and len(inner) > 1:
                    yield from references(inner[1])
            else:
                yield from references(inner)


class Template:
    """One synthesized template, with the reference resolution and policy reading the rules share."""

    def __init__(self, data: dict[str, Any], region: str | None = None) -> None:
        self.resources: dict[str, dict[str, Any]] = data.get("Resources", {})
        self.region = region  # None: environment-agnostic (the template may deploy to any Region)
        self._dependencies: dict[str, frozenset[str]] = {}

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

    def dependencies(self, logical_id: str) -> frozenset[str]:
        """Every resource CloudFormation creates before `logical_id`: its DependsOn and references, transitively."""
        if logical_id not in self._dependencies:
            seen: set[str] = set()
            pending = [logical_id]
            while pending:
                resource = self.resources.get(pending.pop(), {})
                for dependency in [*as_list(resource.get("DependsOn")), *references(resource.get("Properties"))]:
                    if dependency in self.resources and dependency not in seen:
                        seen.add(dependency)
                        pending.append(dependency)
            self._dependencies[logical_id] = frozenset(seen)
        return self._dependencies[logical_id]

    def grants_of_role(self, role_id: str) -> tuple[list[Grant], list[Any]]:
        """The role's Allow/Deny statements, each with the separate policy resource it comes from (None when the
        role carries it: inline Policies, or a template managed policy the role lists), and its other managed ARNs.

        A separate AWS::IAM::Policy, AWS::IAM::RolePolicy or AWS::IAM::ManagedPolicy naming the role attaches only
        when CloudFormation creates that resource, which may come after a resource that needs the grant."""
        role = self.props(role_id)
        grants = [
            Grant(s) for p in role.get("Policies", []) for s in as_list(p.get("PolicyDocument", {}).get("Statement"))
        ]
        managed = []
        for arn in as_list(role.get("ManagedPolicyArns")):
            policy_id = self.target(arn)
            if self.type_of(policy_id) == "AWS::IAM::ManagedPolicy":
                grants += [Grant(s) for s in as_list(self.props(policy_id).get("PolicyDocument", {}).get("Statement"))]
            else:
                managed.append(arn)
        for policy_type, attribute in (
            ("AWS::IAM::Policy", "Roles"),
            ("AWS::IAM::ManagedPolicy", "Roles"),
            ("AWS::IAM::RolePolicy", "RoleName"),
        ):
            for policy_id, policy in self.of_type(policy_type):
                if any(self.target(r) == role_id for r in as_list(policy.get(attribute))):
                    grants += [Grant(s, policy_id) for s in as_list(policy.get("PolicyDocument", {}).get("Statement"))]
        return grants, managed

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
        """A comparable text for a subnet's Availability Zone, or None when it cannot be known from the template
        (a subnet from outside it, or one that leaves the zone to EC2).

        {"Fn::Select": [i, {"Fn::GetAZs": ""}]} is the i-th zone of the stack's Region, whether GetAZs is given ""
        or the Region; two different indexes are two different zones."""
        subnet_id = self.target(subnet)
        if self.type_of(subnet_id) != "AWS::EC2::Subnet":
            return None
        props = self.props(subnet_id)
        if "AvailabilityZoneId" in props:
            return "id:" + json.dumps(props["AvailabilityZoneId"], sort_keys=True)
        zone = props.get("AvailabilityZone")
        if zone is None:
            return None
        select = zone.get("Fn::Select") if isinstance(zone, dict) else None
        if isinstance(select, list) and len(select) == 2 and isinstance(select[1], dict):
            azs = select[1].get("Fn::GetAZs")
            if azs in ("", {"Ref": "AWS::Region"}) or (self.region is not None and azs == self.region):
                return f"index:{select[0]}"
        return "name:" + json.dumps(zone, sort_keys=True)

    def is_public_subnet(self, subnet: Any) -> bool:
        """Whether a subnet of the template routes to an internet gateway or gives its instances public IPs."""
        subnet_id = self.target(subnet)
        if self.type_of(subnet_id) != "AWS::EC2::Subnet":
            return False
        if self.props(subnet_id).get("MapPublicIpOnLaunch") is True:
            return True
        tables = {
            self.target(a.get("RouteTableId"))
            for _, a in self.of_type("AWS::EC2::SubnetRouteTableAssociation")
            if self.target(a.get("SubnetId")) == subnet_id
        }
        for _, route in self.of_type("AWS::EC2::Route"):
            if self.target(route.get("RouteTableId")) not in tables:
                continue
            gateway = route.get("GatewayId")
            gateway_id = self.target(gateway)
            if self.type_of(gateway_id) == "AWS::EC2::InternetGateway" or text(gateway).startswith("igw-"):
                return True
        return False


# --- Reading policies --------------------------------------------------------------------------------------------


def _action_allowed(statement: dict[str, Any], action: str) -> bool:
    patterns = as_list(statement.get("Action"))
    return any(fnmatchcase(action.lower(), text(p).lower()) for p in patterns)


def _arn_could_name(pattern: str, service: str, resource: str) -> bool:
    """Whether an ARN pattern without references (e.g. arn:aws:kms:*:*:key/*) can name a resource of `service`
    whose resource part is `resource` (a '*' in it stands for what the template leaves to CloudFormation)."""
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return False
    return fnmatchcase(service, parts[2]) and (fnmatchcase(resource, parts[5]) or fnmatchcase(parts[5], resource))


_ARN_SHAPES = {
    "AWS::KMS::Key": ("kms", lambda p: "key/*"),
    "AWS::SQS::Queue": ("sqs", lambda p: p.get("QueueName") if isinstance(p.get("QueueName"), str) else "*"),
    "AWS::SNS::Topic": ("sns", lambda p: p.get("TopicName") if isinstance(p.get("TopicName"), str) else "*"),
    "AWS::Lambda::Function": (
        "lambda",
        lambda p: "function:" + (p["FunctionName"] if isinstance(p.get("FunctionName"), str) else "*"),
    ),
    "AWS::Events::EventBus": ("events", lambda p: "event-bus/" + p.get("Name", "*")),
}


def _resource_covers(t: Template, statement: dict[str, Any], target_id: str) -> bool:
    """Whether the statement's Resource covers the resource `target_id` of this template: '*', a reference to it,
    or a wildcard ARN of its service that its name may match."""
    shape = _ARN_SHAPES.get(t.type_of(target_id) or "")
    for resource in as_list(statement.get("Resource")):
        flat = text(resource)
        if flat == "*" or f"<{target_id}>" in flat or f"<{target_id}." in flat:
            return True
        if shape and "<" not in flat.split(":", 5)[-1] and "*" in flat:
            service, resource_part = shape
            if _arn_could_name(flat, service, resource_part(t.props(target_id))):
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


def _names_principal(statement: dict[str, Any], logical_id: str) -> bool:
    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, dict) else None
    return any(f"<{logical_id}>" in text(a) or f"<{logical_id}." in text(a) for a in as_list(aws))


def _allows(
    statements: Iterable[dict[str, Any]], actions: Iterable[str], **matches: Callable[[dict], bool]
) -> list[str]:
    """The actions no Allow statement grants (among those statements that pass every `matches` predicate)."""
    allowing = [s for s in statements if s.get("Effect") == "Allow" and all(m(s) for m in matches.values())]
    return [a for a in actions if not any(_action_allowed(s, a) for s in allowing)]


@dataclass(frozen=True)
class RoleAnswer:
    """What a role's policies say about some actions, for a resource created at some point of the deploy."""

    missing: tuple[str, ...]  # no statement of the role allows them
    late: tuple[str, ...]  # allowed only by a policy resource the needing resource does not wait for
    late_policies: tuple[str, ...]


def _role_allows(
    t: Template,
    role_id: str,
    actions: Iterable[str],
    *,
    needed_by: str,
    resource: Callable[[dict], bool] | None = None,
) -> RoleAnswer:
    grants, _ = t.grants_of_role(role_id)
    match = {"resource": resource} if resource else {}
    actions = list(actions)
    missing = _allows([g.statement for g in grants], actions, **match)
    before = t.dependencies(needed_by)
    in_time = [g for g in grants if g.source is None or g.source in before]
    late = [a for a in _allows([g.statement for g in in_time], actions, **match) if a not in missing]
    late_policies = sorted(
        {
            g.source
            for g in grants
            if g.source is not None
            and g.source not in before
            and g.statement.get("Effect") == "Allow"
            and any(_action_allowed(g.statement, a) for a in late)
        }
    )
    return RoleAnswer(tuple(missing), tuple(late), tuple(late_policies))


def _key_lets_iam_decide(key_policy: list[dict[str, Any]], actions: Iterable[str]) -> bool:
    """Whether the key policy lets the account's IAM policies grant these actions on the key (the default policy's
    statement for the account root)."""

    def account(principal: Any) -> bool:
        flat = text(principal)
        return flat.endswith(":root") or flat == "<AWS::AccountId>" or bool(re.fullmatch(r"\d{12}", flat))

    for statement in key_policy:
        principal = statement.get("Principal")
        aws = principal.get("AWS") if isinstance(principal, dict) else None
        if (
            statement.get("Effect") == "Allow"
            and any(account(a) for a in as_list(aws))
            and all(_action_allowed(statement, a) for a in actions)
        ):
            return True
    return False


def _key_statements(t: Template, key_id: str) -> list[dict[str, Any]]:
    return as_list(t.props(key_id).get("KeyPolicy", {}).get("Statement"))


def _role_may_use_key(t: Template, role_id: str, key_id: str, actions: Iterable[str]) -> list[str]:
    """The actions on the key that neither the key policy (naming the role) nor, where the key policy lets IAM
    decide, the role's own policies allow."""
    actions = list(actions)
    key_policy = _key_statements(t, key_id)
    by_key = _allows(key_policy, actions, role=lambda s: _names_principal(s, role_id))
    if not _key_lets_iam_decide(key_policy, actions):
        return by_key
    grants, _ = t.grants_of_role(role_id)
    by_iam = _allows([g.statement for g in grants], actions, resource=lambda s: _resource_covers(t, s, key_id))
    return [a for a in actions if a in by_key and a in by_iam]


def _arn_segments_match(arn: str, pattern: str) -> bool:
    """An ARN against an ARN pattern, segment by segment; a pseudo parameter (<AWS::Region>) on either side matches
    any value, so a template with literal Region and account matches one with references, and vice versa."""

    def segments(value: str) -> list[str]:
        return re.sub(r"<AWS::(\w+)>", r"{\1}", value).split(":", 5)  # a pseudo parameter's '::' is no separator

    arn_parts, pattern_parts = segments(arn), segments(pattern)
    if len(arn_parts) != 6 or len(pattern_parts) != 6:
        return fnmatchcase(arn, pattern)
    for index, (value, wanted) in enumerate(zip(arn_parts, pattern_parts, strict=True)):
        if index < 5 and (value.startswith("{") or wanted.startswith("{")):
            continue
        if not fnmatchcase(value, wanted):
            return False
    return True


# --- The rules ----------------------------------------------------------------------------------------------------


def vpc_functions_have_eni_permissions(t: Template) -> Iterator[Finding]:
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        if not function.get("VpcConfig"):
            continue
        role_id = t.target(function.get("Role"))
        if t.type_of(role_id) != "AWS::IAM::Role":
            continue  # a role from outside the template: its policies cannot be read here
        _, managed = t.grants_of_role(role_id)
        if any(any(name in text(arn) for name in ENI_MANAGED_POLICIES) for arn in managed):
            continue
        answer = _role_allows(t, role_id, ENI_ACTIONS, needed_by=function_id)
        if answer.missing:
            yield Finding(
                VPC_FUNCTION_ENI,
                function_id,
                f"function {function_id} runs in a VPC but its role {role_id} may not {', '.join(answer.missing)}",
            )
        elif answer.late:
            yield Finding(
                VPC_FUNCTION_ENI,
                function_id,
                f"function {function_id} runs in a VPC and its role {role_id} gets {', '.join(answer.late)} only from "
                f"{', '.join(answer.late_policies)}, which the function does not depend on: CloudFormation may create "
                "the function first, and CreateFunction checks the role then (add a DependsOn)",
            )


def _deliveries(t: Template) -> Iterator[tuple[str, str, str]]:
    """(source logical id, service principal pattern, delivery target logical id) of the template."""
    for alarm_id, alarm in t.of_type("AWS::CloudWatch::Alarm"):
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in as_list(alarm.get(key)):
                target = t.target(action)
                if t.type_of(target) == "AWS::SNS::Topic":
                    yield alarm_id, "cloudwatch.amazonaws.com", target
    for rule_id, rule in t.of_type("AWS::Events::Rule"):
        for target in as_list(rule.get("Targets")):
            # With a RoleArn, EventBridge calls the target as that role (its IAM policies decide); a target
            # dead-letter queue is always written by the service (eb-rule-dlq.html).
            destinations = [] if target.get("RoleArn") else [t.target(target.get("Arn"))]
            destinations.append(t.target((target.get("DeadLetterConfig") or {}).get("Arn")))
            for destination in destinations:
                if t.type_of(destination) in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
                    yield rule_id, "events.amazonaws.com", destination
    # S3 notifications: on the bucket itself, or (CDK's bucket.add_event_notification) in its custom resource.
    notification_sources = [
        (bucket_id, bucket.get("NotificationConfiguration") or {}, "Topic", "Queue")
        for bucket_id, bucket in t.of_type("AWS::S3::Bucket")
    ] + [
        (
            t.target(custom.get("BucketName")) or custom_id,
            custom.get("NotificationConfiguration") or {},
            "TopicArn",
            "QueueArn",
        )
        for custom_id, custom in t.of_type("Custom::S3BucketNotifications")
    ]
    for bucket_id, notifications, topic_key, queue_key in notification_sources:
        for key, attribute in (("TopicConfigurations", topic_key), ("QueueConfigurations", queue_key)):
            for configuration in as_list(notifications.get(key)):
                destination = t.target(configuration.get(attribute))
                if t.type_of(destination) in ("AWS::SNS::Topic", "AWS::SQS::Queue"):
                    yield bucket_id, "s3.amazonaws.com", destination
    # SNS delivering to a subscribed queue, and to a subscription's dead-letter queue.
    subscriptions = [(i, s) for i, s in t.of_type("AWS::SNS::Subscription")] + [
        (topic_id, s) for topic_id, topic in t.of_type("AWS::SNS::Topic") for s in as_list(topic.get("Subscription"))
    ]
    for source_id, subscription in subscriptions:
        redrive = subscription.get("RedrivePolicy") or {}
        targets = [redrive.get("deadLetterTargetArn")] if isinstance(redrive, dict) else []
        if subscription.get("Protocol") == "sqs":
            targets.append(subscription.get("Endpoint"))
        for destination in (t.target(d) for d in targets):
            if t.type_of(destination) == "AWS::SQS::Queue":
                yield source_id, "sns.amazonaws.com", destination


def services_may_deliver(t: Template) -> Iterator[Finding]:
    for source_id, service, destination in _deliveries(t):
        is_topic = t.type_of(destination) == "AWS::SNS::Topic"
        policy_type, attribute, action = (
            ("AWS::SNS::TopicPolicy", "Topics", "sns:Publish")
            if is_topic
            else ("AWS::SQS::QueuePolicy", "Queues", "sqs:SendMessage")
        )
        statements = t.resource_policy_statements(policy_type, attribute, destination)
        # Without a policy of its own, a topic keeps SNS's default policy (the owning account's principals, by
        # AWS:SourceOwner), which CloudWatch alarms of the account publish through (repost article above);
        # EventBridge, S3 and SNS need a resource policy that names them on every topic or queue.
        needs_policy = statements or not (is_topic and service == "cloudwatch.amazonaws.com")
        if needs_policy and _allows(statements, [action], service=lambda s, p=service: _admits_service(s, p)):
            yield Finding(
                SERVICE_MAY_PUBLISH,
                destination,
                f"{source_id} delivers to {destination} as {service}, which its {policy_type} does not allow {action}"
                if statements
                else f"{source_id} delivers to {destination} as {service}, and {destination} has no {policy_type} "
                f"allowing {action}",
            )
        key_id, raw_key = t.key_of(destination, "KmsMasterKeyId")
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


def _failure_targets(t: Template) -> Iterator[tuple[str | None, str, Any]]:
    """(function logical id, the resource whose creation Lambda checks the role at, destination value)."""
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        yield function_id, function_id, (function.get("DeadLetterConfig") or {}).get("TargetArn")
    for config_id, config in t.of_type("AWS::Lambda::EventInvokeConfig"):
        destinations = config.get("DestinationConfig") or {}
        for key in ("OnFailure", "OnSuccess"):
            yield t.target(config.get("FunctionName")), config_id, (destinations.get(key) or {}).get("Destination")
    for mapping_id, mapping in t.of_type("AWS::Lambda::EventSourceMapping"):
        on_failure = ((mapping.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        yield t.target(mapping.get("FunctionName")), mapping_id, on_failure


def dead_letters_are_writable(t: Template) -> Iterator[Finding]:
    # Lambda checks the role when the function is created ("The provided execution role does not have permissions
    # to call SendMessage on SQS", github.com/aws-samples/aws-serverless-ecommerce-platform/issues/41), so a grant
    # CloudFormation attaches later fails the deploy as well (github.com/functionalone/
    # serverless-iam-roles-per-function/issues/5: "... to call Publish on SNS", gone once the order was fixed).
    for function_id, needed_by, destination_value in _failure_targets(t):
        destination = t.target(destination_value)
        kind = t.type_of(destination)
        action = DESTINATION_ACTIONS.get(kind or "")
        role_id = t.target(t.props(function_id).get("Role"))
        if action is None or function_id is None or t.type_of(role_id) != "AWS::IAM::Role":
            continue
        answer = _role_allows(
            t, role_id, [action], needed_by=needed_by, resource=lambda s, d=destination: _resource_covers(t, s, d)
        )
        if answer.missing:
            yield Finding(
                DEAD_LETTER_WRITABLE,
                function_id,
                f"function {function_id} sends its failed events to {destination}, but its role {role_id} may not "
                f"{action} on it",
            )
        elif answer.late:
            yield Finding(
                DEAD_LETTER_WRITABLE,
                function_id,
                f"function {function_id}'s role {role_id} gets {action} on {destination} only from "
                f"{', '.join(answer.late_policies)}, which {needed_by} does not depend on: CloudFormation may create "
                f"{needed_by} first, and Lambda checks the role then (add a DependsOn)",
            )
        key_id, _ = t.key_of(destination, "KmsMasterKeyId")
        if t.type_of(key_id) != "AWS::KMS::Key":
            continue
        missing = _role_may_use_key(t, role_id, key_id, PRODUCER_KEY_ACTIONS)
        if missing:
            yield Finding(
                DEAD_LETTER_WRITABLE,
                function_id,
                f"function {function_id} sends its failed events to {destination}, encrypted with {key_id}, but its "
                f"role {role_id} may not {', '.join(missing)} with that key",
            )


def redshift_serverless_spans_three_azs(t: Template) -> Iterator[Finding]:
    zones_needed = 2 if t.region in TWO_AZ_REDSHIFT_SERVERLESS_REGIONS else 3
    for workgroup_id, workgroup in t.of_type("AWS::RedshiftServerless::Workgroup"):
        subnets = as_list(workgroup.get("SubnetIds"))
        zones = [t.zone_of_subnet(s) for s in subnets]
        known = {z for z in zones if z is not None}
        if len(subnets) < 3:
            yield Finding(
                REDSHIFT_SERVERLESS_AZS, workgroup_id, f"workgroup {workgroup_id} has {len(subnets)} subnet(s)"
            )
        elif None in zones:
            if len(known) + zones.count(None) < zones_needed:
                yield Finding(
                    REDSHIFT_SERVERLESS_AZS,
                    workgroup_id,
                    f"workgroup {workgroup_id}'s subnets span at most {len(known) + zones.count(None)} Availability "
                    "Zone(s)",
                )
            else:
                yield Finding(
                    REDSHIFT_SERVERLESS_AZS,
                    workgroup_id,
                    f"workgroup {workgroup_id} has {zones.count(None)} subnet(s) whose zones the template does not "
                    "say (from outside it, or left to EC2): the zones cannot be checked here (the configuration "
                    "check does for this project's config: stacks/config.py; `make preflight` in the account)",
                    severity="warning",
                )
        elif len(known) < zones_needed:
            yield Finding(
                REDSHIFT_SERVERLESS_AZS,
                workgroup_id,
                f"workgroup {workgroup_id} has {len(subnets)} subnets in {len(known)} Availability Zone(s)",
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
            if t.is_public_subnet(subnet):
                yield Finding(
                    MWAA_TWO_SUBNETS,
                    environment_id,
                    f"subnet {t.target(subnet)} of {environment_id} is public (it routes to an internet gateway)",
                )


def glue_logging_matches_version(t: Template) -> Iterator[Finding]:
    for job_id, job in t.of_type("AWS::Glue::Job"):
        version = str(job.get("GlueVersion", ""))
        misplaced = misplaced_logging_arguments(version, dict(job.get("DefaultArguments") or {}))
        if misplaced:
            accepted = sorted(GLUE_LOGGING_ARGUMENTS.get(version, ()))
            named = f"Glue {version}" if version else "A Glue job without GlueVersion"
            yield Finding(
                GLUE_LOGGING_VERSION,
                job_id,
                f"{named} job {job_id} passes {', '.join(misplaced)}; "
                f"{'it takes ' + ', '.join(accepted) if accepted else 'no logging argument is known for it'}",
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
            return not condition or any(_arn_segments_match(arn, p) for p in patterns)

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
        if text(e.get("ServiceName", "")).endswith(".airflow.env")
        and e.get("VpcEndpointType") == "Interface"  # CloudFormation's default is a gateway endpoint
        and e.get("PrivateDnsEnabled") is True
    ]
    for function_id, function in t.of_type("AWS::Lambda::Function"):
        if not function.get("VpcConfig"):
            continue
        role_id = t.target(function.get("Role"))
        grants, _ = t.grants_of_role(role_id) if role_id else ([], [])
        if _allows([g.statement for g in grants], ["airflow:InvokeRestApi"]):
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


def findings(template: dict[str, Any], region: str | None = None) -> list[Finding]:
    """Every finding of the rule pack on one template (the plugin reports these; tests call it directly).

    `region`: the stack's Region when it has one (None for an environment-agnostic stack)."""
    t = Template(template, region)
    return [finding for check in CHECKS for finding in check(t)]


def stack_region(template_path: str | Path) -> str | None:
    """The Region of the stack a synthesized template belongs to, from the cloud assembly's manifest (written
    before the validation plugins run), or None when the stack is environment-agnostic or not found."""
    path = Path(template_path)
    manifest_file = path.parent / "manifest.json"
    if not manifest_file.exists():
        return None
    for artifact in json.loads(manifest_file.read_text()).get("artifacts", {}).values():
        if artifact.get("properties", {}).get("templateFile") == path.name:
            region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
            return None if region in ("", "unknown-region") else region
    return None


@jsii.implements(IPolicyValidationPluginBeta1)
class DeployabilityChecks:
    """The rule pack as a CDK policy-validation plugin: runs on every synth, on every template of the app."""

    @property
    def name(self) -> str:
        return PLUGIN

    @property
    def version(self) -> str:
        return "2"

    @property
    def rule_ids(self) -> list[str]:
        return [rule.id for rule in RULES]

    def validate(self, context: IPolicyValidationContextBeta1) -> PolicyValidationPluginReportBeta1:
        violations = []
        for template_path in context.template_paths:
            template = json.loads(Path(template_path).read_text())
            for finding in findings(template, stack_region(template_path)):
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
