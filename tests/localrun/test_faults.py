"""The fault machinery's pure parts: the decisions (a hash of seed and place, not a random stream) and the invariants
checker, one broken promise at a time on a small finished run."""

from __future__ import annotations

import copy
import json

import pytest

from localrun.faults import Faults, check_invariants

LINES = [
    json.dumps({"orderId": "o-1"}),
    json.dumps({"orderId": "o-2"}),
    "",
    json.dumps({"orderId": "o-1"}),
    "not JSON",
]
INVENTORY = {"SKU-1": {"warehouse-1": 5, "warehouse-2": 5}}


def finished() -> tuple[list[dict], dict]:
    """A run that kept every promise: o-1 completed (2 units), o-2 out of stock, a duplicate, a dead letter."""
    results = [
        {"line": 1, "orderId": "o-1", "status": "COMPLETED", "reason": None, "transitions": 9},
        {"line": 2, "orderId": "o-2", "status": "OUT_OF_STOCK", "reason": "not enough stock", "transitions": 10},
        {"line": 4, "orderId": "o-1", "status": "DUPLICATE", "reason": "already received", "transitions": 0},
        {"line": 5, "orderId": None, "status": "DEAD_LETTERED", "reason": "not JSON", "transitions": 0},
    ]
    state = {
        "orders": [
            {"orderId": "o-1", "status": "COMPLETED", "total": "39.98", "items": [{"sku": "SKU-1", "quantity": 2}]},
            {"orderId": "o-2", "status": "OUT_OF_STOCK", "total": 5, "items": [{"sku": "SKU-1", "quantity": 99}]},
        ],
        "inventory": {"SKU-1": {"warehouse-1": 3, "warehouse-2": 5}},
        "payments": [
            {"orderId": "o-1", "status": "CAPTURED", "amount": "39.98"},
            {"orderId": "o-2", "status": "VOIDED", "amount": "5.00"},
        ],
        "notifications": [{"orderId": "o-1", "status": "COMPLETED"}, {"orderId": "o-2", "status": "OUT_OF_STOCK"}],
    }
    return results, state


def test_a_run_that_kept_every_promise_has_no_violation():
    results, state = finished()
    assert check_invariants(LINES, INVENTORY, results, state) == []


def broken(change) -> list[str]:
    results, state = finished()
    results, state = copy.deepcopy(results), copy.deepcopy(state)
    change(results, state)
    return check_invariants(LINES, INVENTORY, results, state)


@pytest.mark.parametrize(
    ("change", "violation"),
    [
        (lambda r, s: r.pop(3), "line 5: 0 results, expected exactly one"),
        (lambda r, s: r.append(dict(r[0])), "line 1: 2 results, expected exactly one"),
        (lambda r, s: r.append({**r[3], "line": 3}), "line 3: 1 result(s) for a line that holds no message"),
        (
            lambda r, s: r[1].update(status="FAILED"),
            "line 2: order o-2 is FAILED but the orders table says OUT_OF_STOCK",
        ),
        (lambda r, s: s["orders"].pop(1), "line 2: order o-2 is OUT_OF_STOCK but not in the orders table"),
        (lambda r, s: s["orders"][1].update(status="RESERVED"), "order o-2 left in RESERVED"),
        (
            lambda r, s: r[1].update(status="DEAD_LETTERED"),
            "order o-2 is in the orders table (OUT_OF_STOCK) but no result reports it",
        ),
        (
            lambda r, s: s["inventory"]["SKU-1"].update({"warehouse-2": 4}),
            "SKU-1: stock went from 10 to 7 (3 taken), COMPLETED orders hold 2",
        ),
        (
            lambda r, s: s["inventory"]["SKU-1"].update({"warehouse-1": -1, "warehouse-2": 9}),
            "SKU-1: -1 units in warehouse-1, below zero",
        ),
        (lambda r, s: s["payments"].pop(0), "order o-1 is COMPLETED with 0 CAPTURED payments"),
        (lambda r, s: s["payments"][0].update(amount="39.99"), "order o-1: captured 39.99, its total is 39.98"),
        (
            lambda r, s: s["payments"][1].update(status="CAPTURED"),
            "order o-2 is OUT_OF_STOCK but keeps a capture of 5.00",
        ),
        (lambda r, s: s["payments"][1].update(status="AUTHORIZED"), "order o-2: its authorization was left AUTHORIZED"),
        (lambda r, s: r[3].update(reason=None), "line 5: DEAD_LETTERED without a reason"),
        (
            lambda r, s: r[1].update(status="FAILED", reason="") or s["orders"][1].update(status="FAILED"),
            "line 2: FAILED without a reason",
        ),
        (
            lambda r, s: s["notifications"].append({"orderId": "o-1", "status": "FAILED"}),
            "order o-1: the customer was told COMPLETED, FAILED",
        ),
        (
            lambda r, s: s["notifications"][1].update(status="COMPLETED"),
            "order o-2: the customer was told COMPLETED, the order is OUT_OF_STOCK",
        ),
    ],
)
def test_each_broken_promise_is_named(change, violation):
    assert violation in broken(change)


def test_a_fault_is_decided_by_seed_and_place_not_by_order_of_asking():
    # given two fault plans with the same seed, asked in opposite orders
    places = [("execution", f"o-{n}", "ProcessOrder", 0, "invoke") for n in range(200)]
    first, second = Faults(0.3, seed=4), Faults(0.3, seed=4)

    # when each decides every place
    forward = [first.hit(place) for place in places]
    backward = [second.hit(place) for place in reversed(places)][::-1]

    # then they agree, about RATE of the places fail, and another seed fails others
    assert forward == backward
    assert 40 <= sum(forward) <= 80
    assert forward != [Faults(0.3, seed=5).hit(place) for place in places]


def test_a_fault_at_a_rate_is_a_fault_at_every_higher_rate():
    places = [("line", n, "delete", 0) for n in range(300)]
    for low, high in [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3)]:
        below = {p for p in places if Faults(low, seed=1).hit(p)}
        above = {p for p in places if Faults(high, seed=1).hit(p)}
        assert below <= above


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_a_rate_outside_zero_to_one_is_refused(rate):
    with pytest.raises(ValueError, match="at least 0 and below 1"):
        Faults(rate)
