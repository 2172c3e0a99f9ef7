"""`python -m localrun etl`: one business date through the real `financial_etl_pipeline` DAG, offline.

The DAG is parsed from `dags/` and run with Airflow's `dag.test()` against `TemplatePlatform`, the emulated
DataPlatform stack that `localrun mwaa` serves too, built from the synthesized template (`--cdk-out`): its
buckets, its Glue jobs (run on local Spark with the scripts its deployment uploads from `jobs/`), its topic, and
the MWAA environment's `[financial_etl]` options, which the DAG reads as it reads them on MWAA. The Redshift Data
API runs on DuckDB. The runner plays the parts outside the platform: it drops the day's files in the landing
bucket, triggers the run with `conf={"business_date": ...}`, and reads the outcome back from the buckets and the
warehouse."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

from .airflow_env import load_dag, migrate_database, prepare_airflow
from .emulator import ROOT
from .mwaa.airflow import configuration_env
from .orders import InputError
from .platform import TemplatePlatform
from .template import REGION, Template, find_template

if str(ROOT / "jobs") not in sys.path:
    sys.path.insert(0, str(ROOT / "jobs"))
from common import (
    MARKET_DATA_COLUMNS,
    TRANSACTION_COLUMNS,
    InputFileError,
    check_header,
)

REPORTS = ("currency_transaction_report", "structuring_candidates", "daily_totals")
MARKET_DATA_NAME = "fx_rates.csv"
DEFAULT_ROWS = 200
DEFAULT_ASSEMBLY = Path("cdk.out")
FX_RATES = {"USD": "1", "EUR": "1.0842150000", "GBP": "1.2654300000", "JPY": "0.0066870000", "CHF": "1.1291000000"}
FAULT_RATE = 0.03
# What banks' descriptions hold: commas and quotes inside a value, non-ASCII text. No line break: the benchmark
# (bench/spark.py) cuts a generated day at a line count, which must stay a record count.
DESCRIPTIONS = ["", "salary", "rent", "groceries", "invoice 42, paid", 'ref "Q4" bonus', "café"]


class EtlRunError(Exception):
    """The DAG run did not succeed; the message names the failed task and its error."""


# ---- input ----------------------------------------------------------------------------------------------


def generate_day(business_date: str, rows: int = DEFAULT_ROWS, seed: int | None = None) -> tuple[str, str]:
    """A day of transactions (CSV text) with realistic faults at a low rate, and its FX rates (CSV text)."""
    rng = random.Random(f"{business_date}:{rows}:{seed}")
    day = dt.datetime.fromisoformat(business_date).replace(tzinfo=dt.UTC)
    accounts = [f"ACC-{n:04d}" for n in range(max(4, rows // 10))]
    lines: list[list[str]] = []
    for n in range(rows):
        currency = rng.choice(list(FX_RATES))
        channel = rng.choices(["CASH", "CARD", "WIRE", "ACH"], weights=[3, 5, 1, 1])[0]
        if channel == "CASH" and rng.random() < 0.25:
            amount = Decimal(rng.randint(800_000, 1_000_000)) / 100 / Decimal(FX_RATES[currency])
        else:
            amount = Decimal(rng.randint(100, 250_000)) / 100
        amount = amount.quantize(Decimal("1") if currency == "JPY" else Decimal("0.01"))
        if rng.random() < 0.2:
            amount = -amount
        moment = day + dt.timedelta(seconds=rng.randint(0, 86_399))
        offset = dt.timezone(dt.timedelta(hours=rng.choice([0, 0, 1, -5])))
        line = [
            f"T{business_date.replace('-', '')}-{n:06d}",
            rng.choice(accounts),
            moment.astimezone(offset).isoformat(),
            str(amount),
            currency,
            channel,
            f"CP-{rng.randint(1, 50):03d}",
            rng.choice(DESCRIPTIONS),
        ]
        fault = rng.random()
        if fault < FAULT_RATE:
            line[3] = rng.choice(["12,50", "abc", ""])
        elif fault < 2 * FAULT_RATE:
            line[2] = (moment - dt.timedelta(days=1)).isoformat()
        elif fault < 3 * FAULT_RATE:
            line[4] = "XYZ"
        lines.append(line)
        if rng.random() < FAULT_RATE:
            lines.append(list(line))
        elif rng.random() < FAULT_RATE:
            lines.append([*line[:6], "CP-999", line[7]])  # the same id with a different counterparty
    return _csv(TRANSACTION_COLUMNS, lines), _csv(MARKET_DATA_COLUMNS, sorted(FX_RATES.items()))


def _csv(header: tuple[str, ...], rows: list[Any]) -> str:
    """RFC 4180 text (quotes doubled, quoted where needed), LF line breaks."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([str(value) for value in row] for row in rows)
    return text.getvalue()


def csv_records(text: str) -> int:
    """Data records of a CSV text with a header (a quoted line break does not start a record)."""
    return max(0, len(list(csv.reader(io.StringIO(text, newline="")))) - 1)


def read_input(path: Path, expected: tuple[str, ...], optional_tail: int = 0) -> bytes:
    """A landing file's bytes after the checks the extract jobs make: UTF-8, not empty, the right header."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8") from None
    try:
        check_header(str(path), text.splitlines()[0] if text.strip() else None, expected, optional_tail)
    except InputFileError as exc:
        raise InputError(str(exc)) from None
    return data


def transaction_files(source: Path) -> list[Path]:
    """The landing files of --transactions: a file, or a folder's *.csv in any case (as the Glue job lists them)."""
    if source.is_dir():
        files = sorted(path for path in source.iterdir() if path.is_file() and path.name.lower().endswith(".csv"))
        if not files:
            raise InputError(f"{source}: no transaction files (*.csv)")
        return files
    if not source.exists():
        raise InputError(f"{source}: no such file")
    return [source]


# ---- the run ------------------------------------------------------------------------------------------


@dataclass
class DayRun:
    business_date: str
    state: str
    tasks: dict[str, str]
    error: str | None = None
    statements: list[str] = field(default_factory=list)


class EtlSession:
    """The emulated platform plus Airflow, for one or more DAG runs: `with EtlSession(cdk_out) as etl: ...`.

    The platform is the synthesized DataPlatform stack of the assembly (`stack`: which one, when it holds
    several); without an assembly, TemplateError says to run `make synth`."""

    def __init__(self, assembly: Path = DEFAULT_ASSEMBLY, stack: str | None = None) -> None:
        name, body = find_template(Path(assembly), "AWS::MWAA::Environment", stack)
        prepare_airflow()
        self.aws = TemplatePlatform(Template(body, name), Path(assembly), asynchronous_glue=False)
        # the engine: Glue runs, Data API statements, the warehouse, the buckets' objects
        self.platform = self.aws.engine
        self.names: dict[str, Any] = {}
        self.dag: Any = None
        # s3:// URI of a landed object -> the user's name for it (their file), for error messages
        self.sources: dict[str, str] = {}
        self._environment: Any = None

    def __enter__(self) -> EtlSession:
        migrate_database()
        self.aws.__enter__()
        try:
            self.names = self.aws.describe()
            self._environment = mock.patch.dict(os.environ, self.airflow_environment())
            self._environment.start()
            self.dag = load_dag()
            # Locally a failure shows at once: no retry waits (MWAA keeps the DAG's retries and backoff).
            for task in self.dag.tasks:
                task.retries = 0
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._environment is not None:
            self._environment.stop()
            self._environment = None
        self.aws.__exit__(*exc)

    def airflow_environment(self) -> dict[str, str]:
        """The MWAA environment's configuration options as MWAA exports them (`AIRFLOW__FINANCIAL_ETL__...`, the
        rest too), plus the `aws_default` connection. Not the `[secrets]` section: `dag.test()` runs in this
        process, where Airflow would keep a Secrets Manager backend bound to the emulator after the session ends;
        the connection is an environment variable instead (`localrun mwaa` uses the backend)."""
        options = {
            key: value
            for key, value in self.names["airflow_configuration_options"].items()
            if not key.startswith("secrets.")
        }
        env = configuration_env(options, aws_endpoint="")
        env["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps({"conn_type": "aws", "extra": {"region_name": REGION}})
        return env

    def glue_job(self, task: str) -> str:
        """The Glue job a task runs, as the MWAA environment's options name it."""
        return self.names["airflow_configuration_options"][f"financial_etl.glue_job_{task}"]

    def land(
        self,
        business_date: str,
        transactions: dict[str, bytes],
        market_data: bytes,
        sources: dict[str, str] | None = None,
        market_data_source: str | None = None,
    ) -> None:
        """Put the day's files in the landing bucket (replacing what an earlier landing left there). `sources`
        (transaction file name -> the user's file) and `market_data_source` name the user's files in errors."""
        bucket = self.names["landing_bucket"]
        s3 = self.platform.client("s3")
        for folder in ("transactions", "market_data"):
            for key, _ in list(self.platform.objects(bucket, f"{folder}/business_date={business_date}/")):
                s3.delete_object(Bucket=bucket, Key=key)
        self.sources = {}
        for name, body in transactions.items():
            key = f"transactions/business_date={business_date}/{name}"
            self.platform.put(bucket, key, body)
            if sources and name in sources:
                self.sources[f"s3://{bucket}/{key}"] = sources[name]
        key = f"market_data/business_date={business_date}/{MARKET_DATA_NAME}"
        self.platform.put(bucket, key, market_data)
        if market_data_source:
            self.sources[f"s3://{bucket}/{key}"] = market_data_source

    def run(self, business_date: str, mark_success: str | None = None) -> DayRun:
        """One DAG run for the date via dag.test(); `mark_success` (a task id regex) skips tasks as done,
        which is how clearing from a failed task and running on is reproduced."""
        from airflow.utils.state import TaskInstanceState
        from financial_etl.config import GLUE_TASKS

        first_statement = len(self.platform.warehouse.statements)
        first_job = len(self.platform.job_runs)
        first_notification = len(self.platform.sent_notifications())
        first_data_api = len(self.platform.statements)
        logical_date = dt.datetime.fromisoformat(business_date).replace(tzinfo=dt.UTC) + dt.timedelta(days=1, hours=2)
        dag_run = self.dag.test(
            logical_date=logical_date, run_conf={"business_date": business_date}, mark_success_pattern=mark_success
        )
        tasks = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in dag_run.get_task_instances()}
        state = str(getattr(dag_run.state, "value", dag_run.state))
        error = None
        failed = sorted(task for task, task_state in tasks.items() if task_state == TaskInstanceState.FAILED.value)
        if failed:
            job_errors = {run.job_name: run.error for run in self.platform.job_runs[first_job:] if run.error}
            refused = [st.error for st in list(self.platform.statements.values())[first_data_api:] if st.error]
            # what the failure callback told the operations topic: the task's own exception
            notified = {
                message.get("task_id"): message.get("exception")
                for message in self.platform.sent_notifications()[first_notification:]
            }

            def detail(task: str) -> str:
                if task in GLUE_TASKS:
                    return job_errors.get(self.glue_job(task)) or notified.get(task) or "no error was recorded"
                # the Data API's own error, not the hook's dump of the whole response
                if refused:
                    return f"the Redshift Data API statement failed: {refused[0]}"
                return notified.get(task) or "no error was recorded"

            error = "; ".join(f"{task} failed: {' '.join(detail(task).split())}" for task in failed)
            error = self._user_names(error)
        return DayRun(business_date, state, tasks, error, self.platform.warehouse.statements[first_statement:])

    def _user_names(self, text: str) -> str:
        """Landing objects in a message named as the user gave them (the files `land` was told of)."""
        for uri in sorted(self.sources, key=len, reverse=True):
            text = text.replace(uri, self.sources[uri])
        return text

    # ---- reading the outcome ------------------------------------------------------------------------

    def _single(self, bucket: str, prefix: str, suffix: str) -> bytes:
        bodies = [body for key, body in self.platform.objects(bucket, prefix) if key.endswith(suffix)]
        if len(bodies) != 1:
            raise EtlRunError(f"expected one {suffix} file under s3://{bucket}/{prefix}, found {len(bodies)}")
        return bodies[0]

    def warehouse_rows(self, business_date: str) -> int:
        from financial_etl.config import RedshiftConfig
        from financial_etl.warehouse import count_statement

        sql = count_statement(RedshiftConfig("local", "local", "local"), business_date)
        return int(self.platform.warehouse.query(sql, record=False).rows[0][0])

    def outputs(self, business_date: str) -> dict[str, Any]:
        """reconciliation (with warehouse_rows), quarantine.csv, reports/<name>.csv and curated Parquet bytes."""
        partition = f"business_date={business_date}"
        curated_bucket, reports_bucket = self.names["curated_bucket"], self.names["reports_bucket"]
        reconciliation = json.loads(self._single(curated_bucket, f"reconciliation/{partition}/", ".json"))
        reconciliation["warehouse_rows"] = self.warehouse_rows(business_date)
        return {
            "reconciliation": reconciliation,
            "quarantine": self._single(curated_bucket, f"quarantine/{partition}/", ".csv"),
            "reports": {name: self._single(reports_bucket, f"reports/{name}/{partition}/", ".csv") for name in REPORTS},
            "curated": [
                body
                for key, body in self.platform.objects(curated_bucket, f"transactions/{partition}/")
                if key.endswith(".parquet")
            ],
        }


def write_outputs(out: Path, outputs: dict[str, Any], statements: list[str]) -> None:
    """Write DIR's files into a fresh folder first, then swap them in: a failure never leaves DIR half-written."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        recon = {key: outputs["reconciliation"][key] for key in RECONCILIATION_KEYS}
        (staging / "reconciliation.json").write_text(json.dumps(recon, indent=2) + "\n")
        (staging / "quarantine.csv").write_bytes(outputs["quarantine"])
        (staging / "reports").mkdir()
        for name, body in outputs["reports"].items():
            (staging / "reports" / f"{name}.csv").write_bytes(body)
        (staging / "curated").mkdir()
        for index, body in enumerate(outputs["curated"]):
            (staging / "curated" / f"part-{index:05d}.parquet").write_bytes(body)
        (staging / "warehouse.sql").write_text("".join(sql.rstrip().rstrip(";") + ";\n" for sql in statements))
        for entry in sorted(staging.iterdir()):
            target = out / entry.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            entry.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


RECONCILIATION_KEYS = (
    "business_date",
    "input_rows",
    "curated_rows",
    "quarantined_rows",
    "duplicate_rows",
    "control_total_usd",
    "warehouse_rows",
)


def run_etl(
    business_date: str,
    out: Path,
    transactions: Path | None = None,
    market_data: Path | None = None,
    generate: int = DEFAULT_ROWS,
    assembly: Path = DEFAULT_ASSEMBLY,
    stack: str | None = None,
) -> dict[str, Any]:
    """The CLI's work: validate or generate the inputs, run the DAG on the assembly's DataPlatform stack, write
    DIR; returns the reconciliation."""
    try:
        dt.date.fromisoformat(business_date)
    except ValueError:
        raise InputError(f"--date must be YYYY-MM-DD, got {business_date!r}") from None
    generated_transactions, generated_rates = generate_day(business_date, generate)
    sources: dict[str, str] = {}
    if transactions is None:
        landing = {"transactions.csv": generated_transactions.encode()}
    else:
        files = transaction_files(transactions)
        landing = {path.name: read_input(path, TRANSACTION_COLUMNS, optional_tail=2) for path in files}
        sources = {path.name: str(path) for path in files}
    rates = generated_rates.encode() if market_data is None else read_input(market_data, MARKET_DATA_COLUMNS)
    with EtlSession(assembly, stack) as etl:
        etl.land(business_date, landing, rates, sources, None if market_data is None else str(market_data))
        day = etl.run(business_date)
        if day.state != "success":
            raise EtlRunError(day.error or f"the DAG run ended {day.state}: {day.tasks}")
        outputs = etl.outputs(business_date)
    write_outputs(out, outputs, day.statements)
    return outputs["reconciliation"]


def report_counts(out: Path) -> dict[str, int]:
    """Data records per report CSV in DIR/reports."""
    return {name: csv_records((out / "reports" / f"{name}.csv").read_text(encoding="utf-8")) for name in REPORTS}
