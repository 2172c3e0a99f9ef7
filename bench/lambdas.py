"""Lambda: each handler's cold import time in a fresh interpreter, from its synthesized asset (the very
folder `cdk deploy` zips), against a floor measured beside it: a fresh interpreter that imports boto3 and
creates the clients that handler creates at import. Also each package's size zipped as the CDK zips it."""

from __future__ import annotations

import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any

from .core import ROOT, BenchError, Figure, Section, median, run_command

ASSEMBLY = ROOT / "cdk.out"
STACKS = ("OrderProcessing-dev", "DataPlatform-dev")
# What the Lambda runtime puts in the environment; the template's own variables come on top, and
# LAMBDA_TASK_ROOT (the code folder) is set per function. No network is reached: clients are only created.
# The functions trace (TracingConfig Active), so the tracer stays on: LAMBDA_TASK_ROOT is how the Powertools
# Tracer and the X-Ray SDK know they run in Lambda (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
RUNTIME_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
}
# The goal: each handler's cold import at most this many times its floor.
FLOOR_RATIO_TARGET = 1.25
IMPORT_PROBE = (
    "import importlib, sys, time; started = time.perf_counter(); "
    "module = importlib.import_module(sys.argv[1]); getattr(module, sys.argv[2]); "
    "print(time.perf_counter() - started)"
)
# Which boto3 clients and resources a handler creates while it is imported (a resource's own inner client is
# not counted twice): the floor creates the same, so it stays honest as handlers change.
CLIENTS_PROBE = """
import importlib, json, sys
import boto3.session
made, depth = [], [0]
def recording(kind, create):
    def wrapper(self, service_name, *args, **kwargs):
        if depth[0] == 0:
            made.append([kind, service_name])
        depth[0] += 1
        try:
            return create(self, service_name, *args, **kwargs)
        finally:
            depth[0] -= 1
    return wrapper
boto3.session.Session.client = recording("client", boto3.session.Session.client)
boto3.session.Session.resource = recording("resource", boto3.session.Session.resource)
importlib.import_module(sys.argv[1])
print(json.dumps(made))
"""
FLOOR_PROBE = (
    "import json, sys, time; started = time.perf_counter(); import boto3; "
    "[getattr(boto3, kind)(service) for kind, service in json.loads(sys.argv[1])]; "
    "print(time.perf_counter() - started)"
)


def handlers(assembly: Path = ASSEMBLY) -> list[dict[str, Any]]:
    """The project's functions in the synthesized templates: name, handler, asset folder, environment.
    CDK's own helper functions (custom resources) are left out: their code is not in lambdas/."""
    found = []
    for stack in STACKS:
        template_path = assembly / f"{stack}.template.json"
        if not template_path.is_file():
            raise BenchError(f"{template_path} is missing: run `make synth` first")
        template = json.loads(template_path.read_text())
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::Lambda::Function":
                continue
            props = resource["Properties"]
            folder = props.get("Handler", "").split(".")[0]
            if not (ROOT / "lambdas" / folder).is_dir():
                continue
            asset = resource.get("Metadata", {}).get("aws:asset:path")
            if not asset or not (assembly / asset).is_dir():
                raise BenchError(f"{stack}/{logical_id}: no asset folder in {assembly}")
            variables = props.get("Environment", {}).get("Variables", {})
            found.append(
                {
                    "function": folder,
                    "stack": stack,
                    "handler": props["Handler"],
                    "asset": assembly / asset,
                    "memory_mb": props.get("MemorySize", 128),
                    # Unresolved references (ARNs, names) become placeholders: the import only reads them.
                    "environment": {k: v if isinstance(v, str) else f"bench-{k.lower()}" for k, v in variables.items()},
                }
            )
    return sorted(found, key=lambda h: h["function"])


def package_size(folder: Path) -> tuple[int, int]:
    """(zipped bytes, unzipped bytes) of a folder, deflated the way the CDK packages a code asset."""
    buffer = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
                unzipped += path.stat().st_size
    return len(buffer.getvalue()), unzipped


def _probe(handler: dict[str, Any], code: str, *args: str) -> str:
    """The last line a fresh interpreter prints, run in the function's folder with the runtime's environment."""
    env = {
        **os.environ,
        **RUNTIME_ENV,
        **handler["environment"],
        "LAMBDA_TASK_ROOT": str(handler["asset"]),
        "PYTHONPATH": str(handler["asset"]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    output = run_command([sys.executable, "-c", code, *args], cwd=handler["asset"], env=env)
    return output.strip().splitlines()[-1]


def cold_import_seconds(handler: dict[str, Any]) -> float:
    module, attribute = handler["handler"].rsplit(".", 1)
    return float(_probe(handler, IMPORT_PROBE, module, attribute))


def clients_created(handler: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, service) of each boto3 client ("client") or resource ("resource") the handler creates at import."""
    module = handler["handler"].rsplit(".", 1)[0]
    return [(kind, service) for kind, service in json.loads(_probe(handler, CLIENTS_PROBE, module))]


def floor_seconds(handler: dict[str, Any], clients: list[tuple[str, str]]) -> float:
    """A fresh interpreter importing boto3 and creating `clients`, in the handler's own environment."""
    return float(_probe(handler, FLOOR_PROBE, json.dumps(clients)))


def describe_clients(clients: list[tuple[str, str]]) -> str:
    return ", ".join(f"{service} {kind}" for kind, service in clients) or "no client"


def figures(
    name: str, import_samples: list[float], floor_samples: list[float], clients: list[tuple[str, str]]
) -> list[Figure]:
    """The cold import, its floor and their ratio (the ratio carries the target)."""
    import_ms = median(import_samples) * 1000
    floor_ms = median(floor_samples) * 1000
    return [
        Figure(f"{name}: cold import", round(import_ms), "ms"),
        Figure(f"{name}: floor (boto3, {describe_clients(clients)})", round(floor_ms), "ms"),
        Figure(f"{name}: cold import / floor", round(import_ms / floor_ms, 2), "x", ("<=", FLOOR_RATIO_TARGET)),
    ]


def measure(handler: dict[str, Any], *, runs: int, warmup: int) -> tuple[list[float], list[float]]:
    """(import samples, floor samples) of one handler, taken in pairs (floor, import) so that the machine's
    noise at any moment falls on both sides of the ratio alike."""
    clients = handler["clients"]
    imports: list[float] = []
    floors: list[float] = []
    for round_number in range(warmup + runs):
        floor = floor_seconds(handler, clients)
        cold = cold_import_seconds(handler)
        if round_number >= warmup:
            floors.append(floor)
            imports.append(cold)
    return imports, floors


def run(*, runs: int = 5, warmup: int = 1, assembly: Path = ASSEMBLY) -> Section:
    section = Section("Lambda")
    details: dict[str, Any] = {
        "runs": runs,
        "warmup": warmup,
        "python": sys.version.split()[0],
        "floor_ratio_target": FLOOR_RATIO_TARGET,
        "functions": {},
    }
    for handler in handlers(assembly):
        name = handler["function"]
        handler["clients"] = clients_created(handler)
        imports, floors = measure(handler, runs=runs, warmup=warmup)
        found = figures(name, imports, floors, handler["clients"])
        zipped, unzipped = package_size(handler["asset"])
        section.figures += [*found, Figure(f"{name}: package", round(zipped / 1024, 1), "KB zipped", ("<=", 100.0))]
        cold, floor, ratio = found
        verdict = "" if ratio.met else ", MISSED"
        print(
            f"lambdas: {name} cold import {cold.value / 1000:.3f} s, floor {floor.value / 1000:.3f} s "
            f"({ratio.value:.2f}x floor{verdict})",
            file=sys.stderr,
            flush=True,
        )
        details["functions"][name] = {
            "stack": handler["stack"],
            "clients": [list(c) for c in handler["clients"]],
            "import_ms": [round(s * 1000, 1) for s in imports],
            "floor_ms": [round(s * 1000, 1) for s in floors],
            "package_bytes_zipped": zipped,
            "package_bytes_unzipped": unzipped,
            "memory_mb": handler["memory_mb"],
        }
    section.details = details
    return section
