"""The order workflow end to end: the synthesized state machine on moto's ASL interpreter, the real
handlers in-process, the runner acting as SQS event source and human approver."""

from __future__ import annotations

import pytest

from localrun.orders import SAMPLES, read_inventory
from tests.workflow.conftest import by_order, execution_of, order, payment_of, stored_order

TERMINAL = {
    "COMPLETED",
    "REJECTED",
    "PAYMENT_DECLINED",
    "OUT_OF_STOCK",
    "APPROVAL_REJECTED",
    "APPROVAL_TIMEOUT",
    "FAILED",
}
SAMPLE_STOCK = read_inventory(SAMPLES / "inventory.json")


def test_sample_set_shows_every_outcome(sample_run):
    statuses = {r["status"] for r in sample_run.results}
    assert statuses == TERMINAL | {"DUPLICATE", "DEAD_LETTERED"}
    assert [r["line"] for r in sample_run.results] == list(range(1, len(sample_run.results) + 1))


def test_happy_path_completes_in_nine_transitions_and_captures_the_total(sample_run):
    result = by_order(sample_run)["o-1001"]
    assert result == {"line": 1, "orderId": "o-1001", "status": "COMPLETED", "reason": None, "transitions": 9}
    assert payment_of(sample_run, "o-1001") == {"orderId": "o-1001", "status": "CAPTURED", "amount": "39.98"}
    notification = next(n for n in sample_run.state["notifications"] if n["orderId"] == "o-1001")
    assert notification["status"] == "COMPLETED"
    assert notification["total"] == "39.98"


def test_flaky_payment_succeeds_after_exponential_backoff(sample_run):
    waits = execution_of(sample_run, "o-1002")["retryWaits"]
    assert [(w["state"], w["seconds"]) for w in waits] == [("ValidatePayment", 2.0), ("ValidatePayment", 4.0)]
    assert by_order(sample_run)["o-1002"]["status"] == "COMPLETED"
    # two retries are two more billed transitions than the happy path
    assert by_order(sample_run)["o-1002"]["transitions"] == 11


def test_declined_payment_is_not_retried_and_holds_no_stock(sample_run):
    assert by_order(sample_run)["o-1003"]["status"] == "PAYMENT_DECLINED"
    assert execution_of(sample_run, "o-1003")["retryWaits"] == []
    assert payment_of(sample_run, "o-1003")["status"] == "DECLINED"
    assert "reservation" not in stored_order(sample_run, "o-1003")


def test_provider_that_keeps_failing_ends_failed_after_three_retries(sample_run):
    result = by_order(sample_run)["o-1010"]
    assert result["status"] == "FAILED"
    assert "PaymentProviderUnavailable" in result["reason"]
    assert [w["seconds"] for w in execution_of(sample_run, "o-1010")["retryWaits"]] == [2.0, 4.0, 8.0]
    # a technical failure fails the execution, so the failed-executions alarm sees it
    assert execution_of(sample_run, "o-1010")["status"] == "FAILED"


def test_unknown_sku_is_out_of_stock_and_the_authorization_is_voided(sample_run):
    result = by_order(sample_run)["o-1004"]
    assert result["status"] == "OUT_OF_STOCK"
    assert "SKU-404" in result["reason"]
    assert payment_of(sample_run, "o-1004")["status"] == "VOIDED"


def test_stock_is_split_across_warehouses_when_neither_holds_the_line(sample_run):
    reservation = stored_order(sample_run, "o-1005")["reservation"]
    assert sorted((a["warehouse"], a["quantity"]) for a in reservation) == [("warehouse-1", 4), ("warehouse-2", 2)]
    assert sample_run.state["inventory"]["SKU-2"] == {"warehouse-1": 0, "warehouse-2": 1}


def test_multi_line_order_with_one_short_line_reserves_nothing(sample_run):
    assert by_order(sample_run)["o-1011"]["status"] == "OUT_OF_STOCK"
    # SKU-1 moved only for o-1001 (2) and o-1002 (1); SKU-4 not at all
    assert sample_run.state["inventory"]["SKU-1"] == {"warehouse-1": 47, "warehouse-2": 50}
    assert sample_run.state["inventory"]["SKU-4"] == SAMPLE_STOCK["SKU-4"]


def test_invalid_order_is_rejected_with_the_field_in_the_reason(sample_run):
    result = by_order(sample_run)["o-1009"]
    assert result["status"] == "REJECTED"
    assert result["reason"].startswith("items[0].quantity:")
    assert payment_of(sample_run, "o-1009") is None


def test_duplicate_order_is_charged_and_reserved_once(sample_run):
    # given o-1001 (2 x SKU-1 at 19.99) sent again on line 12
    duplicate = sample_run.results[11]
    assert duplicate["status"] == "DUPLICATE"
    assert duplicate["orderId"] == "o-1001"
    assert [e["name"] for e in sample_run.state["executions"]].count("o-1001") == 1
    # then it is charged once: one capture, of one order's total
    assert payment_of(sample_run, "o-1001") == {"orderId": "o-1001", "status": "CAPTURED", "amount": "39.98"}
    # and reserved once: one reservation of its 2 units, reached once in its history
    stored = stored_order(sample_run, "o-1001")
    assert [(a["sku"], a["quantity"]) for a in stored["reservation"]] == [("SKU-1", 2)]
    assert [h["status"] for h in stored["history"]].count("RESERVED") == 1
    assert [n["status"] for n in sample_run.state["notifications"] if n["orderId"] == "o-1001"] == ["COMPLETED"]


def test_message_that_cannot_be_keyed_ends_in_the_dlq(sample_run):
    dead = [r for r in sample_run.results if r["status"] == "DEAD_LETTERED"]
    assert [r["line"] for r in dead] == [13, 14]
    assert sample_run.state["dlq"] == sorted(["this is not JSON", '{"customerId": "c-12", "items": []}'])


def test_every_order_ends_in_exactly_one_terminal_status(sample_run):
    for stored in sample_run.state["orders"]:
        terminal = [h["status"] for h in stored["history"] if h["status"] in TERMINAL]
        assert terminal == [stored["status"]], stored["orderId"]


@pytest.mark.parametrize(
    ("mode", "status", "payment"),
    [
        ("approve", "COMPLETED", "CAPTURED"),
        ("reject", "APPROVAL_REJECTED", "VOIDED"),
        ("timeout", "APPROVAL_TIMEOUT", "VOIDED"),
    ],
)
def test_high_value_order_waits_for_a_human(run, mode, status, payment):
    # given an order at the approval threshold, reserved across both warehouses
    stock = {"GOLD": {"warehouse-1": 1, "warehouse-2": 1}}
    lines = [order("big-1", ("GOLD", 2, "5000.00"))]
    # when the approver answers through the approval API (or never does)
    result = run(lines, stock, approvals=mode)
    # then
    assert result.results[0]["status"] == status
    assert payment_of(result, "big-1")["status"] == payment
    history = [h["status"] for h in stored_order(result, "big-1")["history"]]
    assert "AWAITING_APPROVAL" in history
    expected_stock = {"warehouse-1": 0, "warehouse-2": 0} if mode == "approve" else stock["GOLD"]
    # compensation puts back exactly what was reserved, warehouse by warehouse
    assert result.state["inventory"]["GOLD"] == expected_stock


def test_fifty_concurrent_orders_for_ten_units_never_oversell(run):
    stock = {"HOT": {"warehouse-1": 6, "warehouse-2": 4}}
    lines = [order(f"rush-{i:02d}", ("HOT", 1, "10.00")) for i in range(50)]
    result = run(lines, stock, concurrency=8)
    assert result.peak_concurrency >= 4  # executions really overlapped (measured, not just allowed)
    statuses = [r["status"] for r in result.results]
    assert statuses.count("COMPLETED") == 10
    assert statuses.count("OUT_OF_STOCK") == 40
    assert result.state["inventory"]["HOT"] == {"warehouse-1": 0, "warehouse-2": 0}
    payments = [p["status"] for p in result.state["payments"]]
    assert payments.count("CAPTURED") == 10
    assert payments.count("VOIDED") == 40


def test_the_run_measures_what_a_bill_is_made_of(sample_run):
    """The benchmark's inputs: per-execution calls and latency, handler durations and their AWS requests."""
    happy = execution_of(sample_run, "o-1001")
    assert happy["calls"] == {"lambda": 6, "sns:publish": 1}  # validate x2, two warehouses, reserve, process
    assert 0 < happy["latencySeconds"] < sample_run.processing_seconds < sample_run.seconds
    approved = execution_of(sample_run, "o-1006")
    assert approved["calls"]["lambda:invoke.waitForTaskToken"] == 1
    assert set(sample_run.latencies) == {e["line"] for e in sample_run.state["executions"]}
    assert len(sample_run.handler_seconds) == sum(sample_run.invocations.values())
    assert all(seconds > 0 for _, seconds in sample_run.handler_seconds)
