"""Landing files are RFC 4180 CSV, and the quarantine is too: every record is read as Python's csv module reads it,
a record with the wrong number of fields is kept whole, and what is quarantined reads back exactly as received."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from common import RAW_RECORD
from extract_market_data import extract as extract_rates
from extract_transactions import extract as extract_transactions

from tests.jobs.conftest import DAY

HEADER = "transaction_id,account_id,timestamp,amount,currency,channel,counterparty,description"
WHEN = f"{DAY}T10:00:00Z"
WELL_FORMED = {
    "t1": f't1,a1,{WHEN},10.00,USD,CARD,cp,"first line\r\nsecond line"',  # a quoted CRLF
    "t2": f't2,a1,{WHEN},10.00,USD,CARD,cp,"say ""hi"", ok"',  # doubled quotes, then a comma
    "t3": f't3,a1,{WHEN},10.00,USD,CARD,"ends with \\",desc',  # a quoted value ending in a backslash
    "t4": f"t4,a1,{WHEN}, 12.00 ,USD,CARD, cp ,  ",  # whitespace is data
    "t7": f't7,a1,{WHEN},10.00,USD,CARD,"lf\nonly",""',  # a quoted LF; a quoted empty value
    "t8": f"t8,a1,{WHEN},10.00,USD,CARD,cp,desc",
    "t8 ": f"t8,a1,{WHEN},10.00,USD,CARD,cp,desc ",  # differs from the line above by a trailing space
}
MALFORMED = {
    "t5": f"t5,a1,{WHEN},10.00,USD,CARD,cp,desc,extra",  # one field too many
    "t6": f"t6,a1,{WHEN},10.00,USD",  # three too few
    "t9": f't9,a1,{WHEN},10.00,USD,CARD,cp,"a ""quoted""\r\nvalue",x',  # too many, with quotes and a line break
}


def landing_file(tmp_path: Path, separator: str, bom: bool = True) -> tuple[str, bytes]:
    folder = tmp_path / "landing"
    folder.mkdir(exist_ok=True)
    records = [HEADER, *WELL_FORMED.values(), *MALFORMED.values()]
    body = ("\ufeff" if bom else "") + separator.join(records) + separator
    (folder / "day.csv").write_bytes(body.encode())
    return folder.as_posix(), body.encode()


def python_csv(body: bytes) -> list[list[str]]:
    """The oracle: Python's csv module (RFC 4180 quoting) on the same bytes, header left out."""
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))[1:]


def raw_rows(spark, raw: str) -> list[tuple]:
    return [tuple(r) for r in spark.read.parquet(raw).collect()]


@pytest.mark.parametrize("separator", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_landing_csv_is_read_as_rfc_4180_every_value_exactly_as_received(spark, tmp_path, separator):
    # given: a file with a BOM, quoted line breaks, doubled quotes, a trailing backslash and whitespace
    source, body = landing_file(tmp_path, separator)
    raw = (tmp_path / "raw").as_posix()

    # when
    written = extract_transactions(spark, source, raw)

    # then: one raw row per CSV record (not per line), each well-formed one as Python's csv module reads it
    oracle = [fields for fields in python_csv(body) if len(fields) == 8]
    assert written == len(python_csv(body)) == len(WELL_FORMED) + len(MALFORMED)
    well_formed = sorted(row[:8] for row in raw_rows(spark, raw) if row[8] is None)
    assert well_formed == sorted(tuple(value or None for value in fields) for fields in oracle)
    by_id = {row[0]: row for row in raw_rows(spark, raw) if row[8] is None}
    assert by_id["t1"][7] == "first line\r\nsecond line"
    assert by_id["t2"][7] == 'say "hi", ok'
    assert (by_id["t3"][6], by_id["t3"][7]) == ("ends with \\", "desc")
    assert (by_id["t4"][3], by_id["t4"][6], by_id["t4"][7]) == (" 12.00 ", " cp ", "  ")


@pytest.mark.parametrize("separator", ["\r\n", "\n"], ids=["crlf", "lf"])
def test_a_record_with_the_wrong_number_of_fields_is_kept_whole_never_truncated_or_shifted(spark, tmp_path, separator):
    # given
    source, _ = landing_file(tmp_path, separator)
    raw = (tmp_path / "raw").as_posix()

    # when
    extract_transactions(spark, source, raw)

    # then: no column of theirs is filled, their text is the record exactly (its line break included)
    kept = sorted(row for row in raw_rows(spark, raw) if row[8] is not None)
    assert kept == sorted((None,) * 8 + (text,) for text in MALFORMED.values())


def test_a_short_file_s_record_with_eight_fields_is_malformed(spark, tmp_path):
    # given: a file with the six required columns only, one record with the optional two as well
    folder = tmp_path / "landing"
    folder.mkdir()
    short = ",".join(HEADER.split(",")[:6])
    (folder / "short.csv").write_text(f"{short}\ns1,a1,{WHEN},1.00,USD,CARD\ns2,a1,{WHEN},1.00,USD,CARD,cp,d\n")
    raw = (tmp_path / "raw").as_posix()

    # when
    extract_transactions(spark, folder.as_posix(), raw)

    # then
    rows = {row[0] or row[8]: row for row in raw_rows(spark, raw)}
    assert rows["s1"][6:] == (None, None, None)
    assert rows[f"s2,a1,{WHEN},1.00,USD,CARD,cp,d"][:8] == (None,) * 8


def test_the_quarantine_is_rfc_4180_holding_each_rejected_record_exactly_as_received(spark, tmp_path):
    # given: the tricky file through extract_transactions, and a rate file
    from transform_data import main as transform_main

    source, body = landing_file(tmp_path, "\r\n")
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "fx.csv").write_text("currency,usd_rate\nEUR,1.1\n")
    raw, rates = (tmp_path / "raw").as_posix(), (tmp_path / "rates").as_posix()
    extract_transactions(spark, source, raw)
    extract_rates(spark, (tmp_path / "fx").as_posix(), rates)
    out = {name: (tmp_path / name).as_posix() for name in ("curated", "quarantine")}

    # when
    transform_main(
        [
            *("--business_date", DAY, "--raw_transactions", raw, "--raw_market_data", rates),
            *("--curated_path", out["curated"], "--quarantine_path", out["quarantine"]),
            *("--reconciliation_path", (tmp_path / "reconciliation.json").as_posix()),
        ]
    )

    # then: Python's csv module reads the quarantine, ten fields a row, each rejected record's fields as received
    (written,) = (tmp_path / "quarantine").glob("*.csv")
    rows = list(csv.reader(io.StringIO(written.read_bytes().decode("utf-8"), newline="")))
    header, rows = rows[0], rows[1:]
    assert header == [*HEADER.split(","), RAW_RECORD, "reason"]
    assert {len(row) for row in rows} == {10}
    received: dict[str, list[tuple[str, ...]]] = {}
    for fields in python_csv(body):
        if len(fields) == 8:
            received.setdefault(fields[0], []).append(tuple(fields))
    evidence = sorted((tuple(row[:8]), row[8], row[9]) for row in rows)
    assert evidence == sorted(
        [
            (received["t4"][0], "", "unparseable amount"),
            *((fields, "", "conflicting duplicate") for fields in received["t8"]),
            *((("",) * 8, text, "wrong number of fields") for text in MALFORMED.values()),
        ]
    )
    recon = json.loads((tmp_path / "reconciliation.json").read_text())
    assert recon["input_rows"] == len(python_csv(body)) == recon["curated_rows"] + recon["quarantined_rows"]
    curated = {r.transaction_id: r for r in spark.read.parquet(out["curated"]).collect()}
    assert sorted(curated) == ["t1", "t2", "t3", "t7"]
    assert curated["t1"].description == "first line\r\nsecond line"
    assert curated["t2"].description == 'say "hi", ok'
