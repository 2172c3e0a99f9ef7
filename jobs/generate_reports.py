"""Glue job `generate_reports`: the day's regulatory reports from the curated partition, one CSV each.

    --curated_path  curated partition written by transform_data
    --reports_path  e.g. s3://reports/reports/ ; each report is published as
                    <reports_path>/<report>/business_date=D/<report>.csv
    --business_date YYYY-MM-DD
    --TempDir       Glue's temporary directory (a job default argument): Spark writes the reports there first

Spark never writes to the reports bucket. With Object Lock default retention (prod) S3 refuses a PUT without
Content-MD5 or an x-amz-checksum header (docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html,
docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html), and no Glue document says which headers Glue's S3
writer sends; a Spark commit would also leave every temporary and replaced object locked for years. So Spark
writes each report to a staging prefix under --TempDir, and the driver publishes the one CSV per report with
PutObject carrying both Content-MD5 and a SHA-256 checksum, under a fixed key (a re-run adds a version).

* currency_transaction_report, as the Bank Secrecy Act asks (31 CFR 1010.311 and 1010.313; FFIEC BSA/AML
  Examination Manual, "Currency Transaction Reporting"): an account's CASH transactions of the business date are
  aggregated cash in (positive amount_usd) and cash out (negative) separately, never offset against each
  other, and the account is reported when either total exceeds 10,000.00 USD. Columns account_id,
  cash_in_usd, cash_in_count, cash_out_usd, cash_out_count; amounts positive, two decimals; a direction
  that is not reportable leaves both of its columns empty;
* structuring_candidates: per account and direction (IN, OUT), at least two CASH transactions each between
  8,000.00 and 10,000.00 USD in absolute value (both ends included) whose total exceeds 10,000.00: account_id,
  direction, transaction_count, total_usd;
* daily_totals: per currency, transaction_count, total_amount (in the currency) and total_usd."""

from __future__ import annotations

import base64
import hashlib
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from common import parse_args, read_single_file, spark_session, write_single_csv

CTR_THRESHOLD = Decimal("10000.00")
STRUCTURING_LOW = Decimal("8000.00")
STRUCTURING_HIGH = Decimal("10000.00")
REPORTS = ("currency_transaction_report", "structuring_candidates", "daily_totals")


def _directions(curated: Any) -> Any:
    """The CASH transactions with their direction (IN for cash in, OUT for cash out) and positive USD size."""
    from pyspark.sql import functions as F

    usd = F.col("amount_usd")
    return (
        curated.where((F.col("channel") == "CASH") & (usd != 0))
        .withColumn("direction", F.when(usd > 0, F.lit("IN")).otherwise(F.lit("OUT")))
        .withColumn("size_usd", F.abs(usd))
    )


def currency_transaction_report(curated: Any) -> Any:
    """Accounts whose cash in or whose cash out of the day exceeds 10,000.00 USD; the two are never netted."""
    from pyspark.sql import functions as F

    cash = _directions(curated)
    columns = []
    for direction, prefix in (("IN", "cash_in"), ("OUT", "cash_out")):
        mine = F.col("direction") == direction
        columns += [
            F.sum(F.when(mine, F.col("size_usd"))).alias(f"_{prefix}_usd"),
            F.count(F.when(mine, F.lit(1))).alias(f"_{prefix}_count"),
        ]
    totals = cash.groupBy("account_id").agg(*columns)
    reported = []
    for prefix in ("cash_in", "cash_out"):
        reportable = F.coalesce(F.col(f"_{prefix}_usd") > F.lit(CTR_THRESHOLD), F.lit(False))
        reported += [
            F.when(reportable, F.col(f"_{prefix}_usd")).alias(f"{prefix}_usd"),
            F.when(reportable, F.col(f"_{prefix}_count")).alias(f"{prefix}_count"),
        ]
    return (
        totals.select("account_id", *reported)
        .where(F.col("cash_in_usd").isNotNull() | F.col("cash_out_usd").isNotNull())
        .orderBy("account_id")
    )


def structuring_candidates(curated: Any) -> Any:
    """Per account and direction: two or more CASH transactions in the band [8,000.00, 10,000.00] USD together
    above 10,000.00 USD (each one below the CTR threshold, the sum above it)."""
    from pyspark.sql import functions as F

    return (
        _directions(curated)
        .where(F.col("size_usd").between(F.lit(STRUCTURING_LOW), F.lit(STRUCTURING_HIGH)))
        .groupBy("account_id", "direction")
        .agg(F.count(F.lit(1)).alias("transaction_count"), F.sum("size_usd").alias("total_usd"))
        .where((F.col("transaction_count") >= 2) & (F.col("total_usd") > F.lit(CTR_THRESHOLD)))
        .select("account_id", "direction", "transaction_count", "total_usd")
        .orderBy("account_id", "direction")
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


def report_key(prefix: str, name: str, business_date: str) -> str:
    """The published object's key: <prefix>/<report>/business_date=D/<report>.csv."""
    return "/".join(part for part in (prefix.strip("/"), name, f"business_date={business_date}", f"{name}.csv") if part)


def publish_reports(s3: Any, reports_path: str, business_date: str, bodies: Mapping[str, bytes]) -> list[str]:
    """PutObject each report with Content-MD5 and a SHA-256 checksum, as Object Lock requires; returns the URIs."""
    if not reports_path.startswith("s3://"):
        raise ValueError(f"--reports_path must be an s3:// URI, got {reports_path!r}")
    bucket, _, prefix = reports_path[5:].partition("/")
    published = []
    for name, body in bodies.items():
        key = report_key(prefix, name, business_date)
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType="text/csv",
            ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode("ascii"),  # noqa: S324 (S3's header)
            ChecksumAlgorithm="SHA256",
        )
        published.append(f"s3://{bucket}/{key}")
    return published


def main(argv: Sequence[str] | None = None) -> None:
    import boto3

    args = parse_args(argv, "curated_path", "reports_path", "business_date", "TempDir")
    spark = spark_session("generate_reports")
    curated = spark.read.parquet(args["curated_path"]).cache()
    staging = f"{args['TempDir'].rstrip('/')}/generate_reports/business_date={args['business_date']}"
    bodies = {}
    for name, frame in reports(curated).items():
        write_single_csv(frame, f"{staging}/{name}")
        bodies[name] = read_single_file(spark, f"{staging}/{name}", ".csv")
    published = publish_reports(boto3.client("s3"), args["reports_path"], args["business_date"], bodies)
    print(f"generate_reports: {', '.join(published)}")


if __name__ == "__main__":
    main(sys.argv[1:])
