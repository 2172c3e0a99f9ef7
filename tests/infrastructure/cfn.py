"""Read-only helpers over a synthesized CloudFormation template (find resources by construct path, etc.)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CfnTemplate:
    data: dict[str, Any]
    stack_name: str

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.data["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def logical_id(self, construct_path: str) -> str:
        """Logical id of the resource at `<stack>/<construct_path>` (e.g. `Functions/Intake/Function`)."""
        wanted = {f"{self.stack_name}/{construct_path}", f"{self.stack_name}/{construct_path}/Resource"}
        found = [k for k, v in self.resources.items() if v.get("Metadata", {}).get("aws:cdk:path") in wanted]
        assert len(found) == 1, f"expected one resource at {construct_path}, found {found}"
        return found[0]

    def properties(self, logical_id: str) -> dict[str, Any]:
        return self.resources[logical_id].get("Properties", {})

    def function_id(self, construct_id: str) -> str:
        return self.logical_id(f"Functions/{construct_id}/Function")

    def role_id_of_function(self, function_id: str) -> str:
        return self.properties(function_id)["Role"]["Fn::GetAtt"][0]

    def statements_of_role(self, role_id: str) -> list[dict[str, Any]]:
        """Every statement of every AWS::IAM::Policy attached to the role (inline role policies included)."""
        statements = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
        for policy in self.properties(role_id).get("Policies", []):
            statements.extend(policy["PolicyDocument"]["Statement"])
        return statements


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def references(value: Any) -> Iterator[str]:
    """Logical ids a template value refers to (Ref / Fn::GetAtt), at any depth."""
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            yield value["Ref"]
        if "Fn::GetAtt" in value:
            yield value["Fn::GetAtt"][0]
        for inner in value.values():
            yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def mentions(value: Any, logical_id: str) -> bool:
    return logical_id in set(references(value)) or f'"{logical_id}"' in json.dumps(value)


def templates_of(synth: Callable[[str], Path], stack_prefix: str) -> Callable[[str], CfnTemplate]:
    """`<stack_prefix>-<env>`'s synthesized template for an environment, read once per environment."""
    cache: dict[str, CfnTemplate] = {}

    def _template(env: str) -> CfnTemplate:
        if env not in cache:
            name = f"{stack_prefix}-{env}"
            cache[env] = CfnTemplate(json.loads((synth(env) / f"{name}.template.json").read_text()), stack_name=name)
        return cache[env]

    return _template


# --- Resource and key policy statements ---------------------------------------------------------------------

ACCOUNT = {"Ref": "AWS::AccountId"}


def text(value: Any) -> str:
    """An Fn::Join / Ref / Fn::GetAtt value flattened to text, references written as <LogicalId>."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(text(p) for p in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    return json.dumps(value)


def admits(statement: dict[str, Any], arn: str) -> bool:
    """Whether the statement's conditions let a service act for `arn` in this account (and only with conditions)."""
    condition = statement.get("Condition", {})
    patterns = as_list(condition.get("ArnLike", {}).get("aws:SourceArn", [])) + as_list(
        condition.get("ArnEquals", {}).get("aws:SourceArn", [])
    )
    return condition.get("StringEquals", {}).get("aws:SourceAccount") == ACCOUNT and any(
        fnmatchcase(arn, text(p)) for p in patterns
    )


def service_of(statement: dict[str, Any]) -> Any:
    principal = statement.get("Principal", {})
    return principal.get("Service") if isinstance(principal, dict) else None


def allows(statement: dict[str, Any], principal: str, actions: set[str]) -> bool:
    return (
        statement["Effect"] == "Allow"
        and service_of(statement) == principal
        and actions <= set(as_list(statement["Action"]))
    )


def statements_on(t: CfnTemplate, policy_type: str, target_id: str, attribute: str) -> list[dict[str, Any]]:
    """Statements of the topic or queue policies that attach to `target_id` (listed under `attribute`)."""
    return [
        statement
        for policy in t.of_type(policy_type).values()
        if {"Ref": target_id} in policy["Properties"][attribute]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
