"""Trigger: an EventBridge S3 event of the day's manifest -> one `financial_etl_pipeline` DAG run via MWAA.

A second event for the same business date finds the run already there (Airflow answers 409): a no-op.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError
from trigger_etl_dag.dag_run import DagRunRequest, MalformedEvent, business_date_of

__all__ = ["ClientError", "DagRunNotCreated", "DagRunRequest", "MalformedEvent", "lambda_handler"]

ENVIRONMENT_NAME = os.environ["MWAA_ENVIRONMENT_NAME"]
DAG_ID = os.environ["DAG_ID"]
MANIFEST_PREFIX = os.environ.get("MANIFEST_PREFIX", "transactions/")
MANIFEST_NAME = os.environ.get("MANIFEST_NAME", "_SUCCESS")
# Airflow's answer when the run id exists already.
CONFLICT = 409

logger = Logger()
mwaa = boto3.client("mwaa")


class DagRunNotCreated(RuntimeError):
    """Airflow refused the run for a reason other than its existence (retried, then dead-lettered)."""


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    request = DagRunRequest(
        dag_id=DAG_ID, business_date=business_date_of(event, prefix=MANIFEST_PREFIX, name=MANIFEST_NAME)
    )
    logger.append_keys(business_date=request.business_date.isoformat(), dag_run_id=request.run_id)
    try:
        response = mwaa.invoke_rest_api(**request.invoke_rest_api_params(ENVIRONMENT_NAME))
    except ClientError as exc:
        status = exc.response.get("RestApiStatusCode")
        if exc.response["Error"]["Code"] == "RestApiClientException" and status == CONFLICT:
            logger.info("DAG run exists already: nothing to do")
            return {"dagRunId": request.run_id, "created": False}
        if exc.response["Error"]["Code"] in ("RestApiClientException", "RestApiServerException"):
            raise DagRunNotCreated(
                f"Airflow answered {status} for {request.run_id}: {exc.response.get('RestApiResponse')}"
            ) from exc
        raise
    logger.info("DAG run created", extra={"state": (response.get("RestApiResponse") or {}).get("state")})
    return {"dagRunId": request.run_id, "created": True}
