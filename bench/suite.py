"""The suite: wall time of `make test` (ruff, then every test) in the warm environment `make bench` runs in."""

from __future__ import annotations

import os
import re
import time

from .core import ROOT, Figure, Section, median, run_command


def run(*, runs: int = 3, warmup: int = 0) -> Section:
    """`warmup` is 0 by default: a suite run takes minutes, and the sections before it have already warmed
    the interpreter, site-packages and cdk.out it reads."""
    samples: list[float] = []
    summary = ""
    for round_number in range(warmup + runs):
        started = time.perf_counter()
        output = run_command(["make", "test"], cwd=ROOT, env=dict(os.environ))
        elapsed = time.perf_counter() - started
        if round_number >= warmup:
            samples.append(elapsed)
        lines = [line for line in output.splitlines() if re.search(r"\d+ passed", line)]
        summary = lines[-1].strip("= ") if lines else summary
    return Section(
        "Suite",
        figures=[Figure("make test, warm", round(median(samples) / 60, 2), "min", ("<=", 8.0), note=summary)],
        details={"runs": runs, "warmup": warmup, "samples_seconds": [round(s, 1) for s in samples], "pytest": summary},
    )
