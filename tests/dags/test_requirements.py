"""MWAA installs `dags/requirements.txt`, from its image alone; the local environment runs the same versions."""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from importlib.metadata import distribution, packages_distributions, version
from pathlib import Path

import pytest

from localrun.airflow_env import DAGS
from stacks.data_platform.requirements import MWAA_PLUGINS_DIR, RequirementsFile, image_packages, plan
from tests.conftest import ROOT
from tests.mwaa.offline_pip import dry_run_install, image_interpreter, localized

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


# SHA-256 of MWAA 3.3.1's airflow_constraints.txt (images/airflow/3.3.1/etc/ in aws/amazon-mwaa-docker-images, and
# the workspace's copy of MWAA's files): the shipped file must be that file, byte for byte, in every clone.
MWAA_CONSTRAINTS_SHA256 = "bff32ed535a2a0e876e5d6995f4df3a74787e758b32e8c70c300b148b810866a"


def test_shipped_constraints_are_mwaa_3_3_1s_byte_for_byte():
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == MWAA_CONSTRAINTS_SHA256


def test_the_recorded_digest_is_that_of_mwaas_own_file_where_a_copy_is_at_hand():
    # Only re-checks the digest above against the workspace's copy when one is beside the clone; the check that
    # matters (the shipped file's digest) runs everywhere.
    mwaa_copy = MWAA / "airflow_constraints.txt"
    if mwaa_copy.is_file():
        assert hashlib.sha256(mwaa_copy.read_bytes()).hexdigest() == MWAA_CONSTRAINTS_SHA256
    assert pins(SHIPPED)["apache-airflow-providers-amazon"] == "9.34.0"


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


# --- What a PRIVATE_ONLY environment installs: everything from the image, nothing downloaded ------------------


@pytest.fixture(scope="module")
def mwaa_image() -> dict[str, str]:
    return image_packages("3.3.1")


def test_every_requirement_is_in_the_mwaa_image_at_exactly_its_version(mwaa_image: dict[str, str]):
    # given
    requirements = RequirementsFile.parse((DAGS / "requirements.txt").read_text())

    # when
    verdicts = plan(requirements, airflow_version="3.3.1", image=mwaa_image, constraint_pins=pins(SHIPPED)).verdicts

    # then
    assert verdicts
    assert {v.requirement.name: v.source for v in verdicts} == dict.fromkeys(pins(DAGS / "requirements.txt"), "image")
    for name, pinned in pins(DAGS / "requirements.txt").items():
        assert mwaa_image[name] == pinned, name


def test_requirements_install_from_the_image_and_plugins_only():
    # given
    requirements = RequirementsFile.parse((DAGS / "requirements.txt").read_text())

    # then pip never asks an index, and would look for wheels where MWAA unpacks plugins.zip
    assert requirements.no_index
    assert requirements.find_links == (MWAA_PLUGINS_DIR,)
    assert requirements.index_urls == ()


def test_mwaa_installs_the_shipped_requirements_without_downloading_anything(
    tmp_path: Path, mwaa_image: dict[str, str]
):
    # given an interpreter holding what the MWAA 3.3.1 image installs, and the file MWAA reads
    interpreter = image_interpreter(tmp_path / "image", mwaa_image)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(localized((DAGS / "requirements.txt").read_text(), dags=DAGS, plugins=tmp_path / "none"))

    # when pip installs it as MWAA does (no --upgrade)
    result, installs = dry_run_install(interpreter, requirements, tmp_path / "report.json")

    # then every requirement is already satisfied: nothing to fetch, from anywhere
    assert result.returncode == 0, result.stderr
    assert installs == []
    assert "Requirement already satisfied: apache-airflow-providers-amazon==9.34.0" in result.stdout


def test_a_package_the_image_lacks_fails_fast_instead_of_reaching_for_pypi(tmp_path: Path, mwaa_image: dict[str, str]):
    # given the shipped file plus a package the image does not have, and no wheel for it
    interpreter = image_interpreter(tmp_path / "image", mwaa_image)
    requirements = tmp_path / "requirements.txt"
    text = localized((DAGS / "requirements.txt").read_text(), dags=DAGS, plugins=tmp_path / "none")
    requirements.write_text(text + "not-in-the-image==1.0\n")

    # when
    result, _ = dry_run_install(interpreter, requirements, tmp_path / "report.json")

    # then pip looked nowhere but the (empty) plugins folder
    assert result.returncode != 0
    assert "No matching distribution found for not-in-the-image==1.0" in result.stderr
    assert "pypi" not in (result.stdout + result.stderr).lower()


def test_the_image_manifest_agrees_with_the_shipped_constraints(mwaa_image: dict[str, str]):
    # given the image was built with these constraints (images/airflow/3.3.1/bootstrap/02-airflow)
    constraints = pins(SHIPPED)

    # then each package of both has one version
    assert len(mwaa_image) > 200
    assert {n: (v, constraints[n]) for n, v in mwaa_image.items() if n in constraints and constraints[n] != v} == {}
    assert mwaa_image["apache-airflow"] == "3.3.1"


def _imported_modules(folder: Path) -> set[str]:
    modules = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    return modules


def _distribution_of(module: str) -> str | None:
    top = module.split(".")[0]
    relative = module.replace(".", "/")
    for name in packages_distributions().get(top, []):
        files = {str(f) for f in distribution(name).files or ()}
        if f"{relative}.py" in files or f"{relative}/__init__.py" in files:
            return re.sub(r"[-_.]+", "-", name.lower())
    return None


def test_dags_import_only_what_the_mwaa_image_installs(mwaa_image: dict[str, str]):
    # given every module the DAGs import, less the standard library and the DAGs' own package
    local = {path.name for path in DAGS.iterdir() if path.is_dir()} | {path.stem for path in DAGS.glob("*.py")}
    third_party = {
        module
        for module in _imported_modules(DAGS)
        if module.split(".")[0] not in sys.stdlib_module_names | local | {"__future__"}
    }

    # when each is traced to the distribution that ships it (in the local environment, MWAA's versions)
    owners = {module: _distribution_of(module) for module in third_party}

    # then the image installs every one of them
    assert "airflow.providers.amazon.aws.operators.glue" in owners
    assert {module: owner for module, owner in owners.items() if owner not in mwaa_image} == {}
