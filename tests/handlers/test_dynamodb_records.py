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
from order_domain.models import Allocation, OrderStatus, PaymentStatus
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


def test_a_reservation_is_recorded_with_its_time(tables):
    sku = tables.seed({W1: 5, W2: 5})
    order_id = tables.received((sku, 7))
    plan = [Allocation(sku=sku, warehouse=W1, quantity=5), Allocation(sku=sku, warehouse=W2, quantity=2)]
    tables.stock_adapter().reserve(order_id, plan, LATER)
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
