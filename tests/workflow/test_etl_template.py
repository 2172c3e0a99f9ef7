"""`localrun etl` runs the synthesized DataPlatform template, not a platform of its own: the buckets, Glue jobs and
Airflow options are the template's, so a modified template is what runs; without an assembly it says so."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from localrun.__main__ import main
from localrun.etl import EtlSession

DAY = "2026-11-23"
STACK = "DataPlatform-dev"


def modified_assembly(source: Path, target: Path, change) -> Path:
    shutil.copytree(source, target)
    path = target / f"{STACK}.template.json"
    template = json.loads(path.read_text())
    change(template["Resources"])
    path.write_text(json.dumps(template))
    return target


def resource(resources: dict, kind: str, prefix: str) -> dict:
    (found,) = [r for logical_id, r in resources.items() if r["Type"] == kind and logical_id.startswith(prefix)]
    return found


def rename(resources: dict) -> None:
    """The landing bucket gets a BucketName, the transform job another name (the MWAA option follows it)."""
    resource(resources, "AWS::S3::Bucket", "BucketsLanding")["Properties"]["BucketName"] = "acme-landing-zone"
    resource(resources, "AWS::Glue::Job", "GlueTransformData")["Properties"]["Name"] = "acme-transform"
    environment = resource(resources, "AWS::MWAA::Environment", "")["Properties"]
    environment["AirflowConfigurationOptions"]["financial_etl.glue_job_transform_data"] = "acme-transform"


@pytest.fixture(scope="module")
def session(dev_assembly, tmp_path_factory):
    assembly = modified_assembly(dev_assembly, tmp_path_factory.mktemp("assembly") / "cdk.out", rename)
    with EtlSession(assembly, STACK) as etl:
        yield etl


def test_the_day_lands_in_the_template_s_landing_bucket(session):
    # when
    session.land(DAY, {"day.csv": b"x\n"}, b"currency,usd_rate\n")

    # then
    assert session.names["landing_bucket"] == "acme-landing-zone"
    keys = [key for key, _ in session.platform.objects("acme-landing-zone")]
    assert keys == [f"market_data/business_date={DAY}/fx_rates.csv", f"transactions/business_date={DAY}/day.csv"]


def test_the_dag_reads_the_template_s_airflow_options_and_the_glue_jobs_are_the_template_s(session):
    # then: the [financial_etl] section as MWAA exports it, and the jobs it names exist as defined
    assert os.environ["AIRFLOW__FINANCIAL_ETL__LANDING_BUCKET"] == "acme-landing-zone"
    assert os.environ["AIRFLOW__FINANCIAL_ETL__GLUE_JOB_TRANSFORM_DATA"] == "acme-transform"
    assert session.glue_job("transform_data") == "acme-transform"
    job = session.platform.client("glue").get_job(JobName="acme-transform")["Job"]
    assert job["Command"]["ScriptLocation"].endswith("/glue/scripts/transform_data.py")
    assert job["DefaultArguments"]["--custom-logGroup-prefix"] == "/data-platform/dev/glue"
    # not the secrets backend: dag.test() runs in this process (see EtlSession.airflow_environment)
    assert "AIRFLOW__SECRETS__BACKEND" not in os.environ


def test_the_operations_topic_is_the_template_s(session):
    topics = session.platform.client("sns").list_topics()["Topics"]
    assert session.platform.topic_arn == session.names["operations_topic_arn"]
    assert session.platform.topic_arn in [topic["TopicArn"] for topic in topics]


def test_without_a_synthesized_assembly_the_run_exits_2_asking_for_make_synth_and_writes_nothing(tmp_path, capsys):
    # when
    code = main(["etl", "--date", DAY, "--cdk-out", str(tmp_path / "cdk.out"), "--out", str(tmp_path / "out")])

    # then
    assert code == 2
    assert "run `make synth` first" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_assembly_without_the_data_platform_stack_is_refused_naming_what_is_missing(dev_assembly, tmp_path, capsys):
    # given: the order stack alone
    assembly = tmp_path / "cdk.out"
    assembly.mkdir()
    for path in dev_assembly.glob("OrderProcessing-*.template.json"):
        shutil.copy(path, assembly / path.name)

    # when
    code = main(["etl", "--date", DAY, "--cdk-out", str(assembly), "--out", str(tmp_path / "out")])

    # then
    assert code == 2
    assert "AWS::MWAA::Environment" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
