"""The data platform's engines, the parts of Glue and Redshift that moto does not run. One `GlueEngine` serves every
runner that emulates the DataPlatform stack (`localrun etl`, `localrun mwaa`), always behind
`localrun.platform.TemplatePlatform`, which creates the template's resources (buckets, Glue jobs, topic, secret,
rules) and tells the engine their names. The engine has no resources of its own:

* Glue job runs execute the job's script (the copy the template's deployment uploaded from `jobs/`) on a local
  Spark session, inside StartJobRun (`asynchronous=False`, for `dag.test()`) or on a thread of their own
  (`asynchronous=True`, as on Glue: RUNNING until the script ends). Spark reads and writes a local mirror of the
  emulated buckets: every bucket is copied out before a run and copied back after it (new, changed and deleted
  objects), so the jobs see `file://` paths where Glue sees `s3://` ones. Only what Spark changed in the mirror
  is copied back: objects a job's driver writes with boto3 (the published reports) stay. The arguments in
  `BOTO3_ARGUMENTS` name locations a job writes with boto3, not Spark: they stay `s3://`. The run's output
  (what the script prints, and the error that ended it) goes to CloudWatch Logs as Glue writes it, under the
  job's `--custom-logGroup-prefix`;
* a bucket with Object Lock and a default retention (prod's reports bucket) refuses a PutObject without
  Content-MD5 or a checksum header as S3 does (400 InvalidRequest; moto uses its own error code);
* the Redshift Data API (ExecuteStatement, BatchExecuteStatement, DescribeStatement, GetStatementResult) runs for
  real on `localrun.redshift.Warehouse` (DuckDB behind sqlglot).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import runpy
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3

from .emulator import LOCAL_ENV
from .redshift import Result, StatementError, Warehouse
from .session import MockedAws
from .template import ACCOUNT, REGION

log = logging.getLogger(__name__)

# Locations a job's driver writes with boto3 (jobs/generate_reports.py publishes there): not mirrored.
BOTO3_ARGUMENTS = frozenset({"--reports_path"})
# Glue 5.0 writes a run's stdout and stderr to `<prefix>/output` and its error to `<prefix>/error`, in a stream
# named by the run id (docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html); without
# --custom-logGroup-prefix the prefix is /aws-glue/jobs.
DEFAULT_LOG_GROUP_PREFIX = "/aws-glue/jobs"


@dataclass
class JobRun:
    job_name: str
    run_id: str
    arguments: dict[str, str]
    state: str = "RUNNING"
    error: str | None = None
    seconds: float = 0.0


@dataclass
class Statement:
    id: str
    sqls: list[str]
    status: str = "FINISHED"
    error: str | None = None
    results: list[Result] = field(default_factory=list)


class GlueEngine(MockedAws):
    """Context manager: Glue runs on local Spark and the Data API on DuckDB, over moto; one Spark session per
    process. `buckets`, `scripts_bucket` and `topic_arn` are the template's (set by `TemplatePlatform`)."""

    def __init__(self, warehouse_path: Path | None = None, asynchronous: bool = True) -> None:
        super().__init__()
        self.asynchronous = asynchronous
        self.job_runs: list[JobRun] = []
        # the buckets Spark sees through the mirror: logical id -> name
        self.buckets: dict[str, str] = {}
        self.scripts_bucket = ""
        self.topic_arn = ""
        # job name -> one injected crash after the job wrote its output (tests of clearing and resuming)
        self.crash_after_write: set[str] = set()
        # called as on_job_end(job name, run id, state, error) when a run ends (Glue's state-change event)
        self.on_job_end: Any = None
        self.statements: dict[str, Statement] = {}
        self.warehouse = Warehouse(self._fetch_prefix, ":memory:" if warehouse_path is None else str(warehouse_path))
        # the buckets' local mirror for Spark and the objects fetched for COPY, removed on exit
        self._workspace = Path(tempfile.mkdtemp(prefix="localrun-glue-"))
        self._mirror = self._workspace / "s3"
        # bucket -> key -> body as copied to the mirror before a job run
        self._mirrored: dict[str, dict[str, bytes]] = {}
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._stopping = threading.Event()

    # ---- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> GlueEngine:
        self._start(LOCAL_ENV)
        try:
            self._install_patches()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()
        self.warehouse.close()
        shutil.rmtree(self._workspace, ignore_errors=True)

    def stop_background(self) -> None:
        """No more job-end events: the process is stopping."""
        self._stopping.set()

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    # ---- S3 -------------------------------------------------------------------------------------------

    def objects(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, bytes]]:
        """(key, body) of every object under the prefix, in key order."""
        s3 = self.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()

    def put(self, bucket: str, key: str, body: bytes) -> None:
        self.client("s3").put_object(Bucket=bucket, Key=key, Body=body)

    def sent_notifications(self) -> list[dict[str, Any]]:
        """Messages published to the operations topic, oldest first."""
        from moto.sns.models import sns_backends

        topic = sns_backends[ACCOUNT][REGION].topics[self.topic_arn]
        messages = [json.loads(message) for _, message, *_ in topic.sent_notifications]
        # SnsHook publishes with MessageStructure=json: the body is under "default"
        return [json.loads(m["default"]) if set(m) == {"default"} else m for m in messages]

    def _local(self, uri: str) -> str:
        """s3://bucket/key -> file:///mirror/bucket/key (other values unchanged)."""
        if isinstance(uri, str) and uri.startswith("s3://"):
            return "file://" + str(self._mirror / uri[5:]) + ("/" if uri.endswith("/") else "")
        return uri

    def _remote(self, text: str) -> str:
        """The mirror's paths in a text (as Hadoop and Spark spell them) back to the s3:// URIs they stand for."""
        mirror = str(self._mirror)
        for local in (f"file://{mirror}/", f"file:{mirror}/", f"{mirror}/"):
            text = text.replace(local, "s3://")
        return text

    def _sync_down(self) -> None:
        shutil.rmtree(self._mirror, ignore_errors=True)
        self._mirrored = {}
        for bucket in dict.fromkeys([*self.buckets.values(), self.scripts_bucket]):
            (self._mirror / bucket).mkdir(parents=True, exist_ok=True)
            self._mirrored[bucket] = dict(self.objects(bucket))
            for key, body in self._mirrored[bucket].items():
                path = self._mirror / bucket / key
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)

    def _sync_up(self) -> None:
        s3 = self.client("s3")
        for bucket in dict.fromkeys(self.buckets.values()):
            root = self._mirror / bucket
            local = {
                path.relative_to(root).as_posix(): path
                for path in root.rglob("*")
                if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".crc")
            }
            # what Spark changed since the copy, not what the bucket holds now: a driver's boto3 writes stay
            remote = self._mirrored.get(bucket, {})
            for key, path in local.items():
                body = path.read_bytes()
                if remote.get(key) != body:
                    s3.put_object(Bucket=bucket, Key=key, Body=body)
            for key in remote.keys() - local.keys():
                s3.delete_object(Bucket=bucket, Key=key)

    def _fetch_prefix(self, uri: str) -> list[Path]:
        """Copy the objects under an s3:// prefix to a local folder (for COPY); returns their paths."""
        bucket, _, prefix = uri[5:].partition("/")
        target = Path(tempfile.mkdtemp(prefix="copy-", dir=self._workspace))
        paths = []
        for index, (key, body) in enumerate(self.objects(bucket, prefix)):
            path = target / f"{index:05d}-{Path(key).name}"
            path.write_bytes(body)
            paths.append(path)
        return paths

    # ---- Glue -----------------------------------------------------------------------------------------

    def run_glue_job(self, job_name: str, run_id: str, script_location: str, arguments: dict[str, str]) -> JobRun:
        """Execute the job's script on local Spark with its arguments (s3:// locations mirrored); what it prints
        and the error that ends it go to the run's CloudWatch Logs streams."""
        run = JobRun(job_name=job_name, run_id=run_id, arguments=dict(arguments))
        self.job_runs.append(run)
        started = time.monotonic()
        output = _Tee(sys.stderr)
        with self._lock:
            self._sync_down()
            script = Path(self._local(script_location).removeprefix("file://"))
            extra = [
                str(Path(self._local(path).removeprefix("file://")).parent)
                for path in arguments.get("--extra-py-files", "").split(",")
                if path
            ]
            argv = [str(script)]
            for name, value in arguments.items():
                if name != "--extra-py-files":
                    argv += [name, value if name in BOTO3_ARGUMENTS else self._local(value)]
            saved_path, saved_argv = list(sys.path), list(sys.argv)
            sys.path[:0] = [*extra, str(script.parent)]
            sys.argv = argv
            try:
                local_spark()
                # what the job prints goes to its log on Glue; locally to stderr too, away from the CLI's summary
                with contextlib.redirect_stdout(output):
                    runpy.run_path(str(script), run_name="__main__")
                self._sync_up()
                if job_name in self.crash_after_write:
                    self.crash_after_write.discard(job_name)
                    raise RuntimeError("injected crash: the job's driver was lost after writing its output")
                run.state = "SUCCEEDED"
            except BaseException as exc:
                run.state = "FAILED"
                # as Glue reports it: the job's own locations, not the local mirror it ran on
                run.error = self._remote(f"{type(exc).__name__}: {exc}")
                log.debug("Glue job %s failed:\n%s", job_name, traceback.format_exc())
            finally:
                sys.path[:] = saved_path
                sys.argv = saved_argv
                for name in ("common",):
                    sys.modules.pop(name, None)
        run.seconds = time.monotonic() - started
        self._write_logs(run, self._remote(output.getvalue()))
        return run

    def _write_logs(self, run: JobRun, output: str) -> None:
        """The run's stdout to `<prefix>/output` and its error to `<prefix>/error`, stream = run id, as Glue 5.0."""
        prefix = self.log_group_prefix(run.arguments)
        logs = self.client("logs")
        now = int(time.time() * 1000)
        for suffix, text in (("output", output), ("error", run.error or "")):
            group = f"{prefix}/{suffix}"
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=group, logStreamName=run.run_id)
            events = [{"timestamp": now, "message": line} for line in text.splitlines() if line.strip()]
            if events:
                logs.put_log_events(logGroupName=group, logStreamName=run.run_id, logEvents=events)

    def log_group_prefix(self, arguments: dict[str, str]) -> str:
        return arguments.get("--custom-logGroup-prefix", DEFAULT_LOG_GROUP_PREFIX)

    def _run_job(self, job: Any, fake_run: Any) -> None:
        """One run of a job to its end state (on the caller's thread, or on its own when asynchronous)."""
        from moto.core.utils import utcnow

        try:
            run = self.run_glue_job(
                job.name, fake_run.job_run_id, job.command["ScriptLocation"], fake_run.arguments or {}
            )
        except Exception as exc:  # the engine itself failed (e.g. the mirror): the run fails, never hangs RUNNING
            log.exception("Glue job %s could not run", job.name)
            run = JobRun(job.name, fake_run.job_run_id, {}, state="FAILED", error=f"{type(exc).__name__}: {exc}")
        fake_run.local_error = run.error
        fake_run.local_seconds = run.seconds
        fake_run.completed_on = utcnow()
        fake_run.local_state = run.state
        if self.on_job_end is not None and not self._stopping.is_set():
            self.on_job_end(job.name, fake_run.job_run_id, run.state, run.error)

    # ---- Redshift Data API ----------------------------------------------------------------------------

    def run_statements(self, sqls: list[str]) -> Statement:
        statement = Statement(id=str(uuid.uuid4()), sqls=list(sqls))
        try:
            statement.results = self.warehouse.execute_batch(statement.sqls)
        except StatementError as exc:
            statement.status, statement.error = "FAILED", str(exc)
        self.statements[statement.id] = statement
        return statement

    # ---- patches --------------------------------------------------------------------------------------

    def _install_patches(self) -> None:
        from moto.glue.exceptions import ConcurrentRunsExceededException
        from moto.glue.models import FakeJobRun, GlueBackend
        from moto.redshiftdata.responses import RedshiftDataAPIServiceResponse
        from moto.s3.exceptions import MissingUploadObjectWithObjectLockHeaders

        engine = self
        moto_start = GlueBackend.start_job_run
        moto_as_dict = FakeJobRun.as_dict

        def start_job_run(backend: Any, name: str, *args: Any, **kwargs: Any) -> str:
            """Glue's StartJobRun: refused beyond the job's MaxConcurrentRuns, RUNNING until the script ends (moto
            jumps to SUCCEEDED without running anything)."""
            job = backend.get_job(name)
            with engine._starting:  # the endpoint serves requests on many threads
                running = [run for run in job.job_runs if getattr(run, "local_state", None) == "RUNNING"]
                if len(running) >= int((job.execution_property or {}).get("MaxConcurrentRuns", 1)):
                    raise ConcurrentRunsExceededException(f"Job with name {name} already running")
                run_id = moto_start(backend, name, *args, **kwargs)
                fake_run = next(run for run in job.job_runs if run.job_run_id == run_id)
                fake_run.local_state = "RUNNING"
            if engine.asynchronous:
                threading.Thread(target=engine._run_job, args=(job, fake_run), name=f"glue-{name}", daemon=True).start()
            else:
                engine._run_job(job, fake_run)
            return run_id

        def as_dict(fake_run: Any) -> dict[str, Any]:
            result = moto_as_dict(fake_run)
            state = getattr(fake_run, "local_state", None)
            if state is not None:
                result["JobRunState"] = state
                result["ExecutionTime"] = int(getattr(fake_run, "local_seconds", 0))
                result["LogGroupName"] = engine.log_group_prefix(fake_run.arguments or {})
                if state == "RUNNING":
                    result.pop("CompletedOn", None)
            if getattr(fake_run, "local_error", None):
                result["ErrorMessage"] = fake_run.local_error
            return result

        def execute_statement(response: Any) -> tuple[int, dict, str]:
            statement = engine.run_statements([response._get_param("Sql")])
            return 200, {}, json.dumps({"Id": statement.id, "Database": response._get_param("Database")})

        def batch_execute_statement(response: Any) -> tuple[int, dict, str]:
            statement = engine.run_statements(response._get_param("Sqls"))
            return 200, {}, json.dumps({"Id": statement.id, "Database": response._get_param("Database")})

        def describe_statement(response: Any) -> tuple[int, dict, str]:
            statement = engine.statements[response._get_param("Id")]
            last = statement.results[-1] if statement.results else Result()
            body = {
                "Id": statement.id,
                "Status": statement.status,
                "QueryString": "; ".join(statement.sqls),
                "HasResultSet": bool(last.columns),
                "ResultRows": len(last.rows) if last.columns else last.affected,
            }
            if statement.error:
                body["Error"] = statement.error
            return 200, {}, json.dumps(body)

        def get_statement_result(response: Any) -> tuple[int, dict, str]:
            result = engine.statements[response._get_param("Id")].results[-1]
            return (
                200,
                {},
                json.dumps(
                    {
                        "ColumnMetadata": [{"name": name, "typeName": kind} for name, kind in result.columns],
                        "Records": [[_field(value) for value in row] for row in result.rows],
                        "TotalNumberRows": len(result.rows),
                    }
                ),
            )

        patches = [
            mock.patch.object(GlueBackend, "start_job_run", start_job_run),
            mock.patch.object(FakeJobRun, "as_dict", as_dict),
            mock.patch.object(RedshiftDataAPIServiceResponse, "execute_statement", execute_statement),
            mock.patch.object(
                RedshiftDataAPIServiceResponse, "batch_execute_statement", batch_execute_statement, create=True
            ),
            mock.patch.object(RedshiftDataAPIServiceResponse, "describe_statement", describe_statement),
            mock.patch.object(RedshiftDataAPIServiceResponse, "get_statement_result", get_statement_result),
            mock.patch.object(MissingUploadObjectWithObjectLockHeaders, "__init__", object_lock_put_refused_as_s3),
        ]
        for patcher in patches:
            self._patch(patcher)


class _Tee(io.StringIO):
    """A job's stdout: kept for its CloudWatch Logs stream and passed on to `echo` (stderr) as it is written."""

    def __init__(self, echo: Any) -> None:
        super().__init__()
        self._echo = echo

    def write(self, text: str) -> int:
        self._echo.write(text)
        return super().write(text)


def object_lock_put_refused_as_s3(error: Any) -> None:
    """Fix: moto refuses a PUT without Content-MD5 or checksum to a bucket with default retention, as S3 does, but
    with its own error code; S3 answers 400 InvalidRequest (the PutObject API reference,
    docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html, and the error users report from S3)."""
    from moto.s3.exceptions import S3ClientError

    S3ClientError.__init__(
        error,
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
    )


def _field(value: Any) -> dict[str, Any]:
    """One value as a Data API record field."""
    if value is None:
        return {"isNull": True}
    if isinstance(value, bool):
        return {"booleanValue": value}
    if isinstance(value, int):
        return {"longValue": value}
    if isinstance(value, float):
        return {"doubleValue": value}
    return {"stringValue": str(value)}


_SPARK: Any = None
LOG4J = Path(__file__).resolve().parent / "log4j2.properties"


def local_spark() -> Any:
    """The process's Spark session, sized for a laptop (created once, reused by every job run)."""
    global _SPARK
    if _SPARK is None:
        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        _SPARK = (
            SparkSession.builder.master("local[2]")
            .appName("localrun-glue")
            .config("spark.ui.enabled", "false")
            # Small data: one shuffle partition, no adaptive re-planning, interpreted instead of compiled code.
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.sql.adaptive.enabled", "false")
            .config("spark.sql.codegen.wholeStage", "false")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.memory", "1g")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={LOG4J}")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            .getOrCreate()
        )
        _SPARK.sparkContext.setLogLevel("ERROR")
    return _SPARK
