"""The DAG's runtime helpers: business date, configuration, locations, warehouse SQL, failure message."""

from __future__ import annotations

import datetime as dt
import json
import os
from types import SimpleNamespace
from unittest import mock

import pytest
from financial_etl.config import GLUE_TASKS, REQUIRED_KEYS, ConfigError, EtlConfig, RedshiftConfig, load_config
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
    # every key from the section, each where it belongs; the Variable's one key overrides
    assert config == EtlConfig(
        landing_bucket="value-landing_bucket",
        raw_bucket="value-raw_bucket",
        curated_bucket="value-curated_bucket",
        reports_bucket="overridden",
        glue_jobs={task: f"value-glue_job_{task}" for task in GLUE_TASKS},
        redshift=RedshiftConfig(
            workgroup_name="value-redshift_workgroup",
            database="value-redshift_database",
            copy_role_arn="arn:aws:iam::1:role/copy",
            schema="finance",
            secret_arn=None,
        ),
        operations_topic_arn="value-operations_topic_arn",
    )


def test_the_optional_keys_come_from_the_section_too():
    env = {f"AIRFLOW__FINANCIAL_ETL__{key.upper()}": value for key, value in SETTINGS.items()}
    env |= {"AIRFLOW__FINANCIAL_ETL__REDSHIFT_SCHEMA": "ledger", "AIRFLOW__FINANCIAL_ETL__REDSHIFT_SECRET_ARN": "arn:s"}
    with mock.patch.dict(os.environ, env):
        redshift = load_config().redshift
    assert (redshift.schema, redshift.secret_arn) == ("ledger", "arn:s")


def test_a_variable_with_a_key_the_section_does_not_have_is_refused():
    env = {f"AIRFLOW__FINANCIAL_ETL__{key.upper()}": value for key, value in SETTINGS.items()}
    env["AIRFLOW_VAR_FINANCIAL_ETL_CONFIG"] = json.dumps({"reports_bukcet": "typo"})
    with mock.patch.dict(os.environ, env), pytest.raises(ConfigError, match="unknown keys: reports_bukcet"):
        load_config()


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


DAY = "2026-11-23"


def curated_rows(folder, count: int):
    """`count` curated rows as Parquet, in the curated columns' order and types; returns the file."""
    import duckdb
    from financial_etl.warehouse import CURATED_COLUMNS

    values = {
        "transaction_id": "'t' || i",
        "account_id": "'a1'",
        "transaction_ts": f"TIMESTAMP '{DAY} 12:00:00'",
        "currency": "'USD'",
        "channel": "'CARD'",
        "counterparty": "NULL",
        "description": "NULL",
    }
    select = ", ".join(f"CAST({values.get(name, '1')} AS {kind}) AS {name}" for name, kind in CURATED_COLUMNS)
    path = folder / "part-00000.parquet"
    with duckdb.connect() as db:
        db.execute(f"COPY (SELECT {select} FROM range({count}) AS r(i)) TO '{path}' (FORMAT PARQUET)")  # noqa: S608 (test data)
    return path


class DataApiOnWarehouse:
    """RedshiftDataHook as load_warehouse uses it, executing on the local Redshift stand-in: the counts the load
    checks are the rows the statements really loaded, not numbers a mock was told to return."""

    def __init__(self, parquet):
        from localrun.redshift import Warehouse

        self.warehouse = Warehouse(lambda uri: [parquet] if uri == LOCATIONS.curated else [])
        self.calls: list[dict] = []
        self.results: dict[str, list] = {}
        self.conn = SimpleNamespace(get_statement_result=self.get_statement_result)

    def __call__(self, aws_conn_id=None):
        return self

    def execute_query(self, sql, **kwargs):
        self.calls.append({"sql": sql, **kwargs})
        results = self.warehouse.execute_batch(sql if isinstance(sql, list) else [sql])
        statement_id = f"s-{len(self.calls)}"
        self.results[statement_id] = results[-1].rows
        return SimpleNamespace(statement_id=statement_id)

    def get_statement_result(self, Id):  # the Data API names it Id
        return {"Records": [[{"longValue": value} for value in row] for row in self.results[Id]]}


CONFIG = EtlConfig.from_mapping(SETTINGS | {"redshift_secret_arn": "arn:secret", "redshift_schema": "ledger"})
LOCATIONS = Locations.of(CONFIG, DAY)


def load_with(data_api: DataApiOnWarehouse, reconciled_rows: int) -> dict:
    s3 = mock.MagicMock()
    s3.return_value.read_key.return_value = json.dumps({"curated_rows": reconciled_rows})
    with (
        mock.patch("airflow.providers.amazon.aws.hooks.s3.S3Hook", s3),
        mock.patch("airflow.providers.amazon.aws.hooks.redshift_data.RedshiftDataHook", data_api),
    ):
        result = load_warehouse(CONFIG, DAY)
    bucket, key = LOCATIONS.reconciliation[5:].split("/", 1)
    s3.return_value.read_key.assert_called_with(key, bucket)
    return result


def test_the_load_sends_one_batch_to_the_configured_warehouse_then_counts_the_date(tmp_path):
    # given: 7 curated rows, reconciled as 7
    data_api = DataApiOnWarehouse(curated_rows(tmp_path, 7))

    # when
    result = load_with(data_api, reconciled_rows=7)

    # then: the rows counted are the rows the batch loaded into the configured schema
    assert result == {"business_date": DAY, "expected_rows": 7, "warehouse_rows": 7}
    load_call, count_call = data_api.calls
    assert load_call["sql"] == load_statements(CONFIG.redshift, LOCATIONS.curated, DAY)
    assert count_call["sql"] == count_statement(CONFIG.redshift, DAY)
    target = {"database": "value-redshift_database", "workgroup_name": "value-redshift_workgroup"}
    for call in data_api.calls:
        assert {key: call[key] for key in ("database", "workgroup_name", "secret_arn")} == target | {
            "secret_arn": "arn:secret"
        }
    rows = data_api.warehouse.query(f"SELECT COUNT(*) FROM ledger.fact_transactions WHERE business_date = '{DAY}'")  # noqa: S608
    assert rows.rows == [(7,)]


def test_loading_the_date_again_replaces_its_rows(tmp_path):
    data_api = DataApiOnWarehouse(curated_rows(tmp_path, 3))
    load_with(data_api, reconciled_rows=3)
    assert load_with(data_api, reconciled_rows=3)["warehouse_rows"] == 3


def test_the_load_fails_when_the_warehouse_count_differs_from_the_reconciliation(tmp_path):
    # given: the reconciliation promises 5 rows, the curated partition holds 4
    data_api = DataApiOnWarehouse(curated_rows(tmp_path, 4))

    # then
    with pytest.raises(LoadMismatchError, match=f"{DAY}: the fact table holds 4 rows, the reconciliation 5"):
        load_with(data_api, reconciled_rows=5)
