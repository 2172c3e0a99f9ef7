"""Synth: `cdk synth` of the whole app (default environment, every stack, cdk-nag on) against a one-queue
CDK app synthesized the same way (same CLI, same Python, same flags), as a ratio of interleaved medians."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from .core import ROOT, BenchError, Figure, Section, interleaved, median, ratio, run_command, spread_percent

CDK = ROOT / "node_modules" / ".bin" / "cdk"
ONE_QUEUE_APP = '''"""The smallest useful CDK app: one stack with one SQS queue (the synth benchmark's baseline)."""
import aws_cdk as cdk
from aws_cdk import aws_sqs as sqs

app = cdk.App()
stack = cdk.Stack(app, "OneQueue")
sqs.Queue(stack, "Queue")
app.synth()
'''


def _synth(app_dir: Path, out_dir: Path, *context: str) -> None:
    argv = [str(CDK), "synth", "--quiet", "--output", str(out_dir), *context]
    run_command(argv, cwd=app_dir, env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"})


def run(*, runs: int = 3, warmup: int = 0) -> Section:
    """3 interleaved rounds and no warm-up (about a minute): over the 5 rounds of 2026-11-24 the app's synth
    ranged 10.45-12.81 s and the baseline's 6.54-7.72 s (each within ±10% of its median), and the first round,
    the would-be warm-up, was not slower than the rest, so fewer rounds move the ratio by less than the
    machine's noise. The spread of this run is kept in details (`spread_percent`)."""
    if not CDK.exists():
        raise BenchError(f"{CDK} is missing: run `make install` first")
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        baseline = Path(scratch) / "one-queue"
        baseline.mkdir()
        (baseline / "app.py").write_text(ONE_QUEUE_APP)
        (baseline / "cdk.json").write_text(json.dumps({"app": f"{sys.executable} app.py"}))
        project_out = Path(scratch) / "project.out"
        baseline_out = Path(scratch) / "baseline.out"
        samples = interleaved(
            {
                "project": lambda: _synth(ROOT, project_out, "-c", "env=dev"),
                "one_queue": lambda: _synth(baseline, baseline_out),
            },
            runs=runs,
            warmup=warmup,
            section="synth",
        )
        stacks = sorted(p.name.removesuffix(".template.json") for p in project_out.glob("*.template.json"))
        resources = sum(
            len(json.loads(p.read_text()).get("Resources", {})) for p in project_out.glob("*.template.json")
        )
    if len(stacks) < 2:
        raise BenchError(f"the project synth produced {stacks}, expected both stacks")
    value = ratio(samples, "project", "one_queue")
    return Section(
        "Synth",
        figures=[
            Figure("cdk synth, app vs one-queue app", round(value, 2), "x", ("<=", 2.0)),
            Figure("cdk synth, app", round(median(samples["project"]), 2), "s"),
            Figure("cdk synth, one-queue app", round(median(samples["one_queue"]), 2), "s"),
        ],
        details={
            "runs": runs,
            "warmup": warmup,
            "samples_seconds": {k: [round(s, 2) for s in v] for k, v in samples.items()},
            "spread_percent": {k: spread_percent(v) for k, v in samples.items()},
            "stacks": stacks,
            "resources": resources,
            "command": "cdk synth --quiet -c env=dev (cdk-nag AwsSolutions, Serverless and PCI DSS 3.2.1 on)",
        },
    )
