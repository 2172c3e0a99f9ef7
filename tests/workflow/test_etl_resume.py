"""Clearing a failed transform_data and running on from there ends exactly as an uninterrupted run."""

from __future__ import annotations

from localrun.data_platform import glue_job_name
from localrun.etl import EtlSession, generate_day

DAY = "2026-11-20"


def land(etl: EtlSession) -> None:
    transactions, rates = generate_day(DAY, 80)
    etl.land(DAY, {"transactions.csv": transactions.encode()}, rates.encode())


def end_state(etl: EtlSession) -> dict:
    outputs = etl.outputs(DAY)
    sql = "SELECT * FROM finance.fact_transactions ORDER BY business_date, transaction_id"
    return {
        "reconciliation": outputs["reconciliation"],
        "quarantine": outputs["quarantine"],
        "reports": outputs["reports"],
        "warehouse": etl.platform.warehouse.query(sql, record=False).rows,
    }


def test_a_run_failing_at_transform_resumes_to_the_state_of_an_uninterrupted_run():
    with EtlSession() as uninterrupted:
        land(uninterrupted)
        assert uninterrupted.run(DAY).state == "success"
        expected = end_state(uninterrupted)

    with EtlSession() as etl:
        land(etl)
        etl.platform.crash_after_write.add(glue_job_name("transform_data"))
        failed = etl.run(DAY)
        assert failed.state == "failed"
        assert failed.tasks["transform_data"] == "failed"
        assert failed.tasks["load_warehouse"] == failed.tasks["generate_reports"] == "upstream_failed"
        assert [n["task_id"] for n in etl.platform.sent_notifications()] == ["transform_data"]
        jobs_before = len(etl.platform.job_runs)

        resumed = etl.run(DAY, mark_success="extract_.*")

        assert resumed.state == "success", resumed.error
        rerun = [run.job_name for run in etl.platform.job_runs[jobs_before:]]
        assert rerun == [glue_job_name("transform_data"), glue_job_name("generate_reports")]
        assert end_state(etl) == expected
