"""The local warehouse enforces Redshift's column types, so a load that fails on Redshift fails locally: the real
load statements (dags/financial_etl/warehouse.py) run on localrun.redshift.Warehouse against curated Parquet."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from localrun.airflow_env import prepare_airflow
from localrun.redshift import StatementError, Warehouse

prepare_airflow()  # dags/ on sys.path, as MWAA puts it
from financial_etl.config import RedshiftConfig  # noqa: E402
from financial_etl.warehouse import CURATED_COLUMNS, count_statement, load_statements  # noqa: E402

DAY = "2026-11-23"
REDSHIFT = RedshiftConfig("wg", "db", "arn:aws:iam::1:role/copy")


def curated_parquet(path: Path, **overrides: str) -> Path:
    """One curated row in the curated Parquet's column order; `overrides` are SQL expressions written as they are
    (the others as the curated Parquet types them: strings, a timestamp, decimals of the warehouse's types)."""
    values = {
        "transaction_id": "'t1'",
        "account_id": "'a1'",
        "transaction_ts": f"TIMESTAMP '{DAY} 12:00:00'",
        "amount": "CAST(10 AS DECIMAL(18,6))",
        "currency": "'USD'",
        "channel": "'CARD'",
        "counterparty": "'cp'",
        "description": "'rent'",
        "usd_rate": "CAST(1 AS DECIMAL(18,10))",
        "amount_usd": "CAST(10 AS DECIMAL(20,2))",
    } | overrides
    select = ", ".join(f"{values[name]} AS {name}" for name, _ in CURATED_COLUMNS)
    with duckdb.connect() as db:
        db.execute(f"COPY (SELECT {select}) TO '{path}' (FORMAT PARQUET)")
    return path


def load(tmp_path: Path, **overrides: str) -> Warehouse:
    part = curated_parquet(tmp_path / "part-00000.parquet", **overrides)
    warehouse = Warehouse(lambda uri: [part])
    warehouse.execute_batch(load_statements(REDSHIFT, "s3://curated/transactions/business_date=2026-11-23/", DAY))
    return warehouse


def fact_rows(warehouse: Warehouse) -> int:
    return int(warehouse.query(count_statement(REDSHIFT, DAY), record=False).rows[0][0])


def test_a_description_of_1024_bytes_loads(tmp_path):
    assert fact_rows(load(tmp_path, description="'" + "é" * 512 + "'")) == 1


@pytest.mark.parametrize(
    ("column", "value"),
    [
        # 600 characters, 1,200 bytes: Redshift's VARCHAR(1024) counts bytes
        ("description", "'" + "é" * 600 + "'"),
        ("counterparty", "'" + "x" * 257 + "'"),
        ("transaction_id", "'" + "€" * 22 + "'"),
    ],
)
def test_a_text_longer_in_bytes_than_its_varchar_fails_the_copy_and_loads_nothing(tmp_path, column, value):
    with pytest.raises(StatementError, match=rf"Load into table 'stage_transactions' failed: .*{column}.*bytes"):
        load(tmp_path, **{column: value})


def test_an_amount_usd_beyond_its_decimal_fails_the_copy(tmp_path):
    with pytest.raises(StatementError, match=r"Load into table 'stage_transactions' failed: .*DECIMAL\(20,2\)"):
        load(tmp_path, amount_usd="CAST(1000000000000000000.00 AS DECIMAL(38,2))")


def test_a_null_in_a_not_null_column_of_the_fact_table_fails_the_load(tmp_path):
    with pytest.raises(StatementError, match=r"statement 6 of 6: .*NOT NULL.*amount_usd"):
        load(tmp_path, amount_usd="NULL")


def test_a_failed_load_leaves_the_fact_table_as_it_was(tmp_path):
    # given: a day loaded, then the same day again with a value Redshift refuses
    part = curated_parquet(tmp_path / "good.parquet")
    bad = curated_parquet(tmp_path / "bad.parquet", description="'" + "é" * 600 + "'")
    parts = [part]
    warehouse = Warehouse(lambda uri: parts)
    statements = load_statements(REDSHIFT, "s3://curated/transactions/business_date=2026-11-23/", DAY)
    warehouse.execute_batch(statements)

    # when
    parts[:] = [bad]
    with pytest.raises(StatementError):
        warehouse.execute_batch(statements)

    # then
    assert fact_rows(warehouse) == 1


def test_redshift_defaults_and_char_rules_apply_to_any_table():
    warehouse = Warehouse(lambda uri: [])
    warehouse.query("CREATE TABLE t (v VARCHAR, c CHAR(3), d DECIMAL, n NUMERIC(5))")
    warehouse.query("INSERT INTO t VALUES ('" + "x" * 256 + "', 'EUR', 1.5, 2.5)")
    # DECIMAL is DECIMAL(18,0) on Redshift (DuckDB's own default is DECIMAL(18,3))
    assert warehouse.query("SELECT d, n FROM t").rows == [(Decimal(2), Decimal(3))]
    with pytest.raises(StatementError, match="more than 256 bytes"):
        warehouse.query("INSERT INTO t VALUES ('" + "x" * 257 + "', 'EUR', 1, 1)")
    with pytest.raises(StatementError, match="single-byte characters"):
        warehouse.query("INSERT INTO t VALUES ('x', 'é', 1, 1)")
