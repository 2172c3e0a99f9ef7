"""The trigger function: which MWAA InvokeRestApi request a landed manifest produces, and what it does with
the answer (moto has no MWAA, so botocore's Stubber stands in for the service)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from datetime import date
from types import ModuleType
from typing import Any

import pytest
from botocore.stub import Stubber

from localrun.emulator import LocalContext
from stacks.config import AirflowConfig
from tests.conftest import ROOT

ENVIRONMENT = "financial-etl-test"
DAG_ID = "financial_etl_pipeline"
LANDING_BUCKET = "landing-bucket"


def manifest_event(key: str, *, detail_type: str = "Object Created") -> dict[str, Any]:
    """An EventBridge event as S3 sends it for an object created in the landing bucket."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-24T02:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{LANDING_BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": LANDING_BUCKET},
            "object": {"key": key, "size": 0, "etag": "d41d8cd98f00b204e9800998ecf8427e"},
            "reason": "PutObject",
        },
    }


@pytest.fixture
def trigger(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The function's module, imported as Lambda would with the stack's environment variables."""
    for name, value in {
        "MWAA_ENVIRONMENT_NAME": ENVIRONMENT,
        "DAG_ID": DAG_ID,
        "MANIFEST_PREFIX": "transactions/",
        "MANIFEST_NAME": "_SUCCESS",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("trigger_etl_dag.handler", None)
    module = importlib.import_module("trigger_etl_dag.handler")
    yield module
    sys.modules.pop("trigger_etl_dag.handler", None)


@pytest.fixture
def mwaa(trigger: ModuleType) -> Iterator[Stubber]:
    with Stubber(trigger.mwaa) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def context() -> LocalContext:
    return LocalContext(function_name="trigger_etl_dag", memory_limit_in_mb=256, timeout_seconds=30)


def expected_request(business_date: str) -> dict[str, Any]:
    return {
        "Name": ENVIRONMENT,
        "Method": "POST",
        "Path": f"/dags/{DAG_ID}/dagRuns",
        "Body": {
            "dag_run_id": f"manifest__{business_date}",
            "logical_date": None,
            "conf": {"business_date": business_date},
            "note": "started by the landing manifest",
        },
    }


def test_manifest_creates_the_dag_run_of_its_business_date(trigger: ModuleType, mwaa: Stubber):
    # given
    mwaa.add_response(
        "invoke_rest_api",
        {"RestApiStatusCode": 200, "RestApiResponse": {"dag_run_id": "manifest__2026-11-23", "state": "queued"}},
        expected_request("2026-11-23"),
    )

    # when
    result = trigger.lambda_handler(manifest_event("transactions/business_date=2026-11-23/_SUCCESS"), context())

    # then
    assert result == {"dagRunId": "manifest__2026-11-23", "created": True}


def test_a_second_manifest_for_the_same_date_is_a_no_op(trigger: ModuleType, mwaa: Stubber):
    # given Airflow already holds the run (it answers 409 Conflict, which MWAA reports as a client error)
    mwaa.add_client_error(
        "invoke_rest_api",
        service_error_code="RestApiClientException",
        service_message="Conflict",
        http_status_code=400,
        modeled_fields={
            "RestApiStatusCode": 409,
            "RestApiResponse": {"detail": "DAG Run with id manifest__2026-11-23 already exists"},
        },
        expected_params=expected_request("2026-11-23"),
    )

    # when
    result = trigger.lambda_handler(manifest_event("transactions/business_date=2026-11-23/_SUCCESS"), context())

    # then
    assert result == {"dagRunId": "manifest__2026-11-23", "created": False}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (manifest_event("transactions/business_date=2026-11-23/part-0001.csv"), "is not a manifest"),
        (manifest_event("transactions/business_date=2026-02-30/_SUCCESS"), "is not a calendar date"),
        (manifest_event("market_data/business_date=2026-11-23/_SUCCESS"), "is not a manifest"),
        (manifest_event("transactions/business_date=2026-11-23/_SUCCESS", detail_type="Object Deleted"), "not an S3"),
        ({"detail-type": "Object Created", "detail": {"object": {}}}, "has no detail.object.key"),
        ("not an event", "not an S3"),
    ],
)
def test_a_malformed_event_fails_without_calling_mwaa(trigger: ModuleType, mwaa: Stubber, event: Any, reason: str):
    # when / then (no response is stubbed: any MWAA call would fail the test)
    with pytest.raises(trigger.MalformedEvent, match=reason):
        trigger.lambda_handler(event, context())


@pytest.mark.parametrize(("code", "status"), [("RestApiClientException", 404), ("RestApiServerException", 503)])
def test_an_airflow_refusal_fails_the_invocation_so_it_is_retried_then_dead_lettered(
    trigger: ModuleType, mwaa: Stubber, code: str, status: int
):
    # given
    mwaa.add_client_error(
        "invoke_rest_api",
        service_error_code=code,
        service_message="refused",
        http_status_code=400 if status < 500 else 500,
        modeled_fields={"RestApiStatusCode": status, "RestApiResponse": {"detail": "DAG not found"}},
    )

    # when / then
    with pytest.raises(trigger.DagRunNotCreated, match=f"Airflow answered {status} for manifest__2026-11-23"):
        trigger.lambda_handler(manifest_event("transactions/business_date=2026-11-23/_SUCCESS"), context())


def test_an_mwaa_api_error_propagates_unchanged(trigger: ModuleType, mwaa: Stubber):
    # given
    mwaa.add_client_error(
        "invoke_rest_api",
        service_error_code="AccessDeniedException",
        service_message="not allowed",
        http_status_code=403,
    )

    # when / then
    with pytest.raises(trigger.ClientError, match="AccessDeniedException"):
        trigger.lambda_handler(manifest_event("transactions/business_date=2026-11-23/_SUCCESS"), context())


def test_the_run_the_trigger_asks_for_is_the_dag_of_this_repository_with_a_business_date_it_accepts(
    trigger: ModuleType, monkeypatch: pytest.MonkeyPatch
):
    # given the DAG's own modules, as Airflow imports them from the dags folder
    dags = ROOT / "dags"
    monkeypatch.syspath_prepend(str(dags))
    from financial_etl.dates import parse_business_date

    request = trigger.DagRunRequest(dag_id=AirflowConfig.dag_id, business_date=date(2026, 11, 23))

    # when
    body = request.invoke_rest_api_params(ENVIRONMENT)["Body"]

    # then
    assert f'DAG_ID = "{AirflowConfig.dag_id}"' in (dags / "financial_etl_pipeline.py").read_text()
    assert parse_business_date(body["conf"]["business_date"]) == "2026-11-23"
    assert len(request.invoke_rest_api_params(ENVIRONMENT)["Path"]) <= 64  # InvokeRestApi's limit
