"""The bench's DuckDB reference (bench/duckdb_transform.py) judges every row as the Spark job does: the same
reason for each rule case of the job's tests and for the edges where DuckDB's parsing is more lenient than
Spark's, the same curated values, the same reconciliation record."""

# ruff: noqa: S608 (test data)
from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from transform_data import transform

from bench import duckdb_transform
from tests.jobs.conftest import DAY, row
from tests.jobs.test_transform_data import RULE_CASES

EDGES = [
    row("e-hour-24", timestamp=f"{DAY}T24:00:00Z"),
    row("e-offset-18", timestamp=f"{DAY}T20:00:00+18:00"),
    row("e-offset-1801", timestamp=f"{DAY}T20:00:00+18:01"),
    row("e-offset-minute-60", timestamp=f"{DAY}T10:00:00+01:60"),
    row("e-offset-minus-19", timestamp=f"{DAY}T10:00:00-19:00"),
    row("e-leap-second", timestamp=f"{DAY}T23:59:60Z"),
    row("e-minute-60", timestamp=f"{DAY}T10:60:00Z"),
    row("e-feb-29", timestamp="2026-02-29T10:00:00Z"),
    row("e-fraction", timestamp=f"{DAY}T10:00:00.5Z", amount="-0.015", currency="EUR"),
    row("e-micros", timestamp=f"{DAY}T10:00:00.000001-03:00", amount="+7.125", currency="EUR"),
    row("e-tie-even", amount="0.025"),  # 0.025 x 1 = 0.025: half-even to 0.02
    row("e-tie-odd", amount="0.035"),  # to 0.04
    row("e-tie-negative", amount="-0.025"),
    row("e-big", amount="999999999999.999999", currency="EUR"),  # x 1.1: 1.1 x 10^12, curated
    row("e-huge-rate", amount="999999999999.999999", currency="XXL"),  # x 10^7: beyond DECIMAL(20,2)
    row("e-tab-id", account_id="\t"),  # only spaces are blank: a tab is an account id
    row("   "),
    row("e-dup"),
    row("e-dup"),
    row("e-conflict", amount="1.00"),
    row("e-conflict", amount="2.00"),
    row(None, None),
]
RATES = {"USD": "1", "EUR": "1.1000000000", "XXL": "10000000.0000000000"}


@pytest.fixture(scope="module")
def both(transactions, rates, tmp_path_factory):
    rows = [(f"case-{n}" if bad[0] else None, *bad[1:]) for n, (bad, _) in enumerate(RULE_CASES)] + EDGES
    spark_curated, spark_quarantine, spark_record = transform(transactions(rows), rates(RATES), DAY)
    folder = tmp_path_factory.mktemp("duckdb-reference")
    transactions(rows).write.parquet(str(folder / "raw" / "transactions"))
    rates(RATES).write.parquet(str(folder / "raw" / "market_data"))
    spark_curated.write.parquet(str(folder / "spark-curated"))
    connection = duckdb_transform.connect(threads=2)
    record = duckdb_transform.transform(
        connection, folder / "raw" / "transactions", folder / "raw" / "market_data", DAY, folder / "duckdb"
    )
    return {
        "spark_quarantine": sorted((r.transaction_id or "", r.reason) for r in spark_quarantine.collect()),
        "spark_record": spark_record,
        "record": record,
        "folder": folder,
        "connection": connection,
    }


def test_every_quarantined_row_has_the_spark_jobs_reason(both):
    with (both["folder"] / "duckdb" / "quarantine.csv").open(newline="", encoding="utf-8") as file:
        quarantine = sorted((r["transaction_id"], r["reason"]) for r in csv.DictReader(file))
    assert quarantine == both["spark_quarantine"]
    # and the cases the job's own tests name, with their reasons
    named = {f"case-{n}": reason for n, (bad, reason) in enumerate(RULE_CASES) if bad[0]}
    assert {tid: reason for tid, reason in quarantine if tid in named} == named


def test_the_curated_rows_are_the_spark_jobs_value_for_value(both):
    assert (
        duckdb_transform.curated_differences(
            both["connection"], both["folder"] / "spark-curated", both["folder"] / "duckdb" / "curated.parquet"
        )
        == 0
    )
    cents = dict(
        both["connection"]
        .execute(
            f"SELECT transaction_id, amount_usd FROM read_parquet('{both['folder'] / 'duckdb' / 'curated.parquet'}')"
        )
        .fetchall()
    )
    assert (cents["e-tie-even"], cents["e-tie-odd"], cents["e-tie-negative"]) == (
        Decimal("0.02"),
        Decimal("0.04"),
        Decimal("-0.02"),
    )


def test_the_reconciliation_record_is_the_spark_jobs(both):
    assert both["record"] == both["spark_record"]
    assert both["record"]["duplicate_rows"] == 1


def test_a_curated_output_that_differs_is_counted(both, tmp_path):
    changed = tmp_path / "changed.parquet"
    source = both["folder"] / "duckdb" / "curated.parquet"
    both["connection"].execute(
        f"COPY (SELECT * REPLACE (CASE WHEN transaction_id = 'e-tie-odd' THEN amount_usd + 0.01 ELSE amount_usd END "
        f"AS amount_usd) FROM read_parquet('{source}')) TO '{changed}' (FORMAT parquet)"
    )
    assert duckdb_transform.curated_differences(both["connection"], both["folder"] / "spark-curated", changed) == 2
