"""DataPlatform-<env> against cfn-lint and cdk-nag: zero errors, and every acknowledgment specific and reasoned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from tests.infrastructure.cfn import CfnTemplate

# W3005 "dependency already enforced by a GetAtt": CDK adds explicit DependsOn on a role *and* its policy, so the
# policy exists before first use (for the MWAA environment, before MWAA validates its execution role).
ACCEPTED_WARNINGS = {"W3005"}
GRANULAR_RULES = ("AwsSolutions-IAM4", "AwsSolutions-IAM5")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_data_platform_template_passes_cfn_lint(synth: Callable[[str], Path], env: str):
    # given
    template = synth(env) / f"DataPlatform-{env}.template.json"

    # when
    matches = lint_file(template, ManualArgs(regions=["us-east-1", "eu-west-1"]))

    # then
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    unexpected = sorted({m.rule.id for m in matches if not m.rule.id.startswith("E")} - ACCEPTED_WARNINGS)
    assert unexpected == [], [f"{m.rule.id} {m.message}" for m in matches if m.rule.id in unexpected]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_data_platform_acknowledgment_names_a_specific_rule_and_gives_a_reason(
    data_dev: CfnTemplate, data_prod: CfnTemplate, env: str
):
    # given
    template = {"dev": data_dev, "prod": data_prod}[env]
    acknowledgments = [
        rule
        for resource in template.resources.values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
        # CDK's own: its subnets carry a cfn-lint W3010 acknowledgment of the zones it selects.
        if not rule["id"].startswith("CloudFormation-Validate::")
    ]

    # then
    assert acknowledgments
    for rule in acknowledgments:
        assert len(rule["reason"]) >= 40, rule
        rule_id = rule["id"]
        # cdk-nag's packs, and Control Tower's controls as `cdk-validator-cfnguard::<rule>` (stacks/control_tower.py)
        assert rule_id.startswith(("AwsSolutions-", "Serverless-", "PCI.DSS.321-", "cdk-validator-cfnguard::")), rule
        if rule_id.startswith(GRANULAR_RULES):
            assert rule_id.endswith("]"), f"{rule_id} must name its finding"
            assert "[Action::*]" not in rule_id, "a blanket action wildcard is never acknowledged"
    [metadata_resource] = template.of_type("AWS::CDK::Metadata").values() or [{}]
    assert "cdk_nag" not in metadata_resource.get("Metadata", {})
