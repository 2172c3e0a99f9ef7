"""Build plugins.zip: wheels, for MWAA's platform, of the requirements its image does not already install.

`make mwaa-wheels` runs this. It reads dags/requirements.txt, leaves out every line the MWAA image satisfies
(stacks/data_platform/requirements.py decides, from mwaa/image-<version>-packages.txt), and has pip download
the rest with their dependencies, honouring the constraints file the requirements name, as binary wheels for
the image's interpreter and platform (CPython 3.12, manylinux up to glibc 2.34, x86_64 for MWAA 3.3.1), not
this machine's. Wheels of packages the image already has at that version are dropped; the others go to the
root of mwaa/plugins/plugins.zip, which the DataPlatform stack uploads as the environment's plugins.zip. MWAA
unpacks it to /usr/local/airflow/plugins before `pip install -r requirements.txt`, and the requirements file's
`--find-links /usr/local/airflow/plugins` and `--no-index` make pip install from there only
(docs.aws.amazon.com/mwaa/latest/userguide/best-practices-dependencies.html#best-practices-dependencies-python-wheels).

Extra arguments after `--` go to `pip download`, e.g. `-- --index-url https://mirror.example/simple`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stacks.data_platform.requirements import (
    MWAA_DAGS_DIR,
    PLATFORMS,
    PLUGINS_ZIP,
    ROOT,
    MwaaPlatform,
    RequirementsError,
    RequirementsFile,
    Wheel,
    check_requirements,
    image_packages,
    plan,
    read_pins,
)

REQUIREMENTS = ROOT / "dags" / "requirements.txt"
AIRFLOW_VERSION = "3.3.1"
# Zip entries get this timestamp, so the same wheels make the same bytes (and the same S3 object version).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

Runner = Callable[[list[str]], None]


@dataclass(frozen=True)
class BuildResult:
    """What a build downloaded, what it left out because the image has it, and what it zipped."""

    requested: tuple[str, ...]
    zipped: tuple[str, ...]
    already_in_image: tuple[str, ...]
    plugins_zip: Path | None


def pip_download_command(
    requirements_file: Path,
    *,
    dest: Path,
    constraints: Sequence[Path],
    platform: MwaaPlatform,
    pip: Sequence[str] = (sys.executable, "-m", "pip"),
    pip_args: Sequence[str] = (),
) -> list[str]:
    """`pip download` of binary wheels for the MWAA interpreter and every manylinux tag its glibc accepts."""
    command = [*pip, "download", "--dest", str(dest), "--only-binary=:all:"]
    command += ["--implementation", "cp", "--python-version", platform.python_version, "--abi", platform.abi]
    for tag in platform.platform_tags:
        command += ["--platform", tag]
    for constraint in constraints:
        command += ["--constraint", str(constraint)]
    return [*command, "--requirement", str(requirements_file), *pip_args]


def run_pip(command: list[str]) -> None:
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)  # noqa: S603 (a command built from this module's own arguments)


def write_plugins_zip(wheels: Sequence[Path], out: Path) -> None:
    """The wheels at the zip's root (MWAA unpacks it to /usr/local/airflow/plugins), sorted, fixed timestamps."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for wheel in sorted(wheels, key=lambda path: path.name):
            info = zipfile.ZipInfo(wheel.name, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, wheel.read_bytes())
    partial.replace(out)


def build(
    requirements_file: Path = REQUIREMENTS,
    out: Path = PLUGINS_ZIP,
    *,
    airflow_version: str = AIRFLOW_VERSION,
    dags_dir: Path | None = None,
    run: Runner = run_pip,
    pip_args: Sequence[str] = (),
) -> BuildResult:
    """Download the wheels the image lacks and write them to `out`; nothing is written when none is needed."""
    dags_dir = dags_dir or requirements_file.parent
    requirements = RequirementsFile.parse(requirements_file.read_text())
    constraints = [
        dags_dir / c.removeprefix(f"{MWAA_DAGS_DIR}/") for c in requirements.constraints if c.startswith(MWAA_DAGS_DIR)
    ]
    image = image_packages(airflow_version)
    pins = {name: version for path in constraints for name, version in read_pins(path.read_text()).items()}
    needed = plan(requirements, airflow_version=airflow_version, image=image, constraint_pins=pins).from_source("index")
    if not needed:
        return BuildResult((), (), (), None)

    with tempfile.TemporaryDirectory(prefix="mwaa-wheels-") as work:
        selected = Path(work) / "requirements.txt"
        selected.write_text("".join(f"{requirement.text}\n" for requirement in needed))
        dest = Path(work) / "wheels"
        dest.mkdir()
        platform = PLATFORMS[airflow_version]
        run(pip_download_command(selected, dest=dest, constraints=constraints, platform=platform, pip_args=pip_args))
        downloaded = sorted(dest.iterdir())
        not_wheels = [path.name for path in downloaded if Wheel.parse(path.name) is None]
        if not_wheels:
            raise RequirementsError(f"pip downloaded files that are not wheels: {not_wheels}")
        in_image = [path for path in downloaded if _in_image(path, image)]
        zipped = [path for path in downloaded if path not in in_image]
        write_plugins_zip(zipped, out)
    return BuildResult(
        requested=tuple(requirement.text for requirement in needed),
        zipped=tuple(path.name for path in zipped),
        already_in_image=tuple(path.name for path in in_image),
        plugins_zip=out,
    )


def _in_image(path: Path, image: dict[str, str]) -> bool:
    wheel = Wheel.parse(path.name)
    return wheel is not None and image.get(wheel.name) == wheel.version


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirements", type=Path, default=REQUIREMENTS)
    parser.add_argument("--out", type=Path, default=PLUGINS_ZIP)
    parser.add_argument("--airflow-version", default=AIRFLOW_VERSION, choices=sorted(PLATFORMS))
    parser.add_argument("pip_args", nargs="*", help="passed to pip download (after --)")
    args = parser.parse_args(argv)

    result = build(args.requirements, args.out, airflow_version=args.airflow_version, pip_args=args.pip_args)
    if result.plugins_zip is None:
        print(f"Every requirement of {args.requirements.name} is in the MWAA {args.airflow_version} image: no wheels.")
        if args.out.exists():
            print(f"{args.out} is from an earlier build and is still deployed; delete it if nothing needs it.")
        return 0
    print(f"{result.plugins_zip}: {len(result.zipped)} wheels for {', '.join(result.requested)}")
    for name in result.zipped:
        print(f"  {name}")
    if result.already_in_image:
        print(f"left out, already in the image: {', '.join(result.already_in_image)}")
    try:
        check_requirements(
            args.requirements,
            airflow_version=args.airflow_version,
            webserver_access_mode="PRIVATE_ONLY",
            dags_dir=args.requirements.parent,
            plugins_zip=result.plugins_zip,
        )
    except RequirementsError as error:
        print(f"\nA PRIVATE_ONLY environment still could not install it:\n{error}", file=sys.stderr)
        return 1
    print("A PRIVATE_ONLY environment installs it from the image and these wheels only: synthesize and deploy.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
