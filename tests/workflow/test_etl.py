"""The financial ETL DAG run end to end with dag.test() on the emulated platform: a generated day,
its reconciliation, the warehouse load and a second run of the same date."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest

from localrun.etl import EtlSession, csv_records, generate_day

DAY = "2026-11-23"
TASKS = {"extract_transactions", "extract_market_data", "transform_data", "load_warehouse", "generate_reports"}


@pytest.fixture(scope="module")
def etl(dev_assembly):
    with EtlSession(dev_assembly, "DataPlatform-dev") as session:
        yield session


@pytest.fixture(scope="module")
def first_run(etl):
    transactions, rates = generate_day(DAY, 150)
    etl.land(DAY, {"transactions.csv": transactions.encode()}, rates.encode())
    run = etl.run(DAY)
    return transactions, run, etl.outputs(DAY)


def wait_for(read, count: int, seconds: float = 10.0) -> list:
    """What `read()` returns once it holds at least `count` items (or after `seconds`)."""
    deadline = time.monotonic() + seconds
    while len(items := read()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return items


def fact_rows(etl, day: str) -> list[tuple]:
    sql = f"SELECT * FROM finance.fact_transactions WHERE business_date = '{day}' ORDER BY transaction_id"  # noqa: S608
    return etl.platform.warehouse.query(sql, record=False).rows


def test_a_generated_day_runs_every_task(first_run):
    _, run, _ = first_run
    assert run.state == "success", run.error
    assert run.tasks == dict.fromkeys(TASKS, "success")


def test_the_reconciliation_identity_holds_on_a_day_with_faults(first_run):
    transactions, _, outputs = first_run
    recon = outputs["reconciliation"]
    assert recon["input_rows"] == csv_records(transactions)
    assert recon["input_rows"] == recon["curated_rows"] + recon["quarantined_rows"] + recon["duplicate_rows"]
    assert recon["quarantined_rows"] > 0
    assert recon["duplicate_rows"] > 0


def test_the_warehouse_holds_exactly_the_curated_rows_and_the_control_total(etl, first_run):
    _, _, outputs = first_run
    rows = fact_rows(etl, DAY)
    assert outputs["reconciliation"]["warehouse_rows"] == len(rows) == outputs["reconciliation"]["curated_rows"]
    assert len({row[1] for row in rows}) == len(rows)
    assert sum(Decimal(row[-1]) for row in rows) == Decimal(outputs["reconciliation"]["control_total_usd"])


def test_the_quarantine_names_a_rule_for_every_row(first_run):
    _, _, outputs = first_run
    rows = list(csv.DictReader(io.StringIO(outputs["quarantine"].decode())))
    assert len(rows) == outputs["reconciliation"]["quarantined_rows"]
    assert {row["reason"] for row in rows} <= {
        "wrong number of fields",
        "conflicting duplicate",
        "missing transaction_id",
        "missing account_id",
        "unparseable amount",
        "unparseable timestamp",
        "timestamp outside business date",
        "unknown channel",
        "no FX rate for currency",
    }


def test_every_quarantined_row_holds_an_input_record_s_fields_exactly(first_run):
    # given: the generated day (descriptions with commas and doubled quotes) as Python's csv reads it
    transactions, _, outputs = first_run
    received = {tuple(fields) for fields in list(csv.reader(io.StringIO(transactions, newline="")))[1:]}

    # when
    rows = list(csv.reader(io.StringIO(outputs["quarantine"].decode("utf-8"), newline="")))

    # then: ten fields a row (the input's eight, raw_record, reason), the eight as they arrived
    assert rows[0][-2:] == ["raw_record", "reason"]
    assert {len(row) for row in rows} == {10}
    assert all(tuple(row[:8]) in received for row in rows[1:])


def test_the_three_reports_are_written(first_run):
    _, _, outputs = first_run
    headers = {name: body.decode().splitlines()[0] for name, body in outputs["reports"].items()}
    assert headers == {
        "currency_transaction_report": "account_id,cash_in_usd,cash_in_count,cash_out_usd,cash_out_count",
        "structuring_candidates": "account_id,direction,transaction_count,total_usd",
        "daily_totals": "currency,transaction_count,total_amount,total_usd",
    }


def test_the_load_is_one_batch_of_redshift_sql_then_a_count(first_run):
    _, run, _ = first_run
    verbs = [sql.split()[0] for sql in run.statements]
    assert verbs == ["CREATE", "CREATE", "CREATE", "COPY", "DELETE", "INSERT", "SELECT"]


def end_state(etl) -> dict:
    outputs = etl.outputs(DAY)
    sql = "SELECT * FROM finance.fact_transactions ORDER BY business_date, transaction_id"
    return {
        "reconciliation": outputs["reconciliation"],
        "quarantine": outputs["quarantine"],
        "reports": outputs["reports"],
        "curated": outputs["curated"],
        "warehouse": etl.platform.warehouse.query(sql, record=False).rows,
    }


@pytest.fixture(scope="module")
def rerun_through_a_failure(etl, first_run):
    """The same date again: transform_data dies after writing its output, then the run is resumed from there
    (the extract tasks are left as succeeded, as clearing transform_data and its downstream does)."""
    expected = end_state(etl)
    etl.platform.crash_after_write.add(etl.glue_job("transform_data"))
    failed = etl.run(DAY)
    jobs_before = len(etl.platform.job_runs)
    resumed = etl.run(DAY, mark_success="extract_.*")
    return expected, failed, resumed, etl.platform.job_runs[jobs_before:]


def test_a_failure_in_transform_stops_the_run_and_notifies_operations(etl, rerun_through_a_failure):
    _, failed, _, _ = rerun_through_a_failure
    assert failed.state == "failed"
    assert failed.tasks["transform_data"] == "failed"
    assert failed.tasks["load_warehouse"] == failed.tasks["generate_reports"] == "upstream_failed"
    assert "injected crash" in failed.error
    # the topic hears it twice, as on AWS: from the DAG's failure callback, and from the template's rule on Glue's
    # "Glue Job State Change" event (delivered asynchronously, as EventBridge does)
    notifications = wait_for(lambda: etl.platform.sent_notifications(), count=2)
    callbacks = [(n["task_id"], n["business_date"]) for n in notifications if "task_id" in n]
    events = [n["detail"] for n in notifications if n.get("detail-type") == "Glue Job State Change"]
    assert callbacks == [("transform_data", DAY)]
    assert [(e["jobName"], e["state"]) for e in events] == [(etl.glue_job("transform_data"), "FAILED")]
    assert "injected crash" in events[0]["message"]


def test_each_glue_run_s_output_and_error_are_in_its_cloudwatch_logs_streams(etl, rerun_through_a_failure):
    # given: the failed transform run and the resumed one
    _, _, _, resumed_jobs = rerun_through_a_failure
    rerun = resumed_jobs[0]
    failed_run = [run for run in etl.platform.job_runs if run.job_name == rerun.job_name][-2]
    logs = etl.platform.client("logs")
    prefix = failed_run.arguments["--custom-logGroup-prefix"]

    def stream(suffix: str, run) -> list[str]:
        events = logs.get_log_events(logGroupName=f"{prefix}/{suffix}", logStreamName=run.run_id)["events"]
        return [event["message"] for event in events]

    # then: what the script printed is under <prefix>/output, the error that ended a run under <prefix>/error
    assert prefix == "/data-platform/dev/glue"
    assert any(line.startswith("transform_data: {") for line in stream("output", rerun))
    assert stream("error", rerun) == []
    assert any("injected crash" in line for line in stream("error", failed_run))
    # and GetJobRun names the group prefix, where Airflow's GlueJobHook looks for them
    run = etl.platform.client("glue").get_job_run(JobName=failed_run.job_name, RunId=failed_run.run_id)["JobRun"]
    assert run["LogGroupName"] == prefix


def test_resuming_from_transform_reruns_only_it_and_its_downstream(etl, rerun_through_a_failure):
    _, _, resumed, jobs = rerun_through_a_failure
    assert resumed.state == "success", resumed.error
    assert [job.job_name for job in jobs] == [etl.glue_job("transform_data"), etl.glue_job("generate_reports")]


def test_the_resumed_second_run_ends_exactly_as_the_first_run_without_doubling_the_warehouse(
    etl, rerun_through_a_failure
):
    expected, _, _, _ = rerun_through_a_failure
    after = end_state(etl)
    assert len(after["warehouse"]) == expected["reconciliation"]["curated_rows"]
    assert after == expected


def test_the_curated_parquet_columns_are_in_the_staging_table_order(first_run, tmp_path):
    import duckdb
    from financial_etl.warehouse import CURATED_COLUMNS

    _, _, outputs = first_run
    part = tmp_path / "part.parquet"
    part.write_bytes(outputs["curated"][0])
    # COPY from Parquet maps columns by position: the order is the contract between the two
    columns = duckdb.read_parquet(str(part)).columns
    assert columns == [name for name, _ in CURATED_COLUMNS]
