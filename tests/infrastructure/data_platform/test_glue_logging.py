"""Glue 5.0 logging: the version's own arguments, the groups Glue really writes to, encrypted, retained, and the job
roles' log permissions limited to those groups (issue 9, point 4)."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import GlueConfig
from stacks.data_platform.glue_jobs import (
    ALL_LOGGING_ARGUMENTS,
    GLUE_LOGGING_ARGUMENTS,
    GLUE_LOGGING_DOCS,
    GlueJobs,
    glue_5_log_group_names,
    misplaced_logging_arguments,
)
from tests.infrastructure.cfn import CfnTemplate, as_list
from tests.infrastructure.data_platform.conftest import allowed_actions, statements
from tests.infrastructure.data_platform.test_data_platform_stack import both, join_text, key_arn

FAMILIES = ("Ingest", "Transform", "Reports")
SECURITY_CONFIGURATION = {"dev": "data-platform-dev-glue", "prod": "data-platform-prod-glue"}


def glue_jobs(t: CfnTemplate) -> list[dict[str, Any]]:
    return [job["Properties"] for job in t.of_type("AWS::Glue::Job").values()]


def expected_groups(env: str) -> set[str]:
    return set(glue_5_log_group_names(f"/data-platform/{env}/glue", SECURITY_CONFIGURATION[env]))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_glue_5_jobs_name_their_log_group_prefix_and_no_continuous_logging_argument(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str
):
    # given
    t = both(data_dev, data_prod, env)

    # then
    for job in glue_jobs(t):
        arguments = job["DefaultArguments"]
        assert job["GlueVersion"] == "5.0"
        assert arguments["--custom-logGroup-prefix"] == f"/data-platform/{env}/glue"
        assert "--enable-continuous-cloudwatch-log" not in arguments
        assert "--continuous-log-logGroup" not in arguments
        # the run id stays in the stream names: a custom stream prefix would replace it
        assert "--custom-logStream-prefix" not in arguments
        assert misplaced_logging_arguments(job["GlueVersion"], arguments) == ()


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_group_glue_5_may_write_to_is_created_encrypted_with_retention_under_the_platform_prefix(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str
):
    # given
    t = both(data_dev, data_prod, env)
    security = t.properties(t.logical_id("Glue/SecurityConfiguration"))
    groups = {
        g["Properties"]["LogGroupName"]: g["Properties"]
        for g in t.of_type("AWS::Logs::LogGroup").values()
        if g["Properties"]["LogGroupName"].startswith(f"/data-platform/{env}/glue")
    }

    # then: <prefix>/error and <prefix>/output, and the same with the security configuration's name appended
    assert security["Name"] == SECURITY_CONFIGURATION[env]
    assert set(groups) == expected_groups(env)
    assert {f"/data-platform/{env}/glue/error", f"/data-platform/{env}/glue/output"} <= set(groups)
    for properties in groups.values():
        assert properties["KmsKeyId"] == key_arn(t)
        assert properties["RetentionInDays"] > 0


def _log_resources(t: CfnTemplate, family: str) -> dict[str, set[str]]:
    """Each logs:* action of a Glue role, with the resources it is allowed on, as text."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(t, f"Glue/{family}Role"):
        for action in allowed_actions(statement):
            if action.startswith("logs:"):
                allowed.setdefault(action, set()).update(join_text(r) for r in as_list(statement["Resource"]))
    return allowed


@pytest.mark.parametrize("family", FAMILIES)
def test_job_roles_write_and_associate_the_key_with_exactly_the_glue_log_groups(data_dev: CfnTemplate, family: str):
    # given
    groups = expected_groups("dev")
    group_arns = {
        f"<{logical_id}.Arn>"
        for logical_id, g in data_dev.of_type("AWS::Logs::LogGroup").items()
        if g["Properties"]["LogGroupName"] in groups
    }
    named = {f"arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:{name}" for name in groups}

    # when
    allowed = _log_resources(data_dev, family)

    # then
    assert allowed["logs:AssociateKmsKey"] == named | {f"{arn}:*" for arn in named}
    assert allowed["logs:CreateLogGroup"] == allowed["logs:AssociateKmsKey"]
    assert allowed["logs:PutLogEvents"] == group_arns
    assert allowed["logs:CreateLogStream"] == group_arns
    assert not any("/aws-glue/" in resource for resources in allowed.values() for resource in resources)


def test_the_platform_key_admits_cloudwatch_logs_for_every_glue_log_group(data_dev: CfnTemplate):
    # given
    key = data_dev.properties(data_dev.logical_id("Encryption/Key"))
    [logs_statement] = [
        s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "AllowCloudWatchLogsForThisPlatform"
    ]
    patterns = [
        join_text(p).split(":log-group:", 1)[1]
        for p in logs_statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    ]

    # then
    for name in expected_groups("dev"):
        assert any(name.startswith(pattern.rstrip("*")) for pattern in patterns if pattern.endswith("*")), name


def test_glue_5_takes_only_the_custom_prefix_arguments_and_earlier_versions_only_continuous_logging():
    # given
    continuous = {"--enable-continuous-cloudwatch-log": "true", "--continuous-log-logGroup": "g"}
    custom = {"--custom-logGroup-prefix": "/p"}

    # then
    assert misplaced_logging_arguments("5.0", continuous) == tuple(sorted(continuous))
    assert misplaced_logging_arguments("5.0", custom) == ()
    assert misplaced_logging_arguments("4.0", custom) == ("--custom-logGroup-prefix",)
    assert misplaced_logging_arguments("4.0", continuous) == ()
    assert misplaced_logging_arguments("9.9", custom) == ("--custom-logGroup-prefix",)
    assert misplaced_logging_arguments("5.0", {"--job-language": "python"}) == ()
    assert set(GLUE_LOGGING_ARGUMENTS) == set(GLUE_LOGGING_DOCS)
    assert set().union(*GLUE_LOGGING_ARGUMENTS.values()) == ALL_LOGGING_ARGUMENTS
    assert GlueConfig.glue_version in GLUE_LOGGING_ARGUMENTS
    assert all(doc.startswith("https://docs.aws.amazon.com/glue/") for doc in GLUE_LOGGING_DOCS.values())


def test_the_construct_refuses_arguments_its_glue_version_does_not_take():
    # when / then
    with pytest.raises(ValueError, match=r"monitor-continuous-logging\.html"):
        GlueJobs._checked("5.0", {"--enable-continuous-cloudwatch-log": "true"})
    assert GlueJobs._checked("5.0", {"--custom-logGroup-prefix": "/p"}) == {"--custom-logGroup-prefix": "/p"}


@pytest.mark.parametrize("prefix", ["", "/a:b", "/a*", "/" + "x" * 400])
def test_a_log_group_prefix_glue_refuses_is_refused_at_synth(prefix: str):
    with pytest.raises(ValueError, match="custom-logGroup-prefix"):
        glue_5_log_group_names(prefix, "sc")
