"""Glue job `extract_market_data`: the day's FX rates (`currency,usd_rate`, USD per unit) into the raw zone.

    --landing_path  the vendor's drop for the day (a CSV file or a folder of them)
    --raw_path      the raw zone partition to replace

The rates are checked here because every amount depends on them: a record with the wrong number of fields,
a rate that is not a positive decimal, two rates for one currency (even two equal ones: the file then says
something twice that it should say once), or a USD rate other than 1 fail the job naming the file. USD is
added at 1 when the vendor leaves it out. The files are read as RFC 4180 CSV, as the transactions are."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from decimal import Decimal

from common import (
    MARKET_DATA_COLUMNS,
    RAW_RECORD,
    InputFileError,
    file_name,
    list_files,
    parse_args,
    read_csv,
    spark_session,
    validate_csv_files,
)

RATE_PATTERN = re.compile(r"^\d{1,8}(\.\d{1,10})?$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")


def rates_schema():
    from pyspark.sql.types import DecimalType, StringType, StructField, StructType

    return StructType(
        [StructField("currency", StringType(), False), StructField("usd_rate", DecimalType(18, 10), False)]
    )


def parse_rates(rows: list[tuple[str, str | None, str | None]]) -> dict[str, Decimal]:
    """(file, currency, usd_rate) text rows to currency -> rate, USD included; InputFileError on a bad row."""
    rates: dict[str, Decimal] = {}
    seen_in: dict[str, str] = {}
    for name, currency, rate in rows:
        currency, rate = (currency or "").strip(), (rate or "").strip()
        if not CURRENCY_PATTERN.match(currency):
            raise InputFileError(f"{name}: currency {currency!r} is not an ISO 4217 code")
        if not RATE_PATTERN.match(rate) or Decimal(rate) == 0:
            raise InputFileError(f"{name}: usd_rate {rate!r} of {currency} is not a positive decimal")
        if currency in rates:
            elsewhere = "" if seen_in[currency] == name else f" (the other in {seen_in[currency]})"
            raise InputFileError(f"{name}: two rates for {currency}{elsewhere}")
        rates[currency], seen_in[currency] = Decimal(rate), name
    if rates.setdefault("USD", Decimal(1)) != 1:
        raise InputFileError(f"{seen_in['USD']}: the USD rate must be 1, got {rates['USD']}")
    return rates


def extract(spark, landing_path: str, raw_path: str) -> int:
    """Validate and copy the rates; returns how many currencies have a rate."""
    from pyspark.sql import functions as F

    files = list_files(spark, landing_path, ".csv")
    if not files:
        raise InputFileError(f"{landing_path}: no market data file (*.csv)")
    layouts = validate_csv_files(spark, files, MARKET_DATA_COLUMNS)
    rows = (
        read_csv(spark, layouts, MARKET_DATA_COLUMNS)
        .select(F.input_file_name().alias("file"), "currency", "usd_rate", RAW_RECORD)
        .collect()
    )
    for row in rows:
        if row[RAW_RECORD] is not None:
            raise InputFileError(
                f"{file_name(row.file)}: a record with the wrong number of fields "
                f"(expected {len(MARKET_DATA_COLUMNS)}): {row[RAW_RECORD]!r}"
            )
    rates = parse_rates(sorted(((file_name(row.file), row.currency, row.usd_rate) for row in rows), key=lambda r: r[0]))
    frame = spark.createDataFrame(sorted(rates.items()), rates_schema())
    frame.coalesce(1).write.mode("overwrite").parquet(raw_path)
    return len(rates)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "landing_path", "raw_path")
    spark = spark_session("extract_market_data")
    count = extract(spark, args["landing_path"], args["raw_path"])
    print(f"extract_market_data: {count} rates -> {args['raw_path']}")


if __name__ == "__main__":
    main(sys.argv[1:])
