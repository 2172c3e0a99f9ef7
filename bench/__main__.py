"""`python -m bench` (or `make bench`): measure, print a table, write bench/results.json.

Benchmarks print numbers and never fail on a timing: a missed target is a row marked `MISSED`. The exit
status is non-zero only when a section could not measure at all (a command failed, an input is missing)."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .core import BenchError, Section

RESULTS = Path(__file__).resolve().parent / "results.json"


def _sections(quick: bool) -> dict[str, Callable[[], Section]]:
    # Imported lazily: each section pulls in what it measures (Airflow, Spark, the CDK CLI, moto).
    def synth() -> Section:
        from . import synth

        return synth.run(runs=2 if quick else 5)

    def orders() -> Section:
        from . import orders

        return orders.run(orders=200, runs=1) if quick else orders.run()

    def dag_parse() -> Section:
        from . import dag_parse

        return dag_parse.run(runs=2 if quick else 5)

    def spark() -> Section:
        from . import spark

        return spark.run(rows=200_000, runs=1) if quick else spark.run()

    def lambdas() -> Section:
        from . import lambdas

        return lambdas.run(runs=2 if quick else 5)

    def suite() -> Section:
        from . import suite

        return suite.run(runs=1 if quick else 3)

    return {
        "synth": synth,
        "orders": orders,
        "dag_parse": dag_parse,
        "spark": spark,
        "lambdas": lambdas,
        "suite": suite,
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "node": node or None,
    }


def table(sections: dict[str, dict[str, Any]]) -> str:
    rows = [("section", "figure", "value", "target", "")]
    for data in sections.values():
        for figure in data["figures"]:
            verdict = {True: "met", False: "MISSED", None: ""}[figure["met"]]
            value = f"{figure['value']:g} {figure['unit']}"
            rows.append((data["title"], figure["name"], value, figure["target"] or "", verdict))
            if figure["note"]:
                rows.append(("", f"  {figure['note']}", "", "", ""))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sections = _sections(quick=False)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated sections (default all): {', '.join(sections)}")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer runs: a smoke test, not figures")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (merged: other sections are kept)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",")] if args.only else list(sections)
    unknown = [name for name in chosen if name not in sections]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(sections)}")
    runners = _sections(quick=args.quick)
    results: dict[str, Any] = {"sections": {}}
    if args.out.is_file():
        try:
            results = json.loads(args.out.read_text())
        except ValueError:
            print(f"warning: {args.out} is not JSON; starting a new one", file=sys.stderr)
    results.setdefault("sections", {})
    failed = []
    for name in chosen:
        print(f"== {name} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            section = runners[name]()
        except BenchError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        data = section.as_json()
        data["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data["quick"] = args.quick
        data["bench_seconds"] = round(time.perf_counter() - started, 1)
        results["sections"][name] = data
        # Written after every section, so an interrupted run keeps what it measured.
        results["machine"] = machine()
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table({name: results["sections"][name] for name in chosen if name in results["sections"]}))
    print(f"\nwritten to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
