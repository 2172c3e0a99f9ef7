"""AWS::ApiGateway::Account is one setting per account and region: created once, in its own stack, by choice."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from app import build_app
from tests.conftest import cdk_json_context

ACCOUNT_STACK = "ApiGatewayAccount"


def _resources(assembly: Path, stack: str, resource_type: str) -> dict:
    template = json.loads((assembly / f"{stack}.template.json").read_text())
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_environment_stack_creates_the_account_setting(env: str, synth: Callable[[str], Path]):
    # given
    assembly = synth(env)

    # then: only the environment-independent stack holds the per-account, per-region resource
    holders = [
        path.name
        for path in assembly.glob("*.template.json")
        if _resources(assembly, path.name.removesuffix(".template.json"), "AWS::ApiGateway::Account")
    ]
    assert holders == [f"{ACCOUNT_STACK}.template.json"]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_account_setting_and_its_role_survive_a_destroy(env: str, synth: Callable[[str], Path]):
    # given
    assembly = synth(env)
    account = next(iter(_resources(assembly, ACCOUNT_STACK, "AWS::ApiGateway::Account").values()))
    roles = _resources(assembly, ACCOUNT_STACK, "AWS::IAM::Role")

    # then: destroying one environment never removes the setting another environment's stages log through
    assert account["DeletionPolicy"] == "Retain"
    assert [r["DeletionPolicy"] for r in roles.values()] == ["Retain"]
    (role_id,) = roles
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": [role_id, "Arn"]}
    trust = roles[role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "apigateway.amazonaws.com"}]


def test_both_environments_synthesize_the_same_account_stack(synth: Callable[[str], Path]):
    # given: dev and prod deployed to one account and region deploy one stack name
    dev, prod = (json.loads((synth(e) / f"{ACCOUNT_STACK}.template.json").read_text()) for e in ("dev", "prod"))

    # then: the second deploy is a no-op instead of overwriting the first one's setting
    assert dev == prod


def test_order_stack_deploys_after_the_account_setting(synth: Callable[[str], Path]):
    # given
    manifest = json.loads((synth("dev") / "manifest.json").read_text())

    # then: the stage's execution logging needs the account's CloudWatch role at deploy time
    assert ACCOUNT_STACK in manifest["artifacts"]["OrderProcessing-dev"]["dependencies"]


def test_existing_account_setting_creates_no_account_stack(tmp_path: Path):
    # given
    context = {**cdk_json_context(), "env": "dev"}
    context["environments"]["dev"]["apiGatewayAccount"] = "existing"

    # when
    build_app(context=context, outdir=str(tmp_path)).synth()

    # then
    assert not (tmp_path / f"{ACCOUNT_STACK}.template.json").exists()
    assert (tmp_path / "OrderProcessing-dev.template.json").exists()
