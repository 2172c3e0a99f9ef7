"""The DAG's generate_reports on the emulated prod platform, whose reports bucket has Object Lock with a COMPLIANCE
default retention: Spark writes to a staging prefix, the job's driver publishes one CSV per report with its
checksums (issue 9, point 7)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from localrun.etl import REPORTS, EtlSession, generate_day

DAY = "2026-11-24"


@pytest.fixture(scope="module")
def etl_run(synth):
    with EtlSession(synth("prod"), "DataPlatform-prod") as etl:
        transactions, rates = generate_day(DAY, 60)
        etl.land(DAY, {"transactions.csv": transactions.encode()}, rates.encode())
        run = etl.run(DAY)
        s3 = etl.platform.client("s3")
        reports_bucket, raw_bucket = etl.names["reports_bucket"], etl.names["raw_bucket"]
        reports = {
            key: s3.get_object(Bucket=reports_bucket, Key=key, ChecksumMode="ENABLED")
            for key, _ in etl.platform.objects(reports_bucket)
        }
        staged = [key for key, _ in etl.platform.objects(raw_bucket, "_glue-temp/generate_reports/")]
        yield run, {key: (obj, obj["Body"].read()) for key, obj in reports.items()}, staged


def test_the_run_succeeds_against_the_locked_reports_bucket(etl_run):
    run, _, _ = etl_run
    assert run.state == "success", run.error


def test_each_report_is_one_locked_object_under_a_fixed_key_with_its_sha256(etl_run):
    # given
    _, reports, _ = etl_run

    # then
    assert set(reports) == {f"reports/{name}/business_date={DAY}/{name}.csv" for name in REPORTS}
    for stored, body in reports.values():
        assert stored["ObjectLockMode"] == "COMPLIANCE"
        assert stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        assert body.decode().splitlines()[0]


def test_spark_wrote_the_reports_to_the_staging_prefix_of_the_temp_dir_not_to_the_reports_bucket(etl_run):
    # given
    _, _, staged = etl_run

    # then
    for name in REPORTS:
        assert any(key.startswith(f"_glue-temp/generate_reports/business_date={DAY}/{name}/") for key in staged)
        assert any(key.endswith(".csv") for key in staged if f"/{name}/" in key)
