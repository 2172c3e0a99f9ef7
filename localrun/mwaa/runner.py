"""`python -m localrun mwaa`: the emulated AWS endpoint and Airflow's four processes, started in order, watched,
and stopped together.

Ready means: the endpoint holds the template's resources, the API server answers, the scheduler, DAG processor
and triggerer report healthy, and the DAG is parsed (and unpaused unless --paused). Then DIR/endpoints.json is
written and `ready: <the same JSON>` printed. SIGINT or SIGTERM stops every process started (and whatever they
started) within 30 seconds; DIR keeps the Airflow database, logs, the saved objects and the warehouse, so a start
with the same DIR continues where the last one stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psutil

from ..emulator import LOCAL_ENV, ROOT
from ..orders import InputError
from ..platform import http_json
from ..template import REGION, find_template
from . import airflow as af

READY_TIMEOUT = 180.0
# Airflow's processes get this long to stop on SIGTERM, then the endpoint (which saves the buckets) the rest.
AIRFLOW_STOP_SECONDS = 12.0
ENDPOINT_STOP_SECONDS = 8.0
LOCAL_CREDENTIALS = {
    "aws_access_key_id": LOCAL_ENV["AWS_ACCESS_KEY_ID"],
    "aws_secret_access_key": LOCAL_ENV["AWS_SECRET_ACCESS_KEY"],
}


class StartError(Exception):
    """The environment did not become ready; the message says which part and where its log is."""


@dataclass
class MwaaOptions:
    home: Path
    airflow_port: int = 8080
    aws_port: int = 4566
    stack: str | None = None
    assembly: Path = Path("cdk.out")
    paused: bool = False
    keep_retries: bool = False
    ready_timeout: float = READY_TIMEOUT


@dataclass
class Supervisor:
    """Processes started in their own sessions, each with a log file; stopping one stops its whole tree."""

    logs: Path
    cwd: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    descendants: dict[str, set[psutil.Process]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(  # noqa: S603 - our own interpreter and modules
                argv, env=env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes[name] = process
        self.descendants[name] = set()
        return process

    def track(self) -> None:
        """Remember every descendant now alive: one that leaves the process group is still stopped."""
        for name, process in self.processes.items():
            if process.poll() is None:
                with contextlib.suppress(psutil.Error):
                    self.descendants[name].update(psutil.Process(process.pid).children(recursive=True))

    def exited(self, names: list[str]) -> tuple[str, int] | None:
        for name in names:
            process = self.processes.get(name)
            if process is not None and process.poll() is not None:
                return name, process.returncode
        return None

    def stop(self, names: list[str], seconds: float, group: bool = True) -> None:
        """SIGTERM to each process group (`group=False`: to the process alone, which stops its children itself),
        SIGKILL to whatever is left of the group after `seconds`."""
        self.track()
        running = [name for name in names if name in self.processes]
        for name in running:
            if group:
                _signal_group(self.processes[name].pid, signal.SIGTERM)
            else:
                with contextlib.suppress(ProcessLookupError):
                    self.processes[name].send_signal(signal.SIGTERM)
        deadline = time.monotonic() + seconds
        for name in running:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.processes[name].wait(max(0.0, deadline - time.monotonic()))
        for name in running:
            _signal_group(self.processes[name].pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.processes[name].wait(5)
            for child in self.descendants[name]:
                with contextlib.suppress(psutil.Error):
                    if child.is_running():
                        child.kill()
            self.processes.pop(name)


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def check_port(port: int, what: str) -> None:
    with socket.socket() as probe:
        # as the servers bind: a port whose last connections are in TIME_WAIT is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise InputError(f"port {port} ({what}) is in use: choose another one") from None


class MwaaRun:
    """One start of the environment (see the module docstring); `run()` returns the exit code."""

    def __init__(self, options: MwaaOptions, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> None:
        self.options = options
        self.home = options.home.resolve()
        self.stdout, self.stderr = stdout, stderr
        self.stop = threading.Event()
        self.supervisor = Supervisor(self.home / "logs", ROOT)
        self.airflow_url = f"http://127.0.0.1:{options.airflow_port}"
        self.aws_url = f"http://127.0.0.1:{options.aws_port}"
        self.endpoints_file = self.home / "endpoints.json"
        self._token: str | None = None

    def say(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    # ---- the whole life ------------------------------------------------------------------------------

    def run(self) -> int:
        self.home.mkdir(parents=True, exist_ok=True)
        self.endpoints_file.unlink(missing_ok=True)
        stack, template = find_template(self.options.assembly, "AWS::MWAA::Environment", self.options.stack)
        environment = next(r for r in template["Resources"].values() if r["Type"] == "AWS::MWAA::Environment")
        version = af.check_airflow_version(environment["Properties"].get("AirflowVersion"))
        check_port(self.options.airflow_port, "--airflow-port")
        check_port(self.options.aws_port, "--aws-port")
        previous = {
            signum: signal.signal(signum, lambda *_: self.stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            endpoints = self._start(stack, environment["Properties"].get("Name", stack), version)
            if endpoints is None:  # SIGINT or SIGTERM while starting
                return 0
            self.say(f"Airflow {version} at {self.airflow_url} (user {endpoints['username']}), AWS at {self.aws_url}")
            print("ready: " + json.dumps(endpoints), file=self.stdout, flush=True)
            return self._watch()
        except StartError as exc:
            self.say(f"error: {exc}")
            return 1
        finally:
            self._shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _start(self, stack: str, environment_name: str, version: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + self.options.ready_timeout
        password = af.password(self.home)
        af.write_policies(self.home, self.options.keep_retries)
        log_ports = (free_port(), free_port())
        self.say(f"starting the emulated AWS of {stack} on {self.aws_url} and Airflow {version} on {self.airflow_url}")
        ready_file = self.home / "aws" / "ready.json"
        ready_file.unlink(missing_ok=True)
        server_env = {
            **os.environ,
            **LOCAL_ENV,
            "PYTHONPATH": str(ROOT),
            "LOCALRUN_AIRFLOW_USERNAME": af.USERNAME,
            "LOCALRUN_AIRFLOW_PASSWORD": password,
        }
        self.supervisor.start(
            "aws",
            [
                sys.executable, "-m", "localrun.mwaa.server", "--cdk-out", str(self.options.assembly.resolve()),
                "--stack", stack, "--port", str(self.options.aws_port), "--state", str(self.home / "aws"),
                "--ready-file", str(ready_file), "--airflow-url", self.airflow_url,
            ],
            server_env,
        )  # fmt: skip
        migrate_env = af.base_environment(
            self.home, self.options.airflow_port, log_ports, self.aws_url, {}, environment_name
        )
        self.supervisor.start("db-migrate", [sys.executable, "-m", "airflow", "db", "migrate"], migrate_env)
        aws = self._wait(deadline, "the emulated AWS", lambda: ready_file.exists(), ["aws"])
        if not aws:
            return None
        platform = json.loads(ready_file.read_text())
        env = af.base_environment(
            self.home,
            self.options.airflow_port,
            log_ports,
            self.aws_url,
            platform["airflow_configuration_options"],
            platform["environment_name"],
        )
        exports = self._prepare_aws(platform, env)
        migrated = self._wait(
            deadline, "the Airflow database", lambda: self.supervisor.processes["db-migrate"].poll() is not None, []
        )
        if not migrated:
            return None
        if self.supervisor.processes.pop("db-migrate").returncode != 0:
            raise StartError(f"airflow db migrate failed: see {self.home / 'logs' / 'db-migrate.log'}")
        for command, component in af.COMPONENTS.items():
            self.supervisor.start(command, [sys.executable, "-m", "airflow", command], {**env, **exports[component]})
        if not self._wait(deadline, "Airflow", self._airflow_ready(platform["dag_id"]), list(af.COMPONENTS)):
            return None
        if not self.options.paused:
            status, answer = self._api("PATCH", f"/api/v2/dags/{platform['dag_id']}", {"is_paused": False})
            if status != 200:
                raise StartError(f"could not unpause {platform['dag_id']}: {status} {answer}")
        endpoints = {
            "airflow_url": self.airflow_url,
            "aws_endpoint_url": self.aws_url,
            "region": REGION,
            "username": af.USERNAME,
            "password": password,
            **{
                key: platform[key]
                for key in (
                    "landing_bucket",
                    "raw_bucket",
                    "curated_bucket",
                    "reports_bucket",
                    "operations_topic_arn",
                    "redshift_workgroup",
                    "redshift_database",
                    "dag_id",
                    "environment_name",
                    "stack",
                )
            },
            "home": str(self.home),
            "pid": os.getpid(),
        }
        staging = self.endpoints_file.with_suffix(".tmp")
        staging.write_text(json.dumps(endpoints, indent=2) + "\n")
        staging.replace(self.endpoints_file)
        return endpoints

    def _watch(self) -> int:
        """Until SIGINT/SIGTERM (0) or until a process dies (1)."""
        watched = ["aws", *af.COMPONENTS]
        while not self.stop.wait(2.0):
            self.supervisor.track()
            died = self.supervisor.exited(watched)
            if died:
                name, code = died
                self.say(f"error: {name} exited with {code}: see {self.home / 'logs' / f'{name}.log'}; stopping")
                return 1
        return 0

    def _shutdown(self) -> None:
        self.endpoints_file.unlink(missing_ok=True)
        if not self.supervisor.processes:
            return
        self.say("stopping Airflow and the emulated AWS")
        self.supervisor.stop([name for name in self.supervisor.processes if name != "aws"], AIRFLOW_STOP_SECONDS)
        # the endpoint stops its Spark JVM itself, after saving the buckets
        self.supervisor.stop(["aws"], ENDPOINT_STOP_SECONDS, group=False)
        self.say("stopped")

    # ---- steps ---------------------------------------------------------------------------------------

    def _wait(self, deadline: float, what: str, condition: Any, watched: list[str]) -> bool:
        """Poll `condition` until true (True), SIGINT/SIGTERM (False) or the deadline / a death (StartError)."""
        while not condition():
            died = self.supervisor.exited(watched)
            if died:
                name, code = died
                raise StartError(f"{name} exited with {code} while starting: see {self.home / 'logs' / f'{name}.log'}")
            if time.monotonic() > deadline:
                raise StartError(
                    f"{what} was not ready within {self.options.ready_timeout:.0f} s: see the logs in {self.home / 'logs'}"
                )
            if self.stop.wait(0.5):
                return False
            self.supervisor.track()
        return True

    def _prepare_aws(self, platform: dict[str, Any], env: dict[str, str]) -> dict[str, dict[str, str]]:
        """What an operator sets up beside the stack: the `aws_default` connection in Secrets Manager. Reads the
        startup script and requirements from the source bucket; returns each component's startup exports."""
        import boto3
        from botocore.exceptions import ClientError

        # the emulated endpoint accepts any credentials
        session = boto3.session.Session(**LOCAL_CREDENTIALS, region_name=REGION)
        options = platform["airflow_configuration_options"]
        kwargs = json.loads(options.get("secrets.backend_kwargs", "{}"))
        prefix = kwargs.get("connections_prefix")
        if prefix:
            secrets = session.client("secretsmanager", endpoint_url=self.aws_url)
            name, value = f"{prefix}/aws_default", af.connection_secret(self.aws_url)
            try:
                secrets.create_secret(Name=name, SecretString=value)
            except ClientError:
                secrets.put_secret_value(SecretId=name, SecretString=value)
        s3 = session.client("s3", endpoint_url=self.aws_url)

        def source_file(key: str | None) -> str:
            if not key:
                return ""
            try:
                return s3.get_object(Bucket=platform["source_bucket"], Key=key)["Body"].read().decode("utf-8")
            except ClientError:
                return ""

        for mismatch in af.requirement_mismatches(source_file(platform.get("requirements_s3_path"))):
            self.say(f"warning: {mismatch}")
        script = source_file(platform.get("startup_script_s3_path"))
        work = self.home / "aws"
        return {
            component: af.startup_exports(script, component, env, work) for component in set(af.COMPONENTS.values())
        }

    def _airflow_ready(self, dag_id: str) -> Any:
        def ready() -> bool:
            try:
                status, health = http_json("GET", f"{self.airflow_url}/api/v2/monitor/health", None, {})
            except OSError:
                return False
            if status != 200 or any(part.get("status") != "healthy" for part in health.values()):
                return False
            try:
                status, errors = self._api("GET", "/api/v2/importErrors")
                if status == 200 and errors.get("import_errors"):
                    first = errors["import_errors"][0]
                    raise StartError(
                        f"the DAG folder does not import: {first.get('filename')}: {first.get('stack_trace')}"
                    )
                status, _ = self._api("GET", f"/api/v2/dags/{dag_id}")
            except OSError:
                return False
            return status == 200

        return ready

    def _api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        if self._token is None:
            credentials = {"username": af.USERNAME, "password": af.password(self.home)}
            status, answer = http_json("POST", f"{self.airflow_url}/auth/token", credentials, {})
            if status >= 300:
                raise StartError(f"POST /auth/token answered {status}: {answer}")
            self._token = answer["access_token"]
        return http_json(method, f"{self.airflow_url}{path}", body, {"Authorization": f"Bearer {self._token}"})


def run_mwaa(options: MwaaOptions, stdout: TextIO = sys.stdout, stderr: TextIO = sys.stderr) -> int:
    """Start the environment and serve until SIGINT/SIGTERM; 0 when stopped so, 1 when it failed."""
    return MwaaRun(options, stdout, stderr).run()
