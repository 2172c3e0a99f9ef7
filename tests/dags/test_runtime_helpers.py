"""The DAG's run-time helpers, one behaviour each: the business date, the template macros, the failure
notification (found untested by `python -m tests.mutation --target etl`)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from types import SimpleNamespace
from typing import ClassVar
from unittest import mock

import pytest
from financial_etl import macros
from financial_etl.config import REQUIRED_KEYS
from financial_etl.dates import business_date, parse_business_date
from financial_etl.notifications import failure_message, notify_failure

SETTINGS = {key: f"value-{key}" for key in REQUIRED_KEYS} | {
    "redshift_copy_role_arn": "arn:aws:iam::1:role/copy",
    "operations_topic_arn": "arn:aws:sns:us-east-1:123456789012:ops",
}
SECTION = {f"AIRFLOW__FINANCIAL_ETL__{key.upper()}": value for key, value in SETTINGS.items()}


# ---- business date -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-1-01", " 2026-01-01", "2026-01-01\n", None, 20260101])
def test_a_business_date_that_is_not_a_real_yyyy_mm_dd_is_refused(bad):
    with pytest.raises(ValueError, match=r"business_date must be YYYY-MM-DD|out of range"):
        parse_business_date(bad)


def test_a_refused_business_date_is_named_as_sent():
    with pytest.raises(ValueError, match=r"^business_date must be YYYY-MM-DD, got '24/11/2026'$"):
        parse_business_date("24/11/2026")


def test_a_valid_business_date_is_returned_as_sent():
    assert parse_business_date("2024-02-29") == "2024-02-29"


def test_a_conf_business_date_of_null_falls_back_to_the_interval():
    run = SimpleNamespace(conf={"business_date": None})
    assert business_date(run, dt.datetime(2026, 3, 1, 2, tzinfo=dt.UTC)) == "2026-02-28"


def test_a_run_without_conf_or_interval_takes_the_day_before_it_was_due():
    run = SimpleNamespace(conf=None, run_after=dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC))
    assert business_date(run) == "2025-12-31"


def test_a_run_without_conf_interval_or_due_time_is_refused_saying_so():
    with pytest.raises(ValueError, match=r"^no business_date in conf and no data interval to derive it from$"):
        business_date(SimpleNamespace(conf={}, run_after=None))


def test_the_interval_wins_over_the_due_time():
    run = SimpleNamespace(conf={}, run_after=dt.datetime(2026, 6, 10, 2, tzinfo=dt.UTC))
    assert business_date(run, dt.datetime(2026, 6, 1, 2, tzinfo=dt.UTC)) == "2026-05-31"


# ---- macros -------------------------------------------------------------------------------------------


def test_the_dag_templates_see_three_macros_each_the_helper_it_names():
    assert {
        "business_date": business_date,
        "etl_config": macros.etl_config,
        "etl_location": macros.etl_location,
    } == macros.MACROS


def test_etl_config_reads_the_airflow_section_at_run_time():
    with mock.patch.dict(os.environ, SECTION):
        assert macros.etl_config().landing_bucket == "value-landing_bucket"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("landing_transactions", "s3://value-landing_bucket/transactions/business_date=2026-11-23/"),
        ("curated", "s3://value-curated_bucket/transactions/business_date=2026-11-23/"),
        ("reports", "s3://value-reports_bucket/reports/"),
    ],
)
def test_etl_location_is_the_named_location_of_the_runs_business_date(name, expected):
    run = SimpleNamespace(conf={})
    with mock.patch.dict(os.environ, SECTION):
        assert macros.etl_location(name, run, dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)) == expected


# ---- the failure notification -------------------------------------------------------------------------


def test_the_failure_message_carries_every_field_operators_need():
    ti = SimpleNamespace(
        dag_id="financial_etl_pipeline", task_id="load_warehouse", try_number=3, log_url="http://l", run_id="x"
    )
    run = SimpleNamespace(run_id="manifest__2026-11-23", conf={"business_date": "2026-11-23"})
    assert failure_message({"task_instance": ti, "dag_run": run, "exception": ValueError("count differs")}) == {
        "event": "task_failed",
        "dag_id": "financial_etl_pipeline",
        "task_id": "load_warehouse",
        "run_id": "manifest__2026-11-23",
        "try_number": 3,
        "business_date": "2026-11-23",
        "exception": "count differs",
        "log_url": "http://l",
    }


def test_the_failure_message_of_a_run_unknown_takes_the_task_instances_run_id_and_no_date():
    ti = SimpleNamespace(dag_id="d", task_id="t", try_number=1, log_url=None, run_id="scheduled__1")
    message = failure_message({"ti": ti, "dag_run": SimpleNamespace(run_id=None, conf=None)})
    assert (message["run_id"], message["business_date"], message["exception"]) == ("scheduled__1", None, "None")


class Published:
    """SnsHook stand-in: records what it was asked to publish."""

    calls: ClassVar[list[dict]] = []

    def __init__(self, aws_conn_id):
        self.calls.append({"conn": aws_conn_id})

    def publish_to_target(self, **kwargs):
        self.calls.append(kwargs)


def test_a_failure_is_published_to_the_operations_topic_with_the_message_as_json():
    Published.calls = []
    ti = SimpleNamespace(dag_id="d", task_id="t" * 120, try_number=1, log_url=None, run_id="r")
    context = {"ti": ti, "dag_run": SimpleNamespace(run_id="r", conf={}), "exception": RuntimeError("boom")}
    with mock.patch.dict(os.environ, SECTION), mock.patch("airflow.providers.amazon.aws.hooks.sns.SnsHook", Published):
        notify_failure(context)
    connection, published = Published.calls
    assert connection == {"conn": "aws_default"}
    assert published["target_arn"] == SETTINGS["operations_topic_arn"]
    assert published["subject"] == f"financial_etl_pipeline: {'t' * 120} failed"[:100]
    assert len(published["subject"]) == 100
    assert json.loads(published["message"]) == failure_message(context)


def test_a_publish_that_fails_is_logged_and_never_fails_the_callback(caplog):
    class Broken(Published):
        def publish_to_target(self, **kwargs):
            raise RuntimeError("SNS is down")

    ti = SimpleNamespace(dag_id="d", task_id="t", try_number=1, log_url=None, run_id="r")
    with (
        mock.patch.dict(os.environ, SECTION),
        mock.patch("airflow.providers.amazon.aws.hooks.sns.SnsHook", Broken),
        caplog.at_level(logging.ERROR, logger="financial_etl.notifications"),
    ):
        notify_failure({"ti": ti, "dag_run": None})
    assert "could not publish the failure notification" in caplog.text
    assert "SNS is down" in caplog.text


# ---- the warehouse load -------------------------------------------------------------------------------


def _not_null_columns(statement: str) -> set[str]:
    """The columns a CREATE TABLE statement declares NOT NULL, read by sqlglot in Redshift's dialect."""
    import sqlglot
    from sqlglot import exp

    created = sqlglot.parse_one(statement, read="redshift")
    return {
        column.name
        for column in created.find_all(exp.ColumnDef)
        if any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in column.constraints)
    }


def test_the_fact_table_refuses_nulls_where_redshift_must_and_the_staging_table_takes_any_row():
    from financial_etl.config import EtlConfig
    from financial_etl.warehouse import NOT_NULL, load_statements

    statements = load_statements(EtlConfig.from_mapping(SETTINGS).redshift, "s3://c/t/", "2026-11-23")
    fact = next(s for s in statements if s.startswith("CREATE TABLE IF NOT EXISTS"))
    staging = next(s for s in statements if s.startswith("CREATE TEMP TABLE"))
    assert _not_null_columns(fact) == NOT_NULL | {"business_date"}
    assert _not_null_columns(staging) == set()


class Hooks:
    """S3Hook and RedshiftDataHook stand-ins that record the connection each was made with."""

    def __init__(self, warehouse_rows: int):
        self.connections: list[tuple[str, str | None]] = []
        self.rows = warehouse_rows
        hooks = self

        class S3:
            def __init__(self, aws_conn_id=None):
                hooks.connections.append(("s3", aws_conn_id))

            def read_key(self, key, bucket):
                return json.dumps({"curated_rows": 7})

        class Data:
            def __init__(self, aws_conn_id=None):
                hooks.connections.append(("redshift-data", aws_conn_id))
                self.conn = SimpleNamespace(get_statement_result=lambda Id: {"Records": [[{"longValue": hooks.rows}]]})

            def execute_query(self, sql, **kwargs):
                return SimpleNamespace(statement_id="s-1")

        self.s3, self.data = S3, Data


def test_the_load_reads_the_reconciliation_and_loads_through_the_dags_aws_connection():
    from financial_etl.config import EtlConfig
    from financial_etl.warehouse import load_warehouse

    hooks = Hooks(warehouse_rows=7)
    with (
        mock.patch("airflow.providers.amazon.aws.hooks.s3.S3Hook", hooks.s3),
        mock.patch("airflow.providers.amazon.aws.hooks.redshift_data.RedshiftDataHook", hooks.data),
    ):
        loaded = load_warehouse(EtlConfig.from_mapping(SETTINGS), "2026-11-23")
    assert hooks.connections == [("s3", "aws_default"), ("redshift-data", "aws_default")]
    assert loaded == {"business_date": "2026-11-23", "expected_rows": 7, "warehouse_rows": 7}


def test_a_failure_context_without_task_instance_or_run_still_gives_a_message():
    assert failure_message({}) == {
        "event": "task_failed",
        "dag_id": None,
        "task_id": None,
        "run_id": None,
        "try_number": None,
        "business_date": None,
        "exception": "None",
        "log_url": None,
    }


def test_the_business_date_of_a_run_object_without_conf_or_due_time_comes_from_the_interval():
    assert business_date(object(), dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)) == "2026-11-23"


def test_etl_location_of_an_event_triggered_run_is_at_its_conf_business_date():
    run = SimpleNamespace(conf={"business_date": "2026-01-15"})
    with mock.patch.dict(os.environ, SECTION):
        location = macros.etl_location("quarantine", run, dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC))
    assert location == "s3://value-curated_bucket/quarantine/business_date=2026-01-15/"
