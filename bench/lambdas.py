"""Lambda: each handler's cold import time in a fresh interpreter, from its synthesized asset (the very
folder `cdk deploy` zips), and that package's size zipped as the CDK zips it."""

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
# What the Lambda runtime puts in the environment; the template's own variables come on top.
RUNTIME_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_LAMBDA_FUNCTION_NAME": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
IMPORT_PROBE = (
    "import importlib, sys, time; started = time.perf_counter(); "
    "module = importlib.import_module(sys.argv[1]); getattr(module, sys.argv[2]); "
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


def cold_import_seconds(handler: dict[str, Any]) -> float:
    module, attribute = handler["handler"].rsplit(".", 1)
    env = {**os.environ, **RUNTIME_ENV, **handler["environment"], "PYTHONPATH": str(handler["asset"])}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    output = run_command([sys.executable, "-c", IMPORT_PROBE, module, attribute], cwd=handler["asset"], env=env)
    return float(output.strip().splitlines()[-1])


def run(*, runs: int = 5, warmup: int = 1) -> Section:
    found = handlers()
    samples: dict[str, list[float]] = {h["function"]: [] for h in found}
    # Round-robin across handlers, so the machine's noise falls on all of them alike.
    for round_number in range(warmup + runs):
        for handler in found:
            seconds = cold_import_seconds(handler)
            if round_number >= warmup:
                samples[handler["function"]].append(seconds)
    section = Section("Lambda")
    details: dict[str, Any] = {"runs": runs, "warmup": warmup, "python": sys.version.split()[0], "functions": {}}
    for handler in found:
        name = handler["function"]
        zipped, unzipped = package_size(handler["asset"])
        import_ms = median(samples[name]) * 1000
        section.figures += [
            Figure(f"{name}: cold import", round(import_ms), "ms", ("<=", 200.0)),
            Figure(f"{name}: package", round(zipped / 1024, 1), "KB zipped", ("<=", 100.0)),
        ]
        details["functions"][name] = {
            "stack": handler["stack"],
            "import_ms": [round(s * 1000, 1) for s in samples[name]],
            "package_bytes_zipped": zipped,
            "package_bytes_unzipped": unzipped,
            "memory_mb": handler["memory_mb"],
        }
    section.details = details
    return section
