"""`python -m localrun etl` as a user runs it: DIR's files, identical re-runs, clear errors for bad input."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from unittest import mock

import duckdb
import pytest

from localrun.__main__ import main
from localrun.etl import transaction_files
from tests.conftest import ROOT

HEADER = "transaction_id,account_id,timestamp,amount,currency,channel,counterparty,description\n"


@pytest.fixture
def etl(dev_assembly):
    """`python -m localrun etl ARGS` in this process, on the session's synthesized dev assembly: the exit code."""
    return lambda *args: main(["etl", "--cdk-out", str(dev_assembly), *args])


@pytest.fixture
def localrun_etl(dev_assembly):
    """`python -m localrun etl ARGS` as its own process, on the session's synthesized dev assembly."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "localrun", "etl", "--cdk-out", str(dev_assembly), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )

    return run


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()
    }


def error_line(stderr: str) -> str:
    """The CLI's own message (the jobs' progress lines go to stderr too, as to their log on Glue)."""
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


def test_two_runs_into_the_same_dir_write_identical_files(etl, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["--date", "2026-11-21", "--generate", "60", "--out", str(out)]

    assert etl(*args) == 0
    first = snapshot(out)
    assert etl(*args) == 0

    assert snapshot(out) == first
    assert {"reconciliation.json", "quarantine.csv", "warehouse.sql"} <= set(first)
    assert {
        f"reports/{name}.csv" for name in ("currency_transaction_report", "structuring_candidates", "daily_totals")
    } <= set(first)
    assert any(name.startswith("curated/") and name.endswith(".parquet") for name in first)
    recon = json.loads(first["reconciliation.json"])
    assert list(recon) == [
        "business_date",
        "input_rows",
        "curated_rows",
        "quarantined_rows",
        "duplicate_rows",
        "control_total_usd",
        "warehouse_rows",
    ]
    assert recon["warehouse_rows"] == recon["curated_rows"]
    assert "warehouse rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty file"),
        (b"id,account,amount\n1,a,2\n", "wrong header"),
        ((HEADER + "t1,a1,2026-11-23T10:00:00Z,1.00,EUR,CARD,caf\xe9,\n").encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_malformed_input_file_is_named_and_nothing_is_written(localrun_etl, tmp_path, body, problem):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "good.csv").write_text(HEADER + "t1,a1,2026-11-23T10:00:00Z,1.00,EUR,CARD,,\n")
    (landing / "bad.csv").write_bytes(body)
    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("left alone")

    done = localrun_etl("--date", "2026-11-23", "--transactions", str(landing), "--out", str(out))

    assert done.returncode == 2
    assert f"{landing / 'bad.csv'}: {problem}" in done.stderr
    assert snapshot(out) == {"earlier.txt": b"left alone"}


def test_a_malformed_market_data_file_is_named(localrun_etl, tmp_path):
    rates = tmp_path / "fx.csv"
    rates.write_text("currency;usd_rate\nEUR;1.1\n")

    done = localrun_etl("--date", "2026-11-23", "--market-data", str(rates), "--out", str(tmp_path / "out"))

    assert done.returncode == 2
    assert f"{rates}: wrong header" in done.stderr
    assert not (tmp_path / "out").exists()


def test_an_fx_file_repeating_a_line_fails_the_run_naming_the_user_s_file_and_writes_nothing(etl, tmp_path, capsys):
    # given: a rate file that gives EUR twice, on two identical lines
    rates = tmp_path / "vendor rates.csv"
    rates.write_text("currency,usd_rate\nEUR,1.0842150000\nEUR,1.0842150000\nGBP,1.2654300000\n")
    out = tmp_path / "out"

    # when
    code = etl("--date", "2026-11-23", "--generate", "20", "--market-data", str(rates), "--out", str(out))

    # then: exit 1 naming the task, the user's file (not the landing copy, not a temporary path) and the rule
    error = error_line(capsys.readouterr().err)
    assert code == 1
    assert error == f"error: the ETL run failed: extract_market_data failed: InputFileError: {rates}: two rates for EUR"
    assert not out.exists()


def test_a_statement_that_does_not_parse_as_redshift_sql_fails_the_run_naming_the_task_and_its_error(
    etl, tmp_path, capsys
):
    # given: a load whose DELETE is not Redshift SQL
    import financial_etl.warehouse as warehouse

    real = warehouse.load_statements

    def broken(*args, **kwargs):
        return [sql.replace("DELETE FROM", "DELET FROM") for sql in real(*args, **kwargs)]

    out = tmp_path / "out"
    out.mkdir()
    (out / "earlier.txt").write_text("left alone")

    # when
    with mock.patch.object(warehouse, "load_statements", broken):
        code = etl("--date", "2026-11-23", "--generate", "20", "--out", str(out))

    # then: exit 1, the failed task and the warehouse's complaint named, nothing written
    error = error_line(capsys.readouterr().err)
    assert code == 1
    assert error.startswith("error: the ETL run failed: load_warehouse failed:")
    assert "statement 5 of 6: does not parse as Redshift SQL: Invalid expression" in error
    assert "DELET FROM finance.fact_transactions" in error
    assert "\x1b" not in error
    assert snapshot(out) == {"earlier.txt": b"left alone"}


def test_a_landing_folder_s_csv_files_are_found_whatever_the_case_of_their_extension(tmp_path):
    # given: what the Glue job reads from the landing prefix (common.list_files: *.csv in any case)
    for name in ("a.csv", "z.CSV", "b.Csv", "notes.txt", "c.csv.bak"):
        (tmp_path / name).write_text(HEADER)

    # then: the runner lands the same files
    assert [path.name for path in transaction_files(tmp_path)] == ["a.csv", "b.Csv", "z.CSV"]


def test_a_bank_s_rfc_4180_file_is_either_curated_or_quarantined_exactly_as_received(etl, tmp_path, capsys):
    # given: the CSV banks send (BOM, CRLF, quoted line breaks, doubled quotes, a trailing backslash, whitespace),
    # records with the wrong number of fields, and values the warehouse would refuse
    when = "2026-11-23T10:00:00Z"
    records = {
        "line break": f't1,a1,{when},10.00,USD,CARD,cp,"first line\r\nsecond line"',
        "doubled quotes": f't2,a1,{when},10.00,EUR,CARD,cp,"say ""hi"", ok"',
        "backslash": f't3,a1,{when},10.00,USD,CARD,"ends with \\",desc',
        "whitespace": f"t4,a1,{when}, 12.00 ,USD,CARD,cp,desc",
        "too many": f"t5,a1,{when},10.00,USD,CARD,cp,desc,extra",
        "too few": f"t6,a1,{when},10.00,USD",
        "1,500 characters": f"t7,a1,{when},10.00,USD,CARD,cp,{'x' * 1500}",
        "beyond DECIMAL(20,2)": f"t8,a1,{when},999999999999.99,BIG,CARD,cp,desc",
    }
    landing = tmp_path / "day.csv"
    landing.write_bytes(("\ufeff" + "\r\n".join([HEADER.strip(), *records.values()]) + "\r\n").encode())
    rates = tmp_path / "fx.csv"
    rates.write_text("currency,usd_rate\nEUR,1.1\nBIG,1000001\n")
    out = tmp_path / "out"

    # when
    code = etl("--date", "2026-11-23", "--transactions", str(landing), "--market-data", str(rates), "--out", str(out))

    # then: one input row per record; the curated rows hold their text, the quarantine the rest as received
    assert code == 0, capsys.readouterr().err
    recon = json.loads((out / "reconciliation.json").read_text())
    assert (recon["input_rows"], recon["curated_rows"], recon["quarantined_rows"]) == (8, 3, 5)
    assert recon["warehouse_rows"] == 3
    received = list(csv.reader(io.StringIO(landing.read_bytes().decode("utf-8-sig"), newline="")))[1:]
    quarantine = list(csv.reader(io.StringIO((out / "quarantine.csv").read_bytes().decode(), newline="")))[1:]
    assert {len(row) for row in quarantine} == {10}
    by_reason = {row[9]: row for row in quarantine}
    assert by_reason["unparseable amount"][:8] == received[3]
    assert by_reason["description longer than 1024 bytes"][:8] == received[6]
    assert by_reason["amount_usd beyond DECIMAL(20,2)"][:8] == received[7]
    assert sorted(row[8] for row in quarantine if row[9] == "wrong number of fields") == sorted(
        [records["too many"], records["too few"]]
    )
    parts = duckdb.read_parquet(f"{out}/curated/*.parquet")
    curated = parts.select("transaction_id, counterparty, description").fetchall()
    assert sorted(curated) == [
        ("t1", "cp", "first line\r\nsecond line"),
        ("t2", "cp", 'say "hi", ok'),
        ("t3", "ends with \\", "desc"),
    ]
