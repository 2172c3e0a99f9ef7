"""A `python -m localrun mwaa` process for tests: started from the synthesized assembly on free ports, its
descendants tracked, and clients for its Airflow REST API and its AWS endpoint."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], Any], seconds: float, what: str, every: float = 2.0) -> Any:
    """The first truthy value of condition(), polled; AssertionError after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f} s waiting for {what}")
        time.sleep(every)


def generated_day(business_date: str, rows: int) -> tuple[bytes, bytes]:
    """(transactions CSV, FX rates CSV) of the ETL runner's generator."""
    from localrun.etl import generate_day

    transactions, rates = generate_day(business_date, rows)
    return transactions.encode(), rates.encode()


class AirflowClient:
    """The REST API v2 with the printed credentials (POST /auth/token)."""

    def __init__(self, url: str, username: str, password: str, dag_id: str) -> None:
        self.url, self.username, self.password, self.dag_id = url, username, password, dag_id
        self._token: str | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self._token is None:
            status, answer = _http(
                "POST", f"{self.url}/auth/token", {"username": self.username, "password": self.password}
            )
            assert status == 201, answer
            self._token = answer["access_token"]
        return _http(method, f"{self.url}{path}", body, {"Authorization": f"Bearer {self._token}"})

    def get(self, path: str) -> Any:
        status, answer = self.request("GET", path)
        assert status == 200, (path, status, answer)
        return answer

    def post(self, path: str, body: Any) -> Any:
        status, answer = self.request("POST", path, body)
        assert status in (200, 201), (path, status, answer)
        return answer

    def run(self, run_id: str) -> dict[str, Any] | None:
        status, answer = self.request("GET", f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}")
        return answer if status == 200 else None

    def wait_for_run(self, run_id: str, seconds: float, not_ended_at: str | None = None) -> dict[str, Any]:
        """The run once it has ended (success or failed), and not at `not_ended_at` (an earlier end)."""

        def ended() -> dict[str, Any] | None:
            run = self.run(run_id)
            if run and run["state"] in ("success", "failed") and run.get("end_date") != not_ended_at:
                return run
            return None

        return wait_for(ended, seconds, f"DAG run {run_id} to end")

    def task_instances(self, run_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]

    def task_states(self, run_id: str) -> dict[str, str]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(run_id)}

    def try_numbers(self, run_id: str) -> dict[str, int]:
        return {ti["task_id"]: ti["try_number"] for ti in self.task_instances(run_id)}

    def log(self, run_id: str, task_id: str, try_number: int) -> str:
        path = (
            f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}?full_content=true"
        )
        return json.dumps(self.get(path))


def _http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - a local URL
    request.add_header("Accept", "application/json")
    request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


class MwaaProcess:
    """`python -m localrun mwaa` on free ports in `home`; `start()` waits for its ready line."""

    def __init__(self, home: Path, assembly: Path, stack: str = "DataPlatform-dev") -> None:
        self.home, self.assembly, self.stack = home, assembly, stack
        self.airflow_port, self.aws_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None
        self.endpoints: dict[str, Any] = {}
        self.seconds_to_ready = 0.0
        self.exit_code: int | None = None
        self.airflow: AirflowClient
        self.seen: set[psutil.Process] = set()
        self._watching = threading.Event()

    # ---- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        command = [
            sys.executable, "-m", "localrun", "mwaa", "--home", str(self.home), "--cdk-out", str(self.assembly),
            "--stack", self.stack, "--airflow-port", str(self.airflow_port), "--aws-port", str(self.aws_port),
        ]  # fmt: skip
        started = time.monotonic()
        stderr = open(self.home.parent / f"{self.home.name}-runner.log", "ab")  # noqa: SIM115 - kept by the child
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
        )
        stderr.close()
        lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            for line in self.process.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        self._watching.set()
        threading.Thread(target=self._watch, daemon=True).start()
        deadline = started + READY_SECONDS + 30
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise AssertionError(f"no ready line within {READY_SECONDS} s: {self.runner_log()}") from None
            if line is None:
                raise AssertionError(f"localrun mwaa exited before ready: {self.runner_log()}")
            if line.startswith("ready: "):
                break
        self.seconds_to_ready = time.monotonic() - started
        self.endpoints = json.loads(line.removeprefix("ready: "))
        self.airflow = AirflowClient(
            self.endpoints["airflow_url"],
            self.endpoints["username"],
            self.endpoints["password"],
            self.endpoints["dag_id"],
        )

    def _watch(self) -> None:
        while self._watching.is_set() and self.process is not None and self.process.poll() is None:
            with contextlib.suppress(psutil.Error):
                self.seen.update(psutil.Process(self.process.pid).children(recursive=True))
            time.sleep(0.5)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[float, list[str]]:
        """SIGTERM (or SIGINT); (seconds until the runner exited, the command lines of descendants still alive)."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signum)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.kill()
        seconds = time.monotonic() - started
        self.exit_code = self.process.returncode
        self._watching.clear()
        time.sleep(1)
        survivors = []
        for child in self.seen:
            with contextlib.suppress(psutil.Error):
                if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                    survivors.append(" ".join(child.cmdline()))
        self.process = None
        return seconds, survivors

    def kill(self) -> None:
        """Last resort (a test that failed half-way): everything started, killed."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        for child in self.seen:
            with contextlib.suppress(psutil.Error):
                child.kill()

    def runner_log(self) -> str:
        path = self.home.parent / f"{self.home.name}-runner.log"
        return path.read_text()[-3000:] if path.exists() else ""

    # ---- the AWS side --------------------------------------------------------------------------------

    def aws(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoints["aws_endpoint_url"],
            region_name=self.endpoints["region"],
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def keys(self, bucket: str, prefix: str) -> list[str]:
        pages = self.aws("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def body(self, bucket: str, key: str) -> bytes:
        return self.aws("s3").get_object(Bucket=bucket, Key=key)["Body"].read()

    def reconciliation(self, day: str) -> dict[str, Any]:
        key = f"reconciliation/business_date={day}/reconciliation.json"
        return json.loads(self.body(self.endpoints["curated_bucket"], key))

    def query(self, sql: str) -> list[list[Any]]:
        """Rows of one statement through the Redshift Data API, as plain values."""
        client = self.aws("redshift-data")
        target = {
            "WorkgroupName": self.endpoints["redshift_workgroup"],
            "Database": self.endpoints["redshift_database"],
        }
        statement = client.execute_statement(Sql=sql, **target)["Id"]
        described = wait_for(
            lambda: (d := client.describe_statement(Id=statement))["Status"] in ("FINISHED", "FAILED") and d,
            30,
            "the statement",
            every=0.2,
        )
        assert described["Status"] == "FINISHED", described
        records = client.get_statement_result(Id=statement)["Records"]
        return [[next(iter(field.values())) for field in record] for record in records]

    def warehouse_count(self, day: str) -> int:
        sql = f"SELECT COUNT(*) FROM finance.fact_transactions WHERE business_date = '{day}'"  # noqa: S608
        return int(self.query(sql)[0][0])

    def day_outputs(self, day: str) -> dict[str, Any]:
        """What a run of the day leaves: reconciliation, warehouse rows, quarantine, reports, curated Parquet."""
        partition = f"business_date={day}"
        curated, reports = self.endpoints["curated_bucket"], self.endpoints["reports_bucket"]
        sql = f"SELECT * FROM finance.fact_transactions WHERE business_date = '{day}' ORDER BY transaction_id"  # noqa: S608
        return {
            "reconciliation": self.reconciliation(day),
            "warehouse": self.query(sql),
            "quarantine": [self.body(curated, key) for key in self.keys(curated, f"quarantine/{partition}/")],
            "reports": {
                key.split("/")[1]: self.body(reports, key)
                for key in self.keys(reports, "reports/")
                if f"/{partition}/" in key
            },
            "curated": sorted(
                self.body(curated, key)
                for key in self.keys(curated, f"transactions/{partition}/")
                if key.endswith(".parquet")
            ),
        }

    def subscribe_queue(self, topic_arn: str) -> str:
        """An SQS queue subscribed to the topic; returns its URL."""
        sqs = self.aws("sqs")
        url = sqs.create_queue(QueueName=f"operations-{int(time.time())}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.aws("sns").subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn)
        self._received: list[dict[str, Any]] = []
        return url

    def topic_messages(self, queue_url: str, want: int) -> list[dict[str, Any]] | None:
        """The messages received so far (SNS envelopes opened) once there are `want` of them."""
        sqs = self.aws("sqs")
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            if isinstance(body, dict) and set(body) == {"default"}:
                body = json.loads(body["default"])
            self._received.append(body)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(self._received) if len(self._received) >= want else None
