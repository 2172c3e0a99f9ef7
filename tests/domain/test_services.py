"""Use cases over in-memory ports: payments, reservations, approvals and compensation."""

from decimal import Decimal

import pytest
from order_domain import services
from order_domain.errors import (
    InventoryContention,
    OutOfStock,
    PaymentDeclined,
    PaymentProviderUnavailable,
    PaymentStateError,
)
from order_domain.models import OrderLine, OrderStatus, PaymentStatus
from order_domain.payments import SimulatedPaymentProvider
from order_domain.rules import encode_task_token, parse_order

from tests.fakes import FakeInventory, FakeLedger, FakeOrders, RecordingApprovals, RecordingCallbacks

NOW = "2026-01-01T00:00:00.000+00:00"


@pytest.fixture
def ledger():
    return FakeLedger()


@pytest.fixture
def provider(ledger):
    return SimulatedPaymentProvider(ledger, clock=lambda: NOW)


def authorize(provider, token, order_id="o-1"):
    return provider.authorize(order_id, Decimal("10.00"), "USD", token)


def test_visa_is_authorized_for_the_exact_amount(provider):
    authorization = authorize(provider, "tok_visa")
    assert authorization.status == PaymentStatus.AUTHORIZED
    assert authorization.amount == Decimal("10.00")


def test_a_declined_card_raises_the_decline_and_is_recorded_without_an_authorization(provider, ledger):
    # when the provider declines the card
    with pytest.raises(PaymentDeclined, match=r"^card declined \(tok_decline\)$"):
        authorize(provider, "tok_decline")
    # then the payment is recorded as declined, after one attempt, and holds no authorization
    assert ledger.items["o-1"]["status"] == PaymentStatus.DECLINED
    assert ledger.items["o-1"]["attempts"] == 1
    assert "authorizationId" not in ledger.items["o-1"]


def test_an_unknown_token_is_declined_naming_it(provider, ledger):
    with pytest.raises(PaymentDeclined, match=r"^payment token not recognised \(tok_unknown\)$"):
        authorize(provider, "tok_unknown")
    assert ledger.items["o-1"]["status"] == PaymentStatus.DECLINED


def test_flaky_fails_twice_then_approves(provider):
    for _ in range(2):
        with pytest.raises(PaymentProviderUnavailable):
            authorize(provider, "tok_flaky")
    assert authorize(provider, "tok_flaky").status == PaymentStatus.AUTHORIZED


def test_error_token_always_fails_transiently(provider):
    for _ in range(5):
        with pytest.raises(PaymentProviderUnavailable):
            authorize(provider, "tok_error")


def test_authorizing_twice_returns_the_first_authorization(provider, ledger):
    first = authorize(provider, "tok_visa")
    # the second call is answered from the ledger: the same authorization, no second attempt at the provider
    assert authorize(provider, "tok_visa") == first
    assert ledger.items["o-1"]["attempts"] == 1


def test_void_after_capture_refunds_and_capture_after_void_fails(provider):
    authorize(provider, "tok_visa", "o-1")
    provider.capture("o-1")
    assert provider.void("o-1") == PaymentStatus.REFUNDED
    authorize(provider, "tok_visa", "o-2")
    assert provider.void("o-2") == PaymentStatus.VOIDED
    with pytest.raises(PaymentStateError):
        provider.capture("o-2")


def order_of(*lines):
    raw = {
        "orderId": "o-1",
        "customerId": "c-1",
        "currency": "USD",
        "items": [{"sku": s, "quantity": q, "unitPrice": "1.00"} for s, q in lines],
        "payment": {"token": "tok_visa"},
    }
    return parse_order(raw, Decimal("10000"), 60)


def setup_reservation(stock):
    orders = FakeOrders()
    inventory = FakeInventory(orders, stock)
    order = order_of(*[(sku, 1) for sku in stock])
    orders.create_received(order, NOW)
    return orders, inventory


def test_reservation_replans_when_a_concurrent_order_took_the_stock():
    _, inventory = setup_reservation({"A": {"warehouse-1": 3, "warehouse-2": 2}})
    items = [OrderLine(sku="A", quantity=3, unitPrice=Decimal(1))]
    seen = inventory.available_everywhere(["A"])
    inventory.steal = {("A", "warehouse-1"): 2}  # between the check and the reservation
    reservation = services.reserve_inventory("o-1", items, seen, inventory, NOW)
    # the plan from the stale view (3 from warehouse-1) was refused; the re-plan splits what is left
    assert sorted((a.warehouse, a.quantity) for a in reservation.allocations) == [
        ("warehouse-1", 1),
        ("warehouse-2", 2),
    ]
    assert inventory.reserve_calls == 2
    assert inventory.stock == {("A", "warehouse-1"): 0, ("A", "warehouse-2"): 0}


def test_reservation_gives_up_as_out_of_stock_when_the_stock_is_gone():
    orders, inventory = setup_reservation({"A": {"warehouse-1": 1, "warehouse-2": 0}})
    items = [OrderLine(sku="A", quantity=1, unitPrice=Decimal(1))]
    seen = inventory.available_everywhere(["A"])
    inventory.steal = {("A", "warehouse-1"): 1}
    with pytest.raises(OutOfStock):
        services.reserve_inventory("o-1", items, seen, inventory, NOW)
    assert orders.items["o-1"].get("reservation") is None


def test_reservation_reports_contention_when_stock_keeps_changing(monkeypatch):
    _, inventory = setup_reservation({"A": {"warehouse-1": 5}})
    items = [OrderLine(sku="A", quantity=1, unitPrice=Decimal(1))]
    monkeypatch.setattr(inventory, "reserve", lambda *a: (_ for _ in ()).throw(services.StockChanged("x")))
    with pytest.raises(InventoryContention, match=r"^stock kept changing while reserving order o-1$"):
        services.reserve_inventory("o-1", items, inventory.available_everywhere(["A"]), inventory, NOW)


def test_compensation_releases_exactly_what_was_reserved_and_voids_once(provider, ledger, monkeypatch):
    orders, inventory = setup_reservation({"A": {"warehouse-1": 4, "warehouse-2": 3}})
    moves = []
    transition = ledger.transition

    def recorded(order_id, source, target, now):
        moved = transition(order_id, source, target, now)
        if moved:
            moves.append((order_id, source, target))
        return moved

    monkeypatch.setattr(ledger, "transition", recorded)
    items = [OrderLine(sku="A", quantity=6, unitPrice=Decimal(1))]
    services.reserve_inventory("o-1", items, inventory.available_everywhere(["A"]), inventory, NOW)
    authorize(provider, "tok_visa")
    state = {"orderId": "o-1", "order": {"customerId": "c-1"}, "error": {"Error": "States.Timeout", "Cause": ""}}

    outcome = services.compensate_order(state, provider, inventory, orders, NOW)
    again = services.compensate_order(state, provider, inventory, orders, NOW)

    assert outcome.status == OrderStatus.APPROVAL_TIMEOUT
    assert again.status == OrderStatus.APPROVAL_TIMEOUT
    assert inventory.stock == {("A", "warehouse-1"): 4, ("A", "warehouse-2"): 3}
    assert ledger.items["o-1"]["status"] == PaymentStatus.VOIDED
    assert moves == [("o-1", PaymentStatus.AUTHORIZED, PaymentStatus.VOIDED)]
    assert orders.items["o-1"]["history"].count(OrderStatus.APPROVAL_TIMEOUT) == 1


def test_a_terminal_status_is_never_overwritten(provider):
    orders = FakeOrders()
    inventory = FakeInventory(orders, {})
    first = {"orderId": "o-9", "error": {"Error": "OrderValidationError", "Cause": "bad"}}
    second = {"orderId": "o-9", "error": {"Error": "States.Runtime", "Cause": "late"}}
    services.compensate_order(first, provider, inventory, orders, NOW)
    # when a later compensation of the same order ends it another way
    reported = services.compensate_order(second, provider, inventory, orders, NOW)
    # then the first terminal status and its reason stand, in the table and in what is reported
    assert (reported.status, reported.reason) == (OrderStatus.REJECTED, "bad")
    assert (orders.items["o-9"]["status"], orders.items["o-9"]["reason"]) == (OrderStatus.REJECTED, "bad")
    assert orders.items["o-9"]["history"] == [OrderStatus.REJECTED]


def test_approval_links_carry_a_url_safe_token_and_the_answer_resumes_the_task():
    orders, approvals, callbacks = FakeOrders(), RecordingApprovals(), RecordingCallbacks()
    order = order_of(("A", 1))
    orders.create_received(order, NOW)
    orders.items["o-1"]["status"] = OrderStatus.RESERVED
    services.request_approval(
        order, "tok+en/==", api_url="https://api.example/prod", orders=orders, approvals=approvals, now=NOW
    )
    sent = approvals.sent[0]
    assert sent["approveUrl"] == f"https://api.example/prod/approvals/{encode_task_token('tok+en/==')}/approve"
    assert orders.items["o-1"]["status"] == OrderStatus.AWAITING_APPROVAL

    token = sent["rejectUrl"].split("/")[-2]
    services.answer_approval(token, "reject", approver="alice", comment="too big", callbacks=callbacks)
    assert callbacks.calls == [("failure", "tok+en/==", ("ApprovalRejected", "rejected by alice: too big"))]


def test_compensating_a_failed_validation_records_the_canonical_order_id(provider):
    # given the raw message a failed ValidateOrder hands to CompensateOrder, its id with surrounding whitespace
    orders = FakeOrders()
    state = {"orderId": " o-7\n", "customerId": "c-7", "error": {"Error": "OrderValidationError", "Cause": "bad"}}
    # when it is compensated
    outcome = services.compensate_order(state, provider, FakeInventory(orders, {}), orders, NOW)
    # then the order is recorded under the identity the intake and the execution name use
    assert outcome.orderId == "o-7"
    assert list(orders.items) == ["o-7"]
    assert orders.items["o-7"]["status"] == OrderStatus.REJECTED


def test_a_completed_order_is_never_undone_by_a_later_compensation(provider, ledger):
    # given an order reserved, captured and recorded COMPLETED (ProcessOrder then died before returning)
    orders, inventory = setup_reservation({"A": {"warehouse-1": 4, "warehouse-2": 3}})
    items = [OrderLine(sku="A", quantity=6, unitPrice=Decimal(1))]
    services.reserve_inventory("o-1", items, inventory.available_everywhere(["A"]), inventory, NOW)
    authorize(provider, "tok_visa")
    services.process_order(order_of(("A", 6)), provider, orders, NOW)
    # when the execution's Catch runs CompensateOrder for the step that "failed"
    state = {"orderId": "o-1", "order": {"customerId": "c-1"}, "error": {"Error": "States.TaskFailed", "Cause": "x"}}
    outcome = services.compensate_order(state, provider, inventory, orders, NOW)
    # then the customer keeps the order: nothing released, nothing refunded, one terminal status
    assert outcome.status == OrderStatus.COMPLETED
    assert outcome.reason is None
    assert inventory.stock == {("A", "warehouse-1"): 0, ("A", "warehouse-2"): 1}
    assert ledger.items["o-1"]["status"] == PaymentStatus.CAPTURED
    assert orders.items["o-1"]["history"].count(OrderStatus.COMPLETED) == 1
    assert orders.items["o-1"]["status"] == OrderStatus.COMPLETED


def test_a_warehouse_check_reports_that_warehouses_stock_of_each_ordered_sku_once():
    # given an order listing SKU A twice and SKU B once, and B stocked only in warehouse-2
    orders = FakeOrders()
    inventory = FakeInventory(orders, {"A": {"warehouse-1": 3, "warehouse-2": 1}, "B": {"warehouse-2": 4}})
    items = [
        OrderLine(sku="A", quantity=1, unitPrice=Decimal(1)),
        OrderLine(sku="B", quantity=1, unitPrice=Decimal(1)),
        OrderLine(sku="A", quantity=2, unitPrice=Decimal(1)),
    ]
    # when warehouse-1 is checked, then it reports its own stock of A and B (none of B)
    checked = services.check_warehouse("warehouse-1", items, inventory)
    assert checked.warehouse == "warehouse-1"
    assert checked.available == {"A": 3, "B": 0}
    assert list(checked.available) == ["A", "B"]
