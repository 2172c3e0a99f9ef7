"""What the customer is told: the outcome ProcessOrder and CompensateOrder report, from the state they are given."""

from decimal import Decimal

import pytest
from order_domain import services
from order_domain.models import OrderStatus, Outcome
from order_domain.payments import SimulatedPaymentProvider
from order_domain.rules import parse_order, reason_for_error

from tests.fakes import FakeInventory, FakeLedger, FakeOrders

NOW = "2026-01-01T00:00:00.000+00:00"


def raw_order(**overrides):
    return {
        "orderId": "o-1",
        "customerId": "c-1",
        "currency": "EUR",
        "items": [{"sku": "A", "quantity": 3, "unitPrice": "2.50"}],
        "payment": {"token": "tok_visa"},
        **overrides,
    }


def compensate(state):
    orders = FakeOrders()
    provider = SimulatedPaymentProvider(FakeLedger(), clock=lambda: NOW)
    return services.compensate_order(state, provider, FakeInventory(orders, {}), orders, NOW), orders


def test_a_processed_order_is_completed_for_its_customer_total_and_currency():
    orders, ledger = FakeOrders(), FakeLedger()
    provider = SimulatedPaymentProvider(ledger, clock=lambda: NOW)
    order = parse_order(raw_order(), Decimal("10000"), 60)
    orders.create_received(order, NOW)
    provider.authorize("o-1", order.total, order.currency, "tok_visa")
    outcome = services.process_order(order, provider, orders, NOW)
    assert outcome == Outcome(
        orderId="o-1",
        customerId="c-1",
        status=OrderStatus.COMPLETED,
        reason=None,
        total=Decimal("7.50"),
        currency="EUR",
    )
    assert orders.items["o-1"]["status"] == OrderStatus.COMPLETED


def test_a_failed_order_is_reported_with_its_customer_total_currency_and_reason():
    # given the state of an execution that failed after validation (the Catch adds the error)
    order = parse_order(raw_order(), Decimal("10000"), 60).model_dump(mode="json")
    cause = '{"errorMessage": "not enough stock for A (requested 3, available 0)", "errorType": "OutOfStock"}'
    state = {"orderId": "o-1", "order": order, "error": {"Error": "OutOfStock", "Cause": cause}}
    # when it is compensated
    outcome, orders = compensate(state)
    # then the customer is told the status, the reason, and what the order was
    assert outcome == Outcome(
        orderId="o-1",
        customerId="c-1",
        status=OrderStatus.OUT_OF_STOCK,
        reason="not enough stock for A (requested 3, available 0)",
        total=Decimal("7.50"),
        currency="EUR",
    )
    assert orders.items["o-1"]["reason"] == "not enough stock for A (requested 3, available 0)"


def test_an_execution_that_failed_without_an_error_is_a_technical_failure():
    outcome, _ = compensate({"orderId": "o-1", "order": {"customerId": "c-1"}})
    assert (outcome.status, outcome.reason) == (OrderStatus.FAILED, "States.Runtime")


def test_a_raw_message_that_failed_validation_is_reported_for_the_customer_it_names():
    # given the raw message as ValidateOrder received it (no validated order in the state)
    state = {**raw_order(), "error": {"Error": "OrderValidationError", "Cause": "items[0].quantity: too small"}}
    outcome, _ = compensate(state)
    assert (outcome.customerId, outcome.status) == ("c-1", OrderStatus.REJECTED)
    assert (outcome.total, outcome.currency) == (None, None)


@pytest.mark.parametrize("customer", [42, None, ["c-1"], {"id": "c-1"}])
def test_a_raw_message_whose_customer_is_not_text_is_reported_without_one(customer):
    state = {**raw_order(customerId=customer), "error": {"Error": "OrderValidationError", "Cause": "bad"}}
    outcome, _ = compensate(state)
    assert outcome.customerId is None
    assert outcome.status == OrderStatus.REJECTED


@pytest.mark.parametrize(
    ("error", "cause", "reason"),
    [
        # a business failure is told by the Lambda's message alone
        (
            "OutOfStock",
            '{"errorMessage": "not enough stock for A", "errorType": "OutOfStock"}',
            "not enough stock for A",
        ),
        # the approval API's rejection carries a plain text cause
        ("ApprovalRejected", "rejected by bob: too big", "rejected by bob: too big"),
        # a JSON cause without an errorMessage but with a reason
        ("OrderValidationError", '{"reason": "items: too many"}', "items: too many"),
        ("OutOfStock", None, "OutOfStock"),
        ("OutOfStock", '{"errorType": "OutOfStock"}', "OutOfStock"),
        # a technical failure keeps the error's name in front
        ("States.TaskFailed", '{"errorMessage": "Task timed out"}', "States.TaskFailed: Task timed out"),
        ("Lambda.ServiceException", '{"reason": "throttled"}', "Lambda.ServiceException: throttled"),
        ("States.Runtime", None, "States.Runtime"),
        ("States.Runtime", "", "States.Runtime"),
        ("States.Runtime", "[1, 2]", "States.Runtime: [1, 2]"),
        # an approval nobody answered says so, whatever the timeout's cause
        ("States.Timeout", "State timed out", "no approval decision before the approval timeout"),
        ("States.Timeout", None, "no approval decision before the approval timeout"),
    ],
)
def test_the_reason_the_customer_is_told(error, cause, reason):
    assert reason_for_error(error, cause) == reason
