"""The DAG parse benchmark's pure parts: `-X importtime` parsing, the extra-import ranking, the child's result."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.core import BenchError
from bench.dag_parse import (
    BASELINE_ID,
    MARKER,
    airflow_env,
    check_parse,
    child_result,
    extra_imports,
    parse_importtime,
    top_contributors,
)

# As CPython 3.11 prints it: self and cumulative microseconds, two spaces of indent a nesting level.
DAGS_SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       219 |        219 |   _io
import time:      1200 |       5000 | airflow
/work/main/dags/x.py:1: DeprecationWarning: something | 12 | not an import line
import time:       900 |        900 |         botocore.compat
import time:      2100 |       3000 |       botocore.session
import time:       400 |       3400 |     boto3
import time:       600 |       4000 |   airflow.providers.amazon.aws.hooks.base_aws
import time:       750 |       4750 | airflow.providers.amazon.aws.operators.glue
import time:       166 |        166 |   financial_etl
import time:      3044 |       3044 |   financial_etl.config
import time:       399 |       3609 | financial_etl.macros
"""
BASELINE_SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       250 |        250 |   _io
import time:      1300 |       5100 | airflow
"""


def test_parse_importtime_reads_self_and_cumulative_microseconds_of_every_module():
    modules = parse_importtime(DAGS_SAMPLE)
    assert modules["_io"] == (219, 219)
    assert modules["botocore.compat"] == (900, 900)
    assert modules["boto3"] == (400, 3400)
    assert modules["airflow.providers.amazon.aws.operators.glue"] == (750, 4750)
    assert len(modules) == 10  # the header and the warning are not modules


def test_parse_importtime_adds_up_a_module_imported_twice_and_ignores_noise():
    text = "import time:  10 |  30 | mod\nTraceback (most recent call last):\nimport time:   5 |   7 |   mod\n"
    assert parse_importtime(text) == {"mod": (15, 37)}
    assert parse_importtime("") == {}


def test_extra_imports_are_those_the_baseline_does_not_import():
    extra = extra_imports(parse_importtime(DAGS_SAMPLE), parse_importtime(BASELINE_SAMPLE))
    assert "airflow" not in extra
    assert "_io" not in extra
    assert set(extra) == {
        "botocore.compat",
        "botocore.session",
        "boto3",
        "airflow.providers.amazon.aws.hooks.base_aws",
        "airflow.providers.amazon.aws.operators.glue",
        "financial_etl",
        "financial_etl.config",
        "financial_etl.macros",
    }


def test_top_contributors_rank_extra_imports_by_cumulative_time():
    ranked = top_contributors(parse_importtime(DAGS_SAMPLE), parse_importtime(BASELINE_SAMPLE), 4)
    assert ranked == [
        ("airflow.providers.amazon.aws.operators.glue", 750, 4750),
        ("airflow.providers.amazon.aws.hooks.base_aws", 600, 4000),
        ("financial_etl.macros", 399, 3609),
        ("boto3", 400, 3400),
    ]


def test_top_contributors_by_self_time_and_ties_by_name():
    dags = parse_importtime(DAGS_SAMPLE)
    ranked = top_contributors(dags, parse_importtime(BASELINE_SAMPLE), 3, by="self")
    assert [name for name, _, _ in ranked] == ["financial_etl.config", "botocore.session", "botocore.compat"]
    tied = top_contributors({"b": (5, 9), "a": (5, 9), "c": (1, 9)}, {}, by="self")
    assert [name for name, _, _ in tied] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="cumulative"):
        top_contributors(dags, {}, by="wall")


def test_child_result_is_the_last_marked_line_and_a_missing_one_is_an_error():
    stdout = f'some log line\n{MARKER}{{"dags": {{}}}}\n{MARKER}{{"dags": {{"x": 1}}}}\ntrailing\n'
    assert child_result(stdout) == {"dags": {"x": 1}}
    with pytest.raises(BenchError, match="no result"):
        child_result("only logs\n")


def test_a_broken_or_wrong_parse_is_an_error_not_a_number():
    good = {"dags": {BASELINE_ID: 1}, "import_errors": {}}
    check_parse(good, (BASELINE_ID,), Path("folder"))
    with pytest.raises(BenchError, match="import errors"):
        check_parse({"dags": {}, "import_errors": {"x.py": "ModuleNotFoundError"}}, (BASELINE_ID,), Path("f"))
    with pytest.raises(BenchError, match="expected DAGs"):
        check_parse({"dags": {}, "import_errors": {}}, (BASELINE_ID,), Path("f"))
    with pytest.raises(BenchError, match="expected DAGs"):
        check_parse({"dags": {BASELINE_ID: 1, "other": 1}, "import_errors": {}}, (BASELINE_ID,), Path("f"))


def test_both_sides_get_the_same_offline_settings_but_their_own_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "True")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    dags, one = airflow_env(tmp_path, Path("/a")), airflow_env(tmp_path, Path("/b"))
    assert dags["AIRFLOW__CORE__DAGS_FOLDER"] == "/a"
    assert one["AIRFLOW__CORE__DAGS_FOLDER"] == "/b"
    assert {k: v for k, v in dags.items() if k != "AIRFLOW__CORE__DAGS_FOLDER"} == {
        k: v for k, v in one.items() if k != "AIRFLOW__CORE__DAGS_FOLDER"
    }
    assert dags["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert "AIRFLOW__CORE__EXECUTOR" not in dags
    assert dags["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{tmp_path / 'airflow.db'}"
