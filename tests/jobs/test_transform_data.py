"""transform_data's rules, one test each, on small DataFrames."""

from __future__ import annotations

from decimal import Decimal

import pytest
from transform_data import ReconciliationError, check_identity, transform

from tests.jobs.conftest import DAY, row


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
    (row("q", timestamp="2026-11-23 12:00:00"), "unparseable timestamp"),
    (row("q", timestamp="2026-11-23T25:00:00Z"), "unparseable timestamp"),
    (row("q", timestamp="2026-11-22T23:59:59Z"), "timestamp outside business date"),
    (row("q", timestamp="2026-11-23T20:00:00-05:00"), "timestamp outside business date"),
    (row("q", channel="CHEQUE"), "unknown channel"),
    (row("q", channel="cash"), "unknown channel"),
    (row("q", currency="XYZ"), "no FX rate for currency"),
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
    matching = [r for r in quarantine if tuple(r)[:8] == bad]
    # the quarantine keeps every input column as it arrived, plus the rule's name
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
