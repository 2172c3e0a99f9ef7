"""The Powertools layer's public SSM parameter must exist in the region the stacks deploy to."""

from __future__ import annotations

from preflight.checks import check_powertools_layer
from tests.preflight.conftest import REGION, no_such_parameter, parameter, stubbed

NAME = "/aws/service/powertools/python/arm64/python3.14/3.37.0"
ARN = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:20"


def test_published_layer_parameter_is_ok_and_shows_the_layer_arn():
    ssm, stub = stubbed("ssm")
    stub.add_response("get_parameter", parameter(NAME, ARN), expected_params={"Name": NAME})
    with stub:
        result = check_powertools_layer(ssm, parameter_name=NAME, region=REGION)
    assert result.status == "ok"
    assert ARN in result.detail


def test_unpublished_layer_parameter_is_a_fix_that_says_how_to_list_the_published_ones():
    # given a region where this release/runtime/architecture has no public parameter (moto holds none of them)
    ssm, stub = stubbed("ssm")
    no_such_parameter(stub, NAME)
    with stub:
        result = check_powertools_layer(ssm, parameter_name=NAME, region=REGION)
    # then the fix names the parameter and the listing command
    assert result.status == "fix"
    assert NAME in result.detail
    assert "get-parameters-by-path --path /aws/service/powertools/python/arm64/python3.14" in result.detail
