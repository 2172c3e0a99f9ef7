"""DAG parse: the time to parse `dags/` into a DagBag against a one-task DAG parsed the same way, each sample
a fresh interpreter with the project's offline Airflow settings, and the modules `dags/` imports beyond it.

What a sample times, inside the interpreter, is what Airflow 3.3's DAG processor does for a file:
the manager first imports the `airflow.*` modules the file names (`[dag_processor] parsing_pre_import_modules`,
on by default) and then forks a process that builds the DagBag. The parse time is the sum of the two, which
is what a cold `DagBag(dag_folder=...)` costs (the same modules are imported either way); the DagBag build
alone is what every later parse loop repeats, the pre-imported modules being inherited from the manager.
(`DagBag` has no `include_examples` in Airflow 3: the example DAGs are a bundle of their own, never in a folder's
bag; `AIRFLOW__CORE__LOAD_EXAMPLES=False` is set all the same.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .core import ROOT, BenchError, Figure, Section, interleaved, median, progress, ratio, run_command, spread_percent

PYTHON = ROOT / ".venv" / "bin" / "python"
DAGS = ROOT / "dags"
DAGS_IDS = ("financial_etl_pipeline",)
BASELINE_ID = "bench_one_task"
TARGET = ("<=", 1.5)
TOP = 8
MARKER = "BENCH_DAG_PARSE "

BASELINE_DAG = f'''"""One task and nothing else: the floor of a DAG parse."""

import datetime as dt

from airflow.sdk import DAG, task

with DAG(dag_id="{BASELINE_ID}", schedule=None, start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC), catchup=False):

    @task
    def noop() -> None:
        return None

    noop()
'''

# Run as `python -c CHILD <folder>`: the folder goes on sys.path (MWAA puts `dags/` there); Airflow is imported and
# the heap frozen, as the processor's manager does before its parsing loop (`gc.freeze()` in `before_run`: without
# it a full collection of Airflow's heap, 100-200 ms, lands in whichever import is running); then the processor's
# two steps, each timed. The result is one marked JSON line on stdout; the parent checks it.
CHILD = f"""
import gc, json, sys, time
started = time.perf_counter()
folder = sys.argv[1]
sys.path.insert(0, folder)
import airflow
from airflow.dag_processing.dagbag import DagBag
from airflow.utils.file import iter_airflow_imports, list_py_file_paths
gc.freeze()
imported = time.perf_counter()
pre_imported = sorted({{module for path in list_py_file_paths(folder) for module in iter_airflow_imports(path)}})
for module in pre_imported:
    __import__(module)
built = time.perf_counter()
bag = DagBag(dag_folder=folder)
done = time.perf_counter()
print({MARKER!r} + json.dumps({{
    "import_airflow_s": imported - started,
    "pre_import_s": built - imported,
    "dagbag_s": done - built,
    "pre_imported": pre_imported,
    "dags": {{dag_id: len(dag.tasks) for dag_id, dag in bag.dags.items()}},
    "files": sorted(stat.file for stat in bag.dagbag_stats),
    "import_errors": {{str(path): str(error)[-1500:] for path, error in bag.import_errors.items()}},
}}))
"""

_IMPORTTIME = re.compile(r"^import time:\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\S+)\s*$")


def parse_importtime(text: str) -> dict[str, tuple[int, int]]:
    """`-X importtime` stderr -> {module: (self_us, cumulative_us)}. Other lines (the header, warnings) are
    skipped; a module imported twice (removed from sys.modules in between) adds up both times."""
    modules: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        match = _IMPORTTIME.match(line)
        if match:
            own, cumulative, name = int(match[1]), int(match[2]), match[3]
            before = modules.get(name, (0, 0))
            modules[name] = (before[0] + own, before[1] + cumulative)
    return modules


def extra_imports(
    measured: Mapping[str, tuple[int, int]], baseline: Mapping[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    """The modules `measured` imports that `baseline` does not."""
    return {name: times for name, times in measured.items() if name not in baseline}


def top_contributors(
    measured: Mapping[str, tuple[int, int]],
    baseline: Mapping[str, tuple[int, int]],
    n: int = TOP,
    *,
    by: str = "cumulative",
) -> list[tuple[str, int, int]]:
    """The `n` costliest extra imports as (module, self_us, cumulative_us), by cumulative (a package with what
    it imports: nested modules of one chain follow each other) or by self time; ties by name."""
    if by not in ("cumulative", "self"):
        raise ValueError(f"by must be 'cumulative' or 'self', got {by!r}")
    index = 1 if by == "cumulative" else 0
    extra = extra_imports(measured, baseline)
    ranked = sorted(extra.items(), key=lambda item: (-item[1][index], item[0]))
    return [(name, own, cumulative) for name, (own, cumulative) in ranked[:n]]


def child_result(stdout: str) -> dict[str, Any]:
    """The marked JSON line a child prints."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise BenchError(f"the parse printed no result:\n{stdout[-2000:]}")


def check_parse(result: Mapping[str, Any], expected: tuple[str, ...], folder: Path) -> None:
    """A parse counts only if it found exactly the expected DAGs and no import error."""
    if result["import_errors"]:
        raise BenchError(f"import errors parsing {folder}: {json.dumps(result['import_errors'], indent=1)}")
    if sorted(result["dags"]) != sorted(expected):
        raise BenchError(f"{folder}: expected DAGs {sorted(expected)}, parsed {sorted(result['dags'])}")


def airflow_env(home: Path, folder: Path) -> dict[str, str]:
    """The settings `localrun/airflow_env.py` gives Airflow offline, with `folder` as the DAG folder. Inherited
    AIRFLOW* variables are dropped, so that both sides run with the same settings whatever the caller has."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "_AIRFLOW"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
            "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES": "airflow.*",
        }
    )
    return env


def _importtime(folder: Path, env: Mapping[str, str], expected: tuple[str, ...]) -> dict[str, tuple[int, int]]:
    argv = [str(PYTHON), "-X", "importtime", "-c", CHILD, str(folder)]
    completed = subprocess.run(argv, cwd=ROOT, env=dict(env), capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BenchError(f"-X importtime parse of {folder} exited {completed.returncode}:\n{completed.stderr[-2000:]}")
    check_parse(child_result(completed.stdout), expected, folder)
    modules = parse_importtime(completed.stderr)
    if not modules:
        raise BenchError(f"-X importtime printed nothing for {folder}")
    return modules


def _ms(microseconds: int) -> float:
    return round(microseconds / 1000, 1)


def run(*, runs: int = 5, warmup: int = 1) -> Section:
    """5 rounds after a warm-up (about 40 s: each sample is a fresh interpreter importing Airflow, ~3 s). Fewer
    would not do: on 2026-11-24 the parse of dags/ ranged 205-276 ms (32% of its median) and the one-task
    DAG's 29-47 ms (55%), so the ratio of medians needs every round it has."""
    if not PYTHON.is_file():
        raise BenchError(f"{PYTHON} is missing: create the virtual environment first")
    with tempfile.TemporaryDirectory(prefix="bench-dag-parse-") as scratch:
        home = Path(scratch) / "airflow-home"
        one_task = Path(scratch) / "one_task"
        home.mkdir()
        one_task.mkdir()
        (one_task / "one_task_dag.py").write_text(BASELINE_DAG)
        sides = {"dags": (DAGS, DAGS_IDS), "one_task": (one_task, (BASELINE_ID,))}
        envs = {name: airflow_env(home, folder) for name, (folder, _) in sides.items()}
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}

        def sample(name: str):
            folder, expected = sides[name]

            def parse() -> None:
                stdout = run_command([str(PYTHON), "-c", CHILD, str(folder)], env=envs[name])
                result = child_result(stdout)
                check_parse(result, expected, folder)
                results[name].append(result)

            return parse

        wall = interleaved({name: sample(name) for name in sides}, runs=runs, warmup=warmup, section="dag_parse")
        kept = {name: samples[warmup:] for name, samples in results.items()}
        imports = {name: _importtime(folder, envs[name], expected) for name, (folder, expected) in sides.items()}
        progress("dag_parse", "-X importtime of both folders", f"{len(imports['dags'])} modules in dags/'s parse")

    series = {
        "parse_s": {name: [r["pre_import_s"] + r["dagbag_s"] for r in rs] for name, rs in kept.items()},
        "dagbag_build_s": {name: [r["dagbag_s"] for r in rs] for name, rs in kept.items()},
        "pre_import_s": {name: [r["pre_import_s"] for r in rs] for name, rs in kept.items()},
        "import_airflow_s": {name: [r["import_airflow_s"] for r in rs] for name, rs in kept.items()},
        "interpreter_s": wall,
    }
    medians = {what: {name: median(samples) for name, samples in by.items()} for what, by in series.items()}
    ratios = {what: ratio(by, "dags", "one_task") for what, by in series.items() if what != "pre_import_s"}

    extra = extra_imports(imports["dags"], imports["one_task"])
    by_cumulative = top_contributors(imports["dags"], imports["one_task"], TOP)
    by_self = top_contributors(imports["dags"], imports["one_task"], TOP, by="self")
    extra_self_us = sum(own for own, _ in extra.values())
    note = (
        f"fresh interpreter, pre-import + DagBag build; beyond the one-task DAG dags/ imports {len(extra)} modules, "
        f"{_ms(extra_self_us):g} ms: "
        + ", ".join(f"{name} {_ms(cumulative):g}" for name, _, cumulative in by_cumulative[:4])
        + " ms (cumulative, nested)"
    )

    def rows(ranked: list[tuple[str, int, int]]) -> list[dict[str, Any]]:
        return [{"module": name, "cumulative_ms": _ms(cum), "self_ms": _ms(own)} for name, own, cum in ranked]

    first = kept["dags"][0]
    return Section(
        title="DAG parse",
        figures=[
            Figure("DAG parse vs one-task DAG", ratios["parse_s"], "x", target=TARGET, note=note),
            Figure("DAG parse, dags/ (median)", medians["parse_s"]["dags"], "s"),
            Figure("DAG parse, one-task DAG (median)", medians["parse_s"]["one_task"], "s"),
            Figure(
                "DAG parse vs one-task DAG, airflow imports pre-imported",
                ratios["dagbag_build_s"],
                "x",
                note="the DagBag build alone: what each parse loop of the DAG processor repeats after the first, "
                "its manager having imported the file's airflow.* modules before forking",
            ),
        ],
        details={
            "command": f"{PYTHON.relative_to(ROOT)} -c <bench.dag_parse.CHILD> <folder>, one fresh interpreter a sample",
            "runs": runs,
            "warmup": warmup,
            "folders": {"dags": str(DAGS.relative_to(ROOT)), "one_task": "<temp>/one_task/one_task_dag.py"},
            "parsed": {"dags": first["dags"], "files": first["files"], "pre_imported": first["pre_imported"]},
            "samples": series,
            "medians": medians,
            "spread_percent": {
                what: {name: spread_percent(v) for name, v in by.items()} for what, by in series.items()
            },
            "ratios": ratios,
            "extra_imports": {
                "modules": len(extra),
                "self_ms_total": _ms(extra_self_us),
                "top_by_cumulative": rows(by_cumulative),
                "top_by_self": rows(by_self),
            },
            "environment": {
                "airflow": {
                    key: value.replace(scratch, "<temp>")
                    for key, value in envs["dags"].items()
                    if key.startswith("AIRFLOW")
                },
                "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE", ""),
            },
        },
    )
