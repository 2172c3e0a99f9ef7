"""Which DAG run a landed manifest asks for, and the Airflow 3 REST request that creates it (no AWS here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any


class MalformedEvent(ValueError):
    """The event is not an S3 `Object Created` of a manifest `<prefix>business_date=YYYY-MM-DD/<name>`."""


@dataclass(frozen=True)
class DagRunRequest:
    """One DAG run of `dag_id` for `business_date`; its run id is derived from the date, so it is unique."""

    dag_id: str
    business_date: date

    @property
    def run_id(self) -> str:
        return f"manifest__{self.business_date.isoformat()}"

    def invoke_rest_api_params(self, environment_name: str) -> dict[str, Any]:
        """Parameters of MWAA InvokeRestApi: POST /dags/{dag_id}/dagRuns with the Airflow 3 body."""
        return {
            "Name": environment_name,
            "Method": "POST",
            "Path": f"/dags/{self.dag_id}/dagRuns",
            "Body": {
                "dag_run_id": self.run_id,
                # Airflow 3 requires the field; null makes the run independent of the schedule's intervals.
                "logical_date": None,
                "conf": {"business_date": self.business_date.isoformat()},
                "note": "started by the landing manifest",
            },
        }


def business_date_of(event: Any, *, prefix: str, name: str) -> date:
    """The business date in the manifest key of an EventBridge S3 event; MalformedEvent otherwise."""
    if not isinstance(event, dict) or event.get("detail-type") != "Object Created":
        raise MalformedEvent("not an S3 Object Created event")
    detail = event.get("detail")
    key = detail.get("object", {}).get("key") if isinstance(detail, dict) else None
    if not isinstance(key, str):
        raise MalformedEvent("the event has no detail.object.key")
    match = re.fullmatch(re.escape(prefix) + r"business_date=(\d{4}-\d{2}-\d{2})/" + re.escape(name), key)
    if not match:
        raise MalformedEvent(f"{key!r} is not a manifest {prefix}business_date=YYYY-MM-DD/{name}")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise MalformedEvent(f"{key!r}: {match.group(1)} is not a calendar date") from None
