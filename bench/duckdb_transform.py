"""`transform_data`'s rules in DuckDB: the single-machine reference the Spark job is measured beside.

The same raw-zone Parquet in (the extract jobs' output), the same rules in the same order, the same curated
columns and types, the same reconciliation record; `tests/bench/test_duckdb_transform.py` runs every rule case of
the Spark job's tests through both and requires the same reasons. It is a benchmark's reference, not a second
pipeline: the deployed job is `jobs/transform_data.py`.

Where DuckDB's parsing is more lenient than Spark's `to_timestamp(..., "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX")`, the
SQL narrows it to Spark's: hour 24 and offsets beyond +-18:00 (java.time.ZoneOffset's range) are unparseable.
amount_usd is amount x usd_rate exact in 128-bit integers, rounded half-even to cents (DuckDB's `round` on a
DECIMAL rounds half away from zero, Spark's `bround` half-even)."""

# ruff: noqa: S608 (SQL made of the job's own constants and quoted local paths: no outside input)
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from .core import ROOT

JOBS = ROOT / "jobs"


def _rules() -> Any:
    if str(JOBS) not in sys.path:
        sys.path.insert(0, str(JOBS))
    import transform_data

    return transform_data


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def judged_sql(transactions: str, rates: str, business_date: str) -> str:
    """A query over the relations `transactions` and `rates` (SQL expressions) with every distinct row, its
    copies, its reason (NULL when curated) and its curated values."""
    t = _rules()
    channels = ", ".join(_literal(channel) for channel in t.CHANNELS)
    varchar_rules = "\n".join(
        f"        WHEN coalesce(strlen({column}) > {limit}, false) THEN {_literal(t.too_long(column))}"
        for column, limit in t.VARCHAR_BYTES.items()
    )
    amount_p, amount_s = t.AMOUNT_TYPE
    usd_p, usd_s = t.AMOUNT_USD_TYPE
    return f"""
WITH rows AS (
    SELECT transaction_id, account_id, "timestamp", amount, currency, channel, counterparty, description, raw_record
    FROM {transactions}
), unique_rows AS (
    SELECT *, count(*) AS _n FROM rows GROUP BY ALL
), counted AS (
    SELECT *, CASE WHEN transaction_id IS NULL THEN 1 ELSE count(*) OVER (PARTITION BY transaction_id) END AS _copies
    FROM unique_rows
), parsed AS (
    SELECT c.*, r.usd_rate,
        coalesce(regexp_matches(amount, {_literal(t.AMOUNT_PATTERN)}), false) AS _amount_ok,
        CASE WHEN coalesce(regexp_matches("timestamp", {_literal(t.TIMESTAMP_PATTERN)}), false)
              AND try_cast(substr("timestamp", 12, 2) AS INTEGER) <= 23
              AND (right("timestamp", 1) = 'Z' OR (
                   try_cast(substr(right("timestamp", 6), 2, 2) AS INTEGER) * 60
                   + try_cast(right("timestamp", 2) AS INTEGER) <= 18 * 60
                   AND try_cast(right("timestamp", 2) AS INTEGER) <= 59))
             THEN try_cast("timestamp" AS TIMESTAMPTZ) END AS _ts
    FROM counted c LEFT JOIN (SELECT currency, usd_rate FROM {rates}) r USING (currency)
), valued AS (
    SELECT *,
        CASE WHEN _amount_ok AND usd_rate IS NOT NULL THEN
            CAST(CAST(try_cast(amount AS DECIMAL({amount_p},{amount_s})) AS DECIMAL(38,{amount_s})) * 1{"0" * amount_s} AS HUGEINT)
            * CAST(CAST(usd_rate AS DECIMAL(38,{t.USD_RATE_TYPE[1]})) * 1{"0" * t.USD_RATE_TYPE[1]} AS HUGEINT) END AS _units
    FROM parsed
), rounded AS (
    -- _units is amount x usd_rate in units of 10^-{amount_s + t.USD_RATE_TYPE[1]}; cents, half-even, by hand.
    SELECT *, CASE WHEN _units IS NOT NULL THEN sign(_units) * (
        abs(_units) // _unit + CASE WHEN 2 * (abs(_units) % _unit) > _unit
                                     OR (2 * (abs(_units) % _unit) = _unit AND (abs(_units) // _unit) % 2 = 1)
                                    THEN 1 ELSE 0 END) END AS _cents
    FROM (SELECT *, CAST(1{"0" * (amount_s + t.USD_RATE_TYPE[1] - usd_s)} AS HUGEINT) AS _unit FROM valued)
), judged AS (
    SELECT *,
        CASE WHEN abs(_cents) < CAST(1{"0" * usd_p} AS HUGEINT)
             THEN CAST(CAST(_cents AS DECIMAL(38,0)) * CAST(0.01 AS DECIMAL(3,2)) AS DECIMAL({usd_p},{usd_s})) END
             AS amount_usd
    FROM rounded
)
SELECT *,
    CASE
        WHEN raw_record IS NOT NULL THEN {_literal(t.WRONG_FIELD_COUNT)}
        WHEN _copies > 1 THEN {_literal(t.CONFLICTING_DUPLICATE)}
        WHEN transaction_id IS NULL OR trim(transaction_id, ' ') = '' THEN {_literal(t.MISSING_ID)}
        WHEN account_id IS NULL OR trim(account_id, ' ') = '' THEN {_literal(t.MISSING_ACCOUNT)}
{varchar_rules}
        WHEN NOT _amount_ok THEN {_literal(t.BAD_AMOUNT)}
        WHEN _ts IS NULL THEN {_literal(t.BAD_TIMESTAMP)}
        WHEN CAST(_ts AS DATE) <> DATE {_literal(business_date)} THEN {_literal(t.OUTSIDE_DATE)}
        WHEN NOT coalesce(channel IN ({channels}), false) THEN {_literal(t.UNKNOWN_CHANNEL)}
        WHEN usd_rate IS NULL THEN {_literal(t.NO_RATE)}
        WHEN amount_usd IS NULL THEN {_literal(t.AMOUNT_USD_OUT_OF_RANGE)}
    END AS reason
FROM judged
"""


def connect(threads: int) -> Any:
    import duckdb

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # business dates are UTC, as the job's Spark session
    connection.execute(f"SET threads = {int(threads)}")
    return connection


def transform(
    connection: Any, raw_transactions: Path, raw_market_data: Path, business_date: str, out: Path
) -> dict[str, Any]:
    """The rules on the raw zone's Parquet; writes out/curated.parquet and out/quarantine.csv (RFC 4180) and
    returns the reconciliation record transform_data would write."""
    t = _rules()
    out.mkdir(parents=True, exist_ok=True)
    transactions = f"read_parquet({_literal(str(raw_transactions / '*.parquet'))})"
    rates = f"read_parquet({_literal(str(raw_market_data / '*.parquet'))})"
    input_rows = connection.execute(f"SELECT count(*) FROM {transactions}").fetchone()[0]
    connection.execute(f"CREATE OR REPLACE TEMP TABLE judged AS {judged_sql(transactions, rates, business_date)}")
    amount_p, amount_s = t.AMOUNT_TYPE
    curated = f"""
        SELECT transaction_id, account_id, _ts AS transaction_ts, try_cast(amount AS DECIMAL({amount_p},{amount_s})) AS amount,
               currency, channel, counterparty, description, usd_rate, amount_usd
        FROM judged WHERE reason IS NULL"""
    connection.execute(f"COPY ({curated}) TO {_literal(str(out / 'curated.parquet'))} (FORMAT parquet)")
    columns = ", ".join(f'"{name}"' for name in t.QUARANTINE_COLUMNS)
    connection.execute(
        f"COPY (SELECT {columns} FROM judged WHERE reason IS NOT NULL ORDER BY transaction_id NULLS FIRST, reason) "
        f"TO {_literal(str(out / 'quarantine.csv'))} (FORMAT csv, HEADER)"
    )
    curated_rows, usd, quarantined, duplicates = connection.execute(
        """SELECT count(*) FILTER (WHERE reason IS NULL), sum(amount_usd) FILTER (WHERE reason IS NULL),
                  count(*) FILTER (WHERE reason IS NOT NULL), coalesce(sum(_n), 0) - count(*) FROM judged"""
    ).fetchone()
    connection.execute("DROP TABLE judged")
    return {
        "business_date": business_date,
        "input_rows": input_rows,
        "curated_rows": curated_rows,
        "quarantined_rows": quarantined,
        "duplicate_rows": int(duplicates),
        "control_total_usd": str(Decimal(usd or 0).quantize(Decimal("0.01"))),
    }


def curated_differences(connection: Any, spark_curated: Path, duckdb_curated: Path) -> int:
    """Rows in one curated output and not the other (both ways; timestamps compared as UTC microseconds)."""
    columns = (
        "transaction_id, account_id, epoch_us(transaction_ts) AS ts, amount, currency, channel, counterparty, "
        "description, usd_rate, amount_usd"
    )
    spark = f"SELECT {columns} FROM read_parquet({_literal(str(spark_curated / '*.parquet'))})"
    local = f"SELECT {columns} FROM read_parquet({_literal(str(duckdb_curated))})"
    return connection.execute(
        f"SELECT (SELECT count(*) FROM ({spark} EXCEPT ALL {local})) + (SELECT count(*) FROM ({local} EXCEPT ALL {spark}))"
    ).fetchone()[0]
