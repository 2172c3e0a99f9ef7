"""`load_warehouse`: the curated partition into Redshift through the Data API, replacing the business date.

One BatchExecuteStatement is one transaction: COPY into a session-local staging table, then delete and
insert the business date in the fact table. A re-run (or a cleared task) therefore replaces the date's rows
instead of adding to them, and a failure part-way leaves the fact table as it was."""

from __future__ import annotations

import json
from typing import Any

from .config import EtlConfig, RedshiftConfig
from .dates import parse_business_date
from .locations import Locations, split_s3

FACT_TABLE = "fact_transactions"
STAGING_TABLE = "stage_transactions"
# In the curated Parquet's column order: COPY from Parquet maps columns by position.
CURATED_COLUMNS = (
    ("transaction_id", "VARCHAR(64)"),
    ("account_id", "VARCHAR(64)"),
    ("transaction_ts", "TIMESTAMP"),
    ("amount", "DECIMAL(18,6)"),
    ("currency", "CHAR(3)"),
    ("channel", "VARCHAR(8)"),
    ("counterparty", "VARCHAR(256)"),
    ("description", "VARCHAR(1024)"),
    ("usd_rate", "DECIMAL(18,10)"),
    ("amount_usd", "DECIMAL(20,2)"),
)
NOT_NULL = {"transaction_id", "account_id", "transaction_ts", "amount", "currency", "channel", "usd_rate", "amount_usd"}


class LoadMismatchError(Exception):
    """The fact table does not hold exactly the reconciled curated rows for the date."""


def _columns(with_constraints: bool) -> str:
    return ", ".join(
        f"{name} {kind}{' NOT NULL' if with_constraints and name in NOT_NULL else ''}" for name, kind in CURATED_COLUMNS
    )


def load_statements(redshift: RedshiftConfig, curated_uri: str, business_date: str) -> list[str]:
    """The statements of the load, in order (Redshift SQL), for one transaction."""
    business_date = parse_business_date(business_date)
    fact = f"{redshift.schema}.{FACT_TABLE}"
    names = ", ".join(name for name, _ in CURATED_COLUMNS)
    return [
        f"CREATE SCHEMA IF NOT EXISTS {redshift.schema}",
        f"CREATE TABLE IF NOT EXISTS {fact} (business_date DATE NOT NULL, {_columns(True)}) "
        "DISTSTYLE KEY DISTKEY (account_id) SORTKEY (business_date)",
        f"CREATE TEMP TABLE {STAGING_TABLE} ({_columns(False)})",
        f"COPY {STAGING_TABLE} FROM '{curated_uri}' IAM_ROLE '{redshift.copy_role_arn}' FORMAT AS PARQUET",
        # business_date is a validated YYYY-MM-DD and the schema a validated identifier: nothing to inject
        f"DELETE FROM {fact} WHERE business_date = '{business_date}'",  # noqa: S608
        f"INSERT INTO {fact} (business_date, {names}) SELECT CAST('{business_date}' AS DATE), {names} FROM {STAGING_TABLE}",  # noqa: S608
    ]


def count_statement(redshift: RedshiftConfig, business_date: str) -> str:
    """The fact table's rows for the date, read back after the load."""
    business_date = parse_business_date(business_date)
    return f"SELECT COUNT(*) AS row_count FROM {redshift.schema}.{FACT_TABLE} WHERE business_date = '{business_date}'"  # noqa: S608


def load_warehouse(config: EtlConfig, business_date: str, aws_conn_id: str | None = "aws_default") -> dict[str, Any]:
    """Run the load for the date and verify the count against the reconciliation record."""
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    locations = Locations.of(config, business_date)
    bucket, key = split_s3(locations.reconciliation)
    reconciliation = json.loads(S3Hook(aws_conn_id=aws_conn_id).read_key(key, bucket))
    redshift = config.redshift
    target = {
        "database": redshift.database,
        "workgroup_name": redshift.workgroup_name,
        "secret_arn": redshift.secret_arn,
    }
    hook = RedshiftDataHook(aws_conn_id=aws_conn_id)
    hook.execute_query(sql=load_statements(redshift, locations.curated, business_date), poll_interval=5, **target)
    counted = hook.execute_query(sql=count_statement(redshift, business_date), poll_interval=2, **target)
    result = hook.conn.get_statement_result(Id=counted.statement_id)
    warehouse_rows = int(result["Records"][0][0]["longValue"])
    if warehouse_rows != reconciliation["curated_rows"]:
        raise LoadMismatchError(
            f"{business_date}: the fact table holds {warehouse_rows} rows, the reconciliation {reconciliation['curated_rows']}"
        )
    return {
        "business_date": business_date,
        "expected_rows": reconciliation["curated_rows"],
        "warehouse_rows": warehouse_rows,
    }
