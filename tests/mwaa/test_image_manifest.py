"""mwaa/image-<version>-packages.txt: written from the image's bill of materials, read at synth."""

from __future__ import annotations

from pathlib import Path

from mwaa.image_manifest import manifest, parse_bom
from stacks.data_platform.requirements import image_packages, read_pins

# The shape of pip-licenses --format=plain-vertical --with-url --with-license-file --with-notice-file, as in
# images/airflow/3.3.1/BillOfMaterials/3.3.1/Python-Packages-BOM.txt: licence text can hold blank lines and
# version-like numbers; a licence can be free text (fluent-logger's); some packages have no licence file.
BOM = """This Docker image includes the following third-party software/licensing:
Deprecated
1.3.1
MIT License
https://github.com/laurent-laporte-pro/deprecated
/usr/local/airflow/.local/lib/python3.12/site-packages/deprecated-1.3.1.dist-info/licenses/LICENSE.rst
The MIT License (MIT)

Copyright (c) 2017 Laurent LAPORTE
UNKNOWN
UNKNOWN

fluent-logger
0.11.1
Copyright (C) 2011 FURUHASHI Sadayuki

   Licensed under the Apache License, Version 2.0 (the "License");
UNKNOWN
UNKNOWN

apache-airflow-providers-amazon
9.34.0
Apache-2.0
https://airflow.apache.org/docs/apache-airflow-providers-amazon/9.34.0/changelog.html
/usr/local/airflow/.local/lib/python3.12/site-packages/apache_airflow_providers_amazon-9.34.0.dist-info/licenses/LICENSE
                              Apache License
                        Version 2.0, January 2004

Section
2.0
UNKNOWN
UNKNOWN

pycurl
7.47.0
LGPL-2.1-only OR MIT
http://pycurl.io/
UNKNOWN
UNKNOWN
UNKNOWN
"""


def test_every_package_of_the_bill_of_materials_is_read_and_nothing_else():
    # when
    packages = parse_bom(BOM)

    # then
    assert packages == {
        "Deprecated": "1.3.1",
        "fluent-logger": "0.11.1",
        "apache-airflow-providers-amazon": "9.34.0",
        "pycurl": "7.47.0",
    }


def test_the_manifest_names_its_source_and_reads_back_canonically(tmp_path: Path):
    # given
    text = manifest(parse_bom(BOM), source="github.com/aws/amazon-mwaa-docker-images@abc:BOM.txt")

    # then
    assert "# Source: github.com/aws/amazon-mwaa-docker-images@abc:BOM.txt" in text
    assert read_pins(text) == {
        "apache-airflow-providers-amazon": "9.34.0",
        "deprecated": "1.3.1",
        "fluent-logger": "0.11.1",
        "pycurl": "7.47.0",
    }


def test_the_3_3_1_manifest_holds_what_mwaa_s_image_build_installs():
    # given images/airflow/3.3.1/bootstrap/02-airflow/001-install-required-pip-packages.sh's list
    required = {
        "apache-airflow",
        "apache-airflow-core",
        "apache-airflow-providers-amazon",
        "apache-airflow-providers-postgres",
        "apache-airflow-providers-fab",
        "apache-airflow-providers-standard",
        "celery",
        "psycopg2",
        "pycurl",
        "watchtower",
        "fluent-logger",
        "virtualenv",
    }

    # when
    packages = image_packages("3.3.1")

    # then
    assert required <= set(packages)
    assert packages["apache-airflow-providers-amazon"] == "9.34.0"
