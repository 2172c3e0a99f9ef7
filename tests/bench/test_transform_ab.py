"""`python -m bench.transform_ab`: versions of transform_data timed against each other, outputs required equal."""

from __future__ import annotations

import pytest

from bench import transform_ab
from bench.core import BenchError
from tests.conftest import ROOT

JOB = ROOT / "jobs" / "transform_data.py"
MAIN = '    spark = spark_session("transform_data")\n'


def _variant(tmp_path, name, old, new):
    text = JOB.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def spark():
    from localrun.data_platform import local_spark

    return local_spark()


def test_equal_versions_are_timed_in_turn_and_their_settings_do_not_leak(spark, tmp_path):
    # given: the job, and a copy that changes a session setting (not its outputs)
    tuned = _variant(
        tmp_path, "tuned.py", MAIN, MAIN + '    spark.conf.set("spark.sql.inMemoryColumnarStorage.batchSize", "777")\n'
    )
    partitions = spark.conf.get("spark.sql.shuffle.partitions")

    # when
    versions = transform_ab.compare([str(JOB), tuned], rows=100, rounds=1, work=tmp_path / "work")

    # then: one timed run each, and the session as it was
    assert [len(v.seconds) for v in versions] == [1, 1]
    assert spark.conf.get("spark.sql.inMemoryColumnarStorage.batchSize") != "777"
    assert spark.conf.get("spark.sql.shuffle.partitions") == partitions


@pytest.mark.parametrize(
    ("old", "new", "what"),
    [
        ("F.lit(BAD_AMOUNT)", 'F.lit("bad amount")', "quarantine file"),
        ("F.bround(amount * usd_rate, 2)", "F.bround(amount * usd_rate, 1)", "record"),
        (
            '"account_id",\n        ts.alias',
            'F.concat("account_id", F.lit("x")).alias("account_id"),\n        ts.alias',
            "curated rows",
        ),
    ],
)
def test_a_version_whose_outputs_differ_is_refused(spark, tmp_path, old, new, what):
    changed = _variant(tmp_path, "changed.py", old, new)
    partitions = spark.conf.get("spark.sql.shuffle.partitions")
    with pytest.raises(BenchError, match=what):
        transform_ab.compare([str(JOB), changed], rows=100, rounds=1, work=tmp_path / "work")
    # the refusal leaves the session's settings as they were
    assert spark.conf.get("spark.sql.shuffle.partitions") == partitions


def test_a_version_that_is_neither_a_file_nor_a_revision_is_refused(tmp_path, capsys):
    assert transform_ab.main(["no-such-revision-xyz", str(JOB), "--rows", "10"]) == 2
    assert "neither a file nor a git revision" in capsys.readouterr().err
