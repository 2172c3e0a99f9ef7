"""The DataPlatform template's AWS side for the local MWAA (localrun/platform.py), in-process: resources as
the template defines them, the manifest rule reaching the real trigger handler, MWAA's InvokeRestApi answering
as MWAA does (against a fake Airflow), Lambda's asynchronous retries and dead-letter queue, asynchronous Glue
runs with their state-change event, and the objects kept across restarts. No Spark, no Airflow processes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localrun import platform as platform_module
from localrun.data_platform import JobRun
from localrun.platform import AirflowAccess, TemplatePlatform
from localrun.template import Template, find_template

ROOT = Path(__file__).resolve().parents[2]
DAY = "2026-11-23"


class FakeAirflow:
    """An HTTP server playing Airflow's /auth/token and REST API v2: answers are set per test."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer: tuple[int, Any] = (200, {"dag_run_id": f"manifest__{DAY}", "state": "queued"})
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                if self.path == "/auth/token":
                    self._reply(201, {"access_token": "token-1"})
                    return
                fake.requests.append(
                    {"method": self.command, "path": self.path, "body": body, "auth": self.headers["Authorization"]}
                )
                self._reply(*fake.answer)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def airflow():
    fake = FakeAirflow()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def template(dev_assembly) -> Template:
    name, body = find_template(dev_assembly, "AWS::MWAA::Environment", "DataPlatform-dev")
    return Template(body, name)


@pytest.fixture(scope="module")
def aws(template, dev_assembly, airflow, tmp_path_factory):
    with TemplatePlatform(
        template,
        dev_assembly,
        AirflowAccess(airflow.url, "admin", "secret"),
        warehouse_path=tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb",
    ) as platform:
        yield platform


@pytest.fixture
def fresh(airflow):
    airflow.requests.clear()
    airflow.answer = (200, {"dag_run_id": f"manifest__{DAY}", "state": "queued"})
    return airflow


def wait(condition, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return value


def land(aws: TemplatePlatform, key: str, body: bytes = b"") -> None:
    aws.client("s3").put_object(Bucket=aws.describe()["landing_bucket"], Key=key, Body=body)


def settled(aws: TemplatePlatform, count: int):
    return lambda: len(aws.deliveries) >= count and all(d.outcome != "pending" for d in aws.deliveries[:count])


# ---- resources from the template ------------------------------------------------------------------------


def test_each_glue_job_is_created_as_the_template_defines_it(aws, template):
    glue = aws.client("glue")
    jobs = template.of_type("AWS::Glue::Job")
    assert len(jobs) == 4
    for resource in jobs.values():
        props = resource["Properties"]
        job = glue.get_job(JobName=props["Name"])["Job"]
        assert job["Command"]["ScriptLocation"] == template.resolve(props["Command"]["ScriptLocation"])
        assert job["DefaultArguments"] == template.resolve(props["DefaultArguments"])
        assert job["Role"] == template.resolve(props["Role"])
        assert (job["GlueVersion"], job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == (
            props["GlueVersion"],
            props["WorkerType"],
            props["NumberOfWorkers"],
            props["Timeout"],
        )
        assert job["ExecutionProperty"] == props["ExecutionProperty"]


def test_the_scripts_and_dags_are_deployed_from_the_assembly(aws):
    source = aws.describe()["source_bucket"]
    s3 = aws.client("s3")
    for script in sorted((ROOT / "jobs").glob("*.py")):
        body = s3.get_object(Bucket=source, Key=f"glue/scripts/{script.name}")["Body"].read()
        assert body == script.read_bytes()
    dag = s3.get_object(Bucket=source, Key="dags/financial_etl_pipeline.py")["Body"].read()
    assert dag == (ROOT / "dags" / "financial_etl_pipeline.py").read_bytes()
    assert not [key for key, _ in aws.engine.objects(source, "dags/") if "__pycache__" in key]


def test_the_airflow_options_are_resolved_to_the_emulated_names(aws, template):
    described = aws.describe()
    options = described["airflow_configuration_options"]
    assert all(isinstance(value, str) for value in options.values())
    assert described["landing_bucket"] == template.refs["BucketsLanding6FA248B0"]
    assert aws.client("s3").head_bucket(Bucket=described["landing_bucket"])
    assert described["operations_topic_arn"].startswith("arn:aws:sns:")
    secret = options["financial_etl.redshift_secret_arn"]
    assert json.loads(aws.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])["username"]
    assert described["dag_id"] == "financial_etl_pipeline"
    assert described["environment_name"] == template.resolve(
        next(iter(template.of_type("AWS::MWAA::Environment").values()))["Properties"]["Name"]
    )


# ---- the manifest rule and the trigger -------------------------------------------------------------------


def test_a_manifest_reaches_the_trigger_handler_whose_invoke_rest_api_creates_the_dag_run(aws, fresh):
    before = len(aws.deliveries)
    land(aws, f"transactions/business_date={DAY}/_SUCCESS")
    wait(settled(aws, before + 1))
    delivery = aws.deliveries[before]
    assert (delivery.outcome, delivery.attempts) == ("succeeded", 1)
    assert delivery.event["detail-type"] == "Object Created"
    assert fresh.requests == [
        {
            "method": "POST",
            "path": "/api/v2/dags/financial_etl_pipeline/dagRuns",
            "body": {
                "dag_run_id": f"manifest__{DAY}",
                "logical_date": None,
                "conf": {"business_date": DAY},
                "note": "started by the landing manifest",
            },
            "auth": "Bearer token-1",
        }
    ]


def test_landing_files_other_than_the_manifest_trigger_nothing(aws, fresh):
    before = len(aws.deliveries)
    land(aws, f"transactions/business_date={DAY}/transactions.csv", b"transaction_id\n")
    land(aws, f"market_data/business_date={DAY}/_SUCCESS")
    time.sleep(0.5)
    assert len(aws.deliveries) == before
    assert fresh.requests == []


def test_a_run_that_exists_already_is_not_an_error(aws, fresh):
    fresh.answer = (409, {"detail": "The DagRun with dag_run_id manifest__2026-11-23 already exists"})
    before = len(aws.deliveries)
    land(aws, f"transactions/business_date={DAY}/_SUCCESS")
    wait(settled(aws, before + 1))
    assert (aws.deliveries[before].outcome, aws.deliveries[before].attempts) == ("succeeded", 1)


def test_a_failing_trigger_is_retried_as_its_invoke_config_says_then_dead_lettered(aws, fresh, monkeypatch):
    monkeypatch.setattr(platform_module, "ASYNC_RETRY_DELAYS", (0.01, 0.01))
    fresh.answer = (500, {"detail": "scheduler unavailable"})
    before = len(aws.deliveries)
    land(aws, "transactions/business_date=2026-11-25/_SUCCESS")
    wait(settled(aws, before + 1))
    delivery = aws.deliveries[before]
    assert delivery.outcome == "dead-lettered"
    assert delivery.attempts == 1 + aws.invoke_configs[delivery.function]["MaximumRetryAttempts"]
    assert all("DagRunNotCreated: Airflow answered 500" in error for error in delivery.errors)
    sqs = aws.client("sqs")
    url = sqs.get_queue_url(QueueName=aws.dead_letter_targets[delivery.function].rsplit(":", 1)[1])["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert (
        json.loads(messages[0]["Body"])["detail"]["object"]["key"] == "transactions/business_date=2026-11-25/_SUCCESS"
    )
    assert "Airflow answered 500" in messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"]


# ---- InvokeRestApi -------------------------------------------------------------------------------------


def invoke(aws: TemplatePlatform, name: str | None = None, **request: Any) -> dict[str, Any]:
    name = name or aws.describe()["environment_name"]
    return aws.client("mwaa").invoke_rest_api(Name=name, **request)


def test_invoke_rest_api_returns_airflows_status_and_response(aws, fresh):
    fresh.answer = (200, {"dags": [], "total_entries": 0})
    answer = invoke(aws, Method="GET", Path="/dags", QueryParameters={"limit": 5})
    assert (answer["RestApiStatusCode"], answer["RestApiResponse"]) == (200, {"dags": [], "total_entries": 0})
    assert fresh.requests[0]["path"] == "/api/v2/dags?limit=5"


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, "RestApiClientException"), (409, "RestApiClientException"), (500, "RestApiServerException")],
)
def test_invoke_rest_api_errors_carry_airflows_status_and_response(aws, fresh, status, code):
    fresh.answer = (status, {"detail": "no"})
    with pytest.raises(ClientError) as raised:
        invoke(aws, Method="POST", Path="/dags/x/dagRuns", Body={})
    assert raised.value.response["Error"]["Code"] == code
    assert (raised.value.response["RestApiStatusCode"], raised.value.response["RestApiResponse"]) == (
        status,
        {"detail": "no"},
    )


def test_invoke_rest_api_of_another_environment_is_not_found(aws):
    with pytest.raises(ClientError) as raised:
        invoke(aws, name="someone-elses", Method="GET", Path="/dags")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_invoke_rest_api_without_a_reachable_airflow_is_a_server_error(aws, monkeypatch):
    monkeypatch.setattr(aws, "airflow", AirflowAccess("http://127.0.0.1:9", "admin", "x"))
    monkeypatch.setattr(aws, "_token", None)
    with pytest.raises(ClientError) as raised:
        invoke(aws, Method="GET", Path="/dags")
    assert raised.value.response["Error"]["Code"] == "RestApiServerException"
    assert raised.value.response["RestApiStatusCode"] == 503


# ---- Glue ------------------------------------------------------------------------------------------------


def test_a_glue_run_is_running_until_its_script_ends_then_failed_with_its_error_and_operations_told(aws, monkeypatch):
    release = threading.Event()

    def fake_run(job_name: str, run_id: str, script_location: str, arguments: dict[str, str]) -> JobRun:
        release.wait(20)
        return JobRun(job_name, run_id, arguments, state="FAILED", error="InputFileError: bad rate")

    monkeypatch.setattr(aws.engine, "run_glue_job", fake_run)
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName="operations-watch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=aws.describe()["operations_topic_arn"], Protocol="sqs", Endpoint=arn)
    glue, job = aws.client("glue"), "data-platform-dev-extract-market-data"

    run_id = glue.start_job_run(JobName=job, Arguments={"--landing_path": "s3://x/"})["JobRunId"]
    assert glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] == "RUNNING"
    with pytest.raises(ClientError) as raised:  # the template's MaxConcurrentRuns is 1
        glue.start_job_run(JobName=job)
    assert raised.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"
    release.set()
    ended = wait(lambda: (r := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"])["JobRunState"] != "RUNNING" and r)
    assert (ended["JobRunState"], ended["ErrorMessage"]) == ("FAILED", "InputFileError: bad rate")
    message = wait(lambda: sqs.receive_message(QueueUrl=url).get("Messages"))[0]
    event = json.loads(json.loads(message["Body"])["Message"])
    assert (event["source"], event["detail-type"]) == ("aws.glue", "Glue Job State Change")
    assert (event["detail"]["jobName"], event["detail"]["state"], event["detail"]["jobRunId"]) == (
        job,
        "FAILED",
        run_id,
    )


# ---- across restarts -------------------------------------------------------------------------------------


def test_the_buckets_objects_are_saved_and_put_back_but_deployed_files_come_from_the_assembly(
    aws, template, dev_assembly, tmp_path
):
    curated = aws.describe()["curated_bucket"]
    aws.client("s3").put_object(Bucket=curated, Key="reconciliation/x.json", Body=b'{"n": 1}')
    saved = aws.save_objects(tmp_path)
    index = json.loads((tmp_path / "objects.json").read_text())
    assert saved == len(index) > 0
    assert aws.describe()["source_bucket"] not in {item["bucket"] for item in index}
    restored = aws.load_objects(tmp_path)
    assert restored == saved
    assert aws.client("s3").get_object(Bucket=curated, Key="reconciliation/x.json")["Body"].read() == b'{"n": 1}'


def test_a_glue_run_whose_engine_breaks_fails_instead_of_running_forever(aws, monkeypatch):
    def broken(*args: Any) -> JobRun:
        raise OSError("no space left for the bucket mirror")

    monkeypatch.setattr(aws.engine, "run_glue_job", broken)
    glue, job = aws.client("glue"), "data-platform-dev-extract-transactions"
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    ended = wait(lambda: (r := glue.get_job_run(JobName=job, RunId=run_id)["JobRun"])["JobRunState"] != "RUNNING" and r)
    assert (ended["JobRunState"], ended["ErrorMessage"]) == ("FAILED", "OSError: no space left for the bucket mirror")
