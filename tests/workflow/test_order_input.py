"""Hostile input end to end: one identity per order, a result for every line whatever it holds, and AWS's
payload limits applied locally. Each defect of issue 10 has a test here that failed before its fix."""

from __future__ import annotations

import json

import pytest
from order_domain.identity import execution_name
from order_domain.rules import ORDER_MESSAGE_MAX_BYTES

from tests.workflow.conftest import order, payment_of

STOCK = {"A": {"warehouse-1": 20, "warehouse-2": 0}}
SPOOFED = execution_name("a/b")  # an id copied from another order's execution name


def sized(order_id: str, size: int, quantity: int = 1) -> str:
    """A message of exactly `size` UTF-8 bytes (padded in a field the product ignores)."""
    body = order(order_id, ("A", quantity, "1.00"), note="")
    padded = body.replace('"note": ""', '"note": "' + "x" * (size - len(body.encode())) + '"')
    assert len(padded.encode()) == size
    return padded


# Each labelled line of one run; "" is a blank line (skipped, but counted in the line numbers).
LINES = {
    "first": order("o-1", ("A", 1, "3.00")),
    "trailing space": order("o-1 ", ("A", 1, "3.00")),
    "leading space, other amount": order(" o-1", ("A", 2, "3.00")),
    "blank-1": "",
    "a/b": order("a/b", ("A", 1, "1.00")),
    "a b": order("a b", ("A", 1, "1.00")),
    "a:b": order("a:b", ("A", 1, "1.00")),
    "a_b": order("a_b", ("A", 1, "1.00")),
    "spoofed name": order(SPOOFED, ("A", 1, "1.00")),
    "surrogate id": order("\ud800", ("A", 1, "1.00")),
    "surrogate sku": order("sur-sku", ("\udfff", 1, "1.00")),
    "price '0'": order("zero-1", ("A", 1, "0")),
    "price 0.00": order("zero-2", ("A", 1, 0.00)),
    "empty id": order("", ("A", 1, "1.00")),
    "blank id": order("   ", ("A", 1, "1.00")),
    "blank-2": "  ",
    "300 KB": sized("big-300k", 300_000),
    "at the limit, invalid": sized("big-bad", ORDER_MESSAGE_MAX_BYTES, quantity=0),
    "at the limit": sized("big-ok", ORDER_MESSAGE_MAX_BYTES),
    "over 1 MiB": sized("huge", 1_048_577),
    "U+FFFE": order("fffe-1", ("A", 1, "1.00")).replace('"c-fffe-1"', '"c-\ufffe"'),
    "last": order("o-last", ("A", 1, "1.00")),
}
LINE = {label: number for number, label in enumerate(LINES, start=1)}


@pytest.fixture(scope="module")
def hostile(run):
    return run(list(LINES.values()), STOCK)


def result(run, label: str) -> dict:
    (found,) = [r for r in run.results if r["line"] == LINE[label]]
    return found


def test_every_non_blank_line_has_exactly_one_result_numbered_by_its_line(hostile):
    numbers = [r["line"] for r in hostile.results]
    assert numbers == [LINE[label] for label, line in LINES.items() if line.strip()]


def test_whitespace_around_an_order_id_is_the_same_order_not_a_second_one(hostile):
    # given "o-1", then "o-1 " and " o-1" (the last for another amount)
    first, second, third = (result(hostile, k) for k in ("first", "trailing space", "leading space, other amount"))
    # then one order: the others are duplicates of line 1, under the canonical id
    assert first == {"line": 1, "orderId": "o-1", "status": "COMPLETED", "reason": None, "transitions": 9}
    assert second == {
        **second,
        "orderId": "o-1",
        "status": "DUPLICATE",
        "reason": "order o-1 was already received (line 1)",
    }
    assert third == {**third, "orderId": "o-1", "status": "DUPLICATE"}
    # and it stays paid and reserved: no refund, one notification, one execution
    assert payment_of(hostile, "o-1") == {"orderId": "o-1", "status": "CAPTURED", "amount": "3.00"}
    assert [n["status"] for n in hostile.state["notifications"] if n["orderId"] == "o-1"] == ["COMPLETED"]
    assert [e["line"] for e in hostile.state["executions"] if e["name"] == "o-1"] == [1]
    assert len(hostile.state["executions"]) == len({e["name"] for e in hostile.state["executions"]})


def test_ids_that_sanitize_alike_are_different_orders(hostile):
    labels = ("a/b", "a b", "a:b", "a_b", "spoofed name")
    results = [result(hostile, label) for label in labels]
    assert [r["status"] for r in results] == ["COMPLETED"] * len(labels)
    assert [r["orderId"] for r in results] == ["a/b", "a b", "a:b", "a_b", SPOOFED]
    started = {e["line"]: e["name"] for e in hostile.state["executions"]}
    assert len({started[LINE[label]] for label in labels}) == len(labels)


def test_an_unpaired_surrogate_in_the_order_id_is_dead_lettered_with_a_reason_and_the_run_goes_on(hostile):
    assert result(hostile, "surrogate id") == {
        "line": LINE["surrogate id"],
        "orderId": None,
        "status": "DEAD_LETTERED",
        "reason": "orderId: character 1 is U+D800, an unpaired surrogate, not Unicode text",
        "transitions": 0,
    }
    assert result(hostile, "last")["status"] == "COMPLETED"


def test_an_unpaired_surrogate_in_another_field_is_rejected_naming_it(hostile):
    rejected = result(hostile, "surrogate sku")
    assert rejected["status"] == "REJECTED"
    assert rejected["reason"] == "items[0].sku: character 1 is U+DFFF, an unpaired surrogate, not Unicode text"


@pytest.mark.parametrize(("label", "shown"), [("price '0'", "0"), ("price 0.00", "0.0")])
def test_a_zero_unit_price_is_rejected_naming_the_field_and_nothing_is_charged(hostile, label, shown):
    rejected = result(hostile, label)
    assert rejected["status"] == "REJECTED"
    assert rejected["reason"] == f"items[0].unitPrice: must be greater than 0, got {shown}"
    assert payment_of(hostile, rejected["orderId"]) is None


@pytest.mark.parametrize(("label", "reason"), [("empty id", "must not be empty"), ("blank id", "must not be blank")])
def test_an_empty_or_blank_order_id_is_dead_lettered_naming_the_field(hostile, label, reason):
    dead = result(hostile, label)
    assert dead["status"] == "DEAD_LETTERED"
    assert dead["reason"] == f"orderId: {reason}"


def test_a_message_over_the_order_size_limit_is_refused_by_the_intake_queue_saying_the_limit(hostile):
    # the stack sets the intake queue's MaximumMessageSize to the order limit: SQS refuses it at SendMessage
    refused = result(hostile, "300 KB")
    assert refused["status"] == "REFUSED"
    assert refused["reason"] == (
        "SQS refused the message: InvalidParameterValue: One or more parameters are invalid."
        " Reason: Message must be shorter than 196608 bytes."
    )
    assert payment_of(hostile, "big-300k") is None


def test_messages_at_the_size_limit_reach_a_terminal_status_even_when_invalid(hostile):
    # the raw message plus a validation error still fits Step Functions' 256 KiB state limit
    assert result(hostile, "at the limit")["status"] == "COMPLETED"
    invalid = result(hostile, "at the limit, invalid")
    assert invalid["status"] == "REJECTED"
    assert invalid["reason"].startswith("items[0].quantity:")


def test_what_sqs_refuses_is_refused_locally_with_its_reason(hostile):
    too_big = result(hostile, "over 1 MiB")
    assert too_big["status"] == "REFUSED"
    assert too_big["reason"] == (
        "SQS refused the message: InvalidParameterValue: One or more parameters are invalid."
        " Reason: Message must be shorter than 196608 bytes."
    )
    refused = result(hostile, "U+FFFE")
    assert refused["status"] == "REFUSED"
    assert refused["reason"].startswith("SQS refused the message: InvalidMessageContents:")
    assert refused["orderId"] == "fffe-1"
    assert payment_of(hostile, "fffe-1") is None


def test_stock_moves_only_for_completed_orders(hostile):
    completed = {r["orderId"] for r in hostile.results if r["status"] == "COMPLETED"}
    taken = sum(
        item["quantity"]
        for stored in hostile.state["orders"]
        if stored["orderId"] in completed
        for item in stored["items"]
    )
    assert sum(hostile.state["inventory"]["A"].values()) == 20 - taken
    assert {p["orderId"] for p in hostile.state["payments"] if p["status"] == "CAPTURED"} == completed


def test_concurrent_whitespace_variants_of_orders_are_one_order_each(run):
    # given pairs "w-i" and " w-i " (for another quantity) sent back to back, eight executions in flight
    lines = []
    for i in range(8):
        lines += [order(f"w-{i}", ("A", 1, "2.00")), order(f" w-{i} ", ("A", 2, "2.00"))]
    done = run(lines, STOCK, concurrency=8)
    # then each pair is one completed order and one duplicate, charged and reserved once
    statuses = [(r["orderId"], r["status"]) for r in done.results]
    assert statuses == [(f"w-{i}", s) for i in range(8) for s in ("COMPLETED", "DUPLICATE")]
    assert sorted(p["status"] + p["amount"] for p in done.state["payments"]) == ["CAPTURED2.00"] * 8
    assert sum(done.state["inventory"]["A"].values()) == 20 - 8
    assert sorted(n["orderId"] for n in done.state["notifications"]) == [f"w-{i}" for i in range(8)]
    assert json.dumps(done.results).count("FAILED") == 0
