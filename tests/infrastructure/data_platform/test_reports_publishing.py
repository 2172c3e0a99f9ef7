"""The reports job family may only add objects to the reports bucket: it publishes with PutObject and never reads,
overwrites through Spark or deletes a report (issue 9, point 7)."""

from __future__ import annotations

from tests.infrastructure.cfn import CfnTemplate, references
from tests.infrastructure.data_platform.conftest import allowed_actions, statements


def _actions_on(t: CfnTemplate, role_path: str, bucket_id: str) -> set[str]:
    return {
        action
        for statement in statements(t, role_path)
        if statement["Effect"] == "Allow" and bucket_id in set(references(statement["Resource"]))
        for action in allowed_actions(statement)
    }


def test_the_reports_role_may_put_reports_but_not_read_or_delete_them(data_dev: CfnTemplate):
    # given
    reports = data_dev.logical_id("Buckets/Reports")
    curated = data_dev.logical_id("Buckets/Curated")

    # when
    on_reports = _actions_on(data_dev, "Glue/ReportsRole", reports)
    on_curated = _actions_on(data_dev, "Glue/ReportsRole", curated)

    # then
    assert "s3:PutObject" in on_reports
    assert not any(a.startswith(("s3:Get", "s3:List", "s3:Delete")) for a in on_reports), on_reports
    assert "s3:PutObject" not in on_curated
    assert any(a.startswith("s3:Get") for a in on_curated)


def test_the_reports_job_is_given_a_temp_dir_to_stage_its_reports(data_dev: CfnTemplate):
    # given
    job = data_dev.properties(data_dev.logical_id("Glue/GenerateReports"))

    # then: jobs/generate_reports.py stages under --TempDir, a prefix every family may write
    assert "--TempDir" in job["DefaultArguments"]
