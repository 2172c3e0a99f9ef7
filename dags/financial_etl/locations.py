"""Where each task reads and writes, for one business date: a pure function of the config and the date,
so that every attempt of every task overwrites the same partitions."""

from __future__ import annotations

from dataclasses import dataclass

from .config import EtlConfig


@dataclass(frozen=True)
class Locations:
    landing_transactions: str
    landing_market_data: str
    raw_transactions: str
    raw_market_data: str
    curated: str
    quarantine: str
    reconciliation: str
    reports: str

    @classmethod
    def of(cls, config: EtlConfig, business_date: str) -> Locations:
        partition = f"business_date={business_date}"
        curated = f"s3://{config.curated_bucket}"
        return cls(
            landing_transactions=f"s3://{config.landing_bucket}/transactions/{partition}/",
            landing_market_data=f"s3://{config.landing_bucket}/market_data/{partition}/",
            raw_transactions=f"s3://{config.raw_bucket}/transactions/{partition}/",
            raw_market_data=f"s3://{config.raw_bucket}/market_data/{partition}/",
            curated=f"{curated}/transactions/{partition}/",
            quarantine=f"{curated}/quarantine/{partition}/",
            reconciliation=f"{curated}/reconciliation/{partition}/reconciliation.json",
            reports=f"s3://{config.reports_bucket}/reports/",
        )


def split_s3(uri: str) -> tuple[str, str]:
    """s3://bucket/key -> (bucket, key)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
