"""The DAG's runtime helpers: business date, configuration, locations, warehouse SQL, failure message."""

from __future__ import annotations

import datetime as dt
import json
import os
from types import SimpleNamespace
from unittest import mock

import pytest
from financial_etl.config import KEYS, REQUIRED_KEYS, ConfigError, EtlConfig, RedshiftConfig, load_config
from financial_etl.dates import business_date
from financial_etl.locations import Locations
from financial_etl.notifications import failure_message
from financial_etl.warehouse import LoadMismatchError, count_statement, load_statements, load_warehouse

from localrun.redshift import StatementError, parse_redshift

SETTINGS = {key: f"value-{key}" for key in REQUIRED_KEYS} | {"redshift_copy_role_arn": "arn:aws:iam::1:role/copy"}


def test_business_date_from_conf_wins_over_the_interval():
    run = SimpleNamespace(conf={"business_date": "2026-02-28"})
    assert business_date(run, dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)) == "2026-02-28"


def test_scheduled_run_processes_the_day_before_the_interval_end_in_utc():
    run = SimpleNamespace(conf={})
    end = dt.datetime(2026, 11, 24, 2, tzinfo=dt.UTC)
    assert business_date(run, end) == "2026-11-23"
    # 01:00 in UTC+3 is still the 23rd 22:00 UTC: the day before is the 22nd
    assert business_date(run, dt.datetime(2026, 11, 24, 1, tzinfo=dt.timezone(dt.timedelta(hours=3)))) == "2026-11-22"


@pytest.mark.parametrize("bad", ["2026-13-01", "2026-11-24; DROP TABLE x", "24/11/2026", 20261124])
def test_a_malformed_business_date_is_refused(bad):
    with pytest.raises(ValueError, match=r"business_date|month"):
        business_date(SimpleNamespace(conf={"business_date": bad}))


def test_config_names_the_missing_key():
    with pytest.raises(ConfigError, match=r"financial_etl\.reports_bucket"):
        EtlConfig.from_mapping({k: v for k, v in SETTINGS.items() if k != "reports_bucket"})


def test_config_refuses_a_schema_that_is_not_an_identifier():
    with pytest.raises(ConfigError, match="redshift_schema"):
        EtlConfig.from_mapping(SETTINGS | {"redshift_schema": "x; drop"})


def test_config_comes_from_the_airflow_section_and_the_variable_overrides_it():
    env = {f"AIRFLOW__FINANCIAL_ETL__{key.upper()}": value for key, value in SETTINGS.items()}
    env["AIRFLOW_VAR_FINANCIAL_ETL_CONFIG"] = json.dumps({"reports_bucket": "overridden"})
    with mock.patch.dict(os.environ, env):
        config = load_config()
    assert config.landing_bucket == "value-landing_bucket"
    assert config.reports_bucket == "overridden"
    assert config.glue_jobs["transform_data"] == "value-glue_job_transform_data"
    assert set(KEYS) >= set(SETTINGS)


def test_every_location_is_a_partition_of_the_business_date():
    locations = Locations.of(EtlConfig.from_mapping(SETTINGS), "2026-11-23")
    for name, uri in vars(locations).items():
        assert uri.startswith("s3://"), name
        if name != "reports":
            assert "business_date=2026-11-23" in uri, name


def test_the_load_sql_parses_in_the_redshift_dialect():
    redshift = RedshiftConfig("wg", "db", "arn:aws:iam::1:role/copy")
    statements = [*load_statements(redshift, "s3://b/transactions/business_date=2026-11-23/", "2026-11-23")]
    statements.append(count_statement(redshift, "2026-11-23"))
    kinds = [type(parse_redshift(sql)).__name__ for sql in statements]
    assert kinds == ["Create", "Create", "Create", "Copy", "Delete", "Insert", "Select"]


def test_the_load_replaces_the_date_inside_one_batch():
    statements = load_statements(RedshiftConfig("wg", "db", "arn:r"), "s3://b/p/", "2026-11-23")
    delete = next(i for i, sql in enumerate(statements) if sql.startswith("DELETE"))
    insert = next(i for i, sql in enumerate(statements) if sql.startswith("INSERT"))
    copy = next(i for i, sql in enumerate(statements) if sql.startswith("COPY"))
    assert copy < delete < insert
    assert "business_date = '2026-11-23'" in statements[delete]


def test_sql_that_is_not_redshift_is_refused():
    with pytest.raises(StatementError):
        parse_redshift("SELEC COUNT(*) FROM finance.fact_transactions")
    with pytest.raises(StatementError):
        parse_redshift("SELECT 1; SELECT 2")


def test_failure_message_names_the_task_and_the_business_date():
    ti = SimpleNamespace(dag_id="financial_etl_pipeline", task_id="transform_data", try_number=2, log_url="http://l")
    run = SimpleNamespace(run_id="manual__1", conf={"business_date": "2026-11-23"})
    message = failure_message({"ti": ti, "dag_run": run, "exception": RuntimeError("boom")})
    assert message["task_id"] == "transform_data"
    assert message["business_date"] == "2026-11-23"
    assert message["exception"] == "boom"


def fake_warehouse(rows_in_fact: int, curated_rows: int):
    """S3 returns a reconciliation record, the Data API a count: the two hooks load_warehouse uses."""
    s3 = mock.MagicMock()
    s3.return_value.read_key.return_value = json.dumps({"curated_rows": curated_rows})
    redshift = mock.MagicMock()
    redshift.return_value.execute_query.return_value = SimpleNamespace(statement_id="s-1")
    redshift.return_value.conn.get_statement_result.return_value = {"Records": [[{"longValue": rows_in_fact}]]}
    return (
        mock.patch("airflow.providers.amazon.aws.hooks.s3.S3Hook", s3),
        mock.patch("airflow.providers.amazon.aws.hooks.redshift_data.RedshiftDataHook", redshift),
        redshift,
    )


def test_the_load_runs_one_batch_and_passes_when_the_count_matches():
    s3_patch, redshift_patch, redshift = fake_warehouse(rows_in_fact=5, curated_rows=5)
    with s3_patch, redshift_patch:
        result = load_warehouse(EtlConfig.from_mapping(SETTINGS), "2026-11-23")
    assert result == {"business_date": "2026-11-23", "expected_rows": 5, "warehouse_rows": 5}
    load_call, count_call = redshift.return_value.execute_query.call_args_list
    assert isinstance(load_call.kwargs["sql"], list)
    assert count_call.kwargs["sql"].startswith("SELECT COUNT(*)")


def test_the_load_fails_when_the_warehouse_count_differs_from_the_reconciliation():
    s3_patch, redshift_patch, _ = fake_warehouse(rows_in_fact=10, curated_rows=5)
    with s3_patch, redshift_patch, pytest.raises(LoadMismatchError, match="holds 10 rows"):
        load_warehouse(EtlConfig.from_mapping(SETTINGS), "2026-11-23")
