"""Who the project's KMS keys (and the topics and queues they encrypt) admit: AWS services only for this stack's
resources, and grants only for AWS resources."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.cfn import (
    CfnTemplate,
    admits,
    allows,
    as_list,
    references,
    service_of,
    statements_on,
    templates_of,
)

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


# --- Point 13: grants only through AWS services (Control Tower CT.KMS.PR.3) ---------------------------------------

# The two conditions CT.KMS.PR.3's guard rule requires, both "false" under BoolIfExists, and nothing else
# (docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html, rule kms_create_grant_aws_service_check).
CT_KMS_PR_3_CONDITION = {"kms:grantisforawsresource": "false", "aws:principalisawsservice": "false"}
# Resource types that name a project key and whose grants (if any) the service creates on the deployer's behalf,
# reviewed against CT.KMS.PR.3's deny; a new type using a key must be reviewed and added here.
REVIEWED_KEY_USERS = {
    # Grants, created by the service on the deployer's behalf (kms:GrantIsForAWSResource is true):
    "AWS::DynamoDB::Table",
    "AWS::RedshiftServerless::Namespace",
    "AWS::MWAA::Environment",  # its four grants (docs.aws.amazon.com/mwaa/latest/userguide/custom-keys-certs.html)
    # No grants: the key policy or the caller's own permissions.
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::Glue::SecurityConfiguration",
    "AWS::SecretsManager::Secret",  # CDK's key policy statement for it goes through kms:ViaService
}


def satisfies_ct_kms_pr_3(statement: dict[str, Any]) -> bool:
    """The guard rule's check_statement_create_grant_aws_services_only, in Python."""
    principal = statement.get("Principal")
    condition = statement.get("Condition", {})
    return (
        statement["Effect"] == "Deny"
        and all(action == "kms:CreateGrant" for action in as_list(statement["Action"]))
        and (principal == "*" or principal == {"AWS": "*"})
        and all(resource == "*" for resource in as_list(statement["Resource"]))
        and set(condition) == {"BoolIfExists"}
        and {k.lower(): v for k, v in condition["BoolIfExists"].items()} == CT_KMS_PR_3_CONDITION
    )


def test_every_key_denies_grants_unless_an_aws_service_asks_as_ct_kms_pr_3_expects(template: CfnTemplate):
    keys = template.of_type("AWS::KMS::Key")
    assert keys
    for key_id, key in keys.items():
        assert any(satisfies_ct_kms_pr_3(s) for s in key["Properties"]["KeyPolicy"]["Statement"]), key_id


def test_no_role_of_the_project_may_create_grants_itself(template: CfnTemplate):
    for role_id in template.of_type("AWS::IAM::Role"):
        for statement in template.statements_of_role(role_id):
            if statement["Effect"] == "Allow":
                granted = as_list(statement["Action"])
                assert not any(fnmatchcase("kms:CreateGrant", action) for action in granted), (role_id, statement)


def test_key_policies_allow_grants_only_to_the_account_or_through_a_named_service(template: CfnTemplate):
    # The account's administrators (CDK's default statement) and CDK's Secrets Manager statement (kms:ViaService).
    for key_id, key in template.of_type("AWS::KMS::Key").items():
        for statement in key["Properties"]["KeyPolicy"]["Statement"]:
            granted = as_list(statement["Action"])
            if statement["Effect"] != "Allow" or not any(fnmatchcase("kms:CreateGrant", a) for a in granted):
                continue
            is_account_root = "root" in json.dumps(statement["Principal"]) and "Condition" not in statement
            via_service = "kms:ViaService" in json.dumps(statement.get("Condition", {}))
            assert is_account_root or via_service, (key_id, statement)


def test_every_resource_using_a_key_is_of_a_type_reviewed_against_ct_kms_pr_3(template: CfnTemplate):
    keys = set(template.of_type("AWS::KMS::Key"))
    for logical_id, resource in template.resources.items():
        if resource["Type"] in ("AWS::KMS::Key", "AWS::KMS::Alias", "AWS::IAM::Policy", "AWS::IAM::Role"):
            continue
        if keys & set(references(resource.get("Properties", {}))):
            assert resource["Type"] in REVIEWED_KEY_USERS, (logical_id, resource["Type"])
