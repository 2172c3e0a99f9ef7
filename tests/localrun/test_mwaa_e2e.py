"""The operator's day on the local MWAA (`python -m localrun mwaa`), end to end from the synthesized template:
start; upload a generated day, whose manifest starts `manifest__D` through the template's EventBridge rule and
the real trigger handler; a day with a broken FX file fails and notifies operations; the file is replaced, the
failed task cleared with its downstream through the REST API, and the run ends as an uninterrupted run does; a
restart keeps the history; stopping leaves no process behind.

A real browser (headless Chromium through chromedriver) logs in and sees the resumed run in the grid; it is
skipped where Debian's `chromium` and `chromium-driver` are not installed. Slow (two to three minutes on two
cores): marked `slow`, and part of `make test`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localrun.mwaa.upload import upload_day
from tests.localrun.mwaa_env import ROOT, MwaaProcess, generated_day, wait_for
from tests.localrun.webdriver import Browser, find_browser

pytestmark = pytest.mark.slow

DAY = "2026-11-23"
BROKEN_DAY = "2026-11-24"
BROKEN_RATES = b"currency,usd_rate\nEUR,abc\nGBP,1.2654300000\n"
TASKS = {"extract_transactions", "extract_market_data", "transform_data", "load_warehouse", "generate_reports"}
DOWNSTREAM = {"transform_data", "load_warehouse", "generate_reports"}
RUN_SECONDS = 300


@pytest.fixture(scope="module")
def mwaa(dev_assembly, tmp_path_factory):
    """One environment for the module's story, started from the session's synthesized assembly."""
    environment = MwaaProcess(tmp_path_factory.mktemp("mwaa") / "home", dev_assembly)
    environment.start()
    try:
        yield environment
    finally:
        if environment.process is not None:
            environment.stop()
        environment.kill()


@pytest.fixture(scope="module")
def first_day(mwaa: MwaaProcess):
    """A generated day uploaded with `python -m localrun upload`; its manifest run, awaited."""
    upload = subprocess.run(
        [sys.executable, "-m", "localrun", "upload", "--home", str(mwaa.home), "--date", DAY, "--generate", "120"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert upload.returncode == 0, upload.stderr
    run = mwaa.airflow.wait_for_run(f"manifest__{DAY}", RUN_SECONDS)
    return upload.stdout, run


def test_ready_is_printed_and_written_within_180_seconds(mwaa: MwaaProcess):
    assert mwaa.seconds_to_ready < 180
    assert json.loads((mwaa.home / "endpoints.json").read_text()) == mwaa.endpoints
    assert {
        "airflow_url",
        "aws_endpoint_url",
        "region",
        "username",
        "password",
        "landing_bucket",
        "curated_bucket",
        "reports_bucket",
    } <= set(mwaa.endpoints)
    assert mwaa.endpoints["airflow_url"].startswith("http://127.0.0.1:")
    assert mwaa.endpoints["aws_endpoint_url"].startswith("http://127.0.0.1:")


def test_the_environment_is_configured_from_the_template(mwaa: MwaaProcess):
    # the DAG's [financial_etl] section comes from AirflowConfigurationOptions: the template's resource names
    config = mwaa.airflow.get("/api/v2/dags/financial_etl_pipeline/details")
    assert config["is_paused"] is False
    assert mwaa.endpoints["landing_bucket"].startswith("dataplatform-dev-bucketslanding")
    glue = mwaa.aws("glue").get_job(JobName="data-platform-dev-extract-market-data")["Job"]
    assert glue["Command"]["ScriptLocation"].endswith("/glue/scripts/extract_market_data.py")
    script = mwaa.aws("s3").get_object(**_bucket_key(glue["Command"]["ScriptLocation"]))["Body"].read()
    assert script == (ROOT / "jobs" / "extract_market_data.py").read_bytes()


def test_an_uploaded_day_starts_its_manifest_run_and_the_warehouse_holds_the_reconciled_rows(mwaa, first_day):
    printed, run = first_day
    assert f"manifest__{DAY}" in printed
    assert run["state"] == "success", mwaa.airflow.task_states(f"manifest__{DAY}")
    assert run["conf"] == {"business_date": DAY}
    assert mwaa.airflow.task_states(f"manifest__{DAY}") == dict.fromkeys(TASKS, "success")
    reconciliation = mwaa.reconciliation(DAY)
    assert reconciliation["input_rows"] == (
        reconciliation["curated_rows"] + reconciliation["quarantined_rows"] + reconciliation["duplicate_rows"]
    )
    assert mwaa.warehouse_count(DAY) == reconciliation["curated_rows"] > 0
    reports = mwaa.keys(mwaa.endpoints["reports_bucket"], "reports/")
    assert {key.split("/")[1] for key in reports if f"business_date={DAY}" in key} == {
        "currency_transaction_report",
        "structuring_candidates",
        "daily_totals",
    }


def test_the_same_manifest_uploaded_again_starts_nothing(mwaa, first_day):
    s3 = mwaa.aws("s3")
    s3.put_object(Bucket=mwaa.endpoints["landing_bucket"], Key=f"transactions/business_date={DAY}/_SUCCESS", Body=b"")
    time.sleep(8)
    runs = mwaa.airflow.get("/api/v2/dags/financial_etl_pipeline/dagRuns")["dag_runs"]
    assert [run["dag_run_id"] for run in runs] == [f"manifest__{DAY}"]


@pytest.fixture(scope="module")
def broken_day(mwaa: MwaaProcess, first_day):
    """A day whose FX file has a rate that is not a number; operations subscribed by an SQS queue."""
    queue = mwaa.subscribe_queue(mwaa.endpoints["operations_topic_arn"])
    transactions, rates = generated_day(BROKEN_DAY, 120)
    upload_day(mwaa.endpoints, BROKEN_DAY, {"transactions.csv": transactions}, {"fx_rates.csv": BROKEN_RATES})
    run = mwaa.airflow.wait_for_run(f"manifest__{BROKEN_DAY}", RUN_SECONDS)
    return run, queue, rates


def test_a_broken_fx_file_fails_extract_market_data_and_the_run(mwaa, broken_day):
    run, _, _ = broken_day
    assert run["state"] == "failed"
    states = mwaa.airflow.task_states(f"manifest__{BROKEN_DAY}")
    assert states["extract_market_data"] == "failed"
    assert states["extract_transactions"] == "success"
    assert {states[task] for task in DOWNSTREAM} == {"upstream_failed"}


def test_the_failed_task_log_leads_to_the_glue_run_that_names_the_bad_rate(mwaa, broken_day):
    # as on AWS: the task log names the Glue job run and its state, the job run holds the error
    log = mwaa.airflow.log(f"manifest__{BROKEN_DAY}", "extract_market_data", 1)
    run_id = re.search(r"Exiting Job (jr_[0-9a-f]+) Run State: FAILED", log).group(1)
    job_run = mwaa.aws("glue").get_job_run(JobName="data-platform-dev-extract-market-data", RunId=run_id)["JobRun"]
    assert job_run["JobRunState"] == "FAILED"
    assert "usd_rate 'abc' of EUR is not a positive decimal" in job_run["ErrorMessage"]


def test_operations_receive_the_failure(mwaa, broken_day):
    _, queue, _ = broken_day
    messages = wait_for(lambda: mwaa.topic_messages(queue, want=2), 60, "two messages on the operations topic")
    dag_failures = [m for m in messages if m.get("event") == "task_failed"]
    glue_failures = [m for m in messages if m.get("detail-type") == "Glue Job State Change"]
    assert [(m["task_id"], m["business_date"], m["run_id"]) for m in dag_failures] == [
        ("extract_market_data", BROKEN_DAY, f"manifest__{BROKEN_DAY}")
    ]
    assert [(m["detail"]["jobName"], m["detail"]["state"]) for m in glue_failures] == [
        ("data-platform-dev-extract-market-data", "FAILED")
    ]


@pytest.fixture(scope="module")
def resumed(mwaa: MwaaProcess, broken_day):
    """The FX file replaced, extract_market_data cleared with its downstream through the REST API."""
    failed, _, rates = broken_day
    mwaa.aws("s3").put_object(
        Bucket=mwaa.endpoints["landing_bucket"], Key=f"market_data/business_date={BROKEN_DAY}/fx_rates.csv", Body=rates
    )
    cleared = mwaa.airflow.post(
        "/api/v2/dags/financial_etl_pipeline/clearTaskInstances",
        {
            "dry_run": False,
            "dag_run_id": f"manifest__{BROKEN_DAY}",
            "task_ids": ["extract_market_data"],
            "include_downstream": True,
            "only_failed": False,
            "reset_dag_runs": True,
        },
    )
    run = mwaa.airflow.wait_for_run(f"manifest__{BROKEN_DAY}", RUN_SECONDS, not_ended_at=failed["end_date"])
    return cleared, run, mwaa.day_outputs(BROKEN_DAY)


def test_clearing_the_failed_task_and_its_downstream_resumes_the_run(mwaa, resumed):
    cleared, run, _ = resumed
    assert {ti["task_id"] for ti in cleared["task_instances"]} == {"extract_market_data", *DOWNSTREAM}
    assert run["state"] == "success"
    tries = mwaa.airflow.try_numbers(f"manifest__{BROKEN_DAY}")
    # extract_transactions kept its result; extract_market_data ran again; the rest ran for the first time
    assert tries == {"extract_transactions": 1, "extract_market_data": 2, **dict.fromkeys(DOWNSTREAM, 1)}


def test_a_browser_logs_in_and_sees_the_resumed_run_in_the_grid(mwaa, resumed, tmp_path):
    tools = find_browser()
    if tools is None:
        pytest.skip("needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)")
    url, run_id = mwaa.endpoints["airflow_url"], f"manifest__{BROKEN_DAY}"
    with Browser(*tools) as browser:
        browser.get(f"{url}/")
        browser.type(browser.find("input[name=username]"), mwaa.endpoints["username"])
        browser.type(browser.find("input[name=password]"), mwaa.endpoints["password"])
        browser.click(browser.find("button[type=submit]"))
        wait_for(lambda: "/auth/login" not in browser.current_url, 30, "the login to finish", every=0.5)
        browser.get(f"{url}/dags/financial_etl_pipeline/runs/{run_id}")
        text = browser.wait_for_text("load_warehouse")
        png = browser.screenshot(tmp_path / "airflow-grid.png")
    assert run_id in text
    assert "Success" in text
    assert set(text.split()) >= TASKS
    assert png.startswith(b"\x89PNG")
    if os.environ.get("LOCALRUN_SCREENSHOT"):  # how docs/airflow-grid.png is made
        Path(os.environ["LOCALRUN_SCREENSHOT"]).write_bytes(png)


@pytest.fixture(scope="module")
def uninterrupted(mwaa: MwaaProcess, resumed):
    """The same day run again from the first task, with nothing failing: the result to compare with."""
    _, resumed_run, _ = resumed
    mwaa.airflow.post(
        "/api/v2/dags/financial_etl_pipeline/clearTaskInstances",
        {"dry_run": False, "dag_run_id": f"manifest__{BROKEN_DAY}", "only_failed": False, "reset_dag_runs": True},
    )
    run = mwaa.airflow.wait_for_run(f"manifest__{BROKEN_DAY}", RUN_SECONDS, not_ended_at=resumed_run["end_date"])
    assert run["state"] == "success"
    return mwaa.day_outputs(BROKEN_DAY)


def test_the_resumed_run_ends_with_the_reconciliation_and_warehouse_rows_of_an_uninterrupted_run(
    mwaa, resumed, uninterrupted
):
    _, _, after_resume = resumed
    assert after_resume == uninterrupted
    assert len(after_resume["warehouse"]) == after_resume["reconciliation"]["curated_rows"] > 0
    assert mwaa.warehouse_count(DAY) == mwaa.reconciliation(DAY)["curated_rows"]  # the other day untouched


def test_a_restart_with_the_same_home_keeps_the_history_and_stopping_leaves_no_process(mwaa, uninterrupted):
    before = mwaa.airflow.get("/api/v2/dags/financial_etl_pipeline/dagRuns")["dag_runs"]
    stopped_in, survivors = mwaa.stop()
    assert stopped_in < 30
    assert survivors == []
    assert mwaa.exit_code == 0
    assert not (mwaa.home / "endpoints.json").exists()
    mwaa.start()
    after = mwaa.airflow.get("/api/v2/dags/financial_etl_pipeline/dagRuns")["dag_runs"]
    assert [(r["dag_run_id"], r["state"]) for r in after] == [(r["dag_run_id"], r["state"]) for r in before]
    assert mwaa.warehouse_count(BROKEN_DAY) == mwaa.reconciliation(BROKEN_DAY)["curated_rows"]
    stopped_in, survivors = mwaa.stop(signal.SIGINT)  # Ctrl-C of `make airflow`
    assert stopped_in < 30
    assert survivors == []
    assert mwaa.exit_code == 0


def _bucket_key(uri: str) -> dict[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return {"Bucket": bucket, "Key": key}
