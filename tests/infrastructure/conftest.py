"""Fixtures of the infrastructure tests: the synthesized templates of each environment (one synth each)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aws_cdk.assertions import Template

from tests.infrastructure.cfn import CfnTemplate, templates_of


@pytest.fixture(scope="session", autouse=True)
def _environment_agnostic() -> Iterator[None]:
    """Tests pin the environment-agnostic templates, whatever CDK_DEFAULT_* the shell happens to export."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
        patch.delenv("CDK_DEFAULT_REGION", raising=False)
        yield


@pytest.fixture(scope="session")
def stack_template(synth: Callable[[str], Path]) -> Callable[[str], CfnTemplate]:
    """The OrderProcessing-<env> template of an environment, as plain JSON with lookup helpers."""
    return templates_of(synth, "OrderProcessing")


@pytest.fixture(scope="session")
def dev(stack_template: Callable[[str], CfnTemplate]) -> CfnTemplate:
    return stack_template("dev")


@pytest.fixture(scope="session")
def prod(stack_template: Callable[[str], CfnTemplate]) -> CfnTemplate:
    return stack_template("prod")


@pytest.fixture(scope="session")
def dev_template(dev: CfnTemplate) -> Template:
    """The dev template for aws_cdk.assertions."""
    return Template.from_json(dev.data)
