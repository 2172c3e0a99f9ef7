"""`python -m localrun upload`: a business day into the landing bucket of a running `localrun mwaa`, as the
upstream systems deliver it: the transaction files and the FX rates first, the manifest
`transactions/business_date=D/_SUCCESS` last (its arrival is what the EventBridge rule reacts to).

The day's earlier files are removed first, so a day uploaded again is exactly the new files."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..orders import InputError

MANIFEST = "_SUCCESS"


@dataclass
class Upload:
    business_date: str
    keys: list[str]
    run_id: str
    run_url: str


def read_endpoints(home: Path) -> dict[str, Any]:
    """DIR/endpoints.json of a running environment; InputError when there is none."""
    path = home / "endpoints.json"
    if not path.exists():
        raise InputError(f"no running environment in {home}: start one with `python -m localrun mwaa --home {home}`")
    return json.loads(path.read_text())


def s3_client(endpoints: dict[str, Any]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoints["aws_endpoint_url"],
        region_name=endpoints["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the emulated endpoint accepts any credentials
    )


def day_files(
    business_date: str, transactions: Path | None, market_data: Path | None, generate: int
) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(transaction files, FX files) by file name: the given ones, checked as the extract jobs check them, or
    a generated day (with its realistic faults)."""
    from .. import etl  # the ETL runner's generator and landing-file checks (jobs/common.py's columns)

    try:
        dt.date.fromisoformat(business_date)
    except ValueError:
        raise InputError(f"--date must be YYYY-MM-DD, got {business_date!r}") from None
    if generate < 1:
        raise InputError("--generate must be at least 1")
    generated_transactions, generated_rates = etl.generate_day(business_date, generate)
    if transactions is None:
        landing = {"transactions.csv": generated_transactions.encode()}
    else:
        landing = {
            path.name: etl.read_input(path, etl.TRANSACTION_COLUMNS, optional_tail=2)
            for path in etl.transaction_files(transactions)
        }
    if market_data is None:
        rates = {"fx_rates.csv": generated_rates.encode()}
    else:
        rates = {market_data.name: etl.read_input(market_data, etl.MARKET_DATA_COLUMNS)}
    return landing, rates


def upload_day(
    endpoints: dict[str, Any], business_date: str, transactions: dict[str, bytes], market_data: dict[str, bytes]
) -> Upload:
    """Replace the day's landing files, then put the manifest."""
    s3 = s3_client(endpoints)
    bucket = endpoints["landing_bucket"]
    partition = f"business_date={business_date}"
    for folder in ("transactions", "market_data"):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{folder}/{partition}/"):
            for item in page.get("Contents", []):
                if item["Key"] != f"transactions/{partition}/{MANIFEST}":
                    s3.delete_object(Bucket=bucket, Key=item["Key"])
    keys = []
    for folder, files in (("transactions", transactions), ("market_data", market_data)):
        for name, body in files.items():
            key = f"{folder}/{partition}/{name}"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            keys.append(key)
    manifest = f"transactions/{partition}/{MANIFEST}"
    s3.put_object(Bucket=bucket, Key=manifest, Body=b"")
    keys.append(manifest)
    run_id = f"manifest__{business_date}"
    return Upload(business_date, keys, run_id, f"{endpoints['airflow_url']}/dags/{endpoints['dag_id']}/runs/{run_id}")
