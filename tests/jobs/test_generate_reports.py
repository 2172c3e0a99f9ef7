"""generate_reports: the three regulatory reports and their boundaries."""

from __future__ import annotations

from decimal import Decimal

from generate_reports import currency_transaction_report, daily_totals, structuring_candidates


def accounts(frame) -> dict[str, tuple]:
    return {r.account_id: tuple(r)[1:] for r in frame.collect()}


def test_ctr_reports_cash_totals_above_ten_thousand_not_at_it(curated):
    rows = [
        ("exactly", "CASH", "6000.00"),
        ("exactly", "CASH", "4000.00"),
        ("above", "CASH", "10000.01"),
        ("wire", "WIRE", "50000.00"),
        ("wire", "CASH", "100.00"),
    ]
    assert accounts(currency_transaction_report(curated(rows))) == {"above": (Decimal("10000.01"), 1)}


def test_ctr_counts_withdrawals_and_deposits_in_absolute_value(curated):
    rows = [("both", "CASH", "-6000.00"), ("both", "CASH", "5000.00")]
    assert accounts(currency_transaction_report(curated(rows))) == {"both": (Decimal("11000.00"), 2)}


def test_structuring_band_includes_both_ends(curated):
    rows = [
        ("ends", "CASH", "8000.00"),
        ("ends", "CASH", "-10000.00"),
        ("below", "CASH", "7999.99"),
        ("below", "CASH", "9000.00"),
        ("above", "CASH", "10000.01"),
        ("above", "CASH", "9000.00"),
        ("card", "CARD", "9000.00"),
        ("card", "CARD", "9000.00"),
    ]
    assert accounts(structuring_candidates(curated(rows))) == {"ends": (2, Decimal("18000.00"))}


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
