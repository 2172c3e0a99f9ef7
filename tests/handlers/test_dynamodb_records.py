"""What the DynamoDB adapters record on the stack's own tables (moto): each change of an order or a payment with its
time, a payment decided once, and stock read in batches as DynamoDB answers them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from order_domain import services
from order_domain.adapters.dynamodb import DynamoDBOrders, DynamoDBPaymentLedger
from order_domain.errors import PaymentDeclined, PaymentProviderUnavailable
from order_domain.models import Allocation, OrderLine, OrderStatus, Outcome, PaymentStatus
from order_domain.payments import SimulatedPaymentProvider
from order_domain.ports import StockChanged
from order_domain.rules import parse_order

from tests.handlers.test_dynamodb_adapters import LATER, NOW, W1, W2, Tables

EVEN_LATER = "2026-01-01T00:10:00.000+00:00"


@pytest.fixture(scope="module")
def tables(aws, functions) -> Tables:
    return Tables(aws, functions)


def ledger_record(tables: Tables, order_id: str) -> dict[str, Any]:
    return tables.payments.get_item(Key={"orderId": order_id})["Item"]


def clocked(tables: Tables, *times: str) -> SimulatedPaymentProvider:
    """A provider on the payments table whose clock reads `times` in turn (then the last one)."""
    ticks = list(times)
    return SimulatedPaymentProvider(
        DynamoDBPaymentLedger(tables.payments), clock=lambda: ticks.pop(0) if len(ticks) > 1 else ticks[0]
    )


# ---- orders ------------------------------------------------------------------------------------------


def received_message(order_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "orderId": order_id,
        "customerId": "c-1",
        "currency": "EUR",
        "items": [
            {"sku": "SKU-1", "quantity": 2, "unitPrice": "6000.00"},
            {"sku": "SKU-2", "quantity": 1, "unitPrice": "0.50"},
        ],
        "payment": {"token": "tok_visa"},
        **overrides,
    }


def test_a_received_order_is_recorded_with_what_it_is_and_when(tables):
    order_id = f"rcv-{uuid.uuid4().hex[:8]}"
    services.validate_order(
        received_message(order_id),
        approval_threshold=Decimal("10000"),
        approval_timeout_seconds=60,
        orders=DynamoDBOrders(tables.orders),
        now=NOW,
    )
    assert tables.order(order_id) == {
        "orderId": order_id,
        "customerId": "c-1",
        "currency": "EUR",
        "total": Decimal("12000.50"),
        "items": [
            {"sku": "SKU-1", "quantity": 2, "unitPrice": Decimal("6000.00")},
            {"sku": "SKU-2", "quantity": 1, "unitPrice": Decimal("0.50")},
        ],
        "approvalRequired": True,
        "status": "RECEIVED",
        "history": [{"status": "RECEIVED", "at": NOW}],
        "createdAt": NOW,
        "updatedAt": NOW,
    }


def test_an_order_received_again_keeps_what_was_first_recorded(tables):
    # given an order recorded, then reserved
    order_id = f"rcv-{uuid.uuid4().hex[:8]}"
    orders = DynamoDBOrders(tables.orders)
    first = parse_order(received_message(order_id), Decimal("10000"), 60)
    orders.create_received(first, NOW)
    assert orders.advance(order_id, OrderStatus.RESERVED, {OrderStatus.RECEIVED}, NOW)
    # when ValidateOrder is retried with another message for it, then nothing is overwritten and no error is raised
    orders.create_received(parse_order(received_message(order_id, customerId="c-2"), Decimal("10000"), 60), LATER)
    stored = tables.order(order_id)
    assert (stored["customerId"], stored["status"], stored["createdAt"]) == ("c-1", "RESERVED", NOW)


def test_a_refused_recording_fails_the_step(aws):
    orders = DynamoDBOrders(aws.resource("dynamodb").Table("no-such-table"))
    order = parse_order(received_message("rcv-x"), Decimal("10000"), 60)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        orders.create_received(order, NOW)


def test_an_order_that_failed_before_it_was_recorded_is_recorded_when_it_ends(tables):
    # given an order ValidateOrder refused (never recorded)
    order_id = f"fin-{uuid.uuid4().hex[:8]}"
    # when it ends, then it is recorded with its customer, status, reason and times
    DynamoDBOrders(tables.orders).finish(
        Outcome(orderId=order_id, customerId="c-1", status=OrderStatus.REJECTED, reason="currency: bad"), LATER
    )
    assert tables.order(order_id) == {
        "orderId": order_id,
        "customerId": "c-1",
        "status": "REJECTED",
        "reason": "currency: bad",
        "history": [{"status": "REJECTED", "at": LATER, "detail": "currency: bad"}],
        "createdAt": LATER,
        "updatedAt": LATER,
    }


def test_an_order_that_ends_keeps_when_and_for_whom_it_was_recorded(tables):
    order_id = tables.received(("SKU-1", 1))
    DynamoDBOrders(tables.orders).finish(
        Outcome(orderId=order_id, customerId="c-other", status=OrderStatus.FAILED, reason="x"), LATER
    )
    stored = tables.order(order_id)
    assert (stored["customerId"], stored["createdAt"], stored["updatedAt"]) == ("c-1", NOW, LATER)


def test_an_order_that_ends_without_a_known_customer_is_recorded_without_one(tables):
    order_id = f"fin-{uuid.uuid4().hex[:8]}"
    DynamoDBOrders(tables.orders).finish(Outcome(orderId=order_id, status=OrderStatus.REJECTED, reason="x"), NOW)
    assert "customerId" not in tables.order(order_id)


def test_a_second_end_reports_the_recorded_status_and_reason(tables):
    order_id = tables.received(("SKU-1", 1))
    orders = DynamoDBOrders(tables.orders)
    orders.finish(Outcome(orderId=order_id, status=OrderStatus.OUT_OF_STOCK, reason="not enough stock"), NOW)
    again = orders.finish(Outcome(orderId=order_id, status=OrderStatus.FAILED, reason="late"), LATER)
    assert (again.status, again.reason) == (OrderStatus.OUT_OF_STOCK, "not enough stock")
    assert tables.order(order_id)["updatedAt"] == NOW


def test_a_reservation_is_recorded_with_its_time(tables):
    sku = tables.seed({W1: 5, W2: 5})
    order_id = tables.received((sku, 7))
    stock = tables.stock_adapter()
    items = [OrderLine(sku=sku, quantity=7, unitPrice=Decimal(1))]
    services.reserve_inventory(order_id, items, stock.available_everywhere([sku]), stock, LATER)
    plan = [Allocation(sku=sku, warehouse=W1, quantity=5), Allocation(sku=sku, warehouse=W2, quantity=2)]
    stored = tables.order(order_id)
    assert stored["status"] == OrderStatus.RESERVED
    assert stored["reservation"] == [a.model_dump() for a in plan]
    assert stored["history"] == [{"status": "RECEIVED", "at": NOW}, {"status": "RESERVED", "at": LATER}]
    assert stored["updatedAt"] == LATER


def test_a_completed_order_is_recorded_with_its_time(tables):
    order_id = tables.received(("SKU-1", 1))
    order = parse_order(
        {
            "orderId": order_id,
            "customerId": "c-1",
            "currency": "USD",
            "items": [{"sku": "SKU-1", "quantity": 1, "unitPrice": "1.00"}],
            "payment": {"token": "tok_visa"},
        },
        Decimal("10000"),
        60,
    )
    provider = clocked(tables, NOW)
    provider.authorize(order_id, order.total, "USD", "tok_visa")
    services.process_order(order, provider, DynamoDBOrders(tables.orders), LATER)
    stored = tables.order(order_id)
    assert (stored["status"], stored["updatedAt"], stored["history"][-1]) == (
        "COMPLETED",
        LATER,
        {"status": "COMPLETED", "at": LATER},
    )


def test_a_compensated_order_is_recorded_with_its_time_and_reason(tables):
    order_id = tables.received(("SKU-1", 1))
    state = {"orderId": order_id, "error": {"Error": "OutOfStock", "Cause": "not enough stock for SKU-1"}}
    services.compensate_order(state, clocked(tables, NOW), tables.stock_adapter(), DynamoDBOrders(tables.orders), LATER)
    stored = tables.order(order_id)
    assert (stored["status"], stored["reason"], stored["updatedAt"]) == (
        "OUT_OF_STOCK",
        "not enough stock for SKU-1",
        LATER,
    )
    assert stored["history"][-1] == {"status": "OUT_OF_STOCK", "at": LATER, "detail": "not enough stock for SKU-1"}


# ---- payments ----------------------------------------------------------------------------------------


def new_payment() -> str:
    return f"pay-{uuid.uuid4().hex[:8]}"


def test_each_authorization_attempt_is_counted_with_its_time_for_the_amount_of_the_first(tables):
    order_id = new_payment()
    with pytest.raises(PaymentProviderUnavailable):
        clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_error")
    record = ledger_record(tables, order_id)
    assert (record["attempts"], record["amount"], record["currency"], record["updatedAt"]) == (1, 8, "USD", NOW)
    # a retry (with another amount: a bug upstream) is counted, and the payment keeps the first amount
    with pytest.raises(PaymentProviderUnavailable):
        clocked(tables, LATER).authorize(order_id, Decimal("9.00"), "EUR", "tok_error")
    record = ledger_record(tables, order_id)
    assert (record["attempts"], record["amount"], record["currency"], record["updatedAt"]) == (2, 8, "USD", LATER)


def test_an_authorization_is_recorded_with_its_time(tables):
    order_id = new_payment()
    authorization = clocked(tables, NOW, LATER).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    record = ledger_record(tables, order_id)
    assert (record["status"], record["authorizationId"], record["updatedAt"]) == (
        "AUTHORIZED",
        authorization.authorizationId,
        LATER,
    )
    assert authorization.authorizationId.startswith("auth_")


def test_a_decline_is_recorded_with_its_time_and_no_authorization(tables):
    order_id = new_payment()
    with pytest.raises(PaymentDeclined):
        clocked(tables, NOW, LATER).authorize(order_id, Decimal("8.00"), "USD", "tok_decline")
    record = ledger_record(tables, order_id)
    assert (record["status"], record["updatedAt"]) == ("DECLINED", LATER)
    assert "authorizationId" not in record


def test_a_capture_is_recorded_with_its_time(tables):
    order_id = new_payment()
    clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    clocked(tables, LATER).capture(order_id)
    record = ledger_record(tables, order_id)
    assert (record["status"], record["updatedAt"]) == ("CAPTURED", LATER)


def test_a_void_is_recorded_with_its_time(tables):
    order_id = new_payment()
    clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    assert clocked(tables, LATER).void(order_id) == PaymentStatus.VOIDED
    assert (ledger_record(tables, order_id)["status"], ledger_record(tables, order_id)["updatedAt"]) == (
        "VOIDED",
        LATER,
    )


def test_a_refund_is_recorded_with_its_time(tables):
    order_id = new_payment()
    clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    clocked(tables, NOW).capture(order_id)
    assert clocked(tables, LATER).void(order_id) == PaymentStatus.REFUNDED
    assert (ledger_record(tables, order_id)["status"], ledger_record(tables, order_id)["updatedAt"]) == (
        "REFUNDED",
        LATER,
    )


def test_a_payment_moves_only_from_the_status_it_is_in_and_says_whether_it_moved(tables):
    order_id = new_payment()
    ledger = DynamoDBPaymentLedger(tables.payments)
    clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    assert not ledger.transition(order_id, PaymentStatus.CAPTURED, PaymentStatus.REFUNDED, LATER)
    assert ledger_record(tables, order_id)["status"] == "AUTHORIZED"
    assert ledger.transition(order_id, PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED, LATER)
    assert ledger_record(tables, order_id)["status"] == "CAPTURED"
    assert not ledger.transition("pay-never", PaymentStatus.AUTHORIZED, PaymentStatus.VOIDED, LATER)


def test_a_payment_is_decided_once(tables):
    # given an authorized payment
    order_id = new_payment()
    ledger = DynamoDBPaymentLedger(tables.payments)
    first = clocked(tables, NOW).authorize(order_id, Decimal("8.00"), "USD", "tok_visa")
    # when a second decision is recorded for it (a retried step after the first was written), then it is ignored
    ledger.record(order_id, PaymentStatus.AUTHORIZED, "auth_second", LATER)
    ledger.record(order_id, PaymentStatus.DECLINED, None, LATER)
    record = ledger_record(tables, order_id)
    assert (record["status"], record["authorizationId"], record["updatedAt"]) == (
        "AUTHORIZED",
        first.authorizationId,
        NOW,
    )


def test_a_ledger_write_refused_for_another_reason_fails_the_step(aws):
    ledger = DynamoDBPaymentLedger(aws.resource("dynamodb").Table("no-such-table"))
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        ledger.record("pay-x", PaymentStatus.AUTHORIZED, "auth_x", NOW)


# ---- stock -------------------------------------------------------------------------------------------


class LeavesKeysUnprocessed:
    """A DynamoDB client whose first BatchGetItem answers only the first key and hands the others back as
    UnprocessedKeys, as DynamoDB does when a request exceeds its throughput or response size."""

    def __init__(self, client: Any):
        self._client, self.requests = client, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        if len(self.requests) > 1:
            return self._client.batch_get_item(RequestItems=RequestItems)
        (table, request), *_ = RequestItems.items()
        first, rest = request["Keys"][:1], request["Keys"][1:]
        answer = self._client.batch_get_item(RequestItems={table: {**request, "Keys": first}})
        answer["UnprocessedKeys"] = {table: {**request, "Keys": rest}} if rest else {}
        return answer


def seeded(tables: Tables, count: int) -> dict[str, int]:
    """`count` fresh SKUs in warehouse-1, holding 1, 2, 3, ... units."""
    stock = {f"SKU-{uuid.uuid4().hex[:8]}-{i}": i + 1 for i in range(count)}
    with tables.inventory.batch_writer() as batch:
        for sku, units in stock.items():
            batch.put_item(Item={"sku": sku, "warehouse": W1, "available": units})
    return stock


def test_a_warehouse_check_reads_every_sku_and_an_unknown_one_holds_nothing(tables):
    stock = seeded(tables, 3)
    skus = [*stock, "SKU-UNKNOWN"]
    assert tables.stock_adapter().available(W1, skus) == {**stock, "SKU-UNKNOWN": 0}


def test_a_warehouse_check_of_more_skus_than_one_request_holds_reads_them_all(tables):
    # given more SKUs than BatchGetItem takes in one request (100)
    stock = seeded(tables, 201)
    # then every one is read, in as many requests as needed
    assert tables.stock_adapter().available(W1, list(stock)) == stock


def test_keys_dynamodb_leaves_unprocessed_are_asked_again(tables):
    stock = seeded(tables, 4)
    adapter = tables.stock_adapter()
    adapter._client = client = LeavesKeysUnprocessed(adapter._client)
    assert adapter.available(W1, list(stock)) == stock
    assert [len(r[tables.inventory.name]["Keys"]) for r in client.requests] == [4, 3]


def test_a_reservation_cancelled_without_reasons_is_taken_as_changed_stock(tables):
    # given DynamoDB cancels the reservation's transaction without saying why
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    adapter = tables.stock_adapter()

    class Cancels:
        def __getattr__(self, name: str) -> Any:
            return getattr(tables.inventory.meta.client, name)

        def transact_write_items(self, **request: Any) -> Any:
            error = {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
            raise ClientError({"Error": error}, "TransactWriteItems")

    adapter._client = Cancels()
    # then the step re-reads and re-plans (StockChanged), and nothing was taken
    with pytest.raises(StockChanged):
        adapter.reserve(order_id, [Allocation(sku=sku, warehouse=W1, quantity=2)], NOW)
    assert tables.stock(sku) == {W1: 5}


class AnswersNothingFirst(LeavesKeysUnprocessed):
    """A DynamoDB client whose first BatchGetItem processes no key at all: DynamoDB then answers with no
    entry for the table under Responses and every key under UnprocessedKeys."""

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(RequestItems)
        if len(self.requests) > 1:
            return self._client.batch_get_item(RequestItems=RequestItems)
        return {"Responses": {}, "UnprocessedKeys": RequestItems}


def test_a_warehouse_check_whose_first_request_read_nothing_asks_again_for_every_key(tables):
    stock = seeded(tables, 3)
    adapter = tables.stock_adapter()
    adapter._client = client = AnswersNothingFirst(adapter._client)
    assert adapter.available(W1, list(stock)) == stock
    assert [len(r[tables.inventory.name]["Keys"]) for r in client.requests] == [3, 3]


def test_a_throttled_release_fails_the_step_with_dynamodbs_error_and_puts_nothing_back(tables):
    # given a reserved order, and DynamoDB throttling the release's transaction (an error without
    # cancellation reasons)
    sku = tables.seed({W1: 5})
    order_id = tables.received((sku, 2))
    tables.stock_adapter().reserve(order_id, [Allocation(sku=sku, warehouse=W1, quantity=2)], NOW)
    adapter = tables.stock_adapter()

    class Throttles:
        def __getattr__(self, name: str) -> Any:
            return getattr(tables.inventory.meta.client, name)

        def transact_write_items(self, **request: Any) -> Any:
            error = {"Code": "ThrottlingException", "Message": "Rate of requests exceeds the allowed throughput."}
            raise ClientError({"Error": error}, "TransactWriteItems")

    adapter._client = Throttles()
    # then the step fails with DynamoDB's own error, for Step Functions to retry, and the stock is untouched
    with pytest.raises(ClientError) as raised:
        adapter.release(order_id, LATER)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    assert tables.stock(sku) == {W1: 3}
