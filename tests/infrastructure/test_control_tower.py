"""Control Tower's proactive controls (cfn-guard) run on every synth; what the stacks do not meet is acknowledged."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from stacks import control_tower
from stacks.compliance import VALIDATION_REPORT, CompliantApp, NonCompliantError, acknowledge, apply_rule_packs
from tests.conftest import cdk_json_context
from tests.infrastructure.cfn import CfnTemplate, templates_of

# The metadata entry Validations.of(scope).acknowledge writes on the scope.
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"


def guard_report(assembly: Path) -> dict:
    [report] = [
        r
        for r in json.loads((assembly / VALIDATION_REPORT).read_text())["pluginReports"]
        if r["pluginName"] == control_tower.PLUGIN
    ]
    return report


def suppressed(report: dict, rule: str) -> set[str]:
    return {
        construct["constructPath"]
        for violation in report["suppressedViolations"]
        if violation["ruleName"] == rule
        for construct in violation["violatingConstructs"]
    }


def test_a_control_the_stack_breaks_fails_synth_naming_the_control(tmp_path: Path):
    # given a queue without a dead-letter queue (CT.SQS.PR.1) in an app with the project's rule packs
    app = CompliantApp(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Fork")
    sqs.Queue(stack, "Orders", encryption=sqs.QueueEncryption.KMS_MANAGED, enforce_ssl=True)
    apply_rule_packs(app)

    # then
    with pytest.raises(NonCompliantError, match=r"sqs_dlq_check \(cdk-validator-cfnguard\): \[CT\.SQS\.PR\.1\]"):
        app.synth()


def test_a_dead_letter_queue_acknowledged_as_such_passes(tmp_path: Path):
    # given a queue with its dead-letter queue, the latter acknowledged
    app = CompliantApp(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Fork")
    dlq = sqs.Queue(stack, "Dlq", encryption=sqs.QueueEncryption.KMS_MANAGED, enforce_ssl=True)
    sqs.Queue(
        stack,
        "Orders",
        encryption=sqs.QueueEncryption.KMS_MANAGED,
        enforce_ssl=True,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=3),
    )
    control_tower.acknowledge_dead_letter_queues([dlq])
    acknowledge(dlq, "Serverless-SQSRedrivePolicy", "a dead-letter queue (cdk-nag's own rule, not under test)")
    apply_rule_packs(app)

    # when
    assembly = Path(app.synth().directory)

    # then the control ran and its one finding is acknowledged
    report = guard_report(assembly)
    assert report["violations"] == []
    assert suppressed(report, control_tower.SQS_DLQ) == {"Fork/Dlq/Resource"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_project_stacks_meet_every_control_they_do_not_acknowledge(synth: Callable[[str], Path], env: str):
    # when
    report = guard_report(synth(env))

    # then the plugin ran and left nothing unacknowledged
    assert report["violations"] == []
    assert report["suppressedViolations"], "the plugin ran on the stacks"


def test_short_log_retention_is_acknowledged_in_dev_only(synth: Callable[[str], Path]):
    # then dev's 14-day groups are acknowledged; prod keeps logs a year and needs no acknowledgment
    assert suppressed(guard_report(synth("dev")), control_tower.LOG_RETENTION)
    assert not suppressed(guard_report(synth("prod")), control_tower.LOG_RETENTION)


def test_only_the_prod_reports_bucket_is_locked_and_so_it_alone_needs_no_object_lock_acknowledgment(
    synth: Callable[[str], Path],
):
    # when
    dev, prod = (suppressed(guard_report(synth(e)), control_tower.S3_OBJECT_LOCK) for e in ("dev", "prod"))

    # then
    assert "DataPlatform-dev/Buckets/Reports/Resource" in dev
    assert not any("/Reports/" in path for path in prod)


def test_the_public_subnets_assign_no_public_addresses(synth: Callable[[str], Path]):
    # given
    template = templates_of(synth, "DataPlatform")("dev")

    # then (CT.EC2.PR.11: only the NAT gateways live there, with their own Elastic IPs)
    subnets = template.of_type("AWS::EC2::Subnet").values()
    assert subnets
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets)


def test_no_order_function_is_acknowledged_outside_a_vpc_unless_it_really_is(
    synth: Callable[[str], Path],
):
    # given
    template: CfnTemplate = templates_of(synth, "OrderProcessing")("dev")
    acknowledged = suppressed(guard_report(synth("dev")), control_tower.LAMBDA_IN_VPC)

    # then every acknowledged order function has no VpcConfig
    for logical_id, function in template.of_type("AWS::Lambda::Function").items():
        path = function["Metadata"]["aws:cdk:path"]
        if path in acknowledged:
            assert "VpcConfig" not in function["Properties"], (logical_id, path)


def control_of(description: str) -> str:
    """`[CT.S3.PR.9]: Require ...` -> `CT.S3.PR.9` (the plugin's description starts with the control id)."""
    assert description.startswith("[CT."), description
    return description[1 : description.index("]")]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_acknowledgment_names_the_control_it_waives_and_gives_a_specific_reason(
    synth: Callable[[str], Path], env: str
):
    # given
    report = guard_report(synth(env))

    # then each reason opens with the control of the finding it acknowledges, then says why
    assert report["suppressedViolations"]
    for violation in report["suppressedViolations"]:
        control = control_of(violation["description"])
        reason = violation["reason"]
        assert reason.startswith(f"{control}: "), (violation["ruleName"], reason)
        assert len(reason) - len(control) >= 60, (violation["ruleName"], reason)
        assert violation["acknowledgedId"] == f"{control_tower.PLUGIN}::{violation['ruleName']}"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_acknowledgment_sits_on_the_resource_it_waives_not_on_a_parent(synth: Callable[[str], Path], env: str):
    # An acknowledgment on a parent construct also covers (and is written into) every resource below it: a bucket's
    # policy and auto-delete resource, a function's event source mapping. On the resource itself it waives one finding.
    for violation in guard_report(synth(env))["suppressedViolations"]:
        [construct] = violation["violatingConstructs"]
        assert violation["acknowledgedAt"] == construct["constructPath"], violation["ruleName"]


def test_a_blank_reason_is_refused():
    # given
    stack = cdk.Stack(cdk.App(), "Fork")
    queue = sqs.Queue(stack, "Dlq")

    # then
    with pytest.raises(ValueError, match="needs a reason"):
        control_tower.acknowledge_control(queue, control_tower.SQS_DLQ, "  ")


def test_the_access_log_bucket_is_acknowledged_for_object_lock_because_s3_refuses_a_locked_log_destination(
    synth: Callable[[str], Path],
):
    # S3 buckets with Object Lock can't be server access log destinations
    # (docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html).
    for env in ("dev", "prod"):
        [reason] = {
            violation["reason"]
            for violation in guard_report(synth(env))["suppressedViolations"]
            if violation["ruleName"] == control_tower.S3_OBJECT_LOCK
            for construct in violation["violatingConstructs"]
            if construct["constructPath"] == f"DataPlatform-{env}/Buckets/AccessLogs/Resource"
        }
        assert "server access log" in reason


def test_a_data_lake_bucket_with_object_lock_is_not_acknowledged_and_one_without_is(tmp_path: Path):
    # given a data lake whose reports bucket is locked, in a stack acknowledged like the project's
    from aws_cdk import RemovalPolicy
    from aws_cdk import aws_kms as kms

    from stacks.data_platform.storage import DataLake

    app = cdk.App(outdir=str(tmp_path), context=cdk_json_context())  # the project's feature flags
    stack = cdk.Stack(app, "Lake")
    lake = DataLake(
        stack,
        "Buckets",
        encryption_key=kms.Key(stack, "Key"),
        landing_expiration_days=7,
        raw_transition_days=30,
        reports_retention_years=1,
        access_log_retention_days=30,
        removal_policy=RemovalPolicy.RETAIN,
    )

    # when
    control_tower.acknowledge_data_lake(lake)

    # then the locked bucket carries no Object Lock acknowledgment, the others each carry one
    def acknowledged(bucket) -> bool:
        return any(
            f"{control_tower.PLUGIN}::{control_tower.S3_OBJECT_LOCK}" in entry.data
            for entry in bucket.node.default_child.node.metadata
            if entry.type == ACKNOWLEDGED_RULES
        )

    assert not acknowledged(lake.reports)
    assert all(
        acknowledged(b) for b in (lake.access_logs, lake.source, lake.landing, lake.raw, lake.curated, lake.quarantine)
    )
