"""generate_reports: the three regulatory reports and their boundaries."""

from __future__ import annotations

from decimal import Decimal

from generate_reports import currency_transaction_report, daily_totals, structuring_candidates


def accounts(frame) -> dict[str, tuple]:
    return {r.account_id: tuple(r)[1:] for r in frame.collect()}


def ctr(frame) -> dict[str, tuple]:
    """account -> (cash_in_usd, cash_in_count, cash_out_usd, cash_out_count)."""
    assert frame.columns == ["account_id", "cash_in_usd", "cash_in_count", "cash_out_usd", "cash_out_count"]
    return accounts(frame)


def test_ctr_reports_a_direction_whose_cash_exceeds_ten_thousand_not_one_at_it(curated):
    rows = [
        ("exactly", "CASH", "6000.00"),
        ("exactly", "CASH", "4000.00"),
        ("above", "CASH", "10000.01"),
        ("out", "CASH", "-7000.00"),
        ("out", "CASH", "-3000.01"),
        ("wire", "WIRE", "50000.00"),
        ("wire", "CASH", "100.00"),
    ]
    assert ctr(currency_transaction_report(curated(rows))) == {
        "above": (Decimal("10000.01"), 1, None, None),
        "out": (None, None, Decimal("10000.01"), 2),
    }


def test_ctr_never_offsets_cash_in_against_cash_out(curated):
    # given: +6,000 in and -6,000 out (12,000 in absolute value, 0 net), and +11,000 in with -3,000 out
    rows = [
        ("balanced", "CASH", "6000.00"),
        ("balanced", "CASH", "-6000.00"),
        ("in", "CASH", "5000.00"),
        ("in", "CASH", "6000.00"),
        ("in", "CASH", "-3000.00"),
    ]

    # then: neither direction of the first exceeds 10,000; the second reports its cash in only, not 8,000 net
    assert ctr(currency_transaction_report(curated(rows))) == {"in": (Decimal("11000.00"), 2, None, None)}


def test_ctr_reports_both_directions_of_one_account_each_with_its_own_total(curated):
    rows = [("both", "CASH", "10500.00"), ("both", "CASH", "-4000.00"), ("both", "CASH", "-7000.00")]
    assert ctr(currency_transaction_report(curated(rows))) == {"both": (Decimal("10500.00"), 1, Decimal("11000.00"), 2)}


def test_structuring_band_includes_both_ends_per_direction(curated):
    rows = [
        ("ends", "CASH", "8000.00"),
        ("ends", "CASH", "10000.00"),
        ("out", "CASH", "-8000.00"),
        ("out", "CASH", "-10000.00"),
        ("below", "CASH", "7999.99"),
        ("below", "CASH", "9000.00"),
        ("above", "CASH", "10000.01"),
        ("above", "CASH", "9000.00"),
        ("card", "CARD", "9000.00"),
        ("card", "CARD", "9000.00"),
    ]
    found = structuring_candidates(curated(rows))
    assert found.columns == ["account_id", "direction", "transaction_count", "total_usd"]
    assert [tuple(r) for r in found.collect()] == [
        ("ends", "IN", 2, Decimal("18000.00")),
        ("out", "OUT", 2, Decimal("18000.00")),
    ]


def test_structuring_never_adds_cash_in_to_cash_out(curated):
    # given: one deposit and one withdrawal in the band, 18,000 together in absolute value
    rows = [("mixed", "CASH", "9000.00"), ("mixed", "CASH", "-9000.00")]

    # then: each direction has one transaction only
    assert structuring_candidates(curated(rows)).collect() == []


def test_daily_totals_per_currency(curated):
    rows = [
        ("a", "CARD", "11.00", "EUR", "10.00"),
        ("b", "CASH", "-5.50", "EUR", "-5.00"),
        ("c", "ACH", "7.00", "USD", "7.00"),
    ]
    totals = {
        r.currency: (r.transaction_count, r.total_amount, r.total_usd) for r in daily_totals(curated(rows)).collect()
    }
    assert totals == {"EUR": (2, Decimal("5.00"), Decimal("5.50")), "USD": (1, Decimal("7.00"), Decimal("7.00"))}
