"""Template macros of the DAG: resolved when a task renders its fields, so the Variable is read at run time."""

from __future__ import annotations

from typing import Any

from .config import EtlConfig, load_config
from .dates import business_date
from .locations import Locations


def etl_config() -> EtlConfig:
    return load_config()


def etl_location(name: str, dag_run: Any, data_interval_end: Any = None) -> str:
    """One of Locations' fields for the run's business date, e.g. `etl_location('curated', dag_run, ...)`."""
    return getattr(Locations.of(load_config(), business_date(dag_run, data_interval_end)), name)


MACROS = {"business_date": business_date, "etl_config": etl_config, "etl_location": etl_location}
