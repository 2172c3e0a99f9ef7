"""transform_data's rules, one test each, on small DataFrames."""

from __future__ import annotations

from decimal import Decimal

import pytest
from transform_data import VARCHAR_BYTES, ReconciliationError, check_identity, transform

from tests.jobs.conftest import DAY, malformed, row


def run(transactions, rates, rows, rate_values=None):
    curated, quarantine, reconciliation = transform(transactions(rows), rates(rate_values), DAY)
    return curated.collect(), quarantine.collect(), reconciliation


def reasons(quarantine) -> dict[str, str]:
    return {r.transaction_id: r.reason for r in quarantine}


def test_exact_duplicates_are_kept_once_and_counted(transactions, rates):
    curated, quarantine, recon = run(transactions, rates, [row("t1"), row("t1"), row("t1"), row("t2")])
    assert sorted(r.transaction_id for r in curated) == ["t1", "t2"]
    assert quarantine == []
    assert recon["duplicate_rows"] == 2


def test_conflicting_copies_of_an_id_are_all_quarantined(transactions, rates):
    rows = [row("t1", amount="10.00"), row("t1", amount="11.00"), row("t1", amount="11.00"), row("t2")]
    curated, quarantine, recon = run(transactions, rates, rows)
    assert [r.transaction_id for r in curated] == ["t2"]
    assert sorted((r.transaction_id, r.amount, r.reason) for r in quarantine) == [
        ("t1", "10.00", "conflicting duplicate"),
        ("t1", "11.00", "conflicting duplicate"),
    ]
    assert (recon["quarantined_rows"], recon["duplicate_rows"]) == (2, 1)


RULE_CASES = [
    (row(None), "missing transaction_id"),
    (row("q", account_id=None), "missing account_id"),
    (row("q", account_id="  "), "missing account_id"),
    (row("q", amount="12,50"), "unparseable amount"),
    (row("q", amount="1e3"), "unparseable amount"),
    (row("q", amount=None), "unparseable amount"),
    # a quoted value may end in a line break: Java's `$` matches before it, and the cast to DECIMAL drops it
    (row("q", amount="12.50\n"), "unparseable amount"),
    (row("q", amount="12.50\r\n"), "unparseable amount"),
    (row("q", amount=" 12.50"), "unparseable amount"),
    (row("q", timestamp="2026-11-23 12:00:00"), "unparseable timestamp"),
    (row("q", timestamp="2026-11-23T25:00:00Z"), "unparseable timestamp"),
    (row("q", timestamp="2026-11-22T23:59:59Z"), "timestamp outside business date"),
    (row("q", timestamp="2026-11-23T20:00:00-05:00"), "timestamp outside business date"),
    (row("q", channel="CHEQUE"), "unknown channel"),
    (row("q", channel="cash"), "unknown channel"),
    (row("q", currency="XYZ"), "no FX rate for currency"),
    (malformed("q,a1,2026-11-23T12:00:00Z,10.00,USD,CARD,cp,desc,extra"), "wrong number of fields"),
    (row("q", counterparty="x" * 257), "counterparty longer than 256 bytes"),
    # 513 characters, 1,026 bytes: Redshift's VARCHAR(1024) counts bytes
    (row("q", description="é" * 513), "description longer than 1024 bytes"),
    (row("q", account_id="é" * 33), "account_id longer than 64 bytes"),
]


@pytest.fixture(scope="module")
def judged(transactions, rates):
    """Every rule case in one DataFrame (one Spark run), each case under its own transaction_id."""
    rows = [(f"case-{n}" if bad[0] else None, *bad[1:]) for n, (bad, _) in enumerate(RULE_CASES)]
    curated, quarantine, _ = run(transactions, rates, [*rows, row("ok")])
    return rows, curated, quarantine


@pytest.mark.parametrize(("case", "reason"), list(enumerate(reason for _, reason in RULE_CASES)))
def test_a_row_breaking_a_rule_is_quarantined_with_the_rule(judged, case, reason):
    rows, curated, quarantine = judged
    bad = rows[case]
    matching = [r for r in quarantine if tuple(r)[:9] == bad]
    # the quarantine keeps every input column as it arrived (and a malformed record's text), plus the rule's name
    assert [r.reason for r in matching] == [reason]
    assert [r.transaction_id for r in curated] == ["ok"]


def test_the_business_date_is_judged_in_utc(transactions, rates):
    rows = [row("east", timestamp="2026-11-24T00:30:00+01:00"), row("west", timestamp="2026-11-22T20:00:00-05:00")]
    curated, quarantine, _ = run(transactions, rates, rows)
    assert sorted(r.transaction_id for r in curated) == ["east", "west"]
    assert quarantine == []


ROUNDING_CASES = [
    ("0.125", "1", "0.12"),
    ("0.135", "1", "0.14"),
    ("-0.125", "1", "-0.12"),
    ("2.50", "0.0100000000", "0.02"),
    ("3.50", "0.0100000000", "0.04"),
    # 1.000001 x 0.005 = 0.005000005: above the half, so 0.01; rounding to 6 places first would give 0.00
    ("1.000001", "0.0050000000", "0.01"),
    ("999999999999.999999", "1.0000000000", "1000000000000.00"),
]


@pytest.fixture(scope="module")
def converted(transactions, rates):
    """Each rounding case as its own currency, converted in one Spark run."""
    rows = [row(f"r{n}", amount=amount, currency=f"C{n:02d}") for n, (amount, _, _) in enumerate(ROUNDING_CASES)]
    rate_values = {"USD": "1"} | {f"C{n:02d}": rate for n, (_, rate, _) in enumerate(ROUNDING_CASES)}
    curated, _, _ = run(transactions, rates, rows, rate_values)
    return {r.transaction_id: r.amount_usd for r in curated}


@pytest.mark.parametrize(("case", "expected"), [(n, expected) for n, (_, _, expected) in enumerate(ROUNDING_CASES)])
def test_amount_usd_is_exact_then_rounded_half_even_to_cents(converted, case, expected):
    assert converted[f"r{case}"] == Decimal(expected)
    assert isinstance(converted[f"r{case}"], Decimal)


def test_reconciliation_adds_up_and_carries_the_usd_control_total(transactions, rates):
    rows = [row("a", amount="10.005"), row("a", amount="10.005"), row("b", amount="0.015"), row("c", amount="x")]
    _curated, _quarantine, recon = run(transactions, rates, rows)
    assert recon == {
        "business_date": DAY,
        "input_rows": 4,
        "curated_rows": 2,
        "quarantined_rows": 1,
        "duplicate_rows": 1,
        "control_total_usd": "10.02",
    }
    check_identity(recon)


def test_a_broken_identity_fails_the_job():
    with pytest.raises(ReconciliationError):
        check_identity({"input_rows": 5, "curated_rows": 2, "quarantined_rows": 1, "duplicate_rows": 1})


def test_a_record_with_the_wrong_number_of_fields_is_quarantined_whole_not_judged_on_its_columns(transactions, rates):
    # given: two records extract_transactions could not split onto the header's columns, one of them twice
    too_many = "t1,a1,2026-11-23T12:00:00Z,10.00,USD,CARD,cp,desc,extra"
    too_few = "t2,a1,2026-11-23T12:00:00Z,10.00"
    rows = [malformed(too_many), malformed(too_few), malformed(too_few), row("ok")]

    # when
    curated, quarantine, recon = run(transactions, rates, rows)

    # then: each is one quarantined row with its text, none is curated, the copy counts as a duplicate
    assert [r.transaction_id for r in curated] == ["ok"]
    assert sorted((r.raw_record, r.reason, r.transaction_id) for r in quarantine) == [
        (too_many, "wrong number of fields", None),
        (too_few, "wrong number of fields", None),
    ]
    assert (recon["input_rows"], recon["quarantined_rows"], recon["duplicate_rows"]) == (4, 2, 1)


def test_a_text_is_curated_up_to_its_warehouse_column_in_bytes_and_quarantined_beyond(transactions, rates):
    # given: the limits at their boundary, in one-byte and in multi-byte characters
    rows = [
        row("t" * 64, description="é" * 512),
        row("u" * 65),
        row("desc-over", description="é" * 512 + "x"),
        row("cp-at", counterparty="€" * 85 + "x"),  # 256 bytes
        row("cp-over", counterparty="€" * 86),  # 258 bytes
    ]

    # when
    curated, quarantine, _ = run(transactions, rates, rows)

    # then
    assert sorted(r.transaction_id for r in curated) == sorted(["t" * 64, "cp-at"])
    assert reasons(quarantine) == {
        "u" * 65: "transaction_id longer than 64 bytes",
        "desc-over": "description longer than 1024 bytes",
        "cp-over": "counterparty longer than 256 bytes",
    }


def test_an_amount_usd_beyond_the_warehouse_decimal_is_quarantined_never_nulled(transactions, rates):
    # given: 999,999,999,999.999999 x 1,000,000 has 18 integer digits (DECIMAL(20,2) holds it), x 1,000,001 has 19
    amount = "999999999999.999999"
    rows = [row("fits", amount=amount, currency="AAA"), row("beyond", amount=amount, currency="BBB")]
    rate_values = {"USD": "1", "AAA": "1000000", "BBB": "1000001"}

    # when
    curated, quarantine, recon = run(transactions, rates, rows, rate_values)

    # then
    assert [(r.transaction_id, r.amount_usd) for r in curated] == [("fits", Decimal("999999999999999999.00"))]
    assert reasons(quarantine) == {"beyond": "amount_usd beyond DECIMAL(20,2)"}
    assert recon["control_total_usd"] == "999999999999999999.00"


def test_the_curated_types_and_text_limits_are_the_warehouse_columns():
    import sys

    from tests.conftest import ROOT

    if str(ROOT / "dags") not in sys.path:
        sys.path.insert(0, str(ROOT / "dags"))
    from financial_etl.warehouse import CURATED_COLUMNS
    from transform_data import AMOUNT_TYPE, AMOUNT_USD_TYPE, USD_RATE_TYPE

    # given
    warehouse = dict(CURATED_COLUMNS)

    # then: every VARCHAR the transform does not bound by a rule of its own has its byte limit here
    assert {name: f"VARCHAR({limit})" for name, limit in VARCHAR_BYTES.items()} == {
        name: kind for name, kind in warehouse.items() if kind.startswith("VARCHAR") and name != "channel"
    }
    assert warehouse["channel"] == "VARCHAR(8)"
    assert warehouse["currency"] == "CHAR(3)"
    assert warehouse["amount"] == "DECIMAL({},{})".format(*AMOUNT_TYPE)
    assert warehouse["usd_rate"] == "DECIMAL({},{})".format(*USD_RATE_TYPE)
    assert warehouse["amount_usd"] == "DECIMAL({},{})".format(*AMOUNT_USD_TYPE)


def test_the_quarantine_file_is_in_one_total_order_whatever_the_partitioning(spark, transactions, rates, tmp_path):
    # given: quarantined rows of every kind spread over several shuffle partitions (ids, reasons, null ids, the
    # same id with several reasons), written by the job itself
    import csv
    import io

    from transform_data import QUARANTINE_COLUMNS, main

    rows = []
    for n in range(240):
        name = f"id-{(n * 7919) % 240:03d}"
        rows.append(row(name, amount=f"bad{n % 3}") if n % 4 else row(name, channel=f"C{n % 5}"))
    rows += [row(None, amount=f"{n}.00") for n in range(5)]
    rows += [row("id-007", amount="1.00"), row("id-007", amount="2.00")]  # a conflicting copy of a quarantined id
    rows += [malformed(f"broken,{n}") for n in range(5)]
    raw, fx = (tmp_path / "raw").as_uri(), (tmp_path / "fx").as_uri()
    transactions(rows).write.parquet(raw)
    rates().write.parquet(fx)
    out = {name: (tmp_path / name).as_uri() for name in ("curated", "quarantine", "reconciliation.json")}
    previous = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "5")
    try:
        # when
        main(
            [
                *("--business_date", DAY, "--raw_transactions", raw, "--raw_market_data", fx),
                *("--curated_path", out["curated"], "--quarantine_path", out["quarantine"]),
                *("--reconciliation_path", out["reconciliation.json"]),
            ]
        )
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", previous)

    # then: ordered by transaction_id (a missing one first), then reason, then every column; a null is written as
    # an empty field and sorts before any text
    (written,) = (tmp_path / "quarantine").glob("*.csv")
    header, *records = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8"), newline="")))
    assert header == list(QUARANTINE_COLUMNS)
    assert len(records) == 252
    by_name = [dict(zip(header, record, strict=True)) for record in records]
    keys = [(r["transaction_id"], r["reason"], *(r[name] for name in QUARANTINE_COLUMNS)) for r in by_name]
    assert keys == sorted(keys)
    assert [r["transaction_id"] for r in by_name[:10]] == [""] * 10
