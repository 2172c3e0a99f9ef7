"""The extract jobs: landing files in, raw Parquet out; a bad file fails naming it, before any write."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from common import InputFileError
from extract_market_data import extract as extract_rates
from extract_transactions import extract as extract_transactions

HEADER = "transaction_id,account_id,timestamp,amount,currency,channel,counterparty,description\n"
LINE = 't1,a1,2026-11-23T10:00:00Z,10.00,USD,CARD,cp,"rent, Nov"\n'


def landing(tmp_path: Path, files: dict[str, bytes]) -> str:
    folder = tmp_path / "landing"
    folder.mkdir()
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder.as_posix()


def test_transactions_become_raw_parquet_with_the_optional_columns_null(spark, tmp_path):
    short = b"transaction_id,account_id,timestamp,amount,currency,channel\nt2,a2,2026-11-23T11:00:00Z,5,EUR,ACH\n"
    source = landing(tmp_path, {"a.csv": (HEADER + LINE).encode(), "b.csv": short})
    raw = (tmp_path / "raw").as_posix()
    assert extract_transactions(spark, source, raw) == 2
    rows = {r.transaction_id: r for r in spark.read.parquet(raw).collect()}
    assert rows["t1"].description == "rent, Nov"
    assert rows["t2"].counterparty is None
    assert rows["t2"].amount == "5"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty file"),
        (b"id,account,when,amount,currency,channel\n", "wrong header"),
        ((HEADER + "t1,a1,2026-11-23T10:00:00Z,10.00,USD,CARD,caf\xe9,\n").encode("latin-1"), "not UTF-8"),
    ],
)
def test_a_malformed_landing_file_fails_naming_it_and_writes_nothing(spark, tmp_path, body, problem):
    source = landing(tmp_path, {"good.csv": (HEADER + LINE).encode(), "bad.csv": body})
    raw = tmp_path / "raw"
    with pytest.raises(InputFileError, match=rf"bad\.csv: {problem}"):
        extract_transactions(spark, source, raw.as_posix())
    assert not raw.exists()


def test_rates_gain_usd_at_one(spark, tmp_path):
    source = landing(tmp_path, {"fx.csv": b"currency,usd_rate\nEUR,1.08\n"})
    raw = (tmp_path / "raw").as_posix()
    assert extract_rates(spark, source, raw) == 2
    assert {r.currency: r.usd_rate for r in spark.read.parquet(raw).collect()} == {
        "EUR": Decimal("1.0800000000"),
        "USD": Decimal("1.0000000000"),
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"currency,usd_rate\nEUR,abc\n", "usd_rate 'abc' of EUR"),
        (b"currency,usd_rate\nEUR,0\n", "usd_rate '0' of EUR"),
        (b"currency,usd_rate\nUSD,1.1\n", "the USD rate must be 1"),
        (b"currency,usd_rate\nEUR,1.1\nEUR,1.2\n", "two rates for EUR"),
        # the same line twice is two rates for one currency too: the file says twice what it must say once
        (b"currency,usd_rate\nEUR,1.1\nEUR,1.1\n", "two rates for EUR"),
        (
            b"currency,usd_rate\r\nEUR,1.1,x\r\n",
            "a record with the wrong number of fields \\(expected 2\\): 'EUR,1.1,x'",
        ),
        (b"currency,rate\nEUR,1.1\n", "wrong header"),
    ],
)
def test_bad_rates_fail_naming_the_file(spark, tmp_path, body, problem):
    source = landing(tmp_path, {"fx rates.csv": body})
    with pytest.raises(InputFileError, match=rf"/landing/fx rates\.csv: {problem}"):
        extract_rates(spark, source, (tmp_path / "raw").as_posix())


def test_two_files_with_a_rate_for_one_currency_fail_naming_both(spark, tmp_path):
    source = landing(tmp_path, {"a.csv": b"currency,usd_rate\nEUR,1.1\n", "b.csv": b"currency,usd_rate\nEUR,1.1\n"})
    with pytest.raises(InputFileError, match=r"/b\.csv: two rates for EUR \(the other in .*/a\.csv\)"):
        extract_rates(spark, source, (tmp_path / "raw").as_posix())


def test_a_landing_file_ending_in_upper_case_csv_is_read(spark, tmp_path):
    # given: Glue lists the landing prefix and reads every *.csv whatever the case of its extension
    source = landing(
        tmp_path, {"a.csv": (HEADER + LINE).encode(), "z.CSV": (HEADER + LINE.replace("t1", "t2")).encode()}
    )
    raw = (tmp_path / "raw").as_posix()

    # then
    assert extract_transactions(spark, source, raw) == 2
