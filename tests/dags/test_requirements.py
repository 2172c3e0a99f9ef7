"""MWAA installs `dags/requirements.txt`; the local environment runs the same versions."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import pytest

from localrun.airflow_env import DAGS
from tests.conftest import ROOT

MWAA = ROOT.parent / "shared" / "mwaa" / "3.3.1"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;#]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1).lower())] = match.group(3)
    return found


SHIPPED = DAGS / "constraints-3.3.1.txt"


def test_requirements_install_against_the_constraints_shipped_beside_the_dags():
    lines = (DAGS / "requirements.txt").read_text().splitlines()
    constraint = next(line for line in lines if line.startswith("--constraint"))
    assert constraint == '--constraint "/usr/local/airflow/dags/constraints-3.3.1.txt"'
    assert SHIPPED.is_file()
    assert pins(SHIPPED)["apache-airflow-providers-amazon"] == "9.34.0"


def test_shipped_constraints_are_mwaa_3_3_1s():
    if not MWAA.is_dir():
        pytest.skip(f"{MWAA} (the workspace's copy of MWAA's files) is not beside this clone")
    assert pins(SHIPPED) == pins(MWAA / "airflow_constraints.txt")


def test_requirements_pin_what_the_constraints_allow():
    constraints = pins(SHIPPED)
    for name, pinned in pins(DAGS / "requirements.txt").items():
        assert constraints.get(name) == pinned, name


def test_the_local_environment_runs_mwaa_s_versions():
    shipped = pins(SHIPPED) | {"apache-airflow": "3.3.1"}
    for name in ("apache-airflow", "apache-airflow-providers-amazon", "boto3", "botocore", "pydantic", "sqlglot"):
        assert version(name) == shipped[name], name
    locked = pins(ROOT / "constraints.txt")
    disagree = {
        name: (locked[name], shipped[name]) for name in locked if name in shipped and locked[name] != shipped[name]
    }
    assert disagree == {}
