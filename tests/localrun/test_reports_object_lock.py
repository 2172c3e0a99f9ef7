"""The emulated prod platform's reports bucket is locked as its template says (Object Lock, COMPLIANCE default
retention of reportsObjectLockYears): a PUT without Content-MD5 or a checksum is refused as S3 refuses it, and
the report publisher of jobs/generate_reports.py gets through (issue 9, point 7)."""

from __future__ import annotations

import base64
import hashlib
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localrun.platform import TemplatePlatform
from localrun.template import REGION, Template, find_template
from tests.conftest import ROOT

if str(ROOT / "jobs") not in sys.path:
    sys.path.insert(0, str(ROOT / "jobs"))

from generate_reports import publish_reports, report_key

DAY = "2026-11-23"
REPORTS_BUCKET = "dataplatform-prod-bucketsreportse712e931"
CURATED_BUCKET = "dataplatform-prod-bucketscurated3112a365"


@pytest.fixture(scope="module")
def prod_template(synth) -> tuple[Path, Template]:
    assembly = synth("prod")
    name, body = find_template(assembly, "AWS::MWAA::Environment", "DataPlatform-prod")
    return assembly, Template(body, name)


@pytest.fixture(scope="module")
def platform(prod_template):
    assembly, template = prod_template
    with TemplatePlatform(template, assembly) as aws:
        assert (aws.describe()["reports_bucket"], aws.describe()["curated_bucket"]) == (REPORTS_BUCKET, CURATED_BUCKET)
        yield aws


@pytest.fixture
def bare_s3(platform):
    """An S3 client that adds only the checksums an operation requires (none for PutObject): what a writer that
    knows nothing of checksums sends, unlike botocore's default, which adds a CRC32 to every PutObject."""
    return boto3.client("s3", region_name=REGION, config=Config(request_checksum_calculation="when_required"))


def test_the_emulated_reports_bucket_has_the_compliance_default_retention_of_the_prod_template(platform, prod_template):
    # given
    _, template = prod_template
    (props,) = [
        resource["Properties"]
        for resource in template.body["Resources"].values()
        if resource["Type"] == "AWS::S3::Bucket" and "ObjectLockConfiguration" in resource["Properties"]
    ]

    # when
    lock = platform.client("s3").get_object_lock_configuration(Bucket=REPORTS_BUCKET)["ObjectLockConfiguration"]

    # then
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    expected = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert expected == {"Mode": "COMPLIANCE", "Days": 2555}  # reportsObjectLockYears 7, in days
    assert (retention["Mode"], retention["Days"]) == (expected["Mode"], expected["Days"])


def test_a_put_without_content_md5_or_checksum_is_refused_by_the_locked_bucket_as_s3_refuses_it(platform, bare_s3):
    # given the same bytes to an unlocked bucket and to the locked one
    bare_s3.put_object(Bucket=CURATED_BUCKET, Key="plain.csv", Body=b"a,b\n")

    # when
    with pytest.raises(ClientError) as refused:
        bare_s3.put_object(Bucket=REPORTS_BUCKET, Key="plain.csv", Body=b"a,b\n")

    # then
    assert refused.value.response["Error"]["Code"] == "InvalidRequest"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "Content-MD5" in refused.value.response["Error"]["Message"]


def test_a_put_with_content_md5_alone_is_accepted_by_the_locked_bucket(platform, bare_s3):
    # given
    body = b"a,b\n"

    # when
    bare_s3.put_object(
        Bucket=REPORTS_BUCKET,
        Key="md5.csv",
        Body=body,
        ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(),  # noqa: S324 (S3's header)
    )

    # then
    assert bare_s3.head_object(Bucket=REPORTS_BUCKET, Key="md5.csv")["ObjectLockMode"] == "COMPLIANCE"


def test_published_reports_are_locked_with_their_sha256_whatever_the_clients_checksum_default(platform, bare_s3):
    # given
    bodies = {"daily_totals": b"currency,transaction_count\nEUR,2\n", "structuring_candidates": b"account_id\n"}

    # when
    published = publish_reports(bare_s3, f"s3://{REPORTS_BUCKET}/reports/", DAY, bodies)

    # then
    assert published == [f"s3://{REPORTS_BUCKET}/{report_key('reports/', name, DAY)}" for name in bodies]
    for name, body in bodies.items():
        key = f"reports/{name}/business_date={DAY}/{name}.csv"
        stored = bare_s3.get_object(Bucket=REPORTS_BUCKET, Key=key, ChecksumMode="ENABLED")
        assert stored["Body"].read() == body
        assert stored["ObjectLockMode"] == "COMPLIANCE"
        assert stored["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()


def test_republishing_a_report_adds_a_version_and_keeps_the_locked_first_one(platform, bare_s3):
    # given
    key = f"reports/daily_totals/business_date={DAY}/daily_totals.csv"
    publish_reports(bare_s3, f"s3://{REPORTS_BUCKET}/reports/", DAY, {"daily_totals": b"first\n"})

    # when
    publish_reports(bare_s3, f"s3://{REPORTS_BUCKET}/reports/", DAY, {"daily_totals": b"second\n"})

    # then
    versions = bare_s3.list_object_versions(Bucket=REPORTS_BUCKET, Prefix=key)["Versions"]
    assert len(versions) >= 2
    assert bare_s3.get_object(Bucket=REPORTS_BUCKET, Key=key)["Body"].read() == b"second\n"


def test_reports_are_published_only_to_s3():
    with pytest.raises(ValueError, match="s3://"):
        publish_reports(None, "file:///tmp/reports/", DAY, {"daily_totals": b"x\n"})
