"""
### Financial ETL pipeline

The day's transactions and FX rates, from the landing bucket to the warehouse and the regulatory reports:

```
[extract_transactions, extract_market_data] >> transform_data >> [load_warehouse, generate_reports]
```

* **Schedule**: 02:00 UTC for yesterday's business date; or on demand with `{"business_date": "YYYY-MM-DD"}`.
* **Engines**: the Glue jobs in `jobs/` do the data work; `load_warehouse` runs one Redshift Data API
  transaction (COPY to staging, delete and insert the date) and checks the count against the reconciliation.
* **Re-runs**: every task overwrites its partition for the business date, so clearing a failed task and
  running on from there ends as an uninterrupted run would.
* **Configuration**: the `[financial_etl]` Airflow configuration section, read at run time
  (`financial_etl/config.py`).
* **Failures** are published to the operations topic.
"""

from __future__ import annotations

import datetime as dt

from airflow.providers.amazon.aws.operators.glue import GlueJobOperator
from airflow.sdk import DAG, task
from financial_etl.macros import MACROS
from financial_etl.notifications import notify_failure

DAG_ID = "financial_etl_pipeline"
# Glue jobs of a 5-10 TB day may run for hours: a task gives up at 12 h, a run before the next one starts.
TASK_TIMEOUT = dt.timedelta(hours=12)
RUN_TIMEOUT = dt.timedelta(hours=23)
# Templates, rendered when a task runs: the Variable is never read while the file is parsed.
RUN = "dag_run, data_interval_end"
BUSINESS_DATE = f"{{{{ business_date({RUN}) }}}}"


def location(name: str) -> str:
    return f"{{{{ etl_location('{name}', {RUN}) }}}}"


def glue_job(task_id: str, **arguments: str) -> GlueJobOperator:
    """A task that runs the Glue job of the same name with `--name value` arguments and waits for it."""
    return GlueJobOperator(
        task_id=task_id,
        job_name=f"{{{{ etl_config().glue_jobs['{task_id}'] }}}}",
        # The job definitions ship jobs/common.py with --extra-py-files; a run adds only its own locations.
        script_args={f"--{name}": value for name, value in arguments.items()},
        wait_for_completion=True,
        # a retry attaches to a job run that is still going instead of starting a second one
        resume_glue_job_on_retry=True,
        verbose=False,
        execution_timeout=TASK_TIMEOUT,
    )


with DAG(
    dag_id=DAG_ID,
    description="Transactions and FX rates to the warehouse and the regulatory reports, one business date per run",
    schedule="0 2 * * *",
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=RUN_TIMEOUT,
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": dt.timedelta(minutes=2),
        # a multiplier since Airflow 3.1 (True survives only as a serialization shim for 2.0): 2, 4, 8 min, jittered
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(hours=1),
        "on_failure_callback": notify_failure,
    },
    user_defined_macros=MACROS,
    tags=["finance", "etl", "regulatory"],
    doc_md=__doc__,
) as dag:
    extract_transactions = glue_job(
        "extract_transactions",
        landing_path=location("landing_transactions"),
        raw_path=location("raw_transactions"),
    )
    extract_market_data = glue_job(
        "extract_market_data",
        landing_path=location("landing_market_data"),
        raw_path=location("raw_market_data"),
    )
    transform_data = glue_job(
        "transform_data",
        business_date=BUSINESS_DATE,
        raw_transactions=location("raw_transactions"),
        raw_market_data=location("raw_market_data"),
        curated_path=location("curated"),
        quarantine_path=location("quarantine"),
        reconciliation_path=location("reconciliation"),
    )

    @task(task_id="load_warehouse", execution_timeout=dt.timedelta(hours=4))
    def load_warehouse(dag_run=None, data_interval_end=None) -> dict:
        """COPY the curated partition and replace the business date in one transaction; verify the count."""
        from financial_etl.config import load_config
        from financial_etl.dates import business_date
        from financial_etl.warehouse import load_warehouse as load

        return load(load_config(), business_date(dag_run, data_interval_end))

    generate_reports = glue_job(
        "generate_reports",
        business_date=BUSINESS_DATE,
        curated_path=location("curated"),
        reports_path=location("reports"),
    )

    [extract_transactions, extract_market_data] >> transform_data >> [load_warehouse(), generate_reports]
