"""Airflow for `localrun mwaa`, configured from the environment's template: its `AirflowConfigurationOptions`
become `AIRFLOW__SECTION__KEY` variables (as MWAA exports them), the secrets backend is pointed at the emulated
Secrets Manager, the startup script's exports are applied per component, and the Airflow version and the
requirements' pins are checked against what is installed. What only the local run sets is in `LOCAL_SETTINGS`.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

from ..emulator import LOCAL_ENV, ROOT
from ..template import REGION, TemplateError

DAGS = ROOT / "dags"
# The processes MWAA runs for Airflow 3, and the component name its startup script sees in MWAA_AIRFLOW_COMPONENT
# (docs.aws.amazon.com/mwaa/latest/userguide/using-startup-script.html): the LocalExecutor's task processes are
# children of the scheduler here, where MWAA runs them on workers.
COMPONENTS = {
    "api-server": "webserver",
    "scheduler": "scheduler",
    "dag-processor": "scheduler",
    "triggerer": "scheduler",
}
USERNAME = "admin"
# MWAA runs the startup script for at most 5 minutes.
STARTUP_SCRIPT_TIMEOUT = 300
# Never taken from the startup script's environment: the local run owns Airflow's configuration and home.
_NOT_FROM_STARTUP = re.compile(r"^(AIRFLOW__.*|AIRFLOW_HOME|AIRFLOW_CONFIG|PWD|OLDPWD|SHLVL|_)$")


def check_airflow_version(required: str | None) -> str:
    """The installed Airflow version; TemplateError when the environment asks for another one."""
    installed = importlib.metadata.version("apache-airflow")
    if required and required != installed:
        raise TemplateError(
            f"the MWAA environment runs Airflow {required}, this virtualenv has {installed}: "
            "install the version of requirements.txt (make install)"
        )
    return installed


def requirement_mismatches(requirements: str) -> list[str]:
    """`name==version` pins of an MWAA requirements file that the installed packages do not match."""
    found = []
    for line in requirements.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", line)
        if not match:
            continue
        name, pinned = match.groups()
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            found.append(f"{name}: requirements.txt pins {pinned}, installed {installed or 'nothing'}")
    return found


def configuration_env(options: dict[str, str], aws_endpoint: str) -> dict[str, str]:
    """MWAA's configuration options as Airflow variables; the secrets backend reaches the emulated endpoint."""
    env = {}
    for key, value in options.items():
        section, _, option = key.partition(".")
        if (section, option) == ("secrets", "backend_kwargs"):
            kwargs = json.loads(value)
            kwargs.setdefault("endpoint_url", aws_endpoint)
            kwargs.setdefault("region_name", REGION)
            value = json.dumps(kwargs)
        env[f"AIRFLOW__{section.upper()}__{option.upper()}"] = value
    return env


def local_settings(home: Path, api_port: int, log_ports: tuple[int, int]) -> dict[str, str]:
    """What the local run sets itself (README, "Run MWAA locally": what differs from MWAA)."""
    airflow_home = home / "airflow"
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_home / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_home / "simple_auth_manager_passwords.json"),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # free ports, chosen at start: two environments (or a test beside a user's) must not collide
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_ports[0]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(log_ports[1]),
    }


def password(home: Path) -> str:
    """The admin's password: generated on the first start, kept in the simple auth manager's file."""
    path = home / "airflow" / "simple_auth_manager_passwords.json"
    if path.exists():
        return json.loads(path.read_text())[USERNAME]
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(12)
    path.write_text(json.dumps({USERNAME: value}))
    path.chmod(0o600)
    return value


POLICIES = '''"""Cluster policies of `python -m localrun mwaa` (written at its first start; never deployed to MWAA).

* The schedule starts at the environment's first start ({schedule_from}): unpausing the DAG does not run the
  interval that ended before it (catchup=False would otherwise start one at once, for a day with no data).
* {retries_note}
* Glue job runs are polled every second (the operator's default is 6 s): local runs take seconds, not minutes.
"""

import datetime as dt

SCHEDULE_FROM = dt.datetime.fromisoformat("{schedule_from}")
KEEP_RETRIES = {keep_retries}
GLUE_POLL_SECONDS = 1


def task_policy(task):
    if task.start_date is None or task.start_date < SCHEDULE_FROM:
        task.start_date = SCHEDULE_FROM
    if not KEEP_RETRIES:
        task.retries = 0
    if hasattr(task, "job_poll_interval"):
        task.job_poll_interval = GLUE_POLL_SECONDS


def dag_policy(dag):
    if dag.start_date is None or dag.start_date < SCHEDULE_FROM:
        dag.start_date = SCHEDULE_FROM
'''


def write_policies(home: Path, keep_retries: bool) -> dt.datetime:
    """`airflow_local_settings.py` in AIRFLOW_HOME/config; the schedule's start is kept from the first start."""
    state = home / "environment.json"
    data = json.loads(state.read_text()) if state.exists() else {}
    if "schedule_from" not in data:
        data["schedule_from"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        state.write_text(json.dumps(data, indent=2) + "\n")
    schedule_from = dt.datetime.fromisoformat(data["schedule_from"])
    config = home / "airflow" / "config"
    config.mkdir(parents=True, exist_ok=True)
    retries_note = (
        "Tasks keep the DAG's retries (--keep-retries)."
        if keep_retries
        else "Tasks do not retry (retries=0): a failure shows at once; --keep-retries keeps the DAG's."
    )
    (config / "airflow_local_settings.py").write_text(
        POLICIES.format(schedule_from=schedule_from.isoformat(), keep_retries=keep_retries, retries_note=retries_note)
    )
    return schedule_from


def startup_exports(script: str, component: str, env: dict[str, str], cwd: Path) -> dict[str, str]:
    """The variables MWAA's startup script sets for a component: the script is sourced by `sh` with
    MWAA_AIRFLOW_COMPONENT set, and what it changed in the environment is returned."""
    if not script.strip():
        return {}
    path = cwd / "startup.sh"
    path.write_text(script)
    base = {**env, "MWAA_AIRFLOW_COMPONENT": component}
    result = subprocess.run(  # noqa: S603 - the environment's own startup script, from its source bucket
        ["/bin/sh", "-c", '. "$0" >&2 && env -0', str(path)],
        env=base,
        cwd=cwd,
        capture_output=True,
        timeout=STARTUP_SCRIPT_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise TemplateError(f"the startup script failed for {component}: {result.stderr.decode(errors='replace')}")
    after = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return {
        key: value
        for key, value in after.items()
        if base.get(key) != value and not _NOT_FROM_STARTUP.match(key) and key != "MWAA_AIRFLOW_COMPONENT"
    }


def base_environment(
    home: Path,
    api_port: int,
    log_ports: tuple[int, int],
    aws_endpoint: str,
    options: dict[str, str],
    environment_name: str,
) -> dict[str, Any]:
    """The environment every Airflow process starts from (before its component's startup exports)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AIRFLOW__") and key not in ("AIRFLOW_HOME", "AIRFLOW_CONFIG")
    }
    env.update(LOCAL_ENV)
    env.update(configuration_env(options, aws_endpoint))
    env.update(local_settings(home, api_port, log_ports))
    env["AIRFLOW_ENV_NAME"] = environment_name
    env["PYTHONUNBUFFERED"] = "1"
    return env


def connection_secret(aws_endpoint: str) -> str:
    """The `aws_default` connection as the secrets backend reads it: the emulated endpoint, any credentials.
    (On MWAA the connection has no endpoint and the execution role's credentials.)"""
    return json.dumps({"conn_type": "aws", "extra": {"endpoint_url": aws_endpoint, "region_name": REGION}})
