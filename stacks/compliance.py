"""cdk-nag v3 rule packs, acknowledgments, and the check that turns unacknowledged errors into a failed synth.

cdk-nag v3 runs as CDK policy-validation plugins (`Validations.of(app).add_plugins`), not as Aspects, and
acknowledgments are CDK's own (`Validations.of(construct).acknowledge`). Findings land in the cloud
assembly's `validation-report.json`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, App, Validations, cx_api
from cdk_nag import AwsSolutionsChecks, PCIDSS321Checks, ServerlessChecks
from constructs import IConstruct

VALIDATION_REPORT = "validation-report.json"
FAIL_SYNTH_ON_VALIDATION_ERRORS = "@aws-cdk/core:failSynthOnValidationErrors"
_FAILING_SEVERITIES = frozenset({"error", "fatal"})


def apply_rule_packs(app: App) -> None:
    """Check every stack of the app against AWS Solutions, Serverless and PCI DSS 3.2.1 rules, Control Tower's
    proactive controls (cfn-guard) and the deployability rules (stacks/deployability.py).

    Acknowledgments are also written into each resource's template Metadata (`cdk_nag.rules_to_suppress`),
    so the template itself carries the audit trail of what was acknowledged and why.
    """
    from stacks.control_tower import control_tower_checks  # imports acknowledge from this module
    from stacks.deployability import DeployabilityChecks

    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(app, verbose=True),
        PCIDSS321Checks(app, verbose=True),
        control_tower_checks(),
        DeployabilityChecks(),
    )


def acknowledge(scope: IConstruct, rule_id: str, reason: str, *, findings: Iterable[str] = ()) -> None:
    """Acknowledge one rule on `scope` and the constructs below it, with the reason it does not apply.

    For rules that report per finding (AwsSolutions-IAM5 and its kin), name each finding, e.g.
    `Resource::*` or `Action::kms:GenerateDataKey*`: only those are acknowledged, never the whole rule.
    """
    findings = tuple(findings)
    if not reason.strip():
        raise ValueError(f"acknowledging {rule_id} needs a reason")
    ids = [f"{rule_id}[{finding}]" for finding in findings] if findings else [rule_id]
    Validations.of(scope).acknowledge(*(Acknowledgment(id=i, reason=reason) for i in ids))


@dataclass(frozen=True)
class Violation:
    """One unacknowledged finding of a validation plugin."""

    plugin: str
    rule: str
    severity: str
    description: str
    paths: tuple[str, ...]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule} ({self.plugin}): {self.description}\n    at " + "\n    at ".join(
            self.paths
        )


def unacknowledged_violations(assembly_dir: str | Path) -> list[Violation]:
    """Every finding left in the assembly's validation report (acknowledged ones are not in `violations`)."""
    report_file = Path(assembly_dir) / VALIDATION_REPORT
    if not report_file.exists():
        return []
    report = json.loads(report_file.read_text())
    found = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            found.append(
                Violation(
                    plugin=plugin.get("pluginName", "?"),
                    rule=violation.get("ruleName", "?"),
                    severity=str(violation.get("severity", "?")).lower(),
                    description=violation.get("description", ""),
                    paths=tuple(
                        resource.get("constructPath", "?") for resource in violation.get("violatingConstructs", [])
                    ),
                )
            )
    return found


class NonCompliantError(RuntimeError):
    """Raised after synth when a rule pack reported an error nobody acknowledged."""


def fail_on_unacknowledged_errors(assembly_dir: str | Path) -> None:
    """Print unacknowledged warnings; raise if any unacknowledged error is left."""
    violations = unacknowledged_violations(assembly_dir)
    warnings = [v for v in violations if v.severity not in _FAILING_SEVERITIES]
    if warnings:
        print(f"{len(warnings)} unacknowledged rule-pack warning(s):", file=sys.stderr)
        for warning in warnings:
            print(warning, file=sys.stderr)
    errors = [v for v in violations if v.severity in _FAILING_SEVERITIES]
    if errors:
        listing = "\n".join(str(v) for v in errors)
        raise NonCompliantError(
            f"{len(errors)} unacknowledged rule-pack error(s) (cdk-nag, Control Tower, deployability); fix them or acknowledge each with a reason "
            f"(stacks.compliance.acknowledge):\n{listing}"
        )


class CompliantApp(App):
    """An App whose synth fails when a rule pack reports an error nobody acknowledged.

    The validation report decides: unacknowledged errors fail synth, warnings are printed. (Left to CDK, a
    pack reporting only warnings would fail synth as well, and only in some app modes: in-process under
    pytest it raises, under the CLI it merely sets the exit code of the jsii node process.)
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.node.set_context(FAIL_SYNTH_ON_VALIDATION_ERRORS, False)

    def synth(self, **kwargs: Any) -> cx_api.CloudAssembly:
        assembly = super().synth(**kwargs)
        fail_on_unacknowledged_errors(assembly.directory)
        return assembly
