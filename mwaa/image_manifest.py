"""Write the Python distributions an MWAA image installs, from the image's published bill of materials.

AWS publishes the images MWAA runs in github.com/aws/amazon-mwaa-docker-images, with a bill of materials per
image (`images/airflow/<version>/BillOfMaterials/<version>/Python-Packages-BOM.txt`, the output of
`pip-licenses --format=plain-vertical` run as the airflow user). This turns it into `name==version` lines:

    python -m mwaa.image_manifest Python-Packages-BOM.txt --source "<repo>@<commit>:<path>" \
        > mwaa/image-3.3.1-packages.txt
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

# One pip-licenses "plain-vertical" block: name, version, licence, URL, licence file, then free text (licence
# and notice files). A block starts after a blank line; the licence can itself be text with blank lines
# (fluent-logger's), so a block is recognised by a name and a version whose licence is followed, at the first
# URL-or-UNKNOWN line, by a licence-file line (a path or UNKNOWN): free text rarely has that shape.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[A-Za-z0-9.]+)?$")
_URL = re.compile(r"^(https?://\S+|UNKNOWN)$")
_LICENSE_FILE = re.compile(r"^(/\S+|UNKNOWN)$")


def _is_block(lines: list[str], i: int) -> bool:
    if not (_NAME.match(lines[i]) and _VERSION.match(lines[i + 1]) and lines[i + 2].strip()):
        return False
    url = next((k for k in range(i + 3, len(lines)) if _URL.match(lines[k])), None)
    return url is not None and url + 1 < len(lines) and bool(_LICENSE_FILE.match(lines[url + 1]))


def parse_bom(text: str) -> dict[str, str]:
    """The `{name: version}` of every Python distribution in a pip-licenses plain-vertical listing."""
    lines = text.splitlines()
    starts = [i for i in range(1, len(lines) - 2) if (i == 1 or not lines[i - 1].strip()) and _is_block(lines, i)]
    return {lines[i]: lines[i + 1] for i in starts}


def manifest(packages: Mapping[str, str], *, source: str) -> str:
    """The manifest file: a header naming its source, then `name==version` sorted by name."""
    header = [
        "# Python distributions installed in the Amazon MWAA image, one name==version a line (written by",
        "# `python -m mwaa.image_manifest`, read by stacks/data_platform/requirements.py at synth).",
        f"# Source: {source}",
    ]
    body = [f"{name}=={packages[name]}" for name in sorted(packages, key=str.lower)]
    return "\n".join([*header, *body]) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bom", type=Path, help="the image's Python-Packages-BOM.txt")
    parser.add_argument("--source", required=True, help="where the BOM comes from (repository, commit, path)")
    args = parser.parse_args(argv)
    packages = parse_bom(args.bom.read_text())
    if not packages:
        print(f"{args.bom}: no packages found; is it a pip-licenses plain-vertical listing?", file=sys.stderr)
        return 1
    sys.stdout.write(manifest(packages, source=args.source))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
