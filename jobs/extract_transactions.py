"""Glue job `extract_transactions`: the day's landing CSV files to typed Parquet in the raw zone.

    --landing_path  folder (or one file) with the day's CSV files, e.g. s3://landing/transactions/business_date=D/
    --raw_path      the raw zone partition to replace, e.g. s3://raw/transactions/business_date=D/

Every file must have the contract's header and be UTF-8; a file that is not fails the job naming the file,
before anything is written. The files are read as RFC 4180 CSV (common.CSV_READ_OPTIONS). Values stay as text
here, exactly as received, so that transform_data can quarantine a bad amount or timestamp with the very text
that arrived; a record with another number of fields than its file's header is kept whole in `raw_record`
(its columns null), for transform_data to quarantine."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from common import (
    TRANSACTION_COLUMNS,
    InputFileError,
    list_files,
    parse_args,
    read_csv,
    spark_session,
    validate_csv_files,
)


def extract(spark, landing_path: str, raw_path: str) -> int:
    """Validate, read and write the day's transactions; returns the number of rows written."""
    files = list_files(spark, landing_path, ".csv")
    if not files:
        raise InputFileError(f"{landing_path}: no transaction files (*.csv)")
    layouts = validate_csv_files(spark, files, TRANSACTION_COLUMNS, optional_tail=2)
    read_csv(spark, layouts, TRANSACTION_COLUMNS).write.mode("overwrite").parquet(raw_path)
    return spark.read.parquet(raw_path).count()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "landing_path", "raw_path")
    spark = spark_session("extract_transactions")
    rows = extract(spark, args["landing_path"], args["raw_path"])
    print(f"extract_transactions: {rows} rows -> {args['raw_path']}")


if __name__ == "__main__":
    main(sys.argv[1:])
