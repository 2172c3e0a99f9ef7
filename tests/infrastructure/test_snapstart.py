"""SnapStart as a per-environment option (`orders.snapStart`): off in dev, where the functions are invoked as
they are; on in prod, where each function publishes a version with SnapStart, and the state machine's tasks,
the intake's event source mapping and the approval API invoke that version's alias, and only it."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from stacks.config import ConfigError
from stacks.order_processing.functions import FUNCTION_NAMES, LIVE_ALIAS, _OrderFunction, version_fingerprint
from tests.infrastructure.cfn import CfnTemplate, references
from tests.infrastructure.test_config import _DELETE, load


def test_snap_start_is_chosen_per_environment_off_unless_asked():
    assert load("dev").orders.snap_start is False
    assert load("prod").orders.snap_start is True
    assert load("dev", **{"orders.snapStart": _DELETE}).orders.snap_start is False
    with pytest.raises(ConfigError, match=r"environments.dev.orders.snapStart must be true or false"):
        load("dev", **{"orders.snapStart": "yes"})


def test_without_snap_start_no_version_no_alias_and_functions_are_invoked_as_they_are(dev: CfnTemplate):
    for function in dev.of_type("AWS::Lambda::Function").values():
        assert "SnapStart" not in function["Properties"]
    assert dev.of_type("AWS::Lambda::Version") == {}
    assert dev.of_type("AWS::Lambda::Alias") == {}


def _aliases_by_function(template: CfnTemplate) -> dict[str, str]:
    """function logical id -> logical id of its alias (through the alias's version)."""
    versions = {
        vid: v["Properties"]["FunctionName"]["Ref"] for vid, v in template.of_type("AWS::Lambda::Version").items()
    }
    return {
        versions[alias["Properties"]["FunctionVersion"]["Fn::GetAtt"][0]]: aid
        for aid, alias in template.of_type("AWS::Lambda::Alias").items()
    }


def test_with_snap_start_every_function_publishes_a_version_and_an_alias(prod: CfnTemplate):
    functions = {prod.function_id(name.title().replace("_", "")) for name in FUNCTION_NAMES}
    for function_id in functions:
        assert prod.properties(function_id)["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    aliases = _aliases_by_function(prod)
    assert set(aliases) == functions
    assert {prod.properties(a)["Name"] for a in aliases.values()} == {LIVE_ALIAS}


def test_with_snap_start_the_state_machine_invokes_the_aliases_and_may_invoke_nothing_else(prod: CfnTemplate):
    aliases = set(_aliases_by_function(prod).values())
    (machine,) = prod.of_type("AWS::StepFunctions::StateMachine").values()
    tasks = {k: v for k, v in machine["Properties"]["DefinitionSubstitutions"].items() if k.endswith("FunctionArn")}
    assert len(tasks) == 7
    assert all(v == {"Ref": set(references(v)).pop()} and set(references(v)) <= aliases for v in tasks.values())
    role_id = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    invokable = [
        resource
        for statement in prod.statements_of_role(role_id)
        if "lambda:InvokeFunction" in statement["Action"]
        for resource in statement["Resource"]
    ]
    assert invokable
    assert all(set(references(r)) <= aliases for r in invokable)


def test_with_snap_start_the_intake_queue_and_the_approval_api_invoke_the_aliases(prod: CfnTemplate):
    aliases = _aliases_by_function(prod)
    (mapping,) = prod.of_type("AWS::Lambda::EventSourceMapping").values()
    assert set(references(mapping["Properties"]["FunctionName"])) == {aliases[prod.function_id("Intake")]}
    approval_alias = aliases[prod.function_id("ApprovalApi")]
    (method,) = prod.of_type("AWS::ApiGateway::Method").values()
    assert approval_alias in set(references(method["Properties"]["Integration"]["Uri"]))
    permissions = prod.of_type("AWS::Lambda::Permission").values()
    assert permissions
    assert all(p["Properties"]["FunctionName"] == {"Ref": approval_alias} for p in permissions)
    assert prod.function_id("ApprovalApi") not in json.dumps(method["Properties"]["Integration"]["Uri"])


def test_with_snap_start_each_version_carries_its_function_s_fingerprint(prod: CfnTemplate):
    descriptions = [v["Properties"]["Description"] for v in prod.of_type("AWS::Lambda::Version").values()]
    assert all(re.fullmatch(r"Published for SnapStart; function fingerprint [0-9a-f]{64}", d) for d in descriptions)
    assert len(set(descriptions)) == len(FUNCTION_NAMES)


def _fingerprint(code: str, **variables: str) -> str:
    stack = Stack(App(), "S")
    function = _OrderFunction(
        stack,
        "F",
        code=lambda_.Code.from_inline(code),
        handler="index.handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        environment={"A": "1"},
    )
    for key, value in variables.items():
        function.add_environment(key, value)
    return stack.resolve(version_fingerprint(function))


def test_a_version_s_fingerprint_changes_with_the_code_and_with_a_variable_added_later():
    # A new fingerprint changes the version's description, and CloudFormation replaces the version: Lambda
    # publishes the function as it now is and the alias moves to it. The same function, the same fingerprint.
    same = _fingerprint("x = 1")
    assert _fingerprint("x = 1") == same
    assert _fingerprint("x = 2") != same
    assert _fingerprint("x = 1", B="2") != same
    assert _fingerprint("x = 1", B="3") != _fingerprint("x = 1", B="2")
