"""cfn-lint over the synthesized templates: zero errors, and no warning beyond the one CDK always causes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

# W3005 "dependency already enforced by a GetAtt": CDK adds an explicit DependsOn from each function (and
# the state machine) on its role *and* the role's policy, so the policy exists before the first invocation;
# the role half of it is redundant but harmless.
ACCEPTED_WARNINGS = {"W3005"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_template_passes_cfn_lint(synth: Callable[[str], Path], env: str):
    # given
    template = synth(env) / f"OrderProcessing-{env}.template.json"

    # when
    matches = lint_file(template, ManualArgs(regions=["us-east-1", "eu-west-1"]))

    # then
    errors = [f"{m.rule.id} {m.message} ({m.path})" for m in matches if m.rule.id.startswith("E")]
    assert errors == []
    unexpected = sorted({m.rule.id for m in matches if not m.rule.id.startswith("E")} - ACCEPTED_WARNINGS)
    assert unexpected == [], [f"{m.rule.id} {m.message}" for m in matches if m.rule.id in unexpected]
