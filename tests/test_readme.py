"""The README's commands are ones AWS accepts: what a newcomer copies must not be refused."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import botocore.session
import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def _invoke_rest_api_commands() -> list[list[str]]:
    text = README.read_text().replace("\\\n", " ")
    return [shlex.split(line.strip()) for line in text.splitlines() if "aws mwaa invoke-rest-api" in line]


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_the_readme_shows_invoke_rest_api_examples():
    assert len(_invoke_rest_api_commands()) >= 2


@pytest.mark.parametrize("argv", _invoke_rest_api_commands(), ids=lambda argv: _option(argv, "--path"))
def test_invoke_rest_api_examples_fit_mwaa_limits(argv: list[str]):
    # given: the limits of MWAA's own API model (what the CLI validates before sending)
    shape = botocore.session.get_session().get_service_model("mwaa").operation_model("InvokeRestApi").input_shape
    path, method, body = _option(argv, "--path"), _option(argv, "--method"), _option(argv, "--body")

    # then
    assert path is not None
    assert len(path) <= shape.members["Path"].metadata["max"], path
    assert method in shape.members["Method"].enum
    assert re.fullmatch(r"/[\w~./-]+", path), path
    if body is not None:
        assert isinstance(json.loads(body), dict)
