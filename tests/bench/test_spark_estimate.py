"""The Spark benchmark's pure parts, no Spark: the Glue estimate's arithmetic, the generated input's shape and
the independent count of what transform_data must report for it."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from bench.spark import (
    GLUE_USD_PER_DPU_HOUR,
    expected_counts,
    generate_input,
    glue_estimate,
)

HEADER = "transaction_id,account_id,timestamp,amount,currency,channel,counterparty,description"
RATES = "currency,usd_rate\nEUR,1.0842150000\nUSD,1\n"

# ---- the Glue estimate ---------------------------------------------------------------------------------


def test_the_worked_example_by_hand():
    # 10 TB / 100 B = 1e11 rows; 50,000 rows/s per vCPU x 0.5 = 25,000; 1e11 / 25,000 = 4e6 vCPU-seconds;
    # 4e6 / (4 vCPU x 43,200 s) = 23.15 -> 24 executor workers + 1 driver = 25; 4e6 / 96 vCPU = 11.574 h;
    # 25 DPU x 11.574 h = 289.35 DPU-h; x 0.44 = 127.31 USD a day; x 30 = 3,819.30 USD a month.
    estimate = glue_estimate(10 * 10**12, 100, 50_000, 12, efficiency=0.5)
    assert estimate["rows_per_day"] == 100_000_000_000
    assert estimate["required_rows_per_second"] == 2_314_815
    assert estimate["glue_rows_per_second_per_vcpu"] == 25_000
    assert estimate["vcpu_hours_per_day"] == pytest.approx(1111.1)
    assert (estimate["executor_workers"], estimate["workers"], estimate["vcpus"]) == (24, 25, 100)
    assert estimate["run_hours"] == pytest.approx(11.57)
    assert estimate["dpu_hours_per_day"] == Decimal("289.35")
    assert estimate["usd_per_day"] == Decimal("127.31")
    assert estimate["usd_per_month"] == Decimal("3819.30")
    assert estimate["executor_free_disk_tb"] == 1.06  # 24 executors x 44 GB free = 1,056 GB


def test_money_is_decimal_cents_at_the_listed_price():
    estimate = glue_estimate(10 * 10**12, 100, 50_000)
    assert Decimal("0.44") == GLUE_USD_PER_DPU_HOUR
    for key in ("dpu_hours_per_day", "usd_per_day", "usd_per_month"):
        assert isinstance(estimate[key], Decimal)
    assert estimate["usd_per_day"] == (estimate["dpu_hours_per_day"] * Decimal("0.44")).quantize(Decimal("0.01"))
    assert estimate["usd_per_day"].as_tuple().exponent == -2
    doubled = glue_estimate(10 * 10**12, 100, 50_000, usd_per_dpu_hour=Decimal("0.88"))
    assert doubled["usd_per_day"] == (estimate["dpu_hours_per_day"] * Decimal("0.88")).quantize(Decimal("0.01"))


def test_the_executors_finish_the_day_inside_the_window_with_no_worker_to_spare():
    for bytes_per_row, rate, window in [(84.3, 30_000, 12), (25.9, 30_000, 12), (84.3, 7_000, 6), (120, 90_000, 1)]:
        estimate = glue_estimate(10 * 10**12, bytes_per_row, rate, window)
        vcpu_seconds = 10 * 10**12 / bytes_per_row / (rate * 0.5)
        capacity = estimate["executor_workers"] * 4 * window * 3600
        assert capacity >= vcpu_seconds > capacity - 4 * window * 3600
        assert estimate["run_hours"] <= window
        assert estimate["workers"] == estimate["executor_workers"] + 1


def test_the_estimate_scales_with_its_inputs():
    base = glue_estimate(10 * 10**12, 100, 40_000)
    # Twice the efficiency, or twice the local rate, halves the vCPU-hours; twice the bytes per row as well.
    for faster in (
        glue_estimate(10 * 10**12, 100, 40_000, efficiency=1.0),
        glue_estimate(10 * 10**12, 100, 80_000),
        glue_estimate(10 * 10**12, 200, 40_000),
    ):
        assert faster["vcpu_hours_per_day"] == pytest.approx(base["vcpu_hours_per_day"] / 2, rel=1e-3)
        assert faster["executor_workers"] == math.ceil(base["executor_workers"] / 2)
    # Half the window needs twice the executors for the same work, and costs about the same.
    half_window = glue_estimate(10 * 10**12, 100, 40_000, 6)
    assert half_window["executor_workers"] == pytest.approx(2 * base["executor_workers"], abs=2)
    assert float(half_window["usd_per_day"]) == pytest.approx(float(base["usd_per_day"]), rel=0.05)


@pytest.mark.parametrize(
    "arguments",
    [
        {"bytes_per_day": 0},
        {"bytes_per_row": 0},
        {"rows_per_second_per_vcpu": -1},
        {"window_hours": 0},
        {"efficiency": 0},
        {"driver_workers": -1},
    ],
)
def test_nonsense_inputs_are_refused(arguments):
    values = {"bytes_per_day": 10**13, "bytes_per_row": 100, "rows_per_second_per_vcpu": 1000} | arguments
    with pytest.raises(ValueError, match=next(iter(arguments))):
        glue_estimate(**values)


# ---- the input -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thousand():
    return generate_input(1000)


def test_the_generated_input_has_exactly_the_rows_asked_for(thousand):
    transactions, rates = thousand
    lines = transactions.splitlines()
    assert lines[0] == HEADER
    assert len(lines) == 1001
    assert rates.splitlines()[0] == "currency,usd_rate"
    assert generate_input(1000) == thousand  # deterministic: the same seed, the same bytes
    assert generate_input(1000, seed=1) != thousand


def test_the_generated_input_is_mostly_valid_with_a_small_share_of_each_fault(thousand):
    counts = expected_counts(*thousand)
    assert counts["input_rows"] == 1000
    assert counts["curated_rows"] + counts["quarantined_rows"] + counts["duplicate_rows"] == 1000
    # generate_day's FAULT_RATE of 3%: exact copies, conflicting copies (both quarantined), and each of three
    # rule faults (amount, the day before, a currency without a rate).
    assert 0.80 <= counts["curated_rows"] / 1000 <= 0.90
    assert 0.015 <= counts["duplicate_rows"] / 1000 <= 0.045
    assert 0.09 <= counts["quarantined_rows"] / 1000 <= 0.19
    by_reason = counts["quarantined_by_reason"]
    assert set(by_reason) == {
        "conflicting duplicate",
        "unparseable amount",
        "timestamp outside business date",
        "no FX rate for currency",
    }
    for reason in ("unparseable amount", "timestamp outside business date", "no FX rate for currency"):
        assert 0.01 <= by_reason[reason] / 1000 <= 0.05, reason


def test_the_expected_counts_follow_transform_datas_rules():
    rows = [
        "T1,A1,2026-11-23T10:00:00+00:00,10.00,USD,CARD,CP-1,",
        "T1,A1,2026-11-23T10:00:00+00:00,10.00,USD,CARD,CP-1,",  # exact copy: counted as a duplicate
        "T2,A1,2026-11-23T10:00:00Z,5.00,EUR,CASH,CP-1,rent",
        "T2,A1,2026-11-23T10:00:00Z,5.00,EUR,CASH,CP-999,rent",  # same id, different: both quarantined
        'T3,A1,2026-11-23T10:00:00Z,"12,50",USD,CARD,CP-1,',  # unparseable amount
        "T4,A1,2026-11-22T10:00:00+00:00,1.00,USD,CARD,CP-1,",  # the day before
        "T5,A1,2026-11-23T23:30:00-05:00,1.00,USD,CARD,CP-1,",  # the next day in UTC
        "T6,A1,2026-11-23T10:00:00Z,1.00,XYZ,CARD,CP-1,",  # no rate
        "T7,A1,2026-11-23T10:00:00Z,1.00,USD,cash,CP-1,",  # unknown channel
        "T8,,2026-11-23T10:00:00Z,1.00,USD,CARD,CP-1,",  # missing account
        "T9,A1,2026-11-23 10:00:00,1.00,USD,CARD,CP-1,",  # unparseable timestamp
        "T10,A1,2026-11-24T00:30:00+01:00,1.00,USD,WIRE,CP-1,",  # 23:30 UTC on the day: curated
    ]
    counts = expected_counts(HEADER + "\n" + "\n".join(rows) + "\n", RATES, "2026-11-23")
    assert counts == {
        "input_rows": 12,
        "curated_rows": 2,
        "quarantined_rows": 9,
        "duplicate_rows": 1,
        "quarantined_by_reason": {
            "conflicting duplicate": 2,
            "missing account_id": 1,
            "no FX rate for currency": 1,
            "timestamp outside business date": 2,
            "unknown channel": 1,
            "unparseable amount": 1,
            "unparseable timestamp": 1,
        },
    }
