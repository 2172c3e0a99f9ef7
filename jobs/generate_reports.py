"""Glue job `generate_reports`: the day's regulatory reports from the curated partition, one CSV each.

    --curated_path  curated partition written by transform_data
    --reports_path  e.g. s3://reports/ ; each report goes to <reports_path>/<report>/business_date=D/
    --business_date YYYY-MM-DD

* currency_transaction_report: accounts whose CASH transactions add up to more than 10,000.00 USD in
  absolute value (deposits and withdrawals both count): account_id, total_usd, transaction_count;
* structuring_candidates: accounts with at least two CASH transactions each between 8,000.00 and
  10,000.00 USD in absolute value (inclusive) that together exceed 10,000.00;
* daily_totals: per currency, transaction_count, total_amount (in the currency) and total_usd."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from common import parse_args, spark_session, write_single_csv

CTR_THRESHOLD = Decimal("10000.00")
STRUCTURING_LOW = Decimal("8000.00")
STRUCTURING_HIGH = Decimal("10000.00")
REPORTS = ("currency_transaction_report", "structuring_candidates", "daily_totals")


def currency_transaction_report(curated: Any) -> Any:
    from pyspark.sql import functions as F

    return (
        curated.where(F.col("channel") == "CASH")
        .groupBy("account_id")
        .agg(F.sum(F.abs("amount_usd")).alias("total_usd"), F.count(F.lit(1)).alias("transaction_count"))
        .where(F.col("total_usd") > F.lit(CTR_THRESHOLD))
        .orderBy("account_id")
    )


def structuring_candidates(curated: Any) -> Any:
    from pyspark.sql import functions as F

    size = F.abs("amount_usd")
    return (
        curated.where((F.col("channel") == "CASH") & size.between(F.lit(STRUCTURING_LOW), F.lit(STRUCTURING_HIGH)))
        .groupBy("account_id")
        .agg(F.count(F.lit(1)).alias("transaction_count"), F.sum(size).alias("total_usd"))
        .where((F.col("transaction_count") >= 2) & (F.col("total_usd") > F.lit(CTR_THRESHOLD)))
        .select("account_id", "transaction_count", "total_usd")
        .orderBy("account_id")
    )


def daily_totals(curated: Any) -> Any:
    from pyspark.sql import functions as F

    return (
        curated.groupBy("currency")
        .agg(
            F.count(F.lit(1)).alias("transaction_count"),
            F.sum("amount").alias("total_amount"),
            F.sum("amount_usd").alias("total_usd"),
        )
        .orderBy("currency")
    )


def reports(curated: Any) -> dict[str, Any]:
    """Report name -> DataFrame."""
    return {
        "currency_transaction_report": currency_transaction_report(curated),
        "structuring_candidates": structuring_candidates(curated),
        "daily_totals": daily_totals(curated),
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv, "curated_path", "reports_path", "business_date")
    spark = spark_session("generate_reports")
    curated = spark.read.parquet(args["curated_path"]).cache()
    base = args["reports_path"].rstrip("/")
    for name, frame in reports(curated).items():
        write_single_csv(frame, f"{base}/{name}/business_date={args['business_date']}")
    print(f"generate_reports: {', '.join(REPORTS)} -> {base}")


if __name__ == "__main__":
    main(sys.argv[1:])
