"""`python -m preflight`: one line per check, exit 0 / 1 / 2, and no credentials means no calls at all."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from preflight import cli
from preflight.report import EXIT_CANNOT_RUN, EXIT_FIX, EXIT_OK
from tests.preflight.conftest import (
    ACCOUNT,
    BOOTSTRAP_PARAMETER,
    CREDENTIALS,
    REGION,
    no_such_stack,
    parameter,
    quota,
    stack,
    stubbed,
)


class FakeSession:
    """Stands in for boto3.Session: EC2 comes from moto, every other client is a Stubber-backed one."""

    def __init__(self, clients: dict[str, Any], region: str | None = REGION, credentials: bool = True):
        self.region_name = region
        self._clients = clients
        self._credentials = credentials

    def get_credentials(self) -> object | None:
        return object() if self._credentials else None

    def client(self, name: str, region_name: str | None = None) -> Any:
        if name == "ec2":
            return boto3.client("ec2", region_name=region_name, **CREDENTIALS)
        return self._clients[name]


def _account(*, powertools_published: bool = True) -> tuple[dict[str, Any], list[Stubber]]:
    """An account in eu-west-1, bootstrapped (version 27), nothing of this project deployed yet."""
    sts, sts_stub = stubbed("sts")
    sts_stub.add_response("get_caller_identity", {"Account": ACCOUNT, "Arn": "arn:aws:iam::123456789012:user/x"})
    cloudformation, cfn = stubbed("cloudformation")
    cfn.add_response("describe_stacks", stack("CDKToolkit", outputs={"BootstrapVersion": "27"}))
    no_such_stack(cfn, "DataPlatform-dev")
    ssm, ssm_stub = stubbed("ssm")
    ssm_stub.add_response("get_parameter", parameter(BOOTSTRAP_PARAMETER, "27"))
    if powertools_published:
        ssm_stub.add_response("get_parameter", parameter("p", "arn:aws:lambda:eu-west-1:017000801446:layer:P:1"))
    else:
        ssm_stub.add_client_error("get_parameter", service_error_code="ParameterNotFound", http_status_code=400)
    mwaa, mwaa_stub = stubbed("mwaa")
    mwaa_stub.add_response("list_environments", {"Environments": []})
    mwaa_stub.add_response("list_environments", {"Environments": []})
    redshift, redshift_stub = stubbed("redshift-serverless")
    redshift_stub.add_response("list_workgroups", {"workgroups": []})
    quotas, quota_stub = stubbed("service-quotas")
    for code, name, value in (
        ("L-F678F1CE", "VPCs per Region", 5.0),
        ("L-A4707A72", "Internet gateways per Region", 5.0),
    ):
        quota_stub.add_response("get_service_quota", quota("vpc", code, name, value))
    quota_stub.add_response("get_service_quota", quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5.0))
    quota_stub.add_response("get_service_quota", quota("vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5.0))
    quota_stub.add_response("get_service_quota", quota("vpc", "L-1B52E74A", "Gateway VPC endpoints per Region", 20.0))
    quota_stub.add_response(
        "list_service_quotas",
        {"Quotas": [{"ServiceCode": "airflow", "QuotaCode": "L-ENV", "QuotaName": "Environments"}]},
    )
    quota_stub.add_response("get_service_quota", quota("airflow", "L-ENV", "Environments", 10.0))
    clients = {
        "sts": sts,
        "cloudformation": cloudformation,
        "ssm": ssm,
        "mwaa": mwaa,
        "redshift-serverless": redshift,
        "service-quotas": quotas,
    }
    stubs = [sts_stub, cfn, ssm_stub, mwaa_stub, redshift_stub, quota_stub]
    return clients, stubs


def _main(session: FakeSession, tmp_path, *argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    for stub in getattr(session, "stubs", []):
        stub.activate()
    status = cli.main(
        ["--env", "dev", "--cdk-out", str(tmp_path / "no-cdk.out"), *argv],
        session_factory=lambda **_: session,
        out=out,
        err=err,
    )
    return status, out.getvalue().splitlines(), err.getvalue()


@pytest.fixture(autouse=True)
def _no_pinned_target(monkeypatch):
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
    monkeypatch.delenv("CDK_DEFAULT_REGION", raising=False)


def test_a_ready_account_prints_one_ok_line_per_check_and_exits_0(ec2, tmp_path):
    # given a bootstrapped account with room under every quota
    clients, stubs = _account()
    session = FakeSession(clients)
    session.stubs = stubs
    # when preflight runs
    status, lines, err = _main(session, tmp_path)
    # then every line is ok, in the documented format, and every queued call was made
    assert status == EXIT_OK, lines
    assert [line.split(":")[0] for line in lines] == [
        "ok   target",
        "ok   cdk bootstrap",
        "ok   powertools layer",
        "ok   availability zones",
        "ok   mwaa region",
        "ok   redshift serverless region",
        "ok   quota vpcs",
        "ok   quota internet gateways",
        "ok   quota elastic ips",
        "ok   quota nat gateways per az",
        "ok   quota gateway endpoints",
        "ok   quota mwaa environments",
    ]
    assert "12 checks, 0 to fix" in err
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_one_thing_to_fix_exits_1_and_the_other_checks_still_run(ec2, tmp_path):
    # given the Powertools layer is not published in the region
    clients, stubs = _account(powertools_published=False)
    session = FakeSession(clients)
    session.stubs = stubs
    status, lines, _ = _main(session, tmp_path)
    assert status == EXIT_FIX
    assert [line for line in lines if line.startswith("fix")] == [
        line for line in lines if line.startswith("fix  powertools layer: ")
    ]
    assert len(lines) == 12


def test_a_denied_read_call_is_a_fix_line_not_a_crash(ec2, tmp_path):
    clients, stubs = _account()
    # given the identity may not call MWAA
    mwaa, mwaa_stub = stubbed("mwaa")
    mwaa_stub.add_client_error("list_environments", service_error_code="AccessDeniedException", http_status_code=403)
    mwaa_stub.add_client_error("list_environments", service_error_code="AccessDeniedException", http_status_code=403)
    clients["mwaa"] = mwaa
    stubs[3] = mwaa_stub
    # the MWAA quota is then never read
    quotas, quota_stub = stubbed("service-quotas")
    for code in ("L-F678F1CE", "L-A4707A72"):
        quota_stub.add_response("get_service_quota", quota("vpc", code, "x", 5.0))
    quota_stub.add_response("get_service_quota", quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5.0))
    quota_stub.add_response("get_service_quota", quota("vpc", "L-FE5A380F", "x", 5.0))
    quota_stub.add_response("get_service_quota", quota("vpc", "L-1B52E74A", "x", 20.0))
    clients["service-quotas"] = quotas
    stubs[5] = quota_stub
    session = FakeSession(clients)
    session.stubs = stubs
    status, lines, _ = _main(session, tmp_path)
    assert status == EXIT_FIX
    assert "fix  mwaa region: ListEnvironments failed: AccessDeniedException" in lines[4]
    assert lines[-1].startswith("fix  quota mwaa environments: ListEnvironments failed")


def test_missing_credentials_exit_2_with_a_clear_message_and_no_call(tmp_path):
    # given a session without credentials (its clients would fail the test if called)
    status, lines, err = _main(FakeSession({}, credentials=False), tmp_path)
    assert status == EXIT_CANNOT_RUN
    assert lines == []
    assert "no AWS credentials" in err
    assert "AWS_PROFILE" in err


def test_missing_region_exits_2(tmp_path):
    status, _, err = _main(FakeSession({}, region=None), tmp_path)
    assert status == EXIT_CANNOT_RUN
    assert "no AWS region" in err


def test_refused_credentials_exit_2(tmp_path):
    sts, stub = stubbed("sts")
    stub.add_client_error("get_caller_identity", service_error_code="ExpiredToken", http_status_code=403)
    session = FakeSession({"sts": sts})
    session.stubs = [stub]
    status, _, err = _main(session, tmp_path)
    assert status == EXIT_CANNOT_RUN
    assert "ExpiredToken" in err


def test_an_unknown_environment_exits_2(tmp_path):
    status, _, err = _main(FakeSession({}), tmp_path, "--env", "nope")
    assert status == EXIT_CANNOT_RUN
    assert "'nope' is not configured" in err


def test_the_real_boto3_chain_without_credentials_exits_2(tmp_path, monkeypatch):
    # given no credentials anywhere boto3 looks (and no instance metadata to wait for)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", raising=False)
    err = io.StringIO()
    status = cli.main(["--env", "dev", "--region", REGION], out=io.StringIO(), err=err)
    assert status == EXIT_CANNOT_RUN
    assert "no AWS credentials" in err.getvalue()


def test_stacks_pinned_to_another_account_are_a_fix(monkeypatch, dev_config):
    pinned = dev_config.__class__(**{**dev_config.__dict__, "account": "999999999999"})
    result = cli.check_target(pinned, account=ACCOUNT, region=REGION)
    assert result.status == "fix"
    assert "account 999999999999" in result.detail


def test_aws_region_is_honoured_although_botocore_reads_only_aws_default_region(tmp_path, monkeypatch):
    # given AWS_REGION only (the CDK CLI's variable), and a session factory that records what it is asked for
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    asked: dict[str, Any] = {}

    def factory(**kwargs: Any) -> FakeSession:
        asked.update(kwargs)
        return FakeSession({}, region=kwargs["region_name"], credentials=False)

    # when preflight starts without --region
    status = cli.main(["--env", "dev"], session_factory=factory, out=io.StringIO(), err=io.StringIO())
    # then the session is built for that region (and stops at the missing credentials)
    assert asked["region_name"] == "ap-southeast-2"
    assert status == EXIT_CANNOT_RUN
