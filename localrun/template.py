"""Reads a synthesized CloudFormation template from a cloud assembly and resolves the intrinsic
functions the emulator needs (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}


class TemplateError(Exception):
    """The cloud assembly is missing, ambiguous, or uses something the emulator cannot resolve."""


def add_cdk_out_option(parser: Any, help_text: str, *aliases: str) -> None:
    """The runners' `--cdk-out DIR` option (default cdk.out, what `make synth` writes), as `args.assembly`."""
    parser.add_argument(
        "--cdk-out", *aliases, dest="assembly", metavar="DIR", type=Path, default=Path("cdk.out"), help=help_text
    )


def find_template(assembly: Path, resource_type: str, stack: str | None = None) -> tuple[str, dict[str, Any]]:
    """(stack name, template) of the one stack in the assembly holding a resource of `resource_type`."""
    if not assembly.is_dir():
        raise TemplateError(f"cloud assembly {assembly} not found: run `make synth` first")
    candidates = []
    for path in sorted(assembly.glob("*.template.json")):
        name = path.name.removesuffix(".template.json")
        if stack and name != stack:
            continue
        template = json.loads(path.read_text())
        if any(r.get("Type") == resource_type for r in template.get("Resources", {}).values()):
            candidates.append((name, template))
    if not candidates:
        raise TemplateError(f"no stack in {assembly} has a {resource_type}" + (f" named {stack}" if stack else ""))
    if len(candidates) > 1:
        names = ", ".join(name for name, _ in candidates)
        raise TemplateError(f"several stacks in {assembly} have a {resource_type} ({names}): choose one with --stack")
    return candidates[0]


@dataclass
class Template:
    """A template plus the physical values of the resources the emulator created."""

    body: dict[str, Any]
    stack_name: str
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)
    on_demand: Callable[[str], None] | None = None

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.body.get("Resources", {})

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {lid: r for lid, r in self.resources.items() if r.get("Type") == resource_type}

    def _ensure(self, logical_id: str) -> None:
        if logical_id not in self.refs and self.on_demand and logical_id in self.resources:
            self.on_demand(logical_id)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self._get_att(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key.startswith("Fn::"):
                raise TemplateError(f"the emulator does not resolve {key}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        if name in PSEUDO:
            return PSEUDO[name]
        if name == "AWS::StackName":
            return self.stack_name
        self._ensure(name)
        if name not in self.refs:
            raise TemplateError(f"Ref {name}: resource not emulated (type {self.resources.get(name, {}).get('Type')})")
        return self.refs[name]

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        self._ensure(logical_id)
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: not emulated") from None

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._ref(name))

        return re.sub(r"\$\{([^!}][^}]*)\}", replace, text)


def substitute_definition(definition: str, substitutions: dict[str, str]) -> str:
    """Fills the ASL `${Name}` placeholders the way Step Functions' DefinitionSubstitutions does."""
    missing = sorted(set(re.findall(r"\$\{([A-Za-z0-9_]+)\}", definition)) - set(substitutions))
    if missing:
        raise TemplateError(f"definition placeholders without a substitution: {', '.join(missing)}")
    for key, value in substitutions.items():
        definition = definition.replace("${" + key + "}", str(value))
    return definition
