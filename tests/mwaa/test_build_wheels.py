"""`make mwaa-wheels`: which requirements get wheels, for which platform, and the plugins.zip MWAA unpacks.

pip runs for real where it matters, offline: `--no-index --find-links` on a folder of tiny wheels stands in
for PyPI, and an interpreter holding the image's packages stands in for the MWAA container.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from mwaa.build_wheels import build, pip_download_command
from stacks.data_platform.requirements import PLATFORMS, check_requirements, image_packages
from tests.mwaa.offline_pip import dry_run_install, image_interpreter, localized, make_wheel, pip_env

DAGS = Path(__file__).resolve().parents[2] / "dags"
CONSTRAINTS = DAGS / "constraints-3.3.1.txt"
HEADER = (
    "--no-index\n"
    "--find-links /usr/local/airflow/plugins\n"
    '--constraint "/usr/local/airflow/dags/constraints-3.3.1.txt"\n'
    "apache-airflow-providers-amazon==9.34.0\n"
)


@pytest.fixture
def dags(tmp_path: Path) -> Callable[[str], Path]:
    """A DAGs folder with the shipped constraints and a requirements file of the shipped header plus `extra`."""

    def _dags(extra: str) -> Path:
        folder = tmp_path / "dags"
        folder.mkdir(exist_ok=True)
        shutil.copy(CONSTRAINTS, folder)
        (folder / "requirements.txt").write_text(HEADER + extra)
        return folder / "requirements.txt"

    return _dags


class FakePip:
    """Records the `pip download` command and drops the given wheels into its --dest folder."""

    def __init__(self, wheels: list[tuple[str, str]] = ()) -> None:
        self.wheels = wheels
        self.commands: list[list[str]] = []
        self.requested: list[str] = []

    def __call__(self, command: list[str]) -> None:
        self.commands.append(command)
        self.requested = Path(command[command.index("--requirement") + 1]).read_text().splitlines()
        dest = Path(command[command.index("--dest") + 1])
        for name, version in self.wheels:
            make_wheel(dest, name, version)


def offline_pip(index: Path) -> Callable[[list[str]], None]:
    """Runs the real `pip download`, with a folder of wheels as its only index."""

    def _run(command: list[str]) -> None:
        subprocess.run([*command, "--no-index", "--find-links", str(index)], env=pip_env(), check=True)

    return _run


def test_nothing_is_built_while_the_image_has_every_requirement(tmp_path: Path):
    # given the shipped requirements, and a pip that must not run
    def no_pip(command: list[str]) -> None:
        raise AssertionError(f"pip ran: {command}")

    # when
    result = build(DAGS / "requirements.txt", tmp_path / "plugins" / "plugins.zip", run=no_pip)

    # then
    assert result.plugins_zip is None
    assert not (tmp_path / "plugins").exists()


def test_only_the_requirements_the_image_lacks_are_downloaded(tmp_path: Path, dags: Callable[[str], Path]):
    # given lines the image satisfies (pinned, or pinned by the constraints file) and two it does not
    requirements = dags("boto3\nreportkit==1.0\napache-airflow-providers-snowflake\nbotocore==1.43.56\n")
    pip = FakePip([("reportkit", "1.0")])

    # when
    build(requirements, tmp_path / "plugins.zip", run=pip)

    # then
    assert pip.requested == ["reportkit==1.0", "apache-airflow-providers-snowflake"]


def test_pip_downloads_binary_wheels_for_mwaa_s_interpreter_and_glibc(tmp_path: Path, dags: Callable[[str], Path]):
    # given
    requirements = dags("reportkit==1.0\n")
    pip = FakePip([("reportkit", "1.0")])

    # when
    build(requirements, tmp_path / "plugins.zip", run=pip)

    # then: CPython 3.12, every manylinux tag up to glibc 2.34 (Amazon Linux 2023), x86_64, constraints honoured
    [command] = pip.commands
    option = lambda name: [command[i + 1] for i, word in enumerate(command) if word == name]  # noqa: E731
    assert "--only-binary=:all:" in command
    assert option("--python-version") == ["3.12"]
    assert option("--implementation") == ["cp"]
    assert option("--abi") == ["cp312"]
    platforms = option("--platform")
    assert {"manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(
        platforms
    )
    assert "manylinux_2_35_x86_64" not in platforms
    assert all(tag.endswith("_x86_64") for tag in platforms)
    assert option("--constraint") == [str(requirements.parent / "constraints-3.3.1.txt")]


def test_plugins_zip_holds_the_new_wheels_at_its_root_not_the_image_s_own(tmp_path: Path, dags: Callable[[str], Path]):
    # given pip brings the requirement, a new dependency, and a dependency the image has at that very version
    requirements = dags("reportkit==1.0\n")
    pip = FakePip([("reportkit", "1.0"), ("tinydep", "0.1"), ("boto3", "1.43.56")])

    # when
    result = build(requirements, tmp_path / "plugins" / "plugins.zip", run=pip)

    # then MWAA finds the wheels in /usr/local/airflow/plugins itself, not in a folder below it
    with zipfile.ZipFile(tmp_path / "plugins" / "plugins.zip") as archive:
        assert sorted(archive.namelist()) == ["reportkit-1.0-py3-none-any.whl", "tinydep-0.1-py3-none-any.whl"]
    assert result.already_in_image == ("boto3-1.43.56-py3-none-any.whl",)


def test_the_same_wheels_make_the_same_plugins_zip(tmp_path: Path, dags: Callable[[str], Path]):
    # given the same download twice (new files, new timestamps)
    requirements = dags("reportkit==1.0\n")

    # when
    build(requirements, tmp_path / "first.zip", run=FakePip([("reportkit", "1.0"), ("tinydep", "0.1")]))
    build(requirements, tmp_path / "second.zip", run=FakePip([("tinydep", "0.1"), ("reportkit", "1.0")]))

    # then the same bytes: the same S3 object version, no needless environment update
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()


def test_pip_picks_the_wheel_mwaa_can_run(tmp_path: Path, dags: Callable[[str], Path]):
    # given an index with a wheel for MWAA's glibc, one needing a newer glibc, and one for macOS
    index = tmp_path / "index"
    make_wheel(index, "fastcalc", "1.0", tag="cp312-cp312-manylinux_2_28_x86_64")
    make_wheel(index, "fastcalc", "2.0", tag="cp312-cp312-manylinux_2_39_x86_64")
    make_wheel(index, "fastcalc", "2.0", tag="cp312-cp312-macosx_11_0_arm64")
    requirements = dags("fastcalc\n")

    # when the real pip downloads
    result = build(requirements, tmp_path / "plugins.zip", run=offline_pip(index))

    # then
    assert result.zipped == ("fastcalc-1.0-cp312-cp312-manylinux_2_28_x86_64.whl",)


def test_a_private_environment_installs_the_built_zip_without_any_index(tmp_path: Path, dags: Callable[[str], Path]):
    # given an index where reportkit needs tinydep (new) and boto3 (in the image, pinned by the constraints)
    index = tmp_path / "index"
    make_wheel(index, "reportkit", "1.0", requires=["tinydep>=0.1", "boto3"])
    make_wheel(index, "tinydep", "0.1")
    make_wheel(index, "boto3", "1.43.56")
    make_wheel(index, "boto3", "1.99.0")
    requirements = dags("reportkit==1.0\n")
    out = tmp_path / "plugins.zip"

    # when wheels are built with the real pip, and MWAA unpacks the zip and runs pip on the requirements
    build(requirements, out, run=offline_pip(index))
    plugins = tmp_path / "usr-local-airflow-plugins"
    zipfile.ZipFile(out).extractall(plugins)
    local = tmp_path / "requirements.txt"
    local.write_text(localized(requirements.read_text(), dags=requirements.parent, plugins=plugins))
    interpreter = image_interpreter(tmp_path / "image", image_packages("3.3.1"))
    installed, installs = dry_run_install(interpreter, local, tmp_path / "report.json")

    # then it installs the two new wheels from the plugins folder, and keeps the image's boto3
    assert installed.returncode == 0, installed.stderr
    assert {(i["metadata"]["name"], i["metadata"]["version"]) for i in installs} == {
        ("reportkit", "1.0"),
        ("tinydep", "0.1"),
    }
    assert all(i["download_info"]["url"].startswith(plugins.as_uri()) for i in installs)
    # and synth accepts it for a PRIVATE_ONLY webserver
    plan = check_requirements(
        requirements,
        airflow_version="3.3.1",
        webserver_access_mode="PRIVATE_ONLY",
        dags_dir=requirements.parent,
        plugins_zip=out,
    )
    assert [r.name for r in plan.from_source("wheel")] == ["reportkit"]


def test_download_command_names_each_platform_tag_once():
    # given
    platform = PLATFORMS["3.3.1"]

    # when
    command = pip_download_command(Path("r.txt"), dest=Path("d"), constraints=[], platform=platform, pip=["pip"])

    # then
    platforms = [command[i + 1] for i, word in enumerate(command) if word == "--platform"]
    assert len(platforms) == len(set(platforms)) == len(platform.platform_tags)
    assert command[:2] == ["pip", "download"]
