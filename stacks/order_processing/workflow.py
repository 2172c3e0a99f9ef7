"""The order-processing state machine, defined by `statemachines/order_processing.asl.json`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.order_processing.functions import invoked

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def placeholders(definition: str) -> set[str]:
    """The `${Name}` substitution placeholders used in an ASL document."""
    return set(_PLACEHOLDER.findall(definition))


def check_substitutions(definition: str, substitutions: Mapping[str, object], *, source: str) -> None:
    """Fail synth when the ASL file and the substitutions disagree, in either direction.

    A placeholder left unsubstituted would deploy as a literal `${...}` string; a substitution the file
    no longer uses means the wiring (and its IAM grant) is stale.
    """
    used = placeholders(definition)
    missing = sorted(used - substitutions.keys())
    unused = sorted(substitutions.keys() - used)
    problems = []
    if missing:
        problems.append(f"placeholders without a substitution: {missing}")
    if unused:
        problems.append(f"substitutions the definition does not use: {unused}")
    if problems:
        raise ValueError(f"{source}: " + "; ".join(problems))


class OrderWorkflow(Construct):
    """A STANDARD state machine from the ASL file, logging ALL events to an encrypted log group, traced.

    `functions` and `topics` map each `${Placeholder}` of the file to what it stands for; the state
    machine's role may invoke exactly those functions and publish to exactly those topics.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        definition_file: Path,
        state_machine_name: str,
        functions: Mapping[str, lambda_.IFunction],
        topics: Mapping[str, sns.ITopic],
        log_group_name: str,
        log_retention: logs.RetentionDays,
        encryption_key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        text = definition_file.read_text()
        substitutions = {
            **{placeholder: invoked(fn).function_arn for placeholder, fn in functions.items()},
            **{placeholder: topic.topic_arn for placeholder, topic in topics.items()},
        }
        check_substitutions(text, substitutions, source=str(definition_file.name))

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name,
            retention=log_retention,
            encryption_key=encryption_key,
            removal_policy=removal_policy,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Inline (DefinitionString) rather than from_file's S3 asset, so the template carries the
            # very JSON of the file, and the tests and the offline runner read it from there.
            definition_body=sfn.DefinitionBody.from_string(json.dumps(json.loads(text), separators=(",", ":"))),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(
                destination=self.log_group,
                level=sfn.LogLevel.ALL,
                # Execution data carries payment tokens; the execution history keeps it for debugging.
                include_execution_data=False,
            ),
            tracing_enabled=True,
        )
        self.functions = tuple(functions.values())
        for fn in self.functions:
            # The alias's ARN when SnapStart is on: the role may invoke what the definition calls.
            invoked(fn).grant_invoke(self.state_machine)
        for topic in topics.values():
            topic.grant_publish(self.state_machine)
