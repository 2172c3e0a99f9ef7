"""The CDK bootstrap check: the toolkit stack and its version against what the cloud assembly requires."""

from __future__ import annotations

from preflight.checks import check_bootstrap
from preflight.project import BootstrapRequirement
from tests.preflight.conftest import (
    BOOTSTRAP_PARAMETER,
    REGION,
    no_such_parameter,
    no_such_stack,
    parameter,
    stack,
    stubbed,
)

REQUIRES_6 = BootstrapRequirement(6, "cdk.out/manifest.json", BOOTSTRAP_PARAMETER)
COMMAND = f"node_modules/.bin/cdk bootstrap aws://123456789012/{REGION}"


def _run(cfn_answer, ssm_answer, requirement: BootstrapRequirement = REQUIRES_6):
    cloudformation, cfn = stubbed("cloudformation")
    ssm, ssm_stub = stubbed("ssm")
    cfn_answer(cfn)
    ssm_answer(ssm_stub)
    with cfn, ssm_stub:
        result = check_bootstrap(
            cloudformation,
            ssm,
            requirement=requirement,
            toolkit_stack_name="CDKToolkit",
            bootstrap_command=COMMAND,
            region=REGION,
        )
    cfn.assert_no_pending_responses()
    ssm_stub.assert_no_pending_responses()
    return result


def test_bootstrapped_environment_with_a_recent_version_is_ok():
    # given a settled CDKToolkit stack and its SSM version 27
    # when the assembly requires 6
    result = _run(
        lambda s: s.add_response("describe_stacks", stack("CDKToolkit", outputs={"BootstrapVersion": "27"})),
        lambda s: s.add_response("get_parameter", parameter(BOOTSTRAP_PARAMETER, "27")),
    )
    # then the line is ok and names both figures
    assert result.status == "ok"
    assert "version 27" in result.detail
    assert ">= 6 required by cdk.out/manifest.json" in result.detail


def test_unbootstrapped_environment_is_told_to_run_cdk_bootstrap():
    # given neither the toolkit stack nor its SSM parameter
    result = _run(lambda s: no_such_stack(s, "CDKToolkit"), lambda s: no_such_parameter(s, BOOTSTRAP_PARAMETER))
    # then the fix names the command to run
    assert result.status == "fix"
    assert "not bootstrapped" in result.detail
    assert COMMAND in result.detail


def test_bootstrap_older_than_the_assembly_requires_is_a_fix():
    # given bootstrap version 5 while the assembly requires 6
    result = _run(
        lambda s: s.add_response("describe_stacks", stack("CDKToolkit", outputs={"BootstrapVersion": "5"})),
        lambda s: s.add_response("get_parameter", parameter(BOOTSTRAP_PARAMETER, "5")),
    )
    # then it is a fix that says to upgrade
    assert result.status == "fix"
    assert "bootstrap version 5" in result.detail
    assert "older than 6" in result.detail


def test_the_ssm_parameter_decides_over_the_stack_output_as_the_cli_does():
    # given a stack output that says 30 but a parameter that says 4 (the CLI reads the parameter)
    result = _run(
        lambda s: s.add_response("describe_stacks", stack("CDKToolkit", outputs={"BootstrapVersion": "30"})),
        lambda s: s.add_response("get_parameter", parameter(BOOTSTRAP_PARAMETER, "4")),
    )
    assert result.status == "fix"
    assert BOOTSTRAP_PARAMETER in result.detail


def test_stack_output_is_used_when_the_parameter_is_missing():
    result = _run(
        lambda s: s.add_response("describe_stacks", stack("CDKToolkit", outputs={"BootstrapVersion": "21"})),
        lambda s: no_such_parameter(s, BOOTSTRAP_PARAMETER),
    )
    assert result.status == "ok"
    assert "stack output BootstrapVersion" in result.detail


def test_failed_bootstrap_stack_is_a_fix_even_with_a_version():
    # given a toolkit stack whose creation rolled back
    result = _run(
        lambda s: s.add_response("describe_stacks", stack("CDKToolkit", status="ROLLBACK_COMPLETE")),
        lambda s: s.add_response("get_parameter", parameter(BOOTSTRAP_PARAMETER, "27")),
    )
    assert result.status == "fix"
    assert "ROLLBACK_COMPLETE" in result.detail
