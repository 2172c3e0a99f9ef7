"""The order benchmark's generator and cost model (the run itself is `make bench`, not a test)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from bench import prices
from bench.core import BenchError
from bench.orders import EXPECTED_STATUS, MIX, check_outcomes, cost_per_million, generate_orders, kinds_for, plan
from localrun.emulator import ApiCall, request_units


def test_a_thousand_orders_are_mostly_happy_and_include_every_outcome():
    lines, inventory, kinds = generate_orders(1000)
    counts = Counter(kinds)
    assert len(lines) == len(kinds) == 1000
    assert set(counts) == set(EXPECTED_STATUS)
    assert counts["happy"] >= 850
    assert counts["flaky_payment"] == round(MIX["flaky_payment"] * 1000)
    assert inventory["SKU-UNSTOCKED"] == {"warehouse-1": 0, "warehouse-2": 0}


def test_generation_is_reproducible_and_duplicates_repeat_an_earlier_order():
    lines, _, kinds = generate_orders(200)
    assert generate_orders(200)[0] == lines
    for number, kind in enumerate(kinds):
        if kind == "duplicate":
            assert lines[number] in lines[:number]


def test_order_kinds_shape_the_messages():
    lines, _, kinds = generate_orders(100)
    by_kind = {kind: line for line, kind in zip(lines, kinds, strict=True)}
    assert json.loads(by_kind["declined"])["payment"]["token"] == "tok_decline"
    assert json.loads(by_kind["timeout"])["localApproval"] == "timeout"
    assert json.loads(by_kind["invalid"])["items"][0]["quantity"] == 0
    with pytest.raises(ValueError, match="Expecting value"):
        json.loads(by_kind["malformed"])


def test_too_few_orders_cannot_cover_every_outcome():
    with pytest.raises(ValueError, match="every outcome"):
        kinds_for(5)


def test_an_unexpected_outcome_fails_the_measurement():
    results = [{"line": 1, "status": "COMPLETED"}, {"line": 2, "status": "FAILED", "reason": "lost"}]
    with pytest.raises(BenchError, match="line 2"):
        check_outcomes(results, ["happy", "happy"])


@pytest.mark.parametrize(
    ("operation", "params", "units"),
    [
        ("GetItem", {"ConsistentRead": True}, (1.0, 0.0)),
        ("GetItem", {}, (0.5, 0.0)),
        ("PutItem", {}, (0.0, 1.0)),
        ("TransactWriteItems", {"TransactItems": [{}, {}, {}]}, (0.0, 6.0)),
        ("BatchGetItem", {"RequestItems": {"t": {"Keys": [{}, {}], "ConsistentRead": True}}}, (2.0, 0.0)),
    ],
)
def test_dynamodb_requests_are_counted_in_on_demand_units(operation, params, units):
    assert request_units(operation, params) == units


def measured(**overrides):
    # Two orders: one happy Standard execution of 10 transitions, one that waited for approval (12).
    m = {
        "orders": 2,
        "intake_messages": 2,
        "handler_seconds": [("fn", 0.0995), ("fn", 0.0005)],
        "memory_mb": {"fn": 1024},
        "api_calls": [
            ApiCall("fn", "dynamodb", "PutItem", 0.0, 1.0),
            ApiCall("fn", "dynamodb", "GetItem", 1.0, 0.0),
            ApiCall("fn", "sns", "Publish"),
        ],
        "state_machine_calls": Counter({"lambda": 2, "sns:publish": 1}),
        "transitions": 22,
        "executions": [
            {"transitions": 10, "retry_wait_seconds": 0.0, "approval": False},
            {"transitions": 12, "retry_wait_seconds": 0.0, "approval": True},
        ],
    }
    m.update(overrides)
    return m


def test_cost_per_million_orders_adds_each_priced_request():
    costs = cost_per_million(measured())
    scale = 1_000_000 / 2
    items = costs["line_items_usd"]
    assert items["lambda_requests"] == round(2 * scale * prices.LAMBDA_REQUEST.usd, 2)
    # 100 ms + 1 ms (billed per ms, at least 1) at 1 GB
    assert items["lambda_duration"] == round(0.101 * scale * prices.LAMBDA_ARM_GB_SECOND.usd, 2)
    assert items["dynamodb_writes"] == round(scale * prices.DYNAMODB_WRITE_UNIT.usd, 2)
    assert items["sns"] == round(2 * scale * prices.SNS_PUBLISH.usd, 2)
    assert items["sqs"] == round(6 * scale * prices.SQS_REQUEST.usd, 2)
    assert costs["standard_orchestration_usd"] == round(22 * scale * prices.SFN_STANDARD_TRANSITION.usd, 2)


def test_express_keeps_approval_orders_on_standard_and_rounds_duration_up_to_100_ms():
    costs = cost_per_million(measured())
    scale = 1_000_000 / 2
    # one Express execution: 50 ms of handler time per execution -> billed 100 ms at 64 MB
    express = (
        scale * prices.SFN_EXPRESS_REQUEST.usd
        + 0.1 * 64 / 1024 * scale * prices.SFN_EXPRESS_GB_SECOND.usd
        + 12 * scale * prices.SFN_STANDARD_TRANSITION.usd
    )
    assert costs["express_orchestration_usd"] == round(express, 2)
    assert costs["express_usd"] < costs["standard_usd"]


def test_retry_waits_lengthen_an_express_execution():
    waited = measured(
        executions=[
            {"transitions": 12, "retry_wait_seconds": 6.0, "approval": False},
            {"transitions": 12, "retry_wait_seconds": 0.0, "approval": True},
        ]
    )
    assert (
        cost_per_million(waited)["express_orchestration_usd"]
        > cost_per_million(measured())["express_orchestration_usd"]
    )


def test_the_bench_runs_the_small_batch_at_each_concurrency_then_the_large_one_at_the_highest():
    assert plan(1000, 100, (1, 8)) == [(100, 1), (100, 8), (1000, 8)]
    assert plan(1000, 100, (8, 1)) == [(100, 8), (100, 1), (1000, 8)]


def test_a_run_no_larger_than_the_small_batch_is_measured_once_per_concurrency():
    assert plan(80, 100, (1, 8)) == [(80, 1), (80, 8)]
