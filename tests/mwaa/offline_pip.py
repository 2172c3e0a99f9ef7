"""Real pip, offline: tiny wheels, an interpreter whose site-packages holds what the MWAA image installs, and
requirement files with MWAA's container paths mapped to local folders."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from stacks.data_platform.requirements import MWAA_DAGS_DIR, MWAA_PLUGINS_DIR


def make_wheel(
    directory: Path, name: str, version: str, *, tag: str = "py3-none-any", requires: Sequence[str] = ()
) -> Path:
    """A minimal valid wheel of one empty module; `requires` become its Requires-Dist lines."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files = {
        f"{dist}/__init__.py": "",
        f"{info}/METADATA": metadata + "".join(f"Requires-Dist: {r}\n" for r in requires),
        f"{info}/WHEEL": f"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: {tag}\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def image_interpreter(root: Path, packages: Mapping[str, str]) -> Path:
    """A venv (no pip) whose site-packages claims every `{name: version}` installed, as the image has them."""
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    for name, version in packages.items():
        info = Path(purelib) / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "RECORD").write_text("")
        (info / "INSTALLER").write_text("pip\n")
    return python


def pip_env() -> dict[str, str]:
    """This process's environment without any pip configuration (this machine's find-links, index, cache)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    return env | {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def run_pip(args: Sequence[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *map(str, args)], env=pip_env(), capture_output=True, text=True, check=False
    )


def localized(requirements: str, *, dags: Path, plugins: Path) -> str:
    """The requirements text with MWAA's container folders replaced by these local ones."""
    return requirements.replace(MWAA_DAGS_DIR, str(dags)).replace(MWAA_PLUGINS_DIR, str(plugins))


def dry_run_install(
    interpreter: Path, requirements: Path, report: Path, *extra: str | Path
) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    """`pip install --dry-run` into `interpreter`'s environment: the result and what pip would install."""
    result = run_pip(["--python", interpreter, "install", "--dry-run", "--report", report, "-r", requirements, *extra])
    installs = json.loads(report.read_text())["install"] if result.returncode == 0 else []
    return result, installs
