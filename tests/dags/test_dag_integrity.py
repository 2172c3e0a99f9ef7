"""DAG integrity over the whole `dags/` folder: imports, the seed's structure, scheduling, retries, parsing."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from unittest import mock

import pytest

from localrun.airflow_env import DAGS

SEED_EDGES = {
    ("extract_transactions", "transform_data"),
    ("extract_market_data", "transform_data"),
    ("transform_data", "load_warehouse"),
    ("transform_data", "generate_reports"),
}
GLUE_TASKS = {"extract_transactions", "extract_market_data", "transform_data", "generate_reports"}


def test_every_file_in_dags_imports_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert list(dagbag.dags) == ["financial_etl_pipeline"]


def test_the_processor_skips_the_helper_package(dagbag):
    parsed = {Path(stat.file).name for stat in dagbag.dagbag_stats}
    assert parsed == {"financial_etl_pipeline.py"}


def test_the_seed_tasks_with_exactly_the_seed_dependencies(dag):
    edges = {(task.task_id, downstream) for task in dag.tasks for downstream in task.downstream_task_ids}
    assert {task.task_id for task in dag.tasks} == GLUE_TASKS | {"load_warehouse"}
    assert edges == SEED_EDGES


def test_daily_at_two_utc_without_catchup_one_run_at_a_time(dag):
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone) == "UTC"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout <= dt.timedelta(hours=24)


def test_every_task_retries_three_times_backing_off_from_two_minutes_to_at_most_thirty(dag):
    # the README's policy exactly: a mutant with 2 retries, a constant delay or a 6 h cap must fail here
    for task in dag.tasks:
        assert task.retries == 3, task.task_id
        assert task.retry_delay == dt.timedelta(minutes=2), task.task_id
        # a multiplier (airflow.sdk BaseOperator): 1 or True-as-1 would be a constant delay
        assert task.retry_exponential_backoff == 2.0, task.task_id
        assert task.max_retry_delay == dt.timedelta(minutes=30), task.task_id


def test_the_retry_policy_survives_serialization_as_the_scheduler_reads_it(dag):
    from airflow.serialization.serialized_objects import DagSerialization

    serialized = DagSerialization.from_dict(DagSerialization.to_dict(dag))
    for task in serialized.tasks:
        policy = (task.retries, task.retry_delay, task.retry_exponential_backoff, task.max_retry_delay)
        assert policy == (3, dt.timedelta(minutes=2), 2.0, dt.timedelta(minutes=30)), task.task_id
    assert serialized.dagrun_timeout == dt.timedelta(hours=23)


def test_a_run_times_out_after_23_hours_before_the_next_one_is_due(dag):
    assert dag.dagrun_timeout == dt.timedelta(hours=23)


def test_every_task_notifies_operations_when_it_fails(dag):
    from financial_etl.notifications import notify_failure

    for task in dag.tasks:
        callbacks = (
            task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
        )
        assert notify_failure in callbacks, task.task_id


def test_glue_tasks_may_run_twelve_hours_and_no_longer(dag):
    for task in dag.tasks:
        if task.task_id in GLUE_TASKS:
            assert task.execution_timeout == dt.timedelta(hours=12), task.task_id
            assert type(task).__name__ == "GlueJobOperator"
        else:
            assert dt.timedelta(0) < task.execution_timeout <= dt.timedelta(hours=12)


def test_documented_and_tagged(dag):
    assert "financial" in dag.doc_md.lower()
    assert "business_date" in dag.doc_md
    assert {"finance", "etl"} <= set(dag.tags)


def test_parsing_reads_no_variable_and_no_configuration():
    from airflow.dag_processing.dagbag import DagBag

    def forbidden(*args, **kwargs):
        raise AssertionError("read while parsing")

    with (
        mock.patch("airflow.sdk.Variable.get", forbidden),
        mock.patch("financial_etl.config.load_config", forbidden),
        mock.patch("financial_etl.macros.load_config", forbidden),
    ):
        bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    assert "financial_etl_pipeline" in bag.dags


@pytest.mark.parametrize(
    "pattern",
    [
        r"schedule_interval",
        r"airflow\.operators\.python_operator",
        r"from airflow import DAG",
        r"from airflow\.models import",
    ],
)
def test_only_airflow_3_apis(pattern):
    for path in DAGS.rglob("*.py"):
        assert not re.search(pattern, path.read_text()), f"{path}: {pattern}"


def test_glue_arguments_are_locations_resolved_at_run_time(dag):
    transform = dag.get_task("transform_data")
    assert set(transform.script_args) == {
        "--business_date",
        "--raw_transactions",
        "--raw_market_data",
        "--curated_path",
        "--quarantine_path",
        "--reconciliation_path",
    }
    assert all("{{" in value for value in transform.script_args.values())
    assert "{{" in transform.job_name
