"""A PRIVATE_ONLY webserver cannot reach PyPI: synth refuses requirements it could not install, and ships the
plugins.zip of `make mwaa-wheels` with the environment (docs.aws.amazon.com/mwaa/latest/userguide/
best-practices-dependencies.html#best-practices-dependencies-python-wheels)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from mwaa.build_wheels import write_plugins_zip
from stacks.config import AirflowConfig, ConfigError
from stacks.data_platform.airflow import AirflowEnvironment, AirflowFiles
from stacks.data_platform.requirements import RequirementsError, check_requirements
from tests.conftest import ROOT
from tests.mwaa.offline_pip import make_wheel

HEADER = (
    "--no-index\n"
    "--find-links /usr/local/airflow/plugins\n"
    '--constraint "/usr/local/airflow/dags/constraints-3.3.1.txt"\n'
    "apache-airflow-providers-amazon==9.34.0\n"
)
PRIVATE, PUBLIC = "PRIVATE_ONLY", "PUBLIC_ONLY"


@pytest.fixture
def dags(tmp_path: Path) -> Callable[[str], Path]:
    """A DAGs folder with the shipped constraints and this requirements text; returns the requirements file."""

    def _dags(text: str) -> Path:
        folder = tmp_path / "dags"
        folder.mkdir(exist_ok=True)
        shutil.copy(ROOT / "dags" / "constraints-3.3.1.txt", folder)
        (folder / "requirements.txt").write_text(text)
        return folder / "requirements.txt"

    return _dags


@pytest.fixture
def plugins(tmp_path: Path) -> Callable[..., Path]:
    """A plugins.zip of tiny wheels: (name, version, tag) triples."""

    def _plugins(*wheels: tuple[str, str, str]) -> Path:
        made = [make_wheel(tmp_path / "wheels", name, version, tag=tag) for name, version, tag in wheels]
        out = tmp_path / "plugins" / "plugins.zip"
        write_plugins_zip(made, out)
        return out

    return _plugins


def check(requirements: Path, mode: str, plugins_zip: Path | None = None):
    return check_requirements(
        requirements,
        airflow_version="3.3.1",
        webserver_access_mode=mode,
        dags_dir=requirements.parent,
        plugins_zip=plugins_zip,
    )


# --- The rules, on files ----------------------------------------------------------------------------------


def test_shipped_requirements_need_nothing_beyond_the_image_with_a_private_webserver():
    # when
    plan = check(ROOT / "dags" / "requirements.txt", PRIVATE)

    # then
    assert [v.source for v in plan.verdicts] == ["image"]
    assert plan.needs_index == ()


def test_a_package_missing_from_the_image_is_refused_naming_the_line_and_the_make_target(dags):
    # given
    requirements = dags(HEADER + "reportkit==1.0\n")

    # when
    with pytest.raises(RequirementsError) as refused:
        check(requirements, PRIVATE)

    # then
    message = str(refused.value)
    assert isinstance(refused.value, ConfigError)
    assert "line 5 'reportkit==1.0': not in the MWAA 3.3.1 image" in message
    assert "PRIVATE_ONLY" in message
    assert "`make mwaa-wheels`" in message
    assert "best-practices-dependencies.html" in message


def test_a_private_webserver_installs_a_package_from_its_wheel_in_plugins_zip(dags, plugins):
    # given
    requirements = dags(HEADER + "reportkit==1.0\n")
    zipped = plugins(("reportkit", "1.0", "py3-none-any"))

    # when
    plan = check(requirements, PRIVATE, zipped)

    # then
    assert {v.requirement.name: v.source for v in plan.verdicts} == {
        "apache-airflow-providers-amazon": "image",
        "reportkit": "wheel",
    }


def test_a_wheel_named_by_its_path_in_the_plugins_folder_is_installed_from_plugins_zip(dags, plugins):
    # given the form of AWS's first example: the wheel's full path under /usr/local/airflow/plugins
    requirements = dags(HEADER + "/usr/local/airflow/plugins/reportkit-1.0-py3-none-any.whl\n")

    # then
    assert check(requirements, PRIVATE, plugins(("reportkit", "1.0", "py3-none-any"))).from_source("wheel")
    with pytest.raises(RequirementsError, match=re.escape("that wheel is not in plugins.zip")):
        check(requirements, PRIVATE, plugins(("reportkit", "1.1", "py3-none-any")))


def test_a_wheel_of_another_version_does_not_count(dags, plugins):
    # given
    requirements = dags(HEADER + "reportkit==1.1\n")
    zipped = plugins(("reportkit", "1.0", "py3-none-any"))

    # then
    with pytest.raises(RequirementsError, match=re.escape("no wheel of 1.1 in plugins.zip")):
        check(requirements, PRIVATE, zipped)


@pytest.mark.parametrize(
    "tag",
    ["cp312-cp312-macosx_11_0_arm64", "cp311-cp311-manylinux_2_28_x86_64", "cp312-cp312-manylinux_2_39_x86_64"],
)
def test_a_wheel_mwaa_s_python_or_glibc_cannot_install_is_refused(dags, plugins, tag: str):
    # given a wheel built for this laptop, another Python, or a newer glibc than Amazon Linux 2023's 2.34
    requirements = dags(HEADER + "fastcalc==1.0\n")
    zipped = plugins(("fastcalc", "1.0", tag))

    # then
    with pytest.raises(
        RequirementsError, match=re.escape(f"plugins.zip holds fastcalc-1.0-{tag}.whl, which pip on MWAA")
    ):
        check(requirements, PRIVATE, zipped)


@pytest.mark.parametrize(
    "tag", ["cp312-cp312-manylinux_2_34_x86_64", "cp312-cp312-manylinux2014_x86_64", "cp39-abi3-manylinux_2_17_x86_64"]
)
def test_wheels_for_mwaa_s_platform_are_accepted(dags, plugins, tag: str):
    # given
    requirements = dags(HEADER + "fastcalc==1.0\n")

    # then
    assert check(requirements, PRIVATE, plugins(("fastcalc", "1.0", tag))).from_source("wheel")


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        (HEADER.replace("--no-index\n", ""), "`--no-index`"),
        (HEADER.replace("--find-links /usr/local/airflow/plugins\n", ""), "--find-links /usr/local/airflow/plugins"),
    ],
)
def test_wheels_need_find_links_and_no_index_with_a_private_webserver(dags, plugins, header: str, missing: str):
    # given
    requirements = dags(header + "reportkit==1.0\n")

    # then
    with pytest.raises(RequirementsError, match=re.escape(missing)):
        check(requirements, PRIVATE, plugins(("reportkit", "1.0", "py3-none-any")))


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("apache-airflow-providers-amazon==9.35.0", "the MWAA 3.3.1 image has apache-airflow-providers-amazon==9.34.0"),
        ("apache-airflow-providers-amazon[pandas]==9.34.0", "maybe not what its extras ['pandas'] need"),
        ("reportkit", "not pinned (== or the constraints file)"),
        ("reportkit @ https://example.com/reportkit-1.0-py3-none-any.whl", "downloads https://example.com/"),
    ],
)
def test_what_the_image_does_not_provide_exactly_is_refused(dags, line: str, reason: str):
    # given
    requirements = dags(HEADER.replace("apache-airflow-providers-amazon==9.34.0\n", "") + line + "\n")

    # then
    with pytest.raises(RequirementsError, match=re.escape(reason)):
        check(requirements, PRIVATE)


def test_an_unpinned_requirement_takes_the_constraints_file_s_version(dags):
    # given boto3 is pinned by the shipped constraints to the image's own version
    requirements = dags(HEADER + "boto3\n")

    # then
    assert [r.name for r in check(requirements, PRIVATE).from_source("image")] == [
        "apache-airflow-providers-amazon",
        "boto3",
    ]


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        ("--index-url https://pypi.example.com/simple", "https://pypi.example.com/simple is an index"),
        ("--extra-index-url=https://pypi.example.com/simple", "https://pypi.example.com/simple is an index"),
        (
            "--constraint https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt",
            "is a download a PRIVATE_ONLY webserver cannot make",
        ),
    ],
)
def test_indexes_and_downloaded_constraints_are_refused_with_a_private_webserver(dags, line: str, refused: str):
    # given
    requirements = dags(HEADER + line + "\n")

    # then
    with pytest.raises(RequirementsError, match=re.escape(refused)):
        check(requirements, PRIVATE)
    assert check(requirements, PUBLIC)


def test_a_constraints_file_not_shipped_beside_the_dags_is_refused_in_any_mode(dags):
    # given
    requirements = dags(HEADER.replace("constraints-3.3.1.txt", "constraints-missing.txt"))

    # then
    for mode in (PRIVATE, PUBLIC):
        with pytest.raises(RequirementsError, match=re.escape("constraints-missing.txt is not a file of dags/")):
            check(requirements, mode)


def test_a_public_webserver_may_install_from_pypi_unless_the_file_says_no_index(dags):
    # given
    from_pypi = dags(HEADER.replace("--no-index\n", "") + "reportkit==1.0\n")

    # then
    assert [v.requirement.name for v in check(from_pypi, PUBLIC).needs_index] == ["reportkit"]
    no_index = dags(HEADER + "reportkit==1.0\n")
    with pytest.raises(RequirementsError, match=re.escape("it says --no-index")):
        check(no_index, PUBLIC)


def test_continuations_comments_and_options_are_read_as_pip_reads_them(dags):
    # given
    requirements = dags(
        "# a comment\n--no-index  # trailing comment\n-f /usr/local/airflow/plugins\n"
        '-c "/usr/local/airflow/dags/constraints-3.3.1.txt"\n--prefer-binary\n'
        "apache-airflow-providers-amazon \\\n    ==9.34.0  # pinned to the image\n"
    )

    # when
    plan = check(requirements, PRIVATE)

    # then
    assert [(v.requirement.line, v.requirement.name, v.source) for v in plan.verdicts] == [
        (6, "apache-airflow-providers-amazon", "image")
    ]


# --- The construct: refusal at synth, plugins.zip by object version ------------------------------------------


def airflow_stack(requirements: Path, mode: str, plugins_zip: Path, outdir: Path | None = None) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(outdir=str(outdir) if outdir else None), "Airflow")
    bucket = s3.Bucket(stack, "Source", versioned=True)
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    files = AirflowFiles(
        stack,
        "Files",
        bucket=bucket,
        dags_dir=requirements.parent,
        dags_prefix="dags",
        requirements_file=requirements,
        requirements_key="requirements.txt",
        startup_script=ROOT / "mwaa" / "startup.sh",
        startup_script_key="startup.sh",
        log_group=logs.LogGroup(stack, "Deployments"),
        plugins_zip=plugins_zip,
    )
    AirflowEnvironment(
        stack,
        "Airflow",
        config=AirflowConfig(
            version="3.3.1",
            environment_class="mw1.small",
            min_workers=1,
            max_workers=2,
            schedulers=2,
            min_webservers=2,
            max_webservers=2,
            webserver_access_mode=mode,
            weekly_maintenance_window_start="SUN:03:00",
            log_level="INFO",
            task_log_level="INFO",
        ),
        environment_name="test-env",
        source_bucket=bucket,
        files=files,
        dags_prefix="dags",
        requirements_key="requirements.txt",
        startup_script_key="startup.sh",
        subnets=vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
        security_group=ec2.SecurityGroup(stack, "Sg", vpc=vpc),
        configuration_options={},
        log_retention=logs.RetentionDays.ONE_WEEK,
        encryption_key=kms.Key(stack, "Key"),
        removal_policy=cdk.RemovalPolicy.DESTROY,
        tags={},
    )
    return stack


def test_synth_refuses_a_private_environment_whose_requirements_need_pypi(dags, tmp_path: Path):
    # given
    requirements = dags(HEADER + "reportkit==1.0\n")

    # then building the stack fails, before anything is deployed
    with pytest.raises(RequirementsError, match=re.escape("make mwaa-wheels")):
        airflow_stack(requirements, PRIVATE, tmp_path / "no-plugins.zip")


def test_without_wheels_the_environment_has_no_plugins(dags, tmp_path: Path):
    # given a fresh clone: no plugins.zip built
    stack = airflow_stack(dags(HEADER), PRIVATE, tmp_path / "no-plugins.zip")

    # when
    [environment] = Template.from_stack(stack).find_resources("AWS::MWAA::Environment").values()

    # then
    assert "PluginsS3Path" not in environment["Properties"]
    assert "PluginsS3ObjectVersion" not in environment["Properties"]


def test_the_built_plugins_zip_is_deployed_and_referenced_by_the_object_version_of_this_content(
    dags, plugins, tmp_path: Path
):
    # given a built plugins.zip, and a stray file beside it
    zipped = plugins(("reportkit", "1.0", "py3-none-any"))
    (zipped.parent / "notes.txt").write_text("not for MWAA")
    stack = airflow_stack(dags(HEADER + "reportkit==1.0\n"), PRIVATE, zipped, outdir=tmp_path / "cdk.out")

    # when
    template = Template.from_stack(stack)
    [environment] = template.find_resources("AWS::MWAA::Environment").values()
    readers = template.find_resources("Custom::AWS")
    [plugins_reader] = [logical_id for logical_id in readers if logical_id.startswith("FilesPluginsVersion")]
    [upload] = [
        resource
        for logical_id, resource in template.find_resources("Custom::CDKBucketDeployment").items()
        if logical_id.startswith("FilesPlugins")
    ]

    # then the environment reads plugins.zip at the version the reader found after the upload
    assert environment["Properties"]["PluginsS3Path"] == "plugins.zip"
    assert environment["Properties"]["PluginsS3ObjectVersion"] == {"Fn::GetAtt": [plugins_reader, "VersionId"]}
    assert any(dep.startswith("FilesPluginsCustomResource") for dep in readers[plugins_reader]["DependsOn"])
    assert upload["Properties"]["Prune"] is False
    assert "DestinationBucketKeyPrefix" not in upload["Properties"]
    # and the upload (unpacked at the bucket root) is the zip itself, byte for byte, and nothing else
    stack.node.root.synth()
    [key] = upload["Properties"]["SourceObjectKeys"]
    folder = tmp_path / "cdk.out" / f"asset.{key.removesuffix('.zip')}"
    assert [path.name for path in folder.iterdir()] == ["plugins.zip"]
    assert (folder / "plugins.zip").read_bytes() == zipped.read_bytes()
