"""Fixtures and helpers of the DataPlatform-<env> tests: its templates from the session `synth` fixture (one synth
per environment for the whole session, shared with the order-processing tests)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.infrastructure.cfn import CfnTemplate, as_list, templates_of


@pytest.fixture(scope="session")
def data_template(synth: Callable[[str], Path]) -> Callable[[str], CfnTemplate]:
    return templates_of(synth, "DataPlatform")


@pytest.fixture(scope="session")
def data_dev(data_template: Callable[[str], CfnTemplate]) -> CfnTemplate:
    return data_template("dev")


@pytest.fixture(scope="session")
def data_prod(data_template: Callable[[str], CfnTemplate]) -> CfnTemplate:
    return data_template("prod")


def statements(t: CfnTemplate, role_path: str) -> list[dict[str, Any]]:
    return t.statements_of_role(t.logical_id(role_path))


def allowed_actions(statement: dict[str, Any]) -> set[str]:
    return set(as_list(statement["Action"]))


def statements_with(t: CfnTemplate, role_path: str, action: str) -> Iterator[dict[str, Any]]:
    for statement in statements(t, role_path):
        if statement["Effect"] == "Allow" and action in allowed_actions(statement):
            yield statement
