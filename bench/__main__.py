"""`python -m bench` (or `make bench`): measure, print a table, write bench/results.json.

Benchmarks print numbers and never fail on a timing: a missed target is a row marked `MISSED`. The exit
status is non-zero only when a section could not measure at all (a command failed, an input is missing).

While it runs, stderr gets a line as each section starts (with its budget) and ends (with its time against the
budget), a line per measured item (`bench.core.progress`, with the time since the bench started) and the total
against 20 minutes. `python -m bench --table` measures nothing and prints the README's Performance table (markdown)
from bench/results.json, with the command and date of each section and whether they are one complete run."""

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

from .core import BenchError, Section, elapsed, start_clock

RESULTS = Path(__file__).resolve().parent / "results.json"

# What each section may take of the whole bench's 20 minutes on the reference machine (2 shared vCPU), in seconds:
# `python -m bench` prints the budget as a section starts, its time against it as it ends, and the total against
# TOTAL_BUDGET. A section over budget is reported, never stopped. The suite (`make test` once) is most of it.
# Measured on 2026-12-03 alone: synth 53 s (3 rounds), dag_parse 18 s, lambdas ~55 s (cold-starts' notes), the suite
# 8-9 min; orders and spark get what is left, to be confirmed by their owners' runs.
BUDGETS = {"synth": 70, "orders": 240, "dag_parse": 40, "spark": 240, "lambdas": 75, "suite": 535}
TOTAL_BUDGET = 20 * 60


def _sections(quick: bool, spark_rows: int | None = None) -> dict[str, Callable[[], Section]]:
    # Imported lazily: each section pulls in what it measures (Airflow, Spark, the CDK CLI, moto).
    def synth() -> Section:
        from . import synth

        return synth.run(runs=1 if quick else 3)

    def orders() -> Section:
        from . import orders

        return orders.run(orders=200, runs=1) if quick else orders.run()

    def dag_parse() -> Section:
        from . import dag_parse

        return dag_parse.run(runs=2 if quick else 5)

    def spark() -> Section:
        from . import spark

        if spark_rows:
            return spark.run(rows=spark_rows, runs=1, warmup=0) if quick else spark.run(rows=spark_rows)
        return spark.run(rows=200_000, runs=1) if quick else spark.run()

    def lambdas() -> Section:
        from . import lambdas

        return lambdas.run(runs=2 if quick else 5)

    def suite() -> Section:
        from . import suite

        return suite.run(paths=["tests/bench"]) if quick else suite.run()

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


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)  # floored, as the progress lines' clock
    return f"{minutes}:{secs:02d}"


def section_started(name: str) -> str:
    budget = BUDGETS.get(name)
    return f"== {name} started at {_duration(elapsed())}" + (f" (budget {budget} s)" if budget else "")


def section_ended(name: str, seconds: float, *, failed: bool = False) -> str:
    budget = BUDGETS.get(name)
    verdict = ""
    if budget:
        verdict = f" of {budget} s budget" + (": OVER" if seconds > budget else "")
    return f"== {name} {'FAILED' if failed else 'done'} in {seconds:.1f} s{verdict}"


def total_line(seconds: float, sections: list[str]) -> str:
    """The whole bench against TOTAL_BUDGET; a partial run against the budgets of the sections it ran."""
    whole = set(sections) == set(BUDGETS)
    budget = TOTAL_BUDGET if whole else sum(BUDGETS.get(name, 0) for name in sections)
    scope = "whole bench" if whole else f"sections {', '.join(sections)}"
    verdict = "met" if seconds <= budget else "OVER"
    return f"== total {_duration(seconds)} for the {scope}, budget {_duration(budget)}: {verdict}"


def number(value: float) -> str:
    """A figure's value as the table shows it: thousands grouped from 1,000 up, else 4 significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(results: dict[str, Any]) -> str:
    """The README's Performance table from results.json: one row per figure, the command and date that measured
    each section on its first row, then a line saying whether the table is one complete run."""
    sections = results.get("sections", {})
    lines = ["| section | figure | value | target | measured |", "| --- | --- | --- | --- | --- |"]
    for data in sections.values():
        measured = f"`{data.get('command', 'command not recorded')}`, {data.get('measured_at', '?')[:10]}"
        if data.get("quick"):
            measured += " (quick: not figures)"
        if data.get("bench_seconds") is not None:
            measured += f", {data['bench_seconds']:g} s"
        for index, figure in enumerate(data["figures"]):
            verdict = {True: ": met", False: ": **missed**", None: ""}[figure["met"]]
            value = (
                f"**{number(figure['value'])} {figure['unit']}**"
                if figure["target"]
                else f"{number(figure['value'])} {figure['unit']}"
            )
            if figure.get("note"):
                value += f" ({figure['note']})"
            target = f"{figure['target']}{verdict}" if figure["target"] else ""
            lines.append(
                "| "
                + " | ".join(
                    _cell(cell)
                    for cell in (
                        data["title"] if index == 0 else "",
                        figure["name"],
                        value,
                        target,
                        measured if index == 0 else "",
                    )
                )
                + " |"
            )
    runs = {data.get("run_started") for data in sections.values()}
    missing = [name for name in BUDGETS if name not in sections]
    quick = [name for name, data in sections.items() if data.get("quick")]
    if len(runs) == 1 and None not in runs and not missing and not quick:
        total = sum(data.get("bench_seconds", 0) for data in sections.values())
        lines.append(f"\nAll sections from one complete run started {runs.pop()}, {_duration(total)} in all.")
    else:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if quick:
            problems.append(f"quick runs: {', '.join(quick)}")
        if len(runs) > 1 or None in runs:
            problems.append("sections from different runs")
        lines.append(f"\nNot one complete run ({'; '.join(problems)}): run `make bench` for the README.")
    machine_info = results.get("machine")
    if machine_info:
        lines.append(
            f"Machine: {machine_info.get('cores')} vCPU {machine_info.get('cpu')}, {machine_info.get('memory_gib')} GiB, "
            f"Python {machine_info.get('python')}, Node {machine_info.get('node')}."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    sections = _sections(quick=False)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated sections (default all): {', '.join(sections)}")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer runs: a smoke test, not figures")
    parser.add_argument(
        "--spark-rows",
        type=int,
        metavar="N",
        help="rows of the Spark section (default 1,000,000, within its budget; the issue's goal is at 10,000,000)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (merged: other sections are kept)")
    parser.add_argument(
        "--table",
        action="store_true",
        help="measure nothing: print the README's Performance table (markdown) from --out",
    )
    args = parser.parse_args(argv)
    if args.table:
        if not args.out.is_file():
            parser.error(f"{args.out} does not exist: run the bench first")
        print(markdown_table(json.loads(args.out.read_text())))
        return 0
    chosen = [name.strip() for name in args.only.split(",")] if args.only else list(sections)
    unknown = [name for name in chosen if name not in sections]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(sections)}")
    if args.spark_rows is not None and args.spark_rows < 1:
        parser.error(f"--spark-rows must be at least 1, got {args.spark_rows}")
    runners = _sections(quick=args.quick, spark_rows=args.spark_rows)
    results: dict[str, Any] = {"sections": {}}
    if args.out.is_file():
        try:
            results = json.loads(args.out.read_text())
        except ValueError:
            print(f"warning: {args.out} is not JSON; starting a new one", file=sys.stderr)
    results.setdefault("sections", {})
    command = "python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    run_started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    start_clock()
    budget = TOTAL_BUDGET if set(chosen) == set(BUDGETS) else sum(BUDGETS.get(name, 0) for name in chosen)
    print(
        f"== bench: {', '.join(chosen)}; budgets "
        + ", ".join(f"{name} {BUDGETS.get(name, '?')} s" for name in chosen)
        + f"; total budget {_duration(budget)}",
        file=sys.stderr,
        flush=True,
    )
    failed = []
    for name in chosen:
        print(section_started(name), file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            section = runners[name]()
        except BenchError as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            print(section_ended(name, time.perf_counter() - started, failed=True), file=sys.stderr, flush=True)
            failed.append(name)
            continue
        seconds = time.perf_counter() - started
        print(section_ended(name, seconds), file=sys.stderr, flush=True)
        data = section.as_json()
        data["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        data["run_started"] = run_started
        data["command"] = command
        data["quick"] = args.quick
        data["bench_seconds"] = round(seconds, 1)
        data["budget_seconds"] = BUDGETS.get(name)
        results["sections"][name] = data
        # Written after every section, so an interrupted run keeps what it measured.
        results["machine"] = machine()
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(total_line(elapsed(), chosen), file=sys.stderr, flush=True)
    print(table({name: results["sections"][name] for name in chosen if name in results["sections"]}))
    print(f"\nwritten to {args.out}; `python -m bench --table` prints it as the README's markdown table")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
