"""DAG tests: Airflow pointed at a private home and `dags/` before it is first imported."""

from __future__ import annotations

from typing import Any

import pytest

from localrun.airflow_env import DAGS, prepare_airflow

prepare_airflow()


@pytest.fixture(scope="session")
def dagbag() -> Any:
    """Every file of `dags/` parsed as the DAG processor does (.airflowignore applied)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="session")
def dag(dagbag: Any) -> Any:
    return dagbag.dags["financial_etl_pipeline"]
