"""Handler fixtures: the stack's tables, queues and topics on moto (from the synthesized template) and the
real handlers, invoked the way Lambda invokes them (JSON in, JSON or an error payload out)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localrun.emulator import Emulator
from localrun.template import Template, find_template


class Functions:
    def __init__(self, aws: Emulator):
        self.aws = aws

    def invoke(self, code_folder: str, event: Any) -> tuple[Any, bool]:
        payload, failed = self.aws.invoke(self.aws.function_for(code_folder), json.dumps(event))
        return json.loads(payload), failed

    def env(self, code_folder: str, key: str) -> str:
        return self.aws.functions[self.aws.function_for(code_folder)].environment[key]


@pytest.fixture(scope="session")
def dev_assembly(request: pytest.FixtureRequest) -> Path:
    """The dev assembly, synthesized in-process; or, when ORDER_TESTS_ASSEMBLY names one, that assembly: `make
    mutation` runs these tests once per mutant, on the assembly make synthesized, not paying a synth each time."""
    prebuilt = os.environ.get("ORDER_TESTS_ASSEMBLY")
    return Path(prebuilt) if prebuilt else request.getfixturevalue("synth")("dev")


@pytest.fixture(scope="module")
def aws(dev_assembly: Path) -> Iterator[Emulator]:
    name, body = find_template(dev_assembly, "AWS::StepFunctions::StateMachine")
    with Emulator(Template(body=body, stack_name=name)) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def functions(aws: Emulator) -> Functions:
    return Functions(aws)
