"""Unit tests of stacks/config.py: cdk.json's environments load, and every bad value is named by key path."""

from __future__ import annotations

import copy
import dataclasses
import re
from decimal import Decimal
from typing import Any

import pytest
from aws_cdk import RemovalPolicy

from stacks.config import ConfigError, EnvironmentConfig, load_environment
from tests.conftest import cdk_json_context


def context_for(env: str, **changes: Any) -> dict[str, Any]:
    """cdk.json's context selecting `env`, with `changes` applied at dotted paths below that environment."""
    context = copy.deepcopy(cdk_json_context())
    context["env"] = env
    for dotted, value in changes.items():
        *parents, leaf = dotted.split(".")
        node = context["environments"][env]
        for parent in parents:
            node = node[parent]
        if value is _DELETE:
            del node[leaf]
        else:
            node[leaf] = value
    return context


_DELETE = object()


def load(env: str = "dev", environ: dict[str, str] | None = None, **changes: Any) -> EnvironmentConfig:
    return load_environment(context_for(env, **changes), environ or {})


def test_dev_environment_from_cdk_json_is_disposable_and_verbose_about_errors():
    # when
    config = load("dev")

    # then
    assert config.name == "dev"
    assert config.removal_policy == RemovalPolicy.DESTROY
    assert config.deletion_protection is False
    assert config.log_retention_days == 14
    assert config.orders.approval_threshold == Decimal("10000")
    assert config.orders.approval_timeout_seconds == 3600
    assert config.orders.lambda_memory_mb == 256
    assert config.orders.alarms.lambda_errors == 5
    assert config.operations_emails == ()
    assert config.orders.approver_emails == ()


def test_prod_environment_from_cdk_json_is_retained_and_protected():
    # when
    config = load("prod")

    # then
    assert config.removal_policy == RemovalPolicy.RETAIN
    assert config.deletion_protection is True
    assert config.log_retention_days == 365
    assert config.orders.approval_timeout_seconds == 86400
    assert config.orders.lambda_memory_mb == 512
    assert config.orders.alarms.lambda_errors == 1


def test_approval_threshold_is_a_decimal_never_a_float():
    # when
    threshold = load("prod").orders.approval_threshold

    # then
    assert isinstance(threshold, Decimal)


def test_intake_visibility_timeout_is_six_times_the_function_timeout():
    # given
    config = load("dev", **{"orders.lambdaTimeoutSeconds": 25})

    # then
    assert config.orders.intake_visibility_timeout_seconds == 150


def test_account_and_region_come_from_the_cdk_cli_environment_when_set():
    # when
    config = load("dev", environ={"CDK_DEFAULT_ACCOUNT": "123456789012", "CDK_DEFAULT_REGION": "eu-west-1"})

    # then
    assert (config.account, config.region) == ("123456789012", "eu-west-1")


def test_without_cdk_cli_environment_the_stack_is_environment_agnostic():
    # when
    config = load("dev", environ={})

    # then
    assert (config.account, config.region) == (None, None)


def test_configuration_is_immutable():
    # given
    config = load("dev")

    # then
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.name = "other"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.orders.lambda_memory_mb = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.tags["Owner"] = "me"  # type: ignore[index]


def test_unknown_environment_lists_the_known_ones():
    # given
    context = context_for("dev")
    context["env"] = "staging"

    # then
    with pytest.raises(
        ConfigError, match=re.escape("env 'staging' is not configured; known environments: ['dev', 'prod']")
    ):
        load_environment(context, {})


def test_missing_environments_block_is_reported():
    with pytest.raises(ConfigError, match=r"^environments must be an object"):
        load_environment({"env": "dev"}, {})


@pytest.mark.parametrize(
    ("dotted_key", "value", "message"),
    [
        (
            "orders.approvalThreshold",
            "abc",
            "environments.prod.orders.approvalThreshold must be a positive decimal, got 'abc'",
        ),
        (
            "orders.powertoolsVersion",
            42,
            'environments.prod.orders.powertoolsVersion must be a release number such as "3.37.0", got 42',
        ),
        (
            "orders.approvalThreshold",
            "-5",
            "environments.prod.orders.approvalThreshold must be a positive decimal, got '-5'",
        ),
        (
            "orders.approvalThreshold",
            10000.5,
            "environments.prod.orders.approvalThreshold must be a positive decimal written as a string",
        ),
        ("logRetentionDays", 13, "environments.prod.logRetentionDays must be one of CloudWatch's periods"),
        ("logRetentionDays", "14", "environments.prod.logRetentionDays must be an integer >= 1, got '14'"),
        ("removalPolicy", "snapshot", "environments.prod.removalPolicy must be one of ['destroy', 'retain']"),
        ("orders.lambdaMemoryMb", 64, "environments.prod.orders.lambdaMemoryMb must be an integer >= 128"),
        ("orders.intakeBatchSize", 11, "environments.prod.orders.intakeBatchSize must be an integer <= 10"),
        ("orders.maxReceiveCount", True, "environments.prod.orders.maxReceiveCount must be an integer >= 1"),
        ("orders.intakeMaxConcurrency", 1, "environments.prod.orders.intakeMaxConcurrency must be an integer >= 2"),
        (
            "orders.intakeMaxConcurrency",
            1001,
            "environments.prod.orders.intakeMaxConcurrency must be an integer <= 1000",
        ),
        ("apiGatewayAccount", "shared", "environments.prod.apiGatewayAccount must be one of ['create', 'existing']"),
        (
            "orders.alarms.lambdaErrorsThreshold",
            0,
            "environments.prod.orders.alarms.lambdaErrorsThreshold must be an integer >= 1, got 0",
        ),
        ("orders.approverEmails", ["not-an-email"], "environments.prod.orders.approverEmails must be a list"),
        ("operationsEmails", "ops@example.com", "environments.prod.operationsEmails must be a list"),
        ("tags", {"Team": 7}, "environments.prod.tags must be an object of tag names to string values"),
        ("orders.logLevel", "VERBOSE", "environments.prod.orders.logLevel must be one of"),
        ("orders", "none", "environments.prod.orders must be an object, got 'none'"),
    ],
)
def test_a_wrong_value_fails_with_its_key_path(dotted_key: str, value: Any, message: str):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        load("prod", **{dotted_key: value})


@pytest.mark.parametrize(
    "dotted_key",
    [
        "removalPolicy",
        "logRetentionDays",
        "orders",
        "orders.approvalThreshold",
        "orders.alarms.periodMinutes",
        "orders.intakeMaxConcurrency",
    ],
)
def test_a_missing_value_fails_with_its_key_path(dotted_key: str):
    with pytest.raises(ConfigError, match=f"^environments.dev.{re.escape(dotted_key)} is missing$"):
        load("dev", **{dotted_key: _DELETE})


def test_a_misspelt_key_is_rejected_rather_than_ignored():
    with pytest.raises(ConfigError, match=r"^environments.dev.orders has unknown keys \['lambdaMemoryMB'\]"):
        load("dev", **{"orders.lambdaMemoryMB": 1024})


def test_email_subscriptions_and_tags_are_read_when_present():
    # when
    config = load(
        "dev",
        **{
            "operationsEmails": ["oncall@example.com"],
            "orders.approverEmails": ["approver@example.com"],
            "tags": {"CostCenter": "1234"},
        },
    )

    # then
    assert config.operations_emails == ("oncall@example.com",)
    assert config.orders.approver_emails == ("approver@example.com",)
    assert dict(config.tags) == {"CostCenter": "1234"}
