"""Airflow for offline runs: a throw-away AIRFLOW_HOME with a SQLite metadata database, `dags/` as the DAG
folder (and on `sys.path`, as MWAA puts it), set up once per process before Airflow is first imported."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .emulator import ROOT

DAGS = ROOT / "dags"
DAG_FILE = DAGS / "financial_etl_pipeline.py"
DAG_ID = "financial_etl_pipeline"
_state: dict[str, object] = {}


def prepare_airflow() -> Path:
    """Point Airflow at a private home and `dags/`; returns the home. Idempotent."""
    if "home" in _state:
        return _state["home"]  # type: ignore[return-value]
    home = Path(tempfile.mkdtemp(prefix="localrun-airflow-"))
    atexit.register(shutil.rmtree, home, True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("LOCALRUN_AIRFLOW_LOG_LEVEL", "ERROR"),
            "AIRFLOW__CORE__ALLOWED_DESERIALIZATION_CLASSES": "airflow.*",
        }
    )
    if str(DAGS) not in sys.path:
        sys.path.insert(0, str(DAGS))
    _state["home"] = home
    return home


def migrate_database() -> None:
    """Create the metadata database (once per process: about ten seconds)."""
    prepare_airflow()
    if "migrated" not in _state:
        from airflow.utils.db import initdb

        initdb()
        _state["migrated"] = True


def load_dag():
    """The pipeline as the DAG processor sees it, parsed from `dags/` (import errors raise)."""
    prepare_airflow()
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    if bag.import_errors:
        raise RuntimeError(f"DAG import errors: {bag.import_errors}")
    return bag.dags[DAG_ID]
