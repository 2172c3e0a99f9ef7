"""Two or more versions of `transform_data` timed against each other in one Spark session, interleaved (A, B, A,
B, ...), on one generated day, each run's outputs required to equal the first version's.

    python -m bench.transform_ab --rows 10000000 --rounds 2 9e9dfef jobs/transform_data.py

A version is a file (`jobs/transform_data.py`, or any copy of it) or a git revision of this repository, whose
`jobs/transform_data.py` is taken (`git show REV:jobs/transform_data.py`). Every version imports the current
`jobs/common.py`. Each run replaces its output folder and clears Spark's cache first, outside the timing, as
`bench/spark.py` does; the session settings a version changes (`spark.conf.set`) are put back after its run, so
one version's settings never speed up or slow down the next.

"Equal" is what a consumer of the outputs can see: the curated rows as a multiset (DuckDB's `EXCEPT ALL` both
ways, `duckdb_transform.curated_differences`), the quarantine file byte for byte and the reconciliation record
as parsed JSON. A difference is a BenchError: a faster job that changes its outputs is not an improvement. The
number of curated files may differ (it follows the shuffle partitions), as it does not reach the warehouse.

It prints one line per run and a median per version, and writes nothing else: it is the tool that compares
changes to the job, while `make bench` publishes the figures."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from . import duckdb_transform, spark
from .core import ROOT, BenchError, median


@dataclass
class Version:
    """One version of the job: its label (as given), its module and its run times in seconds."""

    label: str
    module: ModuleType
    seconds: list[float] = field(default_factory=list)


def load(label: str, scratch: Path, index: int) -> Version:
    """The version named by `label`: a path to a transform_data.py, or a git revision of this repository."""
    path = Path(label)
    if not path.is_file():
        git = shutil.which("git")
        if git is None:
            raise BenchError(f"{label!r} is not a file, and git is not installed to read it as a revision")
        shown = subprocess.run(
            [git, "show", f"{label}:jobs/transform_data.py"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode != 0:
            raise BenchError(f"{label!r} is neither a file nor a git revision with jobs/transform_data.py")
        path = scratch / f"transform_data_{index}.py"
        path.write_text(shown.stdout, encoding="utf-8")
    spark._jobs_importable()  # the job imports `common`, as on Glue
    specification = importlib.util.spec_from_file_location(f"transform_data_ab_{index}", path)
    if specification is None or specification.loader is None:
        raise BenchError(f"{path} cannot be imported")
    module = importlib.util.module_from_spec(specification)
    specification.loader.exec_module(module)
    if not callable(getattr(module, "main", None)):
        raise BenchError(f"{label}: no main(argv) in {path}")
    return Version(label, module)


def outputs(out: Path) -> tuple[str, dict[str, Any]]:
    """(the quarantine file's SHA-256, the reconciliation record) of one run."""
    files = sorted((out / "quarantine").glob("*.csv"))
    if len(files) != 1:
        raise BenchError(f"{out}: expected one quarantine CSV, found {len(files)}")
    return hashlib.sha256(files[0].read_bytes()).hexdigest(), json.loads((out / "reconciliation.json").read_text())


def _session_settings(session: Any) -> dict[str, str]:
    return {row.key: row.value for row in session.sql("SET").collect()}


def _restore(session: Any, settings: dict[str, str]) -> None:
    for key, value in _session_settings(session).items():
        if key not in settings:
            session.conf.unset(key)
        elif settings[key] != value:
            session.conf.set(key, settings[key])


def compare(labels: list[str], rows: int, rounds: int, *, work: Path | None = None) -> list[Version]:
    """Runs every version `rounds` times, interleaved, on `rows` generated rows; returns them with their times."""
    if len(labels) < 2 or rows < 1 or rounds < 1:
        raise ValueError(f"need two versions or more, rows >= 1, rounds >= 1; got {labels}, {rows}, {rounds}")
    owned = work is None
    work = Path(tempfile.mkdtemp(prefix="bench-transform-ab-")) if work is None else work
    session = created = duck = None
    before: dict[str, str] = {}
    try:
        versions = [load(label, work, index) for index, label in enumerate(labels)]
        transactions, rates = spark.generate_input(rows)
        raw = work / "raw"
        session, created, _ = spark._start_spark()
        before = _session_settings(session)
        for key, value in spark._runtime_conf(session).items():
            session.conf.set(key, value)
        spark.extract(spark.write_landing(work, transactions, rates), raw)
        del transactions
        settings = _session_settings(session)
        duck = duckdb_transform.connect(threads=session.sparkContext.defaultParallelism)
        reference: tuple[Path, str, dict[str, Any]] | None = None
        for number in range(rounds):
            for index, version in enumerate(versions):
                session.catalog.clearCache()
                out = work / f"out-{number}-{index}"
                started = time.perf_counter()
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        version.module.main(spark._job_argv(raw, out))
                except Exception as exc:  # a failed run has no time to report
                    raise BenchError(f"{version.label}: transform_data failed: {exc}") from exc
                seconds = time.perf_counter() - started
                _restore(session, settings)
                version.seconds.append(seconds)
                digest, record = outputs(out)
                if reference is None:
                    reference = (out, digest, record)
                else:
                    if record != reference[2]:
                        raise BenchError(f"{version.label}: record {record} is not {reference[2]}")
                    if digest != reference[1]:
                        raise BenchError(f"{version.label}: the quarantine file differs from {versions[0].label}'s")
                    differences = duckdb_transform.curated_differences(duck, reference[0] / "curated", out / "curated")
                    if differences:
                        raise BenchError(
                            f"{version.label}: {differences} curated rows differ from {versions[0].label}'s"
                        )
                    shutil.rmtree(out)
                print(
                    f"round {number + 1}/{rounds} {version.label}: {seconds:.2f} s, {rows / seconds:,.0f} rows/s,"
                    " outputs equal",
                    flush=True,
                )
        return versions
    finally:
        # the caller's session as it was, whether the comparison finished or not
        if duck is not None:
            duck.close()
        if session is not None:
            if created:
                session.stop()
            else:
                _restore(session, before)
        if owned:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.transform_ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("versions", nargs="+", help="transform_data.py files or git revisions (the first is A)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="generated rows (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each version, interleaved (default 2)")
    args = parser.parse_args(argv)
    try:
        versions = compare(args.versions, args.rows, args.rounds)
    except (BenchError, ValueError) as exc:
        print(f"transform_ab: {exc}", file=sys.stderr)
        return 2
    first = median(versions[0].seconds)
    for version in versions:
        middle = median(version.seconds)
        print(
            f"{version.label}: median {middle:.2f} s, {args.rows / middle:,.0f} rows/s,"
            f" {first / middle:.2f}x {versions[0].label}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
