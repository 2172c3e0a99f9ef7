"""Spark job tests: one local Spark session for the session, `jobs/` importable as Glue imports it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import pytest

from tests.conftest import ROOT

if str(ROOT / "jobs") not in sys.path:
    sys.path.insert(0, str(ROOT / "jobs"))

COLUMNS = (
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "channel",
    "counterparty",
    "description",
    "raw_record",
)
DAY = "2026-11-23"


@pytest.fixture(scope="session")
def spark() -> Any:
    from localrun.data_platform import local_spark

    return local_spark()


def row(
    transaction_id: str | None = "t1",
    account_id: str | None = "a1",
    timestamp: str | None = f"{DAY}T12:00:00Z",
    amount: str | None = "10.00",
    currency: str | None = "USD",
    channel: str | None = "CARD",
    counterparty: str | None = None,
    description: str | None = None,
    raw_record: str | None = None,
) -> tuple:
    """A raw transaction as extract_transactions writes it (raw_record: a record with the wrong field count)."""
    return (transaction_id, account_id, timestamp, amount, currency, channel, counterparty, description, raw_record)


def malformed(text: str) -> tuple:
    """A raw record that did not have its header's number of fields: no columns, its whole text."""
    return (None,) * 8 + (text,)


@pytest.fixture(scope="session")
def transactions(spark):
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(name, StringType(), True) for name in COLUMNS])

    def _frame(rows: Sequence[tuple]):
        return spark.createDataFrame(list(rows), schema)

    return _frame


@pytest.fixture(scope="session")
def rates(spark):
    from decimal import Decimal

    from extract_market_data import rates_schema

    def _frame(values: dict[str, str] | None = None):
        values = values or {"USD": "1", "EUR": "1.1000000000"}
        return spark.createDataFrame([(c, Decimal(r)) for c, r in values.items()], rates_schema())

    return _frame


@pytest.fixture(scope="session")
def curated(spark):
    """Curated rows from (account, channel, amount_usd, currency, amount) tuples."""
    from decimal import Decimal

    from pyspark.sql.types import DecimalType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("account_id", StringType()),
            StructField("channel", StringType()),
            StructField("amount_usd", DecimalType(20, 2)),
            StructField("currency", StringType()),
            StructField("amount", DecimalType(18, 6)),
        ]
    )

    def _frame(rows):
        full = [(*r, "USD", r[2]) if len(r) == 3 else r for r in rows]
        return spark.createDataFrame(
            [(a, c, Decimal(usd), cur, Decimal(amount)) for a, c, usd, cur, amount in full], schema
        )

    return _frame
