"""cdk-nag: no unacknowledged finding, every acknowledgment specific and reasoned, and the gate really fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs

import app as app_module
from stacks.compliance import (
    VALIDATION_REPORT,
    CompliantApp,
    NonCompliantError,
    apply_rule_packs,
    fail_on_unacknowledged_errors,
    unacknowledged_violations,
)
from tests.conftest import cdk_json_context
from tests.infrastructure.cfn import CfnTemplate

# Rules that report one finding per wildcard: they must be acknowledged finding by finding.
GRANULAR_RULES = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_rule_packs_leave_no_unacknowledged_finding(synth: Callable[[str], Path], env: str):
    # when
    violations = unacknowledged_violations(synth(env))

    # then
    assert violations == [], "\n".join(map(str, violations))


def test_build_app_checks_its_stacks_with_the_rule_packs(monkeypatch: pytest.MonkeyPatch):
    # An empty report is also what no plugin at all would produce: prove build_app registers the packs.
    # given
    registered = []
    monkeypatch.setattr(app_module, "apply_rule_packs", registered.append)

    # when
    app = app_module.build_app(context={**cdk_json_context(), "env": "dev"})

    # then
    assert registered == [app]
    assert isinstance(app, CompliantApp)


def test_every_acknowledgment_names_a_specific_rule_and_gives_a_reason(dev: CfnTemplate):
    # given
    acknowledgments = [
        rule
        for resource in dev.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]

    # then
    assert acknowledgments
    for rule in acknowledgments:
        assert len(rule["reason"]) >= 40, rule
        rule_id = rule["id"]
        # cdk-nag's packs, and Control Tower's controls as `cdk-validator-cfnguard::<rule>` (stacks/control_tower.py)
        assert rule_id.startswith(("AwsSolutions-", "Serverless-", "PCI.DSS.321-", "cdk-validator-cfnguard::")), rule
        if rule_id.startswith(GRANULAR_RULES):
            assert "[" in rule_id, f"{rule_id} must name its finding"
            assert rule_id.endswith("]"), f"{rule_id} must name its finding"
            assert rule_id != "AwsSolutions-IAM5[Action::*]", "a blanket action wildcard is never acknowledged"


def test_no_acknowledgment_is_stack_wide(dev: CfnTemplate):
    # An acknowledgment made on the stack would be copied onto every resource, the CDK metadata included.
    [metadata_resource] = dev.of_type("AWS::CDK::Metadata").values() or [{}]
    assert "cdk_nag" not in metadata_resource.get("Metadata", {})


def write_report(directory: Path, *violations: dict) -> Path:
    report = {
        "pluginReports": [{"pluginName": "AwsSolutions", "conclusion": "failure", "violations": list(violations)}]
    }
    (directory / VALIDATION_REPORT).write_text(json.dumps(report))
    return directory


def violation(severity: str) -> dict:
    return {
        "ruleName": "AwsSolutions-SQS3",
        "description": "The SQS queue is not used as a DLQ and does not have a DLQ enabled.",
        "severity": severity,
        "violatingConstructs": [{"constructPath": "Stack/Queue/Resource"}],
    }


def test_an_unacknowledged_error_fails_synth(tmp_path: Path):
    # given
    assembly = write_report(tmp_path, violation("error"))

    # then
    with pytest.raises(
        NonCompliantError, match=r"(?s)1 unacknowledged rule-pack error.*AwsSolutions-SQS3.*Stack/Queue"
    ):
        fail_on_unacknowledged_errors(assembly)


def test_an_unacknowledged_warning_is_printed_but_does_not_fail_synth(tmp_path: Path, capsys: pytest.CaptureFixture):
    # given
    assembly = write_report(tmp_path, violation("warning"))

    # when
    fail_on_unacknowledged_errors(assembly)

    # then
    assert "AwsSolutions-SQS3" in capsys.readouterr().err


def test_non_compliant_resources_fail_the_real_synth_with_findings_of_all_three_packs(tmp_path: Path):
    # given an unencrypted queue without a DLQ and a function outside a VPC, nothing acknowledged
    app = CompliantApp(outdir=str(tmp_path))
    stack = cdk.Stack(app, "NonCompliant")
    sqs.Queue(stack, "Queue", encryption=sqs.QueueEncryption.UNENCRYPTED)
    lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    apply_rule_packs(app)

    # when
    with pytest.raises(NonCompliantError) as failure:
        app.synth()

    # then
    message = str(failure.value)
    assert "AwsSolutions-SQS3 (AwsSolutions)" in message
    assert "Serverless-LambdaDLQ (Serverless)" in message
    assert "PCI.DSS.321-LambdaInsideVPC (PCI.DSS.321)" in message
