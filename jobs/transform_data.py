"""Glue job `transform_data`: raw transactions and FX rates to the curated partition, the quarantine and the
reconciliation record of one business date.

    --business_date       YYYY-MM-DD (UTC)
    --raw_transactions    raw zone partition written by extract_transactions
    --raw_market_data     raw zone partition written by extract_market_data
    --curated_path        curated partition to replace (Parquet)
    --quarantine_path     quarantine partition to replace (RFC 4180 CSV: the input columns, `raw_record`, `reason`)
    --reconciliation_path the reconciliation record (JSON), written last

Rules, in the order a row is judged:
* exact duplicates (every field equal) are kept once and counted as `duplicate_rows`;
* a record whose number of fields differs from its file's header is quarantined whole (`raw_record`);
* copies of one transaction_id that differ are all quarantined as a conflicting duplicate;
* a missing id or account, a text longer in UTF-8 bytes than its warehouse column (Redshift's VARCHAR(n)
  counts bytes), an amount or timestamp that does not parse, a timestamp outside the business date (UTC), an
  unknown channel, a currency without a rate, an amount_usd beyond the warehouse's DECIMAL(20,2) quarantine
  the row with the rule's name: nothing the warehouse would refuse is curated, and nothing is nulled;
* amount_usd = amount x usd_rate, exact in Decimal, rounded half-even to cents.
The quarantine holds every field exactly as received. The job fails when
input_rows != curated_rows + quarantined_rows + duplicate_rows."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from common import (
    CHANNELS,
    RAW_RECORD,
    TRANSACTION_COLUMNS,
    delete,
    parse_args,
    spark_session,
    write_single_csv,
    write_text,
)

# amount(18,6) x usd_rate(18,10) is decimal(37,16): the product is exact before the one rounding to cents.
# The curated types are the warehouse's (dags/financial_etl/warehouse.py, CURATED_COLUMNS; a test keeps them equal).
AMOUNT_TYPE = (18, 6)
USD_RATE_TYPE = (18, 10)
AMOUNT_USD_TYPE = (20, 2)
# The warehouse's VARCHAR(n) of the free-text columns, in bytes: Redshift counts bytes, not characters
# (docs.aws.amazon.com/redshift/latest/dg/r_Character_types.html). channel and currency need no check of their
# own: a curated channel is one of CHANNELS, a curated currency has a rate, and rates have ISO 4217 codes.
VARCHAR_BYTES = {"transaction_id": 64, "account_id": 64, "counterparty": 256, "description": 1024}
# Anchored with \z, the end of the input: Java's `$` also matches before a final line break, so "12.00\n" would
# pass, and Spark's cast to DECIMAL then drops the line break: a value changed, not quarantined.
AMOUNT_PATTERN = r"^[+-]?\d{1,12}(\.\d{1,6})?\z"
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})\z"
TIMESTAMP_FORMAT = "yyyy-MM-dd'T'HH:mm:ss[.SSSSSS]XXX"

WRONG_FIELD_COUNT = "wrong number of fields"
CONFLICTING_DUPLICATE = "conflicting duplicate"
MISSING_ID = "missing transaction_id"
MISSING_ACCOUNT = "missing account_id"
BAD_AMOUNT = "unparseable amount"
BAD_TIMESTAMP = "unparseable timestamp"
OUTSIDE_DATE = "timestamp outside business date"
UNKNOWN_CHANNEL = "unknown channel"
NO_RATE = "no FX rate for currency"
AMOUNT_USD_OUT_OF_RANGE = f"amount_usd beyond DECIMAL({AMOUNT_USD_TYPE[0]},{AMOUNT_USD_TYPE[1]})"
QUARANTINE_COLUMNS = (*TRANSACTION_COLUMNS, RAW_RECORD, "reason")


def too_long(column: str) -> str:
    """The reason of a text longer than its warehouse column."""
    return f"{column} longer than {VARCHAR_BYTES[column]} bytes"


CURATED_COLUMNS = (
    "transaction_id",
    "account_id",
    "transaction_ts",
    "amount",
    "currency",
    "channel",
    "counterparty",
    "description",
    "usd_rate",
    "amount_usd",
)


class ReconciliationError(Exception):
    """The counts do not add up: some rows were lost or made up."""


def _blank(column: Any) -> Any:
    from pyspark.sql import functions as F

    return column.isNull() | (F.trim(column) == "")


def transform(transactions: Any, rates: Any, business_date: str) -> tuple[Any, Any, dict[str, Any]]:
    """Apply the rules; returns (curated, quarantine, reconciliation) for one business date."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    rows = transactions.select(*TRANSACTION_COLUMNS, RAW_RECORD)
    input_rows = rows.count()
    # One shuffle by transaction_id serves both the de-duplication and the window over each id's copies
    # (hash partitioning on the id clusters equal rows too). `_n` counts each distinct row's exact copies, so
    # the duplicates are summed with the other totals in one pass over the cached rows.
    unique = (
        rows.repartition("transaction_id").groupBy(*TRANSACTION_COLUMNS, RAW_RECORD).agg(F.count(F.lit(1)).alias("_n"))
    )
    copies = F.count(F.lit(1)).over(Window.partitionBy("transaction_id"))
    ts = F.col("_ts")  # the timestamp parsed once per row, cached with the judged rows
    amount_ok = F.coalesce(F.col("amount").rlike(AMOUNT_PATTERN), F.lit(False))
    timestamp_ok = F.coalesce(F.col("timestamp").rlike(TIMESTAMP_PATTERN), F.lit(False)) & ts.isNotNull()
    amount = F.col("amount").cast(DecimalType(*AMOUNT_TYPE))
    usd_rate = F.col("usd_rate").cast(DecimalType(*USD_RATE_TYPE))
    # With ANSI mode off (common.spark_session) a cast that overflows is NULL: a rule, never a curated NULL.
    # Worked out once per row and cached as `_usd`, which the rule, the totals and the curated rows read: the
    # decimal(37,16) product is computed once instead of three times (README, Performance).
    amount_usd = F.bround(amount * usd_rate, 2).cast(DecimalType(*AMOUNT_USD_TYPE))
    usd = F.col("_usd")
    reason = F.when(F.col(RAW_RECORD).isNotNull(), F.lit(WRONG_FIELD_COUNT))
    reason = reason.when(F.col("_copies") > 1, F.lit(CONFLICTING_DUPLICATE))
    reason = reason.when(_blank(F.col("transaction_id")), F.lit(MISSING_ID))
    reason = reason.when(_blank(F.col("account_id")), F.lit(MISSING_ACCOUNT))
    for column, limit in VARCHAR_BYTES.items():
        reason = reason.when(F.coalesce(F.octet_length(column) > limit, F.lit(False)), F.lit(too_long(column)))
    reason = (
        reason.when(~amount_ok, F.lit(BAD_AMOUNT))
        .when(~timestamp_ok, F.lit(BAD_TIMESTAMP))
        .when(F.to_date(ts) != F.lit(business_date).cast("date"), F.lit(OUTSIDE_DATE))
        .when(~F.coalesce(F.col("channel").isin(*CHANNELS), F.lit(False)), F.lit(UNKNOWN_CHANNEL))
        .when(F.col("usd_rate").isNull(), F.lit(NO_RATE))
        .when(usd.isNull(), F.lit(AMOUNT_USD_OUT_OF_RANGE))
    )
    judged = (
        unique.withColumn("_copies", F.when(F.col("transaction_id").isNotNull(), copies).otherwise(F.lit(1)))
        .join(F.broadcast(rates.select("currency", "usd_rate")), on="currency", how="left")
        .withColumn("_ts", F.to_timestamp(F.col("timestamp"), TIMESTAMP_FORMAT))
        .withColumn("_usd", amount_usd)
        .withColumn("reason", reason)
        .cache()
    )
    accepted = F.col("reason").isNull()
    curated = judged.where(accepted).select(
        "transaction_id",
        "account_id",
        ts.alias("transaction_ts"),
        amount.alias("amount"),
        "currency",
        "channel",
        "counterparty",
        "description",
        usd_rate.alias("usd_rate"),
        usd.alias("amount_usd"),
    )
    quarantine = judged.where(~accepted).select(*QUARANTINE_COLUMNS)
    # Every judged row once: input_rows (counted before) = curated + quarantined + duplicates only when the
    # judging neither lost nor multiplied a row, which check_identity verifies.
    totals = judged.agg(
        F.count(F.when(accepted, F.lit(1))).alias("curated"),
        F.sum(F.when(accepted, usd)).alias("usd"),
        F.count(F.when(~accepted, F.lit(1))).alias("quarantined"),
        (F.coalesce(F.sum("_n"), F.lit(0)) - F.count(F.lit(1))).alias("duplicates"),
    ).first()
    reconciliation = {
        "business_date": business_date,
        "input_rows": input_rows,
        "curated_rows": totals.curated,
        "quarantined_rows": totals.quarantined,
        "duplicate_rows": totals.duplicates,
        "control_total_usd": str(Decimal(totals.usd or 0).quantize(Decimal("0.01"))),
    }
    return curated, quarantine, reconciliation


def check_identity(reconciliation: dict[str, Any]) -> None:
    """input_rows = curated_rows + quarantined_rows + duplicate_rows, or ReconciliationError."""
    parts = reconciliation["curated_rows"] + reconciliation["quarantined_rows"] + reconciliation["duplicate_rows"]
    if reconciliation["input_rows"] != parts:
        raise ReconciliationError(f"input_rows {reconciliation['input_rows']} != {parts}: {reconciliation}")


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(
        argv,
        "business_date",
        "raw_transactions",
        "raw_market_data",
        "curated_path",
        "quarantine_path",
        "reconciliation_path",
    )
    from pyspark.sql import functions as F

    spark = spark_session("transform_data")
    # The judged rows are cached once and read three times (totals, curated, quarantine). Spark compresses its
    # in-memory columnar cache by default; building the compressed batches cost about a quarter of a 10M-row run
    # here (spark.apache.org/docs/3.5.4/sql-performance-tuning.html#caching-data-in-memory; README, Performance).
    # DataFrame.cache() stores at MEMORY_AND_DISK_DESER, so rows that do not fit in memory go to the worker's disk
    # (spark.apache.org/docs/3.5.2/api/python/reference/pyspark.sql/api/pyspark.sql.DataFrame.cache.html).
    spark.conf.set("spark.sql.inMemoryColumnarStorage.compressed", "false")
    # The record is removed first and written last: a present record always describes a complete output.
    delete(spark, args["reconciliation_path"])
    curated, quarantine, reconciliation = transform(
        spark.read.parquet(args["raw_transactions"]), spark.read.parquet(args["raw_market_data"]), args["business_date"]
    )
    check_identity(reconciliation)
    curated.write.mode("overwrite").parquet(args["curated_path"])
    order = [F.col(name).asc_nulls_first() for name in ("transaction_id", "reason", *QUARANTINE_COLUMNS)]
    # The order is total (the quarantined rows are distinct and every column is a key), so one sort in the one
    # task that writes the file gives the same bytes as a global orderBy, without its sampling pass over the rows.
    write_single_csv(quarantine.repartition(1).sortWithinPartitions(*order), args["quarantine_path"])
    written = spark.read.parquet(args["curated_path"]).count()
    if written != reconciliation["curated_rows"]:
        raise ReconciliationError(f"wrote {written} curated rows, counted {reconciliation['curated_rows']}")
    write_text(spark, args["reconciliation_path"], json.dumps(reconciliation, sort_keys=True) + "\n")
    print(f"transform_data: {json.dumps(reconciliation)}")


if __name__ == "__main__":
    main(sys.argv[1:])
