"""The financial ETL DAG run end to end with dag.test() on the emulated platform: a generated day,
its reconciliation, the warehouse load and a second run of the same date."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from localrun.data_platform import glue_job_name
from localrun.etl import EtlSession, csv_records, generate_day

DAY = "2026-11-23"
TASKS = {"extract_transactions", "extract_market_data", "transform_data", "load_warehouse", "generate_reports"}


@pytest.fixture(scope="module")
def etl():
    with EtlSession() as session:
        yield session


@pytest.fixture(scope="module")
def first_run(etl):
    transactions, rates = generate_day(DAY, 150)
    etl.land(DAY, {"transactions.csv": transactions.encode()}, rates.encode())
    run = etl.run(DAY)
    return transactions, run, etl.outputs(DAY)


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
    etl.platform.crash_after_write.add(glue_job_name("transform_data"))
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
    assert [(n["task_id"], n["business_date"]) for n in etl.platform.sent_notifications()] == [("transform_data", DAY)]


def test_resuming_from_transform_reruns_only_it_and_its_downstream(rerun_through_a_failure):
    _, _, resumed, jobs = rerun_through_a_failure
    assert resumed.state == "success", resumed.error
    assert [job.job_name for job in jobs] == [glue_job_name("transform_data"), glue_job_name("generate_reports")]


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
