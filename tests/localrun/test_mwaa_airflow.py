"""How the local MWAA configures Airflow from the environment's template (localrun/mwaa/airflow.py), and the
command line's refusals (no processes are started here)."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import importlib.util
import json
import shutil
import socket
import types
from pathlib import Path

import pytest

from localrun.__main__ import main
from localrun.mwaa import airflow as af
from localrun.template import TemplateError

ROOT = Path(__file__).resolve().parents[2]


def test_each_configuration_option_becomes_the_variable_mwaa_exports():
    env = af.configuration_env(
        {"core.default_timezone": "utc", "financial_etl.landing_bucket": "landing"}, "http://127.0.0.1:4566"
    )
    assert env == {"AIRFLOW__CORE__DEFAULT_TIMEZONE": "utc", "AIRFLOW__FINANCIAL_ETL__LANDING_BUCKET": "landing"}


def test_the_secrets_backend_keeps_its_prefixes_and_reaches_the_emulated_secrets_manager():
    kwargs = {"connections_prefix": "p/connections", "variables_prefix": "p/variables"}
    env = af.configuration_env({"secrets.backend_kwargs": json.dumps(kwargs)}, "http://127.0.0.1:4566")
    assert json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"]) == {
        **kwargs,
        "endpoint_url": "http://127.0.0.1:4566",
        "region_name": "us-east-1",
    }


def test_the_environment_runs_only_the_installed_airflow_version():
    installed = importlib.metadata.version("apache-airflow")
    assert af.check_airflow_version(installed) == installed
    with pytest.raises(TemplateError, match=r"runs Airflow 2\.10\.3, this virtualenv has"):
        af.check_airflow_version("2.10.3")


def test_requirements_pins_that_differ_from_the_installed_packages_are_named():
    installed = importlib.metadata.version("apache-airflow-providers-amazon")
    text = (
        f"--no-index\n# comment\napache-airflow-providers-amazon=={installed}\nboto3==0.0.1\nno-such-package-xyz==1.0\n"
    )
    assert af.requirement_mismatches(text) == [
        f"boto3: requirements.txt pins 0.0.1, installed {importlib.metadata.version('boto3')}",
        "no-such-package-xyz: requirements.txt pins 1.0, installed nothing",
    ]


def test_the_deployed_requirements_match_this_virtualenv():
    assert af.requirement_mismatches((ROOT / "dags" / "requirements.txt").read_text()) == []


def test_the_startup_script_exports_are_applied_per_component_except_airflow_configuration(tmp_path):
    script = (
        'export FROM_SCRIPT="for $MWAA_AIRFLOW_COMPONENT"\n'
        "export AIRFLOW__CORE__PARALLELISM=99\n"
        'echo "noise on stdout"\n'
    )
    env = {"PATH": "/usr/bin:/bin", "KEPT": "1"}
    assert af.startup_exports(script, "scheduler", env, tmp_path) == {"FROM_SCRIPT": "for scheduler"}
    assert af.startup_exports(script, "webserver", env, tmp_path) == {"FROM_SCRIPT": "for webserver"}


def test_the_projects_startup_script_sets_botocores_adaptive_retries(tmp_path):
    exports = af.startup_exports(
        (ROOT / "mwaa" / "startup.sh").read_text(), "worker", {"PATH": "/usr/bin:/bin"}, tmp_path
    )
    assert exports == {"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "10"}


def test_a_failing_startup_script_stops_the_start(tmp_path):
    with pytest.raises(TemplateError, match="startup script failed for scheduler"):
        af.startup_exports("exit 3\n", "scheduler", {"PATH": "/usr/bin:/bin"}, tmp_path)


def load_policies(home: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("policies", home / "airflow" / "config" / "airflow_local_settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_schedule_starts_at_the_first_start_and_tasks_do_not_retry_unless_kept(tmp_path):
    first = af.write_policies(tmp_path, keep_retries=False)
    assert af.write_policies(tmp_path, keep_retries=True) == first  # a restart keeps the schedule's start
    policies = load_policies(tmp_path)
    old = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    dag = types.SimpleNamespace(start_date=old)
    task = types.SimpleNamespace(start_date=old, retries=3)
    policies.dag_policy(dag)
    policies.task_policy(task)
    assert dag.start_date == task.start_date == first
    assert task.retries == 3  # --keep-retries on the second start
    af.write_policies(tmp_path, keep_retries=False)
    task = types.SimpleNamespace(start_date=old, retries=3)
    load_policies(tmp_path).task_policy(task)
    assert task.retries == 0


def test_glue_runs_are_polled_every_second_and_other_tasks_are_left_alone(tmp_path):
    af.write_policies(tmp_path, keep_retries=False)
    policies = load_policies(tmp_path)
    glue_task = types.SimpleNamespace(start_date=None, retries=0, job_poll_interval=6)
    python_task = types.SimpleNamespace(start_date=None, retries=0)
    policies.task_policy(glue_task)
    policies.task_policy(python_task)
    assert glue_task.job_poll_interval == 1
    assert not hasattr(python_task, "job_poll_interval")


def test_the_admin_password_is_generated_once_and_kept(tmp_path):
    password = af.password(tmp_path)
    assert len(password) >= 12
    assert af.password(tmp_path) == password
    stored = tmp_path / "airflow" / "simple_auth_manager_passwords.json"
    assert json.loads(stored.read_text()) == {"admin": password}
    assert stored.stat().st_mode & 0o077 == 0


def test_the_aws_connection_points_at_the_emulated_endpoint():
    assert json.loads(af.connection_secret("http://127.0.0.1:4566")) == {
        "conn_type": "aws",
        "extra": {"endpoint_url": "http://127.0.0.1:4566", "region_name": "us-east-1"},
    }


# ---- the command line's refusals ------------------------------------------------------------------------


def test_mwaa_without_a_synthesized_assembly_says_to_synthesize(tmp_path, capsys):
    assert main(["mwaa", "--home", str(tmp_path / "home"), "--cdk-out", str(tmp_path / "missing")]) == 2
    assert "make synth" in capsys.readouterr().err


def test_mwaa_refuses_an_environment_of_another_airflow_version(dev_assembly, tmp_path, capsys):
    assembly = tmp_path / "cdk.out"
    shutil.copytree(dev_assembly, assembly)
    path = assembly / "DataPlatform-dev.template.json"
    template = json.loads(path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::MWAA::Environment":
            resource["Properties"]["AirflowVersion"] = "2.10.3"
    path.write_text(json.dumps(template))
    code = main(["mwaa", "--home", str(tmp_path / "home"), "--cdk-out", str(assembly), "--stack", "DataPlatform-dev"])
    assert code == 2
    assert "runs Airflow 2.10.3" in capsys.readouterr().err


def test_mwaa_refuses_a_port_in_use(dev_assembly, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            ["mwaa", "--home", str(tmp_path / "home"), "--cdk-out", str(dev_assembly), "--airflow-port", str(port)]
        )
    assert code == 2
    assert f"port {port} (--airflow-port) is in use" in capsys.readouterr().err


def test_upload_without_a_running_environment_says_how_to_start_one(tmp_path, capsys):
    assert main(["upload", "--home", str(tmp_path), "--date", "2026-11-23"]) == 2
    assert "python -m localrun mwaa --home" in capsys.readouterr().err


def test_upload_refuses_a_date_that_is_not_one(tmp_path, capsys):
    (tmp_path / "endpoints.json").write_text("{}")
    assert main(["upload", "--home", str(tmp_path), "--date", "2026-02-30"]) == 2
    assert "--date must be YYYY-MM-DD" in capsys.readouterr().err
