"""The emulated AWS of the DataPlatform stack, built from its synthesized template: the one platform that
`localrun etl` (in-process, under `dag.test()`) and `localrun mwaa` (behind moto's server mode, for a real
Airflow) both run. Buckets (with the files the template's deployments upload), Glue jobs, the secret, the topic,
the queue, IAM roles, the trigger function and the EventBridge rules are each created from their template
properties, so a run uses the deployed names and definitions. It reuses the engines of `localrun` rather than
copying them:

* `localrun.emulator.Emulator` (which the order runner uses too) creates the functions, roles, queues and
  topics and runs a function's handler from `lambdas/` in-process;
* `localrun.data_platform.GlueEngine` runs a Glue job's script on local Spark and serves the Redshift Data API
  from DuckDB.

What moto 5.2.5 lacks, added here (each a small patch, see the method that installs it):

* EventBridge delivers to Lambda and SNS targets (moto: SQS, logs, buses only). A Lambda target is an
  asynchronous invocation: retried as the function's EventInvokeConfig says, then sent to its dead-letter queue;
* a Glue run's end puts a "Glue Job State Change" event on the default bus (the engine runs the job);
* MWAA InvokeRestApi (moto has no MWAA): the request is made to the local Airflow REST API with the admin's
  token, and answered as MWAA answers it (RestApiClientException / RestApiServerException for 4xx / 5xx, with
  RestApiStatusCode and RestApiResponse).
"""

from __future__ import annotations

import copy
import datetime as dt
import fnmatch
import hashlib
import json
import logging
import re
import secrets
import string
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar
from unittest import mock

from .data_platform import GlueEngine
from .emulator import Emulator
from .template import ACCOUNT, REGION, Template, TemplateError

log = logging.getLogger(__name__)

# Lambda retries a failed asynchronous invocation twice by default, waiting about 1 and then 2 minutes
# (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); locally 10 and 20 seconds.
ASYNC_RETRY_DELAYS = (10.0, 20.0)
DEFAULT_ASYNC_RETRIES = 2
# MWAA InvokeRestApi: POST /restapi/{Name} on env.airflow.<region>.amazonaws.com
# (docs.aws.amazon.com/mwaa/latest/API/API_InvokeRestApi.html); Path is relative to Airflow's /api/v2.
MWAA_URL = re.compile(r"^https?://env\.airflow\.[a-z0-9-]+\.amazonaws\.com(?::\d+)?/restapi/([^/?]+)")
AIRFLOW_TIMEOUT = 30.0


@dataclass(frozen=True)
class AirflowAccess:
    """Where InvokeRestApi sends its requests, and as whom (MWAA maps the caller's IAM role to an Airflow role;
    locally every request is the admin's)."""

    url: str
    username: str
    password: str


@dataclass
class Delivery:
    """One asynchronous invocation of a function by an EventBridge rule, and what became of it."""

    function: str
    rule: str
    event: dict[str, Any]
    attempts: int = 0
    errors: list[str] = field(default_factory=list)
    outcome: str = "pending"  # succeeded | dead-lettered | dropped


def physical_name(stack: str, logical_id: str, limit: int = 63) -> str:
    """A name as CloudFormation makes one for an unnamed resource (stack and logical id, lower case), without
    its random suffix: the same template gives the same names on every start."""
    return f"{stack}-{logical_id}".lower()[:limit].rstrip("-")


def generated_secret(spec: dict[str, Any]) -> str:
    """A value for a secret's GenerateSecretString: a random password, alone or as a key of the template JSON."""
    alphabet = string.ascii_letters + string.digits
    if not spec.get("ExcludePunctuation"):
        alphabet += "!#$%&*+-.:;<=>?^_~"
    excluded = set(spec.get("ExcludeCharacters", ""))
    alphabet = "".join(c for c in alphabet if c not in excluded)
    password = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    if "SecretStringTemplate" in spec:
        value = json.loads(spec["SecretStringTemplate"])
        value[spec.get("GenerateStringKey", "password")] = password
        return json.dumps(value)
    return password


def iso_time(value: Any) -> str:
    """An event's `time` as EventBridge writes it (moto keeps a Unix timestamp)."""
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


class TemplatePlatform(Emulator):
    """Context manager: the template's resources in moto plus the engines; `with TemplatePlatform(...) as aws:`.

    `airflow` is where MWAA's InvokeRestApi reaches Airflow (None: it answers InternalServerException);
    `asynchronous_glue=False` runs a Glue job inside StartJobRun (what `dag.test()` in one process needs)."""

    def __init__(
        self,
        template: Template,
        assembly: Path,
        airflow: AirflowAccess | None = None,
        warehouse_path: Path | None = None,
        asynchronous_glue: bool = True,
    ) -> None:
        super().__init__(template)
        self.assembly = assembly
        self.airflow = airflow
        self.engine = GlueEngine(warehouse_path, asynchronous=asynchronous_glue)
        self.engine.on_job_end = self._job_ended
        self.environment: dict[str, Any] = {}
        self.invoke_configs: dict[str, dict[str, Any]] = {}
        self.dead_letter_targets: dict[str, str] = {}
        # buckets a BucketDeployment fills from the assembly at every start: never saved nor restored
        self.deployed_buckets: set[str] = set()
        self.deliveries: list[Delivery] = []
        self._stopping = threading.Event()
        self._token: str | None = None
        self._token_lock = threading.Lock()

    # ---- lifecycle ------------------------------------------------------------------------------------

    def __enter__(self) -> TemplatePlatform:
        self.engine.__enter__()
        try:
            super().__enter__()
        except BaseException:
            self.engine.__exit__(None, None, None)
            raise
        buckets = self.template.of_type("AWS::S3::Bucket")
        self.engine.buckets = {logical_id: self.template.refs[logical_id] for logical_id in buckets}
        self.engine.scripts_bucket = self.environment.get("source_bucket", "")
        self.engine.topic_arn = self.describe()["operations_topic_arn"] or ""
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_background()
        try:
            super().__exit__(*exc)
        finally:
            self.engine.__exit__(*exc)

    def stop_background(self) -> None:
        """No more retries, deliveries or job-end events: the process is stopping."""
        self._stopping.set()
        self.engine.stop_background()

    def _install_patches(self) -> None:
        super()._install_patches()
        from moto.core.botocore_stubber import BotocoreStubber
        from moto.events.models import Rule

        platform = self
        moto_send = Rule.send_to_targets
        moto_process = BotocoreStubber.process_request

        def send_to_targets(rule: Any, event: dict[str, Any], transform_input: bool = True) -> None:
            if not rule.event_pattern.matches_event(event):
                return
            others = []
            for target in rule.targets:
                service = target["Arn"].split(":")[2]
                if service == "lambda":
                    platform._deliver_to_function(rule.name, target, event)
                elif service == "sns":
                    platform._publish_to_topic(target, event)
                else:
                    others.append(target)
            if others:
                subset = copy.copy(rule)
                subset.targets = others
                moto_send(subset, event, transform_input)

        def process_request(stubber: Any, request: Any) -> Any:
            match = MWAA_URL.match(request.url)
            if match:
                return platform.invoke_rest_api(urllib.parse.unquote(match.group(1)), request.body)
            return moto_process(stubber, request)

        self._patch(mock.patch.object(Rule, "send_to_targets", send_to_targets))
        self._patch(mock.patch.object(BotocoreStubber, "process_request", process_request))

    # ---- what the runner reads ------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The names a client needs (buckets, topic, warehouse, environment), resolved."""
        options = self.environment.get("options", {})
        section = {key.split(".", 1)[1]: value for key, value in options.items() if key.startswith("financial_etl.")}
        trigger = self.function_for("trigger_etl_dag")
        return {
            "stack": self.template.stack_name,
            "environment_name": self.environment.get("name"),
            "airflow_version": self.environment.get("airflow_version"),
            "airflow_configuration_options": options,
            "source_bucket": self.environment.get("source_bucket"),
            "dag_s3_path": self.environment.get("dag_s3_path"),
            "startup_script_s3_path": self.environment.get("startup_script_s3_path"),
            "requirements_s3_path": self.environment.get("requirements_s3_path"),
            "dag_id": self.functions[trigger].environment.get("DAG_ID"),
            "trigger_function": trigger,
            "landing_bucket": section.get("landing_bucket"),
            "raw_bucket": section.get("raw_bucket"),
            "curated_bucket": section.get("curated_bucket"),
            "reports_bucket": section.get("reports_bucket"),
            "operations_topic_arn": section.get("operations_topic_arn"),
            "redshift_workgroup": section.get("redshift_workgroup"),
            "redshift_database": section.get("redshift_database"),
            "buckets": dict(self.engine.buckets),
        }

    # ---- EventBridge targets --------------------------------------------------------------------------

    def _deliver_to_function(self, rule: str, target: dict[str, Any], event: dict[str, Any]) -> None:
        name = target["Arn"].split(":")[6]
        # moto gives every S3 event the same id; EventBridge gives each its own
        payload = dict(event, id=str(uuid.uuid4()), time=iso_time(event.get("time")))
        if "Input" in target:
            payload = json.loads(target["Input"])
        delivery = Delivery(function=name, rule=rule, event=payload)
        self.deliveries.append(delivery)
        threading.Thread(target=self._invoke_async, args=(delivery,), name=f"async-{name}", daemon=True).start()

    def _invoke_async(self, delivery: Delivery) -> None:
        """Lambda's asynchronous invocation: the first attempt, the configured retries, then the dead-letter queue."""
        config = self.invoke_configs.get(delivery.function, {})
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
        max_age = float(config.get("MaximumEventAgeInSeconds", 6 * 3600))
        started = time.monotonic()
        body = json.dumps(delivery.event)
        for attempt in range(retries + 1):
            if self._stopping.is_set():
                delivery.outcome = "dropped"
                return
            delivery.attempts += 1
            payload, failed = self.invoke(delivery.function, body)
            if not failed:
                delivery.outcome = "succeeded"
                return
            error = json.loads(payload)
            delivery.errors.append(f"{error.get('errorType')}: {error.get('errorMessage')}")
            log.warning("%s failed (attempt %d): %s", delivery.function, delivery.attempts, delivery.errors[-1])
            if attempt < retries:
                delay = ASYNC_RETRY_DELAYS[min(attempt, len(ASYNC_RETRY_DELAYS) - 1)]
                if time.monotonic() - started + delay > max_age or self._stopping.wait(delay):
                    break
        queue_arn = self.dead_letter_targets.get(delivery.function)
        if queue_arn and not self._stopping.is_set():
            # Lambda sends the event with RequestID, ErrorCode and ErrorMessage attributes to the function's DLQ
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[1])["QueueUrl"]
            message = delivery.errors[-1] if delivery.errors else ""
            sqs.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageAttributes={
                    "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                    "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                    "ErrorMessage": {"DataType": "String", "StringValue": message[:1000]},
                },
            )
            delivery.outcome = "dead-lettered"
        else:
            delivery.outcome = "dropped"

    def _publish_to_topic(self, target: dict[str, Any], event: dict[str, Any]) -> None:
        message = target.get("Input") or json.dumps(dict(event, time=iso_time(event.get("time"))))

        def publish() -> None:
            try:
                self.client("sns").publish(TopicArn=target["Arn"], Message=message)
            except Exception:
                log.exception("EventBridge could not publish to %s", target["Arn"])

        threading.Thread(target=publish, name="eventbridge-sns", daemon=True).start()

    def _job_ended(self, job_name: str, run_id: str, state: str, error: str | None) -> None:
        """Glue's "Glue Job State Change" event on the default bus
        (docs.aws.amazon.com/glue/latest/dg/automating-awsglue-with-cloudwatch-events.html)."""
        from moto.events.models import events_backends

        detail = {
            "jobName": job_name,
            "severity": "INFO" if state == "SUCCEEDED" else "ERROR",
            "state": state,
            "jobRunId": run_id,
            "message": error or "Job run succeeded",
        }
        entry = {"Source": "aws.glue", "DetailType": "Glue Job State Change", "Detail": json.dumps(detail)}
        try:
            events_backends[ACCOUNT][REGION].put_events([entry])
        except Exception:
            log.exception("could not put the Glue job state change event")

    # ---- MWAA InvokeRestApi ---------------------------------------------------------------------------

    def invoke_rest_api(self, name: str, body: Any) -> tuple[int, dict[str, str], str]:
        """InvokeRestApi's answer (status, headers, body) for environment `name` and the request body."""
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        if name != self.environment.get("name"):
            return _error(404, "ResourceNotFoundException", f"Environment {name} was not found")
        try:
            request = json.loads(body or "{}")
            method, path = str(request["Method"]).upper(), str(request["Path"])
        except (ValueError, KeyError, TypeError):
            return _error(400, "ValidationException", "Method and Path are required")
        if method not in ("GET", "PUT", "POST", "PATCH", "DELETE"):
            return _error(400, "ValidationException", f"Method {method} is not one of GET, PUT, POST, PATCH, DELETE")
        if self.airflow is None:
            return _error(500, "InternalServerException", "no Airflow is attached to this environment")
        query = request.get("QueryParameters") or {}
        url = f"{self.airflow.url}/api/v2{path}" + ("?" + urllib.parse.urlencode(query, doseq=True) if query else "")
        status, response = self._airflow_call(method, url, request.get("Body"))
        if 200 <= status < 300:
            payload = {"RestApiStatusCode": status, "RestApiResponse": response}
            return 200, {"Content-Type": "application/json"}, json.dumps(payload)
        code = "RestApiClientException" if status < 500 else "RestApiServerException"
        payload = {"message": f"Airflow answered {status}", "RestApiStatusCode": status, "RestApiResponse": response}
        return 400, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(payload)

    def _airflow_call(self, method: str, url: str, body: Any) -> tuple[int, Any]:
        for fresh in (False, True):
            try:
                token = self._airflow_token(fresh)
                status, response = http_json(method, url, body, {"Authorization": f"Bearer {token}"})
            except OSError as exc:
                return 503, {"detail": f"the Airflow API server is not reachable: {exc}"}
            if status != 401:
                return status, response
        return status, response

    def _airflow_token(self, fresh: bool) -> str:
        assert self.airflow is not None
        with self._token_lock:
            if fresh or self._token is None:
                credentials = {"username": self.airflow.username, "password": self.airflow.password}
                status, response = http_json("POST", f"{self.airflow.url}/auth/token", credentials, {})
                if status >= 300 or not isinstance(response, dict):
                    raise OSError(f"POST /auth/token answered {status}")
                self._token = response["access_token"]
            return self._token

    # ---- resources from the template -----------------------------------------------------------------

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("BucketName") or physical_name(self.template.stack_name, logical_id)
        s3 = self.client("s3")
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(props.get("ObjectLockEnabled")))
        if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        lock = props.get("ObjectLockConfiguration")
        if lock and lock.get("Rule"):
            s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration=self.template.resolve(lock))
        self.template.refs[logical_id] = name
        for attribute, value in {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        }.items():
            self.template.attributes[(logical_id, attribute)] = value

    def _bucket_notifications(self, logical_id: str, props: dict[str, Any]) -> None:
        self.client("s3").put_bucket_notification_configuration(
            Bucket=self.template.resolve(props["BucketName"]),
            NotificationConfiguration=self.template.resolve(props["NotificationConfiguration"]),
        )
        self.template.refs[logical_id] = logical_id

    def _bucket_deployment(self, logical_id: str, props: dict[str, Any]) -> None:
        """What CDK's BucketDeployment uploads: each source asset of the assembly under the destination prefix."""
        bucket = self.template.resolve(props["DestinationBucketName"])
        prefix = self.template.resolve(props.get("DestinationBucketKeyPrefix", ""))
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        excluded = self.template.resolve(props.get("Exclude", []))
        self.deployed_buckets.add(bucket)
        s3 = self.client("s3")
        for key in self.template.resolve(props["SourceObjectKeys"]):
            for relative, body in self._asset_files(str(key).removesuffix(".zip")):
                if not any(fnmatch.fnmatch(relative, pattern) for pattern in excluded):
                    s3.put_object(Bucket=bucket, Key=prefix + relative, Body=body)
        self.template.refs[logical_id] = logical_id

    def _asset_files(self, asset_hash: str) -> list[tuple[str, bytes]]:
        import zipfile

        manifest = json.loads((self.assembly / f"{self.template.stack_name}.assets.json").read_text())
        try:
            source = self.assembly / manifest["files"][asset_hash]["source"]["path"]
        except KeyError:
            raise TemplateError(f"asset {asset_hash} is not in {self.template.stack_name}.assets.json") from None
        if source.is_dir():
            return [
                (path.relative_to(source).as_posix(), path.read_bytes())
                for path in sorted(source.rglob("*"))
                if path.is_file()
            ]
        with zipfile.ZipFile(source) as archive:
            return [(info.filename, archive.read(info)) for info in archive.infolist() if not info.is_dir()]

    def _glue_job(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or physical_name(self.template.stack_name, logical_id, 255)
        resolved = {
            key: self.template.resolve(props[key])
            for key in (
                "Command",
                "DefaultArguments",
                "NonOverridableArguments",
                "Description",
                "GlueVersion",
                "MaxRetries",
                "Timeout",
                "WorkerType",
                "NumberOfWorkers",
                "ExecutionProperty",
            )
            if key in props
        }
        self.client("glue").create_job(Name=name, Role=self.template.resolve(props["Role"]), **resolved)
        self.template.refs[logical_id] = name

    def _secret(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or f"{logical_id}-local"
        if "SecretString" in props:
            value = self.template.resolve(props["SecretString"])
        else:
            value = generated_secret(props.get("GenerateSecretString", {}))
        arn = self.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
        self.template.refs[logical_id] = arn
        self.template.attributes[(logical_id, "Id")] = arn

    def _rule(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or physical_name(self.template.stack_name, logical_id, 64)
        events = self.client("events")
        arn = events.put_rule(
            Name=name,
            EventPattern=json.dumps(self.template.resolve(props["EventPattern"])),
            State=props.get("State", "ENABLED"),
            Description=props.get("Description", ""),
        )["RuleArn"]
        targets = self.template.resolve(props.get("Targets", []))
        if targets:
            events.put_targets(Rule=name, Targets=targets)
        self.template.refs[logical_id] = name
        self.template.attributes[(logical_id, "Arn")] = arn

    def _function(self, logical_id: str, props: dict[str, Any]) -> None:
        Emulator._function(self, logical_id, props)
        dead_letter = props.get("DeadLetterConfig", {}).get("TargetArn")
        if dead_letter:
            self.dead_letter_targets[self.template.refs[logical_id]] = self.template.resolve(dead_letter)

    def _invoke_config(self, logical_id: str, props: dict[str, Any]) -> None:
        function = str(self.template.resolve(props["FunctionName"])).split(":")[-1]
        self.invoke_configs[function] = {
            key: props[key] for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds") if key in props
        }
        self.template.refs[logical_id] = logical_id

    def _warehouse_part(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("WorkgroupName") or props.get("NamespaceName") or logical_id
        self.template.refs[logical_id] = name

    def _mwaa_environment(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props["Name"]
        options = self.template.resolve(props.get("AirflowConfigurationOptions", {}))
        source_arn = self.template.resolve(props["SourceBucketArn"])
        self.environment = {
            "name": name,
            "airflow_version": props.get("AirflowVersion"),
            "options": {key: str(value) for key, value in options.items()},
            "source_bucket": source_arn.rsplit(":", 1)[1],
            "dag_s3_path": props.get("DagS3Path"),
            "startup_script_s3_path": props.get("StartupScriptS3Path"),
            "requirements_s3_path": props.get("RequirementsS3Path"),
        }
        self.template.refs[logical_id] = name
        self.template.attributes[(logical_id, "Arn")] = f"arn:aws:airflow:{REGION}:{ACCOUNT}:environment/{name}"
        if self.airflow is not None:
            self.template.attributes[(logical_id, "WebserverUrl")] = self.airflow.url

    _CREATORS: ClassVar[dict[str, Any]] = {
        **Emulator._CREATORS,
        "AWS::Lambda::Function": _function,
        "AWS::S3::Bucket": _bucket,
        "Custom::S3BucketNotifications": _bucket_notifications,
        "Custom::CDKBucketDeployment": _bucket_deployment,
        "AWS::Glue::Job": _glue_job,
        "AWS::SecretsManager::Secret": _secret,
        "AWS::Events::Rule": _rule,
        "AWS::Lambda::EventInvokeConfig": _invoke_config,
        "AWS::RedshiftServerless::Namespace": _warehouse_part,
        "AWS::RedshiftServerless::Workgroup": _warehouse_part,
        "AWS::MWAA::Environment": _mwaa_environment,
    }

    # ---- state across restarts -----------------------------------------------------------------------

    def save_objects(self, folder: Path) -> int:
        """Every bucket's current objects to `folder` (an index plus content-addressed blobs); returns how many.
        The buckets deployments fill are left out: the next start deploys the assembly's files again."""
        blobs = folder / "blobs"
        blobs.mkdir(parents=True, exist_ok=True)
        index = []
        for name in sorted(set(self.engine.buckets.values()) - self.deployed_buckets):
            for key, body in self.engine.objects(name):
                digest = hashlib.sha256(body).hexdigest()
                (blobs / digest).write_bytes(body)
                index.append({"bucket": name, "key": key, "sha256": digest})
        staging = folder / "objects.json.tmp"
        staging.write_text(json.dumps(index))
        staging.replace(folder / "objects.json")
        kept = {item["sha256"] for item in index}
        for blob in blobs.iterdir():
            if blob.name not in kept:
                blob.unlink()
        return len(index)

    def load_objects(self, folder: Path) -> int:
        """Put back what save_objects wrote (no events: the rules saw these objects arrive the first time)."""
        index_file = folder / "objects.json"
        if not index_file.exists():
            return 0
        s3 = self.client("s3")
        known = set(self.engine.buckets.values()) - self.deployed_buckets
        count = 0
        with mock.patch("moto.s3.notifications.send_event"):
            for item in json.loads(index_file.read_text()):
                if item["bucket"] in known:
                    body = (folder / "blobs" / item["sha256"]).read_bytes()
                    s3.put_object(Bucket=item["bucket"], Key=item["key"], Body=body, ChecksumAlgorithm="SHA256")
                    count += 1
        return count


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], str]:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps({"message": message})


def http_json(method: str, url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    """(status, JSON body or text) of one request; OSError when the server cannot be reached."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - the local Airflow's URL
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in headers.items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=AIRFLOW_TIMEOUT) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode("utf-8", "replace")
