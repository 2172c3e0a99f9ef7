"""What MWAA's `pip install -r requirements.txt` would need from the network, decided at synth.

MWAA runs `pip3 install -r requirements.txt` on every scheduler, worker and webserver before Airflow starts
(images/airflow/3.3.1/python/mwaa/utils/user_requirements.py in github.com/aws/amazon-mwaa-docker-images). A
webserver with PRIVATE_ONLY access cannot reach PyPI or any URL: its requirements must be in the image already
or be wheels in plugins.zip, which MWAA unpacks to /usr/local/airflow/plugins before the install, named with
`--find-links /usr/local/airflow/plugins` and `--no-index`
(docs.aws.amazon.com/mwaa/latest/userguide/best-practices-dependencies.html#best-practices-dependencies-python-wheels,
.../configuring-dag-import-plugins.html, "Access"). This module reads a requirements file the way pip does
(the subset MWAA uses), and says, line by line, whether the image, a wheel or an index would satisfy it.

Plain Python on purpose: synth needs nothing beyond the CDK app's own dependencies.
"""

from __future__ import annotations

import re
import shlex
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from stacks.config import ConfigError

ROOT = Path(__file__).resolve().parent.parent.parent
# mwaa/image-<airflow version>-packages.txt: what each supported image installs (python -m mwaa.image_manifest).
IMAGE_MANIFESTS = ROOT / "mwaa"
# What `make mwaa-wheels` writes, and where AirflowFiles looks for it.
PLUGINS_ZIP = ROOT / "mwaa" / "plugins" / "plugins.zip"
BUILD_COMMAND = "make mwaa-wheels"

# Where MWAA puts the files, inside its containers.
MWAA_PLUGINS_DIR = "/usr/local/airflow/plugins"
MWAA_DAGS_DIR = "/usr/local/airflow/dags"

DOCS = "docs.aws.amazon.com/mwaa/latest/userguide/best-practices-dependencies.html#best-practices-dependencies-python-wheels"


class RequirementsError(ConfigError):
    """A requirements file MWAA could not install as configured; the message names each line and the fix."""


def canonical_name(name: str) -> str:
    """A distribution name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class MwaaPlatform:
    """The interpreter and platform of an MWAA image, as wheel tags see them.

    MWAA 3.3.1: CPython 3.12 (`PYTHON_VERSION=3.12.13`) built on Amazon Linux 2023, whose glibc is 2.34, for
    x86_64 (images/airflow/3.3.1/Dockerfiles/Dockerfile.base and BillOfMaterials/3.3.1/System-Packages-BOM.txt,
    which lists glibc-headers-x86). AWS does not document the architecture MWAA runs on; x86_64 is the one its
    published bill of materials was built for.
    """

    python: tuple[int, int]
    glibc: tuple[int, int]
    arch: str

    @property
    def python_version(self) -> str:
        return f"{self.python[0]}.{self.python[1]}"

    @property
    def abi(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}"

    @property
    def platform_tags(self) -> tuple[str, ...]:
        """Every platform tag this glibc accepts, newest first (pip expands none of them by itself)."""
        major, newest = self.glibc
        tags = [f"manylinux_{major}_{minor}_{self.arch}" for minor in range(newest, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        tags += [f"{alias}_{self.arch}" for minor, alias in legacy.items() if minor <= newest]
        return (*tags, f"linux_{self.arch}")

    @cached_property
    def supported_tags(self) -> frozenset[tuple[str, str, str]]:
        """(python, abi, platform) triples pip on this image installs, as packaging.tags lists them."""
        major, minor = self.python
        platforms = self.platform_tags
        supported = {(self.abi, abi, p) for p in platforms for abi in (self.abi, "none")}
        supported |= {(f"cp{major}{m}", "abi3", p) for m in range(2, minor + 1) for p in platforms}
        pythons = [f"py{major}{minor}", f"py{major}", *(f"py{major}{m}" for m in range(minor - 1, -1, -1))]
        supported |= {(py, "none", p) for py in pythons for p in (*platforms, "any")}
        supported.add((self.abi, "none", "any"))
        return frozenset(supported)

    def accepts(self, wheel: Wheel) -> bool:
        return any(tag in self.supported_tags for tag in wheel.tags)


# The images this project ships a package manifest for, by Airflow version.
PLATFORMS: Mapping[str, MwaaPlatform] = {"3.3.1": MwaaPlatform(python=(3, 12), glibc=(2, 34), arch="x86_64")}


@dataclass(frozen=True)
class Wheel:
    """A wheel by its file name: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl."""

    filename: str
    name: str
    version: str
    tags: tuple[tuple[str, str, str], ...]

    @classmethod
    def parse(cls, filename: str) -> Wheel | None:
        parts = Path(filename).name.removesuffix(".whl").split("-")
        if not filename.endswith(".whl") or len(parts) not in (5, 6):
            return None
        pythons, abis, platforms = (part.split(".") for part in parts[-3:])
        tags = tuple((py, abi, plat) for py in pythons for abi in abis for plat in platforms)
        return cls(Path(filename).name, canonical_name(parts[0]), parts[1], tags)


def wheels_in(plugins_zip: Path | None) -> tuple[Wheel, ...]:
    """The wheels at the root of plugins.zip (MWAA unpacks it to /usr/local/airflow/plugins)."""
    if plugins_zip is None or not plugins_zip.is_file():
        return ()
    with zipfile.ZipFile(plugins_zip) as archive:
        names = [name for name in archive.namelist() if "/" not in name]
    return tuple(wheel for name in sorted(names) if (wheel := Wheel.parse(name)))


def read_pins(text: str) -> dict[str, str]:
    """`{canonical name: version}` of the `name==version` lines of a constraints or manifest file."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*===?\s*([^\s;#,]+)\s*(;.*)?(#.*)?$", line.strip())
        if match:
            pins[canonical_name(match.group(1))] = match.group(2)
    return pins


def image_packages(airflow_version: str) -> dict[str, str]:
    """What the MWAA image of this Airflow version installs, `{canonical name: version}`."""
    manifest = IMAGE_MANIFESTS / f"image-{airflow_version}-packages.txt"
    if not manifest.is_file() or airflow_version not in PLATFORMS:
        raise RequirementsError(
            f"no package manifest for the MWAA {airflow_version} image ({manifest.relative_to(ROOT)}): write it "
            "with `python -m mwaa.image_manifest` from the image's bill of materials"
        )
    return read_pins(manifest.read_text())


# A requirement line: a name, extras, then a specifier list or `@ url`, then a marker.
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[(?P<extras>[^\]]*)\])?\s*"
    r"(?:@\s*(?P<url>\S+)|(?P<spec>[^;@]*))\s*(?:;(?P<marker>.*))?$"
)
_OPTION_VALUES = {
    "-f": "find_links",
    "--find-links": "find_links",
    "-i": "index_urls",
    "--index-url": "index_urls",
    "--extra-index-url": "index_urls",
    "-c": "constraints",
    "--constraint": "constraints",
    "-r": "includes",
    "--requirement": "includes",
}


@dataclass(frozen=True)
class Requirement:
    """One requirement line: its number and text, the distribution and, when given, the exact pin."""

    line: int
    text: str
    name: str
    extras: tuple[str, ...] = ()
    pin: str | None = None
    specifier: str = ""
    url: str | None = None


@dataclass(frozen=True)
class RequirementsFile:
    """A requirements file as pip reads it: its global options and its requirements."""

    requirements: tuple[Requirement, ...] = ()
    no_index: bool = False
    find_links: tuple[str, ...] = ()
    index_urls: tuple[str, ...] = ()
    constraints: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> RequirementsFile:
        found: dict[str, list[str]] = {key: [] for key in set(_OPTION_VALUES.values())}
        requirements: list[Requirement] = []
        no_index = False
        for number, line in _logical_lines(text):
            if line.startswith("-"):
                words = shlex.split(line)
                option, _, inline = words[0].partition("=")
                if option == "--no-index":
                    no_index = True
                elif option in _OPTION_VALUES:
                    value = inline or (words[1] if len(words) > 1 else "")
                    found[_OPTION_VALUES[option]].append(value)
                continue  # other options (--pre, --only-binary, ...) change no source
            requirements.append(_requirement(number, line))
        return cls(
            requirements=tuple(requirements),
            no_index=no_index,
            **{key: tuple(values) for key, values in found.items()},
        )


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each line pip reads: continuations joined, comments dropped."""
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if line:
            yield start, line


def _requirement(number: int, line: str) -> Requirement:
    if line.startswith(("/", ".", "file:", "http://", "https://")) or (line.endswith(".whl") and "@" not in line):
        wheel = Wheel.parse(line.split("/")[-1])
        name = wheel.name if wheel else line
        return Requirement(number, line, name, pin=wheel.version if wheel else None, url=line)
    match = _REQUIREMENT.match(line)
    if not match:
        return Requirement(number, line, line)
    spec = (match.group("spec") or "").replace(" ", "")
    pin = re.fullmatch(r"===?([^,*]+)", spec)
    extras = tuple(sorted(canonical_name(e) for e in (match.group("extras") or "").split(",") if e.strip()))
    return Requirement(
        number,
        line,
        canonical_name(match.group("name")),
        extras=extras,
        pin=pin.group(1) if pin else None,
        specifier=spec,
        url=match.group("url"),
    )


@dataclass(frozen=True)
class Verdict:
    """How MWAA's pip would satisfy one requirement: `image`, `wheel`, or `index` (it needs PyPI or a URL)."""

    requirement: Requirement
    source: str
    reason: str = ""
    wheel: Wheel | None = None


@dataclass(frozen=True)
class RequirementsPlan:
    """The verdict on every requirement, and the file-level problems (options, constraints, wheels)."""

    airflow_version: str
    verdicts: tuple[Verdict, ...]
    problems: tuple[str, ...] = field(default=())

    def from_source(self, source: str) -> tuple[Requirement, ...]:
        return tuple(v.requirement for v in self.verdicts if v.source == source)

    @property
    def needs_index(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.source == "index")


def plan(
    requirements: RequirementsFile,
    *,
    airflow_version: str,
    image: Mapping[str, str],
    wheels: tuple[Wheel, ...] = (),
    constraint_pins: Mapping[str, str] | None = None,
) -> RequirementsPlan:
    """Decide, for each requirement, what satisfies it offline: the image (pinned to exactly its version, no
    extras), else a wheel of plugins.zip at the pinned version (`==` or the constraints file's); else an index."""
    platform = PLATFORMS[airflow_version]
    constraint_pins = constraint_pins or {}
    usable = [wheel for wheel in wheels if platform.accepts(wheel)]
    problems = [
        f"plugins.zip holds {wheel.filename}, which pip on MWAA {airflow_version} (CPython "
        f"{platform.python_version}, glibc {platform.glibc[0]}.{platform.glibc[1]}, {platform.arch}) cannot install"
        for wheel in wheels
        if wheel not in usable
    ]
    verdicts = []
    for requirement in requirements.requirements:
        version = requirement.pin or constraint_pins.get(requirement.name)
        in_image = image.get(requirement.name)
        candidates = [w for w in usable if w.name == requirement.name and version in (None, w.version)]
        if requirement.url and not requirement.url.startswith(f"{MWAA_PLUGINS_DIR}/"):
            verdicts.append(Verdict(requirement, "index", f"downloads {requirement.url}"))
        elif requirement.url:
            named = [w for w in usable if w.filename == requirement.url.removeprefix(f"{MWAA_PLUGINS_DIR}/")]
            reason = "" if named else "that wheel is not in plugins.zip"
            verdicts.append(Verdict(requirement, "wheel" if named else "index", reason, named[0] if named else None))
        elif in_image and not requirement.extras and version == in_image:
            verdicts.append(Verdict(requirement, "image"))
        elif candidates:
            verdicts.append(Verdict(requirement, "wheel", wheel=candidates[-1]))
        else:
            verdicts.append(
                Verdict(requirement, "index", _why_not_offline(requirement, version, in_image, airflow_version))
            )
    return RequirementsPlan(airflow_version, tuple(verdicts), tuple(problems))


def _why_not_offline(requirement: Requirement, version: str | None, in_image: str | None, airflow_version: str) -> str:
    image = f"the MWAA {airflow_version} image"
    if requirement.extras and in_image:
        return (
            f"{image} has {requirement.name}=={in_image} but maybe not what its extras {list(requirement.extras)} need"
        )
    if in_image and version is None:
        return f"not pinned: {image} has {requirement.name}=={in_image}, pin exactly that"
    if in_image:
        return f"{image} has {requirement.name}=={in_image}, not {version}, and plugins.zip has no wheel of {version}"
    if version is None:
        return f"not in {image}, not pinned (== or the constraints file), and no wheel in plugins.zip"
    return f"not in {image} and no wheel of {version} in plugins.zip"


def check_requirements(
    requirements_file: Path,
    *,
    airflow_version: str,
    webserver_access_mode: str,
    dags_dir: Path,
    plugins_zip: Path | None = None,
) -> RequirementsPlan:
    """The plan of the requirements file MWAA installs; raises RequirementsError if MWAA could not install it.

    Always: a `--constraint` names a file shipped in the DAGs folder (or a URL), and `--no-index` means every
    requirement is in the image or a wheel of plugins.zip. With a PRIVATE_ONLY webserver also: no index, URL or
    URL constraint at all, and wheels only with `--find-links /usr/local/airflow/plugins` and `--no-index`.
    """
    requirements = RequirementsFile.parse(requirements_file.read_text())
    private = webserver_access_mode == "PRIVATE_ONLY"
    problems: list[str] = []
    constraint_pins: dict[str, str] = {}
    for constraint in requirements.constraints:
        if constraint.startswith(("http://", "https://")):
            if private:
                problems.append(f"--constraint {constraint} is a download a PRIVATE_ONLY webserver cannot make")
            continue
        shipped = dags_dir / constraint.removeprefix(f"{MWAA_DAGS_DIR}/")
        if not constraint.startswith(f"{MWAA_DAGS_DIR}/") or not shipped.is_file():
            problems.append(f"--constraint {constraint} is not a file of {dags_dir.name}/ (MWAA syncs only that)")
            continue
        constraint_pins |= read_pins(shipped.read_text())
    for include in requirements.includes:
        problems.append(f"-r {include}: this check reads one file; list those requirements in it")
    if private:
        problems += [f"{url} is an index a PRIVATE_ONLY webserver cannot reach" for url in requirements.index_urls]

    result = plan(
        requirements,
        airflow_version=airflow_version,
        image=image_packages(airflow_version),
        wheels=wheels_in(plugins_zip),
        constraint_pins=constraint_pins,
    )
    problems += result.problems
    if result.from_source("wheel"):
        if MWAA_PLUGINS_DIR not in [link.rstrip("/") for link in requirements.find_links]:
            problems.append(f"the wheels of plugins.zip need `--find-links {MWAA_PLUGINS_DIR}` in the file")
        if private and not requirements.no_index:
            problems.append("wheels from plugins.zip need `--no-index` too, or pip also asks PyPI for them")
    offline = private or requirements.no_index
    findings = (
        [f"line {v.requirement.line} {v.requirement.text!r}: {v.reason}" for v in result.needs_index] if offline else []
    )
    if problems or findings:
        why = (
            f"webserverAccessMode is PRIVATE_ONLY: its webserver cannot reach PyPI or any URL ({DOCS})"
            if private
            else "it says --no-index"
        )
        raise RequirementsError(
            "\n  ".join(
                [
                    f"{requirements_file.name} cannot be installed by MWAA {airflow_version}: {why}, so each "
                    f"requirement must be in the image (mwaa/image-{airflow_version}-packages.txt, at exactly its "
                    "version) or a wheel in plugins.zip.",
                    *findings,
                    *problems,
                ]
            )
            + f"\nRun `{BUILD_COMMAND}` to download their wheels for the MWAA platform into "
            f"{PLUGINS_ZIP.relative_to(ROOT)}, then synthesize again (README, 'Python dependencies')."
        )
    return RequirementsPlan(airflow_version, result.verdicts, tuple(problems))
