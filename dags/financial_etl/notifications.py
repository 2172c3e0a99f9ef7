"""Failure callback: tell the operations topic which task of which run failed, and where its log is."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger(__name__)


def failure_message(context: dict[str, Any]) -> dict[str, Any]:
    """The SNS message body for a failed task instance."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    return {
        "event": "task_failed",
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None),
        "try_number": getattr(ti, "try_number", None),
        "business_date": (getattr(dag_run, "conf", None) or {}).get("business_date"),
        "exception": str(context.get("exception")),
        "log_url": getattr(ti, "log_url", None),
    }


def notify_failure(context: dict[str, Any]) -> None:
    """on_failure_callback: publish to the operations topic; a failing publish is logged, never raised."""
    try:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        from .config import load_config

        message = failure_message(context)
        SnsHook(aws_conn_id="aws_default").publish_to_target(
            target_arn=load_config().operations_topic_arn,
            subject=f"financial_etl_pipeline: {message['task_id']} failed"[:100],
            message=json.dumps(message, default=str),
        )
    except Exception:
        log.exception("could not publish the failure notification")
