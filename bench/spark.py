"""Spark transform: the `transform_data` Glue job (`jobs/transform_data.py`, the very script) on generated raw
transactions in local Spark mode, and what the seed's 10 TB a day would take on AWS Glue.

The input is made once, outside the timing, as the pipeline makes it: `localrun.etl.generate_day` (the
project's generator, with its faults) writes the landing CSV, and the real `extract_transactions` and
`extract_market_data` jobs turn it into the raw-zone Parquet that `transform_data` reads.

One local SparkSession is started once, before the warm-up, and kept (as Glue keeps a job run's executors up
while the script runs): the figure times `transform_data.main(argv)` only, i.e. the job's whole read, rules,
curated and quarantine writes, read-back count and reconciliation record. Between runs, outside the timing,
Spark's cache is cleared (the job caches its judged rows, and an identical plan would otherwise be served
from the previous run's cache, which a fresh Glue job run never gets) and the previous output is removed.
Every run's reconciliation record must show input rows = `rows` = curated + quarantined + duplicates, with the
very counts an independent pure-Python reading of the same CSV predicts; anything else is a BenchError.

After each Spark run the same rules run in DuckDB (`bench/duckdb_transform.py`) on the same raw Parquet, the
single-machine reference, timed alike; its record and curated rows must be Spark's on every run."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from . import duckdb_transform, prices
from .core import ROOT, BenchError, Figure, Section, median, progress

JOBS = ROOT / "jobs"
JOB_FILES = ("transform_data.py", "common.py")
LOG4J = ROOT / "localrun" / "log4j2.properties"
BUSINESS_DATE = "2026-11-23"
SEED = 20261123
TARGET_ROWS_PER_SECOND = 150_000  # issue 13: at 10M rows on local[2]

# ---- the Glue estimate's assumptions ----------------------------------------------------------------------

# The Glue price lives with the others in bench/prices.py; Decimal here, as the estimate is money.
GLUE_USD_PER_DPU_HOUR = Decimal(str(prices.GLUE_DPU_HOUR.usd))
GLUE_PRICE_SOURCE = f"{prices.GLUE_DPU_HOUR.source} ({prices.REGION}, Spark jobs, as of {prices.PRICES_AS_OF})"
# G.1X worker: 1 DPU = 4 vCPU and 16 GB of memory; Glue 5.0 runs Spark 3.5 (the version tested locally).
G1X_VCPUS = 4
G1X_DPUS = 1
G1X_MEMORY_GB = 16
# Local disk for shuffle files and cache spill: "94GB disk (approximately 44GB free)" per G.1X worker.
# Source: https://docs.aws.amazon.com/glue/latest/dg/worker-types.html
G1X_FREE_DISK_GB = 44
G1X_DISK_SOURCE = "https://docs.aws.amazon.com/glue/latest/dg/worker-types.html"
DRIVER_WORKERS = 1  # one of a Glue job's workers runs the Spark driver, the others run executors
# The seed: "5-10 TB of financial transaction data daily", "long-running jobs that can take up to 12 hours".
SEED_BYTES_PER_DAY = 10 * 10**12  # 10 TB (decimal), the upper end, counted as it lands (CSV)
WINDOW_HOURS = 12.0
# Assumed, not measured: the share of the local per-vCPU rate one Glue vCPU keeps. It pays for reading and
# writing S3 instead of a local disk, shuffles over the network, the driver's coordination and stragglers or
# skew across many executors. The details show the estimate at half and double this factor too.
GLUE_EFFICIENCY = 0.5
DAYS_PER_MONTH = 30


def glue_estimate(
    bytes_per_day: float,
    bytes_per_row: float,
    rows_per_second_per_vcpu: float,
    window_hours: float = WINDOW_HOURS,
    *,
    efficiency: float = GLUE_EFFICIENCY,
    vcpus_per_worker: int = G1X_VCPUS,
    dpus_per_worker: int = G1X_DPUS,
    driver_workers: int = DRIVER_WORKERS,
    usd_per_dpu_hour: Decimal = GLUE_USD_PER_DPU_HOUR,
    days_per_month: int = DAYS_PER_MONTH,
    free_disk_gb_per_worker: float = G1X_FREE_DISK_GB,
) -> dict[str, Any]:
    """Glue workers and cost to process `bytes_per_day` in `window_hours` (pure arithmetic).

    rows/day = bytes/day / bytes/row; a Glue vCPU does `rows_per_second_per_vcpu x efficiency` rows/s; the
    executors are the fewest whole workers whose vCPUs finish in the window, plus the driver's worker(s);
    the job runs until its vCPU-seconds are done (at most the window), and every worker is billed meanwhile.
    Money is Decimal, rounded half-even to cents; hours and rates are rounded floats."""
    for name, value in (
        ("bytes_per_day", bytes_per_day),
        ("bytes_per_row", bytes_per_row),
        ("rows_per_second_per_vcpu", rows_per_second_per_vcpu),
        ("window_hours", window_hours),
        ("efficiency", efficiency),
        ("vcpus_per_worker", vcpus_per_worker),
        ("dpus_per_worker", dpus_per_worker),
        ("days_per_month", days_per_month),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    if driver_workers < 0:
        raise ValueError(f"driver_workers must not be negative, got {driver_workers!r}")
    rows_per_day = bytes_per_day / bytes_per_row
    window_seconds = window_hours * 3600
    glue_rows_per_second_per_vcpu = rows_per_second_per_vcpu * efficiency
    vcpu_seconds = rows_per_day / glue_rows_per_second_per_vcpu
    executor_workers = math.ceil(vcpu_seconds / (vcpus_per_worker * window_seconds))
    workers = executor_workers + driver_workers
    run_hours = vcpu_seconds / (executor_workers * vcpus_per_worker) / 3600
    dpu_hours = Decimal(str(round(workers * dpus_per_worker * run_hours, 2)))
    usd_per_day = (dpu_hours * usd_per_dpu_hour).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return {
        "rows_per_day": round(rows_per_day),
        "required_rows_per_second": round(rows_per_day / window_seconds),
        "glue_rows_per_second_per_vcpu": round(glue_rows_per_second_per_vcpu, 1),
        "vcpu_hours_per_day": round(vcpu_seconds / 3600, 1),
        "executor_workers": executor_workers,
        "workers": workers,
        "vcpus": workers * vcpus_per_worker,
        "run_hours": round(run_hours, 2),
        "dpu_hours_per_day": dpu_hours,
        "usd_per_day": usd_per_day,
        "usd_per_month": (usd_per_day * days_per_month).quantize(Decimal("0.01"), ROUND_HALF_EVEN),
        "executor_free_disk_tb": round(executor_workers * free_disk_gb_per_worker / 1000, 2),
    }


# ---- the input ----------------------------------------------------------------------------------------------


def _jobs_importable() -> None:
    """`jobs/` on sys.path, as Glue's --extra-py-files and localrun put it (the scripts import `common`)."""
    if str(JOBS) not in sys.path:
        sys.path.insert(0, str(JOBS))


def generate_input(rows: int, seed: int = SEED, business_date: str = BUSINESS_DATE) -> tuple[str, str]:
    """(landing transactions CSV with exactly `rows` data lines, FX rates CSV), from the project's generator.

    `generate_day` adds its duplicate lines on top of the rows asked for; its first `rows` lines are kept, so
    the input has its faults at their usual rates: about 3% each of unparseable amounts, timestamps of the day
    before and currencies without a rate (quarantined), 3% exact copies (de-duplicated) and 3% conflicting
    copies of an id (both copies quarantined)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    from localrun.etl import generate_day

    transactions, rates = generate_day(business_date, rows, seed)
    lines = transactions.splitlines(keepends=True)
    if len(lines) < rows + 1:
        raise BenchError(f"generate_day made {len(lines) - 1} rows, fewer than {rows}")
    return "".join(lines[: rows + 1]), rates


def expected_counts(transactions_csv: str, rates_csv: str, business_date: str = BUSINESS_DATE) -> dict[str, int]:
    """What transform_data must report for this input, worked out in plain Python (independently of Spark):
    input, curated, quarantined and duplicate rows, and the quarantined rows per rule."""
    _jobs_importable()
    from common import CHANNELS
    from transform_data import AMOUNT_PATTERN, TIMESTAMP_PATTERN

    # The job's patterns end in Java's (and RE2's) \z, the end of the input; Python 3.11 spells it \Z.
    amount_ok, timestamp_ok = (
        re.compile(pattern.replace(r"\z", r"\Z")).match for pattern in (AMOUNT_PATTERN, TIMESTAMP_PATTERN)
    )
    day = dt.date.fromisoformat(business_date)
    with_rate = {row[0] for row in list(csv.reader(io.StringIO(rates_csv)))[1:]} | {"USD"}
    # Spark's CSV reader reads an empty field as null; a missing trailing column is null as well.
    lines = [
        tuple((cell or None) for cell in (row + [""] * 8)[:8])
        for row in list(csv.reader(io.StringIO(transactions_csv)))[1:]
    ]
    distinct = Counter(lines)
    variants = Counter(line[0] for line in distinct if line[0] is not None)
    reasons: Counter[str] = Counter()
    for transaction_id, account_id, timestamp, amount, currency, channel, _, _ in distinct:
        reason = None
        if transaction_id is not None and variants[transaction_id] > 1:
            reason = "conflicting duplicate"
        elif transaction_id is None or not transaction_id.strip():
            reason = "missing transaction_id"
        elif account_id is None or not account_id.strip():
            reason = "missing account_id"
        elif amount is None or not amount_ok(amount):
            reason = "unparseable amount"
        elif timestamp is None or not timestamp_ok(timestamp) or _utc_date(timestamp) is None:
            reason = "unparseable timestamp"
        elif _utc_date(timestamp) != day:
            reason = "timestamp outside business date"
        elif channel not in CHANNELS:
            reason = "unknown channel"
        elif currency not in with_rate:
            reason = "no FX rate for currency"
        if reason:
            reasons[reason] += 1
    quarantined = sum(reasons.values())
    return {
        "input_rows": len(lines),
        "curated_rows": len(distinct) - quarantined,
        "quarantined_rows": quarantined,
        "duplicate_rows": len(lines) - len(distinct),
        "quarantined_by_reason": dict(sorted(reasons.items())),
    }


def _utc_date(timestamp: str) -> dt.date | None:
    try:
        moment = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC).date() if moment.tzinfo else None


def _data_bytes(folder: Path) -> int:
    """Bytes of a Spark output folder's data files (not the .crc checksums or _SUCCESS markers)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def write_landing(work: Path, transactions: str, rates: str) -> Path:
    """The landing folder under `work`: transactions/transactions.csv and market_data/fx_rates.csv."""
    landing = work / "landing"
    (landing / "transactions").mkdir(parents=True)
    (landing / "market_data").mkdir(parents=True)
    (landing / "transactions" / "transactions.csv").write_text(transactions, encoding="utf-8")
    (landing / "market_data" / "fx_rates.csv").write_text(rates, encoding="utf-8")
    return landing


def extract(landing: Path, raw: Path) -> None:
    """The raw zone as the pipeline makes it: the real extract jobs on the landing folder (a Spark session runs)."""
    _jobs_importable()
    import extract_market_data
    import extract_transactions

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for job, name in ((extract_transactions, "transactions"), (extract_market_data, "market_data")):
                job.main(["--landing_path", (landing / name).as_uri(), "--raw_path", (raw / name).as_uri()])
    except Exception as exc:
        raise BenchError(f"the extract jobs could not prepare the raw zone: {exc}") from exc


# ---- the run ------------------------------------------------------------------------------------------------


def _start_spark() -> tuple[Any, bool, float]:
    """(session, whether this call created it, seconds it took). local[*] on every core; Spark 3.5's defaults
    otherwise (adaptive execution, whole-stage code generation), as on Glue 5.0."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    created = SparkContext._active_spark_context is None
    started = time.perf_counter()
    builder = (
        SparkSession.builder.master("local[*]")
        .appName("bench-spark-transform")
        .config("spark.driver.memory", "4g")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    if LOG4J.is_file():
        builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J}")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark, created, time.perf_counter() - started


def _runtime_conf(spark: Any) -> dict[str, str]:
    """Session settings for the measurement (restored afterwards). Spark's default of 200 shuffle partitions
    is sized for a cluster; on one machine one per core, as a Glue user would pass with --conf."""
    return {
        "spark.sql.shuffle.partitions": str(spark.sparkContext.defaultParallelism),
        "spark.sql.adaptive.enabled": "true",
        "spark.sql.codegen.wholeStage": "true",
    }


def _job_argv(raw: Path, out: Path) -> list[str]:
    return [
        "--business_date",
        BUSINESS_DATE,
        "--raw_transactions",
        (raw / "transactions").as_uri(),
        "--raw_market_data",
        (raw / "market_data").as_uri(),
        "--curated_path",
        (out / "curated").as_uri(),
        "--quarantine_path",
        (out / "quarantine").as_uri(),
        "--reconciliation_path",
        (out / "reconciliation.json").as_uri(),
    ]


def _check(record_path: Path, rows: int, expected: dict[str, int], run: int) -> dict[str, Any]:
    if not record_path.is_file():
        raise BenchError(f"run {run}: transform_data wrote no reconciliation record at {record_path}")
    record = json.loads(record_path.read_text())
    counts = ("input_rows", "curated_rows", "quarantined_rows", "duplicate_rows")
    if not all(isinstance(record.get(key), int) for key in counts):
        raise BenchError(f"run {run}: the reconciliation record lacks counts: {record}")
    parts = record["curated_rows"] + record["quarantined_rows"] + record["duplicate_rows"]
    if record["input_rows"] != rows or record["input_rows"] != parts:
        raise BenchError(f"run {run}: input_rows {record['input_rows']} != rows {rows} or != {parts}: {record}")
    if any(record[key] != expected[key] for key in counts):
        wanted = {key: expected[key] for key in counts}
        raise BenchError(f"run {run}: reconciliation {record} does not match the input's {wanted}")
    return record


def _sha256(paths: list[Path]) -> dict[str, str]:
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()[:16] for p in paths}


def run(*, rows: int = 1_000_000, runs: int = 3, warmup: int = 1) -> Section:
    if rows < 1 or runs < 1 or warmup < 0:
        raise ValueError(f"need rows >= 1, runs >= 1, warmup >= 0; got {rows}, {runs}, {warmup}")
    _jobs_importable()
    generated = time.perf_counter()
    transactions, rates = generate_input(rows)
    expected = expected_counts(transactions, rates)
    generate_seconds = time.perf_counter() - generated
    if expected["input_rows"] != rows:
        raise BenchError(f"the generated input has {expected['input_rows']} rows, not {rows}")

    work = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    spark = created = None
    saved_conf: dict[str, str | None] = {}
    try:
        landing, raw = write_landing(work, transactions, rates), work / "raw"
        landing_bytes = len(transactions.encode("utf-8"))
        del transactions

        try:
            spark, created, startup_seconds = _start_spark()
        except Exception as exc:  # no Java, no free port, ...: the section cannot measure
            raise BenchError(f"local Spark did not start: {exc}") from exc
        conf = _runtime_conf(spark)
        for key, value in conf.items():
            saved_conf[key] = spark.conf.get(key, None)
            spark.conf.set(key, value)

        import transform_data

        extract(landing, raw)
        raw_bytes = _data_bytes(raw / "transactions")

        load_before = os.getloadavg()
        samples: list[float] = []
        duckdb_samples: list[float] = []
        record: dict[str, Any] = {}
        previous: Path | None = None
        cores = spark.sparkContext.defaultParallelism
        duck = duckdb_transform.connect(threads=cores)  # as many threads as Spark has cores
        for number in range(warmup + runs):
            # Not timed: a clean cache and output folder, so that every run does the whole job.
            spark.catalog.clearCache()
            if previous is not None:
                shutil.rmtree(previous, ignore_errors=True)
            out = previous = work / f"out-{number}"
            argv = _job_argv(raw, out)
            started = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    transform_data.main(argv)
            except Exception as exc:  # e.g. ReconciliationError: a failed run has no time to report
                raise BenchError(f"run {number}: transform_data failed: {exc}") from exc
            elapsed = time.perf_counter() - started
            record = _check(out / "reconciliation.json", rows, expected, number)
            which = "warm-up" if number < warmup else f"run {number - warmup + 1}/{runs}"
            progress("spark", f"transform_data {rows:,} rows {which}", f"{elapsed:.2f} s, {rows / elapsed:,.0f} rows/s")
            # The DuckDB reference right after, on the same raw Parquet (A, B, A, B): its record must be Spark's and
            # its curated rows Spark's, value for value, or the comparison would not be of the same work.
            started = time.perf_counter()
            duck_record = duckdb_transform.transform(
                duck, raw / "transactions", raw / "market_data", BUSINESS_DATE, out / "duckdb"
            )
            duck_elapsed = time.perf_counter() - started
            progress("spark", f"DuckDB reference {rows:,} rows {which}", f"{duck_elapsed:.2f} s")
            spark_record = {key: record[key] for key in duck_record}
            if duck_record != spark_record:
                raise BenchError(f"run {number}: DuckDB's record {duck_record} is not Spark's {spark_record}")
            differences = duckdb_transform.curated_differences(
                duck, out / "curated", out / "duckdb" / "curated.parquet"
            )
            if differences:
                raise BenchError(f"run {number}: DuckDB's curated rows differ from Spark's in {differences} rows")
            if number >= warmup:
                samples.append(elapsed)
                duckdb_samples.append(duck_elapsed)
        duck.close()
        load_after = os.getloadavg()
        spark_details = {
            "version": spark.version,
            "master": spark.sparkContext.master,
            "cores": cores,
            "driver_memory": spark.sparkContext.getConf().get("spark.driver.memory", "1g"),
            "session_created_by_bench": created,
            "session_start_seconds": round(startup_seconds, 1),
            "conf": {key: spark.conf.get(key) for key in conf},
        }
    finally:
        if spark is not None:
            spark.catalog.clearCache()
            if created:
                spark.stop()
            else:
                for key, value in saved_conf.items():
                    if value is None:
                        spark.conf.unset(key)
                    else:
                        spark.conf.set(key, value)
        shutil.rmtree(work, ignore_errors=True)

    seconds = median(samples)
    rows_per_second = rows / seconds
    duckdb_seconds = median(duckdb_samples)
    duckdb_rows_per_second = rows / duckdb_seconds
    per_vcpu = rows_per_second / cores
    csv_bytes_per_row = landing_bytes / rows
    parquet_bytes_per_row = raw_bytes / rows
    estimate = glue_estimate(SEED_BYTES_PER_DAY, csv_bytes_per_row, per_vcpu)
    sensitivity = {
        f"efficiency {factor:g}": _brief(
            glue_estimate(SEED_BYTES_PER_DAY, csv_bytes_per_row, per_vcpu, efficiency=factor)
        )
        for factor in (GLUE_EFFICIENCY / 2, GLUE_EFFICIENCY * 2)
    }
    sensitivity["10 TB counted as raw Parquet"] = _brief(
        glue_estimate(SEED_BYTES_PER_DAY, parquet_bytes_per_row, per_vcpu)
    )
    sensitivity["5 TB/day (the seed's lower end)"] = _brief(
        glue_estimate(SEED_BYTES_PER_DAY / 2, csv_bytes_per_row, per_vcpu)
    )
    raw_tb_per_day = round(SEED_BYTES_PER_DAY * raw_bytes / landing_bytes / 1e12, 2)
    shares = {key: round(expected[key] / rows, 4) for key in ("curated_rows", "quarantined_rows", "duplicate_rows")}
    local = f"local[{cores}]"
    glue_note = (
        f"10 TB/day of landing CSV at {csv_bytes_per_row:.1f} B/row, {per_vcpu:,.0f} rows/s per local vCPU x "
        f"{GLUE_EFFICIENCY:g} on Glue, 12 h window, G.1X at ${GLUE_USD_PER_DPU_HOUR}/DPU-hour (us-east-1, 2026-11)"
    )
    figures = [
        Figure(
            "Spark transform, local",
            round(rows_per_second),
            "rows/s",
            (">=", TARGET_ROWS_PER_SECOND),
            note=f"median of {runs} runs of transform_data on {rows:,} rows, {local}, Spark start-up not included",
        ),
        Figure(
            "DuckDB, the same rules on the same input",
            round(duckdb_rows_per_second),
            "rows/s",
            note=(
                f"bench/duckdb_transform.py, {cores} threads, median of {runs} runs interleaved with Spark's; "
                "same reconciliation record and curated rows, checked every run"
            ),
        ),
        Figure(
            "Spark / DuckDB",
            round(rows_per_second / duckdb_rows_per_second, 3),
            "x",
            note="rows/s of transform_data on local Spark over DuckDB's (below 1: Spark is slower)",
        ),
        Figure("Transform input, raw Parquet", round(raw_bytes / 1e6, 2), "MB", note=f"{raw_bytes:,} bytes"),
        Figure("Raw Parquet bytes per row", round(parquet_bytes_per_row, 1), "B/row"),
        Figure("Landing CSV bytes per row", round(csv_bytes_per_row, 1), "B/row"),
        Figure("Glue workers, 10 TB/day in 12 h", estimate["workers"], "G.1X", note=glue_note),
        Figure("Glue transform DPU-hours", float(estimate["dpu_hours_per_day"]), "DPU-h/day"),
        Figure("Glue transform cost", float(estimate["usd_per_day"]), "USD/day"),
        Figure(
            "Glue transform cost, month", float(estimate["usd_per_month"]), "USD/month", note=f"{DAYS_PER_MONTH} days"
        ),
    ]
    details = {
        "job": "jobs/transform_data.py: transform_data.main(argv), the script Glue runs, imported from jobs/",
        "job_sha256": _sha256([JOBS / name for name in JOB_FILES]),
        "timing": (
            "Timed: transform_data.main(argv) = read raw Parquet, de-duplicate, judge, write curated Parquet and "
            "the quarantine CSV, read the curated rows back, write the reconciliation record. Not timed: the "
            f"JVM and SparkSession start-up ({startup_seconds:.1f} s, once, before the warm-up), input "
            "generation, the extract jobs, and between runs clearing Spark's cache, removing the previous "
            "output and checking the reconciliation record."
        ),
        "rows": rows,
        "runs": runs,
        "warmup": warmup,
        "samples_seconds": [round(s, 2) for s in samples],
        "duckdb": {
            "what": "bench/duckdb_transform.py: the same rules in DuckDB on the same raw Parquet, after each Spark run",
            "version": duckdb_version(),
            "threads": cores,
            "samples_seconds": [round(s, 2) for s in duckdb_samples],
            "median_seconds": round(duckdb_seconds, 2),
            "rows_per_second": round(duckdb_rows_per_second),
        },
        "median_seconds": round(seconds, 2),
        "rows_per_second": round(rows_per_second),
        "rows_per_second_per_vcpu": round(per_vcpu),
        "target_rows_per_second": TARGET_ROWS_PER_SECOND,
        "load_average_1min": {"before": round(load_before[0], 2), "after": round(load_after[0], 2)},
        "input": {
            "generator": "localrun.etl.generate_day, its first `rows` data lines",
            "business_date": BUSINESS_DATE,
            "seed": SEED,
            "generate_seconds": round(generate_seconds, 1),
            "landing_csv_bytes": landing_bytes,
            "landing_csv_bytes_per_row": round(csv_bytes_per_row, 2),
            "raw_parquet_bytes": raw_bytes,
            "raw_parquet_bytes_per_row": round(parquet_bytes_per_row, 2),
            "expected": expected,
            "shares": shares,
        },
        "reconciliation": record,
        "spark": spark_details,
        "glue_estimate": {
            "scope": (
                "transform_data only: the extract jobs (CSV to Parquet), generate_reports and Redshift come on top; "
                "Glue's start-up (about a minute) and retries are not counted; sized to end within the 12 h "
                "window, which leaves no room for a retry inside the DAG task's 12 h timeout"
            ),
            "assumptions": {
                "bytes_per_day": SEED_BYTES_PER_DAY,
                "bytes_counted_as": "landing CSV (the seed's transaction data as it arrives)",
                "bytes_per_row": round(csv_bytes_per_row, 2),
                "window_hours": WINDOW_HOURS,
                "rows_per_second_per_vcpu_local": round(per_vcpu),
                "local_vcpus": cores,
                "efficiency": GLUE_EFFICIENCY,
                "efficiency_means": (
                    "assumed share of the local per-vCPU rate a Glue vCPU keeps (S3 instead of a local disk, "
                    "shuffles over the network, driver coordination, stragglers and skew); not measured"
                ),
                "worker": f"G.1X = {G1X_DPUS} DPU = {G1X_VCPUS} vCPU, {G1X_MEMORY_GB} GB; Glue 5.0 (Spark 3.5)",
                "driver_workers": DRIVER_WORKERS,
                "usd_per_dpu_hour": str(GLUE_USD_PER_DPU_HOUR),
                "price_source": GLUE_PRICE_SOURCE,
                "days_per_month": DAYS_PER_MONTH,
            },
            "caveats": (
                "the local rate is the whole job's on 1 day of `rows` rows, its fixed per-run cost (planning, several "
                "small Spark jobs, the single quarantine file) included, so it understates a 10 TB run's rate per "
                "vCPU; local[*] shares its cores between driver and executor; the machine is shared and its speed "
                "varied by about +-20% between identical runs (see samples_seconds and load_average_1min)"
            ),
            "result": _jsonable(estimate),
            "sensitivity": sensitivity,
            "disk_check": {
                "raw_parquet_tb_per_day": raw_tb_per_day,
                "executor_free_disk_tb": estimate["executor_free_disk_tb"],
                "raw_parquet_alone_exceeds_free_disk": raw_tb_per_day > estimate["executor_free_disk_tb"],
                "free_disk_per_worker": f"{G1X_FREE_DISK_GB} GB (G.1X: 94 GB disk, about 44 GB free), {G1X_DISK_SOURCE}",
                "why": (
                    "the job shuffles the whole day once (by transaction_id) and caches the judged rows, memory first "
                    "then local disk; shuffle files and spill are larger than the Parquet they come from. When they "
                    "exceed the executors' free disk, size by disk (more or larger workers), shuffle to S3 (Glue's "
                    "Spark shuffle plugin with Amazon S3) or split the day into several runs"
                ),
            },
        },
    }
    return Section(title="Spark transform", figures=figures, details=details)


def duckdb_version() -> str:
    import duckdb

    return duckdb.__version__


def _jsonable(estimate: dict[str, Any]) -> dict[str, Any]:
    return {key: str(value) if isinstance(value, Decimal) else value for key, value in estimate.items()}


def _brief(estimate: dict[str, Any]) -> dict[str, Any]:
    keys = ("workers", "run_hours", "dpu_hours_per_day", "usd_per_day", "usd_per_month")
    return _jsonable({key: estimate[key] for key in keys})
